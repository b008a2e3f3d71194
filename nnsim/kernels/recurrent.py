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
from .activations import _sigmoid, tanh
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
    rnn_cell_forward(t, xw, nonlinearity, pre, h_seq)


@kernel
def rnn_cell_forward(t, xw, nonlinearity, pre, h_seq):
    # the step after its hidden projection, which pre[:, t] holds on entry
    n_batch, hidden = h_seq.shape[0], h_seq.shape[2]
    zero = xw.dtype.type(0)
    for n in range(n_batch):
        for j in range(hidden):
            v = pre[n, t, j] + xw[n, t, j]
            pre[n, t, j] = v
            if nonlinearity == TANH:
                h_seq[n, t, j] = tanh(v)
            else:
                h_seq[n, t, j] = zero if v <= zero else v


@kernel
def rnn_step_backward(t, dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre):
    # carry holds dL/dh_t from step t+1 on entry and dL/dh_{t-1} from this step on exit
    rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre)
    _carry_back(t, dpre, w_hh, carry)


@kernel
def rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre):
    # the step before the carry through W_hh: leaves carry zeroed for it
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
    _lstm_cell_forward(t, xw, c0, pre, gates, h_seq, c_seq)


@kernel
def _lstm_cell_forward(t, xw, c0, pre, gates, h_seq, c_seq):
    # the step after its hidden projection, which pre[:, t] holds on entry
    n_batch, hidden = c0.shape
    one = xw.dtype.type(1)
    for n in range(n_batch):
        for j in range(4 * hidden):
            pre[n, t, j] += xw[n, t, j]
        for j in range(hidden):
            i = _sigmoid(pre[n, t, j], one)
            f = _sigmoid(pre[n, t, hidden + j], one)
            g = tanh(pre[n, t, 2 * hidden + j])
            o = _sigmoid(pre[n, t, 3 * hidden + j], one)
            gates[n, t, j] = i
            gates[n, t, hidden + j] = f
            gates[n, t, 2 * hidden + j] = g
            gates[n, t, 3 * hidden + j] = o
            c_prev = c0[n, j] if t == 0 else c_seq[n, t - 1, j]
            c = f * c_prev + i * g
            c_seq[n, t, j] = c
            h_seq[n, t, j] = o * tanh(c)


@kernel
def lstm_step_backward(t, dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre):
    # carry_h / carry_c: dL/dh_t, dL/dc_t from step t+1 on entry; for t-1 on exit
    _lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre)
    _carry_back(t, dpre, w_hh, carry_h)


@kernel
def _lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre):
    # the step before the carry through W_hh: leaves carry_h zeroed for it
    n_batch, hidden = carry_h.shape
    one = c_seq.dtype.type(1)
    zero = c_seq.dtype.type(0)
    for n in range(n_batch):
        for j in range(hidden):
            i = gates[n, t, j]
            f = gates[n, t, hidden + j]
            g = gates[n, t, 2 * hidden + j]
            o = gates[n, t, 3 * hidden + j]
            tanh_c = tanh(c_seq[n, t, j])
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
    gru_cell_forward(t, xw, h0, hh, pre, gates, h_seq)


@kernel
def gru_cell_forward(t, xw, h0, hh, pre, gates, h_seq):
    # the step after its hidden projection, which hh[:, t] holds on entry
    n_batch, hidden = h0.shape
    one = xw.dtype.type(1)
    for n in range(n_batch):
        for j in range(hidden):
            pr = xw[n, t, j] + hh[n, t, j]
            pz = xw[n, t, hidden + j] + hh[n, t, hidden + j]
            r = _sigmoid(pr, one)
            z = _sigmoid(pz, one)
            pn = xw[n, t, 2 * hidden + j] + r * hh[n, t, 2 * hidden + j]
            cand = tanh(pn)
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
    gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh)
    _carry_back(t, dhh, w_hh, carry)


@kernel
def gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh):
    # the step before the carry through W_hh: leaves carry = dL/dh_t z for it to add to
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


# ---------------------------------------------------------------- steps with BLAS products

#: from this many multiply-adds per step product (batch x hidden x gates) on, each step's
#: hidden projection and carry are BLAS products called from Python around the cell kernels;
#: below it the Numba loops win, Python's per-step call costs being larger than the product
#: (measured: LSTM at batch 16, hidden 128: 27 ms per forward + BPTT in Numba loops, 14-18 ms
#: so; RNN 8.6 -> 3.3-5.1 ms, GRU 24.5 -> 9.8 ms)
BLAS_STEP_MACS = 200_000


def blas_steps(n_batch: int, hidden: int, gates: int) -> bool:
    """Whether a sequence of this size steps with BLAS products (the choice depends on the
    shapes alone, so a stepped pass and a whole one always make the same)."""
    return n_batch * hidden * gates >= BLAS_STEP_MACS


def _project(t, h0, h_seq, w_hh_t, b_hh, out):
    # out[:, t] = h_{t-1} @ W_hh^T + b_hh, strided views straight into BLAS
    h_prev = h0 if t == 0 else h_seq[:, t - 1]  # (N, H)
    target = out[:, t]  # (N, G)
    np.matmul(h_prev, w_hh_t, out=target)
    target += b_hh


def blas_step_forward(kind: str, t: int, args: tuple) -> None:
    """Step t of the forward pass, with the arguments of ``<kind>_step_forward``."""
    if kind == "rnn":
        xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq = args
        _project(t, h0, h_seq, w_hh_t, b_hh, pre)
        rnn_cell_forward(t, xw, nonlinearity, pre, h_seq)
    elif kind == "lstm":
        xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq = args
        _project(t, h0, h_seq, w_hh_t, b_hh, pre)
        _lstm_cell_forward_simd(t, xw, c0, pre, gates, h_seq, c_seq)
    else:
        xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq = args
        _project(t, h0, h_seq, w_hh_t, b_hh, hh)
        gru_cell_forward(t, xw, h0, hh, pre, gates, h_seq)


def blas_step_backward(kind: str, t: int, args: tuple) -> None:
    """Step t of BPTT, with the arguments of ``<kind>_step_backward``."""
    if kind == "rnn":
        dh_seq, h_seq, w_hh, nonlinearity, carry, dh, dpre = args
        rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre)
        np.matmul(dpre[:, t], w_hh, out=carry)  # carry was zeroed: dL/dh_{t-1}
    elif kind == "lstm":
        dh_seq, gates, c0, c_seq, w_hh, carry_h, carry_c, dh, dc, dpre = args
        _lstm_cell_backward_simd(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre)
        np.matmul(dpre[:, t], w_hh, out=carry_h)
    else:
        dh_seq, h0, h_seq, gates, hh, w_hh, carry, dh, dxw, dhh = args
        gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh)
        carry += np.matmul(dhh[:, t], w_hh)  # on top of the direct path dL/dh_t z


# The LSTM cell has five exp/tanh per unit, and Numba calls libm's scalar versions (LLVM
# vectorises them only with Intel's SVML, which nnsim does not depend on): at batch 16, hidden
# 128 the Numba cell took 240 us per step. NumPy's exp and tanh are SIMD (AVX2/AVX-512), so
# for the large sizes that step with BLAS the cell is NumPy array operations on the step's
# (N, .) slices: measured 20-30 us per step. Same formulas; the sigmoid is 1 / (1 + exp(-v)),
# whose exp overflows to inf (and the sigmoid to 0) below v = -88 in float32, warnings off.


def _lstm_cell_forward_simd(t, xw, c0, pre, gates, h_seq, c_seq):
    hidden = c0.shape[1]
    p, g = pre[:, t], gates[:, t]  # (N, 4H) views
    p += xw[:, t]
    with np.errstate(over="ignore"):
        np.negative(p, out=g)
        np.exp(g, out=g)
    g += 1
    np.reciprocal(g, out=g)  # sigmoid of every gate; g's block is overwritten next
    i, f, cand, o = (g[:, k * hidden : (k + 1) * hidden] for k in range(4))
    np.tanh(p[:, 2 * hidden : 3 * hidden], out=cand)
    c_prev = c0 if t == 0 else c_seq[:, t - 1]  # (N, H)
    c, h = c_seq[:, t], h_seq[:, t]
    np.multiply(f, c_prev, out=c)
    c += i * cand
    np.tanh(c, out=h)
    h *= o


def _lstm_cell_backward_simd(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre):
    hidden = c0.shape[1]
    g = gates[:, t]
    i, f, cand, o = (g[:, k * hidden : (k + 1) * hidden] for k in range(4))
    tanh_c = np.tanh(c_seq[:, t])  # (N, H)
    d_h, d_c = dh[:, t], dc[:, t]
    np.add(dh_seq[:, t], carry_h, out=d_h)
    np.multiply(tanh_c, tanh_c, out=carry_h)  # carry_h as scratch; it is overwritten after
    np.subtract(1, carry_h, out=carry_h)
    carry_h *= o
    carry_h *= d_h
    np.add(carry_c, carry_h, out=d_c)
    c_prev = c0 if t == 0 else c_seq[:, t - 1]
    d = dpre[:, t]
    d_i, d_f, d_g, d_o = (d[:, k * hidden : (k + 1) * hidden] for k in range(4))
    np.multiply(d_c, cand, out=d_i)
    d_i *= i * (1 - i)
    np.multiply(d_c, c_prev, out=d_f)
    d_f *= f * (1 - f)
    np.multiply(d_c, i, out=d_g)
    d_g *= 1 - cand * cand
    np.multiply(d_h, tanh_c, out=d_o)
    d_o *= o * (1 - o)
    np.multiply(d_c, f, out=carry_c)
