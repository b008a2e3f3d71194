"""Argument checking shared by every function of ``nnsim.functional`` (and the initialisers
and optimiser constructors).

The contract (DESIGN.md): float32 and float64 in, the primary input's dtype out, inputs never
modified, and every refusal an exception whose message starts with the function's name:
``TypeError`` for an argument of the wrong type (an array of a dtype the function does not
take, an object that is not the cache, rng or dict it needs), ``ValueError`` for everything
else (shapes, sizes, and hyperparameters that are not a finite number of the right kind or
are out of range). Nothing an argument can hold gets through as an OverflowError, IndexError,
ZeroDivisionError, AttributeError, MemoryError or a Numba typing error.

Kernels only ever see C-contiguous float32/float64 arrays, which keeps the number of compiled
signatures at two per kernel, and geometry integers below ``MAX_INT``, so their index
arithmetic cannot overflow int64.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..kernels._jit import FLOAT_DTYPES

#: the largest stride, padding, dilation, kernel size, group count or dimension accepted
MAX_INT = 2**31 - 1


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: assume a large machine
        return 2**40


#: no single array is made bigger than this machine's memory: such a call is refused before
#: allocating (a MemoryError, or on an overcommitting system the OOM killer, otherwise)
MAX_ARRAY_BYTES = _physical_memory()


def _as_array(fn: str, name: str, x: Any) -> np.ndarray:
    try:
        return np.asarray(x)
    except (ValueError, TypeError, OverflowError) as err:  # ragged or unconvertible
        raise TypeError(f"{fn}: {name} must be an array of numbers, got {_describe(x)}") from err


def _describe(x: Any) -> str:
    return f"{type(x).__name__} {tuple(x.shape)}" if isinstance(x, np.ndarray) else type(x).__name__


def allocation(fn: str, what: str, shape: tuple[int, ...], dtype: Any) -> None:
    """Refuse, before allocating, an array of ``shape`` that could never fit in memory."""
    # Python ints: a product of NumPy integers would wrap around instead of growing
    size = math.prod(map(int, shape)) * np.dtype(dtype).itemsize
    if size > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{fn}: {what} {tuple(int(s) for s in shape)} would need {size / 2**30:.3g} GiB, "
            f"more than this machine's {MAX_ARRAY_BYTES / 2**30:.3g} GiB of memory"
        )


def _contiguous(fn: str, name: str, arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    # np.ascontiguousarray would turn a 0-d array into a 1-d one
    if arr.dtype == dtype and arr.flags.c_contiguous:
        return arr
    allocation(fn, f"a contiguous copy of {name}", arr.shape, dtype)
    return np.asarray(arr, dtype=dtype, order="C")


def primary(fn: str, name: str, x: Any, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """The array that sets the dtype of a call: float32 or float64, made C-contiguous."""
    # the common case first, in a few attribute reads and no further call (an MLP step makes
    # 27 such checks, in the cold caches BLAS leaves behind: the general path cost 28 us)
    if (
        type(x) is np.ndarray
        and x.dtype in FLOAT_DTYPES
        and x.flags.c_contiguous
        and (ndim is None or x.ndim == ndim or (type(ndim) is tuple and x.ndim in ndim))
    ):
        return x
    arr = _as_array(fn, name, x)
    if arr.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{fn}: {name} must be float32 or float64, got {arr.dtype} with shape {arr.shape}"
        )
    _check_ndim(fn, name, arr, ndim)
    return _contiguous(fn, name, arr, arr.dtype)


def secondary(
    fn: str, name: str, x: Any, dtype: np.dtype, ndim: int | tuple[int, ...] | None = None
) -> np.ndarray:
    """A further float argument, converted to the primary input's dtype and made contiguous."""
    if (  # the common case, as in primary
        type(x) is np.ndarray
        and x.dtype == dtype
        and x.flags.c_contiguous
        and (ndim is None or x.ndim == ndim or (type(ndim) is tuple and x.ndim in ndim))
    ):
        return x
    arr = _as_array(fn, name, x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{fn}: {name} must be numeric, got {arr.dtype} with shape {arr.shape}")
    _check_ndim(fn, name, arr, ndim)
    return _contiguous(fn, name, arr, np.dtype(dtype))


def integers(fn: str, name: str, x: Any) -> np.ndarray:
    """An integer array (indices), made C-contiguous int64."""
    arr = _as_array(fn, name, x)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must be integers, got {arr.dtype} with shape {arr.shape}")
    if not arr.flags.c_contiguous:  # before reading it: a broadcast view may be huge
        allocation(fn, f"a contiguous copy of {name}", arr.shape, np.int64)
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{fn}: {name} holds {int(arr.max())}, beyond int64")
    return _contiguous(fn, name, arr, np.dtype(np.int64))


def labels(
    fn: str,
    name: str,
    y: Any,
    n: int,
    num_classes: int,
    x_name: str,
    x_shape: tuple[int, ...],
    *,
    in_range: bool = True,
) -> np.ndarray:
    """Integer class indices, one per example, each in [0, num_classes). ``in_range=False``
    leaves the range to the caller's kernel (which must check it before reading by them)."""
    if not in_range and type(y) is np.ndarray and y.dtype == np.int64 and y.shape == (n,):
        return y if y.flags.c_contiguous else np.ascontiguousarray(y)  # a (n,) copy at most
    arr = _as_array(fn, name, y)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{fn}: {name} must hold integer class indices, got {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(
            f"{fn}: {name} must have one label per row of {x_name}; "
            f"{x_name} {tuple(x_shape)}, {name} {tuple(arr.shape)}"
        )
    if arr.dtype.kind == "f":
        if not (arr.size and np.all(arr == np.round(arr))):
            raise TypeError(f"{fn}: {name} must hold integer class indices, got {arr.dtype}")
        arr = arr.astype(np.int64)
    if arr.size and in_range:
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{fn}: {name} contains class {bad} but {x_name} has {num_classes} classes "
                f"(valid: 0..{num_classes - 1}); {x_name} {tuple(x_shape)}"
            )
    return _contiguous(fn, name, arr, np.dtype(np.int64))


def same_shape(fn: str, a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{fn}: {b_name} must have the shape of {a_name}; "
            f"{a_name} {tuple(a.shape)}, {b_name} {tuple(b.shape)}"
        )


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def pair(fn: str, name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair, each in [``minimum``, MAX_INT]."""
    # the common cases first, as layers pass them (``type(...) is int`` leaves bools out)
    if type(value) is int and minimum <= value <= MAX_INT:
        return value, value
    if type(value) is tuple and len(value) == 2:
        h, w = value
        if (
            type(h) is int
            and type(w) is int
            and minimum <= h <= MAX_INT
            and minimum <= w <= MAX_INT
        ):
            return value
    if is_int(value):
        h = w = int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(map(is_int, value)):
        h, w = int(value[0]), int(value[1])
    else:
        raise ValueError(f"{fn}: {name} must be an int or an (h, w) pair of ints, got {value!r}")
    if h < minimum or w < minimum:
        raise ValueError(f"{fn}: {name} must be at least {minimum}, got {value!r}")
    if h > MAX_INT or w > MAX_INT:
        raise ValueError(f"{fn}: {name} must be at most {MAX_INT}, got {value!r}")
    return h, w


def integer(fn: str, name: str, value: Any, minimum: int = 1) -> int:
    """An int (not a bool) in [``minimum``, MAX_INT]."""
    if not is_int(value) or not minimum <= value <= MAX_INT:
        raise ValueError(f"{fn}: {name} must be an int in [{minimum}, {MAX_INT}], got {value!r}")
    return int(value)


def positive_int(fn: str, name: str, value: Any) -> int:
    return integer(fn, name, value, 1)


def real(
    fn: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number (an int or float, not a bool), finite unless ``allow_inf``, in [low, high]
    (or (low, high] with ``low_open``)."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(
        value, (bool, np.bool_)
    ):
        raise ValueError(f"{fn}: {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"{fn}: {name} must be a finite number, got {value!r}")
    if number < low or number > high or (low_open and number == low):
        if high == math.inf:
            bounds = "positive" if low == 0 and low_open else f"at least {low:g}"
        else:
            bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{fn}: {name} must be {bounds}, got {value!r}")
    return number


def probability(fn: str, name: str, value: Any) -> float:
    return real(fn, name, value, 0.0, 1.0)


def axis(fn: str, value: Any, ndim: int, x_shape: tuple[int, ...]) -> int:
    """An axis of an ``ndim``-D array, negative counting from the end; returned non-negative."""
    if not is_int(value) or not -ndim <= value < ndim:
        raise ValueError(f"{fn}: axis {value!r} is out of range for x {tuple(x_shape)}")
    return int(value) % ndim


def shape(fn: str, name: str, value: Any, ndim: int | None = None) -> tuple[int, ...]:
    """A shape: a tuple or list of ints in [0, MAX_INT], of ``ndim`` entries if given."""
    if (
        not isinstance(value, (tuple, list))
        or not all(is_int(v) and 0 <= v <= MAX_INT for v in value)
        or (ndim is not None and len(value) != ndim)
    ):
        want = f"{ndim} ints" if ndim is not None else "ints"
        raise ValueError(f"{fn}: {name} must be a shape of {want} >= 0, got {value!r}")
    return tuple(int(v) for v in value)


def _check_ndim(fn: str, name: str, arr: np.ndarray, ndim: int | tuple[int, ...] | None) -> None:
    if ndim is None:
        return
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{fn}: {name} must be {want}, got shape {tuple(arr.shape)}")
