"""Convolution and pooling layers over (C, H, W) examples."""

from __future__ import annotations

import math

from .. import functional as F
from . import walk
from .base import Layer, Shape, ShapeError, as_pair, positive
from .dense import check_init, weight_and_bias


def _spatial(layer: Layer, input_shape: Shape) -> None:
    if len(input_shape) != 3:
        raise ShapeError(f"expects (channels, height, width) per example but gets {input_shape}")


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else str(pair)


class _Walkable(Layer):
    """A conv or pooling layer only computes; stepped into on an input up to 16 x 16, it is
    walked position by position by a ``walk.Walk``, kept here while it is shown."""

    stepped_walk: walk.Walk | None = None  # the walk of the last stepped pass

    @property
    def walk_cell(self) -> walk.Cell | None:
        """The position worked out by hand last (for the interface), or None."""
        return None if self.stepped_walk is None else self.stepped_walk.cell

    def forward_steps(self, x):
        self.stepped_walk = walk.Walk.of(self)
        return None if self.stepped_walk is None else self.stepped_walk.forward(x)

    def backward_steps(self, dy):
        self.stepped_walk = walk.Walk.of(self)
        return None if self.stepped_walk is None else self.stepped_walk.backward(dy)


class Conv2d(_Walkable):
    """Cross-correlation with ``filters`` kernels, like torch.nn.Conv2d.

    W (filters, in_channels/groups, KH, KW), b (filters,). ``in_channels`` may be left out and
    taken from the layer before; given, it is checked when the model is built.
    """

    kind = "conv"
    penalised = ("W",)

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        in_channels: int | None = None,
        *,
        bias: bool = True,
        init: str = "default",
        init_std: float = 1.0,
        name: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(name=name, frozen=frozen)
        self.filters = positive("Conv2d filters", filters)
        self.kernel_size = as_pair("kernel_size", kernel_size, 1)
        self.stride = as_pair("stride", stride, 1)
        self.padding = as_pair("padding", padding, 0)
        self.dilation = as_pair("dilation", dilation, 1)
        self.groups = positive("groups", groups)
        self.in_channels = None if in_channels is None else positive("in_channels", in_channels)
        if self.filters % self.groups:
            raise ValueError(f"groups={self.groups} must divide filters={self.filters}")
        self.bias = bool(bias)
        self.init = check_init(init)
        self.init_std = float(init_std)

    def infer(self, input_shape):
        _spatial(self, input_shape)
        channels = input_shape[0]
        if self.in_channels is not None and channels != self.in_channels:
            raise ShapeError(
                f"was declared with in_channels={self.in_channels}, so it expects "
                f"{(self.in_channels, *input_shape[1:])} but gets {input_shape}"
            )
        if channels % self.groups:
            raise ShapeError(
                f"groups={self.groups} must divide the input channels, but the input is "
                f"{input_shape}"
            )
        kh, kw = self.kernel_size
        dh, dw = self.dilation
        out = [
            (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, k, s, p, d in zip(
                input_shape[1:], (kh, kw), self.stride, self.padding, (dh, dw), strict=True
            )
        ]
        if min(out) < 1:
            padded = tuple(s + 2 * p for s, p in zip(input_shape[1:], self.padding, strict=True))
            raise ShapeError(
                f"its {kh}x{kw} kernel (dilation {_pair_text(self.dilation)}) does not fit in the "
                f"padded input {padded}; the input is {input_shape}"
            )
        return (self.filters, *out)

    def param_shapes(self):
        shapes = {
            "W": (self.filters, self.input_shape[0] // self.groups, *self.kernel_size),
        }
        if self.bias:
            shapes["b"] = (self.filters,)
        return shapes

    def initial_params(self, rng):
        shape = self.param_shapes()["W"]
        return weight_and_bias(self.init, self.init_std, shape, self.bias, rng)

    def _geometry(self):
        return self.stride, self.padding, self.dilation, self.groups

    #: the largest im2col matrix kept from forward for backward (bigger ones are rebuilt)
    KEEP_COLUMNS_BYTES = 64 * 2**20

    def compute(self, x):
        per_output = (self.input_shape[0] * math.prod(self.kernel_size)) * x.dtype.itemsize
        keep = per_output * x.shape[0] * math.prod(self.output_shape[1:]) <= self.KEEP_COLUMNS_BYTES
        W, b = self.params["W"], self.params.get("b")
        if walk.walkable(self, self.input_shape):  # small: keep the weights this pass used,
            self.forward_params = {k: v.copy() for k, v in self.params.items()}  # for walks
        # dropped first: conv2d reuses the last pass's matrix when nothing holds it any more
        # (a fresh one above 32 MB is paid for in page faults, see kernels.scratch.recycled)
        self.cache = None
        if keep:
            y, self.cache = F.conv2d(x, W, b, *self._geometry(), keep_columns=True)
            return y
        return F.conv2d(x, W, b, *self._geometry())  # the columns are rebuilt in backward

    def differentiate(self, dy):
        dx, dw, db = F.conv2d_backward(
            dy,
            self.input,
            self.params["W"],
            *self._geometry(),
            columns=self.cache,
            input_grad=self.needs_input_grad,
        )
        self.raw_weight_grad = dw  # before any penalty: what the by-hand walk of dW reproduces
        grads = {"W": dw}
        if self.bias:
            grads["b"] = db
        return dx, grads

    def macs(self):
        per_output = (self.input_shape[0] // self.groups) * math.prod(self.kernel_size)
        return math.prod(self.output_shape) * per_output

    def window(self):
        return self.kernel_size, self.stride, self.dilation

    def options(self):
        text = f"{self.filters}, {_pair_text(self.kernel_size)}"
        for key, default in (("stride", 1), ("padding", 0), ("dilation", 1)):
            value = getattr(self, key)
            if value != (default, default):
                text += f", {key}={_pair_text(value)}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if not self.bias:
            text += ", bias=False"
        if self.init != "default":
            text += f", init={self.init!r}"
        return text


class _Pool(_Walkable):
    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        ceil_mode: bool = False,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.kernel_size = as_pair("kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else as_pair("stride", stride, 1)
        self.padding = as_pair("padding", padding, 0)
        self.ceil_mode = bool(ceil_mode)

    def infer(self, input_shape):
        _spatial(self, input_shape)
        try:
            shape = F.pool_output_shape(
                (1, *input_shape), self.kernel_size, self.stride, self.padding, self.ceil_mode
            )
        except ValueError as err:
            raise ShapeError(f"{str(err).split(': ', 1)[1]}; the input is {input_shape}") from None
        return shape[1:]

    def _args(self):
        return self.kernel_size, self.stride, self.padding, self.ceil_mode

    def elementwise_flops(self):
        return self._output_elements() * math.prod(self.kernel_size)

    def window(self):
        return self.kernel_size, self.stride, (1, 1)

    def options(self):
        text = _pair_text(self.kernel_size)
        if self.stride != self.kernel_size:
            text += f", stride={_pair_text(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_pair_text(self.padding)}"
        if self.ceil_mode:
            text += ", ceil_mode=True"
        return text


class MaxPool2d(_Pool):
    """Maximum over each window (torch.nn.MaxPool2d); backward routes to the argmax cell."""

    kind = "maxpool"

    def compute(self, x):
        y, self.cache = F.max_pool2d(x, *self._args())  # cache: argmax, flat h*W+w per output
        return y

    def differentiate(self, dy):
        return F.max_pool2d_backward(dy, self.cache, self.input.shape), {}


class AvgPool2d(_Pool):
    """Mean over each window (torch.nn.AvgPool2d); backward spreads the gradient evenly."""

    kind = "avgpool"

    def __init__(self, *args, count_include_pad: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.count_include_pad = bool(count_include_pad)

    def compute(self, x):
        return F.avg_pool2d(x, *self._args(), count_include_pad=self.count_include_pad)

    def differentiate(self, dy):
        dx = F.avg_pool2d_backward(
            dy, self.input.shape, *self._args(), count_include_pad=self.count_include_pad
        )
        return dx, {}

    def options(self):
        text = super().options()
        return text if self.count_include_pad else text + ", count_include_pad=False"


class GlobalAvgPool2d(AvgPool2d):
    """Average over the whole feature map: (C, H, W) -> (C, 1, 1), as the GoogLeNet and ResNet
    heads (torch's AdaptiveAvgPool2d(1))."""

    kind = "gap"

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(1, name=name)

    def infer(self, input_shape):
        _spatial(self, input_shape)
        self.kernel_size = self.stride = (input_shape[1], input_shape[2])
        return (input_shape[0], 1, 1)

    def options(self):
        return ""
