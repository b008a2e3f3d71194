"""Layers: each owns its parameters, gradients and forward cache (see base.Layer)."""

from .activation import (
    ACTIVATION_LAYERS,
    ELU,
    Activation,
    Identity,
    LeakyReLU,
    Maxout,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from .attention import AttentionDecoder
from .base import Layer, ShapeError
from .blocks import Concat, Residual
from .conv import AvgPool2d, Conv2d, GlobalAvgPool2d, MaxPool2d
from .dense import Dense, DropConnect, Embedding, Flatten
from .norm import BatchNorm, Dropout
from .recurrent import GRU, LSTM, RNN
from .sequential import Sequential

__all__ = [
    "AttentionDecoder",
    "ACTIVATION_LAYERS",
    "Activation",
    "AvgPool2d",
    "BatchNorm",
    "Concat",
    "Conv2d",
    "Dense",
    "DropConnect",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GlobalAvgPool2d",
    "GRU",
    "Identity",
    "Layer",
    "LeakyReLU",
    "LSTM",
    "MaxPool2d",
    "Maxout",
    "ReLU",
    "Residual",
    "RNN",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Softsign",
    "Tanh",
]
