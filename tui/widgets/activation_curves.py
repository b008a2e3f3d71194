"""The weights tab of an activation layer: f(z) and f'(z) by the layer's own kernels, the
current batch's pre-activations as a strip under them and the peak of f' labelled (drawn by
nnsim.activation_plot to the pane's size)."""

from __future__ import annotations

from textual.widgets import Static

from nnsim.activation_plot import curves_text
from nnsim.session.curves import ActivationCurves

from . import redraw


class ActivationCurvesView(Static):
    DEFAULT_CSS = "ActivationCurvesView { height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.figure: ActivationCurves | None = None
        self._drawn: tuple | None = None

    def set_figure(self, figure: ActivationCurves | None) -> None:
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
        if width < 12 or drawn == self._drawn:
            return
        self._drawn = drawn
        notes = 1 if self.figure.note else 0  # the note's line under the legend
        redraw.show(self, curves_text(self.figure, width, max(7, height - notes)))
