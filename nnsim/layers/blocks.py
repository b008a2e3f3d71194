"""The blocks Residual and Concat (the helpers every container shares are in sequential.py).

A container is itself a Layer, so blocks nest: a Residual holds a Sequential, a Concat holds
one Sequential per branch. Shapes are threaded through every child when the outermost model is
built, and a child that cannot take its input shape is reported there, by name, with both
shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..i18n import N_
from .base import Layer, ShapeError
from .sequential import as_block, build_child
from .steps import Child, Op, drive


class Residual(Layer):
    """y = block(x) + shortcut(x): an identity shortcut, or a projection (typically a 1x1
    convolution with stride, and batch norm) where the block changes the shape (He et al.)."""

    kind = "res"

    def __init__(
        self,
        block: Layer | Sequence[Layer],
        shortcut: Layer | Sequence[Layer] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.block = as_block(block)
        self.shortcut = None if shortcut is None else as_block(shortcut)

    def children(self):
        return [self.block] + ([self.shortcut] if self.shortcut is not None else [])

    def infer(self, input_shape):
        main = build_child(self.block, input_shape, self.dtype, f"the block's input {input_shape}")
        if self.shortcut is None:
            short, what = input_shape, "the identity shortcut"
        else:
            short = build_child(
                self.shortcut, input_shape, self.dtype, f"the block's input {input_shape}"
            )
            what = f"the shortcut {self.shortcut.name}"
        if main != short:
            raise ShapeError(
                f"adds its branches, but {self.block.name} outputs {main} while {what} gives "
                f"{short}; use a projection shortcut (a 1x1 Conv2d with the block's stride)"
            )
        return main

    def forward_steps(self, x):
        self.materialize()
        self.input = x
        main = yield Child(self.block, x, "forward")
        short = x if self.shortcut is None else (yield Child(self.shortcut, x, "forward"))
        self.output = yield Op(N_("add the shortcut"), lambda: main + short)
        return self.output

    def backward_steps(self, dy):
        self.output_grad = dy
        d_main = yield Child(self.block, dy, "backward")
        d_short = dy if self.shortcut is None else (yield Child(self.shortcut, dy, "backward"))
        self.input_grad = yield Op(N_("add the branch gradients"), lambda: d_main + d_short)
        return self.input_grad

    def compute(self, x):
        return drive(self.forward_steps(x))

    def differentiate(self, dy):
        return drive(self.backward_steps(dy)), {}

    def elementwise_flops(self):
        return self._output_elements()  # the addition

    def options(self):
        return repr(self.block) + ("" if self.shortcut is None else f", shortcut={self.shortcut!r}")


class Concat(Layer):
    """Runs every branch on the same input and joins their outputs along the channel (or
    feature) axis: the Inception module's pattern (Szegedy et al.)."""

    kind = "concat"

    def __init__(self, branches: Sequence[Layer | Sequence[Layer]], *, name: str | None = None):
        super().__init__(name=name)
        self.branches = [as_block(b) for b in branches]
        if len(self.branches) < 2:
            raise ValueError("Concat needs at least two branches")

    def children(self):
        return list(self.branches)

    def infer(self, input_shape):
        shapes = [
            build_child(b, input_shape, self.dtype, f"the block's input {input_shape}")
            for b in self.branches
        ]
        first = shapes[0]
        for branch, shape in zip(self.branches[1:], shapes[1:], strict=True):
            if len(shape) != len(first) or shape[1:] != first[1:]:
                raise ShapeError(
                    f"joins its branches along axis 0, so all other axes must agree, but "
                    f"{self.branches[0].name} outputs {first} and {branch.name} outputs {shape}"
                )
        return (sum(s[0] for s in shapes), *first[1:])

    def forward_steps(self, x):
        self.materialize()
        self.input = x
        outputs = []
        for branch in self.branches:
            outputs.append((yield Child(branch, x, "forward")))
        self.output = yield Op(N_("concatenate"), lambda: np.concatenate(outputs, axis=1))
        return self.output

    def backward_steps(self, dy):
        self.output_grad = dy
        grads, start = [], 0
        for branch in self.branches:
            width = branch.output_shape[0]
            part = np.ascontiguousarray(dy[:, start : start + width])  # this branch's channels
            start += width
            grads.append((yield Child(branch, part, "backward")))
        self.input_grad = yield Op(N_("add the branch gradients"), lambda: sum(grads[1:], grads[0]))
        return self.input_grad

    def compute(self, x):
        return drive(self.forward_steps(x))

    def differentiate(self, dy):
        return drive(self.backward_steps(dy)), {}

    def options(self):
        return "[" + ", ".join(repr(b) for b in self.branches) + "]"
