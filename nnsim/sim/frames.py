"""Frames and drivers of step programs: a frame is one program being stepped (the
iteration's, a pass of it, a block's or a recurrent layer's); ``drive`` runs the iteration's
program whole.

Besides the ``Child`` and ``Op`` requests of ``layers.steps``, the iteration's program yields a
``Pass``: run these layers one after the other, each a micro-op of its own. Stepping opens a
frame for it at the same depth (``pass_program``); ``drive`` runs the layers in a plain loop,
which spares a generator resume and a request per layer on the fast path (a tenth of a small
MLP's iteration)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..layers import Layer
from ..layers.steps import Child, Op, Program

#: NumPy's floating-point warnings off, for passes whose non-finite values the simulator reports
QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}


def quiet(command):
    """Run a command with NumPy's overflow and invalid-value warnings off: the non-finite
    check reports those values, with the layer and the phase, so warnings would only repeat it."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with np.errstate(**QUIET):
            return command(*args, **kwargs)

    return wrapper


class Pass(NamedTuple):
    """Run ``layers`` in order, ``direction`` "forward" or "backward", from ``value``; the
    program receives the last layer's result."""

    layers: list[Layer]
    value: Any
    direction: str


def pass_program(request: Pass) -> Program:
    """A pass as a step program of its layers, for stepping."""
    value = request.value
    for layer in request.layers:
        value = yield Child(layer, value, request.direction)
    return value


@dataclass
class Frame:
    program: Program  # a generator of Child / Op requests
    layer: Layer | None  # the block or recurrent layer it belongs to; None: the iteration's
    phase: str  # "forward" or "backward" for a layer's program
    depth: int
    pending: Child | Op | None = None


def drive(program: Program, request, before_op: Callable[[Op], None]) -> int:
    """Run the iteration's program from its pending ``request`` to the end without stopping,
    every request carried out whole (as ``layers.steps.drive`` runs a block);
    ``before_op(request)`` runs before each of the program's own operations. Returns the
    number of micro-ops it held (a pass holds one per layer)."""
    ops, send = 0, program.send
    try:
        while True:
            if type(request) is Pass:
                layers, value, direction = request
                if direction == "forward":
                    for layer in layers:
                        value = layer.forward(value)
                else:
                    for layer in layers:
                        value = layer.backward(value)
                ops += len(layers)
                request = send(value)
                continue
            before_op(request)
            ops += 1
            request = send(request.run())
    except StopIteration:
        return ops


def phase_of(request, frame: Frame) -> str:
    """The phase of a pending request: a layer's direction, or the operation's phase."""
    if isinstance(request, Child):
        return request.direction
    return request.phase or frame.phase
