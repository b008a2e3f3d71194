"""RNN, LSTM and GRU layers over (T, I) sequences, with PyTorch's weight layout and init.

The initial states are zeros. ``cache`` holds the functional RecurrentCache of the last pass:
gates, pre-activations, states and (after backward) dL/dh_t for every time step.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init as initialisers
from ..i18n import N_
from .base import Layer, ShapeError, positive
from .dense import check_init
from .steps import Op


class Recurrent(Layer):
    gates = 1
    penalised = ("W_ih", "W_hh")

    def __init__(
        self,
        hidden: int,
        *,
        return_sequences: bool = True,
        init: str = "default",
        init_std: float = 1.0,
        radius: float | None = None,
        name: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        self.hidden = positive("hidden", hidden)
        self.return_sequences = bool(return_sequences)
        self.init = check_init(init)
        self.init_std = float(init_std)
        if radius is not None and not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius (the spectral radius of W_hh) must be above 0, got {radius}")
        self.radius = None if radius is None else float(radius)

    def infer(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeError(f"expects a sequence (time, features) but gets {input_shape}")
        steps = input_shape[0]
        return (steps, self.hidden) if self.return_sequences else (self.hidden,)

    def param_shapes(self):
        rows = self.gates * self.hidden
        return {
            "W_ih": (rows, self.input_shape[1]),
            "W_hh": (rows, self.hidden),
            "b_ih": (rows,),
            "b_hh": (rows,),
        }

    def initial_params(self, rng):
        # torch: every weight and bias U(-1/sqrt(H), 1/sqrt(H))
        bound = 1.0 / math.sqrt(self.hidden)
        params = {}
        for key, shape in self.param_shapes().items():
            if key.startswith("W") and self.init != "default":
                params[key] = initialisers.weight(self.init, shape, rng, self.init_std)
            elif key.startswith("b") and self.init != "default":
                params[key] = np.zeros(shape)
            else:
                params[key] = rng.uniform(-bound, bound, size=shape)
        if self.radius is not None:
            # each gate's (H, H) block radius * an orthogonal matrix: every singular value, and
            # so the factor by which one step scales dL/dh (before f'), is exactly the radius
            h = self.hidden
            params["W_hh"] = np.concatenate(
                [initialisers.orthogonal((h, h), rng, self.radius) for _ in range(self.gates)]
            )
        return params

    def _zeros(self, x: np.ndarray) -> np.ndarray:
        return np.zeros((x.shape[0], self.hidden), dtype=x.dtype)

    def _weights(self):
        p = self.params
        return p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"]

    def _select(self, h_seq: np.ndarray) -> np.ndarray:
        return h_seq if self.return_sequences else np.ascontiguousarray(h_seq[:, -1])

    def _dh_seq(self, dy: np.ndarray) -> np.ndarray:
        if self.return_sequences:
            return dy
        dh_seq = np.zeros((dy.shape[0], self.input_shape[0], self.hidden), dtype=dy.dtype)
        dh_seq[:, -1] = dy
        return dh_seq

    @staticmethod
    def _grads(dw_ih, dw_hh, db_ih, db_hh):
        return {"W_ih": dw_ih, "W_hh": dw_hh, "b_ih": db_ih, "b_hh": db_hh}

    def _stepper(self, x: np.ndarray) -> F.RecurrentStepper:
        zeros = self._zeros(x)
        c0 = zeros if self.kind == "lstm" else None
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return F.RecurrentStepper(self.kind, x, zeros, *self._weights(), c0, nonlinearity)

    def forward_steps(self, x):
        """Forward one time step at a time (t = 1..T), identical to ``compute``."""
        self.materialize()
        self.input = x
        stepper = yield Op(N_("project the inputs of every step"), lambda: self._stepper(x))
        self.cache = stepper.cache  # filled step by step, inspectable in between
        for t in range(stepper.steps):
            yield Op(f"t = {t + 1}", lambda t=t: stepper.forward_step(t), t=t)
        self.output = self._select(stepper.cache.h_seq)
        return self.output

    def backward_steps(self, dy):
        """Back-propagation through time one step at a time (t = T..1), identical to
        ``differentiate``."""
        self.output_grad = dy
        stepper = F.RecurrentStepper.after_forward(self.cache)
        yield Op(N_("start BPTT"), lambda: stepper.begin_backward(self._dh_seq(dy)))
        for t in range(stepper.steps - 1, -1, -1):
            yield Op(f"t = {t + 1}", lambda t=t: stepper.backward_step(t), t=t)
        result = yield Op(N_("weight gradients from every step"), stepper.finish_backward)
        dx, grads = self._unpack(result)
        return self.keep_gradients(dx, grads)

    def differentiate(self, dy):
        backward = getattr(F, f"{self.kind}_backward")
        return self._unpack(backward(self._dh_seq(dy), self.cache))

    def _unpack(self, result):
        # (dx, dh0[, dc0], dW_ih, dW_hh, db_ih, db_hh): the initial-state gradients are dropped,
        # because a layer's initial states are zeros, not parameters
        return result[0], self._grads(*result[-4:])

    def macs(self):
        steps, features = self.input_shape
        return steps * self.gates * self.hidden * (features + self.hidden)

    def elementwise_flops(self):
        return self.input_shape[0] * self.hidden * 4 * self.gates

    def window(self):
        return None

    def options(self):
        text = f"{self.hidden}"
        if not self.return_sequences:
            text += ", return_sequences=False"
        if self.init != "default":
            text += f", init={self.init!r}"
        if self.radius is not None:
            text += f", radius={self.radius:g}"
        return text


class RNN(Recurrent):
    """h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or relu (torch.nn.RNN)."""

    kind = "rnn"

    def __init__(self, hidden: int, nonlinearity: str = "tanh", **kwargs) -> None:
        super().__init__(hidden, **kwargs)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity

    def compute(self, x):
        h_seq, self.cache = F.rnn(x, self._zeros(x), *self._weights(), self.nonlinearity)
        return self._select(h_seq)

    def options(self):
        text = super().options()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity='relu'"


class LSTM(Recurrent):
    """torch.nn.LSTM's cell, gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t).

    ``forget_bias`` (default: torch's random bias) sets b_ih's forget block to that value and
    b_hh's to 0: with 1 to 5 the forget gate starts near 1 and the cell state carries its
    gradient back over many steps (Jozefowicz et al., 2015).
    """

    kind = "lstm"
    gates = 4

    def __init__(self, hidden: int, forget_bias: float | None = None, **kwargs) -> None:
        super().__init__(hidden, **kwargs)
        if forget_bias is not None and not math.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {forget_bias}")
        self.forget_bias = None if forget_bias is None else float(forget_bias)

    def initial_params(self, rng):
        params = super().initial_params(rng)
        if self.forget_bias is not None:
            forget = slice(self.hidden, 2 * self.hidden)  # gate order i, f, g, o
            params["b_ih"][forget] = self.forget_bias
            params["b_hh"][forget] = 0.0
        return params

    def options(self):
        text = super().options()
        return text if self.forget_bias is None else f"{text}, forget_bias={self.forget_bias:g}"

    def compute(self, x):
        zeros = self._zeros(x)
        h_seq, _, self.cache = F.lstm(x, zeros, zeros, *self._weights())
        return self._select(h_seq)


class GRU(Recurrent):
    """torch.nn.GRU's cell, gates r, z, n; h_t = (1 - z) n + z h_{t-1}."""

    kind = "gru"
    gates = 3

    def compute(self, x):
        h_seq, self.cache = F.gru(x, self._zeros(x), *self._weights())
        return self._select(h_seq)
