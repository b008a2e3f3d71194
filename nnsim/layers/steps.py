"""The step protocol: how a block or a recurrent layer exposes its inside to the simulator.

``layer.forward_steps(x)`` and ``layer.backward_steps(dy)`` return a generator (a *step
program*) or None for a layer computed by one call. The program yields requests:

- ``Child(layer, value, direction)``: run a child layer forward (or backward) on ``value`` and
  send back its result; the simulator may run it whole or step into the child's own program;
- ``Op(label, run)``: one piece of the layer's own work (a time step, the residual addition);
  the simulator calls ``run()`` and sends back its result.

The program's return value is the layer's output (or input gradient). ``drive`` runs a program
to the end without stopping, which is how a block computes when it is not stepped into, so the
stepped and the whole computation are the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .base import Layer

Program = Generator["Child | Op", Any, Any]


class Child(NamedTuple):  # a NamedTuple: made per layer per pass, 3x cheaper than a dataclass
    layer: Layer
    value: Any
    direction: str  # "forward" or "backward"


class Op(NamedTuple):
    label: str
    run: Callable[[], Any]
    t: int | None = None  # the time step of a recurrent layer, 0-based
    phase: str | None = None  # set by the simulator's own operations (batch, loss, ...)


def run_child(request: Child) -> Any:
    """A child request carried out whole."""
    if request.direction == "forward":
        return request.layer.forward(request.value)
    return request.layer.backward(request.value)


def drive(program: Program) -> Any:
    """Run a step program to its end, every request carried out whole; return its result."""
    try:
        request = next(program)
        while True:
            result = run_child(request) if isinstance(request, Child) else request.run()
            request = program.send(result)
    except StopIteration as stop:
        return stop.value
