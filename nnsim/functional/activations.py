"""Element-wise activations, their common backward, softmax, log_softmax and maxout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..kernels import activations as k
from ..kernels import softmax as ks
from . import _checks as check

ACTIVATIONS = ("sigmoid", "tanh", "relu", "softsign", "softplus", "leaky_relu", "elu")

#: the activations that take a parameter, alpha, and its default in each (as in their signatures)
_DEFAULT_ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def _elementwise(fn: str, x: Any, run: Callable[[np.ndarray, np.ndarray], None]) -> np.ndarray:
    x = check.primary(fn, "x", x)
    y = np.empty_like(x)
    run(x.ravel(), y.ravel())  # views: both C-contiguous
    return y


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), computed without overflow for any x; range (0, 1), f'(0) = 0.25."""
    return _elementwise("sigmoid", x, k.sigmoid_forward)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent; range (-1, 1), zero-centred, f'(0) = 1."""
    return _elementwise("tanh", x, k.tanh_forward)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0); NaN stays NaN."""
    return _elementwise("relu", x, k.relu_forward)


def softsign(x: np.ndarray) -> np.ndarray:
    """x / (1 + |x|); range (-1, 1), saturating polynomially rather than exponentially."""
    return _elementwise("softsign", x, k.softsign_forward)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x), the identity above x = 20 as in PyTorch."""
    return _elementwise("softplus", x, k.softplus_forward)


def leaky_relu(x: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    """x for x > 0, alpha x otherwise."""
    alpha = check.real("leaky_relu", "alpha", alpha)
    return _elementwise("leaky_relu", x, lambda a, out: k.leaky_relu_forward(a, alpha, out))


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x for x > 0, alpha (e^x - 1) otherwise."""
    alpha = check.real("elu", "alpha", alpha)
    return _elementwise("elu", x, lambda a, out: k.elu_forward(a, alpha, out))


def activation_backward(
    name: str, dy: np.ndarray, x: np.ndarray, y: np.ndarray, **params: float
) -> np.ndarray:
    """dx for the activation ``name`` given its input x, its output y and dy.

    ``params`` carries ``alpha`` for leaky_relu and elu. Each derivative uses whichever of x and
    y gives it exactly (sigmoid: y (1 - y); tanh: 1 - y^2; relu: x > 0; ...).
    """
    fn = "activation_backward"
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"{fn}: unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
        )
    if params:
        unknown = set(params) - ({"alpha"} if name in _DEFAULT_ALPHA else set())
        if unknown:
            raise ValueError(f"{fn}: {name} takes no parameter {', '.join(sorted(unknown))}")
    if name in _DEFAULT_ALPHA:
        alpha = check.real(fn, "alpha", params.get("alpha", _DEFAULT_ALPHA[name]))
    x = check.primary(fn, "x", x)
    dy = check.secondary(fn, "dy", dy, x.dtype)
    y = check.secondary(fn, "y", y, x.dtype)
    if dy.shape != x.shape or y.shape != x.shape:
        check.same_shape(fn, "x", x, "dy", dy)
        check.same_shape(fn, "x", x, "y", y)
    dx = np.empty_like(x)
    # all C-contiguous, so ravel() gives views (and costs half of reshape(-1))
    fx, fy, fdy, fdx = x.ravel(), y.ravel(), dy.ravel(), dx.ravel()
    if name == "sigmoid":
        k.sigmoid_backward(fdy, fy, fdx)
    elif name == "tanh":
        k.tanh_backward(fdy, fy, fdx)
    elif name == "relu":
        k.relu_backward(fdy, fx, fdx)
    elif name == "softsign":
        k.softsign_backward(fdy, fx, fdx)
    elif name == "softplus":
        k.softplus_backward(fdy, fx, fdx)
    elif name == "leaky_relu":
        k.leaky_relu_backward(fdy, fx, alpha, fdx)
    else:
        k.elu_backward(fdy, fx, alpha, fdx)
    return dx


def _along_last(fn: str, x: Any, axis: int) -> tuple[np.ndarray, int]:
    x = check.primary(fn, "x", x)
    if x.ndim == 0:
        raise ValueError(f"{fn}: x must have at least one axis, got shape {x.shape}")
    return x, check.axis(fn, axis, x.ndim, x.shape)


def _rowwise(x: np.ndarray, axis: int, kernel, *others: np.ndarray) -> np.ndarray:
    moved = [np.ascontiguousarray(np.moveaxis(a, axis, -1)) for a in (x, *others)]
    out = np.empty_like(moved[0])
    cols = moved[0].shape[-1]
    kernel(*(m.reshape(-1, cols) for m in moved), out.reshape(-1, cols))
    return np.moveaxis(out, -1, axis)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """e^x / sum e^x along ``axis``, max-subtracted: finite for any finite input."""
    x, axis = _along_last("softmax", x, axis)
    if x.shape[axis] == 0:
        return x.copy()
    return np.ascontiguousarray(_rowwise(x, axis, ks.softmax_forward))


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - log(sum e^x) along ``axis``, max-subtracted."""
    x, axis = _along_last("log_softmax", x, axis)
    if x.shape[axis] == 0:
        return x.copy()
    return np.ascontiguousarray(_rowwise(x, axis, ks.log_softmax_forward))


def softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx given the softmax output y: y * (dy - sum(dy * y))."""
    y, axis = _along_last("softmax_backward", y, axis)
    dy = check.secondary("softmax_backward", "dy", dy, y.dtype)
    check.same_shape("softmax_backward", "y", y, "dy", dy)
    return np.ascontiguousarray(_rowwise(dy, axis, ks.softmax_backward, y))


def log_softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx given the log_softmax output y: dy - e^y * sum(dy)."""
    y, axis = _along_last("log_softmax_backward", y, axis)
    dy = check.secondary("log_softmax_backward", "dy", dy, y.dtype)
    check.same_shape("log_softmax_backward", "y", y, "dy", dy)
    return np.ascontiguousarray(_rowwise(dy, axis, ks.log_softmax_backward, y))


def maxout(x: np.ndarray, pieces: int) -> np.ndarray:
    """x (N, D*pieces) -> (N, D): the max over consecutive groups of ``pieces`` units."""
    x, pieces = _maxout_args("maxout", x, pieces)
    y = np.empty((x.shape[0], x.shape[1] // pieces), dtype=x.dtype)
    ks.maxout_forward(x, pieces, y)
    return y


def maxout_backward(dy: np.ndarray, x: np.ndarray, pieces: int) -> np.ndarray:
    """dx (N, D*pieces): each group's gradient goes to its (first) maximum."""
    x, pieces = _maxout_args("maxout_backward", x, pieces)
    dy = check.secondary("maxout_backward", "dy", dy, x.dtype, ndim=2)
    expected = (x.shape[0], x.shape[1] // pieces)
    if dy.shape != expected:
        raise ValueError(
            f"maxout_backward: dy must be {expected} for x with pieces={pieces}; "
            f"x {x.shape}, dy {dy.shape}"
        )
    dx = np.empty_like(x)
    ks.maxout_backward(dy, x, pieces, dx)
    return dx


def _maxout_args(fn: str, x: Any, pieces: Any) -> tuple[np.ndarray, int]:
    x = check.primary(fn, "x", x, ndim=2)
    pieces = check.positive_int(fn, "pieces", pieces)
    if x.shape[1] % pieces:
        raise ValueError(
            f"{fn}: x's {x.shape[1]} features do not split into groups of pieces={pieces}; "
            f"x {x.shape}"
        )
    return x, pieces
