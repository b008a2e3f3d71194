"""Argument checking shared by every function of ``nnsim.functional``.

The contract (DESIGN.md): float32 and float64 in, the primary input's dtype out, inputs never
modified, and a ``ValueError`` naming the function, the argument and both shapes on a mismatch.
Kernels only ever see C-contiguous float32/float64 arrays, which keeps the number of compiled
signatures at two per kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def primary(fn: str, name: str, x: Any, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """The array that sets the dtype of a call: float32 or float64, made C-contiguous."""
    arr = np.asarray(x)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{fn}: {name} must be float32 or float64, got {arr.dtype} with shape {arr.shape}"
        )
    _check_ndim(fn, name, arr, ndim)
    return np.ascontiguousarray(arr)


def secondary(
    fn: str, name: str, x: Any, dtype: np.dtype, ndim: int | tuple[int, ...] | None = None
) -> np.ndarray:
    """A further float argument, converted to the primary input's dtype and made contiguous."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{fn}: {name} must be numeric, got {arr.dtype} with shape {arr.shape}")
    _check_ndim(fn, name, arr, ndim)
    return np.ascontiguousarray(arr, dtype=dtype)


def labels(
    fn: str, name: str, y: Any, n: int, num_classes: int, x_name: str, x_shape: tuple[int, ...]
) -> np.ndarray:
    """Integer class indices, one per example, each in [0, num_classes)."""
    arr = np.asarray(y)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{fn}: {name} must hold integer class indices, got {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(
            f"{fn}: {name} must have one label per row of {x_name}; "
            f"{x_name} {tuple(x_shape)}, {name} {tuple(arr.shape)}"
        )
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{fn}: {name} contains class {bad} but {x_name} has {num_classes} classes "
                f"(valid: 0..{num_classes - 1}); {x_name} {tuple(x_shape)}"
            )
    return np.ascontiguousarray(arr, dtype=np.int64)


def same_shape(fn: str, a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{fn}: {b_name} must have the shape of {a_name}; "
            f"{a_name} {tuple(a.shape)}, {b_name} {tuple(b.shape)}"
        )


def pair(fn: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair, each at least ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        h = w = int(value)
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        h, w = int(value[0]), int(value[1])
    else:
        raise ValueError(f"{fn}: {name} must be an int or an (h, w) pair of ints, got {value!r}")
    if h < minimum or w < minimum:
        raise ValueError(f"{fn}: {name} must be at least {minimum}, got {value!r}")
    return h, w


def positive_int(fn: str, name: str, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive int, got {value!r}")
    return int(value)


def probability(fn: str, name: str, value: Any) -> float:
    p = float(value)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: {name} must be in [0, 1], got {value!r}")
    return p


def _check_ndim(fn: str, name: str, arr: np.ndarray, ndim: int | tuple[int, ...] | None) -> None:
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{fn}: {name} must be {want}, got shape {tuple(arr.shape)}")
