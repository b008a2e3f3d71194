"""The GAN screen: the generator's samples over the target with the discriminator's D(x)
drawn over them, stepped D step by G step, and the discriminator's accuracy and both losses
under it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from nnsim.gan_plot import curves, histogram
from nnsim.i18n import N_, _

from ..widgets.footer import KeyFooter
from ..widgets.lesson import LessonPane
from .game import GameScreen

CURVE_LABEL = len("D accuracy ")  # the curves' labels, before each spark line
CURVE_VALUE = len(" 0.693 ")  # the value after it (a loss, or D's accuracy " 100%")
NO_CURVES = "D accuracy, D loss and G loss are drawn here from the first steps (n)"


class GanScreen(GameScreen):
    """``n`` runs one D or G step, ``c`` plays to the end, ``p`` pauses, ``r`` restarts."""

    DEFAULT_CSS = """
    GanScreen #gan-curves { height: auto; border: round $primary; padding: 0 1; }
    """
    BINDINGS = [Binding("n", "step", "step"), *GameScreen.BINDINGS[1:]]
    noun = N_("game")
    paused = N_("paused after iteration {done} of {total}")

    def compose(self) -> ComposeResult:
        yield Static(id="status", classes="game-status")
        yield Static(classes="game-too-small")
        with Horizontal(classes="game-body"):
            with Vertical(id="game", classes="board"):
                yield Static(id="histogram")
                yield Static(id="gan-curves")
            yield LessonPane(self.scenario.lesson, id="gan-lesson", classes="game-lesson")
        yield KeyFooter()

    def draw(self) -> None:
        run = self.run
        last = run.history[-1][1] if run.history else ""
        moved = {"D": _("the discriminator moved"), "G": _("the generator moved")}.get(last, "")
        counted = _("iteration {done}/{total}").format(done=run.completed, total=run.iterations)
        if run.completed >= run.iterations:
            status = self.status(counted, _("complete (r restarts)"), detail=moved)
        else:
            upcoming = _("next: {who} step").format(who=run.next_step)
            status = self.status(counted, upcoming, detail=moved)
        self.query_one("#status", Static).update(status)
        game = self.query_one("#game")
        width = max(20, game.size.width)  # the size inside the border
        curve_lines = 3 + 2  # three curves in a box
        height = max(3, game.size.height - curve_lines - 3)  # the axis and the legend
        self.query_one("#histogram", Static).update(histogram(run, width, height))
        measured = run.trace.columns()["d_accuracy"]  # NaN between measurements
        accuracy = [float(v) for v in measured if v == v]
        drawn = curves(run, accuracy, max(8, width - 4 - CURVE_LABEL - CURVE_VALUE))
        if not drawn.plain:
            drawn = Text(NO_CURVES, style="dim")
        drawn.rstrip()
        self.query_one("#gan-curves", Static).update(drawn)
