"""What the optimiser-race and GAN screens share: n / c / p / r, the timer that plays the
run, and the lesson pane with the expectations met so far."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from nnsim.sim.conditions import ConditionError

from ..widgets.lesson import LessonPane


class GameScreen(Screen):
    """A run without one network: ``advance`` makes one step, ``tick`` one frame of play,
    ``draw`` shows the run; the scenario's ``simulator()`` makes a fresh run."""

    BINDINGS = [
        Binding("n", "step", "step"),
        Binding("c", "play", "continue"),
        Binding("p", "pause", "pause"),
        Binding("r", "restart", "restart"),
    ]
    PLAY_INTERVAL = 0.05  # seconds between frames while playing

    def __init__(self, scenario, label: str = "") -> None:
        super().__init__()
        self.scenario, self.label = scenario, label
        self.run = scenario.simulator()
        self.timer = None

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    # ---------------------------------------------------------------- for subclasses

    def advance(self) -> None:
        """One step (`n`)."""
        raise NotImplementedError

    def tick(self) -> None:
        """One frame of play (`c`); by default one step."""
        self.advance()

    def draw(self) -> None:
        raise NotImplementedError

    def restarted(self) -> None:
        """Forget what was recorded about the previous run."""

    # ---------------------------------------------------------------- actions

    def action_step(self) -> None:
        self.action_pause()
        self.advance()
        self.refresh_view()

    def action_play(self) -> None:
        if self.timer is None and self.run.completed < self.run.iterations:
            self.timer = self.set_interval(self.PLAY_INTERVAL, self._frame)

    def _frame(self) -> None:
        self.tick()
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
        self.restarted()
        self.refresh_view()

    def refresh_view(self) -> None:
        self.draw()
        checks = []
        for expectation in self.scenario.expectations:
            met = None
            reached = expectation.at is None or self.run.completed >= expectation.at
            if self.run.completed and reached:
                try:
                    met = bool(self.run.check(expectation.check))
                except (KeyError, ConditionError):  # compares variants: `nnsim verify` does
                    met = None
            checks.append((expectation.check, met))
        self.query_one(LessonPane).show_expectations(checks)
