"""Optimisers with PyTorch's names, options and numbers — ``SGD``, ``Adam``, ``AdamW``,
``RMSprop`` — and ``lr_scheduler``. State lives in flat arrays per param group, so a step is a
few vectorised passes however many parameters there are."""
from . import lr_scheduler
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
