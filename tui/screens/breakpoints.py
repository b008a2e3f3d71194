"""The breakpoint list and editor (B): conditions with hit counts, enable/disable, delete,
and a line to add a new condition, checked as you submit it."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from nnsim.i18n import N_, _
from nnsim.session import ConditionError, Session

# the line has the focus, where space and x are typed: the list's keys work in the list
HINT = N_(
    "{enter} add   {tab} or {up} the list, where {space} enables/disables and {x} deletes   "
    "{esc} close"
)
KEYS = {"enter": "enter", "tab": "tab", "up": "↑", "space": "space", "x": "x", "esc": "esc"}


def hint() -> Text:
    """The keys of the screen in a sentence of the current language, each key in bold."""
    text = Text(style="dim")
    for piece in re.split(r"(\{\w+\})", _(HINT)):
        name = piece[1:-1] if piece.startswith("{") else None
        text.append(KEYS[name], "bold") if name in KEYS else text.append(piece)
    return text


class BreakpointScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("close")),
        Binding("space", "toggle", _("enable/disable")),
        Binding("x", "delete", _("delete")),
    ]
    DEFAULT_CSS = """
    BreakpointScreen { align: center middle; }
    BreakpointScreen > Vertical { width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2; }
    BreakpointScreen OptionList { height: auto; max-height: 12; }
    BreakpointScreen #error { color: $error; height: auto; }
    BreakpointScreen #hint { height: auto; margin-top: 1; }
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(_("Breakpoints"), style="bold"))
            yield OptionList(id="list")
            yield Static(_("Add a condition, e.g. grad_norm(dense1) < 1e-6 or loss > 10:"))
            yield Input(placeholder=_("condition"), id="condition")
            yield Static(id="error")
            yield Static(hint(), id="hint")

    def on_mount(self) -> None:
        self._fill()
        self.query_one(Input).focus()

    def _fill(self) -> None:
        conditions, layers = self.session.breakpoints()
        listing = self.query_one(OptionList)
        kept = listing.highlighted  # the same row stays lit after space or x
        listing.clear_options()
        for text, enabled, hits in conditions:
            mark = "●" if enabled else "○"
            hit = _("hits {count}").format(count=hits)
            listing.add_option(Option(f"{mark} {text}   {hit}"))
        for name in layers:
            at = _("● at {layer}   (b on the layer removes it)").format(layer=name)
            listing.add_option(Option(at, disabled=True))
        if not conditions and not layers:
            listing.add_option(Option(_("no breakpoints yet"), disabled=True))
        if kept is not None and conditions:
            listing.highlighted = min(kept, len(conditions) - 1)

    def on_descendant_focus(self, event) -> None:
        """Arriving in the list lights its first condition, for space and x to act on."""
        listing = self.query_one(OptionList)
        if event.widget is listing and listing.highlighted is None:
            if self.session.breakpoints()[0]:
                listing.highlighted = 0

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

    def on_key(self, event) -> None:
        if event.key == "up" and isinstance(self.focused, Input):
            event.stop()
            self.query_one(OptionList).focus()

    def _highlighted_breakpoint(self):
        index = self.query_one(OptionList).highlighted
        conditions = self.session.breakpoints()[0]
        return conditions[index] if index is not None and index < len(conditions) else None

    def action_toggle(self) -> None:
        bp = self._highlighted_breakpoint()
        if bp is not None:
            text, enabled = bp[0], bp[1]
            self.session.enable_breakpoint(text, not enabled)
            self._fill()

    def action_delete(self) -> None:
        bp = self._highlighted_breakpoint()
        if bp is not None:
            self.session.remove_breakpoint(bp[0])
            self._fill()
