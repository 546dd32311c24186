from .base import BaseModel
from .mlp import MLP
from .resnet import BasicBlock, TinyResNet

__all__ = ["BaseModel", "MLP", "TinyResNet", "BasicBlock"]
