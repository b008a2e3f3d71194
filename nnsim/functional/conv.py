"""conv2d and conv2d_backward with stride, zero padding, dilation and groups (PyTorch layout)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..kernels import conv as k
from . import _checks as check

IntPair = int | tuple[int, int]


def conv2d(
    x: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    *,
    keep_columns: bool = False,
):
    """Cross-correlation like ``torch.nn.functional.conv2d``.

    x (N, C, H, W), W (F, C/groups, KH, KW), b (F,) or None -> y (N, F, OH, OW) with
    OH = floor((H + 2 padding - dilation (KH - 1) - 1) / stride) + 1.

    With ``keep_columns`` it returns ``(y, columns)``: the im2col matrices, one per example,
    (N, C*KH*KW, OH*OW), that ``conv2d_backward(..., columns=columns)`` reuses instead of
    building it again (memory for time).
    """
    x, W, geometry = _prepare("conv2d", x, W, stride, padding, dilation, groups)
    if b is not None:
        b = check.secondary("conv2d", "b", b, x.dtype)
        if b.shape != (W.shape[0],):
            raise ValueError(
                f"conv2d: b must have one entry per filter of W; W {W.shape}, b {b.shape}"
            )
    return k.conv2d_forward(x, W, b, *geometry, keep_columns=keep_columns)


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    W: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
    *,
    columns: np.ndarray | None = None,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients (dx, dW, db) of conv2d given dy (N, F, OH, OW).

    ``columns``: the matrix ``conv2d(..., keep_columns=True)`` returned for this x;
    ``input_grad=False`` skips dx (returned as None), half the work, for a first layer.
    """
    x, W, geometry = _prepare("conv2d_backward", x, W, stride, padding, dilation, groups)
    dy = check.secondary("conv2d_backward", "dy", dy, x.dtype, ndim=4)
    expected = (x.shape[0], W.shape[0], *_output_hw(x, W, *geometry[:3]))
    if dy.shape != expected:
        raise ValueError(
            f"conv2d_backward: dy must be {expected} for this x and W; "
            f"x {x.shape}, W {W.shape}, dy {dy.shape}"
        )
    if columns is not None:
        kh, kw = W.shape[2:]
        needed = (x.shape[0], x.shape[1] * kh * kw, expected[2] * expected[3])
        if (
            not isinstance(columns, np.ndarray)
            or columns.shape != needed
            or columns.dtype != x.dtype
            or not columns.flags.c_contiguous
        ):
            got = columns.shape if isinstance(columns, np.ndarray) else type(columns).__name__
            raise ValueError(
                f"conv2d_backward: columns must be the {x.dtype} matrix conv2d kept for this x, "
                f"shape {needed}; got {got}"
            )
    return k.conv2d_backward(dy, x, W, *geometry, cols=columns, need_dx=bool(input_grad))


def conv2d_output_shape(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[int, int, int, int]:
    """The (N, F, OH, OW) that conv2d returns, without computing it."""
    fn = "conv2d_output_shape"
    x_shape = check.shape(fn, "x_shape", x_shape, 4)
    w_shape = check.shape(fn, "w_shape", w_shape, 4)
    s = check.pair(fn, "stride", stride, 1)
    p = check.pair(fn, "padding", padding, 0)
    d = check.pair(fn, "dilation", dilation, 1)
    oh = k.output_size(x_shape[2], w_shape[2], s[0], p[0], d[0])
    ow = k.output_size(x_shape[3], w_shape[3], s[1], p[1], d[1])
    return (x_shape[0], w_shape[0], oh, ow)


def _output_hw(x, W, stride, padding, dilation):
    return (
        k.output_size(x.shape[2], W.shape[2], stride[0], padding[0], dilation[0]),
        k.output_size(x.shape[3], W.shape[3], stride[1], padding[1], dilation[1]),
    )


def _prepare(fn: str, x: Any, W: Any, stride, padding, dilation, groups):
    x = check.primary(fn, "x", x, ndim=4)
    W = check.secondary(fn, "W", W, x.dtype, ndim=4)
    stride = check.pair(fn, "stride", stride, 1)
    padding = check.pair(fn, "padding", padding, 0)
    dilation = check.pair(fn, "dilation", dilation, 1)
    groups = check.positive_int(fn, "groups", groups)
    geometry = (stride, padding, dilation, groups)
    _check_shapes(fn, x.shape, W.shape, x.dtype, *geometry, check.MAX_ARRAY_BYTES)
    return x, W, geometry


@functools.lru_cache(maxsize=256)
def _check_shapes(fn, x_shape, w_shape, dtype, stride, padding, dilation, groups, limit) -> None:
    # the checks that depend on shapes and geometry alone (and the memory limit, a key only),
    # remembered for the shapes a model passes again and again (a refusal raises, and is not
    # remembered): a tiny convolution's whole pass cost about as much as these checks
    channels, filters = x_shape[1], w_shape[0]
    if channels % groups or filters % groups:
        raise ValueError(
            f"{fn}: groups={groups} must divide both the input channels and the filters; "
            f"x {x_shape}, W {w_shape}"
        )
    if w_shape[1] * groups != channels:
        raise ValueError(
            f"{fn}: x has {channels} channels but W expects {w_shape[1]} per group"
            f"{f' x {groups} groups' if groups > 1 else ''}; x {x_shape}, W {w_shape}"
        )
    oh = k.output_size(x_shape[2], w_shape[2], stride[0], padding[0], dilation[0])
    ow = k.output_size(x_shape[3], w_shape[3], stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        padded = (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
        raise ValueError(
            f"{fn}: the kernel (dilated to "
            f"{(dilation[0] * (w_shape[2] - 1) + 1, dilation[1] * (w_shape[3] - 1) + 1)}) "
            f"does not fit in the padded input {padded}; "
            f"x {x_shape}, W {w_shape}"
        )
    n, kh, kw = x_shape[0], w_shape[2], w_shape[3]
    check.allocation(fn, "the output", (n, filters, oh, ow), dtype)
    check.allocation(fn, "the im2col matrix", (n, channels * kh * kw, oh * ow), dtype)
