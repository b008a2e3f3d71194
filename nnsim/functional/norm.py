"""Batch normalisation and inverted dropout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kernels import elementwise as ke
from ..kernels import norm as k
from . import _checks as check


@dataclass(frozen=True)
class BatchNormCache:
    """What batch_norm_backward needs, and what the inspector shows.

    ``x_hat`` has x's shape; ``mean`` and ``var`` are the statistics that normalised the batch
    (the batch's own in training, the running ones in evaluation), one per channel.
    """

    x_hat: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    train: bool


def _as_ncl(fn: str, x: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        return x.reshape(x.shape[0], x.shape[1], 1)
    if x.ndim == 4:
        return x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    raise ValueError(f"{fn}: x must be (N, D) or (N, C, H, W), got shape {x.shape}")


def batch_norm(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    train: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, BatchNormCache]:
    """Normalise per feature (N, D) or per channel (N, C, H, W); y = gamma x_hat + beta.

    Training uses the batch's mean and biased variance and updates ``running_mean`` and
    ``running_var`` in place (the one documented exception to "inputs are never modified"):
    running = (1 - momentum) running + momentum batch_stat, with the unbiased variance.
    Evaluation normalises with the running statistics.
    """
    fn = "batch_norm"
    x = check.primary(fn, "x", x, ndim=(2, 4))
    momentum = check.real(fn, "momentum", momentum, 0.0, 1.0)
    eps = check.real(fn, "eps", eps, 0.0)
    channels = x.shape[1]
    gamma = _per_channel(fn, "gamma", gamma, x)
    beta = _per_channel(fn, "beta", beta, x)
    for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
        if arr is not None:
            if (
                not isinstance(arr, np.ndarray)
                or arr.shape != (channels,)
                or arr.dtype != x.dtype
                or not arr.flags.c_contiguous
                or not arr.flags.writeable
            ):
                got = arr.shape if isinstance(arr, np.ndarray) else type(arr).__name__
                raise ValueError(
                    f"{fn}: {name} must be a writable contiguous {x.dtype} array of shape "
                    f"{(channels,)} (it is updated in place); x {x.shape}, {name} {got}"
                )
    if not train and (running_mean is None or running_var is None):
        raise ValueError(f"{fn}: evaluation mode needs running_mean and running_var")
    x3 = _as_ncl(fn, x)  # (N, C, L)
    if train:
        count = x3.shape[0] * x3.shape[2]
        if count < 2:
            raise ValueError(
                f"{fn}: training needs more than one value per channel to estimate a variance; "
                f"x {x.shape}"
            )
        mean = np.empty(channels, dtype=x.dtype)
        var = np.empty(channels, dtype=x.dtype)
        k.batch_norm_stats(x3, mean, var)
        if running_mean is not None:
            k.update_running(running_mean, mean, momentum)
        if running_var is not None:
            unbiased = (var * (count / (count - 1))).astype(x.dtype)
            k.update_running(running_var, unbiased, momentum)
    else:
        mean, var = running_mean.copy(), running_var.copy()
    inv_std = np.empty(channels, dtype=x.dtype)
    k.inverse_std(var, eps, inv_std)
    y = np.empty_like(x)
    x_hat = np.empty_like(x)
    k.batch_norm_apply(x3, mean, inv_std, gamma, beta, _as_ncl(fn, y), _as_ncl(fn, x_hat))
    return y, BatchNormCache(x_hat, mean, var, inv_std, gamma, bool(train))


def batch_norm_backward(
    dy: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) for the batch_norm call that produced ``cache``."""
    fn = "batch_norm_backward"
    if not isinstance(cache, BatchNormCache):
        raise TypeError(f"{fn}: cache must be the cache returned by batch_norm")
    dy = check.secondary(fn, "dy", dy, cache.x_hat.dtype)
    check.same_shape(fn, "x", cache.x_hat, "dy", dy)
    channels = cache.gamma.shape[0]
    dx = np.empty_like(dy)
    dgamma = np.empty(channels, dtype=dy.dtype)
    dbeta = np.empty(channels, dtype=dy.dtype)
    k.batch_norm_backward(
        _as_ncl(fn, dy),
        _as_ncl(fn, cache.x_hat),
        cache.gamma,
        cache.inv_std,
        cache.train,
        _as_ncl(fn, dx),
        dgamma,
        dbeta,
    )
    return dx, dgamma, dbeta


def _per_channel(fn: str, name: str, arr, x: np.ndarray) -> np.ndarray:
    arr = check.secondary(fn, name, arr, x.dtype)
    if arr.shape != (x.shape[1],):
        raise ValueError(
            f"{fn}: {name} must have one entry per {'feature' if x.ndim == 2 else 'channel'}; "
            f"x {x.shape}, {name} {arr.shape}"
        )
    return arr


def dropout(
    x: np.ndarray, p: float, rng: np.random.Generator, train: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Inverted dropout: each unit is zeroed with probability p, the kept ones scaled by 1/(1-p).

    Returns (y, mask) where mask holds 0 or 1/(1-p) per element, so y = x * mask and
    dx = dy * mask. When not training, y is a copy of x and mask is all ones.
    """
    fn = "dropout"
    x = check.primary(fn, "x", x)
    p = check.probability(fn, "p", p)
    if not train or p == 0.0:
        return x.copy(), np.ones_like(x)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fn}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if p == 1.0:
        return np.zeros_like(x), np.zeros_like(x)
    keep = rng.random(x.shape) >= p
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    y = np.empty_like(x)
    ke.multiply(x.reshape(-1), mask.reshape(-1), y.reshape(-1))
    return y, mask


def dropout_backward(dy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """dx = dy * mask, the mask that dropout returned."""
    dy = check.primary("dropout_backward", "dy", dy)
    mask = check.secondary("dropout_backward", "mask", mask, dy.dtype)
    check.same_shape("dropout_backward", "dy", dy, "mask", mask)
    dx = np.empty_like(dy)
    ke.multiply(dy.reshape(-1), mask.reshape(-1), dx.reshape(-1))
    return dx
