"""The recurrent cells (RNN, LSTM, GRU) as Numba kernels: per cell and direction, one fused
step kernel, the cell alone after its hidden projection (which the BLAS-step path of
``nnsim.kernels.recurrent`` computes itself), and a sequence kernel that loops over time
calling the step kernel. Import them from ``nnsim.kernels.recurrent``, which re-exports them.

Both recurrent products read W_hh^T (H, G), which the caller transposes once per pass. Forward,
in axpy order (out[n, :] += h[n, k] * W^T[k, :]): each output element is independent, so LLVM
vectorises the long rows without reassociating a sum. Backward, as dot products along W^T's
rows (dL/dh_{t-1}[n, k] = W^T[k, :] . dpre[n, t, :]), whose sums LLVM may split into SIMD lanes
(``_jit.product_block``): in axpy order over W_hh's rows the output row was only H long, and
entering its loop for every four rows cost more than the product (4.2 against 2.7 us a step at
H = 128, Zen 3). The order of the additions is fixed by the compiled code and the shapes, so
stepped and whole passes give the same bits.

Per-step arrays (all (N, T, .)): ``pre`` the gate pre-activations, ``gates`` the activations,
``h_seq`` the hidden states, ``c_seq`` the LSTM cell states, ``hh`` the GRU's hidden-side
projection W_hh h + b_hh; after backward ``dh`` = dL/dh_t and ``dc`` = dL/dc_t (totals,
including what flows back from later steps), and ``dxw`` / ``dhh`` the gradients of the input-
and hidden-side pre-activations.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

from ._jit import kernel, product_block
from .vmath import vsigmoid, vtanh

TANH, RELU = 0, 1


@register_jitable
def _add_product(out, v, w):
    # out (M,) += v (K,) @ w (K, M), four rows of w at a time: out is read and written once per
    # four rows instead of once per row, which halved the cost at H = 128 (the loop streams
    # W from L2 and was bound by out's loads and stores). Exact additions in a fixed order
    blocked = v.size - v.size % 4
    for k in range(0, blocked, 4):
        v0, v1, v2, v3 = v[k], v[k + 1], v[k + 2], v[k + 3]
        w0, w1, w2, w3 = w[k], w[k + 1], w[k + 2], w[k + 3]  # (M,) each
        for j in range(out.size):
            out[j] += (v0 * w0[j] + v1 * w1[j]) + (v2 * w2[j] + v3 * w3[j])
    for k in range(blocked, v.size):
        vk, wk = v[k], w[k]
        for j in range(out.size):
            out[j] += vk * wk[j]


@kernel
def _hidden_projection(t, h0, h_seq, w_hh_t, out):
    # out[n, t, :] = h_{t-1}[n] @ W_hh^T, with h_{-1} = h0; w_hh_t is W_hh^T (H, G)
    zero = out.dtype.type(0)
    for n in range(h0.shape[0]):
        row = out[n, t]  # (G,)
        row[:] = zero
        _add_product(row, h0[n] if t == 0 else h_seq[n, t - 1], w_hh_t)


@product_block
def _add_row_dots(out, w, v):
    # out (M,) += w (M, K) @ v (K,): four rows of w at a time, sharing each load of v
    rows = out.size
    zero = out.dtype.type(0)
    for j in range(0, rows - rows % 4, 4):
        w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]  # (K,) each
        s0 = s1 = s2 = s3 = zero
        for k in range(v.size):
            vk = v[k]
            s0 += w0[k] * vk
            s1 += w1[k] * vk
            s2 += w2[k] * vk
            s3 += w3[k] * vk
        out[j] += s0
        out[j + 1] += s1
        out[j + 2] += s2
        out[j + 3] += s3
    for j in range(rows - rows % 4, rows):
        total = zero
        for k in range(v.size):
            total += w[j, k] * v[k]
        out[j] += total


@kernel
def _carry_back(t, dpre, w_hh_t, carry):
    # carry[n, :] += dpre[n, t, :] @ W_hh = W_hh^T (H, G) @ dpre[n, t, :]: the gradient
    # reaching h_{t-1}
    for n in range(carry.shape[0]):
        _add_row_dots(carry[n], w_hh_t, dpre[n, t])


# The cells work on one batch row at a time, as 1-D views, in short loops that each write one or
# two arrays: LLVM vectorises a loop only after proving at run time that its arrays do not
# overlap, and gives up when a loop touches too many of them (one fused LSTM loop over eight
# arrays ran scalar, 5x slower). The results do not depend on how the loops are split.

# ---------------------------------------------------------------- vanilla RNN


@kernel
def rnn_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    # h_t = f(xw_t + b_hh + h_{t-1} W_hh^T), f = tanh or relu
    _hidden_projection(t, h0, h_seq, w_hh_t, pre)
    rnn_cell_forward(t, xw, nonlinearity, _no_projection(xw), b_hh, pre, h_seq)


@kernel
def _no_projection(xw):
    # the cells' proj argument when pre[:, t] (hh[:, t] for the GRU) already holds the hidden
    # projection
    return np.empty((0, 0), dtype=xw.dtype)


@register_jitable
def _pre_activation(n, proj, b_hh, x, p):
    # p = (W_hh h_{t-1} + b_hh) + x for batch row n: W_hh h_{t-1} from proj (N, G), the step's
    # product computed by BLAS, or (proj empty) from p itself, which holds it
    # two loops, not one over ``proj[n] if proj.size else p``: LLVM vectorises a loop only after
    # checking at run time that what it writes does not overlap what it reads, and p over p
    # failed that check and ran scalar (0.3 of a 1.0 us LSTM cell step at H = 128, Zen 3)
    if proj.size:
        w_h = proj[n]  # (G,)
        for j in range(p.size):
            p[j] = (w_h[j] + b_hh[j]) + x[j]
    else:
        for j in range(p.size):
            p[j] = (p[j] + b_hh[j]) + x[j]


@kernel
def rnn_cell_forward(t, xw, nonlinearity, proj, b_hh, pre, h_seq):
    # the step after its hidden projection (see _pre_activation)
    zero = xw.dtype.type(0)
    for n in range(h_seq.shape[0]):
        p, x, h = pre[n, t], xw[n, t], h_seq[n, t]  # (H,) each
        _pre_activation(n, proj, b_hh, x, p)
        if nonlinearity == TANH:
            for j in range(p.size):
                h[j] = vtanh(p[j])
        else:
            for j in range(p.size):
                h[j] = zero if p[j] <= zero else p[j]


@kernel
def rnn_step_backward(t, dh_seq, h_seq, w_hh_t, nonlinearity, carry, dh, dpre):
    # carry holds dL/dh_t from step t+1 on entry and dL/dh_{t-1} from this step on exit
    rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre)
    _carry_back(t, dpre, w_hh_t, carry)


@kernel
def rnn_cell_backward(t, dh_seq, h_seq, nonlinearity, carry, dh, dpre):
    # the step before the carry through W_hh: leaves carry zeroed for it
    one = h_seq.dtype.type(1)
    zero = h_seq.dtype.type(0)
    for n in range(carry.shape[0]):
        d_h, h, d = dh[n, t], h_seq[n, t], dpre[n, t]  # (H,) each
        _add(dh_seq[n, t], carry[n], d_h)
        if nonlinearity == TANH:
            for j in range(d.size):
                d[j] = d_h[j] * (one - h[j] * h[j])
        else:
            for j in range(d.size):
                d[j] = d_h[j] if h[j] > zero else zero
        carry[n, :] = zero


@kernel
def _add(a, b, out):
    for j in range(out.size):
        out[j] = a[j] + b[j]


@kernel
def rnn_forward(xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq):
    for t in range(xw.shape[1]):
        rnn_step_forward(t, xw, h0, w_hh_t, b_hh, nonlinearity, pre, h_seq)


@kernel
def rnn_backward(dh_seq, h_seq, w_hh_t, nonlinearity, carry, dh, dpre):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        rnn_step_backward(t, dh_seq, h_seq, w_hh_t, nonlinearity, carry, dh, dpre)


# ---------------------------------------------------------------- LSTM (gates i, f, g, o)


@kernel
def lstm_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    # i, f, o = sigmoid; g = tanh; c_t = f c_{t-1} + i g; h_t = o tanh(c_t)
    _hidden_projection(t, h0, h_seq, w_hh_t, pre)
    lstm_cell_forward(t, xw, c0, _no_projection(xw), b_hh, pre, gates, h_seq, c_seq)


@register_jitable
def _lstm_blocks(row, hidden):
    # a (4H,) row as its gates' (H,) views i, f, g, o: loops over a view from 0 ran 2x faster
    # than loops over the row from k * H (LLVM vectorised the offset loops poorly)
    return row[:hidden], row[hidden : 2 * hidden], row[2 * hidden : 3 * hidden], row[3 * hidden :]


@kernel
def lstm_cell_forward(t, xw, c0, proj, b_hh, pre, gates, h_seq, c_seq):
    # the step after its hidden projection (see _pre_activation)
    for n in range(c0.shape[0]):
        p = pre[n, t]  # (4H,)
        c_prev = c0[n] if t == 0 else c_seq[n, t - 1]  # (H,)
        _pre_activation(n, proj, b_hh, xw[n, t], p)
        _lstm_row_forward(p, gates[n, t], c_prev, c_seq[n, t], h_seq[n, t])


# The LSTM cell's loops over one batch row are functions of their own, called from the loop over
# the batch: written inside that loop, LLVM compiled the same loops slower (the forward cell 1.08
# against 0.96 us a step at H = 128, Zen 3). Same operations, same bits.


@register_jitable
def _lstm_row_forward(p, g, c_prev, c, h):
    # p, g (4H,): pre-activations in, gate activations out; c_prev, c, h (H,)
    hidden = c.size
    p_g, p_o = p[2 * hidden : 3 * hidden], p[3 * hidden :]  # (H,) each
    i, f, cand, o = _lstm_blocks(g, hidden)  # (H,) each
    for j in range(2 * hidden):  # i, f
        g[j] = vsigmoid(p[j])
    for j in range(hidden):
        cand[j] = vtanh(p_g[j])
    for j in range(hidden):
        o[j] = vsigmoid(p_o[j])
    for j in range(hidden):
        c[j] = f[j] * c_prev[j] + i[j] * cand[j]
    for j in range(hidden):
        h[j] = o[j] * vtanh(c[j])


@kernel
def lstm_step_backward(t, dh_seq, gates, c0, c_seq, w_hh_t, carry_h, carry_c, dh, dc, dpre):
    # carry_h / carry_c: dL/dh_t, dL/dc_t from step t+1 on entry; for t-1 on exit
    lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre)
    _carry_back(t, dpre, w_hh_t, carry_h)


@kernel
def lstm_cell_backward(t, dh_seq, gates, c0, c_seq, carry_h, carry_c, dh, dc, dpre):
    # the step before the carry through W_hh: leaves carry_h zeroed for it
    zero = c_seq.dtype.type(0)
    for n in range(c0.shape[0]):
        d_h = dh[n, t]  # (H,)
        c_prev = c0[n] if t == 0 else c_seq[n, t - 1]  # (H,)
        _add(dh_seq[n, t], carry_h[n], d_h)
        _lstm_row_backward(gates[n, t], c_prev, c_seq[n, t], d_h, carry_c[n], dc[n, t], dpre[n, t])
        carry_h[n, :] = zero


@register_jitable
def _lstm_row_backward(g, c_prev, c, d_h, carry, d_c, d):
    # g, d (4H,): gate activations in, pre-activation gradients out; carry (H,): dL/dc_t from
    # step t+1 in, dL/dc_{t-1} out; c_prev, c, d_h, d_c (H,)
    hidden = c.size
    one = c.dtype.type(1)
    i, f, cand, o = _lstm_blocks(g, hidden)  # (H,) each
    d_i, d_f, d_g, d_o = _lstm_blocks(d, hidden)  # (H,) each
    for j in range(hidden):  # tanh(c_t) waits in d_o's slot
        d_o[j] = vtanh(c[j])
    for j in range(hidden):
        d_c[j] = carry[j] + d_h[j] * o[j] * (one - d_o[j] * d_o[j])
    for j in range(hidden):
        d_o[j] = d_h[j] * d_o[j] * o[j] * (one - o[j])
    for j in range(hidden):
        d_i[j] = d_c[j] * cand[j] * i[j] * (one - i[j])
    for j in range(hidden):
        d_f[j] = d_c[j] * c_prev[j] * f[j] * (one - f[j])
    for j in range(hidden):
        d_g[j] = d_c[j] * i[j] * (one - cand[j] * cand[j])
    for j in range(hidden):
        carry[j] = d_c[j] * f[j]


@kernel
def lstm_forward(xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq):
    for t in range(xw.shape[1]):
        lstm_step_forward(t, xw, h0, c0, w_hh_t, b_hh, pre, gates, h_seq, c_seq)


@kernel
def lstm_backward(dh_seq, gates, c0, c_seq, w_hh_t, carry_h, carry_c, dh, dc, dpre):
    for t in range(c_seq.shape[1] - 1, -1, -1):
        lstm_step_backward(t, dh_seq, gates, c0, c_seq, w_hh_t, carry_h, carry_c, dh, dc, dpre)


# ---------------------------------------------------------------- GRU (gates r, z, n)


@kernel
def gru_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    # r, z = sigmoid(xw + hh); n = tanh(xw_n + r * hh_n); h_t = (1 - z) n + z h_{t-1}
    _hidden_projection(t, h0, h_seq, w_hh_t, hh)
    gru_cell_forward(t, xw, h0, _no_projection(xw), b_hh, hh, pre, gates, h_seq)


@register_jitable
def _gru_blocks(row, hidden):
    # a (3H,) row as its gates' (H,) views r, z, n (see _lstm_blocks)
    return row[:hidden], row[hidden : 2 * hidden], row[2 * hidden :]


@kernel
def gru_cell_forward(t, xw, h0, proj, b_hh, hh, pre, gates, h_seq):
    # the step after its hidden projection W_hh h_{t-1}, which hh[:, t] holds on entry unless
    # proj (N, G), computed by BLAS, brings it; hh[:, t] leaves with b_hh added
    hidden = h0.shape[1]
    one = xw.dtype.type(1)
    for n in range(h0.shape[0]):
        x, u, p, g = xw[n, t], hh[n, t], pre[n, t], gates[n, t]  # (3H,) each
        if proj.size:  # two loops, as in _pre_activation
            w_h = proj[n]  # (3H,)
            for j in range(u.size):
                u[j] = w_h[j] + b_hh[j]
        else:
            for j in range(u.size):
                u[j] = u[j] + b_hh[j]
        h_prev = h0[n] if t == 0 else h_seq[n, t - 1]  # (H,)
        h = h_seq[n, t]
        r, z, cand = _gru_blocks(g, hidden)  # (H,) each
        x_n, u_n, p_n = x[2 * hidden :], u[2 * hidden :], p[2 * hidden :]  # (H,) each
        for j in range(2 * hidden):  # r, z
            p[j] = x[j] + u[j]
        for j in range(2 * hidden):
            g[j] = vsigmoid(p[j])
        for j in range(hidden):  # n
            p_n[j] = x_n[j] + r[j] * u_n[j]
        for j in range(hidden):
            cand[j] = vtanh(p_n[j])
        for j in range(hidden):
            h[j] = (one - z[j]) * cand[j] + z[j] * h_prev[j]


@kernel
def gru_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh_t, carry, dh, dxw, dhh):
    gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh)
    _carry_back(t, dhh, w_hh_t, carry)


@kernel
def gru_cell_backward(t, dh_seq, h0, h_seq, gates, hh, carry, dh, dxw, dhh):
    # the step before the carry through W_hh: leaves carry = dL/dh_t z for it to add to
    hidden = h0.shape[1]
    one = h_seq.dtype.type(1)
    for n in range(h0.shape[0]):
        u, dx, du = hh[n, t], dxw[n, t], dhh[n, t]  # (3H,) each
        r, z, cand = _gru_blocks(gates[n, t], hidden)  # (H,) each
        d_r, d_z, d_n = _gru_blocks(dx, hidden)  # (H,) each
        u_n, du_n = u[2 * hidden :], du[2 * hidden :]  # (H,) each
        h_prev = h0[n] if t == 0 else h_seq[n, t - 1]  # (H,)
        d_h, to_prev = dh[n, t], carry[n]  # (H,) each
        _add(dh_seq[n, t], to_prev, d_h)
        for j in range(hidden):
            d_n[j] = d_h[j] * (one - z[j]) * (one - cand[j] * cand[j])
        for j in range(hidden):
            d_z[j] = d_h[j] * (h_prev[j] - cand[j]) * z[j] * (one - z[j])
        for j in range(hidden):
            d_r[j] = d_n[j] * u_n[j] * r[j] * (one - r[j])
        for j in range(2 * hidden):
            du[j] = dx[j]
        for j in range(hidden):
            du_n[j] = d_n[j] * r[j]
        for j in range(hidden):
            to_prev[j] = d_h[j] * z[j]


@kernel
def gru_forward(xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq):
    for t in range(xw.shape[1]):
        gru_step_forward(t, xw, h0, w_hh_t, b_hh, hh, pre, gates, h_seq)


@kernel
def gru_backward(dh_seq, h0, h_seq, gates, hh, w_hh_t, carry, dh, dxw, dhh):
    for t in range(h_seq.shape[1] - 1, -1, -1):
        gru_step_backward(t, dh_seq, h0, h_seq, gates, hh, w_hh_t, carry, dh, dxw, dhh)
