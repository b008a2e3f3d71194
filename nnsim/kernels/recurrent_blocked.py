"""The recurrent steps for a batch of several rows: each step's hidden product by
``products.product_nn`` (four batch rows share each load of a weight row), and the cells of
``recurrent_cells`` around it, with a Numba loop over time for whole sequences.

Why: at batch 16, hidden 128 the steps had been two BLAS products and two cell kernels called
from Python, 100 times a sequence, about 6 us of checks and dispatch a step. Where
``product_nn`` computes those products anyway (``recurrent.step_path``), one Numba call now runs
the sequence: the LSTM's forward and BPTT went from 6.93 to 6.45 ms (Zen 3), with the same bits
as the steps called one by one, which the simulator does when a learner steps into time.

Same arguments as the step kernels of ``recurrent_cells``, except that the steps back take
W_hh (G, H) itself: dL/dh_{t-1} = dpre_t @ W_hh reads its rows along H.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .products import product_nn
from .recurrent_cells import (
    gru_cell_backward,
    gru_cell_forward,
    lstm_cell_backward,
    lstm_cell_forward,
    rnn_cell_backward,
    rnn_cell_forward,
)


@kernel
def _projection(t, h0, h_seq, w_hh_t):
    # h_{t-1} (N, H) @ W_hh^T (H, G) -> (N, G), with h_{-1} = h0
    proj = np.empty((h0.shape[0], w_hh_t.shape[1]), dtype=h0.dtype)
    product_nn(h0 if t == 0 else h_seq[:, t - 1], w_hh_t, proj)
    return proj


@kernel
def rnn_blocked_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    rnn_cell_forward(t, xw, nonlinearity, _projection(t, h0, h_seq, w_hh_t), b_hh, pre, h_seq)


@kernel
def rnn_blocked_step_backward(t, dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre):
    rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre)
    product_nn(dpre[:, t], w_hh, carry)  # (N, H): dL/dh_{t-1}


@kernel
def lstm_blocked_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    proj = _projection(t, h0, h_seq, w_hh_t)
    lstm_cell_forward(t, xw, c0, proj, b_hh, pre, gates, h_seq, c_seq)


@kernel
def lstm_blocked_step_backward(t, dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre):
    lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre)
    product_nn(dpre[:, t], w_hh, carry_h)


@kernel
def gru_blocked_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    proj = _projection(t, h0, h_seq, w_hh_t)
    gru_cell_forward(t, xw, h0, proj, b_hh, hh, pre, gates, h_seq)


@kernel
def gru_blocked_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh):
    gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh)
    through_w = np.empty_like(carry)  # (N, H)
    product_nn(dhh[:, t], w_hh, through_w)
    for n in range(carry.shape[0]):  # on top of the direct path dL/dh_t z
        row, add = carry[n], through_w[n]  # (H,) each
        for j in range(row.size):
            row[j] += add[j]


@kernel
def rnn_blocked_forward(xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    for t in range(xw.shape[1]):
        rnn_blocked_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq)


@kernel
def rnn_blocked_backward(dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        rnn_blocked_step_backward(t, dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre)


@kernel
def lstm_blocked_forward(xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    for t in range(xw.shape[1]):
        lstm_blocked_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq)


@kernel
def lstm_blocked_backward(dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre):
    for t in range(c_seq.shape[1] - 1, -1, -1):
        lstm_blocked_step_backward(
            t, dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre
        )


@kernel
def gru_blocked_forward(xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    for t in range(xw.shape[1]):
        gru_blocked_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq)


@kernel
def gru_blocked_backward(dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        gru_blocked_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh)
