from ..registry import MODELS
from .base import BaseModel


@MODELS.register_module()
class MLP(BaseModel):
    def __init__(self, in_channels=4, hidden_channels=(64, 64), num_classes=2, dropout=0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.hidden_channels = list(hidden_channels)
        self.num_classes = num_classes
        self.dropout = dropout

    def train_step(self, batch):
        inputs, label = batch
        return {"loss": float(abs(sum(inputs) % self.num_classes - label))}

    def predict(self, inputs):
        return int(sum(inputs)) % self.num_classes
