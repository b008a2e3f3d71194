"""The tensor inspector: a heatmap of the selected tensor, its numbers when small, and its
statistics. Tabs: 1 weights, 2 activations, 3 gradients, 4 time steps, 5 visual, 6 map. Two
figures replace the heatmap: the decision map (tab 6, a model with 2 input features) and an
activation layer's f and f' (its weights tab). Everything is laid out for the pane's width:
tab labels wrap whole, numbers that do not fit are named."""

from __future__ import annotations

import math

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from nnsim.i18n import _
from nnsim.session import TABS, View, statistics
from nnsim.session.curves import ActivationCurves
from nnsim.session.maps import DecisionMap
from nnsim.session.views import TAB_TITLES

from . import redraw
from .activation_curves import ActivationCurvesView
from .decision_map import DecisionMapView
from .heatmap import Heatmap, slice_2d
from .walk import render_cell


class Inspector(Vertical):
    DEFAULT_CSS = """
    Inspector { height: 1fr; }
    Inspector #tabs { height: auto; }
    Inspector #title { height: auto; max-height: 2; }
    Inspector #stats { height: auto; max-height: 3; }
    Inspector #numbers { height: auto; max-height: 12; }
    Inspector #panels { height: 1fr; display: none; }
    Inspector .panel { width: 1fr; margin-right: 1; }
    Inspector .caption { height: 1; }
    Inspector.walking #numbers { max-height: 40; }
    Inspector.walking #heatmap { display: none; }
    Inspector.paneled #panels { display: block; }
    Inspector.paneled #heatmap { display: none; }
    Inspector #decision-map, Inspector #curves-view { display: none; }
    Inspector.figured #heatmap, Inspector.figured #numbers, Inspector.figured #stats,
    Inspector.figured #panels { display: none; }
    Inspector.mapping #decision-map { display: block; }
    Inspector.curving #curves-view { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.slice_index = 0
        self.zoom = 0  # 0: fit the pane
        self._shown: tuple[View, str] | None = None
        self._drawn: tuple | None = None  # what the panes show: unchanged, nothing is redrawn

    def compose(self) -> ComposeResult:
        yield Static(id="tabs")
        yield Static(id="title")
        yield Heatmap(id="heatmap")
        with Horizontal(id="panels"):  # pictures side by side, each with its own scale
            for i in range(PANELS):
                with Vertical(classes="panel", id=f"panel{i}"):
                    yield Static(classes="caption", id=f"caption{i}")
                    yield Heatmap(id=f"panelmap{i}")
        yield DecisionMapView(id="decision-map")
        yield ActivationCurvesView(id="curves-view")
        yield Static(id="numbers")
        yield Static(id="stats")

    def on_resize(self) -> None:
        if self._shown is not None:
            self._drawn = None
            self.show(*self._shown)

    def _show_figure(self, view: View, tab: str, figure: object) -> bool:
        """Draw the map tab, or an activation's curves on its weights tab: True if drawn."""
        mapping = tab == "map"
        curving = not mapping and view.walk is None and isinstance(figure, ActivationCurves)
        self.set_class(mapping or curving, "figured")
        self.set_class(mapping, "mapping")
        self.set_class(curving, "curving")
        if not (mapping or curving):
            return False
        self.set_class(False, "walking")
        self.set_class(False, "paneled")
        title = self.query_one("#title", Static)
        if curving:
            redraw.show(title, Text(figure.title, style="bold"))
            self.query_one(ActivationCurvesView).set_figure(figure)
        elif not isinstance(figure, DecisionMap):
            redraw.show(title, Text(_("map: drawn once the running command pauses"), "dim"))
        else:
            redraw.show(title, Text(figure.title, style="dim" if figure.empty else "bold"))
            self.query_one(DecisionMapView).set_figure(None if figure.empty else figure)
        return True

    def show(self, view: View, tab: str, figure: object = None) -> None:
        """Draw ``view``'s tensor, or ``figure`` (a DecisionMap or ActivationCurves from
        Session.try_figures) in its place."""
        width = self.size.width or 80
        # the view's parts are the same objects while nothing they depend on changed
        drawn = (id(view.tensor), id(view.walk), tab, self.slice_index, self.zoom, width)
        drawn += (id(figure),)
        if drawn == self._drawn:
            return
        self._shown, self._drawn = (view, tab, figure), drawn  # keeps the ids' objects alive
        redraw.show(self.query_one("#tabs", Static), tab_labels(tab, width))
        if self._show_figure(view, tab, figure):
            return
        tensor = view.tensor
        heatmap = self.query_one("#heatmap", Heatmap)
        numbers = self.query_one("#numbers", Static)
        stats = self.query_one("#stats", Static)
        self.set_class(view.walk is not None, "walking")
        self.set_class(view.walk is None and bool(tensor.panels), "paneled")
        if view.walk is not None:  # a conv/pool position worked by hand replaces the tensor
            redraw.show(
                self.query_one("#title", Static),
                Text(_("working it out by hand (n: next position, o: finish the layer)"), "dim"),
            )
            heatmap.set_data(None)
            redraw.show(numbers, render_cell(view.walk, width))
            redraw.show(stats, "")
            return
        if tensor.array is None:
            redraw.show(self.query_one("#title", Static), Text(tensor.title, style="dim"))
            heatmap.set_data(None)
            redraw.show(numbers, "")
            redraw.show(stats, "")
            return
        plane, where = slice_2d(tensor.array, self.slice_index)
        shape = "x".join(str(s) for s in tensor.array.shape)
        title = f"{tensor.title} ({shape}) {where}"
        if tensor.note:
            title += f"   {tensor.note}"
        redraw.show(self.query_one("#title", Static), Text(title, style="bold"))
        rows = tensor.valid_rows if plane is tensor.array or tensor.array.ndim == 2 else None
        heatmap.set_data(plane, self.zoom, rows)
        for i in range(PANELS):
            caption, values = tensor.panels[i] if i < len(tensor.panels) else ("", None)
            self.query_one(f"#panel{i}").display = values is not None
            redraw.show(self.query_one(f"#caption{i}", Static), Text(caption, style="bold"))
            self.query_one(f"#panelmap{i}", Heatmap).set_data(values, self.zoom)
        redraw.show(numbers, numbers_text(plane, width, rows) if plane.size <= 64 else "")
        counted = tensor.array if rows is None else tensor.array[rows[0] : rows[1]]
        if tensor.panels:  # the statistics of the picture computed (the map, not the digit)
            counted = tensor.panels[-1][1]
        s = statistics(counted, tensor.saturation)
        line = _("mean {mean}  std {std}  min {min}  max {max}  norm {norm}  zeros {zeros}").format(
            mean=f"{s['mean']:.3g}",
            std=f"{s['std']:.3g}",
            min=f"{s['min']:.3g}",
            max=f"{s['max']:.3g}",
            norm=f"{s['norm']:.3g}",
            zeros=f"{s['zeros']:.0%}",
        )
        if not math.isnan(s["saturated"]):
            line += "  " + _("saturated {share}").format(share=f"{s['saturated']:.0%}")
        style = "bold red" if s["nonfinite"] else ""
        nonfinite = _("non-finite {count}").format(count=s["nonfinite"])
        redraw.show(stats, Text(f"{line}  {nonfinite}", style=style))


PANELS = 2  # the most pictures a view gives side by side (the occlusion map: digit | map)


def tab_labels(current: str, width: int) -> Text:
    """The tabs with their keys, on as many lines as ``width`` needs, never split mid-label."""
    text, used = Text(), 0
    for i, name in enumerate(TABS, start=1):
        label = f" {i} {_(TAB_TITLES.get(name, name))} "
        if used and used + cell_len(label) > width:
            text.append("\n")
            used = 0
        text.append(label, style="reverse bold" if name == current else "dim")
        used += cell_len(label)
    return text


def numbers_text(plane: np.ndarray, width: int, rows: tuple[int, int] | None = None) -> Text:
    """The values of a small plane, one line per row, as narrow as they can be written; rows
    not computed yet are blank; a plane too wide for the pane is named, never wrapped."""
    cells = [[f"{v:.3g}" for v in row] for row in plane + 0.0]  # + 0.0: no "-0"
    cell = max(len(c) for row in cells for c in row)
    needed = len(cells[0]) * (cell + 1) - 1
    if needed > width:
        hint = _("(its {count} values: widen the pane to {needed} columns to see)")
        return Text(hint.format(count=plane.size, needed=needed), "dim")
    text = Text(no_wrap=True, overflow="crop")
    for r, row in enumerate(cells):
        if rows is not None and not rows[0] <= r < rows[1]:
            text.append(_("not computed yet") + "\n", style="dim")
            continue
        text.append(" ".join(c.rjust(cell) for c in row) + "\n")
    text.rstrip()
    return text
