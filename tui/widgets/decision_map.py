"""The inspector's map tab: the decision map of a model with 2 input features (class regions,
the training points, the first layer's unit lines or a deeper unit's sign), drawn by
nnsim.map_plot to the pane's size. Redrawn only when the map or the size changes."""

from __future__ import annotations

from textual.widgets import Static

from nnsim.map_plot import render
from nnsim.session.maps import DecisionMap

from . import redraw

LEGEND_LINES = 3  # the classes and lines, the axes' ranges, a deeper unit's label


class DecisionMapView(Static):
    DEFAULT_CSS = "DecisionMapView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.figure: DecisionMap | None = None
        self._drawn: tuple | None = None

    def set_figure(self, figure: DecisionMap | None) -> None:
        self.figure = figure
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.content_size
        drawn = (id(self.figure), width, height)
        if self.figure is None:  # nothing to draw (a map tab without a plane)
            self._drawn = drawn
            redraw.show(self, "")
            return
        if width < 8 or drawn == self._drawn:
            return
        self._drawn = drawn
        rows = max(4, height - LEGEND_LINES)
        redraw.show(self, render(self.figure, width, rows))
