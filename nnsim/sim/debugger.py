"""Breakpoints, layer breakpoints, watches, and the stops they and non-finite values cause."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..layers import Layer
from .conditions import Condition, parse, parse_expression
from .events import Stop
from .sweep import nonfinite_counts
from .trace import Trace

if TYPE_CHECKING:
    from .conditions import Context


@dataclass
class Breakpoint:
    condition: Condition
    enabled: bool = True
    hits: int = 0

    @property
    def text(self) -> str:
        return self.condition.text


class Debugger:
    """What stops a run: a breakpoint's condition becoming true, the next micro-op being one
    of a layer breakpoint's layer, or a value turning NaN or inf (always on, once per run)."""

    def __init__(self, names: list[str], layer: Callable[[str], Layer], trace: Trace) -> None:
        self.names = names  # the layers conditions may name
        self.layer = layer  # a layer by name (a KeyError for an unknown one)
        self.trace = trace  # a watch's value after every iteration is a column of it
        self.breakpoints: list[Breakpoint] = []
        self.watches: list[Condition] = []
        self.layer_breakpoints: set[str] = set()  # stop before any micro-op of these layers
        self.nonfinite_seen = False

    @property
    def armed(self) -> bool:
        """Whether something but a non-finite value can stop the run inside an iteration."""
        return bool(self.layer_breakpoints) or any(bp.enabled for bp in self.breakpoints)

    def add_breakpoint(self, condition: str) -> Breakpoint:
        """Stop whenever ``condition`` becomes true; a bad condition raises ConditionError."""
        bp = Breakpoint(parse(condition, self.names))
        self.breakpoints.append(bp)
        return bp

    def remove_breakpoint(self, condition: str) -> None:
        before = len(self.breakpoints)
        self.breakpoints = [bp for bp in self.breakpoints if bp.text != condition]
        if len(self.breakpoints) == before:
            raise KeyError(f"no breakpoint {condition!r}")

    def toggle_layer_breakpoint(self, layer: str) -> bool:
        """Stop (in continue_ and run) just before any micro-op of ``layer``, like a line
        breakpoint in a debugger; call again to remove it. Returns whether it is now set."""
        self.layer(layer)  # a KeyError for an unknown name
        if layer in self.layer_breakpoints:
            self.layer_breakpoints.discard(layer)
            return False
        self.layer_breakpoints.add(layer)
        return True

    def add_watch(self, expression: str) -> Condition:
        """Keep an expression to read after every step (``watch_values``); it never stops.
        Its value after every iteration is a column of the trace, named by its text."""
        watch = parse_expression(expression, self.names)
        self.watches.append(watch)
        self.trace.add_column(watch.text)
        return watch

    def watch_values(self, context: Context) -> dict[str, Any]:
        """The current value of every watch, by its text."""
        return {w.text: w.result(context) for w in self.watches}

    def nonfinite_stop(self, iteration: int, phase: str, arrays) -> Stop | None:
        """The first of ``arrays`` (owner, label, array, summary) holding NaN or inf."""
        if self.nonfinite_seen:
            return None
        for owner, label, array, summary in arrays:
            if summary is not None and math.isfinite(summary):
                continue  # a finite sum over the array: every value in it is finite
            nans, infs = nonfinite_counts(array)
            if nans or infs:
                self.nonfinite_seen = True
                detail = f"{label} has {nans} NaN and {infs} inf of {array.size} values"
                return Stop("nonfinite", iteration, phase, owner, None, detail)
        return None

    def state_stop(
        self, iteration: int, arrays: Iterable[tuple[str | None, str, Any]]
    ) -> Stop | None:
        """A stop before ``iteration`` for the first of the state's ``arrays`` (owner, label,
        array) holding NaN or inf at its start: the simulator stops where it writes such a
        value, so this one was written from outside it (between commands)."""
        stop = self.nonfinite_stop(iteration, "batch", ((*a, None) for a in arrays))
        if stop is None:
            return None
        detail = (
            f"{stop.detail} before iteration {iteration}: it was there before the iteration "
            "began (written from outside the simulator)"
        )
        return dataclasses.replace(stop, detail=detail)

    def breakpoint_stop(
        self,
        context: Context,
        where: tuple[int, str, str | None],
        refreshed: set[tuple[str, str | None]],
        fresh: set[tuple[str, str | None]],
    ) -> Stop | None:
        """The first breakpoint that holds after a micro-op at ``where`` (iteration, phase,
        layer) that made ``refreshed`` current; each is read only when the op refreshed
        something it depends on and everything it depends on is ``fresh`` this iteration.
        Every breakpoint that holds counts a hit."""
        changed = refreshed | {("any", None)}
        available = fresh | {("any", None)}
        fired = None
        for bp in self.breakpoints:
            deps = bp.condition.dependencies
            if not bp.enabled or not deps & changed or not deps <= available:
                continue
            if bp.condition.evaluate(context):
                bp.hits += 1
                fired = fired or Stop("breakpoint", *where, bp.text)
        return fired

    def layer_stop(self, completed: int, next_op: tuple[str, str | None]) -> Stop | None:
        """A stop before the next micro-op when it belongs to a layer breakpoint's layer."""
        next_phase, next_layer = next_op
        if next_layer not in self.layer_breakpoints:
            return None
        return Stop("breakpoint", completed + 1, next_phase, next_layer, f"at {next_layer}")
