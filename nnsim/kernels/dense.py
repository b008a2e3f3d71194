"""Fully connected layer: y = x W^T + b.

The matrix products go through ``products.matmul``: to BLAS, which for every size the curriculum
uses is ahead of a plain Numba loop (benchmarks/bench_kernels.py, row "linear: BLAS vs Numba
loop"), or to nnsim's register-blocked kernels where the BLAS runs narrower vector instructions
than the processor has (see ``nnsim.kernels.products``). Either way the output is partitioned,
not the reduction, so results are the same bit for bit from run to run at fixed settings. The
bias and the column sums are Numba.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .products import matmul


@kernel
def add_row_bias(y, b):
    # y (N, H) += b (H,)
    n_rows, n_cols = y.shape
    for r in range(n_rows):
        for c in range(n_cols):
            y[r, c] += b[c]


@kernel
def column_sums(a, out):
    # a (N, H) -> out (H,), summed serially over N so the order never changes.
    n_rows, n_cols = a.shape
    for c in range(n_cols):
        out[c] = 0
    for r in range(n_rows):
        for c in range(n_cols):
            out[c] += a[r, c]


def dense_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    y = matmul(x, W.T)  # (N, H)
    if b is not None:
        add_row_bias(y, b)
    return y


def dense_backward(
    dy: np.ndarray, x: np.ndarray, W: np.ndarray, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    dx = matmul(dy, W) if need_dx else None  # (N, D)
    dW = matmul(dy.T, x)  # (H, D)
    db = np.empty(dy.shape[1], dtype=dy.dtype)  # (H,)
    column_sums(dy, db)
    return dx, dW, db
