"""Batch normalisation over x viewed as (N, C, L): per channel C, statistics over N and L.

A dense input (N, D) is (N, D, 1); an image batch (N, C, H, W) is (N, C, H*W). Channel
statistics are summed in float64 (two passes: mean, then squared deviations) because a float32
running sum over N*L values drifts visibly for large batches.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def batch_norm_stats(x, mean, var):
    # x (N, C, L) -> mean (C,), biased var (C,)
    n, channels, length = x.shape
    count = n * length
    for c in range(channels):
        total = 0.0
        for i in range(n):
            for j in range(length):
                total += x[i, c, j]
        mu = total / count
        squares = 0.0
        for i in range(n):
            for j in range(length):
                d = x[i, c, j] - mu
                squares += d * d
        mean[c] = mu
        var[c] = squares / count


@kernel
def batch_norm_apply(x, mean, inv_std, gamma, beta, y, x_hat):
    # y = gamma * (x - mean) * inv_std + beta; x_hat kept for the backward pass
    n, channels, length = x.shape
    for i in range(n):
        for c in range(channels):
            mu = mean[c]
            s = inv_std[c]
            g = gamma[c]
            b = beta[c]
            for j in range(length):
                h = (x[i, c, j] - mu) * s
                x_hat[i, c, j] = h
                y[i, c, j] = g * h + b


@kernel
def batch_norm_backward(dy, x_hat, gamma, inv_std, train, dx, dgamma, dbeta):
    # Training: the batch statistics depend on x, which adds the two mean terms;
    # evaluation: running statistics are constants and dx = dy * gamma * inv_std.
    n, channels, length = dy.shape
    count = n * length
    for c in range(channels):
        sum_dy = 0.0
        sum_dy_xhat = 0.0
        for i in range(n):
            for j in range(length):
                sum_dy += dy[i, c, j]
                sum_dy_xhat += dy[i, c, j] * x_hat[i, c, j]
        dbeta[c] = sum_dy
        dgamma[c] = sum_dy_xhat
        scale = gamma[c] * inv_std[c]
        if train:
            mean_dy = dy.dtype.type(sum_dy / count)
            mean_dy_xhat = dy.dtype.type(sum_dy_xhat / count)
            for i in range(n):
                for j in range(length):
                    dx[i, c, j] = scale * (dy[i, c, j] - mean_dy - x_hat[i, c, j] * mean_dy_xhat)
        else:
            for i in range(n):
                for j in range(length):
                    dx[i, c, j] = scale * dy[i, c, j]


@kernel
def update_running(running, batch_value, momentum):
    # running = (1 - momentum) * running + momentum * batch_value, in place
    m = running.dtype.type(momentum)
    keep = running.dtype.type(1.0 - momentum)
    for c in range(running.size):
        running[c] = keep * running[c] + m * batch_value[c]


@kernel
def inverse_std(var, eps, out):
    one = var.dtype.type(1)
    e = var.dtype.type(eps)
    for c in range(var.size):
        out[c] = one / np.sqrt(var[c] + e)
