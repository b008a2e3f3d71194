"""What the optimiser-race and GAN screens share: n / c / p / r run in the session's worker
(so drawing never waits for training), and the lesson pane with the promises met so far."""

from __future__ import annotations

from textual.screen import Screen

from nnsim.session import Session

from ..commands import GAME, bindings
from ..messages import CommandFinished, CommandProgress
from ..widgets.lesson import LessonPane
from ..worker import SessionWorker


class GameScreen(Screen):
    """A run without one network. Subclasses ``draw`` the run (called with the session's
    lock held, so the run never changes mid-drawing) and may override ``restarted``."""

    BINDINGS = bindings(GAME)

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.scenario = session.scenario
        # the variant's name in the status line ("" for the lesson itself)
        self.label = session.label.removeprefix("variant ") if session.previous else ""
        self._use_session(session)

    def _use_session(self, session: Session) -> None:
        self.session = session
        self.run = session.run
        self.worker = SessionWorker(session, self.post_message, self._start_thread)

    def _start_thread(self, loop) -> None:
        self.run_worker(loop, thread=True, group="session", exit_on_error=False)

    def on_mount(self) -> None:
        self.refresh_view()

    def on_resize(self) -> None:
        self.refresh_view()

    def on_unmount(self) -> None:
        self.worker.cancel()

    # ---------------------------------------------------------------- for subclasses

    def draw(self) -> None:
        raise NotImplementedError

    def restarted(self) -> None:
        """Forget what was recorded about the previous run."""

    def note(self, text: str) -> None:
        """A line under the status (an error, a pause)."""
        self.notify(text, severity="warning")

    # ---------------------------------------------------------------- actions

    def action_step(self) -> None:
        self.worker.submit("step")

    def action_play(self) -> None:
        self.worker.submit("continue")

    def action_pause(self) -> None:
        self.worker.pause()

    def action_restart(self) -> None:
        self.worker.cancel()
        self._use_session(self.session.rerun())
        self.restarted()
        self.refresh_view()

    def on_command_progress(self, message: CommandProgress) -> None:
        self.refresh_view()

    def on_command_finished(self, message: CommandFinished) -> None:
        if message.error:
            self.note(message.error)
        self.refresh_view()

    def refresh_view(self) -> None:
        lock = self.session.lock
        if not lock.acquire(timeout=0.05):
            return  # a step holds the run: the next progress message draws it
        try:
            self.draw()
            statuses = self.session.expectations_unlocked()
        finally:
            lock.release()
        self.query_one(LessonPane).show_expectations(statuses)


__all__ = ["GameScreen"]
