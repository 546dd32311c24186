from .base import Hook
from .checkpoint import CheckpointHook
from .logger import LoggerHook, TextLoggerHook
from .lr_scheduler import CosineLrHook, LrSchedulerHook, StepLrHook

__all__ = [
    "Hook",
    "CheckpointHook",
    "LoggerHook",
    "TextLoggerHook",
    "LrSchedulerHook",
    "StepLrHook",
    "CosineLrHook",
]
