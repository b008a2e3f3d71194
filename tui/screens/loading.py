"""Compiling (or loading from the cache) every kernel, with progress instead of a frozen
screen: "compiling kernels 12/50". Only for the dtype of the lesson opened: a first start
compiles half as much (every kernel in both float32 and float64 took about a minute)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from nnsim.warmup import warm_up


class LoadingScreen(Screen[bool]):
    """Warms the kernels for ``dtypes`` (names such as "float64") in a worker thread."""

    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen > Vertical { width: 60; height: auto; }
    """

    def __init__(self, dtypes: tuple[str, ...]) -> None:
        super().__init__()
        self.dtypes = dtypes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("preparing the kernels (the first start compiles them)", id="what")
            yield ProgressBar(id="bar", show_eta=False)

    def on_mount(self) -> None:
        self.run_worker(self._warm, thread=True, exclusive=True)

    def _warm(self) -> None:
        warm_up(
            self.dtypes,
            progress=lambda done, total, what: self.app.call_from_thread(
                self._show, done, total, what
            ),
        )
        self.app.call_from_thread(self.dismiss, True)

    def _show(self, done: int, total: int, what: str) -> None:
        self.query_one("#what", Static).update(f"compiling kernels {done}/{total}: {what}")
        self.query_one(ProgressBar).update(total=total, progress=done)
