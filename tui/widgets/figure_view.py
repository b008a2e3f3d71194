"""A figure drawn to its pane's size (the decision map, an activation's f and f'): redrawn
only when the figure or the size changes, blank when there is none."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from . import redraw


class FigureView(Static):
    """Subclasses say the narrowest width worth drawing and how to draw at a size."""

    DEFAULT_CSS = "FigureView { height: 1fr; }"
    MIN_WIDTH = 8

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.figure: object | None = None
        self._drawn: tuple | None = None

    def set_figure(self, figure: object | None) -> None:
        self.figure = figure
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def render_figure(self, width: int, height: int) -> Text:
        raise NotImplementedError

    def _draw(self) -> None:
        width, height = self.content_size
        drawn = (id(self.figure), width, height)
        if self.figure is None:  # nothing to draw (a map tab without a plane)
            self._drawn = drawn
            redraw.show(self, "")
            return
        if width < self.MIN_WIDTH or drawn == self._drawn:
            return
        self._drawn = drawn
        redraw.show(self, self.render_figure(width, height))
