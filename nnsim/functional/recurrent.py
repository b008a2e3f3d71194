"""RNN, LSTM and GRU over whole sequences, with full back-propagation through time.

Equations and weight layouts are those of torch.nn.RNN / LSTM / GRU (one layer, batch_first):
x (N, T, I), h0 (N, H), W_ih (G*H, I), W_hh (G*H, H), b_ih and b_hh (G*H,) with G = 1, 4
(gates i, f, g, o) or 3 (gates r, z, n). The cache keeps every per-step value with a time axis
for the inspector; the backward pass adds dL/dh_t (and dL/dc_t) for every t to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels import recurrent as k
from . import _checks as check

GATE_NAMES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
NONLINEARITIES = {"tanh": k.TANH, "relu": k.RELU}


@dataclass
class RecurrentCache:
    """Everything a recurrent forward pass computed, per time step, (N, T, .) arrays.

    ``pre`` holds the gate pre-activations (N, T, G*H) in gate order; ``gates`` their
    activations (LSTM, GRU); ``h_seq`` and ``c_seq`` the states; ``hh`` the GRU's hidden-side
    projection W_hh h_{t-1} + b_hh. After the backward pass, ``dh`` is dL/dh_t and ``dc`` is
    dL/dc_t (LSTM), each the total gradient reaching that step's state.
    """

    kind: str
    x: np.ndarray
    h0: np.ndarray
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    h_seq: np.ndarray
    pre: np.ndarray
    gates: np.ndarray | None = None
    c0: np.ndarray | None = None
    c_seq: np.ndarray | None = None
    hh: np.ndarray | None = None
    nonlinearity: str = "tanh"
    dh: np.ndarray | None = field(default=None, repr=False)
    dc: np.ndarray | None = field(default=None, repr=False)

    @property
    def steps(self) -> int:
        return self.x.shape[1]

    def gate(self, name: str) -> np.ndarray:
        """The activation (N, T, H) of one gate by name: i, f, g, o (LSTM) or r, z, n (GRU)."""
        names = GATE_NAMES[self.kind]
        if name not in names:
            raise KeyError(f"{self.kind} has no gate {name!r}; its gates are {names or 'none'}")
        hidden = self.h0.shape[1]
        j = names.index(name)
        return self.gates[:, :, j * hidden : (j + 1) * hidden]


def grad_norms_through_time(cache: RecurrentCache) -> np.ndarray:
    """(T,) the L2 norm of dL/dh_t over the batch and hidden units, for t = 1..T.

    The curve of vanishing and exploding gradients through time; needs a backward pass first.
    """
    if cache.dh is None:
        raise ValueError("grad_norms_through_time: run the backward pass first (cache.dh is empty)")
    return np.sqrt(np.einsum("nth,nth->t", cache.dh.astype(np.float64), cache.dh))


# ---------------------------------------------------------------- argument checks


def _inputs(fn, x, h0, W_ih, W_hh, b_ih, b_hh, gates):
    x = check.primary(fn, "x", x, ndim=3)
    dtype = x.dtype
    h0 = check.secondary(fn, "h0", h0, dtype, ndim=2)
    W_ih = check.secondary(fn, "W_ih", W_ih, dtype, ndim=2)
    W_hh = check.secondary(fn, "W_hh", W_hh, dtype, ndim=2)
    n, steps, inputs = x.shape
    hidden = h0.shape[1]
    if steps < 1:
        raise ValueError(f"{fn}: x must have at least one time step; x {x.shape}")
    if h0.shape[0] != n:
        raise ValueError(
            f"{fn}: h0 must have one row per sequence of x; x {x.shape}, h0 {h0.shape}"
        )
    if W_ih.shape != (gates * hidden, inputs):
        raise ValueError(
            f"{fn}: W_ih must be ({gates}*H, I) = {(gates * hidden, inputs)} for H={hidden} "
            f"from h0 and I={inputs} from x; W_ih {W_ih.shape}, x {x.shape}, h0 {h0.shape}"
        )
    if W_hh.shape != (gates * hidden, hidden):
        raise ValueError(
            f"{fn}: W_hh must be ({gates}*H, H) = {(gates * hidden, hidden)}; "
            f"W_hh {W_hh.shape}, h0 {h0.shape}"
        )
    biases = []
    for name, b in (("b_ih", b_ih), ("b_hh", b_hh)):
        if b is None:
            biases.append(np.zeros(gates * hidden, dtype=dtype))
            continue
        b = check.secondary(fn, name, b, dtype)
        if b.shape != (gates * hidden,):
            raise ValueError(
                f"{fn}: {name} must be ({gates}*H,) = {(gates * hidden,)}; {name} {b.shape}"
            )
        biases.append(b)
    return x, h0, W_ih, W_hh, biases[0], biases[1]


def _dh_seq(fn: str, dh_seq, cache: RecurrentCache, kind: str) -> np.ndarray:
    if not isinstance(cache, RecurrentCache) or cache.kind != kind:
        raise TypeError(f"{fn}: cache must be the cache returned by {kind}")
    dh_seq = check.secondary(fn, "dh_seq", dh_seq, cache.x.dtype)
    check.same_shape(fn, "h_seq", cache.h_seq, "dh_seq", dh_seq)
    return dh_seq


# ---------------------------------------------------------------- RNN


def rnn(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity: str = "tanh"):
    """h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh or relu (torch.nn.RNN).

    Returns (h_seq (N, T, H), cache).
    """
    fn = "rnn"
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{fn}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    x, h0, W_ih, W_hh, b_ih, b_hh = _inputs(fn, x, h0, W_ih, W_hh, b_ih, b_hh, 1)
    n, steps, _ = x.shape
    hidden = h0.shape[1]
    xw = k.input_projection(x, W_ih, b_ih)  # (N, T, H)
    pre = np.empty((n, steps, hidden), dtype=x.dtype)
    h_seq = np.empty((n, steps, hidden), dtype=x.dtype)
    k.rnn_forward(
        xw, h0, np.ascontiguousarray(W_hh.T), b_hh, NONLINEARITIES[nonlinearity], pre, h_seq
    )
    cache = RecurrentCache(
        "rnn", x, h0, W_ih, W_hh, b_ih, b_hh, h_seq, pre, nonlinearity=nonlinearity
    )
    return h_seq, cache


def rnn_backward(dh_seq, cache: RecurrentCache):
    """(dx, dh0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT; fills cache.dh with dL/dh_t."""
    dh_seq = _dh_seq("rnn_backward", dh_seq, cache, "rnn")
    carry = np.zeros_like(cache.h0)  # (N, H): dL/dh flowing to the previous step
    dh = np.empty_like(cache.h_seq)
    dpre = np.empty_like(cache.pre)
    k.rnn_backward(
        dh_seq, cache.h_seq, cache.W_hh, NONLINEARITIES[cache.nonlinearity], carry, dh, dpre
    )
    cache.dh = dh
    dx, dw_ih, dw_hh, db_ih, db_hh = k.weight_gradients(
        cache.x, cache.h0, cache.h_seq, cache.W_ih, dpre, dpre
    )
    return dx, carry, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------- LSTM


def lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """torch.nn.LSTM's cell, gate order i, f, g, o. Returns (h_seq, c_seq, cache)."""
    fn = "lstm"
    x, h0, W_ih, W_hh, b_ih, b_hh = _inputs(fn, x, h0, W_ih, W_hh, b_ih, b_hh, 4)
    c0 = check.secondary(fn, "c0", c0, x.dtype, ndim=2)
    check.same_shape(fn, "h0", h0, "c0", c0)
    n, steps, _ = x.shape
    hidden = h0.shape[1]
    xw = k.input_projection(x, W_ih, b_ih)  # (N, T, 4H)
    pre = np.empty_like(xw)
    gates = np.empty_like(xw)
    h_seq = np.empty((n, steps, hidden), dtype=x.dtype)
    c_seq = np.empty_like(h_seq)
    k.lstm_forward(xw, h0, c0, np.ascontiguousarray(W_hh.T), b_hh, pre, gates, h_seq, c_seq)
    cache = RecurrentCache(
        "lstm", x, h0, W_ih, W_hh, b_ih, b_hh, h_seq, pre, gates=gates, c0=c0, c_seq=c_seq
    )
    return h_seq, c_seq, cache


def lstm_backward(dh_seq, cache: RecurrentCache, dc_last=None):
    """(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT.

    ``dc_last`` (N, H) is a gradient arriving at the last cell state from outside. Fills
    cache.dh and cache.dc with dL/dh_t and dL/dc_t.
    """
    fn = "lstm_backward"
    dh_seq = _dh_seq(fn, dh_seq, cache, "lstm")
    carry_h = np.zeros_like(cache.h0)
    if dc_last is None:
        carry_c = np.zeros_like(cache.h0)
    else:
        carry_c = check.secondary(fn, "dc_last", dc_last, cache.x.dtype).copy()
        check.same_shape(fn, "c0", cache.c0, "dc_last", carry_c)
    dh = np.empty_like(cache.h_seq)
    dc = np.empty_like(cache.h_seq)
    dpre = np.empty_like(cache.pre)
    k.lstm_backward(
        dh_seq, cache.gates, cache.c0, cache.c_seq, cache.W_hh, carry_h, carry_c, dh, dc, dpre
    )
    cache.dh, cache.dc = dh, dc
    dx, dw_ih, dw_hh, db_ih, db_hh = k.weight_gradients(
        cache.x, cache.h0, cache.h_seq, cache.W_ih, dpre, dpre
    )
    return dx, carry_h, carry_c, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------- GRU


def gru(x, h0, W_ih, W_hh, b_ih, b_hh):
    """torch.nn.GRU's cell, gate order r, z, n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)).

    Returns (h_seq, cache).
    """
    fn = "gru"
    x, h0, W_ih, W_hh, b_ih, b_hh = _inputs(fn, x, h0, W_ih, W_hh, b_ih, b_hh, 3)
    n, steps, _ = x.shape
    hidden = h0.shape[1]
    xw = k.input_projection(x, W_ih, b_ih)  # (N, T, 3H)
    hh = np.empty_like(xw)
    pre = np.empty_like(xw)
    gates = np.empty_like(xw)
    h_seq = np.empty((n, steps, hidden), dtype=x.dtype)
    k.gru_forward(xw, h0, np.ascontiguousarray(W_hh.T), b_hh, hh, pre, gates, h_seq)
    cache = RecurrentCache("gru", x, h0, W_ih, W_hh, b_ih, b_hh, h_seq, pre, gates=gates, hh=hh)
    return h_seq, cache


def gru_backward(dh_seq, cache: RecurrentCache):
    """(dx, dh0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT; fills cache.dh with dL/dh_t."""
    dh_seq = _dh_seq("gru_backward", dh_seq, cache, "gru")
    carry = np.zeros_like(cache.h0)
    dh = np.empty_like(cache.h_seq)
    dxw = np.empty_like(cache.pre)
    dhh = np.empty_like(cache.pre)
    k.gru_backward(
        dh_seq, cache.h0, cache.h_seq, cache.gates, cache.hh, cache.W_hh, carry, dh, dxw, dhh
    )
    cache.dh = dh
    dx, dw_ih, dw_hh, db_ih, db_hh = k.weight_gradients(
        cache.x, cache.h0, cache.h_seq, cache.W_ih, dxw, dhh
    )
    return dx, carry, dw_ih, dw_hh, db_ih, db_hh
