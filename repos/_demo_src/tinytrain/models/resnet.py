from ..registry import MODELS
from .base import BaseModel


class BasicBlock:
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride


@MODELS.register_module()
class TinyResNet(BaseModel):
    arch_settings = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2)}

    def __init__(self, depth=18, num_classes=10, stem_channels=64, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for TinyResNet")
        self.depth = depth
        self.num_classes = num_classes
        self.stem_channels = stem_channels
        self.blocks = [BasicBlock(stem_channels, stem_channels) for _ in range(sum(self.arch_settings[depth]))]

    def train_step(self, batch):
        inputs, label = batch
        return {"loss": float(len(self.blocks) and abs(sum(inputs) % self.num_classes - label))}

    def predict(self, inputs):
        return int(sum(inputs)) % self.num_classes
