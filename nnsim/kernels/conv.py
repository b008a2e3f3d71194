"""2-D convolution (cross-correlation, like torch.nn.functional.conv2d) by im2col and BLAS.

Layout: ``cols`` is (N, C*KH*KW, OH*OW): for each example, rows ordered (channel, ki, kj),
columns the output positions. Each example's block, and the rows of one group within it, are
contiguous, and every product reads and writes the arrays in their own layouts:
y[i, group] (Fg, P) = W[group] (Fg, Cg*KH*KW) @ cols[i, group rows] (Cg*KH*KW, P), one BLAS
call per example that NumPy's stacked ``matmul`` makes in C. An earlier layout,
(C*KH*KW, N*P) with one product over the whole batch, needed a transposing copy of y and of dy
on every pass and read rows far apart; the small VGG benchmark went from 66 to 54 ms.

im2col and col2im are Numba (``nnsim.kernels.im2col``); the products are BLAS through
``np.matmul``, the strategy the issue's probe and our benchmark found fastest at LeNet and VGG
sizes, except for small problems, where loop kernels beat the calls' overhead
(``SMALL_PRODUCT_MACS``), and where ``nnsim.kernels.products`` takes them because the BLAS runs
narrower vectors than the processor has. There the forward pass and the column gradients are
stacked products over the examples, and the weight gradient sums dy_i cols_i^T example by
example as dot products along the positions (measured on Zen 5 with OpenBLAS pinned to AVX2:
small VGG 36 -> 28 ms, LeNet-2 1.28 -> 1.15 ms, the first LeNet layer's weight gradient 560 ->
175 us). Either way a product is split by output blocks, never along the reduction, so results
are bit-identical run to run.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import kernel, reduction
from .im2col import col2im, col2im_unfolded, im2col, im2col_unfolded
from .products import matmul, matmul_stacked, matmul_summed_nt
from .scratch import recycled, scratch


@kernel
def add_bias(y, b):
    # y (N, F, P) += b (F,), in place
    n, filters, positions = y.shape
    for i in range(n):
        for f in range(filters):
            bias = b[f]
            for p in range(positions):
                y[i, f, p] += bias


@reduction
def bias_gradient(dy, db):
    # db (F,) = dy (N, F, P) summed over examples and positions; a reduction (SIMD lanes): a
    # serial chain of additions took 1.9 ms of the small VGG benchmark's backward pass
    n, filters, positions = dy.shape
    for f in range(filters):
        db[f] = dy.dtype.type(0)
    for i in range(n):
        for f in range(filters):
            total = dy.dtype.type(0)
            for p in range(positions):
                total += dy[i, f, p]
            db[f] += total


@kernel
def small_products_forward(w2, cols, b, groups, y):
    # y (N, F, P) = b + W[group] @ cols[i, group rows], for problems too small for BLAS calls
    # to pay off: one loop nest instead of a product per group
    n, filters, positions = y.shape
    f_g, k_g = filters // groups, w2.shape[1]
    for i in range(n):
        for f in range(filters):
            first_row = (f // f_g) * k_g
            for p in range(positions):
                total = b[f]
                for k in range(k_g):
                    total += w2[f, k] * cols[i, first_row + k, p]
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
                    acc += dy[i, f, p] * cols[i, first_row + k, p]
            dW[f, k] = acc
    if not need_dx:
        return
    for i in range(n):
        for g in range(groups):
            for k in range(k_g):
                row = g * k_g + k
                for p in range(positions):
                    acc = zero
                    for f in range(g * f_g, (g + 1) * f_g):
                        acc += w2[f, k] * dy[i, f, p]
                    dcols[i, row, p] = acc


#: below this many multiply-adds in a pass's products, the loop kernels above beat BLAS calls (a 6x6
#: lesson input is 30 to 50 us of call overhead otherwise); tests set it to 0 and to a huge
#: value to run both paths
SMALL_PRODUCT_MACS = 20_000


#: dW's products read dy transposed, (P, F) per example; up to this many output positions a
#: contiguous copy of it pays: at the second LeNet layer (P = 100) the products took 0.28 ms
#: from the copy (made in 0.04) against 0.47 from the strided view; at P = 1024 the copy costs
#: more than it saves
TRANSPOSED_DY_MAX_POSITIONS = 256


def output_size(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """floor((size + 2 pad - dilation (k - 1) - 1) / stride) + 1, as in PyTorch."""
    return (size + 2 * pad - dilation * (k - 1) - 1) // stride + 1


#: im2col and col2im go through the row-shifted copy of ``im2col_unfolded`` when the
#: convolution has vertical stride and dilation 1 and one example's copy stays this small
#: (within the core's own cache for the second stage): rows are then copied as whole (OH, OW)
#: blocks instead of OW values at a time. Measured: im2col 0.40 -> 0.19 ms and col2im 0.31 ->
#: 0.19 at the second LeNet layer (a 17 KB copy), im2col 0.35 -> 0.26 at the padded first one
#: (23 KB); with the small VGG benchmark's 418 KB copy the one-stage kernels are faster (2.3
#: against 2.9 ms).
UNFOLD_MAX_BYTES = 256 * 2**10


#: from this many bytes of one example's column matrix on, a pass goes example by example
#: (im2col then its products; the input gradient's products then col2im), each example's block
#: still in cache for the next stage: 18.4 -> 17.8 ms forward and 18.4 -> 17.0 ms for dx at the
#: small VGG benchmark (1.2 MB per example). Smaller blocks: one stacked product, fewer calls.
INTERLEAVE_MIN_BYTES = 512 * 2**10


def _columns(x, kh, kw, stride, padding, dilation, out_h, out_w, keep=False):
    # keep: the caller returns the matrix, so it must not be a scratch buffer
    shape = (x.shape[0], x.shape[1] * kh * kw, out_h * out_w)  # (N, C*KH*KW, P)
    cols = recycled("kept columns", shape, x.dtype) if keep else scratch("columns", shape, x.dtype)
    u = _unfolded_rows(x, kw, stride, padding, dilation, out_w)
    _fill_columns(x, kh, kw, stride, padding, dilation, out_h, out_w, u, cols)
    return cols


def _fill_columns(x, kh, kw, stride, padding, dilation, out_h, out_w, u, cols):
    if u is None:
        im2col(x, kh, kw, *stride, *padding, *dilation, out_h, out_w, cols)
    else:
        im2col_unfolded(x, kh, kw, stride[1], *padding, dilation[1], out_h, out_w, u, cols)


def _add_back_columns(dcols, kh, kw, stride, padding, dilation, out_h, out_w, u, dx):
    if u is None:
        col2im(dcols, kh, kw, *stride, *padding, *dilation, out_h, out_w, dx)
    else:
        col2im_unfolded(dcols, kh, kw, stride[1], *padding, dilation[1], out_h, out_w, u, dx)


def _unfolded_rows(x, kw, stride, padding, dilation, out_w):
    # the scratch buffer of the two-stage im2col and col2im, or None where they do not apply
    unfolded = (x.shape[1], kw, x.shape[2] + 2 * padding[0], out_w)  # (C, KW, Hp, OW)
    if stride[0] != 1 or dilation[0] != 1 or math.prod(unfolded) * x.itemsize > UNFOLD_MAX_BYTES:
        return None
    return scratch("unfolded rows", unfolded, x.dtype)


def conv2d_forward(x, W, b, stride, padding, dilation, groups, keep_columns=False):
    n, channels = x.shape[:2]
    filters, per_group, kh, kw = W.shape
    out_h = output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    out_w = output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    f_g, k_g = filters // groups, per_group * kh * kw
    w2 = W.reshape(filters, k_g)
    y = np.empty((n, filters, out_h * out_w), dtype=x.dtype)  # (N, F, P)
    geometry = (kh, kw, stride, padding, dilation, out_h, out_w)
    if w2.size * n * out_h * out_w <= SMALL_PRODUCT_MACS:
        cols = _columns(x, *geometry, keep_columns)
        bias = np.zeros(filters, dtype=x.dtype) if b is None else b
        small_products_forward(w2, cols, bias, groups, y)
    elif channels * kh * kw * out_h * out_w * x.itemsize < INTERLEAVE_MIN_BYTES:
        # one BLAS product per example and group, straight into the output's layout (NumPy
        # loops over the stack in C): each example's (Cg*KH*KW, P) block is contiguous, where
        # one product over a (C*KH*KW, N*P) matrix read rows 128 KB apart at VGG size and
        # needed a transposing copy after it (20.6 + 0.7 against 16.5 ms)
        cols = _columns(x, *geometry, keep_columns)
        for g in range(groups):
            outs, rows = slice(g * f_g, (g + 1) * f_g), slice(g * k_g, (g + 1) * k_g)
            if not matmul_stacked(w2[outs], cols[:, rows], y[:, outs]):
                np.matmul(w2[outs], cols[:, rows], out=y[:, outs])
    else:
        shape = (n, channels * kh * kw, out_h * out_w)
        cols = recycled("kept columns", shape, x.dtype) if keep_columns else None
        cols = scratch("columns", shape, x.dtype) if cols is None else cols
        u = _unfolded_rows(x, kw, stride, padding, dilation, out_w)
        for i in range(n):
            _fill_columns(x[i : i + 1], *geometry, u, cols[i : i + 1])
            for g in range(groups):
                outs, rows = slice(g * f_g, (g + 1) * f_g), slice(g * k_g, (g + 1) * k_g)
                matmul(w2[outs], cols[i, rows], out=y[i, outs])
    if b is not None and w2.size * n * out_h * out_w > SMALL_PRODUCT_MACS:
        add_bias(y, b)
    y = y.reshape(n, filters, out_h, out_w)
    return (y, cols) if keep_columns else y


def conv2d_backward(dy, x, W, stride, padding, dilation, groups, cols=None, need_dx=True):
    # cols: the forward pass's im2col matrix, if it was kept; need_dx=False skips the input
    # gradient (a model's first layer), which is the col2im half of the work
    n = x.shape[0]
    filters, per_group, kh, kw = W.shape
    out_h, out_w = dy.shape[2], dy.shape[3]
    geometry = (kh, kw, stride, padding, dilation, out_h, out_w)
    if cols is None:
        cols = _columns(x, *geometry)  # (N, C*KH*KW, P)
    dy3 = dy.reshape(n, filters, out_h * out_w)  # (N, F, P)
    w2 = W.reshape(filters, per_group * kh * kw)  # (F, Cg*KH*KW)
    interleave = cols[0].nbytes >= INTERLEAVE_MIN_BYTES
    if w2.size * n * cols.shape[2] <= SMALL_PRODUCT_MACS:
        dW, db, dcols = _loop_products_backward(dy3, cols, w2, groups, need_dx)
        interleave = False
    else:
        dW, db, dcols = _matrix_products_backward(dy3, cols, w2, groups, need_dx and not interleave)
    if not need_dx:
        return None, dW.reshape(W.shape), db
    dx = np.zeros(x.shape, dtype=dy.dtype)
    u = _unfolded_rows(x, kw, stride, padding, dilation, out_w)
    if not interleave:
        _add_back_columns(dcols, *geometry, u, dx)
        return dx, dW.reshape(W.shape), db
    one = scratch("column_grads", (1, *cols.shape[1:]), dy.dtype)
    f_g, k_g = filters // groups, w2.shape[1]
    for i in range(n):
        for g in range(groups):
            outs, rows = slice(g * f_g, (g + 1) * f_g), slice(g * k_g, (g + 1) * k_g)
            matmul(w2[outs].T, dy3[i, outs], out=one[0, rows])
        _add_back_columns(one, *geometry, u, dx[i : i + 1])
    return dx, dW.reshape(W.shape), db


def _loop_products_backward(dy3, cols, w2, groups, need_dx):
    # (dW, db, dcols or None) by the loop kernel
    dW = np.empty(w2.shape, dtype=dy3.dtype)  # (F, Cg*KH*KW)
    db = np.empty(w2.shape[0], dtype=dy3.dtype)
    # without need_dx the kernel never writes dcols; cols stands in for its type
    dcols = np.empty(cols.shape, dtype=dy3.dtype) if need_dx else cols
    small_products_backward(dy3, cols, w2, groups, need_dx, dW, db, dcols)
    return dW, db, dcols if need_dx else None


def _matrix_products_backward(dy3, cols, w2, groups, need_dx):
    # (dW, db, dcols or None): by nnsim's products where they apply, else per example and
    # group, BLAS reading dy (N, F, P) as it is
    n = dy3.shape[0]
    filters, k_g = w2.shape
    f_g = filters // groups
    db = np.empty(filters, dtype=dy3.dtype)
    bias_gradient(dy3, db)
    dW = np.empty((filters, k_g), dtype=dy3.dtype)  # (F, Cg*KH*KW)
    dcols = scratch("column_grads", cols.shape, dy3.dtype) if need_dx else None  # like cols
    if _own_products_backward(dy3, cols, w2, groups, dW, dcols):
        return dW, db, dcols
    per_example = scratch("weight_grads", (n, k_g, f_g), dy3.dtype)
    dy_t = dy3.transpose(0, 2, 1)  # (N, P, F)
    if dy3.shape[2] <= TRANSPOSED_DY_MAX_POSITIONS:
        contiguous = scratch("dy transposed", dy_t.shape, dy3.dtype)
        np.copyto(contiguous, dy_t)
        dy_t = contiguous
    for g in range(groups):
        rows, outs = slice(g * k_g, (g + 1) * k_g), slice(g * f_g, (g + 1) * f_g)
        # dW^T = sum over examples of cols_i dy_i^T: BLAS runs this orientation faster for
        # our skinny shapes (measured 0.38 against 0.63 ms at the second LeNet layer); the
        # examples' terms are added in order
        np.matmul(cols[:, rows], dy_t[:, :, outs], out=per_example)
        dW[outs] = per_example.sum(axis=0).T  # (Fg, Cg*KH*KW)
        if need_dx:
            np.matmul(w2[outs].T, dy3[:, outs], out=dcols[:, rows])
    return dW, db, dcols


def _own_products_backward(dy3, cols, w2, groups, dW, dcols) -> bool:
    # dW and dcols by nnsim's product kernels, where they take them (nnsim.kernels.products);
    # False if they do not, and the caller's BLAS products compute (and overwrite) both
    filters, k_g = w2.shape
    f_g = filters // groups
    for g in range(groups):
        rows, outs = slice(g * k_g, (g + 1) * k_g), slice(g * f_g, (g + 1) * f_g)
        # dW[group] (Fg, Cg*KH*KW) = sum over examples of dy_i (Fg, P) cols_i^T (P, Cg*KH*KW)
        if not matmul_summed_nt(dy3[:, outs], cols[:, rows], dW[outs]):
            return False
        if dcols is not None and not matmul_stacked(w2[outs].T, dy3[:, outs], dcols[:, rows]):
            return False
    return True
