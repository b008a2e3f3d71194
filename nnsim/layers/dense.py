"""Fully connected layers, Flatten and Embedding."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init as initialisers
from .base import Layer, Shape, ShapeError, positive


def check_init(init: str) -> str:
    if init not in initialisers.SCHEMES:
        raise ValueError(f"unknown init {init!r}; choose one of {list(initialisers.SCHEMES)}")
    return init


def weight_and_bias(
    init: str, std: float, shape: Shape, bias: bool, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """W by the named scheme; b as PyTorch's layers start it under "default"
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), else zeros."""
    params = {"W": initialisers.weight(init, shape, rng, std)}
    if bias:
        if init == "default":
            bound = 1.0 / math.sqrt(math.prod(shape[1:]))
            params["b"] = rng.uniform(-bound, bound, size=shape[0])
        else:
            params["b"] = np.zeros(shape[0])
    return params


class Dense(Layer):
    """y = x W^T + b with W (units, in_features), like torch.nn.Linear.

    The input is (D,) per example, or (T, D) for a sequence, in which case every time step goes
    through the same weights. ``in_features`` may be left out and is then taken from the layer
    before; given, it is checked when the model is built. ``init`` names a scheme of
    ``nnsim.init.weight`` ("default" is PyTorch's, bias included); other schemes start the bias
    at zero.
    """

    kind = "dense"
    penalised = ("W",)

    def __init__(
        self,
        units: int,
        in_features: int | None = None,
        *,
        bias: bool = True,
        init: str = "default",
        init_std: float = 1.0,
        name: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        self.units = positive("Dense units", units)
        self.in_features = None if in_features is None else positive("in_features", in_features)
        self.bias = bool(bias)
        self.init = check_init(init)
        self.init_std = float(init_std)

    def infer(self, input_shape: Shape) -> Shape:
        if len(input_shape) not in (1, 2):
            raise ShapeError(
                f"expects (features,) or (time, features) per example but gets {input_shape}; "
                f"put a Flatten before it"
            )
        features = input_shape[-1]
        if self.in_features is not None and features != self.in_features:
            raise ShapeError(
                f"was declared with in_features={self.in_features}, so it expects "
                f"{(*input_shape[:-1], self.in_features)} but gets {input_shape}"
            )
        return (*input_shape[:-1], self.units)

    def param_shapes(self) -> dict[str, Shape]:
        shapes = {"W": (self.units, self.input_shape[-1])}
        if self.bias:
            shapes["b"] = (self.units,)
        return shapes

    def initial_params(self, rng):
        shape = (self.units, self.input_shape[-1])
        return weight_and_bias(self.init, self.init_std, shape, self.bias, rng)

    def weight_for_forward(self) -> np.ndarray:
        return self.params["W"]

    def compute(self, x):
        x2 = x.reshape(-1, x.shape[-1])  # (N*T, D) for sequences
        y = F.linear(x2, self.weight_for_forward(), self.params.get("b"))
        return y.reshape(*x.shape[:-1], self.units)

    def differentiate(self, dy):
        x2 = self.input.reshape(-1, self.input.shape[-1])
        dx, dw, db = F.linear_backward(
            dy.reshape(-1, self.units),
            x2,
            self.weight_for_forward(),
            input_grad=self.needs_input_grad,  # a model's first layer passes nothing back
        )
        grads = {"W": dw}
        if self.bias:
            grads["b"] = db
        return (None if dx is None else dx.reshape(self.input.shape)), grads

    def macs(self):
        return math.prod(self.output_shape) * self.input_shape[-1]

    def window(self):
        return None

    def options(self):
        text = f"{self.units}"
        if self.in_features is not None:
            text += f", in_features={self.in_features}"
        if not self.bias:
            text += ", bias=False"
        if self.init != "default":
            text += f", init={self.init!r}"
        return text


class DropConnect(Dense):
    """A Dense layer that, in training, drops each weight with probability p (Wan et al., 2013).

    The kept weights are scaled by 1/(1-p) (inverted, as for Dropout), so evaluation simply uses
    W. One mask is drawn per forward pass and shared by the batch; it stays in ``cache``.
    """

    kind = "dropconnect"
    random = True

    def __init__(self, units: int, p: float = 0.5, in_features: int | None = None, **kwargs):
        super().__init__(units, in_features, **kwargs)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"DropConnect p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.mask: np.ndarray | None = None

    def compute(self, x):
        if self.training:
            self.masked, self.mask = F.dropout(self.params["W"], self.p, self.noise, train=True)
        else:
            self.masked, self.mask = self.params["W"], None
        return super().compute(x)

    def weight_for_forward(self):
        return self.masked

    def differentiate(self, dy):
        dx, grads = super().differentiate(dy)
        if self.mask is not None:
            grads["W"] = F.dropout_backward(grads["W"], self.mask)
        return dx, grads

    def options(self):
        return f"{super().options()}, p={self.p}"


class Flatten(Layer):
    """(C, H, W) -> (C*H*W,) per example, in C order as torch.flatten(x, 1)."""

    kind = "flatten"

    def infer(self, input_shape):
        return (math.prod(input_shape),)

    def compute(self, x):
        return x.reshape(x.shape[0], -1)

    def differentiate(self, dy):
        return dy.reshape(self.input.shape), {}

    def window(self):
        return None


class Embedding(Layer):
    """Integer tokens (T,) -> vectors (T, dim): row lookups in a table (V, dim).

    Like torch.nn.Embedding, initialised N(0, 1). Its input is not differentiable, so backward
    returns None; it must be the first layer of its model.
    """

    kind = "embedding"
    penalised = ("W",)
    takes_integers = True

    def __init__(self, num_embeddings: int, dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_embeddings = positive("num_embeddings", num_embeddings)
        self.dim = positive("dim", dim)

    def infer(self, input_shape):
        if len(input_shape) != 1:
            raise ShapeError(f"expects a sequence of token indices (T,) but gets {input_shape}")
        return (input_shape[0], self.dim)

    def param_shapes(self):
        return {"W": (self.num_embeddings, self.dim)}

    def initial_params(self, rng):
        return {"W": rng.standard_normal((self.num_embeddings, self.dim))}

    def compute(self, x):
        return F.embedding(x, self.params["W"])

    def differentiate(self, dy):
        return None, {"W": F.embedding_backward(dy, self.input, self.num_embeddings)}

    def window(self):
        return None

    def options(self):
        return f"{self.num_embeddings}, {self.dim}"
