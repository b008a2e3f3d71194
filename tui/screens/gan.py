"""The GAN screen: the generator's samples over the target, stepped D step by G step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from nnsim.gan_plot import curves, histogram

from ..widgets.lesson import LessonPane
from .game import GameScreen


class GanScreen(GameScreen):
    """``n`` runs one D or G step, ``c`` plays to the end, ``p`` pauses, ``r`` restarts."""

    DEFAULT_CSS = """
    GanScreen #status { height: 1; }
    GanScreen #game { width: 2fr; border: round $primary; }
    GanScreen #gan-lesson { width: 1fr; min-width: 30; padding: 0 1; }
    """
    BINDINGS = [Binding("n", "step", "step (D or G)"), *GameScreen.BINDINGS[1:]]

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with Horizontal():
            with Vertical(id="game"):
                yield Static(id="histogram")
                yield Static(id="curves")
            yield LessonPane(self.scenario.title, self.scenario.text, id="gan-lesson")
        yield Footer()

    def draw(self) -> None:
        run = self.run
        last = run.history[-1][1] if run.history else ""
        moved = {"D": "the discriminator moved", "G": "the generator moved"}.get(last, "")
        status = (
            f" {self.scenario.title}   iteration {run.completed}/{run.iterations}   next: "
            f"{run.next_step} step   {moved}"
        )
        if self.label:
            status += f"   (variant {self.label})"
        self.query_one("#status", Static).update(status)
        game = self.query_one("#game")
        width = max(20, game.size.width - 4)
        height = max(4, game.size.height - 10)
        self.query_one("#histogram", Static).update(histogram(run, width, height))
        measured = run.trace.columns()["d_accuracy"]  # NaN between measurements
        accuracy = [float(v) for v in measured if v == v]
        self.query_one("#curves", Static).update(curves(run, accuracy, width - 24))
