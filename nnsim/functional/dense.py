"""linear and linear_backward: y = x W^T + b, x (N, D), W (H, D), b (H,)."""

from __future__ import annotations

import numpy as np

from ..kernels import dense as k
from . import _checks as check


def linear(x: np.ndarray, W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """y (N, H) = x (N, D) @ W (H, D)^T + b (H,); b may be None."""
    x = check.primary("linear", "x", x, ndim=2)
    W = check.secondary("linear", "W", W, x.dtype, ndim=2)
    if W.shape[1] != x.shape[1]:
        raise ValueError(
            f"linear: x has {x.shape[1]} features but W expects {W.shape[1]}; "
            f"x {x.shape}, W {W.shape}"
        )
    if b is not None:
        b = check.secondary("linear", "b", b, x.dtype)
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"linear: b must have one entry per output unit of W; W {W.shape}, b {b.shape}"
            )
    if x.shape[0] * W.shape[0] * x.itemsize > check.MAX_ARRAY_BYTES:  # (shape ints: no wrap)
        check.allocation("linear", "the output", (x.shape[0], W.shape[0]), x.dtype)
    return k.dense_forward(x, W, b)


def linear_backward(
    dy: np.ndarray, x: np.ndarray, W: np.ndarray, *, input_grad: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients (dx (N, D), dW (H, D), db (H,)) of y = x W^T + b given dy (N, H).

    ``input_grad=False`` skips dx (returned as None), a third of the work, for a model's first
    layer, as ``conv2d_backward`` does.
    """
    x = check.primary("linear_backward", "x", x, ndim=2)
    dy = check.secondary("linear_backward", "dy", dy, x.dtype, ndim=2)
    W = check.secondary("linear_backward", "W", W, x.dtype, ndim=2)
    if W.shape[1] != x.shape[1]:
        raise ValueError(
            f"linear_backward: x has {x.shape[1]} features but W expects {W.shape[1]}; "
            f"x {x.shape}, W {W.shape}"
        )
    if dy.shape != (x.shape[0], W.shape[0]):
        raise ValueError(
            f"linear_backward: dy must be (N, H) = {(x.shape[0], W.shape[0])}; "
            f"x {x.shape}, W {W.shape}, dy {dy.shape}"
        )
    return k.dense_backward(dy, x, W, bool(input_grad))
