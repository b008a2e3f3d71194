"""The tensor inspector: a heatmap of the selected tensor, its numbers when small, and its
statistics. Tabs: 1 weights, 2 activations, 3 gradients, 4 time steps."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nnsim.session import TABS, View, statistics

from .heatmap import Heatmap, slice_2d
from .walk import render_cell


class Inspector(Vertical):
    DEFAULT_CSS = """
    Inspector { height: 1fr; }
    Inspector #tabs { height: 1; }
    Inspector #title { height: 1; }
    Inspector #stats { height: auto; max-height: 3; }
    Inspector #numbers { height: auto; max-height: 12; }
    Inspector.walking #numbers { max-height: 40; }
    Inspector.walking #heatmap { display: none; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.slice_index = 0
        self.zoom = 0  # 0: fit the pane

    def compose(self) -> ComposeResult:
        yield Static(id="tabs")
        yield Static(id="title")
        yield Heatmap(id="heatmap")
        yield Static(id="numbers")
        yield Static(id="stats")

    def show(self, view: View, tab: str) -> None:
        tabs = Text()
        for i, name in enumerate(TABS, start=1):
            style = "reverse bold" if name == tab else "dim"
            tabs.append(f" {i} {name} ", style=style)
        self.query_one("#tabs", Static).update(tabs)
        tensor = view.tensor
        heatmap = self.query_one(Heatmap)
        numbers = self.query_one("#numbers", Static)
        stats = self.query_one("#stats", Static)
        self.set_class(view.walk is not None, "walking")
        if view.walk is not None:  # a conv/pool position worked by hand replaces the tensor
            self.query_one("#title", Static).update(
                Text("working it out by hand (n: next position, o: finish the layer)", "dim")
            )
            heatmap.set_data(None)
            numbers.update(render_cell(view.walk))
            stats.update("")
            return
        if tensor.array is None:
            self.query_one("#title", Static).update(Text(tensor.title, style="dim"))
            heatmap.set_data(None)
            numbers.update("")
            stats.update("")
            return
        plane, where = slice_2d(tensor.array, self.slice_index)
        shape = "x".join(str(s) for s in tensor.array.shape)
        title = f"{tensor.title} ({shape}) {where}"
        if tensor.note:
            title += f"   {tensor.note}"
        self.query_one("#title", Static).update(Text(title, style="bold"))
        heatmap.set_data(plane, self.zoom)
        numbers.update(_numbers(plane) if plane.size <= 64 else "")
        s = statistics(tensor.array, tensor.saturation)
        line = (
            f"mean {s['mean']:.3g}  std {s['std']:.3g}  min {s['min']:.3g}  max {s['max']:.3g}  "
            f"norm {s['norm']:.3g}  zeros {s['zeros']:.0%}"
        )
        if not math.isnan(s["saturated"]):
            line += f"  saturated {s['saturated']:.0%}"
        style = "bold red" if s["nonfinite"] else ""
        stats.update(Text(line + f"  non-finite {s['nonfinite']}", style=style))


def _numbers(plane: np.ndarray) -> Text:
    text = Text()
    for row in plane:
        text.append(" ".join(f"{v:>8.3g}" for v in row) + "\n")
    return text
