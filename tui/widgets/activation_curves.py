"""The weights tab of an activation layer: f(z) and f'(z) by the layer's own kernels, the
current batch's pre-activations as a strip under them and the peak of f' labelled (drawn by
nnsim.activation_plot to the pane's size)."""

from __future__ import annotations

from rich.text import Text

from nnsim.activation_plot import curves_text

from .figure_view import FigureView


class ActivationCurvesView(FigureView):
    DEFAULT_CSS = "ActivationCurvesView { height: 1fr; }"
    MIN_WIDTH = 12

    def render_figure(self, width: int, height: int) -> Text:
        notes = 1 if self.figure.note else 0  # the note's line under the legend
        return curves_text(self.figure, width, max(7, height - notes))
