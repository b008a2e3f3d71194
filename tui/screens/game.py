"""What the optimiser-race and GAN screens share: n / c / p / r, the timer that plays the
run, and the lesson pane with the expectations met so far."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from nnsim.session import Session

from ..widgets.lesson import LessonPane


class GameScreen(Screen):
    """A run without one network: ``advance`` makes one step, ``tick`` one frame of play,
    ``draw`` shows the run; the session's ``rerun()`` makes a fresh one."""

    BINDINGS = [
        Binding("n", "step", "step"),
        Binding("c", "play", "continue"),
        Binding("p", "pause", "pause"),
        Binding("r", "restart", "restart"),
    ]
    PLAY_INTERVAL = 0.05  # seconds between frames while playing

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.scenario = session.scenario
        # the variant's name in the status line ("" for the lesson itself)
        self.label = session.label.removeprefix("variant ") if session.previous else ""
        self.run = session.run
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
        self.session = self.session.rerun()
        self.run = self.session.run
        self.restarted()
        self.refresh_view()

    def refresh_view(self) -> None:
        self.draw()
        self.query_one(LessonPane).show_expectations(self.session.expectations())
