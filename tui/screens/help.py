"""F1 / ?: every key, grouped as in pudb."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from nnsim.session import metric_table

HELP = """
# nnsim keys

| key | does |
|---|---|
| `n` | next: run the next micro-op (a layer or block whole) |
| `s` | step into a block, a recurrent layer's time steps, a conv or pool's positions |
| `o` | step out of the enclosing block, or finish the current pass |
| `f` | finish the current pass (forward or backward) |
| `c` | continue until a breakpoint, a NaN/inf, or the last iteration |
| `p` | pause a running continue (within one iteration) |
| `[` / `]` | step back / forward through history (rewind and replay) |
| `b` | breakpoint on the highlighted layer (stop before it runs) |
| `B` | breakpoint list and editor: conditions such as `grad_norm(dense1) < 1e-6` |
| `u` / `d`, arrows | move the inspection up / down the layers without running |
| `1` `2` `3` `4` `5` | inspector: weights, activations, gradients, time steps, visual |
| `,` / `.` | previous / next slice (filter, channel, W or b, gate) |
| `-` / `=` | zoom the heatmap out / in |
| `ctrl+p` | command palette: every action |
| `ctrl+s` | save an SVG screenshot |
| `F1` / `?` | this help |
| `ctrl+q` | quit |

Optimiser races and GANs have their own screen: `n` one step (every optimiser; or one D or
G step), `c` play, `p` pause, `r` restart; ctrl+p opens the lesson's variants.

Heatmaps: blue is negative, white zero, red positive, on a scale symmetric around 0;
`?` marks NaN and `!` marks inf. The model tree shows ▶ before the layer whose forward
pass runs next and ◀ in the backward pass; badges mark vanishing, exploding, saturated and
dead layers.
"""

CONDITIONS = """
# What conditions read

Breakpoints (`B`), watches and a lesson's checks are conditions such as
`grad_norm(dense1) < 1e-6 and iteration > 10`: numbers, `+ - * /`, comparisons, `and`, `or`,
`not`, and the names below. A layer metric names its layer (an optimiser in a race); a model
metric takes `()`. A lesson refuses, when it loads, a name its kind of scenario does not
measure.

"""


def help_text() -> str:
    """The keys, then every name of the condition language from the metric registry."""
    return HELP + CONDITIONS + metric_table()


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss(None)", "close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 96; height: 90%;
        border: thick $accent; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(help_text())
