"""Immutable views of a simulator, copied out while no command runs.

A front end renders only from these: the simulator's arrays keep changing in the worker
thread, and a widget reading them mid-step could show half an update (or a dict changing
size). Every array in a view is a read-only copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from ..i18n import N_, _
from ..layers.walk import Cell
from ..sim import Event, Simulator, Stop

TABS = ("weights", "activations", "gradients", "time", "visual", "map")
#: Each tab as the learner reads it (``_(TAB_TITLES[tab])``; the keys above are the commands').
TAB_TITLES = {
    "weights": N_("weights"),
    "activations": N_("activations"),
    "gradients": N_("gradients"),
    "time": N_("time"),
    "visual": N_("visual"),
    "map": N_("map"),
}


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
class Prediction:
    """The lesson's question to answer before stepping, and its answer with one line why:
    None until the lesson's run has finished (all its iterations, or a stop that ends it)."""

    question: str
    answer: str | None


@dataclass(frozen=True)
class Accuracies:
    """The run's accuracies after iteration ``after`` (0: none has completed): ``train`` on
    the whole training set in evaluation mode (dropout off, batch norm on running
    statistics), ``val`` the last validation, ``batch`` the last mini-batch's (training
    mode). NaN where not measured, or where accuracy has no meaning (regression)."""

    after: int = 0
    train: float = math.nan
    val: float = math.nan
    batch: float = math.nan


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
    prediction: Prediction | None = None
    selected: str | None = None
    tab: str = "activations"
    events: tuple[Event, ...] = field(default_factory=tuple)
    accuracies: Accuracies = Accuracies()  # after the last completed iteration


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
        return Tensor(_("no layer selected"), None)
    layer = sim.layer(name)
    saturation = sim.layer_metrics(name)["saturation"]
    if tab == "weights":
        keys = list(layer.params)
        if not keys:
            return Tensor(_("{layer} has no weights").format(layer=name), None)
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
        no_gradients = _("{layer}: no gradients yet (run the backward pass)")
        return Tensor(no_gradients.format(layer=name), None)
    if tab == "activations":
        if isinstance(layer.output, np.ndarray):
            return Tensor(f"{name}.output", frozen_copy(layer.output), saturation)
        return Tensor(_("{layer}: no output yet (run the forward pass)").format(layer=name), None)
    return _time_steps(sim, name, layer, index)


def _time_steps(sim: Simulator, name: str, layer, index: int) -> Tensor:
    """The time-steps tab: an attention matrix, or a recurrent layer's series over time."""
    attention = getattr(layer, "attention", None)
    if isinstance(attention, np.ndarray):  # (N, output steps, input steps)
        title = _("{layer} attention, example 0 (output step x input step; rows sum to 1)")
        return Tensor(title.format(layer=name), frozen_copy(attention[0]))
    if getattr(layer, "score", None) == "none":  # an attention decoder built without it
        no_attention = _(
            '{layer}: this decoder has no attention weights (score = "none"): all it knows '
            "of the input is the encoder's last state"
        )
        return Tensor(no_attention.format(layer=name), None)
    cache = layer.cache
    if hasattr(layer, "score") and not isinstance(cache, F.RecurrentCache):
        not_yet = _("{layer}: no attention weights yet (run the forward pass)")
        return Tensor(not_yet.format(layer=name), None)
    if not isinstance(cache, F.RecurrentCache):
        not_recurrent = _("{layer} is not recurrent: time steps are for RNN, LSTM and GRU")
        return Tensor(not_recurrent.format(layer=name), None)
    series = [("h", cache.h_seq)]
    series += [(g, cache.gate(g)) for g in ("i", "f", "g", "o", "r", "z", "n") if _has(cache, g)]
    if cache.c_seq is not None:
        series.append(("c", cache.c_seq))
    if cache.dh is not None:
        series.append(("dL/dh", cache.dh))
    label, values = series[index % len(series)]
    names = [s for s, _values in series]
    valid = _computed_steps(sim, layer, label == "dL/dh", cache.steps)
    values = np.array(values[0], copy=True)
    title = _("{layer} {series}_t, example 0 (time x unit)").format(layer=name, series=label)
    if valid is not None:
        # the cache is allocated uninitialised: the steps not run yet hold no values
        values[: valid[0]] = 0.0
        values[valid[1] :] = 0.0
        computed = _("t = {first}..{last} of {steps} computed")
        title += "   " + computed.format(first=valid[0] + 1, last=valid[1], steps=cache.steps)
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
    shown = "  ".join(f"[{o}]" if o == current else o for o in options)
    return shown + "   " + _("(, and . to switch)")


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
