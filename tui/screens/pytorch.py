"""t: the few lines of PyTorch behind the lesson, so the phenomenon connects to the code a
learner writes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from nnsim.i18n import _


def pytorch_markdown(title: str, snippet: str) -> str:
    heading = _("{title}: in PyTorch").format(title=title)
    closes = _("(escape closes)")
    return f"## {heading}\n\n```python\n{snippet}\n```\n\n{closes}"


class PyTorchScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,t", "dismiss(None)", "close")]
    DEFAULT_CSS = """
    PyTorchScreen { align: center middle; }
    PyTorchScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%;
        border: thick $accent; background: $surface; scrollbar-gutter: stable; }
    PyTorchScreen MarkdownFence { overflow: hidden hidden; }
    PyTorchScreen MarkdownFence > Label { width: 1fr; padding: 1 1; }
    """

    def __init__(self, title: str, snippet: str) -> None:
        super().__init__()
        self.markdown = pytorch_markdown(title, snippet)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.markdown, id="pytorch")
