"""Accuracy of predictions, as the simulator and the lessons report it."""

from __future__ import annotations

import math

import numpy as np

from .losses import BCELoss, Loss


def accuracy(pred: np.ndarray, target: np.ndarray, loss: Loss) -> float:
    """The fraction of correct predictions, or NaN when the task has none (regression).

    - class scores (N, C) or (N, T, C) with integer labels: argmax equals the label;
    - probabilities with BCE: (p > 0.5) equals the 0/1 target;
    - one-hot targets (N, C) (MSE on classes): argmax of prediction equals argmax of target;
    - one output (N, 1) in [0, 1] (a sigmoid, under MSE) with 0/1 labels: (p > 0.5) == label.
    """
    pred, target = np.asarray(pred), np.asarray(target)
    if isinstance(loss, BCELoss):
        return _fraction((pred > 0.5) == (target.reshape(pred.shape) > 0.5))
    if target.dtype.kind in "iu" and pred.ndim == target.ndim + 1 and pred.shape[-1] > 1:
        return _fraction(pred.argmax(axis=-1) == target)
    if pred.ndim == 2 and target.shape == pred.shape and pred.shape[1] > 1:
        return _fraction(pred.argmax(axis=1) == target.argmax(axis=1))
    if pred.ndim == 2 and pred.shape[1] == 1 and target.dtype.kind in "iu":
        return _fraction((pred[:, 0] > 0.5) == target.reshape(-1))  # one output in [0, 1]
    return math.nan


def _fraction(hits: np.ndarray) -> float:
    """The fraction of True entries: np.mean's value (an exact count over the size), at a
    fifth of its cost, which the simulator pays every iteration."""
    return np.count_nonzero(hits) / hits.size if hits.size else math.nan
