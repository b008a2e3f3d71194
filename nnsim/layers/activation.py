"""Activation layers: one per element-wise function, plus Maxout, Softmax and Identity."""

from __future__ import annotations

import math

from .. import functional as F
from .base import Layer, ShapeError, positive


class Activation(Layer):
    """An element-wise non-linearity from ``nnsim.functional``; any input shape.

    Element-wise layers count one FLOP per output element in ``summary``.
    """

    function: str = ""

    def __init__(self, *, name: str | None = None, **params: float) -> None:
        super().__init__(name=name)
        self.fn_params = {k: float(v) for k, v in params.items()}

    def compute(self, x):
        return getattr(F, self.function)(x, **self.fn_params)

    def differentiate(self, dy):
        dx = F.activation_backward(self.function, dy, self.input, self.output, **self.fn_params)
        return dx, {}

    def elementwise_flops(self):
        return self._output_elements()

    def options(self):
        return ", ".join(f"{k}={v}" for k, v in self.fn_params.items())


class Sigmoid(Activation):
    kind = function = "sigmoid"


class Tanh(Activation):
    kind = function = "tanh"


class ReLU(Activation):
    kind = function = "relu"


class Softsign(Activation):
    kind = function = "softsign"


class Softplus(Activation):
    kind = function = "softplus"


class LeakyReLU(Activation):
    kind = function = "leaky_relu"

    def __init__(self, alpha: float = 0.01, *, name: str | None = None) -> None:
        super().__init__(name=name, alpha=alpha)


class ELU(Activation):
    kind = function = "elu"

    def __init__(self, alpha: float = 1.0, *, name: str | None = None) -> None:
        super().__init__(name=name, alpha=alpha)


class Identity(Layer):
    """y = x: the "no activation" of the linear-collapse lesson, shown as a layer of its own."""

    kind = "identity"

    def compute(self, x):
        return x

    def differentiate(self, dy):
        return dy, {}


class Softmax(Layer):
    """Softmax over the last axis. For training, prefer raw scores with CrossEntropyLoss, which
    fuses the two and has the simpler gradient p - y."""

    kind = "softmax"

    def compute(self, x):
        return F.softmax(x, axis=-1)

    def differentiate(self, dy):
        return F.softmax_backward(dy, self.output, axis=-1), {}

    def elementwise_flops(self):
        return 3 * self._output_elements()


class Maxout(Layer):
    """(D*pieces,) -> (D,): the max over consecutive groups of ``pieces`` units (Goodfellow et
    al., 2013); put it after a Dense layer with D*pieces units."""

    kind = "maxout"

    def __init__(self, pieces: int, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self.pieces = positive("pieces", pieces)

    def infer(self, input_shape):
        if len(input_shape) != 1 or input_shape[0] % self.pieces:
            raise ShapeError(
                f"expects (D*{self.pieces},) per example, a multiple of pieces={self.pieces}, "
                f"but gets {input_shape}"
            )
        return (input_shape[0] // self.pieces,)

    def compute(self, x):
        return F.maxout(x, self.pieces)

    def differentiate(self, dy):
        return F.maxout_backward(dy, self.input, self.pieces), {}

    def elementwise_flops(self):
        return math.prod(self.input_shape)

    def window(self):
        return None

    def options(self):
        return str(self.pieces)


ACTIVATION_LAYERS = {
    cls.function: cls for cls in (Sigmoid, Tanh, ReLU, Softsign, Softplus, LeakyReLU, ELU)
}
