"""What `nnsim run` draws after a network lesson's tables: the decision map of a model with 2
input features (nnsim.map_plot) and the activation std across depth."""

from __future__ import annotations

from rich.console import Console

from .activation_plot import std_line
from .i18n import _
from .map_plot import render
from .session.depth import activation_std
from .session.maps import decision_map

MAP_WIDTH, MAP_HEIGHT = 48, 16


def print_views(console: Console, sim) -> None:
    """The map (2-D inputs only) and the std line (two layers or more) of ``sim`` now."""
    figure = decision_map(sim, None)
    if not figure.empty:
        said = _(
            "decision map after the run: the class picked at each point, the training points, "
            "the first layer's lines"
        )
        console.print("\n" + said)
        width = min(MAP_WIDTH, console.width - 2)
        console.print(render(figure, width, MAP_HEIGHT, plain=True), crop=False, soft_wrap=True)
    std = activation_std(sim)
    if len(std.layers) > 1 and std.measured:
        if std.what == "activation layers":
            said = _("output std of the activation layers across depth (the last batch):")
        else:
            said = _("output std of the layers across depth (the last batch):")
        console.print("\n" + said)
        console.print(std_line(std, min(console.width, 100) - 2))
