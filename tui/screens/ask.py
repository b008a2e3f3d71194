"""A one-line question in a modal: the what-if commands ask for a value here."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from nnsim.i18n import _


class AskScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "cancel")]
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical { width: 70; max-width: 100%; height: auto; border: thick $accent;
        background: $surface; padding: 1 2; }
    AskScreen #hint { color: $text-muted; }
    """

    def __init__(
        self,
        prompt: str,
        placeholder: str = "",
        value: str = "",
        check: Callable[[str], str | None] | None = None,
    ) -> None:
        """``check(answer)`` returns why an answer cannot be taken (the prompt stays open with
        the reason and the text to correct), or None to accept it."""
        super().__init__()
        self.prompt, self.placeholder, self.value = prompt, placeholder, value
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.prompt)
            yield Input(value=self.value, placeholder=self.placeholder)
            yield Static(self._hint(), id="hint")

    def _hint(self) -> str:
        """The keys; with a pre-filled value, the example too (the line's grey example only
        shows when it is empty)."""
        keys = _("enter to apply, escape to cancel")
        return f"{self.placeholder}; {keys}" if self.value and self.placeholder else keys

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _answer(self, message: Input.Submitted) -> None:
        answer = message.value.strip()
        if not answer:  # the grey example is not an answer: say so instead of doing nothing
            example = f" ({self.placeholder})" if self.placeholder else ""
            hint = _("type a value first{example}; escape to cancel").format(example=example)
            self.query_one("#hint", Static).update(hint)
            return
        problem = self.check(answer) if self.check is not None else None
        if problem:  # keep what was typed, so a typo is fixed rather than retyped
            hint = _("{problem}; fix it or press escape").format(problem=problem)
            self.query_one("#hint", Static).update(hint)
            return
        self.dismiss(answer)
