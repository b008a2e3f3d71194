"""The optimiser race screen: the surface with every optimiser's path, stepped together."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from nnsim.surface_plot import TABLE_COLUMNS, render, table_rows

from ..widgets.lesson import LessonPane
from .game import GameScreen


class SurfaceScreen(GameScreen):
    """``n`` steps every optimiser once, ``c`` plays the race to the end, ``r`` restarts."""

    DEFAULT_CSS = """
    SurfaceScreen #status { height: 1; }
    SurfaceScreen #plot { width: 2fr; border: round $primary; }
    SurfaceScreen #side { width: 1fr; min-width: 30; }
    SurfaceScreen #race-lesson { width: 1fr; padding: 0 1; }
    SurfaceScreen #table { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            with Vertical(id="plot"):
                yield Static(id="surface")
                yield Static(id="table")
            with Vertical(id="side"):
                yield LessonPane(self.scenario.title, self.scenario.text, id="race-lesson")
        yield Footer()

    def draw(self) -> None:
        run = self.run
        status = (
            f" {self.scenario.title}   step {run.completed}/{run.iterations} on "
            f"{run.surface.description}"
        )
        if self.label:
            status += f"   (variant {self.label})"
        self.query_one("#status", Static).update(status)
        plot = self.query_one("#plot")
        width = max(20, plot.size.width - 4)
        rows = len(run.names) + 5  # the table under the plot
        height = max(6, plot.size.height - rows - 4)
        self.query_one("#surface", Static).update(render(run, width, height))
        table = Table(box=None, padding=(0, 1))
        for column in TABLE_COLUMNS:
            table.add_column(column, justify="left" if column in ("optimiser", "") else "right")
        for row in table_rows(run):
            table.add_row(*row)
        self.query_one("#table", Static).update(table)
