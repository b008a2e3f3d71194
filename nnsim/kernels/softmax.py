"""Softmax, log-softmax and maxout over 2-D (rows, cols) arrays.

Softmax reduces along the last axis; the functional layer moves the requested axis there.
The row maximum is subtracted first, so any finite input gives a finite output.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def softmax_forward(x, y):
    rows, cols = x.shape
    for r in range(rows):
        m = x[r, 0]
        for c in range(1, cols):
            if x[r, c] > m:
                m = x[r, c]
        total = x.dtype.type(0)
        for c in range(cols):
            e = np.exp(x[r, c] - m)
            y[r, c] = e
            total += e
        for c in range(cols):
            y[r, c] /= total


@kernel
def softmax_backward(dy, y, dx):
    # dx = y * (dy - sum(dy * y)) along the row
    rows, cols = y.shape
    for r in range(rows):
        dot = y.dtype.type(0)
        for c in range(cols):
            dot += dy[r, c] * y[r, c]
        for c in range(cols):
            dx[r, c] = y[r, c] * (dy[r, c] - dot)


@kernel
def log_softmax_forward(x, y):
    rows, cols = x.shape
    for r in range(rows):
        m = x[r, 0]
        for c in range(1, cols):
            if x[r, c] > m:
                m = x[r, c]
        total = x.dtype.type(0)
        for c in range(cols):
            total += np.exp(x[r, c] - m)
        log_total = np.log(total) + m
        for c in range(cols):
            y[r, c] = x[r, c] - log_total


@kernel
def log_softmax_backward(dy, y, dx):
    # dx = dy - softmax * sum(dy) along the row
    rows, cols = y.shape
    for r in range(rows):
        total = y.dtype.type(0)
        for c in range(cols):
            total += dy[r, c]
        for c in range(cols):
            dx[r, c] = dy[r, c] - np.exp(y[r, c]) * total


@kernel
def maxout_forward(x, pieces, y):
    # x (N, D*pieces) -> y (N, D); the first maximum of each group wins ties; a NaN wins over
    # any number, so it propagates as in torch.max.
    n_rows, units = y.shape
    for r in range(n_rows):
        for u in range(units):
            start = u * pieces
            best = x[r, start]
            for k in range(1, pieces):
                v = x[r, start + k]
                if v > best or np.isnan(v):
                    best = v
            y[r, u] = best


@kernel
def maxout_backward(dy, x, pieces, dx):
    n_rows, units = dy.shape
    zero = x.dtype.type(0)
    for r in range(n_rows):
        for u in range(units):
            start = u * pieces
            best = x[r, start]
            arg = 0
            for k in range(1, pieces):
                v = x[r, start + k]
                if v > best or np.isnan(v):
                    best = v
                    arg = k
            for k in range(pieces):
                dx[r, start + k] = dy[r, u] if k == arg else zero
