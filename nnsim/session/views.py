"""Immutable views of a simulator, copied out while no command runs.

A front end renders only from these: the simulator's arrays keep changing in the worker
thread, and a widget reading them mid-step could show half an update (or a dict changing
size). Every array in a view is a read-only copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np

from .. import functional as F
from ..layers.walk import Cell
from ..sim import Event, Simulator, Stop

TABS = ("weights", "activations", "gradients", "time", "visual")
Part = TypeVar("Part")


def frozen_copy(array: np.ndarray) -> np.ndarray:
    """A read-only copy, so a view can be shared between threads without a lock."""
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class LayerRow:
    """One row of the model tree: a layer or block, its verdict and its breakpoint mark."""

    name: str
    kind: str
    depth: int
    output_shape: tuple[int, ...]
    params: int
    block: bool
    verdict: str | None
    explanation: str
    grad_norm: float
    breakpoint: bool
    frozen: bool = False


@dataclass(frozen=True)
class Tensor:
    """The inspected array (a read-only copy) and what it is."""

    title: str
    array: np.ndarray | None
    saturation: float = math.nan
    note: str = ""
    #: rows [first, end) of ``array`` computed so far while a recurrent layer is stepped
    #: through time; the other rows are not computed yet (zeros here, drawn blank). None: all.
    valid_rows: tuple[int, int] | None = None
    #: pictures to draw side by side, each with its own colour scale: (caption, 2-D array)
    panels: tuple[tuple[str, np.ndarray], ...] = ()


@dataclass(frozen=True)
class ExpectationStatus:
    """A lesson's promise as the learner sees it now: met, not yet (False) or not
    evaluated yet (None: before the first iteration, or a check comparing variants)."""

    check: str
    met: bool | None
    says: str = ""


@dataclass(frozen=True)
class View:
    """Everything the debugger screen shows, at one moment."""

    iteration: int
    completed: int
    total_iterations: int
    phase: str
    next_layer: str | None
    depth: int
    last_event: Event | None
    stopped: Stop | None
    loss: float
    accuracy: float
    layers: tuple[LayerRow, ...]
    loss_history: np.ndarray
    accuracy_history: np.ndarray
    val_loss_history: np.ndarray
    val_accuracy_history: np.ndarray
    grad_history: dict[str, np.ndarray]  # layer -> its last 60 gradient norms
    dh_norms: dict[str, np.ndarray]  # recurrent layer -> ||dL/dh_t|| for t = 1..T
    tensor: Tensor
    expectations: tuple[ExpectationStatus, ...] = ()
    breakpoints: tuple[tuple[str, bool, int], ...] = ()  # (condition, enabled, hits)
    text_sample: tuple[int, str] | None = None  # (iteration, generated text): character models
    walk: Cell | None = None  # a conv/pool position being worked out by hand
    selected: str | None = None
    tab: str = "activations"
    events: tuple[Event, ...] = field(default_factory=tuple)


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

    def __init__(self) -> None:
        self._parts: dict[str, tuple[Hashable, object]] = {}

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
) -> View:
    """The View now; each part comes from ``parts`` unless what it depends on changed: the
    tree on any micro-op, the curves and gradient histories when an iteration completes; the
    tensor is copied each time and kept when its values are the same. ``inspected``: (layer,
    tab, index); ``visual``: the visual tab's tensor, when that tab is shown."""
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
        selected=selected,
        tab=tab,
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


def layer_rows(sim: Simulator, summary_rows: list[dict]) -> tuple[LayerRow, ...]:
    latest = sim.latest
    rows = []
    for r in summary_rows:
        report = latest.get(r["name"])
        rows.append(
            LayerRow(
                r["name"],
                r["type"],
                r["depth"],
                tuple(r["output_shape"]),
                r["params"],
                r["block"],
                None if report is None else report["verdict"],
                "" if report is None else report["explanation"],
                sim.layer_metrics(r["name"])["grad_norm"],
                r["name"] in sim.layer_breakpoints,
                bool(r.get("frozen")),
            )
        )
    return tuple(rows)


def gradient_history(sim: Simulator, length: int = 60) -> dict[str, np.ndarray]:
    """Each layer with weights: its last ``length`` gradient norms."""
    return {
        layer.name: frozen_copy(sim.trace.series("grad_norm", layer.name)[1][-length:])
        for layer in sim.leaves
        if layer.params
    }


def recurrent_norms(sim: Simulator) -> dict[str, np.ndarray]:
    """Each recurrent layer whose backward pass ran: ||dL/dh_t|| for t = 1..T."""
    norms = {}
    for layer in sim.leaves:
        cache = layer.cache
        if isinstance(cache, F.RecurrentCache) and cache.dh is not None:
            values = F.grad_norms_through_time(cache)  # (T,)
            computed = _computed_steps(sim, layer, True, len(values))
            if computed is not None:  # stepping through time: later steps hold no values yet
                first, end = computed
                values = np.where(np.arange(len(values)) >= first, values, np.nan)
                values[end:] = np.nan
            norms[layer.name] = frozen_copy(values)
    return norms


def walked_cell(sim: Simulator) -> Cell | None:
    """The position of the innermost conv/pool layer being worked out by hand, if any."""
    for name in reversed(sim.stepping_into):
        cell = getattr(sim.layer(name), "walk_cell", None)
        if cell is not None:
            return cell
    return None


def curve(sim: Simulator, name: str, length: int = 400) -> np.ndarray:
    return frozen_copy(sim.trace.series(name)[1][-length:])


def tensor_of(sim: Simulator, name: str | None, tab: str, index: int) -> Tensor:
    """The array of one inspector tab for layer ``name``, as a read-only copy."""
    if name is None:
        return Tensor("no layer selected", None)
    layer = sim.layer(name)
    saturation = sim.layer_metrics(name)["saturation"]
    if tab == "weights":
        keys = list(layer.params)
        if not keys:
            return Tensor(f"{name} has no weights", None)
        key = keys[index % len(keys)]
        return Tensor(f"{name}.{key}", frozen_copy(layer.params[key]), note=_cycle(keys, key))
    if tab == "gradients":
        keys = list(layer.grads)
        if keys:
            key = keys[index % len(keys)]
            grad = frozen_copy(layer.grads[key])
            return Tensor(f"{name}.grads.{key}", grad, note=_cycle(keys, key))
        if isinstance(layer.input_grad, np.ndarray):
            return Tensor(f"{name}: dL/d input", frozen_copy(layer.input_grad))
        return Tensor(f"{name}: no gradients yet (run the backward pass)", None)
    if tab == "activations":
        if isinstance(layer.output, np.ndarray):
            return Tensor(f"{name}.output", frozen_copy(layer.output), saturation)
        return Tensor(f"{name}: no output yet (run the forward pass)", None)
    return _time_steps(sim, name, layer, index)


def _time_steps(sim: Simulator, name: str, layer, index: int) -> Tensor:
    """The time-steps tab: an attention matrix, or a recurrent layer's series over time."""
    attention = getattr(layer, "attention", None)
    if isinstance(attention, np.ndarray):  # (N, output steps, input steps)
        return Tensor(
            f"{name} attention, example 0 (output step x input step; rows sum to 1)",
            frozen_copy(attention[0]),
        )
    cache = layer.cache
    if not isinstance(cache, F.RecurrentCache):
        return Tensor(f"{name} is not recurrent: time steps are for RNN, LSTM and GRU", None)
    series = [("h", cache.h_seq)]
    series += [(g, cache.gate(g)) for g in ("i", "f", "g", "o", "r", "z", "n") if _has(cache, g)]
    if cache.c_seq is not None:
        series.append(("c", cache.c_seq))
    if cache.dh is not None:
        series.append(("dL/dh", cache.dh))
    label, values = series[index % len(series)]
    names = [s for s, _ in series]
    valid = _computed_steps(sim, layer, label == "dL/dh", cache.steps)
    values = np.array(values[0], copy=True)
    title = f"{name} {label}_t, example 0 (time x unit)"
    if valid is not None:
        # the cache is allocated uninitialised: the steps not run yet hold no values
        values[: valid[0]] = 0.0
        values[valid[1] :] = 0.0
        title += f"   t = {valid[0] + 1}..{valid[1]} of {cache.steps} computed"
    return Tensor(title, frozen_copy(values), note=_cycle(names, label), valid_rows=valid)


def _computed_steps(sim: Simulator, layer, gradient: bool, steps: int) -> tuple[int, int] | None:
    """The time steps [first, end) computed so far while ``layer`` is stepped through time
    (forward: t = 0.. upwards; backward: dL/dh from t = T-1 downwards); None once all are."""
    for frame in getattr(getattr(sim, "stepper", None), "frames", ()):
        if frame.layer is not layer:
            continue
        t = getattr(frame.pending, "t", None)
        if t is None:
            return None  # before the first step (the last pass's values) or after the last
        if frame.phase == "forward" and not gradient:
            return (0, t)
        if frame.phase == "backward" and gradient:
            return (t + 1, steps)
    return None


def _has(cache, gate: str) -> bool:
    try:
        cache.gate(gate)
    except (KeyError, TypeError):
        return False
    return True


def _cycle(options: list[str], current: str) -> str:
    if len(options) < 2:
        return ""
    return "  ".join(f"[{o}]" if o == current else o for o in options) + "   (, and . to switch)"


def statistics(array: np.ndarray, saturation: float = math.nan) -> dict[str, float]:
    """shape, mean, std, min, max, norm, % zeros, % saturated, non-finite count."""
    a = np.asarray(array, dtype=np.float64)
    finite = a[np.isfinite(a)]
    return {
        "mean": float(finite.mean()) if finite.size else math.nan,
        "std": float(finite.std()) if finite.size else math.nan,
        "min": float(finite.min()) if finite.size else math.nan,
        "max": float(finite.max()) if finite.size else math.nan,
        "norm": float(np.sqrt((finite * finite).sum())),
        "zeros": float((a == 0).mean()) if a.size else math.nan,
        "saturated": saturation,
        "nonfinite": int(a.size - finite.size),
    }
