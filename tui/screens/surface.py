"""The optimiser race screen: the surface with every optimiser's path, stepped together, and
a table of where each one is. The table's cells are never cut: numbers are written short, and
where the board is too narrow for every column the least needed go, named under the table."""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from nnsim.i18n import N_, _
from nnsim.session import SurfaceRun
from nnsim.surface_plot import PATH_COLOURS, letters, render

from ..widgets.footer import KeyFooter
from ..widgets.lesson import LessonPane
from .game import GameScreen

DROPPED_FIRST = ("lr never grew", "point", "last step")  # where the board is narrow
NOT_YET = "–"  # a value with no step behind it yet


class SurfaceScreen(GameScreen):
    """``n`` steps every optimiser once, ``c`` plays the race to the end, ``r`` restarts."""

    DEFAULT_CSS = """
    SurfaceScreen #table { height: auto; }
    """
    noun = N_("race")

    def compose(self) -> ComposeResult:
        yield Static(id="status", classes="game-status")
        yield Static(classes="game-too-small")
        with Horizontal(classes="game-body"):
            with Vertical(id="plot", classes="board"):
                yield Static(id="surface")
                yield Static(id="table")
            yield LessonPane(self.scenario.lesson, id="race-lesson", classes="game-lesson")
        yield KeyFooter()

    def draw(self) -> None:
        run = self.run
        counted = _("step {done}/{total}").format(done=run.completed, total=run.iterations)
        if run.completed >= run.iterations:
            counted += _(", complete (r restarts)")
        on = _("on {surface}").format(surface=run.surface.description)
        status = self.status(counted, detail=on)
        self.query_one("#status", Static).update(status)
        plot = self.query_one("#plot")
        width = max(20, plot.size.width)  # the size inside the border
        table = race_table(run, width)
        height = max(4, plot.size.height - len(table.plain.splitlines()) - 1)  # and the scales
        self.query_one("#surface", Static).update(surface(run, width, height))
        self.query_one("#table", Static).update(table)


def surface(run: SurfaceRun, width: int, height: int) -> Text:
    """The map and one line under it: the scales and the optimisers' letters, or where that
    line would wrap, the scales alone (the table names each optimiser's letter)."""
    lines = render(run, width, height).split("\n")
    text = Text("\n").join(lines[:height])
    legend = lines[height]
    if cell_len(legend.plain.rstrip()) > width:
        (x_low, x_high), (y_low, y_high) = run.surface.bounds
        legend = Text(f"x {x_low:g} .. {x_high:g}   y {y_low:g} .. {y_high:g}   ", style="dim")
        legend.append(_("* minimum") + "   ", style="dim")
        legend.append("A", style="reverse").append(" " + _("where an optimiser is"), style="dim")
    text.append("\n").append(legend)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _number(value: float, spec: str) -> str:
    if math.isfinite(value):
        return format(value, spec)
    return NOT_YET if value != value else str(value)


def _coordinate(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.1e}"
    return f"{value:.2f}".replace("-0.00", "0.00")  # no sign on a value that shows as 0


def race_columns(run: SurfaceRun) -> dict[str, list[str]]:
    """Each column of the race's table: its header, then one cell per optimiser."""
    letter = letters(run.names)
    columns: dict[str, list[str]] = {
        N_("optimiser"): [f"{letter[n]} {n}" for n in run.names],
        N_("point"): [],
        "f": [],
        N_("distance"): [],
        N_("last step"): [],
        N_("lr never grew"): [],
    }
    for name in run.names:
        x, y = run.path(name)[-1]
        columns["point"].append(f"({_coordinate(x)}, {_coordinate(y)})")
        columns["f"].append(_number(run.layer_metric("height", name), ".3g"))
        columns["distance"].append(_number(run.distance(name), ".3g"))
        step = run.layer_metric("step_size", name) if run.completed else math.nan
        columns["last step"].append(_number(step, ".1e"))
        monotone = run.lr_monotone(name) if run.completed > 1 else math.nan
        columns["lr never grew"].append(_number(monotone, ".0%"))
    if run.diverged:
        columns[N_("diverged")] = [
            _("at {step}").format(step=run.diverged[n]) if n in run.diverged else ""
            for n in run.names
        ]
    return columns


def race_table(run: SurfaceRun, width: int) -> Text:
    """The table in ``width`` cells: every cell whole; the columns that do not fit are left
    out and named on a last line."""
    columns = race_columns(run)
    left_out: list[str] = []

    def widths() -> dict[str, int]:
        return {
            h: max(cell_len(_(h)), *(cell_len(c) for c in cells)) for h, cells in columns.items()
        }

    while sum(widths().values()) + 2 * (len(columns) - 1) > width:
        dropped = next((h for h in DROPPED_FIRST if h in columns), None)
        if dropped is None:
            break
        del columns[dropped]
        left_out.append(dropped)
    sizes = widths()
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, header in enumerate(columns):
        cell = _pad(_(header), sizes[header], left=i == 0)
        text.append(("  " if i else "") + cell, style="bold")
    for row in range(len(run.names)):
        text.append("\n")
        colour = PATH_COLOURS[row % len(PATH_COLOURS)]
        for i, (header, cells) in enumerate(columns.items()):
            cell = _pad(cells[row], sizes[header], left=i == 0)
            style = colour if i == 0 else "red" if header == "diverged" and cells[row] else ""
            text.append(("  " if i else "") + cell, style=style)
    if left_out:
        hidden = ", ".join(_(h) for h in left_out)
        text.append("\n" + _("widen the terminal to see: {columns}").format(columns=hidden), "dim")
    return text


def _pad(text: str, width: int, left: bool) -> str:
    """``text`` padded to ``width`` terminal cells (a Chinese character takes two)."""
    room = " " * max(0, width - cell_len(text))
    return text + room if left else room + text
