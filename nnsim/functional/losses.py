"""Losses: each returns (loss, gradient with respect to its first argument).

The loss is a Python float; the gradient has the input's dtype and shape.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..kernels import losses as k
from . import _checks as check


@lru_cache(maxsize=64)
def _unit_weights(classes: int, dtype: np.dtype) -> np.ndarray:
    # cross_entropy's weight when none is given, made once per shape: np.ones on every training
    # step cost about 3 us, most of a small batch's loss
    # (it stays writable, never handed out: a read-only array is another type to Numba, and
    # would compile the kernel a third time)
    return np.ones(classes, dtype=dtype)  # (C,)


def _pair(fn: str, a_name: str, a, b_name: str, b) -> tuple[np.ndarray, np.ndarray]:
    a = check.primary(fn, a_name, a)
    b = check.secondary(fn, b_name, b, a.dtype)
    check.same_shape(fn, a_name, a, b_name, b)
    if a.size == 0:
        raise ValueError(f"{fn}: {a_name} is empty; the mean of no elements is undefined")
    return a, b


def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """mean((pred - target)^2) over all elements; dpred = 2 (pred - target) / size."""
    pred, target = _pair("mse_loss", "pred", pred, "target", target)
    dpred = np.empty_like(pred)
    loss = k.mse_forward_backward(pred.reshape(-1), target.reshape(-1), dpred.reshape(-1))
    return float(loss), dpred


def mae_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """mean(|pred - target|); dpred = sign(pred - target) / size, with sign(0) = 0."""
    pred, target = _pair("mae_loss", "pred", pred, "target", target)
    dpred = np.empty_like(pred)
    loss = k.mae_forward_backward(pred.reshape(-1), target.reshape(-1), dpred.reshape(-1))
    return float(loss), dpred


def cross_entropy(
    logits: np.ndarray, labels: np.ndarray, weight: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Softmax then negative log-likelihood, mean over the batch; logits (N, C), labels (N,).

    With per-class ``weight`` (C,) the mean is weighted as in PyTorch:
    sum_i w[y_i] nll_i / sum_i w[y_i]. dlogits = w[y_i] (softmax - onehot) / sum_i w[y_i].
    """
    fn = "cross_entropy"
    logits = check.primary(fn, "logits", logits, ndim=2)
    n, classes = logits.shape
    if n == 0 or classes == 0:
        raise ValueError(
            f"{fn}: logits must have at least one row and one class, got {logits.shape}"
        )
    y = check.labels(fn, "labels", labels, n, classes, "logits", logits.shape, in_range=False)
    if weight is None:
        w = _unit_weights(classes, logits.dtype)
    else:
        w = check.secondary(fn, "weight", weight, logits.dtype)
        if w.shape != (classes,):
            raise ValueError(
                f"{fn}: weight must have one entry per class; "
                f"logits {logits.shape}, weight {w.shape}"
            )
    dlogits = np.empty_like(logits)
    loss, bad_row = k.cross_entropy_forward_backward(logits, y, w, dlogits)
    if bad_row >= 0:  # the kernel found a label that is not a class: say which
        check.labels(fn, "labels", y, n, classes, "logits", logits.shape)
    return float(loss), dlogits


def binary_cross_entropy(p: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """mean(-(t log p + (1 - t) log(1 - p))), p in [0, 1]; logs clamped at -100 as in PyTorch."""
    fn = "binary_cross_entropy"
    p, target = _pair(fn, "p", p, "target", target)
    outside = (p < 0) | (p > 1)  # NaN compares False and passes through to the loss
    if outside.any():
        where = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{fn}: p must be probabilities in [0, 1]; "
            f"p{list(where)} = {float(p[where])}, p {p.shape}"
        )
    dp = np.empty_like(p)
    loss = k.binary_cross_entropy_forward_backward(
        p.reshape(-1), target.reshape(-1), dp.reshape(-1)
    )
    return float(loss), dp


def hinge_loss(
    scores: np.ndarray, labels: np.ndarray, margin: float = 1.0
) -> tuple[float, np.ndarray]:
    """Multi-class SVM loss: sum over j != y of max(0, s_j - s_y + margin), mean over the batch.

    This is ``torch.nn.functional.multi_margin_loss`` times the number of classes (PyTorch
    also divides by C). At exactly zero slack the subgradient 0 is used.
    """
    fn = "hinge_loss"
    scores = check.primary(fn, "scores", scores, ndim=2)
    n, classes = scores.shape
    if n == 0 or classes == 0:
        raise ValueError(
            f"{fn}: scores must have at least one row and one class, got {scores.shape}"
        )
    y = check.labels(fn, "labels", labels, n, classes, "scores", scores.shape)
    margin = check.real(fn, "margin", margin)
    dscores = np.empty_like(scores)
    loss = k.hinge_forward_backward(scores, y, margin, dscores)
    return float(loss), dscores
