"""The warm-up calls of the recurrent kernels (see ``nnsim.warmup``): whole passes, the step
kernels the simulator calls when a learner steps into time, and the blocked steps of batches
whose shapes take that path on this machine."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import functional as F
from .kernels import products
from .kernels import recurrent as kr


def blocked(kind: str, batch: int, hidden: int) -> bool:
    """Whether a recurrent layer of this kind and size, trained at this batch, steps by
    ``recurrent_blocked`` here (a batch of 0: not known)."""
    return bool(batch) and kr.step_path(batch, hidden, kr.GATES[kind] * hidden) == "blocked"


def _whole_pass(kind: str, x, h0, w_ih, w_hh) -> None:
    # forward and BPTT over a whole sequence, biases left out (zeros)
    if kind == "lstm":
        h_seq, _, cache = F.lstm(x, h0, h0, w_ih, w_hh, None, None)
        F.lstm_backward(h_seq, cache)
    else:
        run, back = (F.rnn, F.rnn_backward) if kind == "rnn" else (F.gru, F.gru_backward)
        back(*run(x, h0, w_ih, w_hh, None, None))


def recurrent(kind: str, arr: Callable[..., np.ndarray]) -> None:
    """A whole-sequence forward and backward pass of one cell kind (RNN also with ReLU)."""
    x3, h0, gates = arr(2, 3, 3), arr(2, 2), kr.GATES[kind]
    _whole_pass(kind, x3, h0, arr(gates * 2, 3), arr(gates * 2, 2))
    if kind == "rnn":
        F.rnn_backward(*F.rnn(x3, h0, arr(2, 3), arr(2, 2), None, None, nonlinearity="relu"))


def recurrent_blocked(kind: str, arr: Callable[..., np.ndarray]) -> None:
    """A whole pass, and one stepped through time, at a batch and size whose steps run in
    ``recurrent_blocked``'s kernels where this machine has ``product_nn`` compute them
    (``kernels.recurrent.step_path``)."""
    n, h, gates = 16, 128, kr.GATES[kind]
    x3, h0, w_ih, w_hh = arr(n, 2, 3), arr(n, h), arr(gates * h, 3), arr(gates * h, h)
    _whole_pass(kind, x3, h0, w_ih, w_hh)
    c0 = h0 if kind == "lstm" else None
    stepper = F.RecurrentStepper(kind, x3, h0, w_ih, w_hh, None, None, c0=c0)
    stepper.forward_step(0)  # the step kernels, as the simulator calls them one t at a time
    stepper.forward_step(1)
    stepper.begin_backward(stepper.cache.h_seq)
    stepper.backward_step(1)


def recurrent_steps(kind: str, arr: Callable[..., np.ndarray]) -> None:
    """The per-step kernels the simulator calls when stepping into time; values don't matter."""
    n, steps, h = 2, 3, 2
    gates = kr.GATES[kind]
    h0, h_seq, d = arr(n, h), arr(n, steps, h), arr(n, steps, h)
    carry, c_seq = arr(n, h), arr(n, steps, h)
    xw, b_hh = arr(n, steps, gates * h), arr(gates * h)
    w, w_t = arr(gates * h, h), arr(h, gates * h)  # W_hh for the BLAS steps back, W_hh^T
    pre, act, hh = (arr(n, steps, gates * h) for _ in range(3))
    if kind == "rnn":
        forward = (xw, h0, w_t, b_hh, kr.TANH, pre, h_seq)

        def backward(w_hh: np.ndarray) -> tuple:
            return (d, h_seq, w_hh, kr.TANH, carry, d.copy(), pre)

        kr.rnn_step_forward(0, *forward)
        kr.rnn_step_backward(steps - 1, *backward(w_t))
    elif kind == "gru":
        forward = (xw, h0, w_t, b_hh, hh, pre, act, h_seq)

        def backward(w_hh: np.ndarray) -> tuple:
            return (d, h0, h_seq, act, hh, w_hh, carry, d.copy(), pre, hh)

        kr.gru_step_forward(0, *forward)
        kr.gru_step_backward(steps - 1, *backward(w_t))
    else:
        forward = (xw, h0, h0, w_t, b_hh, pre, act, h_seq, c_seq)

        def backward(w_hh: np.ndarray) -> tuple:
            return (d, act, h0, c_seq, w_hh, carry, carry.copy(), d.copy(), d.copy(), pre)

        kr.lstm_step_forward(0, *forward)
        kr.lstm_step_backward(steps - 1, *backward(w_t))
    # the cell kernels alone, as large sequences call them around BLAS products
    kr.blas_step_forward(kind, 0, forward)
    kr.blas_step_backward(kind, steps - 1, backward(w))
    # and a product as large sequences make it, from a time step's slice (N, H) of (N, T, H)
    products.matmul(arr(16, 2, 128)[:, 1], arr(128, 128))
