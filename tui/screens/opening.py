"""Opening a lesson (reading the scenario, making its data, building its model) in a worker
thread, with a message from the first moment, so the terminal is never blank."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import LoadingIndicator, Static

from nnsim.i18n import _
from nnsim.scenario import ScenarioError
from nnsim.session import Session


@dataclass
class Opened(Message):
    outcome: Session | str


class OpeningScreen(Screen[Session | str]):
    """Dismisses with the opened Session, or with the message of why it cannot open."""

    DEFAULT_CSS = """
    OpeningScreen { align: center middle; }
    OpeningScreen > Vertical { width: 70; max-width: 100%; height: auto; }
    OpeningScreen LoadingIndicator { height: 3; }
    """

    def __init__(self, name: str, prepare: Callable[[Session], object] | None = None) -> None:
        super().__init__()
        self.lesson_name = name
        self.prepare = prepare  # run on the opened Session in the worker, before dismissing

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                _(
                    "opening {lesson}: reading the scenario, making its data, building its model"
                ).format(lesson=self.lesson_name)
            )
            yield LoadingIndicator()

    def on_mount(self) -> None:
        self.run_worker(self._open, thread=True, exit_on_error=False)

    def _open(self) -> None:
        try:
            name = self.lesson_name  # a ModelLesson (nnsim tui --model --data) makes its own
            outcome: Session | str = Session(name()) if callable(name) else Session.open(name)
        except ScenarioError as err:
            outcome = str(err)
        except (ValueError, OSError) as err:  # a data file that cannot be read, a bad size
            outcome = f"{self.lesson_name}: {err}"
        if self.prepare is not None and isinstance(outcome, Session):
            with suppress(Exception):  # a step the app may take later, where it says what failed
                self.prepare(outcome)
        self.post_message(Opened(outcome))  # dropped if the app quit meanwhile

    def on_opened(self, message: Opened) -> None:
        self.dismiss(message.outcome)
