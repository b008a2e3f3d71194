"""Embedding lookup and L1/L2 weight penalties."""

from __future__ import annotations

import numpy as np

from ..kernels import elementwise as ke
from ..kernels import embedding as k
from . import _checks as check


def _indices(fn: str, indices, table: np.ndarray) -> np.ndarray:
    arr = check.integers(fn, "indices", indices)
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= table.shape[0]:
            bad = low if low < 0 else high
            raise ValueError(
                f"{fn}: indices contain {bad} but the table has {table.shape[0]} rows; "
                f"indices {arr.shape}, table {table.shape}"
            )
    return arr


def embedding(indices: np.ndarray, table: np.ndarray) -> np.ndarray:
    """y (*indices.shape, E) = table (V, E)[indices]; like torch.nn.functional.embedding."""
    table = check.primary("embedding", "table", table, ndim=2)
    idx = _indices("embedding", indices, table)
    check.allocation("embedding", "the output", (*idx.shape, table.shape[1]), table.dtype)
    out = np.empty((idx.size, table.shape[1]), dtype=table.dtype)
    k.embedding_forward(idx.reshape(-1), table, out)
    return out.reshape(*idx.shape, table.shape[1])


def embedding_backward(dy: np.ndarray, indices: np.ndarray, num_embeddings: int) -> np.ndarray:
    """dtable (V, E): each row of dy added to the row of the table it was read from."""
    fn = "embedding_backward"
    dy = check.primary(fn, "dy", dy)
    if dy.ndim == 0:
        raise ValueError(f"{fn}: dy must be indices.shape + (E,), got a 0-D array")
    v = check.positive_int(fn, "num_embeddings", num_embeddings)
    idx = _indices(fn, indices, np.empty((v, 0)))
    if dy.shape[:-1] != idx.shape:
        raise ValueError(
            f"{fn}: dy must be indices.shape + (E,); indices {idx.shape}, dy {dy.shape}"
        )
    check.allocation(fn, "dtable", (v, dy.shape[-1]), dy.dtype)
    dtable = np.empty((v, dy.shape[-1]), dtype=dy.dtype)
    k.embedding_backward(dy.reshape(idx.size, dy.shape[-1]), idx.reshape(-1), dtable)
    return dtable


def l1_penalty(w: np.ndarray, strength: float) -> tuple[float, np.ndarray]:
    """(strength * sum|w|, strength * sign(w)): the L1 penalty and its (sub)gradient."""
    w = check.primary("l1_penalty", "w", w)
    strength = check.real("l1_penalty", "strength", strength)
    dw = np.empty_like(w)
    return float(ke.l1_penalty(w.reshape(-1), strength, dw.reshape(-1))), dw


def l2_penalty(w: np.ndarray, strength: float) -> tuple[float, np.ndarray]:
    """(strength/2 * sum w^2, strength * w): the L2 penalty, whose gradient is weight decay."""
    w = check.primary("l2_penalty", "w", w)
    strength = check.real("l2_penalty", "strength", strength)
    dw = np.empty_like(w)
    return float(ke.l2_penalty(w.reshape(-1), strength, dw.reshape(-1))), dw
