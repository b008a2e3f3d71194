"""What the optimiser-race and GAN screens share: n / c / p / r run in the session's worker
(so drawing never waits for training), the lesson pane with the promises met so far, and a
layout per size class (tui/widgets/layout.py):

- medium and wide (100 columns and more): the run and the lesson side by side; ``l`` hides
  the lesson to widen the run, and shows it again;
- narrow (60 to 99): one pane at a time, the run first; ``l`` shows the lesson, again the run;
- below 60 x 20: a request for a larger terminal.

Subclasses compose their run in a container of class ``board`` beside a LessonPane of class
``game-lesson``, and ``draw`` the run into it."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from nnsim.i18n import N_, _
from nnsim.session import Session

from ..commands import GAME, bindings, retranslate_bindings
from ..messages import CommandFinished, CommandProgress, CommandStarted
from ..widgets.layout import SIZE_CLASSES, size_class, too_small
from ..widgets.lesson import LessonPane
from ..worker import SessionWorker


class GameScreen(Screen):
    """A run without one network. Subclasses ``draw`` the run (called with the session's
    lock held, so the run never changes mid-drawing) and may override ``restarted``."""

    DEFAULT_CSS = """
    GameScreen .game-status { height: 1; background: $boost; text-wrap: nowrap;
                              text-overflow: ellipsis; }
    GameScreen .game-body { height: 1fr; }
    GameScreen .board { width: 2fr; border: round $primary; }
    GameScreen .game-lesson { width: 1fr; min-width: 30; padding: 0 1; }
    GameScreen .game-too-small { display: none; height: 1fr; content-align: center middle;
                                 text-align: center; }
    GameScreen.lesson-hidden .game-lesson { display: none; }
    GameScreen.narrow .board { width: 1fr; }
    GameScreen.narrow .game-lesson { display: none; width: 1fr; min-width: 0; }
    GameScreen.narrow.pane-lesson .board { display: none; }
    GameScreen.narrow.pane-lesson .game-lesson { display: block; }
    GameScreen.tiny .game-body { display: none; }
    GameScreen.tiny .game-status { display: none; }
    GameScreen.tiny .game-too-small { display: block; }
    """
    BINDINGS = bindings(GAME)
    noun = N_("run")  # what the board shows, for the status line's pane hint
    paused = N_("paused after step {done} of {total}")  # run.completed counts steps

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.scenario = session.scenario
        # the variant's name in the status line ("" for the lesson itself)
        self.label = session.label.removeprefix("variant ") if session.previous else ""
        self.lesson_shown = False  # narrow: the lesson instead of the run
        self.lesson_hidden = False  # medium and wide: the run alone, wider
        self.playing = False  # between the worker's start and end messages of a continue
        self._use_session(session)

    def _use_session(self, session: Session) -> None:
        self.session = session
        self.run = session.run
        self.worker = SessionWorker(session, self.post_message, self._start_thread)

    def _start_thread(self, loop) -> None:
        self.run_worker(loop, thread=True, group="session", exit_on_error=False)

    def on_mount(self) -> None:
        retranslate_bindings(self)  # the bindings in the language chosen now
        self.apply_layout()
        self.refresh_view()

    def on_resize(self) -> None:
        self.apply_layout()
        self.call_after_refresh(self.refresh_view)  # drawn at the board's new size

    def on_unmount(self) -> None:
        self.worker.cancel()

    # ---------------------------------------------------------------- layout

    @property
    def size_class(self) -> str:
        return size_class(*self.size)

    def apply_layout(self) -> None:
        width, height = self.size
        size = size_class(width, height)
        for name in SIZE_CLASSES:
            self.set_class(name == size, name)
        self.set_class(size == "narrow" and self.lesson_shown, "pane-lesson")
        self.set_class(size != "narrow" and self.lesson_hidden, "lesson-hidden")
        self.query_one(".game-too-small", Static).update(too_small(width, height))

    def action_toggle_lesson(self) -> None:
        """l: the lesson in place of the run where panes take turns, else hide or show it."""
        if self.size_class == "narrow":
            self.lesson_shown = not self.lesson_shown
        else:
            self.lesson_hidden = not self.lesson_hidden
        self.apply_layout()
        self.call_after_refresh(self.refresh_view)  # drawn at the board's new size

    def pane_hint(self) -> str:
        """What ``l`` does now, for the status line."""
        if self.size_class == "narrow":
            back = _("l: back to the {board}").format(board=_(self.noun))
            return back if self.lesson_shown else _("l: the lesson")
        return _("l: show the lesson") if self.lesson_hidden else _("l: hide the lesson")

    def status(self, *parts: str, detail: str = "") -> Text:
        """The status line: the run's state first, then what ``l`` does (never cut at 80
        columns), then ``detail`` and the title (cut with … where short)."""
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for part in parts:
            text.append(f" {part} ", style="bold")
            text.append("·", style="dim")
        if self.playing:
            playing = _("playing: p pauses")
            text.append(f" {playing} ", style="bold yellow").append("·", style="dim")
        if self.label:
            variant = _("variant {name}").format(name=self.label)
            text.append(f" {variant} ", style="bold cyan").append("·", style="dim")
        text.append(f" {self.pane_hint()} ", style="bold yellow").append("·", style="dim")
        if detail:
            text.append(f" {detail} ", style="bold").append("·", style="dim")
        text.append(f" {self.scenario.title}", style="dim")
        return text

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
        if not self.worker.busy:
            self.notify(_("nothing is playing: c plays the run, n steps it"), title=_("pause"))
            return
        self.worker.pause()

    def action_restart(self) -> None:
        self.worker.cancel()
        self.playing = False
        self._use_session(self.session.rerun())
        self.restarted()
        self.refresh_view()

    def on_command_started(self, message: CommandStarted) -> None:
        self.playing = message.command == "continue"
        self.refresh_view()

    def on_command_progress(self, message: CommandProgress) -> None:
        self.refresh_view()

    def on_command_finished(self, message: CommandFinished) -> None:
        self.playing = False
        if message.error:
            self.note(message.error)
        elif message.cancelled and message.command == "continue" and self.is_current:
            paused = _(self.paused)
            done, total = self.run.completed, self.run.iterations
            self.notify(paused.format(done=done, total=total))
        self.refresh_view()

    def refresh_view(self) -> None:
        if self.size_class == "tiny":
            return
        lock = self.session.lock
        if not lock.acquire(timeout=0.05):
            return  # a step holds the run: the next progress message draws it
        try:
            self.draw()
            statuses = self.session.expectations_unlocked()
            prediction = self.session.prediction()
        finally:
            lock.release()
        pane = self.query_one(LessonPane)
        pane.show_expectations(statuses)
        pane.show_prediction(prediction)


__all__ = ["GameScreen"]
