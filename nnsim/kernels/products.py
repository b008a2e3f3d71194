"""Matrix products for the dense, recurrent and convolution layers: BLAS, or nnsim's own Numba
kernels where the BLAS runs narrower vector instructions than the processor has.

Why: NumPy's OpenBLAS picks its kernels when it loads, by the processor or by
``OPENBLAS_CORETYPE``. Where it runs its AVX2 kernels on a processor with AVX-512 (an
environment that pins ``OPENBLAS_CORETYPE=Haswell``, or a processor newer than the OpenBLAS),
LLVM, compiling for the host, gives Numba loops twice the vector width. Measured on a 2-vCPU
EPYC Turin (Zen 5) VM with ``OPENBLAS_CORETYPE=Haswell``, one thread, float32, microseconds:

    product                            OpenBLAS   these kernels
    x (64, 784) @ W (128, 784)^T          140          ~80     (an MLP layer, forward)
    dy (64, 128)^T @ x (64, 784)          107          62-79   (its weight gradient)
    h (16, 128) @ W_hh (512, 128)^T       23.5         14-16   (an LSTM step at batch 16)
    dpre (16, 512) @ W_hh (512, 128)      23.6         12-15   (its step back)

With OpenBLAS's AVX-512 kernels (SkylakeX) the two are within 10 % of each other at these
sizes and BLAS pulls ahead on large ones, so there BLAS stays.

The choice (``product_choice``) is made once per process from the machine and the
environment, never from timings, so a run is bit-identical to any other on the same machine
with the same settings. ``NNSIM_PRODUCTS``: ``auto`` (default) as above, ``blas`` or ``numba``
to force one. Whatever the vector widths, ``product_nn`` also takes products of at most
:data:`FEW_ROWS` rows where the BLAS is OpenBLAS (see there), unless ``NNSIM_PRODUCTS=blas``.

Blocking: sixteen running sums (4 x 4) in vector registers; ``product_nt`` takes the right
operand in blocks of rows of at most :data:`BLOCK_BYTES`, which stay in the core's L2 cache
while every row of the left one passes. ``product_nn`` runs along whole rows: blocking its
columns made it slower at every size measured (64 x 288 @ 288 x 1024 included).

Arithmetic: each output element is one dot product whose additions LLVM may split into SIMD
lanes and fuse with the multiplications (``_jit.product``: no ``nnan``/``ninf``, so NaN and
inf propagate as in BLAS). The result differs from BLAS's by
rounding only, as two BLAS libraries differ.
"""

from __future__ import annotations

import numpy as np

from ._jit import FLOAT_DTYPES, product, product_block, product_helper
from .product_choice import describe, use_own_few_row_products, use_own_products
from .transpose import transposed

__all__ = [
    "describe",
    "matmul",
    "matmul_stacked",
    "matmul_summed_nt",
    "product_nn",
    "product_nn_takes",
    "product_nn_stacked",
    "product_nt",
    "product_nt_summed",
    "use_own_few_row_products",
    "use_own_products",
]

#: the most of the right operand (bytes) one pass over the left one uses: half the smallest
#: per-core L2 cache of the processors this is chosen on (1 MB on Zen 4 and 5, 1.25-2 MB on
#: Intel's with AVX-512), so that it is not evicted by what streams past it
BLOCK_BYTES = 512 * 1024

#: the fewest multiply-adds a product must have for these kernels to take it: below, NumPy's
#: call is shorter than Numba's dispatch and this module's checks (measured: 50 x 32 @ 32 x 32
#: 2.0 us in BLAS, 2.4-3.4 here; the two meet near 64 x 64 @ 64 x 64)
OWN_MIN_MACS = 2**18

#: the fewest output columns ``product_nn`` takes: its inner loop runs along a row of the output,
#: and a shorter one spends more on entering the loop than on the work (measured on an LSTM's
#: weight gradients: (800, 512) @ (512, 16) 201 us here, 128 in BLAS)
ROW_MIN_COLUMNS = 64

#: at most this many rows on the left, a product whose right operand is C-contiguous goes to
#: ``product_nn`` wherever the BLAS is OpenBLAS, which first copies (packs) the right operand on
#: every call: with few rows the copy costs more than the product. Measured on Zen 3 (AVX2 both),
#: float32, us, OpenBLAS / product_nn, for M rows: K x N 128 x 512: M 4 19.1 / 8.3, 16 35.9 /
#: 30.0, 32 58.5 / 57.3; 512 x 128: 16 34.8 / 28.9; 784 x 128: 16 47.5 / 51.0 (the one loss)
FEW_ROWS = 16

#: the shortest dot product ``product_nt`` takes: below it the sixteen sums have too few terms
#: to fill their vector lanes (measured: x (800, 16) @ W (512, 16)^T took 338 us as dot
#: products, 130 in BLAS, 110 by ``product_nn`` after copying W^T)
DOT_MIN_K = 64


@product_helper
def _store_row(row, j, v0, v1, v2, v3):
    row[j], row[j + 1], row[j + 2], row[j + 3] = v0, v1, v2, v3


@product_helper
def _add_to_row(row, j, v0, v1, v2, v3):
    row[j] += v0
    row[j + 1] += v1
    row[j + 2] += v2
    row[j + 3] += v3


@product_block
def _dot_block(a, i, b, j, out, accumulate):
    # out[i:i+4, j:j+4] = (or += where accumulate) a[i:i+4] (4, K) @ b[j:j+4] (4, K)^T: sixteen
    # dot products whose running sums stay in vector registers
    zero = out.dtype.type(0)
    a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]  # (K,) each
    b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
    k_total = a.shape[1]
    s00 = s01 = s02 = s03 = zero
    s10 = s11 = s12 = s13 = zero
    s20 = s21 = s22 = s23 = zero
    s30 = s31 = s32 = s33 = zero
    for k in range(k_total):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        y0, y1, y2, y3 = b0[k], b1[k], b2[k], b3[k]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    if accumulate:
        _add_to_row(out[i], j, s00, s01, s02, s03)
        _add_to_row(out[i + 1], j, s10, s11, s12, s13)
        _add_to_row(out[i + 2], j, s20, s21, s22, s23)
        _add_to_row(out[i + 3], j, s30, s31, s32, s33)
    else:
        _store_row(out[i], j, s00, s01, s02, s03)
        _store_row(out[i + 1], j, s10, s11, s12, s13)
        _store_row(out[i + 2], j, s20, s21, s22, s23)
        _store_row(out[i + 3], j, s30, s31, s32, s33)


@product_helper
def _dot_products(a, b, out, block, accumulate):
    # out (M, N) = (or += where accumulate) a (M, K) @ b (N, K)^T, both read along K, ``block``
    # rows of b at a time (they stay in cache while every row of a passes): 4 x 4 blocks of dot
    # products whose sixteen running sums stay in vector registers, then the edge rows and
    # columns one by one
    m, k_total = a.shape
    n = b.shape[0]
    zero = out.dtype.type(0)
    m4 = m - m % 4
    for j_start in range(0, n, block):
        j_stop = min(n, j_start + block)
        j4 = j_stop - (j_stop - j_start) % 4
        for i in range(0, m4, 4):
            for j in range(j_start, j4, 4):
                _dot_block(a, i, b, j, out, accumulate)
        for i in range(m):
            first_j = j4 if i < m4 else j_start  # the blocks above covered j_start..j4
            for j in range(first_j, j_stop):
                total = zero
                for k in range(k_total):
                    total += a[i, k] * b[j, k]
                if accumulate:
                    out[i, j] += total
                else:
                    out[i, j] = total


@product
def product_nt(a, b, out, block):
    # out (M, N) = a (M, K) @ b (N, K)^T
    _dot_products(a, b, out, block, False)


@product
def product_nn(a, b, out):
    # out (M, N) = a (M, K) @ b (K, N), along N: four rows of out take four rows of b at a time
    # (sixteen multiply-adds per element loaded); a is read one number at a time, so any
    # layout of it (a transposed view, a time step's slice) costs nothing. The loops over N run
    # from 0: from a variable start Numba's negative-index check stays in them and they do not
    # vectorise (measured: 790 against 61-100 us for 64 x 128 @ 128 x 784)
    m, k_total = a.shape
    n = b.shape[1]
    k4 = k_total - k_total % 4
    for i in range(0, m - m % 4, 4):
        c0, c1, c2, c3 = out[i], out[i + 1], out[i + 2], out[i + 3]  # (N,) each
        for j in range(n):
            c0[j] = 0
            c1[j] = 0
            c2[j] = 0
            c3[j] = 0
        for k in range(0, k4, 4):
            b0, b1, b2, b3 = b[k], b[k + 1], b[k + 2], b[k + 3]
            x00, x01, x02, x03 = a[i, k], a[i, k + 1], a[i, k + 2], a[i, k + 3]
            x10, x11, x12, x13 = a[i + 1, k], a[i + 1, k + 1], a[i + 1, k + 2], a[i + 1, k + 3]
            x20, x21, x22, x23 = a[i + 2, k], a[i + 2, k + 1], a[i + 2, k + 2], a[i + 2, k + 3]
            x30, x31, x32, x33 = a[i + 3, k], a[i + 3, k + 1], a[i + 3, k + 2], a[i + 3, k + 3]
            for j in range(n):
                y0, y1, y2, y3 = b0[j], b1[j], b2[j], b3[j]
                c0[j] += x00 * y0 + x01 * y1 + x02 * y2 + x03 * y3
                c1[j] += x10 * y0 + x11 * y1 + x12 * y2 + x13 * y3
                c2[j] += x20 * y0 + x21 * y1 + x22 * y2 + x23 * y3
                c3[j] += x30 * y0 + x31 * y1 + x32 * y2 + x33 * y3
        for k in range(k4, k_total):
            bk = b[k]
            x0, x1, x2, x3 = a[i, k], a[i + 1, k], a[i + 2, k], a[i + 3, k]
            for j in range(n):
                y = bk[j]
                c0[j] += x0 * y
                c1[j] += x1 * y
                c2[j] += x2 * y
                c3[j] += x3 * y
    for i in range(m - m % 4, m):
        c = out[i]
        for j in range(n):
            c[j] = 0
        for k in range(k_total):
            x, bk = a[i, k], b[k]
            for j in range(n):
                c[j] += x * bk[j]


@product
def product_nn_stacked(a, b, out):
    # out[e] (M, N) = a (M, K) @ b[e] (K, N) for every example e of b (E, K, N), as np.matmul
    # broadcasts a: one call for a batch (a convolution's forward pass and column gradients)
    for e in range(b.shape[0]):
        product_nn(a, b[e], out[e])


@product
def product_nt_summed(a, b, out, block):
    # out (M, N) = sum over examples e of a[e] (M, K) @ b[e] (N, K)^T, added example by example
    # in order onto zeros: a convolution's weight gradient, dy[e] (F, P) against cols[e]
    # (C*KH*KW, P), dot products along the positions, which both read contiguously
    m, n = out.shape
    for i in range(m):
        for j in range(n):
            out[i, j] = 0
    for e in range(a.shape[0]):
        _dot_products(a[e], b[e], out, block, True)


# ---------------------------------------------------------------- the products


def _kernel_operands(a: np.ndarray, b: np.ndarray, macs: int) -> bool:
    # large enough for the kernels, and of one float type they are compiled for
    return macs >= OWN_MIN_MACS and a.dtype == b.dtype and a.dtype in FLOAT_DTYPES


def _fits(a: np.ndarray, b: np.ndarray, macs: int) -> bool:
    return _kernel_operands(a, b, macs) and use_own_products()


def product_nn_takes(rows: int, columns: int) -> bool:
    """Whether ``product_nn`` computes a product of this many rows and output columns, with a
    C-contiguous right operand and :data:`OWN_MIN_MACS` or more, on this machine: where the
    kernels take every product, or at most :data:`FEW_ROWS` rows where
    ``use_own_few_row_products``; never for rows shorter than :data:`ROW_MIN_COLUMNS`."""
    if columns < ROW_MIN_COLUMNS:
        return False
    return use_own_products() or (rows <= FEW_ROWS and use_own_few_row_products())


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` for 2-D float arrays, by nnsim's kernels where
    :func:`use_own_products` says so and the shapes suit them, or where
    :func:`product_nn_takes` its few rows, by BLAS otherwise."""
    own = use_own_products()
    if a.ndim != 2 or (a.shape[0] > FEW_ROWS and not own):
        # decided first, in a few reads: most products on most machines, each of an MLP step's
        # eight in the caches the last one left cold
        return np.matmul(a, b, out=out)
    if b.ndim != 2 or a.shape[1] != b.shape[0]:
        return np.matmul(a, b, out=out)
    macs = a.shape[0] * a.shape[1] * b.shape[1]
    if not _kernel_operands(a, b, macs):
        return np.matmul(a, b, out=out)
    if not (own or (b.flags.c_contiguous and product_nn_takes(a.shape[0], b.shape[1]))):
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype)  # (M, N)
    elif out.dtype != a.dtype or not out.flags.c_contiguous:
        return np.matmul(a, b, out=out)
    if b.T.flags.c_contiguous and not b.flags.c_contiguous:  # a @ W^T
        if a.flags.c_contiguous and a.shape[1] >= DOT_MIN_K:  # dot products along K
            product_nt(a, b.T, out, _nt_block(a.shape[1], a.itemsize))
            return out
        if b.shape[1] < ROW_MIN_COLUMNS:
            return np.matmul(a, b, out=out)
        b = transposed(b.T)  # (K, N): a copy of K x N numbers, against M x K x N work
    if not b.flags.c_contiguous or b.shape[1] < ROW_MIN_COLUMNS:
        return np.matmul(a, b, out=out)
    product_nn(a, b, out)
    return out


def _nt_block(k: int, itemsize: int) -> int:
    rows = BLOCK_BYTES // (k * itemsize)  # of b^T (N, K)
    return max(4, rows - rows % 4)


def matmul_stacked(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """``np.matmul(a, b, out=out)`` for a (M, K), b (E, K, N), out (E, M, N), by nnsim's
    kernels; False, having done nothing, where they do not take it (the caller uses BLAS)."""
    unit = a.itemsize
    if b.ndim != 3 or out.ndim != 3 or out.dtype != a.dtype:
        return False
    if not _fits(a, b, a.shape[0] * b.shape[0] * b.shape[1] * b.shape[2]):
        return False
    if b.strides[2] != unit or out.strides[2] != unit:  # rows read and written along N
        return False
    if b.shape[2] < ROW_MIN_COLUMNS:
        return False
    product_nn_stacked(a, b, out)
    return True


def matmul_summed_nt(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """``out = sum over e of a[e] @ b[e].T`` for a (E, M, K), b (E, N, K), out (M, N), by nnsim's
    kernels; False, having done nothing, where they do not take it (short dot products, rows
    not contiguous along K)."""
    if out.dtype != a.dtype or a.shape[2] < DOT_MIN_K:
        return False
    if not _fits(a, b, a.shape[0] * a.shape[1] * a.shape[2] * b.shape[1]):
        return False
    if a.strides[2] != a.itemsize or b.strides[2] != b.itemsize or out.strides[1] != a.itemsize:
        return False
    product_nt_summed(a, b, out, _nt_block(a.shape[2], a.itemsize))
    return True
