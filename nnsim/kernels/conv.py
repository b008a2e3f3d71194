"""2-D convolution (cross-correlation, like torch.nn.functional.conv2d) by im2col and BLAS.

Layout: ``cols`` is (C*KH*KW, N*OH*OW): rows ordered (channel, ki, kj), columns (example,
position). The rows of one group are one contiguous block, and each pass is a single large
matrix product per group over the whole batch, which BLAS runs far better than N small ones:
y[group] (Fg, N*P) = W[group] (Fg, Cg*KH*KW) @ cols[group rows] (Cg*KH*KW, N*P).

im2col and col2im are Numba; the products are BLAS through ``np.matmul``, the strategy the
issue's probe and our benchmark found fastest at LeNet and VGG sizes, except for small
problems, where loop kernels beat the calls' overhead (``SMALL_PRODUCT_MACS``). BLAS splits a
product by output blocks, never along the reduction, so results are bit-identical run to run.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import kernel
from .scratch import scratch


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
    # x (N, C, H, W) -> cols (C*KH*KW, N*OH*OW); zero padding. Flat unsigned offsets: a
    # signed index makes Numba emit a negative-index wraparound test on every element, which
    # stops vectorisation (twice as slow at LeNet and VGG sizes).
    n, channels, height, width = x.shape
    flat_x, flat_cols = x.reshape(-1), cols.reshape(-1)  # views
    zero = x.dtype.type(0)
    positions = out_h * out_w
    row_length = n * positions
    for c in range(channels):
        for ki in range(kh):
            for kj in range(kw):
                row = (c * kh + ki) * kw + kj
                w_base = kj * dw - pw
                w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                for i in range(n):
                    plane = (i * channels + c) * height
                    for oh in range(out_h):
                        dst = np.uintp(row * row_length + i * positions + oh * out_w)
                        ih = oh * sh - ph + ki * dh
                        if ih < 0 or ih >= height:
                            for ow in range(out_w):
                                flat_cols[dst + np.uintp(ow)] = zero
                            continue
                        for ow in range(w_lo):
                            flat_cols[dst + np.uintp(ow)] = zero
                        src = (plane + ih) * width + w_base
                        if sw == 1:
                            first = np.uintp(src + w_lo)
                            out = dst + np.uintp(w_lo)
                            for t in range(w_hi - w_lo):
                                flat_cols[out + np.uintp(t)] = flat_x[first + np.uintp(t)]
                        else:
                            for ow in range(w_lo, w_hi):
                                flat_cols[dst + np.uintp(ow)] = flat_x[np.uintp(src + ow * sw)]
                        for ow in range(w_hi, out_w):
                            flat_cols[dst + np.uintp(ow)] = zero


@kernel
def unfold_rows(x, kw, sw, pw, dw, ph, out_w, u):
    # x (N, C, H, W) -> u (C, KW, N, H + 2 ph, OW) with u[c, kj, i, hp, ow] =
    # x[i, c, hp - ph, ow * sw + kj * dw - pw], zero outside: every input row shifted for each
    # kernel column, so that im2col_unfolded copies whole (OH, OW) blocks (flat unsigned
    # offsets, as im2col). Its row copy is im2col's, written out twice on purpose: as a shared
    # helper (register_jitable, even inline="always") both kernels ran 1.1-9x slower.
    n, channels, height, width = x.shape
    padded = height + 2 * ph
    flat_x, flat_u = x.reshape(-1), u.reshape(-1)  # views
    zero = x.dtype.type(0)
    for c in range(channels):
        for kj in range(kw):
            base = kj * dw - pw
            lo, hi = _valid_range(base, sw, width, out_w)
            for i in range(n):
                block = ((c * kw + kj) * n + i) * padded * out_w
                for hp in range(padded):
                    dst = np.uintp(block + hp * out_w)
                    h = hp - ph
                    if h < 0 or h >= height:
                        for t in range(out_w):
                            flat_u[dst + np.uintp(t)] = zero
                        continue
                    for t in range(lo):
                        flat_u[dst + np.uintp(t)] = zero
                    src = ((i * channels + c) * height + h) * width + base
                    if sw == 1:
                        first = np.uintp(src + lo)
                        out = dst + np.uintp(lo)
                        for t in range(hi - lo):
                            flat_u[out + np.uintp(t)] = flat_x[first + np.uintp(t)]
                    else:
                        for t in range(lo, hi):
                            flat_u[dst + np.uintp(t)] = flat_x[np.uintp(src + t * sw)]
                    for t in range(hi, out_w):
                        flat_u[dst + np.uintp(t)] = zero


@kernel
def im2col_unfolded(u, kh, out_h, out_w, cols):
    # cols[(c, ki, kj), (i, oh, ow)] = u[c, kj, i, oh + ki, ow]: im2col for vertical stride
    # and dilation 1, one contiguous (OH * OW) block per row and example
    channels, kw, n, padded = u.shape[:4]
    positions = out_h * out_w
    row_length = n * positions
    flat_u, flat_cols = u.reshape(-1), cols.reshape(-1)  # views
    for c in range(channels):
        for ki in range(kh):
            for kj in range(kw):
                row = np.uintp(((c * kh + ki) * kw + kj) * row_length)
                for i in range(n):
                    src = np.uintp(((c * kw + kj) * n + i) * padded * out_w + ki * out_w)
                    dst = row + np.uintp(i * positions)
                    for t in range(positions):
                        flat_cols[dst + np.uintp(t)] = flat_u[src + np.uintp(t)]


@kernel
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, dx):
    # cols (C*KH*KW, N*OH*OW) -> dx (N, C, H, W), which must be zeroed; the adjoint of im2col,
    # with im2col's unsigned flat offsets. One row of cols at a time, read front to back
    # (example-outermost order read 150 rows in turn at the second LeNet layer: 1.0 against
    # 0.64 ms). Each dx element still receives its terms in (ki, kj) order.
    n, channels, height, width = dx.shape
    flat_cols, flat_dx = cols.reshape(-1), dx.reshape(-1)  # views
    positions = out_h * out_w
    row_length = n * positions
    for c in range(channels):
        for ki in range(kh):
            for kj in range(kw):
                row = (c * kh + ki) * kw + kj
                w_base = kj * dw - pw
                w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                for i in range(n):
                    plane = (i * channels + c) * height
                    for oh in range(out_h):
                        ih = oh * sh - ph + ki * dh
                        if ih < 0 or ih >= height:
                            continue
                        src = np.uintp(row * row_length + i * positions + oh * out_w)
                        dst = (plane + ih) * width + w_base
                        if sw == 1:
                            first = np.uintp(dst + w_lo)
                            start = src + np.uintp(w_lo)
                            for t in range(w_hi - w_lo):
                                flat_dx[first + np.uintp(t)] += flat_cols[start + np.uintp(t)]
                        else:
                            for ow in range(w_lo, w_hi):
                                flat_dx[np.uintp(dst + ow * sw)] += flat_cols[src + np.uintp(ow)]


@kernel
def batch_major(y2, b, y):
    # y2 (F, N*P) -> y (N, F, P), adding the bias b (F,) on the way
    n, filters, positions = y.shape
    for i in range(n):
        for f in range(filters):
            bias = b[f]
            for p in range(positions):
                y[i, f, p] = y2[f, i * positions + p] + bias


@kernel
def filter_major(dy, dy2, db):
    # dy (N, F, P) -> dy2 (F, N*P), and db (F,) summed in a fixed order
    n, filters, positions = dy.shape
    for f in range(filters):
        total = dy.dtype.type(0)
        for i in range(n):
            for p in range(positions):
                v = dy[i, f, p]
                dy2[f, i * positions + p] = v
                total += v
        db[f] = total


@kernel
def small_products_forward(w2, cols, b, groups, y):
    # y (N, F, P) = b + W[group] @ cols[group rows], for problems too small for BLAS calls to
    # pay off: one loop nest instead of a product per group plus a transpose
    n, filters, positions = y.shape
    f_g, k_g = filters // groups, w2.shape[1]
    for i in range(n):
        for f in range(filters):
            first_row = (f // f_g) * k_g
            for p in range(positions):
                total = b[f]
                for k in range(k_g):
                    total += w2[f, k] * cols[first_row + k, i * positions + p]
                y[i, f, p] = total


@kernel
def small_products_backward(dy, cols, w2, groups, need_dx, dW, db, dcols):
    # db (F,), dW (F, Cg*KH*KW) and, if need_dx, dcols (like cols) from dy (N, F, P)
    n, filters, positions = dy.shape
    f_g, k_g = filters // groups, w2.shape[1]
    zero = dy.dtype.type(0)
    for f in range(filters):
        first_row = (f // f_g) * k_g
        total = zero
        for i in range(n):
            for p in range(positions):
                total += dy[i, f, p]
        db[f] = total
        for k in range(k_g):
            acc = zero
            for i in range(n):
                for p in range(positions):
                    acc += dy[i, f, p] * cols[first_row + k, i * positions + p]
            dW[f, k] = acc
    if not need_dx:
        return
    for g in range(groups):
        for k in range(k_g):
            row = g * k_g + k
            for i in range(n):
                for p in range(positions):
                    acc = zero
                    for f in range(g * f_g, (g + 1) * f_g):
                        acc += w2[f, k] * dy[i, f, p]
                    dcols[row, i * positions + p] = acc


#: below this many multiply-adds in a pass's products, the loop kernels above beat BLAS calls (a 6x6
#: lesson input is 30 to 50 us of call overhead otherwise); tests set it to 0 and to a huge
#: value to run both paths
SMALL_PRODUCT_MACS = 20_000


def output_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """floor((size + 2 pad - dilation (k - 1) - 1) / stride) + 1, as in PyTorch."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


#: im2col goes through the row-shifted copy ``unfold_rows`` when the convolution has vertical
#: stride and dilation 1 and that copy stays this small (in cache for the second stage):
#: output rows are then copied as whole (OH, OW) blocks instead of OW values at a time.
#: Measured: 0.96 -> 0.54 ms at the second LeNet layer, 0.73 -> 0.53 at the first; at the
#: small VGG size (a 13 MB copy, rows of 32) the one-stage im2col stays faster.
UNFOLD_MAX_BYTES = 4 * 2**20


def _columns(x, kh, kw, stride, padding, dilation, out_h, out_w, keep=False):
    # keep: the caller returns the matrix, so it must not be a scratch buffer
    n, channels, height = x.shape[:3]
    shape = (channels * kh * kw, n * out_h * out_w)  # (C*KH*KW, N*P)
    cols = np.empty(shape, dtype=x.dtype) if keep else scratch("columns", shape, x.dtype)
    unfolded = (channels, kw, n, height + 2 * padding[0], out_w)  # (C, KW, N, Hp, OW)
    if stride[0] == 1 and dilation[0] == 1 and math.prod(unfolded) * x.itemsize <= UNFOLD_MAX_BYTES:
        u = scratch("unfolded rows", unfolded, x.dtype)
        unfold_rows(x, kw, stride[1], padding[1], dilation[1], padding[0], out_w, u)
        im2col_unfolded(u, kh, out_h, out_w, cols)
    else:
        im2col(x, kh, kw, *stride, *padding, *dilation, out_h, out_w, cols)
    return cols


def conv2d_forward(x, W, b, stride, padding, dilation, groups, keep_columns=False):
    n = x.shape[0]
    filters, per_group, kh, kw = W.shape
    out_h = output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    out_w = output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    cols = _columns(x, kh, kw, stride, padding, dilation, out_h, out_w, keep_columns)
    f_g, k_g = filters // groups, per_group * kh * kw
    w2 = W.reshape(filters, k_g)
    bias = np.zeros(filters, dtype=x.dtype) if b is None else b
    y = np.empty((n, filters, out_h * out_w), dtype=x.dtype)  # (N, F, P)
    if w2.size * cols.shape[1] <= SMALL_PRODUCT_MACS:
        small_products_forward(w2, cols, bias, groups, y)
    else:
        y2 = scratch("filter_major", (filters, cols.shape[1]), x.dtype)  # (F, N*P)
        for g in range(groups):
            np.matmul(
                w2[g * f_g : (g + 1) * f_g],
                cols[g * k_g : (g + 1) * k_g],
                out=y2[g * f_g : (g + 1) * f_g],
            )
        batch_major(y2, bias, y)
    y = y.reshape(n, filters, out_h, out_w)
    return (y, cols) if keep_columns else y


def conv2d_backward(dy, x, W, stride, padding, dilation, groups, cols=None, need_dx=True):
    # cols: the forward pass's im2col matrix, if it was kept; need_dx=False skips the input
    # gradient (a model's first layer), which is the col2im half of the work
    n = x.shape[0]
    filters, per_group, kh, kw = W.shape
    out_h, out_w = dy.shape[2], dy.shape[3]
    if cols is None:
        cols = _columns(x, kh, kw, stride, padding, dilation, out_h, out_w)  # (C*KH*KW, N*P)
    dy3 = dy.reshape(n, filters, out_h * out_w)  # (N, F, P)
    w2 = W.reshape(filters, per_group * kh * kw)  # (F, Cg*KH*KW)
    if w2.size * cols.shape[1] <= SMALL_PRODUCT_MACS:
        dW, db, dcols = _loop_products_backward(dy3, cols, w2, groups, need_dx)
    else:
        dW, db, dcols = _blas_products_backward(dy3, cols, w2, groups, need_dx)
    if not need_dx:
        return None, dW.reshape(W.shape), db
    dx = np.zeros(x.shape, dtype=dy.dtype)
    col2im(dcols, kh, kw, *stride, *padding, *dilation, out_h, out_w, dx)
    return dx, dW.reshape(W.shape), db


def _loop_products_backward(dy3, cols, w2, groups, need_dx):
    # (dW, db, dcols or None) by the loop kernel
    dW = np.empty(w2.shape, dtype=dy3.dtype)  # (F, Cg*KH*KW)
    db = np.empty(w2.shape[0], dtype=dy3.dtype)
    # without need_dx the kernel never writes dcols; cols stands in for its type
    dcols = np.empty(cols.shape, dtype=dy3.dtype) if need_dx else cols
    small_products_backward(dy3, cols, w2, groups, need_dx, dW, db, dcols)
    return dW, db, dcols if need_dx else None


def _blas_products_backward(dy3, cols, w2, groups, need_dx):
    # (dW, db, dcols or None): one product per group and gradient over the whole batch
    filters, k_g = w2.shape
    f_g = filters // groups
    dy2 = scratch("filter_major", (filters, cols.shape[1]), dy3.dtype)  # (F, N*P)
    db = np.empty(filters, dtype=dy3.dtype)
    filter_major(dy3, dy2, db)
    dW = np.empty((filters, k_g), dtype=dy3.dtype)  # (F, Cg*KH*KW)
    dcols = scratch("column_grads", cols.shape, dy3.dtype) if need_dx else None  # like cols
    for g in range(groups):
        rows, outs = slice(g * k_g, (g + 1) * k_g), slice(g * f_g, (g + 1) * f_g)
        # dW^T = cols dy2^T: BLAS runs this orientation faster for our skinny shapes
        # (measured 0.38 against 0.63 ms at the second LeNet layer)
        dW[outs] = np.matmul(cols[rows], dy2[outs].T).T  # (Fg, Cg*KH*KW)
        if need_dx:
            np.matmul(w2[outs].T, dy2[outs], out=dcols[rows])
    return dW, db, dcols
