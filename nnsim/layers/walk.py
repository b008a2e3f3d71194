"""Convolution and pooling worked out by hand, one output position at a time.

Each cell reads the layer's real arrays after the kernel has run (its input, weights, output
and gradients) and lays out what a learner would write on paper for the first example of the
batch: the input window, the kernel, their element-wise products and the sum plus bias, next
to the value the kernel wrote. ``walk_error`` compares the two over every position: the by-hand
arithmetic and the Numba kernels agree to rounding.

Backward cells show where gradients come from: dW as the correlation of the input with dY,
dX as the full convolution of dY with the flipped kernel (stride 1, dilation 1, one group),
and for pooling the routing of each output gradient to the argmax cell (max) or evenly over
the window (average).

Stepping into such a layer runs a ``Walk``: the layer only computes, and the walk, created for
the layer when it is stepped into, runs the kernel in one micro-op, then shows one position per
micro-op and holds the cell shown (``Walk.cell``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..i18n import N_
from .steps import Op, Program

MAX_SIDE = 16  # inputs up to 16 x 16 are walked; larger ones run whole
POOLS = ("maxpool", "avgpool", "gap")


@dataclass(frozen=True)
class Cell:
    """One position worked out by hand. ``operands`` are named (rows, cols) planes or stacks
    (channels, rows, cols), shown side by side; ``terms`` their element-wise products (or the
    routed gradient); ``computed`` what the by-hand arithmetic gives and ``kernel`` the value
    the layer's kernel wrote at ``target``."""

    title: str
    operands: tuple[tuple[str, np.ndarray], ...]
    terms: np.ndarray | None
    formula: str
    computed: float
    kernel: float
    target: str


def walkable(layer, shape: tuple[int, ...]) -> bool:
    """Whether a conv or pooling layer's pass is walked: (C, H, W) inputs up to 16 x 16."""
    return len(shape) == 3 and max(shape[1:]) <= MAX_SIDE


def _weights(layer) -> dict[str, np.ndarray]:
    """The weights of the last forward pass (the optimiser may have moved them since)."""
    return getattr(layer, "forward_params", None) or layer.params


def _padded(x: np.ndarray, padding: tuple[int, int], value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    return np.pad(x, ((0, 0), (ph, ph), (pw, pw)), constant_values=value)  # (C, H+2ph, W+2pw)


# ---------------------------------------------------------------- convolution forward


def conv_positions(layer) -> int:
    """Output values of the first example: filters x H_out x W_out."""
    return math.prod(layer.output_shape)


def conv_cell(layer, k: int) -> Cell:
    """Output value k (filter, row, col) of example 0: window · kernel + bias."""
    filters, rows, cols = layer.output_shape
    f, i, j = np.unravel_index(k, (filters, rows, cols))
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_size, layer.stride, layer.dilation
    per_group = layer.input_shape[0] // layer.groups
    group = f // (filters // layer.groups)
    x = _padded(layer.input[0], layer.padding)[group * per_group : (group + 1) * per_group]
    top, left = i * sh, j * sw
    window = x[:, top : top + dh * (kh - 1) + 1 : dh, left : left + dw * (kw - 1) + 1 : dw]
    weights = _weights(layer)
    kernel = weights["W"][f]  # (C/groups, kh, kw)
    bias = float(weights["b"][f]) if "b" in weights else 0.0
    products = window * kernel
    total = float(products.sum()) + bias
    channels = "" if per_group == 1 else f" over input channels {group * per_group}.."
    channels += "" if per_group == 1 else f"{(group + 1) * per_group - 1}"
    return Cell(
        f"{layer.name}: filter {f}, output ({i}, {j}){channels}",
        (("input window", window), ("kernel", kernel)),
        products,
        f"Σ window × kernel = {float(products.sum()):.6g}  + bias {bias:.6g}",
        total,
        float(layer.output[0, f, i, j]),
        f"output[0, {f}, {i}, {j}]",
    )


# ---------------------------------------------------------------- convolution backward


def conv_weight_positions(layer) -> int:
    return int(layer.params["W"].size)


def conv_weight_cell(layer, k: int, raw_dw: np.ndarray) -> Cell:
    """dW[f, c, p, q]: the input, shifted by (p, q), correlated with dY of filter f (summed
    over the batch; example 0's products shown)."""
    filters, per_group, kh, kw = layer.params["W"].shape
    f, c, p, q = np.unravel_index(k, (filters, per_group, kh, kw))
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    _, rows, cols = layer.output_shape
    channel = (f // (filters // layer.groups)) * per_group + c
    x = np.stack([_padded(example, layer.padding)[channel] for example in layer.input])
    shifted = x[
        :, p * dh : p * dh + sh * (rows - 1) + 1 : sh, q * dw : q * dw + sw * (cols - 1) + 1 : sw
    ]
    dy = layer.output_grad[:, f]  # (N, rows, cols)
    products = shifted * dy
    others = float(products[1:].sum())
    formula = f"Σ input × dY = {float(products[0].sum()):.6g} (example 1)"
    if len(products) > 1:
        formula += f"  + {others:.6g} (examples 2..{len(products)})"
    return Cell(
        f"{layer.name}: dW[{f}, {c}, {p}, {q}] = input channel {channel} shifted by ({p}, {q}) "
        f"· dY of filter {f}",
        (("input, shifted", shifted[0]), ("dY", dy[0])),
        products[0],
        formula,
        float(products.sum()),
        float(raw_dw[f, c, p, q]),
        f"grads W[{f}, {c}, {p}, {q}] (before any penalty)",
    )


def conv_input_walkable(layer) -> bool:
    """dX as a full convolution with the flipped kernel: stride 1, dilation 1, one group."""
    simple = layer.stride == (1, 1) and layer.dilation == (1, 1) and layer.groups == 1
    return simple and isinstance(layer.input_grad, np.ndarray)


def conv_input_positions(layer) -> int:
    return math.prod(layer.input_shape)


def conv_input_cell(layer, k: int) -> Cell:
    """dX[0, c, a, b] = Σ full-padded dY (window at (a + P, b + P)) × the flipped kernel."""
    channels, height, width = layer.input_shape
    c, a, b = np.unravel_index(k, (channels, height, width))
    kh, kw = layer.kernel_size
    ph, pw = layer.padding
    dy = np.pad(layer.output_grad[0], ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))  # full
    window = dy[:, a + ph : a + ph + kh, b + pw : b + pw + kw]  # (filters, kh, kw)
    flipped = _weights(layer)["W"][:, c, ::-1, ::-1]  # (filters, kh, kw)
    products = window * flipped
    return Cell(
        f"{layer.name}: dX[0, {c}, {a}, {b}] = dY (zero-padded by k - 1) · the flipped kernel",
        (("dY window", window), ("kernel, flipped", flipped)),
        products,
        f"Σ dY × flipped kernel = {float(products.sum()):.6g}",
        float(products.sum()),
        float(layer.input_grad[0, c, a, b]),
        f"input_grad[0, {c}, {a}, {b}]",
    )


# ---------------------------------------------------------------- pooling


def pool_walkable(layer, shape: tuple[int, ...]) -> bool:
    """Pooling is walked without ceil_mode, and average pooling without padding (where the
    divisor would depend on count_include_pad)."""
    if not walkable(layer, shape) or layer.ceil_mode:
        return False
    return layer.kind == "maxpool" or layer.padding == (0, 0)


def pool_positions(layer) -> int:
    return math.prod(layer.output_shape)


def _pool_window(layer, c: int, i: int, j: int):
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    fill = -np.inf if layer.kind == "maxpool" else 0.0
    x = _padded(layer.input[0][c : c + 1], layer.padding, fill)[0]  # (H + 2P, W + 2P)
    return x[i * sh : i * sh + kh, j * sw : j * sw + kw], (i * sh, j * sw)


def pool_cell(layer, k: int) -> Cell:
    channels, rows, cols = layer.output_shape
    c, i, j = np.unravel_index(k, (channels, rows, cols))
    window, _ = _pool_window(layer, c, i, j)
    if layer.kind == "maxpool":
        computed, formula = float(window.max()), f"max of the window = {float(window.max()):.6g}"
    else:
        computed = float(window.mean())
        formula = f"Σ window / {window.size} = {computed:.6g}"
    return Cell(
        f"{layer.name}: channel {c}, output ({i}, {j})",
        (("input window", window),),
        None,
        formula,
        computed,
        float(layer.output[0, c, i, j]),
        f"output[0, {c}, {i}, {j}]",
    )


def pool_grad_cell(layer, k: int) -> Cell:
    """Where dY[0, c, i, j] goes: all of it to the argmax cell (max), or dY / k² to every
    cell of the window (average). ``computed`` is the total routed, equal to dY."""
    channels, rows, cols = layer.output_shape
    c, i, j = np.unravel_index(k, (channels, rows, cols))
    window, (top, left) = _pool_window(layer, c, i, j)
    dy = float(layer.output_grad[0, c, i, j])
    if layer.kind == "maxpool":
        routed = np.zeros_like(window)
        r, s = np.unravel_index(int(np.argmax(window)), window.shape)
        routed[r, s] = dy
        where = f"to the max, input ({top + r - layer.padding[0]}, {left + s - layer.padding[1]})"
    else:
        routed = np.full_like(window, dy / window.size)
        where = f"spread evenly: dY / {window.size} to each cell"
    return Cell(
        f"{layer.name}: dY[0, {c}, {i}, {j}] = {dy:.6g} flows back {where}",
        (("input window", window),),
        routed,
        f"routed in total: {float(routed.sum()):.6g}",
        float(routed.sum()),
        dy,
        f"output_grad[0, {c}, {i}, {j}]",
    )


def pool_routing_error(layer) -> float:
    """Everything routed by hand, summed into an input-shaped array, against the kernel's
    input_grad for example 0 (the largest difference)."""
    routed = _padded(np.zeros(layer.input_shape), layer.padding)  # (C, H + 2P, W + 2P)
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    for k in range(pool_positions(layer)):
        c, i, j = np.unravel_index(k, layer.output_shape)
        routed[c, i * sh : i * sh + kh, j * sw : j * sw + kw] += pool_grad_cell(layer, k).terms
    ph, pw = layer.padding
    inside = routed[:, ph : ph + layer.input_shape[1], pw : pw + layer.input_shape[2]]
    return float(np.max(np.abs(inside - layer.input_grad[0])))


# ---------------------------------------------------------------- the whole walk checked


def walk_error(layer) -> float:
    """The largest |by-hand - kernel| over every forward position of example 0; NaN for a
    layer that is not walked or has not run."""
    if layer.output is None or not walkable(layer, layer.input_shape):
        return math.nan
    if layer.kind == "conv":
        cells = [conv_cell(layer, k) for k in range(conv_positions(layer))]
    elif layer.kind in POOLS and pool_walkable(layer, layer.input_shape):
        cells = [pool_cell(layer, k) for k in range(pool_positions(layer))]
    else:
        return math.nan
    return max(abs(cell.computed - cell.kernel) for cell in cells)


def grad_walk_error(layer) -> float:
    """The same for the backward pass: dW and (where walked) dX of a convolution, or the
    routing of a pooling layer against its input gradient; NaN before a backward pass."""
    if layer.output_grad is None or not walkable(layer, layer.input_shape):
        return math.nan
    if layer.kind == "conv":
        raw = getattr(layer, "raw_weight_grad", None)
        if raw is None:
            return math.nan
        errors = [
            abs(cell.computed - cell.kernel)
            for cell in (
                conv_weight_cell(layer, k, raw) for k in range(conv_weight_positions(layer))
            )
        ]
        if conv_input_walkable(layer):
            errors += [
                abs(cell.computed - cell.kernel)
                for cell in (conv_input_cell(layer, k) for k in range(conv_input_positions(layer)))
            ]
        return max(errors)
    if layer.kind in POOLS and pool_walkable(layer, layer.input_shape):
        if not isinstance(layer.input_grad, np.ndarray):
            return math.nan
        return pool_routing_error(layer)
    return math.nan


# ---------------------------------------------------------------- stepping through the positions

Positions = tuple[str, int, Callable[[int], Cell]]  # (label, how many, the cell of position k)


class Walk:
    """A conv or pooling layer stepped into: the kernel computes the whole batch (or the
    gradients) in one micro-op, then each position of the first example is worked out by hand
    in a micro-op of its own. ``cell`` is the position shown last: None before the first, kept
    after a forward walk ends and cleared when a backward walk ends."""

    def __init__(self, layer) -> None:
        self.layer = layer
        self.cell: Cell | None = None

    @staticmethod
    def of(layer) -> Walk | None:
        """The walk for stepping into ``layer``; None where the layer runs whole (not a conv or
        pooling layer, an input over 16 x 16, or a pooling mode that is not walked)."""
        if layer.kind == "conv" and walkable(layer, layer.input_shape):
            return ConvWalk(layer)
        if layer.kind in POOLS and pool_walkable(layer, layer.input_shape):
            return PoolWalk(layer)
        return None

    def forward_positions(self) -> Positions:
        raise NotImplementedError

    def backward_positions(self) -> Iterator[Positions]:
        """Read once the kernel's gradients exist."""
        raise NotImplementedError

    def _show(self, cell: Cell) -> Cell:
        self.cell = cell
        return cell

    def forward(self, x: np.ndarray) -> Program:
        """The forward pass as a step program (see layers/steps.py)."""
        layer = self.layer
        layer.materialize()
        layer.input = x
        self.cell = None
        y = yield Op(N_("the kernel computes the whole batch"), lambda: layer.compute(x))
        layer.output = y
        what, positions, cell_of = self.forward_positions()
        for k in range(positions):
            yield Op(f"{what} {k + 1} of {positions}", lambda k=k: self._show(cell_of(k)))
        yield Op(N_("every position worked out: leave the layer"), lambda: None)
        return y

    def backward(self, dy: np.ndarray) -> Program:
        """The backward pass as a step program."""
        layer = self.layer
        layer.output_grad = dy
        self.cell = None
        dx, grads = yield Op(
            N_("the kernel computes the gradients"), lambda: layer.differentiate(dy)
        )
        dx = layer.keep_gradients(dx, grads)
        for what, positions, cell_of in self.backward_positions():
            for k in range(positions):
                yield Op(f"{what} {k + 1} of {positions}", lambda k=k, f=cell_of: self._show(f(k)))
        self.cell = None
        return dx


class ConvWalk(Walk):
    def forward_positions(self) -> Positions:
        return "position", conv_positions(self.layer), lambda k: conv_cell(self.layer, k)

    def backward_positions(self) -> Iterator[Positions]:
        layer = self.layer
        raw = layer.raw_weight_grad
        yield "dW", conv_weight_positions(layer), lambda k: conv_weight_cell(layer, k, raw)
        if conv_input_walkable(layer):
            yield "dX", conv_input_positions(layer), lambda k: conv_input_cell(layer, k)


class PoolWalk(Walk):
    def forward_positions(self) -> Positions:
        return "position", pool_positions(self.layer), lambda k: pool_cell(self.layer, k)

    def backward_positions(self) -> Iterator[Positions]:
        yield "dY", pool_positions(self.layer), lambda k: pool_grad_cell(self.layer, k)
