"""BatchNorm and Dropout: the layers that behave differently in training and evaluation."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .base import Layer, ShapeError


class BatchNorm(Layer):
    """Batch normalisation over features (D,) or over channels (C, H, W), like torch's
    BatchNorm1d/BatchNorm2d: batch statistics in training (updating the running averages),
    running statistics in evaluation. gamma starts at 1, beta at 0.

    A frozen BatchNorm computes as in evaluation, so neither its parameters nor its running
    statistics change (the usual way to fine-tune a network with batch norm).
    """

    kind = "bn"

    def __init__(
        self,
        momentum: float = 0.1,
        eps: float = 1e-5,
        *,
        name: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm momentum must be in [0, 1], got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"BatchNorm eps must be > 0, got {eps!r}")
        self.momentum = float(momentum)
        self.eps = float(eps)

    def infer(self, input_shape):
        if len(input_shape) not in (1, 3):
            raise ShapeError(
                f"normalises (features,) or (channels, height, width) but gets {input_shape}"
            )
        return input_shape

    def param_shapes(self):
        return {"gamma": (self.input_shape[0],), "beta": (self.input_shape[0],)}

    def running_shapes(self):
        return {"running_mean": (self.input_shape[0],), "running_var": (self.input_shape[0],)}

    def initial_params(self, rng):
        c = self.input_shape[0]
        return {"gamma": np.ones(c), "beta": np.zeros(c)}

    def initial_running(self):
        c = self.input_shape[0]
        return {"running_mean": np.zeros(c), "running_var": np.ones(c)}

    @property
    def uses_batch_statistics(self) -> bool:
        return self.training and not self.frozen

    def compute(self, x):
        y, self.cache = F.batch_norm(
            x,
            self.params["gamma"],
            self.params["beta"],
            self.running["running_mean"],
            self.running["running_var"],
            train=self.uses_batch_statistics,
            momentum=self.momentum,
            eps=self.eps,
        )
        return y

    def differentiate(self, dy):
        dx, dgamma, dbeta = F.batch_norm_backward(dy, self.cache)
        return dx, {"gamma": dgamma, "beta": dbeta}

    def elementwise_flops(self):
        return 2 * self._output_elements()  # scale and shift with folded statistics

    def options(self):
        text = []
        if self.momentum != 0.1:
            text.append(f"momentum={self.momentum}")
        if self.eps != 1e-5:
            text.append(f"eps={self.eps}")
        return ", ".join(text)


class Dropout(Layer):
    """Inverted dropout: in training each unit is zeroed with probability p and the kept ones
    are scaled by 1/(1-p); in evaluation the layer is the identity. The mask of the last
    forward pass stays in ``cache``."""

    kind = "dropout"
    random = True

    def __init__(self, p: float = 0.5, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout p must be in [0, 1), got {p!r}")
        self.p = float(p)

    def compute(self, x):
        y, self.cache = F.dropout(x, self.p, self.noise, train=self.training)
        return y

    def differentiate(self, dy):
        return F.dropout_backward(dy, self.cache), {}

    def elementwise_flops(self):
        return self._output_elements()

    def options(self):
        return str(self.p)
