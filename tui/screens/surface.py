"""The optimiser race screen: the surface with every optimiser's path, stepped together."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from nnsim.scenario.surface import SurfaceScenario
from nnsim.sim.conditions import ConditionError
from nnsim.surface_plot import TABLE_COLUMNS, render, table_rows

from ..widgets.lesson import LessonPane


class SurfaceScreen(Screen):
    """``n`` steps every optimiser once, ``c`` plays the race to the end, ``r`` restarts."""

    DEFAULT_CSS = """
    SurfaceScreen #status { height: 1; }
    SurfaceScreen #plot { width: 2fr; border: round $primary; }
    SurfaceScreen #side { width: 1fr; min-width: 30; }
    SurfaceScreen #race-lesson { width: 1fr; padding: 0 1; }
    SurfaceScreen #table { height: auto; }
    """
    BINDINGS = [
        Binding("n", "step", "step"),
        Binding("c", "play", "continue"),
        Binding("p", "pause", "pause"),
        Binding("r", "restart", "restart"),
    ]
    PLAY_INTERVAL = 0.05  # seconds per step while playing: the paths grow visibly

    def __init__(self, scenario: SurfaceScenario, label: str = "") -> None:
        super().__init__()
        self.scenario, self.label = scenario, label
        self.run = scenario.simulator()
        self.timer = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            with Vertical(id="plot"):
                yield Static(id="surface")
                yield Static(id="table")
            with Vertical(id="side"):
                yield LessonPane(self.scenario.title, self.scenario.text, id="race-lesson")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def action_step(self) -> None:
        self.action_pause()
        self.run.step()
        self.refresh_view()

    def action_play(self) -> None:
        if self.timer is None and self.run.completed < self.run.iterations:
            self.timer = self.set_interval(self.PLAY_INTERVAL, self._tick)

    def _tick(self) -> None:
        self.run.step()
        self.refresh_view()
        if self.run.completed >= self.run.iterations:
            self.action_pause()

    def action_pause(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None

    def action_restart(self) -> None:
        self.action_pause()
        self.run = self.scenario.simulator()
        self.refresh_view()

    def refresh_view(self) -> None:
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
        checks = []
        for expectation in self.scenario.expectations:
            if expectation.at is not None and run.completed < expectation.at:
                met = None
            elif run.completed == 0:
                met = None
            else:
                try:
                    met = bool(run.check(expectation.check))
                except (KeyError, ConditionError):  # compares variants: `nnsim verify` does
                    met = None
            checks.append((expectation.check, met))
        self.query_one(LessonPane).show_expectations(checks)
