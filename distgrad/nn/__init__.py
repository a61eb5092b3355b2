"""``distgrad.nn``: Module, Parameter, layers, losses, ``init``, ``functional`` and ``utils``."""
from . import functional, init, utils
from .activation import (ELU, GELU, Hardtanh, LeakyReLU, LogSigmoid, LogSoftmax, PReLU, ReLU,
                         ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Tanh)
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .parameter import Parameter
from .parameter_list import ParameterDict, ParameterList
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
           "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d",
           "Dropout3d", "ELU", "Embedding", "Flatten", "GELU", "GroupNorm", "Hardtanh",
           "HuberLoss", "Identity", "IncompatibleKeys", "KLDivLoss", "L1Loss", "LayerNorm",
           "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "MaxPool2d", "Module",
           "ModuleDict", "ModuleList", "NLLLoss", "PReLU", "Parameter", "ParameterDict",
           "ParameterList", "ReLU", "ReLU6", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss",
           "Softmax", "Softmin", "Softplus", "StateDictError", "Tanh", "Unflatten",
           "functional", "init", "utils"]
