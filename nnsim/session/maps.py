"""The input-space decision map of a model with 2 input features (TensorFlow Playground's
core view): the class the model picks at every point of a grid over the training data (and a
margin), the training points by class, and either each first-layer unit's line w·x + b = 0 or,
for a deeper layer, where one of its units is positive. Computed on a copy-free forward pass
in evaluation mode (``Sequential.inference`` restores every cache), so the run is untouched."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import _
from ..layers.activation import Activation, Identity, Maxout
from ..sim import Simulator
from .views import frozen_copy

MARGIN = 0.15  # of the data's span on each side, so points never sit on the edge
CHUNK = 256  # examples per forward pass, as Simulator.predict


@dataclass(frozen=True)
class UnitLine:
    """The line w·x + b = 0 of one unit (or the decision line of a one-layer model)."""

    name: str
    w: tuple[float, float]
    b: float


@dataclass(frozen=True)
class DecisionMap:
    """Everything drawn on the map tab, or ``array``-free with ``note`` saying why it is empty.

    ``regions[r, c]`` is the class the model picks at (``xs[c]``, ``ys[r]``); row 0 is the
    top (the largest x2). ``sign``, when a deeper unit is shown, is True where it is > 0."""

    title: str
    note: str = ""
    xs: np.ndarray | None = None  # (cols,) x1 of each grid column
    ys: np.ndarray | None = None  # (rows,) x2 of each grid row, decreasing
    regions: np.ndarray | None = None  # (rows, cols) int class
    points: np.ndarray | None = None  # (N, 2) the training inputs
    labels: np.ndarray | None = None  # (N,) int class
    classes: int = 0
    lines: tuple[UnitLine, ...] = ()
    highlight: int | None = None  # the one line picked with , and . (None: all)
    sign: np.ndarray | None = None  # (rows, cols) bool: the shown deeper unit > 0
    sign_label: str = ""

    @property
    def empty(self) -> bool:
        return self.regions is None


def decision_map(
    sim: Simulator, selected: str | None, index: int = 0, rows: int = 48, cols: int = 96
) -> DecisionMap:
    """The map for layer ``selected`` (``index`` picks one unit; call under the session's
    lock). Any layer up to the first weighted layer's activation shows that layer's unit
    lines; a deeper one shows where unit ``index`` of it is positive."""
    model = sim.model
    if tuple(model.input_shape) != (2,):
        shape = "x".join(str(s) for s in model.input_shape)
        message = _(
            "map: the decision map needs inputs of 2 features (points in a plane); this "
            "model's input is {shape}, so there is no plane to draw"
        )
        return DecisionMap(message.format(shape=shape))
    x, y = np.asarray(sim.stream.x, dtype=np.float64), np.asarray(sim.stream.y)
    labels, threshold = class_labels(y)
    xs, ys = grid_axes(x, rows, cols)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major: (rows*cols, 2)
    first = _first_group(sim)
    shown = sim.layer(selected) if selected is not None and selected not in first else None
    outputs, unit = _forward(model, grid, shown)
    regions = classes_of(outputs, threshold).reshape(rows, cols)
    common = dict(xs=frozen_copy(xs), ys=frozen_copy(ys), regions=frozen_copy(regions))
    common.update(points=frozen_copy(x), labels=frozen_copy(labels))
    common["classes"] = int(max(labels.max(initial=0), regions.max(initial=0)) + 1)
    if shown is None:
        lines = unit_lines(sim)
        highlight = None if index % (len(lines) + 1) == 0 else index % (len(lines) + 1) - 1
        what = _("{layer}'s {count} unit lines w·x + b = 0").format(
            layer=sim.leaves[first_index(sim)].name, count=len(lines)
        )
        if lines[0].name == "boundary":
            what = _("the decision line (both scores equal)")
        pick = _("all") if highlight is None else lines[highlight].name
        title = _("map: class regions, training points, {what}").format(what=what)
        if len(lines) > 1:
            title += " " + _("({pick}; , . pick one)").format(pick=pick)
        return DecisionMap(
            title,
            lines=lines,
            highlight=highlight,
            **common,
        )
    units = unit.shape[1]
    k = index % units
    active = _("active (z > 0)") if _takes_pre_activation(shown) else _("positive")
    label = _("unit {k} of {units} of {layer} {active}").format(
        k=k + 1, units=units, layer=shown.name, active=active
    )
    where = _("map: where {label} (shaded), class boundary ·, training points (, . other units)")
    return DecisionMap(
        where.format(label=label),
        sign=frozen_copy(unit[:, k].reshape(rows, cols) > 0),
        sign_label=label,
        **common,
    )


def class_labels(y: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(int class per example, the threshold of a one-output model or None)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot or scores
        return np.argmax(y, axis=1), None
    flat = y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y
    if np.issubdtype(flat.dtype, np.integer) and flat.min(initial=0) >= 0 and flat.max() > 1:
        return flat.astype(np.int64), None  # class indices 0..K-1
    low, high = float(flat.min()), float(flat.max())
    threshold = (low + high) / 2  # 0/1 targets: 0.5; -1/1 targets: 0
    return (flat > threshold).astype(np.int64), threshold


def classes_of(outputs: np.ndarray, threshold: float | None) -> np.ndarray:
    """The class a model's outputs pick: argmax, or one output above ``threshold``."""
    outputs = outputs.reshape(len(outputs), -1)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > (0.5 if threshold is None else threshold)).astype(np.int64)
    return np.argmax(outputs, axis=1)


def grid_axes(x: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """x1 per column (increasing) and x2 per row (decreasing: row 0 is the top)."""
    low, high = x.min(axis=0), x.max(axis=0)
    span = np.maximum(high - low, 1e-3)
    low, high = low - MARGIN * span, high + MARGIN * span
    return np.linspace(low[0], high[0], cols), np.linspace(high[1], low[1], rows)


def first_index(sim: Simulator) -> int:
    """The index among the leaves of the first layer with weights."""
    return next((i for i, lay in enumerate(sim.leaves) if "W" in lay.params), 0)


def _first_group(sim: Simulator) -> set[str]:
    """The first weighted layer and the layers up to the next weighted one (its activation)."""
    names = set()
    for i, layer in enumerate(sim.leaves):
        if i > first_index(sim) and layer.params:
            break
        names.add(layer.name)
    return names


def unit_lines(sim: Simulator) -> tuple[UnitLine, ...]:
    """Each unit's line of the first weighted layer; for a one-layer model with 2 outputs the
    one line where both scores are equal (the decision line)."""
    layer = sim.leaves[first_index(sim)]
    w = np.asarray(layer.params["W"], dtype=np.float64)  # (units, 2)
    b = np.asarray(layer.params.get("b", np.zeros(len(w))), dtype=np.float64)
    later = any(lay.params for lay in sim.leaves[first_index(sim) + 1 :])
    if not later and len(w) == 2:  # scores equal: (w1 - w0)·x + (b1 - b0) = 0
        return (UnitLine("boundary", tuple(w[1] - w[0]), float(b[1] - b[0])),)
    return tuple(
        UnitLine(f"{layer.name}[{k + 1}]", (float(w[k, 0]), float(w[k, 1])), float(b[k]))
        for k in range(len(w))
    )


def _takes_pre_activation(layer) -> bool:
    return isinstance(layer, (Activation, Identity, Maxout))


def _forward(model, grid: np.ndarray, shown) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's outputs on ``grid`` and, for a layer ``shown``, its pre-activation (an
    activation layer's input) or output, as (points, units)."""
    outputs, values = [], []
    with model.inference():
        for start in range(0, len(grid), CHUNK):
            chunk = np.ascontiguousarray(grid[start : start + CHUNK], dtype=model.dtype)
            outputs.append(np.asarray(model.forward(chunk), dtype=np.float64))
            if shown is not None:
                value = shown.input if _takes_pre_activation(shown) else shown.output
                values.append(np.asarray(value, dtype=np.float64).reshape(len(chunk), -1))
    return np.concatenate(outputs), (np.concatenate(values) if values else None)
