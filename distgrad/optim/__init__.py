"""Optimisers with PyTorch's names, options and numbers — ``SGD``, ``Adam``, ``AdamW``,
``RMSprop``, ``Adadelta``, ``Adagrad``, ``Adamax``, ``NAdam``, ``RAdam`` — and
``lr_scheduler``. State lives in flat arrays per param group, so a step is a few vectorised
passes however many parameters there are."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "NAdam", "Optimizer", "RAdam",
           "RMSprop", "SGD", "lr_scheduler"]
