"""Fully connected layer: y = x W^T + b.

The matrix products go to BLAS through ``np.matmul``: for every size the curriculum uses, the
benchmark (benchmarks/bench_kernels.py, row "linear: numba loop vs BLAS") shows BLAS ahead of a
hand-written Numba loop. BLAS partitions the output, not the reduction, so results are the same
bit for bit from run to run at a fixed thread count. The bias and the column sums are Numba.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


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
    y = np.matmul(x, W.T)  # (N, H)
    if b is not None:
        add_row_bias(y, b)
    return y


def dense_backward(
    dy: np.ndarray, x: np.ndarray, W: np.ndarray, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    dx = np.matmul(dy, W) if need_dx else None  # (N, D)
    dW = np.matmul(dy.T, x)  # (H, D)
    db = np.empty(dy.shape[1], dtype=dy.dtype)  # (H,)
    column_sums(dy, db)
    return dx, dW, db
