"""Compiling (or loading from the cache) the opened lesson's kernels with progress instead of a
frozen screen. Each kernel is named before it compiles ("compiling linear (float64), 1 of 5"),
so the screen always says what is being done now, and the total is the real number of calls."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from nnsim.i18n import _
from nnsim.warmup import Plan, warm_up

from ..widgets import redraw


class LoadingScreen(Screen[bool]):
    """Warms the kernels of ``plan`` (see :func:`nnsim.warmup.plan_for`) in a worker thread;
    without a plan, every kernel for ``dtypes`` (names such as "float64")."""

    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen > Vertical { width: 60; height: auto; }
    """

    def __init__(self, dtypes: tuple[str, ...], plan: Plan | None = None) -> None:
        super().__init__()
        self.dtypes = plan.dtypes if plan is not None else dtypes
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("preparing the lesson's kernels", id="what")
            yield ProgressBar(id="bar", show_eta=False)

    def on_mount(self) -> None:
        self.run_worker(self._warm, thread=True, exclusive=True)

    def _warm(self) -> None:
        def progress(done: int, total: int, compiling: str | None) -> None:
            self.app.call_from_thread(self._show, done, total, compiling)

        if self.plan is None:
            warm_up(self.dtypes, progress=progress)
        else:
            warm_up(self.dtypes, progress=progress, only=self.plan.kernels)
        self.app.call_from_thread(self.dismiss, True)

    def _show(self, done: int, total: int, compiling: str | None) -> None:
        # a kernel the cache holds loads in milliseconds: the label stays up only while compiling
        if compiling is None or done >= total:
            text = _("kernels ready")
        else:
            text = _("compiling {kernel}, {number} of {total}").format(
                kernel=compiling, number=done + 1, total=total
            )
        redraw.show(self.query_one("#what", Static), text)  # the screen laid out only if it wraps
        self.query_one(ProgressBar).update(total=total, progress=done)
