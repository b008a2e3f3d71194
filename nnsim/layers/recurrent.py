"""RNN, LSTM and GRU layers over (T, I) sequences, with PyTorch's weight layout and init.

The initial states are zeros. ``cache`` holds the functional RecurrentCache of the last pass:
gates, pre-activations, states and (after backward) dL/dh_t for every time step.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import init as initialisers
from .base import Layer, ShapeError, positive
from .dense import check_init


class _Recurrent(Layer):
    gates = 1
    penalised = ("W_ih", "W_hh")

    def __init__(
        self,
        hidden: int,
        *,
        return_sequences: bool = True,
        init: str = "default",
        init_std: float = 1.0,
        name: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        self.hidden = positive("hidden", hidden)
        self.return_sequences = bool(return_sequences)
        self.init = check_init(init)
        self.init_std = float(init_std)

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
        return text


class RNN(_Recurrent):
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

    def differentiate(self, dy):
        dx, _, *grads = F.rnn_backward(self._dh_seq(dy), self.cache)
        return dx, self._grads(*grads)

    def options(self):
        text = super().options()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity='relu'"


class LSTM(_Recurrent):
    """torch.nn.LSTM's cell, gates i, f, g, o; c_t = f c_{t-1} + i g, h_t = o tanh(c_t)."""

    kind = "lstm"
    gates = 4

    def compute(self, x):
        zeros = self._zeros(x)
        h_seq, _, self.cache = F.lstm(x, zeros, zeros, *self._weights())
        return self._select(h_seq)

    def differentiate(self, dy):
        dx, _, _, *grads = F.lstm_backward(self._dh_seq(dy), self.cache)
        return dx, self._grads(*grads)


class GRU(_Recurrent):
    """torch.nn.GRU's cell, gates r, z, n; h_t = (1 - z) n + z h_{t-1}."""

    kind = "gru"
    gates = 3

    def compute(self, x):
        h_seq, self.cache = F.gru(x, self._zeros(x), *self._weights())
        return self._select(h_seq)

    def differentiate(self, dy):
        dx, _, *grads = F.gru_backward(self._dh_seq(dy), self.cache)
        return dx, self._grads(*grads)
