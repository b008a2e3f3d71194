"""Max and average pooling over (N, C, H, W), with PyTorch's output-size and divisor rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..kernels import pool as k
from . import _checks as check

IntPair = int | tuple[int, int]


def pool_output_size(size: int, k_: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """PyTorch's pooling size: floor or ceil of (size + 2 pad - k) / stride, plus one; with
    ceil_mode a last window that would start in the right padding is dropped."""
    fn = "pool_output_size"
    return _output_size(
        check.integer(fn, "size", size, 0),
        check.integer(fn, "k_", k_, 1),
        check.integer(fn, "stride", stride, 1),
        check.integer(fn, "pad", pad, 0),
        bool(ceil_mode),
    )


def _output_size(size: int, k_: int, stride: int, pad: int, ceil_mode: bool) -> int:
    span = size + 2 * pad - k_
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def max_pool2d(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """y (N, C, OH, OW) and argmax (N, C, OH, OW), the flat index h * W + w of each maximum.

    Padding counts as -inf; ties go to the first maximum in row-major window order.
    """
    x, geometry, out_hw = _prepare("max_pool2d", x, kernel_size, stride, padding, ceil_mode)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    argmax = np.empty(y.shape, dtype=np.int64)
    k.max_pool2d_forward(x, *geometry, y, argmax)
    return y, argmax


def max_pool2d_backward(
    dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, int, int, int]
) -> np.ndarray:
    """dx (x_shape): each output gradient goes to the cell its window took the maximum from."""
    fn = "max_pool2d_backward"
    dy = check.primary(fn, "dy", dy, ndim=4)
    argmax = check.integers(fn, "argmax", argmax)
    x_shape = check.shape(fn, "x_shape", x_shape, 4)
    if argmax.shape != dy.shape:
        raise ValueError(
            f"{fn}: argmax must be shaped like dy; dy {dy.shape}, argmax {argmax.shape}"
        )
    if x_shape[:2] != dy.shape[:2]:
        raise ValueError(
            f"{fn}: x_shape must be (N, C, H, W) with the N and C of dy; "
            f"dy {dy.shape}, x_shape {x_shape}"
        )
    if argmax.size and (argmax.min() < 0 or argmax.max() >= x_shape[2] * x_shape[3]):
        raise ValueError(
            f"max_pool2d_backward: argmax holds an index outside the {x_shape[2]}x{x_shape[3]} "
            f"input plane; dy {dy.shape}, x_shape {x_shape}"
        )
    check.allocation(fn, "dx", x_shape, dy.dtype)
    dx = np.empty(x_shape, dtype=dy.dtype)  # zeroed by the kernel, plane by plane
    k.max_pool2d_backward(dy, argmax, dx)
    return dx


def avg_pool2d(
    x: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """y (N, C, OH, OW): window means, with the divisor rules of PyTorch's avg_pool2d."""
    x, geometry, out_hw = _prepare("avg_pool2d", x, kernel_size, stride, padding, ceil_mode)
    y = np.empty((*x.shape[:2], *out_hw), dtype=x.dtype)
    k.avg_pool2d_forward(x, *geometry, bool(count_include_pad), y)
    return y


def avg_pool2d_backward(
    dy: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """dx (x_shape): each output gradient spread evenly over its window."""
    fn = "avg_pool2d_backward"
    dy = check.primary(fn, "dy", dy, ndim=4)
    x_shape = check.shape(fn, "x_shape", x_shape, 4)
    geometry, out_hw = _geometry(fn, x_shape, kernel_size, stride, padding, ceil_mode)
    expected = (*x_shape[:2], *out_hw)
    if dy.shape != expected:
        raise ValueError(
            f"{fn}: dy must be {expected} for an input of x_shape; x_shape {x_shape}, dy {dy.shape}"
        )
    check.allocation(fn, "dx", x_shape, dy.dtype)
    dx = np.empty(x_shape, dtype=dy.dtype)  # zeroed by the kernel, plane by plane
    k.avg_pool2d_backward(dy, *geometry, bool(count_include_pad), dx)
    return dx


def pool_output_shape(
    x_shape: tuple[int, int, int, int],
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
) -> tuple[int, int, int, int]:
    """The (N, C, OH, OW) that max_pool2d and avg_pool2d return, with their argument checks."""
    fn = "pool_output_shape"
    x_shape = check.shape(fn, "x_shape", x_shape, 4)
    _, out_hw = _geometry(fn, x_shape, kernel_size, stride, padding, ceil_mode)
    return (x_shape[0], x_shape[1], *out_hw)


def _prepare(fn: str, x: Any, kernel_size, stride, padding, ceil_mode):
    x = check.primary(fn, "x", x, ndim=4)
    geometry, out_hw = _geometry(fn, x.shape, kernel_size, stride, padding, ceil_mode)
    return x, geometry, out_hw


def _geometry(fn, x_shape, kernel_size, stride, padding, ceil_mode):
    kh, kw = check.pair(fn, "kernel_size", kernel_size, 1)
    sh, sw = (kh, kw) if stride is None else check.pair(fn, "stride", stride, 1)
    ph, pw = check.pair(fn, "padding", padding, 0)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(
            f"{fn}: padding must be at most half the kernel size (as in PyTorch); "
            f"kernel_size {(kh, kw)}, padding {(ph, pw)}"
        )
    out_h = _output_size(x_shape[2], kh, sh, ph, bool(ceil_mode))
    out_w = _output_size(x_shape[3], kw, sw, pw, bool(ceil_mode))
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"{fn}: the {kh}x{kw} window does not fit in the padded input "
            f"{(x_shape[2] + 2 * ph, x_shape[3] + 2 * pw)}; x {tuple(x_shape)}"
        )
    check.allocation(fn, "the output", (*x_shape[:2], out_h, out_w), np.float64)
    return (kh, kw, sh, sw, ph, pw), (out_h, out_w)
