"""The inspector's map tab: the decision map of a model with 2 input features (class regions,
the training points, the first layer's unit lines or a deeper unit's sign), drawn by
nnsim.map_plot to the pane's size. Redrawn only when the map or the size changes."""

from __future__ import annotations

from rich.text import Text

from nnsim.map_plot import render

from .figure_view import FigureView

LEGEND_LINES = 3  # the classes and lines, the axes' ranges, a deeper unit's label


class DecisionMapView(FigureView):
    DEFAULT_CSS = "DecisionMapView { height: 1fr; }"

    def render_figure(self, width: int, height: int) -> Text:
        return render(self.figure, width, max(4, height - LEGEND_LINES))
