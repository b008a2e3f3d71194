"""The breakpoint list and editor (B): conditions with hit counts, enable/disable, delete,
and a line to add a new condition, checked as you submit it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from nnsim.session import ConditionError, Session


class BreakpointScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "close"),
        Binding("space", "toggle", "enable/disable"),
        Binding("x", "delete", "delete"),
    ]
    DEFAULT_CSS = """
    BreakpointScreen { align: center middle; }
    BreakpointScreen > Vertical { width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2; }
    BreakpointScreen OptionList { height: auto; max-height: 12; }
    BreakpointScreen #error { color: $error; height: auto; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text("Breakpoints  (space: enable/disable, x: delete, esc: close)", style="bold")
            )
            yield OptionList(id="list")
            yield Static("Add a condition, e.g. grad_norm(dense1) < 1e-6 or loss > 10:")
            yield Input(placeholder="condition", id="condition")
            yield Static(id="error")

    def on_mount(self) -> None:
        self._fill()
        self.query_one(Input).focus()

    def _fill(self) -> None:
        conditions, layers = self.session.breakpoints()
        listing = self.query_one(OptionList)
        listing.clear_options()
        for text, enabled, hits in conditions:
            mark = "●" if enabled else "○"
            listing.add_option(Option(f"{mark} {text}   hits {hits}"))
        for name in layers:
            listing.add_option(Option(f"● at {name}   (b on the layer removes it)", disabled=True))
        if not conditions and not layers:
            listing.add_option(Option("no breakpoints yet", disabled=True))

    @on(Input.Submitted)
    def _add(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        error = self.query_one("#error", Static)
        try:
            self.session.add_breakpoint(text)
        except ConditionError as err:
            error.update(Text(str(err)))
            return
        error.update("")
        message.input.value = ""
        self._fill()

    def _highlighted_breakpoint(self):
        index = self.query_one(OptionList).highlighted
        conditions, _ = self.session.breakpoints()
        return conditions[index] if index is not None and index < len(conditions) else None

    def action_toggle(self) -> None:
        bp = self._highlighted_breakpoint()
        if bp is not None:
            text, enabled, _ = bp
            self.session.enable_breakpoint(text, not enabled)
            self._fill()

    def action_delete(self) -> None:
        bp = self._highlighted_breakpoint()
        if bp is not None:
            self.session.remove_breakpoint(bp[0])
            self._fill()
