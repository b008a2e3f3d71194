"""A View built incrementally: each part is rebuilt only when what it depends on changed, and
kept as the very same object otherwise, so a widget can skip redrawing it by identity."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import TypeVar

import numpy as np

from ..sim import Simulator
from .views import (
    Accuracies,
    ExpectationStatus,
    LayerRow,
    Prediction,
    Tensor,
    View,
    curve,
    gradient_history,
    layer_rows,
    recurrent_norms,
    tensor_of,
    walked_cell,
)

Part = TypeVar("Part")


def moment(sim: Simulator) -> tuple:
    """What identifies the simulator's state: any micro-op run, undone or replayed changes
    it (the last event is a new object even when a replay reaches the same index)."""
    events = sim.events
    last = events[-1] if events else None
    return (sim.completed, sim.event_index, sim.depth, len(events), id(last), last)


class PartCache:
    """The parts of the last view, each kept with what it was computed from: a part whose
    inputs did not change is the very same object in the next view, so building a view
    costs nothing for it and a front end can skip redrawing it (an identity check)."""

    #: Seconds between two measurements of the training set's accuracy while a command
    #: runs (a CNN's pass over it costs a good part of a second); idle, every iteration.
    ACCURACY_EVERY = 2.0

    def __init__(self) -> None:
        self._parts: dict[str, tuple[Hashable, object]] = {}
        self._measured_at = -math.inf  # when the training set's accuracy was last measured

    def get(
        self,
        part: str,
        key: Hashable,
        compute: Callable[[], Part],
        same: Callable[[Part, Part], bool] | None = None,
    ) -> Part:
        """``part`` as last computed if ``key`` equals the key it was computed for, else
        ``compute()`` (kept for next time); a computed value that ``same`` finds equal to
        the last one is replaced by it (a micro-op elsewhere leaves this part's object)."""
        held = self._parts.get(part)
        if held is not None and held[0] == key:
            return held[1]
        value = compute()
        if held is not None and same is not None and same(held[1], value):
            value = held[1]
        self._parts[part] = (key, value)
        return value

    def accuracies(self, sim: Simulator, busy: bool) -> Accuracies:
        """The accuracies after the last completed iteration: measured when an iteration
        has completed since the last view (never per key), and while ``busy`` (a command
        runs) at most every ACCURACY_EVERY seconds, the last measurement shown meanwhile."""
        done = (sim.completed, sim.trace.count)
        held = self._parts.get("accuracies")
        if held is not None and held[0] == done:
            return held[1]
        if sim.completed == 0:
            value = Accuracies()
        elif (
            held is not None and busy and time.monotonic() - self._measured_at < self.ACCURACY_EVERY
        ):
            return held[1]
        else:
            _, batch = sim.trace.series("accuracy")  # per completed iteration
            value = Accuracies(
                sim.completed,
                sim.train_accuracy(),
                sim.val_accuracy,
                float(batch[-1]) if len(batch) else math.nan,
            )
            self._measured_at = time.monotonic()
        self._parts["accuracies"] = (done, value)
        return value

    def same_if_equal(self, part: str, value: Part) -> Part:
        """``value``, or the equal value kept from last time (the same object)."""
        return self.get(part, value, lambda: value)

    def same_if(self, part: str, value: Part, same: Callable[[Part, Part], bool]) -> Part:
        """``value``, or the value kept from last time if ``same`` finds them equal."""
        held = self._parts.get(part)
        if held is not None and same(held[1], value):
            return held[1]
        self._parts[part] = (None, value)
        return value


def build_view(
    sim: Simulator,
    parts: PartCache,
    summary_rows: list[dict],
    inspected: tuple[str | None, str, int],
    visual: Tensor | None,
    expectations: tuple[ExpectationStatus, ...],
    text_sample: tuple[int, str] | None,
    prediction: Prediction | None = None,
    busy: bool = False,
) -> View:
    """The View now; each part comes from ``parts`` unless what it depends on changed: the
    tree on any micro-op, the curves and gradient histories when an iteration completes; the
    tensor is copied each time and kept when its values are the same. ``inspected``: (layer,
    tab, index); ``visual``: the visual tab's tensor, when that tab is shown; ``busy``: a
    command is running (the training set's accuracy is then measured now and then)."""
    now = moment(sim)
    phase, next_layer = sim.next_op
    selected, tab, index = inspected
    done = (sim.completed, sim.trace.count)  # the trace grows once per completed iteration
    marked = frozenset(sim.layer_breakpoints)
    breakpoints = tuple((bp.text, bp.enabled, bp.hits) for bp in sim.breakpoints)
    return View(
        iteration=sim.iteration,
        completed=sim.completed,
        total_iterations=sim.iterations,
        phase=phase,
        next_layer=next_layer,
        depth=sim.depth,
        last_event=sim.events[-1] if sim.events else None,
        stopped=sim.stopped,
        loss=sim.loss_value,
        accuracy=sim.accuracy,
        layers=parts.get("layers", (now, marked), lambda: layer_rows(sim, summary_rows), same_rows),
        loss_history=parts.get("loss", done, lambda: curve(sim, "loss")),
        accuracy_history=parts.get("accuracy", done, lambda: curve(sim, "accuracy")),
        val_loss_history=parts.get("val_loss", done, lambda: curve(sim, "val_loss")),
        val_accuracy_history=parts.get("val_accuracy", done, lambda: curve(sim, "val_accuracy")),
        grad_history=parts.get("grad_history", done, lambda: gradient_history(sim)),
        dh_norms=parts.get("dh_norms", now, lambda: recurrent_norms(sim)),
        tensor=visual
        if visual is not None
        else parts.same_if(  # always copied: an array may be written between commands
            "tensor", tensor_of(sim, selected, tab, index), same_tensor
        ),
        expectations=expectations,
        breakpoints=parts.same_if_equal("breakpoints", breakpoints),
        text_sample=text_sample,
        walk=walked_cell(sim),
        prediction=prediction,
        selected=selected,
        tab=tab,
        accuracies=parts.accuracies(sim, busy),
    )


def same_tensor(a: Tensor, b: Tensor) -> bool:
    """Whether two tensors show the same thing (NaN equal to NaN)."""
    if (a.title, a.note, a.valid_rows, len(a.panels)) != (
        b.title,
        b.note,
        b.valid_rows,
        len(b.panels),
    ):
        return False
    if not _same_number(a.saturation, b.saturation):
        return False
    pairs = [(a.array, b.array)] + [(p[1], q[1]) for p, q in zip(a.panels, b.panels, strict=True)]
    captions = all(p[0] == q[0] for p, q in zip(a.panels, b.panels, strict=True))
    return captions and all(_same_array(x, y) for x, y in pairs)


def _same_number(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def same_rows(a: tuple[LayerRow, ...], b: tuple[LayerRow, ...]) -> bool:
    """Whether two model trees show the same (a NaN gradient norm equal to NaN)."""
    return len(a) == len(b) and all(
        x == y
        or (
            x.name == y.name
            and _same_number(x.grad_norm, y.grad_norm)
            and replace(x, grad_norm=0.0) == replace(y, grad_norm=0.0)
        )
        for x, y in zip(a, b, strict=True)
    )
