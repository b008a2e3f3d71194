"""Losses as objects: ``loss(pred, target) -> (value, dpred)``, over nnsim.functional.

Each is the mean over the batch (and, for sequence outputs (N, T, C), over the time steps
too), with PyTorch's conventions. ``LOSSES`` maps the names used by scenario files to classes.
"""

from __future__ import annotations

import numpy as np

from . import functional as F


class Loss:
    name = "loss"

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSELoss(Loss):
    """mean((pred - target)^2) over every element."""

    name = "mse"

    def __call__(self, pred, target):
        return F.mse_loss(pred, np.reshape(target, np.shape(pred)))


class MAELoss(Loss):
    """mean(|pred - target|) over every element (torch's L1Loss)."""

    name = "mae"

    def __call__(self, pred, target):
        return F.mae_loss(pred, np.reshape(target, np.shape(pred)))


class _Classification(Loss):
    """Scores (N, C) with labels (N,), or per-step scores (N, T, C) with labels (N, T)."""

    def _flat(self, scores, labels):
        scores = np.asarray(scores)
        labels = np.asarray(labels)
        if scores.ndim == 3:
            if labels.shape != scores.shape[:2]:
                raise ValueError(
                    f"{self.name}: per-step scores (N, T, C) need labels (N, T); "
                    f"scores {scores.shape}, labels {labels.shape}"
                )
            return scores.reshape(-1, scores.shape[2]), labels.reshape(-1)
        return scores, labels


class CrossEntropyLoss(_Classification):
    """Softmax + negative log-likelihood of the label, from raw scores (torch's
    CrossEntropyLoss); optional per-class ``weight``, with the weighted mean PyTorch uses."""

    name = "cross_entropy"

    def __init__(self, weight: np.ndarray | list[float] | None = None) -> None:
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)

    def __call__(self, pred, target):
        scores, labels = self._flat(pred, target)
        weight = None if self.weight is None else self.weight.astype(scores.dtype)
        loss, d = F.cross_entropy(scores, labels, weight)
        return loss, d.reshape(np.shape(pred))

    def __repr__(self):
        return "CrossEntropyLoss()" if self.weight is None else f"CrossEntropyLoss({self.weight})"


class BCELoss(Loss):
    """Binary cross-entropy of probabilities (after a Sigmoid) against 0/1 targets."""

    name = "bce"

    def __call__(self, pred, target):
        return F.binary_cross_entropy(pred, np.reshape(target, np.shape(pred)))


class HingeLoss(_Classification):
    """Multi-class SVM loss: sum over j != y of max(0, s_j - s_y + margin), batch mean."""

    name = "hinge"

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = float(margin)

    def __call__(self, pred, target):
        scores, labels = self._flat(pred, target)
        loss, d = F.hinge_loss(scores, labels, self.margin)
        return loss, d.reshape(np.shape(pred))

    def __repr__(self):
        return f"HingeLoss(margin={self.margin})"


LOSSES = {cls.name: cls for cls in (MSELoss, MAELoss, CrossEntropyLoss, BCELoss, HingeLoss)}
