"""The output std of each activation layer across depth, for the current batch, in one line
under the gradient flow: a line falling towards 0 is a signal dying with depth (weights too
small), one stuck high in a tanh or sigmoid net is saturation (too large)."""

from __future__ import annotations

from textual.widgets import Static

from nnsim.activation_plot import std_line
from nnsim.i18n import _
from nnsim.session.depth import ActivationStd

from . import redraw


class ActivationStdPane(Static):
    DEFAULT_CSS = """
    ActivationStdPane { height: auto; border: round $primary; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = _("activation std by depth")
        self.std: ActivationStd | None = None
        self._drawn: tuple | None = None

    def show(self, std: ActivationStd | None) -> None:
        self.std = std
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.content_size.width
        drawn = (id(self.std), width)
        if width < 8 or drawn == self._drawn:
            return
        self._drawn = drawn
        redraw.show(self, std_line(self.std, width))
