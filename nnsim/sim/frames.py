"""Frames and drivers of step programs: a frame is one program being stepped (the
iteration's, a block's or a recurrent layer's); ``drive`` runs the iteration's program whole."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..layers import Layer
from ..layers.steps import Child, Op, Program


def quiet(command):
    """Run a command with NumPy's overflow and invalid-value warnings off: the non-finite
    check reports those values, with the layer and the phase, so warnings would only repeat it."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return command(*args, **kwargs)

    return wrapper


@dataclass
class Frame:
    program: Program  # a generator of Child / Op requests
    layer: Layer | None  # the block or recurrent layer it belongs to; None: the iteration
    phase: str  # "forward" or "backward" for a layer's program
    depth: int
    pending: Child | Op | None = None


def drive(program: Program, request: Child | Op, before_op: Callable[[Op], None]) -> int:
    """Run a program from its pending ``request`` to the end without stopping, every request
    carried out whole (as ``layers.steps.drive`` runs a block); ``before_op(request)`` runs
    before each of the program's own operations. Returns the number of micro-ops it held."""
    ops, send = 0, program.send
    try:
        while True:
            if type(request) is Child:
                layer = request.layer
                value = request.value
                result = (
                    layer.forward(value)
                    if request.direction == "forward"
                    else layer.backward(value)
                )
            else:
                before_op(request)
                result = request.run()
            ops += 1
            request = send(result)
    except StopIteration:
        return ops


def phase_of(request, frame: Frame) -> str:
    """The phase of a pending request: a layer's direction, or the operation's phase."""
    if isinstance(request, Child):
        return request.direction
    return request.phase or frame.phase
