"""A snapshot of what the screen shows, copied out of the Simulator while no command runs.

Widgets render only from a View: the simulator's arrays keep changing in the worker thread,
and a widget reading them mid-step could show half an update (or a dict changing size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnsim import functional as F
from nnsim.sim import METRICS, Event, Simulator, Stop

TABS = ("weights", "activations", "gradients", "time", "visual")


@dataclass
class LayerRow:
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


@dataclass
class Tensor:
    """The inspected array (a copy) and what it is."""

    title: str
    array: np.ndarray | None
    saturation: float = math.nan
    note: str = ""


@dataclass
class View:
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
    layers: list[LayerRow]
    loss_history: np.ndarray
    accuracy_history: np.ndarray
    val_loss_history: np.ndarray
    val_accuracy_history: np.ndarray
    grad_history: dict[str, np.ndarray]
    dh_norms: dict[str, np.ndarray]
    tensor: Tensor
    expectations: list[tuple[str, bool | None]] = field(default_factory=list)
    breakpoints: list[tuple[str, bool, int]] = field(default_factory=list)
    text_sample: tuple[int, str] | None = None  # (iteration, generated text): character models
    walk: object | None = None  # nnsim.layers.walk.Cell: a conv/pool position worked by hand


def build_view(
    sim: Simulator,
    summary_rows: list[dict],
    selected: str | None,
    tab: str,
    index: int,
    expectations: list[str],
) -> View:
    """Copy everything the screen needs out of ``sim`` (call it while no command runs);
    ``summary_rows`` is the model summary's data, which never changes during a run."""
    latest = sim.latest
    rows = []
    for r in summary_rows:
        report = latest.get(r["name"])
        rows.append(
            LayerRow(
                r["name"],
                r["type"],
                r["depth"],
                r["output_shape"],
                r["params"],
                r["block"],
                None if report is None else report["verdict"],
                "" if report is None else report["explanation"],
                sim.layer_metrics(r["name"])["grad_norm"],
                r["name"] in sim.layer_breakpoints,
                bool(r.get("frozen")),
            )
        )
    phase, next_layer = sim.next_op
    _, loss = sim.trace.series("loss")
    _, acc = sim.trace.series("accuracy")
    _, val = sim.trace.series("val_loss")
    _, val_acc = sim.trace.series("val_accuracy")
    grads = {}
    for layer in sim.leaves:
        if layer.params:
            grads[layer.name] = sim.trace.series("grad_norm", layer.name)[1][-60:]
    dh = {}
    for layer in sim.leaves:
        cache = layer.cache
        if isinstance(cache, F.RecurrentCache) and cache.dh is not None:
            dh[layer.name] = F.grad_norms_through_time(cache)
    walk = None
    for name in reversed(sim.stepping_into):  # the innermost layer being walked
        walk = getattr(sim.layer(name), "walk_cell", None)
        if walk is not None:
            break
    view = View(
        sim.iteration,
        sim.completed,
        sim.iterations,
        phase,
        next_layer,
        sim.depth,
        sim.events[-1] if sim.events else None,
        sim.stopped,
        sim.loss_value,
        sim.accuracy,
        rows,
        loss[-400:].copy(),
        acc[-400:].copy(),
        val[-400:].copy(),
        val_acc[-400:].copy(),
        grads,
        dh,
        tensor_of(sim, selected, tab, index),
        [(text, None) for text in expectations],
        [(bp.text, bp.enabled, bp.hits) for bp in sim.breakpoints],
    )
    view.walk = walk
    return view


def check_expectations(sim: Simulator, expectations: list[str]) -> list[tuple[str, bool | None]]:
    """Each expectation and whether it holds now (None before the first iteration, or where
    it cannot be evaluated yet)."""
    checks = []
    for text in expectations:
        try:
            checks.append((text, bool(sim.check(text)) if sim.completed else None))
        except (KeyError, ValueError):
            checks.append((text, None))
    return checks


def tensor_of(sim: Simulator, name: str | None, tab: str, index: int) -> Tensor:
    """The array of one inspector tab for layer ``name``, as a copy."""
    if name is None:
        return Tensor("no layer selected", None)
    layer = sim.layer(name)
    saturation = sim.layer_metrics(name)["saturation"]
    if tab == "weights":
        keys = list(layer.params)
        if not keys:
            return Tensor(f"{name} has no weights", None)
        key = keys[index % len(keys)]
        return Tensor(f"{name}.{key}", layer.params[key].copy(), note=_cycle(keys, key))
    if tab == "gradients":
        keys = list(layer.grads)
        if keys:
            key = keys[index % len(keys)]
            return Tensor(f"{name}.grads.{key}", layer.grads[key].copy(), note=_cycle(keys, key))
        if isinstance(layer.input_grad, np.ndarray):
            return Tensor(f"{name}: dL/d input", layer.input_grad.copy())
        return Tensor(f"{name}: no gradients yet (run the backward pass)", None)
    if tab == "activations":
        if isinstance(layer.output, np.ndarray):
            return Tensor(f"{name}.output", layer.output.copy(), saturation)
        return Tensor(f"{name}: no output yet (run the forward pass)", None)
    attention = getattr(layer, "attention", None)
    if isinstance(attention, np.ndarray):  # (N, output steps, input steps)
        return Tensor(
            f"{name} attention, example 0 (output step x input step; rows sum to 1)",
            attention[0].copy(),
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
    return Tensor(
        f"{name} {label}_t, example 0 (time x unit)", values[0].copy(), note=_cycle(names, label)
    )


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
    stats = {
        "mean": float(finite.mean()) if finite.size else math.nan,
        "std": float(finite.std()) if finite.size else math.nan,
        "min": float(finite.min()) if finite.size else math.nan,
        "max": float(finite.max()) if finite.size else math.nan,
        "norm": float(np.sqrt((finite * finite).sum())),
        "zeros": float((a == 0).mean()) if a.size else math.nan,
        "saturated": saturation,
        "nonfinite": int(a.size - finite.size),
    }
    return stats


__all__ = ["METRICS", "TABS", "LayerRow", "Tensor", "View", "build_view", "statistics"]
