"""Central finite differences and the comparisons the tests share."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def numerical_gradient(
    f: Callable[[], float], arrays: Sequence[np.ndarray], index: int, eps: float = 1e-6
) -> np.ndarray:
    """d f / d arrays[index] by central differences; the arrays are perturbed in place and
    restored, so ``f`` must read them on every call."""
    a = arrays[index]
    grad = np.zeros_like(a, dtype=np.float64)
    for idx in np.ndindex(*a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = f()
        a[idx] = old - eps
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| / max(|a| + |n|), with a floor so exact zeros compare as zero error."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    scale = max(np.max(np.abs(analytic) + np.abs(numeric), initial=0.0), 1e-8)
    return float(np.max(np.abs(analytic - numeric), initial=0.0) / scale)


def assert_gradients_match(
    forward: Callable[[], np.ndarray],
    analytic: Sequence[np.ndarray],
    arrays: Sequence[np.ndarray],
    dy: np.ndarray,
    names: Sequence[str],
    tolerance: float = 1e-7,
) -> None:
    """Check every analytic gradient of L = sum(forward() * dy) against central differences."""

    def objective() -> float:
        return float(np.sum(forward() * dy))

    for i, (grad, name) in enumerate(zip(analytic, names, strict=True)):
        numeric = numerical_gradient(objective, arrays, i)
        err = relative_error(grad, numeric)
        assert err < tolerance, f"d/d{name}: relative error {err:.2e} >= {tolerance:.0e}"
