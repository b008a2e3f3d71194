"""Recurrent cells (RNN, LSTM, GRU): one fused step kernel per cell and direction, and sequence
kernels that loop over time inside Numba.

Division of labour (per sequence of T steps, batch N, hidden H, G = gates * H):
- the input projections of all steps, xw (N, T, G) = x W_ih^T + b_ih, are one BLAS product
  computed by the caller;
- ``<cell>_step_forward(t, ...)`` / ``<cell>_step_backward(t, ...)`` do everything that depends
  on the previous step, with every gate fused; the simulator calls them one t at a time when a
  learner steps through time, and ``<cell>_forward`` / ``<cell>_backward`` call the very same
  functions in a Numba loop otherwise, so stepped and whole runs are bit-identical;
- after BPTT the weight gradients are BLAS products over all N*T rows of the per-step
  pre-activation gradients, never T small products.

The recurrent products are written in axpy order (out[n, :] += h[n, k] * W^T[k, :]): each
output element is independent, so LLVM vectorises them without reassociating a sum, which it
may not do without fast-math.

Per-step arrays (all (N, T, .)): ``pre`` the gate pre-activations, ``gates`` the activations,
``h_seq`` the hidden states, ``c_seq`` the LSTM cell states, ``hh`` the GRU's hidden-side
projection W_hh h + b_hh; after backward ``dh`` = dL/dh_t and ``dc`` = dL/dc_t (totals,
including what flows back from later steps), and ``dxw`` / ``dhh`` the gradients of the input-
and hidden-side pre-activations.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .activations import _sigmoid
from .dense import column_sums

TANH, RELU = 0, 1


@kernel
def _hidden_projection(t, h0, h_seq, w_hh_t, b_hh, out):
    # out[n, t, :] = b_hh + h_{t-1}[n] @ W_hh^T, with h_{-1} = h0; w_hh_t is W_hh^T (H, G)
    n_batch, hidden = h0.shape
    gates = w_hh_t.shape[1]
    for n in range(n_batch):
        for j in range(gates):
            out[n, t, j] = b_hh[j]
        for k in range(hidden):
            hk = h0[n, k] if t == 0 else h_seq[n, t - 1, k]
            for j in range(gates):
                out[n, t, j] += hk * w_hh_t[k, j]


@kernel
def _carry_back(t, dpre, w_hh, carry):
    # carry[n, :] += dpre[n, t, :] @ W_hh: the gradient reaching h_{t-1} through W_hh
    n_batch, hidden = carry.shape
    gates = w_hh.shape[0]
    for n in range(n_batch):
        for j in range(gates):
            d = dpre[n, t, j]
            for k in range(hidden):
                carry[n, k] += d * w_hh[j, k]


# ---------------------------------------------------------------- vanilla RNN


@kernel
def rnn_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    # h_t = f(xw_t + b_hh + h_{t-1} W_hh^T), f = tanh or relu
    _hidden_projection(t, h0, h_seq, w_hh_t, b_hh, pre)
    n_batch, hidden = h0.shape
    zero = xw.dtype.type(0)
    for n in range(n_batch):
        for j in range(hidden):
            v = pre[n, t, j] + xw[n, t, j]
            pre[n, t, j] = v
            if nonlinearity == TANH:
                h_seq[n, t, j] = np.tanh(v)
            else:
                h_seq[n, t, j] = zero if v <= zero else v


@kernel
def rnn_step_backward(t, dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre):
    # carry holds dL/dh_t from step t+1 on entry and dL/dh_{t-1} from this step on exit
    n_batch, hidden = carry.shape
    one = h_seq.dtype.type(1)
    zero = h_seq.dtype.type(0)
    for n in range(n_batch):
        for j in range(hidden):
            total = dh_seq[n, t, j] + carry[n, j]
            dh[n, t, j] = total
            h = h_seq[n, t, j]
            if nonlinearity == TANH:
                dpre[n, t, j] = total * (one - h * h)
            else:
                dpre[n, t, j] = total if h > zero else zero
            carry[n, j] = zero
    _carry_back(t, dpre, w_hh, carry)


@kernel
def rnn_forward(xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    for t in range(xw.shape[1]):
        rnn_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq)


@kernel
def rnn_backward(dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        rnn_step_backward(t, dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre)


# ---------------------------------------------------------------- LSTM (gates i, f, g, o)


@kernel
def lstm_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    # i, f, o = sigmoid; g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t)
    _hidden_projection(t, h0, h_seq, w_hh_t, b_hh, pre)
    n_batch, hidden = h0.shape
    one = xw.dtype.type(1)
    for n in range(n_batch):
        for j in range(4 * hidden):
            pre[n, t, j] += xw[n, t, j]
        for j in range(hidden):
            i = _sigmoid(pre[n, t, j], one)
            f = _sigmoid(pre[n, t, hidden + j], one)
            g = np.tanh(pre[n, t, 2 * hidden + j])
            o = _sigmoid(pre[n, t, 3 * hidden + j], one)
            gates[n, t, j] = i
            gates[n, t, hidden + j] = f
            gates[n, t, 2 * hidden + j] = g
            gates[n, t, 3 * hidden + j] = o
            c_prev = c0[n, j] if t == 0 else c_seq[n, t - 1, j]
            c = f * c_prev + i * g
            c_seq[n, t, j] = c
            h_seq[n, t, j] = o * np.tanh(c)


@kernel
def lstm_step_backward(t, dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre):
    # carry_h / carry_c: dL/dh_t, dL/dc_t from step t+1 on entry; for t-1 on exit
    n_batch, hidden = carry_h.shape
    one = c_seq.dtype.type(1)
    zero = c_seq.dtype.type(0)
    for n in range(n_batch):
        for j in range(hidden):
            i = gates[n, t, j]
            f = gates[n, t, hidden + j]
            g = gates[n, t, 2 * hidden + j]
            o = gates[n, t, 3 * hidden + j]
            tanh_c = np.tanh(c_seq[n, t, j])
            d_h = dh_seq[n, t, j] + carry_h[n, j]
            d_c = carry_c[n, j] + d_h * o * (one - tanh_c * tanh_c)
            dh[n, t, j] = d_h
            dc[n, t, j] = d_c
            c_prev = c0[n, j] if t == 0 else c_seq[n, t - 1, j]
            dpre[n, t, j] = d_c * g * i * (one - i)
            dpre[n, t, hidden + j] = d_c * c_prev * f * (one - f)
            dpre[n, t, 2 * hidden + j] = d_c * i * (one - g * g)
            dpre[n, t, 3 * hidden + j] = d_h * tanh_c * o * (one - o)
            carry_c[n, j] = d_c * f
            carry_h[n, j] = zero
    _carry_back(t, dpre, w_hh, carry_h)


@kernel
def lstm_forward(xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    for t in range(xw.shape[1]):
        lstm_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq)


@kernel
def lstm_backward(dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre):
    for t in range(c_seq.shape[1] - 1, -1, -1):
        lstm_step_backward(t, dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre)


# ---------------------------------------------------------------- GRU (gates r, z, n)


@kernel
def gru_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    # r, z = sigmoid(xw + hh); n = tanh(xw_n + r * hh_n); h_t = (1 - z) n + z h_{t-1}
    _hidden_projection(t, h0, h_seq, w_hh_t, b_hh, hh)
    n_batch, hidden = h0.shape
    one = xw.dtype.type(1)
    for n in range(n_batch):
        for j in range(hidden):
            pr = xw[n, t, j] + hh[n, t, j]
            pz = xw[n, t, hidden + j] + hh[n, t, hidden + j]
            r = _sigmoid(pr, one)
            z = _sigmoid(pz, one)
            pn = xw[n, t, 2 * hidden + j] + r * hh[n, t, 2 * hidden + j]
            cand = np.tanh(pn)
            pre[n, t, j] = pr
            pre[n, t, hidden + j] = pz
            pre[n, t, 2 * hidden + j] = pn
            gates[n, t, j] = r
            gates[n, t, hidden + j] = z
            gates[n, t, 2 * hidden + j] = cand
            h_prev = h0[n, j] if t == 0 else h_seq[n, t - 1, j]
            h_seq[n, t, j] = (one - z) * cand + z * h_prev


@kernel
def gru_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh):
    n_batch, hidden = carry.shape
    one = h_seq.dtype.type(1)
    for n in range(n_batch):
        for j in range(hidden):
            r = gates[n, t, j]
            z = gates[n, t, hidden + j]
            cand = gates[n, t, 2 * hidden + j]
            h_prev = h0[n, j] if t == 0 else h_seq[n, t - 1, j]
            d_h = dh_seq[n, t, j] + carry[n, j]
            dh[n, t, j] = d_h
            d_n = d_h * (one - z) * (one - cand * cand)
            d_z = d_h * (h_prev - cand) * z * (one - z)
            d_r = d_n * hh[n, t, 2 * hidden + j] * r * (one - r)
            dxw[n, t, j] = d_r
            dxw[n, t, hidden + j] = d_z
            dxw[n, t, 2 * hidden + j] = d_n
            dhh[n, t, j] = d_r
            dhh[n, t, hidden + j] = d_z
            dhh[n, t, 2 * hidden + j] = d_n * r
            carry[n, j] = d_h * z
    _carry_back(t, dhh, w_hh, carry)


@kernel
def gru_forward(xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    for t in range(xw.shape[1]):
        gru_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq)


@kernel
def gru_backward(dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        gru_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh)


# ---------------------------------------------------------------- shared BLAS parts


def input_projection(x: np.ndarray, w_ih: np.ndarray, b_ih: np.ndarray) -> np.ndarray:
    """xw (N, T, G) = x (N, T, I) @ W_ih^T + b_ih: all time steps in one product."""
    n, steps, inputs = x.shape
    xw = np.matmul(x.reshape(n * steps, inputs), w_ih.T)  # (N*T, G)
    xw += b_ih
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
    dx = np.matmul(dxw2, w_ih).reshape(n, steps, inputs)
    dw_ih = np.matmul(dxw2.T, x.reshape(n * steps, inputs))
    dw_hh = np.matmul(dhh2.T, h_prev.reshape(n * steps, hidden))
    db_ih = np.empty(gates, dtype=x.dtype)
    db_hh = np.empty(gates, dtype=x.dtype)
    column_sums(dxw2, db_ih)
    column_sums(dhh2, db_hh)
    return dx, dw_ih, dw_hh, db_ih, db_hh
