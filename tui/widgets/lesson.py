"""The lesson pane: the lesson's text and its expectations, each met or not yet met."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from ..view import View


class LessonPane(VerticalScroll):
    DEFAULT_CSS = """
    LessonPane #expectations { height: auto; margin-top: 1; }
    """

    def __init__(self, title: str, markdown: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title_text, self.markdown = title, markdown

    def compose(self) -> ComposeResult:
        yield Markdown(f"# {self.title_text}\n\n{self.markdown}")
        yield Static(id="expectations")

    def show(self, view: View) -> None:
        if not view.expectations:
            return
        text = Text("What this lesson promises\n", style="bold")
        for check, met in view.expectations:
            mark, style = {True: ("✓ met", "green"), False: ("… not yet", "yellow")}.get(
                met, ("· after the first iteration", "dim")
            )
            text.append(f"  {mark:<28}", style=style)
            text.append(f"{check}\n")
        self.query_one("#expectations", Static).update(text)
