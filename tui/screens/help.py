"""F1 / ?: every key, grouped as in pudb."""

from __future__ import annotations

import io
from functools import lru_cache

from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from nnsim.i18n import N_, _, language
from nnsim.session import metric_table

from ..commands import help_markdown

HELP_NOTES = N_("""
Heatmaps: blue is negative, white zero, red positive, on a scale symmetric around 0;
`?` marks NaN and `!` marks inf. The model tree shows ▶ before the layer whose forward
pass runs next and ◀ in the backward pass; badges mark vanishing, exploding, saturated and
dead layers. Keys pressed while a command runs wait their turn (the status line counts
them); `p` stops the running command and drops them.
""")

CONDITIONS = N_("""
# What conditions read

Breakpoints (`B`), watches and a lesson's checks are conditions such as
`grad_norm(dense1) < 1e-6 and iteration > 10`: numbers, `+ - * /`, comparisons, `and`, `or`,
`not`, and the names below. A layer metric names its layer (an optimiser in a race); a model
metric takes `()`. A lesson refuses, when it loads, a name its kind of scenario does not
measure.

""")


def help_text() -> str:
    """The keys, then every name of the condition language from the metric registry."""
    return help_markdown() + _(HELP_NOTES) + _(CONDITIONS) + metric_table()


def help_rendered(width: int) -> Text:
    """The help at ``width`` cells in the current language (each drawn once)."""
    return _help_rendered(width, language())


@lru_cache(maxsize=4)
def _help_rendered(width: int, language_code: str) -> Text:
    """The help drawn once per width: Textual's Markdown widget takes seconds to lay out its
    hundred table rows, and Rich's Markdown, redrawn at each layout pass, most of a second."""
    out = io.StringIO()
    console = Console(width=width, file=out, force_terminal=True, color_system="truecolor")
    console.print(Markdown(help_text()))
    return Text.from_ansi(out.getvalue())


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss(None)", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 96; height: 90%;
        border: thick $accent; background: $surface; scrollbar-gutter: stable; }
    HelpScreen #help-text { padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="help-text")

    def on_resize(self) -> None:
        width = self.query_one(VerticalScroll).scrollable_content_region.width - 2  # padding
        if width > 0:
            self.query_one("#help-text", Static).update(help_rendered(width))
