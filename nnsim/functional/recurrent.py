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
from ..kernels import recurrent_blocked as kb
from ..kernels.transpose import transposed
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
    #: how the steps run (``nnsim.kernels.recurrent.STEP_PATHS``): Numba loops over one batch
    #: row at a time, over several (``blocked``), or BLAS products called from Python
    path: str = "loops"
    #: W_hh^T (H, G*H), contiguous: what the recurrent products read, forward and back
    w_hh_t: np.ndarray | None = field(default=None, repr=False)
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


def grad_norms_through_time(cache: RecurrentCache, state: str = "h") -> np.ndarray:
    """(T,) the L2 norm of dL/dh_t (``state="c"``: of an LSTM's dL/dc_t) over the batch and
    hidden units, for t = 1..T.

    The curve of vanishing and exploding gradients through time; needs a backward pass first.
    """
    if not isinstance(cache, RecurrentCache):
        raise TypeError("grad_norms_through_time: cache must be the cache of rnn, lstm or gru")
    if not isinstance(state, str) or state not in ("h", "c"):
        raise ValueError(f"grad_norms_through_time: state must be 'h' or 'c', got {state!r}")
    grad = cache.dh if state == "h" else cache.dc
    if grad is None:
        raise ValueError(
            f"grad_norms_through_time: no dL/d{state} (run the backward pass first; "
            f"only an LSTM has a cell state c)"
        )
    # summed in float64 for accuracy, returned in the cache's dtype like every other result
    return np.sqrt(np.einsum("nth,nth->t", grad.astype(np.float64), grad)).astype(grad.dtype)


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


# ---------------------------------------------------------------- shared set-up

# path: kind: (whole-sequence forward, one-step forward, whole backward, one-step backward);
# each pair takes the same arrays, the step kernels with the time step first
_KERNELS = {
    "loops": {
        "rnn": (k.rnn_forward, k.rnn_step_forward, k.rnn_backward, k.rnn_step_backward),
        "lstm": (k.lstm_forward, k.lstm_step_forward, k.lstm_backward, k.lstm_step_backward),
        "gru": (k.gru_forward, k.gru_step_forward, k.gru_backward, k.gru_step_backward),
    },
    "blocked": {
        kind: tuple(
            getattr(kb, f"{kind}_blocked_{part}")
            for part in ("forward", "step_forward", "backward", "step_backward")
        )
        for kind in ("rnn", "lstm", "gru")
    },
}


def _forward_setup(fn, kind, x, h0, c0, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    """Check the arguments, allocate the cache, project the inputs; return (cache, kernel args)."""
    if kind == "rnn" and (not isinstance(nonlinearity, str) or nonlinearity not in NONLINEARITIES):
        raise ValueError(f"{fn}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    x, h0, W_ih, W_hh, b_ih, b_hh = _inputs(fn, x, h0, W_ih, W_hh, b_ih, b_hh, k.GATES[kind])
    n, steps, _ = x.shape
    xw = k.input_projection(x, W_ih, b_ih)  # (N, T, G*H): every step's input side at once
    w_hh_t = transposed(W_hh)  # (H, G*H)
    pre = np.empty_like(xw)
    h_seq = np.empty((n, steps, h0.shape[1]), dtype=x.dtype)  # (N, T, H)
    cache = RecurrentCache(kind, x, h0, W_ih, W_hh, b_ih, b_hh, h_seq, pre)
    cache.path = k.step_path(n, h0.shape[1], W_hh.shape[0])
    cache.w_hh_t = w_hh_t
    if kind == "rnn":
        cache.nonlinearity = nonlinearity
        return cache, (xw, h0, w_hh_t, b_hh, NONLINEARITIES[nonlinearity], pre, h_seq)
    cache.gates = np.empty_like(xw)
    if kind == "lstm":
        c0 = check.secondary(fn, "c0", c0, x.dtype, ndim=2)
        check.same_shape(fn, "h0", h0, "c0", c0)
        cache.c0, cache.c_seq = c0, np.empty_like(h_seq)
        return cache, (xw, h0, c0, w_hh_t, b_hh, pre, cache.gates, h_seq, cache.c_seq)
    cache.hh = np.empty_like(xw)
    return cache, (xw, h0, w_hh_t, b_hh, cache.hh, pre, cache.gates, h_seq)


def _backward_setup(fn, kind, dh_seq, cache, dc_last=None):
    """Check dh_seq, allocate the gradients; return (kernel args, finish) where finish() turns
    the per-step results into the function's return value."""
    dh_seq = _dh_seq(fn, dh_seq, cache, kind)
    w_hh = cache.w_hh_t if cache.path == "loops" else cache.W_hh  # what each path reads back
    # (np.zeros: zeros_like is a Python function around two NumPy calls)
    carry = np.zeros(cache.h0.shape, cache.h0.dtype)  # (N, H): dL/dh flowing to the previous step
    dh = np.empty_like(cache.h_seq)
    cache.dh = dh
    if kind == "rnn":
        dpre = np.empty_like(cache.pre)
        args = (
            dh_seq,
            cache.h_seq,
            w_hh,
            NONLINEARITIES[cache.nonlinearity],
            carry,
            dh,
            dpre,
        )
        dxw = dhh = dpre
    elif kind == "lstm":
        if dc_last is None:
            carry_c = np.zeros(cache.h0.shape, cache.h0.dtype)  # (N, H)
        else:
            carry_c = check.secondary(fn, "dc_last", dc_last, cache.x.dtype).copy()
            check.same_shape(fn, "c0", cache.c0, "dc_last", carry_c)
        cache.dc = np.empty_like(cache.h_seq)
        dpre = np.empty_like(cache.pre)
        args = (dh_seq, cache.gates, cache.c0, cache.c_seq, w_hh, carry, carry_c)
        args += (dh, cache.dc, dpre)
        dxw = dhh = dpre
    else:
        dxw, dhh = np.empty_like(cache.pre), np.empty_like(cache.pre)
        args = (dh_seq, cache.h0, cache.h_seq, cache.gates, cache.hh, w_hh, carry, dh)
        args += (dxw, dhh)

    def finish():
        dx, dw_ih, dw_hh, db_ih, db_hh = k.weight_gradients(
            cache.x, cache.h0, cache.h_seq, cache.W_ih, dxw, dhh
        )
        initial = (carry, carry_c) if kind == "lstm" else (carry,)
        return (dx, *initial, dw_ih, dw_hh, db_ih, db_hh)

    return args, finish


def _forward_step(cache: RecurrentCache, t: int, args: tuple) -> None:
    # step t by the path the cache's shapes chose, for the stepper and whole runs alike
    if cache.path == "blas":
        k.blas_step_forward(cache.kind, t, args)
    else:
        _KERNELS[cache.path][cache.kind][1](t, *args)


def _backward_step(cache: RecurrentCache, t: int, args: tuple) -> None:
    if cache.path == "blas":
        k.blas_step_backward(cache.kind, t, args)
    else:
        _KERNELS[cache.path][cache.kind][3](t, *args)


def _run_forward(cache: RecurrentCache, args: tuple) -> None:
    if cache.path != "blas":  # the Numba loop over the same step kernels, one call
        _KERNELS[cache.path][cache.kind][0](*args)
        return
    for t in range(cache.steps):
        _forward_step(cache, t, args)


def _run_backward(cache: RecurrentCache, args: tuple) -> None:
    if cache.path != "blas":
        _KERNELS[cache.path][cache.kind][2](*args)
        return
    for t in range(cache.steps - 1, -1, -1):
        _backward_step(cache, t, args)


# ---------------------------------------------------------------- the public functions


def rnn(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity: str = "tanh"):
    """h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), f = tanh or relu (torch.nn.RNN).

    Returns (h_seq (N, T, H), cache).
    """
    cache, args = _forward_setup("rnn", "rnn", x, h0, None, W_ih, W_hh, b_ih, b_hh, nonlinearity)
    _run_forward(cache, args)
    return cache.h_seq, cache


def rnn_backward(dh_seq, cache: RecurrentCache):
    """(dx, dh0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT; fills cache.dh with dL/dh_t."""
    args, finish = _backward_setup("rnn_backward", "rnn", dh_seq, cache)
    _run_backward(cache, args)
    return finish()


def lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """torch.nn.LSTM's cell, gate order i, f, g, o. Returns (h_seq, c_seq, cache)."""
    cache, args = _forward_setup("lstm", "lstm", x, h0, c0, W_ih, W_hh, b_ih, b_hh)
    _run_forward(cache, args)
    return cache.h_seq, cache.c_seq, cache


def lstm_backward(dh_seq, cache: RecurrentCache, dc_last=None):
    """(dx, dh0, dc0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT.

    ``dc_last`` (N, H) is a gradient arriving at the last cell state from outside. Fills
    cache.dh and cache.dc with dL/dh_t and dL/dc_t.
    """
    args, finish = _backward_setup("lstm_backward", "lstm", dh_seq, cache, dc_last)
    _run_backward(cache, args)
    return finish()


def gru(x, h0, W_ih, W_hh, b_ih, b_hh):
    """torch.nn.GRU's cell, gate order r, z, n; n = tanh(W_in x + b_in + r (W_hn h + b_hn)).

    Returns (h_seq, cache).
    """
    cache, args = _forward_setup("gru", "gru", x, h0, None, W_ih, W_hh, b_ih, b_hh)
    _run_forward(cache, args)
    return cache.h_seq, cache


def gru_backward(dh_seq, cache: RecurrentCache):
    """(dx, dh0, dW_ih, dW_hh, db_ih, db_hh) by full BPTT; fills cache.dh with dL/dh_t."""
    args, finish = _backward_setup("gru_backward", "gru", dh_seq, cache)
    _run_backward(cache, args)
    return finish()


# ---------------------------------------------------------------- one time step at a time


class RecurrentStepper:
    """A recurrent pass driven one time step at a time: the simulator's step into time.

    Built with the arguments of ``rnn``/``lstm``/``gru`` (``c0`` for the LSTM), it calls the
    same per-step kernels the whole-sequence functions loop over, so its cache and gradients are
    bit-identical to theirs. Forward t = 0..T-1, then ``begin_backward`` and t = T-1..0, then
    ``finish_backward`` returns what ``<kind>_backward`` returns.
    """

    def __init__(self, kind, x, h0, W_ih, W_hh, b_ih, b_hh, c0=None, nonlinearity="tanh"):
        if not isinstance(kind, str) or kind not in k.GATES:
            raise ValueError(
                f"RecurrentStepper: unknown recurrent kind {kind!r}; expected rnn, lstm or gru"
            )
        self.kind = kind
        self.cache, self._forward_args = _forward_setup(
            kind, kind, x, h0, c0, W_ih, W_hh, b_ih, b_hh, nonlinearity
        )
        self.steps = self.cache.steps
        self.next_forward = 0
        self.next_backward: int | None = None
        self._backward_args = self._finish = None

    @classmethod
    def after_forward(cls, cache: RecurrentCache) -> RecurrentStepper:
        """A stepper for the backward pass of a forward pass already computed whole."""
        if not isinstance(cache, RecurrentCache):
            raise TypeError("after_forward needs the cache of rnn, lstm or gru")
        stepper = cls.__new__(cls)
        stepper.kind, stepper.cache, stepper.steps = cache.kind, cache, cache.steps
        stepper.next_forward, stepper.next_backward = cache.steps, None
        stepper._forward_args = stepper._backward_args = stepper._finish = None
        return stepper

    def forward_step(self, t: int) -> None:
        """Compute time step t (the steps go in order 0, 1, ..., T-1)."""
        if t != self.next_forward:
            raise ValueError(
                f"{self.kind}: forward step {t} out of order; next is {self.next_forward}"
            )
        _forward_step(self.cache, t, self._forward_args)
        self.next_forward += 1

    def begin_backward(self, dh_seq, dc_last=None) -> None:
        if self.next_forward != self.steps:
            raise ValueError(f"{self.kind}: finish the forward pass ({self.steps} steps) first")
        self._backward_args, self._finish = _backward_setup(
            f"{self.kind}_backward", self.kind, dh_seq, self.cache, dc_last
        )
        self.next_backward = self.steps - 1

    def backward_step(self, t: int) -> None:
        """Back-propagate through time step t (in order T-1, ..., 0)."""
        if t != self.next_backward:
            raise ValueError(
                f"{self.kind}: backward step {t} out of order; next is {self.next_backward}"
            )
        _backward_step(self.cache, t, self._backward_args)
        self.next_backward -= 1

    def finish_backward(self):
        if self.next_backward != -1:
            raise ValueError(f"{self.kind}: {self.next_backward + 1} backward steps remain")
        return self._finish()
