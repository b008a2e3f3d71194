"""The GAN screen: the generator's samples over the target, stepped D step by G step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from nnsim.gan_plot import curves, histogram
from nnsim.scenario.gan import GanScenario
from nnsim.sim.conditions import ConditionError

from ..widgets.lesson import LessonPane


class GanScreen(Screen):
    """``n`` runs one D or G step, ``c`` plays to the end, ``p`` pauses, ``r`` restarts."""

    DEFAULT_CSS = """
    GanScreen #status { height: 1; }
    GanScreen #game { width: 2fr; border: round $primary; }
    GanScreen #gan-lesson { width: 1fr; min-width: 30; padding: 0 1; }
    """
    BINDINGS = [
        Binding("n", "step", "step (D or G)"),
        Binding("c", "play", "continue"),
        Binding("p", "pause", "pause"),
        Binding("r", "restart", "restart"),
    ]
    PLAY_INTERVAL = 0.03  # seconds per tick while playing
    ITERATIONS_PER_TICK = 10

    def __init__(self, scenario: GanScenario, label: str = "") -> None:
        super().__init__()
        self.scenario, self.label = scenario, label
        self.run = scenario.simulator()
        self.accuracy: list[float] = []  # D's accuracy after each completed iteration shown
        self.last = ""  # which network the last step moved
        self.timer = None

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            with Vertical(id="game"):
                yield Static(id="histogram")
                yield Static(id="curves")
            yield LessonPane(self.scenario.title, self.scenario.text, id="gan-lesson")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def action_step(self) -> None:
        self.action_pause()
        self.last = self.run.step()
        self._record()
        self.refresh_view()

    def action_play(self) -> None:
        if self.timer is None and self.run.completed < self.run.iterations:
            self.timer = self.set_interval(self.PLAY_INTERVAL, self._tick)

    def _tick(self) -> None:
        for _ in range(self.ITERATIONS_PER_TICK):
            if self.run.completed >= self.run.iterations:
                break
            target = self.run.completed + 1
            while self.run.completed < target:
                self.last = self.run.step()
        self._record()
        self.refresh_view()
        if self.run.completed >= self.run.iterations:
            self.action_pause()

    def _record(self) -> None:
        if self.run.completed and self.run.substep == 0:
            self.accuracy.append(self.run.d_accuracy())

    def action_pause(self) -> None:
        if self.timer is not None:
            self.timer.stop()
            self.timer = None

    def action_restart(self) -> None:
        self.action_pause()
        self.run = self.scenario.simulator()
        self.accuracy, self.last = [], ""
        self.refresh_view()

    def refresh_view(self) -> None:
        run = self.run
        moved = {"D": "the discriminator moved", "G": "the generator moved"}.get(self.last, "")
        status = (
            f" {self.scenario.title}   iteration {run.completed}/{run.iterations}   next: "
            f"{run.next_step} step   {moved}"
        )
        if self.label:
            status += f"   (variant {self.label})"
        self.query_one("#status", Static).update(status)
        game = self.query_one("#game")
        width = max(20, game.size.width - 4)
        height = max(4, game.size.height - 10)
        self.query_one("#histogram", Static).update(histogram(run, width, height))
        self.query_one("#curves", Static).update(curves(run, self.accuracy, width - 24))
        checks = []
        for expectation in self.scenario.expectations:
            met = None
            if run.completed and (expectation.at is None or run.completed >= expectation.at):
                try:
                    met = bool(run.check(expectation.check))
                except (KeyError, ConditionError):  # compares variants: `nnsim verify` does
                    met = None
            checks.append((expectation.check, met))
        self.query_one(LessonPane).show_expectations(checks)
