"""2-D convolution (cross-correlation, like torch.nn.functional.conv2d) by im2col and BLAS.

Layout: ``cols`` is (N, C*KH*KW, OH*OW) with rows ordered (channel, ki, kj), so the rows of
one group are one contiguous block and the forward pass is one matrix product per group:
y[n, group] = W[group] (Fg, Cg*KH*KW) @ cols[n, group rows] (Cg*KH*KW, OH*OW).

im2col and col2im are Numba; the products are BLAS through ``np.matmul``, the strategy the
issue's probe and our benchmark found fastest at LeNet and VGG sizes. Every reduction over the
batch (dW, db) is a serial Numba sum in a fixed order, so results are bit-identical run to run.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def _valid_range(base, step, size, count):
    # The outputs o in [0, count) whose input index base + o * step lies in [0, size).
    lo = 0
    if base < 0:
        lo = min((-base + step - 1) // step, count)
    hi = count
    last = base + (count - 1) * step
    if last >= size:
        hi = (size - 1 - base) // step + 1 if size - 1 - base >= 0 else 0
    if hi < lo:
        hi = lo
    return lo, hi


@kernel
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):
    # x (N, C, H, W) -> cols (N, C*KH*KW, OH*OW); zero padding.
    n, channels, height, width = x.shape
    zero = x.dtype.type(0)
    for i in range(n):
        for c in range(channels):
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    w_base = kj * dw - pw
                    w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                    for oh in range(out_h):
                        ih = oh * sh - ph + ki * dh
                        start = oh * out_w
                        if ih < 0 or ih >= height:
                            for ow in range(out_w):
                                cols[i, row, start + ow] = zero
                            continue
                        for ow in range(w_lo):
                            cols[i, row, start + ow] = zero
                        if sw == 1:
                            offset = w_base
                            for ow in range(w_lo, w_hi):
                                cols[i, row, start + ow] = x[i, c, ih, ow + offset]
                        else:
                            for ow in range(w_lo, w_hi):
                                cols[i, row, start + ow] = x[i, c, ih, ow * sw + w_base]
                        for ow in range(w_hi, out_w):
                            cols[i, row, start + ow] = zero


@kernel
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, dx):
    # cols (N, C*KH*KW, OH*OW) -> dx (N, C, H, W), which must be zeroed; the adjoint of im2col.
    n, channels, height, width = dx.shape
    for i in range(n):
        for c in range(channels):
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    w_base = kj * dw - pw
                    w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                    for oh in range(out_h):
                        ih = oh * sh - ph + ki * dh
                        if ih < 0 or ih >= height:
                            continue
                        start = oh * out_w
                        if sw == 1:
                            for ow in range(w_lo, w_hi):
                                dx[i, c, ih, ow + w_base] += cols[i, row, start + ow]
                        else:
                            for ow in range(w_lo, w_hi):
                                dx[i, c, ih, ow * sw + w_base] += cols[i, row, start + ow]


@kernel
def add_channel_bias(y, b):
    # y (N, F, P) += b (F,)
    n, filters, positions = y.shape
    for i in range(n):
        for f in range(filters):
            bias = b[f]
            for p in range(positions):
                y[i, f, p] += bias


@kernel
def channel_sums(dy, out):
    # dy (N, F, P) -> out (F,), summed in a fixed order
    n, filters, positions = dy.shape
    for f in range(filters):
        total = dy.dtype.type(0)
        for i in range(n):
            for p in range(positions):
                total += dy[i, f, p]
        out[f] = total


@kernel
def batch_sum(per_example, out):
    # per_example (N, A, B) -> out (A, B), summed over N in order
    n, rows, cols = per_example.shape
    for r in range(rows):
        for c in range(cols):
            out[r, c] = per_example[0, r, c]
    for i in range(1, n):
        for r in range(rows):
            for c in range(cols):
                out[r, c] += per_example[i, r, c]


def output_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """floor((size + 2 pad - dilation (k - 1) - 1) / stride) + 1, as in PyTorch."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


def _columns(x, kh, kw, stride, padding, dilation, out_h, out_w):
    n, channels, height, width = x.shape
    if (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0):
        return x.reshape(n, channels, height * width)  # a 1x1 convolution needs no copy
    cols = np.empty((n, channels * kh * kw, out_h * out_w), dtype=x.dtype)
    im2col(x, kh, kw, *stride, *padding, *dilation, out_h, out_w, cols)
    return cols


def conv2d_forward(x, W, b, stride, padding, dilation, groups):
    n = x.shape[0]
    filters, per_group, kh, kw = W.shape
    out_h = output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    out_w = output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    cols = _columns(x, kh, kw, stride, padding, dilation, out_h, out_w)  # (N, C*KH*KW, P)
    y = np.empty((n, filters, out_h * out_w), dtype=x.dtype)  # (N, F, P)
    f_g, k_g = filters // groups, per_group * kh * kw
    for g in range(groups):
        w_g = W[g * f_g : (g + 1) * f_g].reshape(f_g, k_g)
        np.matmul(w_g, cols[:, g * k_g : (g + 1) * k_g], out=y[:, g * f_g : (g + 1) * f_g])
    if b is not None:
        add_channel_bias(y, b)
    return y.reshape(n, filters, out_h, out_w)


def conv2d_backward(dy, x, W, stride, padding, dilation, groups):
    n, channels, height, width = x.shape
    filters, per_group, kh, kw = W.shape
    out_h, out_w = dy.shape[2], dy.shape[3]
    cols = _columns(x, kh, kw, stride, padding, dilation, out_h, out_w)  # (N, C*KH*KW, P)
    dy3 = dy.reshape(n, filters, out_h * out_w)  # (N, F, P)
    f_g, k_g = filters // groups, per_group * kh * kw

    db = np.empty(filters, dtype=dy.dtype)
    channel_sums(dy3, db)

    dW = np.empty((filters, k_g), dtype=dy.dtype)  # (F, Cg*KH*KW)
    dcols = np.empty((n, channels * kh * kw, out_h * out_w), dtype=dy.dtype)
    for g in range(groups):
        dy_g = dy3[:, g * f_g : (g + 1) * f_g]  # (N, Fg, P)
        cols_g = cols[:, g * k_g : (g + 1) * k_g]  # (N, Kg, P)
        per_example = np.matmul(dy_g, cols_g.transpose(0, 2, 1))  # (N, Fg, Kg)
        batch_sum(per_example, dW[g * f_g : (g + 1) * f_g])
        w_g = W[g * f_g : (g + 1) * f_g].reshape(f_g, k_g)
        np.matmul(w_g.T, dy_g, out=dcols[:, g * k_g : (g + 1) * k_g])  # (N, Kg, P)

    if (kh, kw) == (1, 1) and stride == (1, 1) and padding == (0, 0):
        dx = dcols.reshape(n, channels, height, width)
    else:
        dx = np.zeros((n, channels, height, width), dtype=dy.dtype)
        col2im(dcols, kh, kw, *stride, *padding, *dilation, out_h, out_w, dx)
    return dx, dW.reshape(W.shape), db
