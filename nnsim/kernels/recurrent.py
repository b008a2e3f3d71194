"""Recurrent cells (RNN, LSTM, GRU): one fused step kernel per cell and direction, and sequence
kernels that loop over time inside Numba (those live in ``recurrent_cells`` and are re-exported
here), and the BLAS products around them.

Division of labour (per sequence of T steps, batch N, hidden H, G = gates * H):
- the input projections of all steps, xw (N, T, G) = x W_ih^T + b_ih, are one BLAS product
  computed by the caller;
- ``<cell>_step_forward(t, ...)`` / ``<cell>_step_backward(t, ...)`` do everything that depends
  on the previous step, with every gate fused; the simulator calls them one t at a time when a
  learner steps through time, and ``<cell>_forward`` / ``<cell>_backward`` call the very same
  functions in a Numba loop otherwise, so stepped and whole runs are bit-identical;
- larger sequences (``step_path``) step by ``recurrent_blocked``'s kernels, whose products
  take the batch's rows four at a time, where nnsim's ``product_nn`` computes them, and
  otherwise with BLAS products: ``blas_step_forward`` / ``blas_step_backward`` compute each
  step's hidden projection and carry as one product and call the cells alone
  (``<cell>_cell_forward`` / ``<cell>_cell_backward``) around it;
- the step kernels read W_hh^T (H, G) in both directions, transposed once per forward pass;
  the blocked and BLAS steps read it forward and W_hh back;
- after BPTT the weight gradients are BLAS products over all N*T rows of the per-step
  pre-activation gradients, never T small products.

The per-step arrays the kernels take are described in ``recurrent_cells``.
"""

from __future__ import annotations

import numpy as np

from . import products
from .dense import add_row_bias, column_sums
from .products import matmul
from .recurrent_cells import (
    RELU,
    TANH,
    gru_backward,
    gru_cell_backward,
    gru_cell_forward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    lstm_backward,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_cell_backward,
    rnn_cell_forward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

__all__ = [
    "BLAS_STEP_MACS",
    "GATES",
    "RELU",
    "TANH",
    "blas_step_backward",
    "blas_step_forward",
    "STEP_PATHS",
    "gru_backward",
    "gru_cell_backward",
    "gru_cell_forward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "input_projection",
    "lstm_backward",
    "lstm_cell_backward",
    "lstm_cell_forward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_cell_backward",
    "rnn_cell_forward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
    "step_path",
    "weight_gradients",
]


# ---------------------------------------------------------------- shared BLAS parts


def input_projection(x: np.ndarray, w_ih: np.ndarray, b_ih: np.ndarray) -> np.ndarray:
    """xw (N, T, G) = x (N, T, I) @ W_ih^T + b_ih: all time steps in one product."""
    n, steps, inputs = x.shape
    xw = matmul(x.reshape(n * steps, inputs), w_ih.T)  # (N*T, G)
    add_row_bias(xw, b_ih)  # the same additions as xw += b_ih, without NumPy's broadcasting
    return xw.reshape(n, steps, w_ih.shape[0])


def weight_gradients(x, h0, h_seq, w_ih, dxw, dhh):
    """(dx, dW_ih, dW_hh, db_ih, db_hh) from the per-step pre-activation gradients."""
    n, steps, inputs = x.shape
    hidden = h0.shape[1]
    gates = dxw.shape[2]
    dxw2 = dxw.reshape(n * steps, gates)  # (N*T, G)
    dhh2 = dhh.reshape(n * steps, gates)
    h_prev = np.empty_like(h_seq)  # (N, T, H): h_{t-1} for every t
    h_prev[:, 0] = h0
    h_prev[:, 1:] = h_seq[:, :-1]
    dx = matmul(dxw2, w_ih).reshape(n, steps, inputs)
    dw_ih = matmul(dxw2.T, x.reshape(n * steps, inputs))
    dw_hh = matmul(dhh2.T, h_prev.reshape(n * steps, hidden))
    db_ih = np.empty(gates, dtype=x.dtype)
    column_sums(dxw2, db_ih)
    if dhh is dxw:  # RNN and LSTM: both biases enter the same pre-activation
        db_hh = db_ih.copy()
    else:
        db_hh = np.empty(gates, dtype=x.dtype)
        column_sums(dhh2, db_hh)
    return dx, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------- steps with BLAS products

#: from this many multiply-adds per step product (batch x hidden x gates) on, each step's
#: hidden projection and carry are BLAS products called from Python around the cell kernels;
#: below it the Numba loops win, Python's per-step call costs being larger than the product
#: (measured: LSTM at batch 16, hidden 128: 27 ms per forward + BPTT in Numba loops, 14-18 ms
#: so; RNN 8.6 -> 3.3-5.1 ms, GRU 24.5 -> 9.8 ms)
BLAS_STEP_MACS = 200_000


#: the gates of each cell kind, whose rows W_ih and W_hh stack (G = gates * H)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}

#: the ways a sequence steps: ``loops`` the Numba loops of ``recurrent_cells`` (one batch row
#: at a time), ``blocked`` those of ``recurrent_blocked`` (``product_nn`` over the batch),
#: ``blas`` BLAS products called from Python around the cell kernels
STEP_PATHS = ("loops", "blocked", "blas")


def step_path(n_batch: int, hidden: int, gates: int) -> str:
    """How a sequence of this size steps (one of :data:`STEP_PATHS`): below
    :data:`BLAS_STEP_MACS` the Numba loops; above, ``blocked`` wherever ``product_nn`` would
    compute the step's products anyway (``products.product_nn_takes`` the step back, whose
    rows are H long, the forward one's being G), BLAS otherwise. The choice depends on the
    shapes and the machine alone, so a stepped pass and a whole one always make the same."""
    if n_batch * hidden * gates < BLAS_STEP_MACS:
        return "loops"
    return "blocked" if products.product_nn_takes(n_batch, hidden) else "blas"


def _project(t, h0, h_seq, w_hh_t):
    # h_{t-1} W_hh^T (N, G), batch-major as the cells read it (the transposed product,
    # W_hh h_{t-1}^T, was 1-5 us faster in BLAS but left the cells a strided read that cost
    # 10 us a step at N = 16, H = 128)
    h_prev = h0 if t == 0 else h_seq[:, t - 1]  # (N, H)
    return matmul(h_prev, w_hh_t)


def blas_step_forward(kind: str, t: int, args: tuple) -> None:
    """Step t of the forward pass, with the arguments of ``<kind>_step_forward``."""
    if kind == "rnn":
        xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq = args
        proj = _project(t, h0, h_seq, w_hh_t)
        rnn_cell_forward(t, xw, nonlinearity, proj, b_hh, pre, h_seq)
    elif kind == "lstm":
        xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq = args
        proj = _project(t, h0, h_seq, w_hh_t)
        lstm_cell_forward(t, xw, c0, proj, b_hh, pre, gates, h_seq, c_seq)
    else:
        xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq = args
        proj = _project(t, h0, h_seq, w_hh_t)
        gru_cell_forward(t, xw, h0, proj, b_hh, hh, pre, gates, h_seq)


def blas_step_backward(kind: str, t: int, args: tuple) -> None:
    """Step t of BPTT, with the arguments of ``<kind>_step_backward`` but W_hh (G, H) in the
    place of W_hh^T: BLAS multiplies by either operand contiguous at the same speed, and by a
    transposed view 2 us a step slower (N = 16, H = 128)."""
    if kind == "rnn":
        dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre = args
        rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre)
        matmul(dpre[:, t], w_hh, out=carry)  # (N, H): dL/dh_{t-1}
    elif kind == "lstm":
        dh_seq, gates, c0, c_seq, w_hh, carry, carry_c, dh, dc, dpre = args
        lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry, carry_c, dh, dc, dpre)
        matmul(dpre[:, t], w_hh, out=carry)
    else:
        dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh = args
        gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh)
        carry += matmul(dhh[:, t], w_hh)  # on top of the direct path dL/dh_t z
