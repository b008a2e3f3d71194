"""Gradient clipping over a dict of gradient arrays, in place, as torch.nn.utils does."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..kernels import elementwise as ke
from . import _checks as check

# PyTorch's clip_grad_norm_ divides by (total_norm + 1e-6).
CLIP_NORM_EPS = 1e-6


def _writable(fn: str, grads: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    if not isinstance(grads, Mapping):
        raise TypeError(f"{fn}: grads must be a dict of arrays, got {type(grads).__name__}")
    items = []
    for name, g in grads.items():
        if (
            not isinstance(g, np.ndarray)
            or g.dtype not in check.FLOAT_DTYPES
            or not g.flags.c_contiguous
            or not g.flags.writeable
        ):
            raise ValueError(
                f"{fn}: grads[{name!r}] must be a writable C-contiguous float array "
                f"(it is clipped in place)"
            )
        items.append((name, g))
    return items


def _norm(items: list[tuple[str, np.ndarray]]) -> float:
    return math.sqrt(sum(ke.sum_of_squares(g.reshape(-1)) for _, g in items))


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """The L2 norm of all the arrays together, as if concatenated."""
    return _norm(_writable("global_norm", grads))


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Scale every gradient by max_norm / (norm + 1e-6) when their global L2 norm exceeds
    max_norm. Returns the norm before clipping (inf or NaN when a gradient is non-finite, and
    then nothing is scaled, so the non-finite value stays visible)."""
    max_norm = check.real(
        "clip_grad_norm", "max_norm", max_norm, 0.0, low_open=True, allow_inf=True
    )
    items = _writable("clip_grad_norm", grads)
    total = _norm(items)
    if math.isfinite(total) and total > max_norm:
        factor = max_norm / (total + CLIP_NORM_EPS)
        for _, g in items:
            ke.scale_in_place(g.reshape(-1), factor)
    return total


def clip_grad_value(grads: Mapping[str, np.ndarray], limit: float) -> None:
    """Clip every gradient element to [-limit, limit] in place; NaN stays NaN."""
    limit = check.real("clip_grad_value", "limit", limit, 0.0, low_open=True, allow_inf=True)
    for _, g in _writable("clip_grad_value", grads):
        ke.clip_values(g.reshape(-1), limit)
