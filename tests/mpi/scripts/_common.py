"""Shared bits of the scripts that tests run under ``mpiexec`` in a subprocess."""
import numpy

import distgrad
from distgrad import nn


def tiny_model(width=3):
    distgrad.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, width))


def loss_of(model, *args, **kwargs):
    x = distgrad.tensor(numpy.ones((2, 4), numpy.float32))
    return (model(x, *args, **kwargs) ** 2).mean()
