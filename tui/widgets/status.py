"""The status line: the run's state in parts separated by two spaces, laid out on at most two
lines at part boundaries (never mid-part), the least needed parts left out when even two lines
cannot hold them all; and the words it shares with the event log's lines (phases, commands)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from nnsim.i18n import N_, _
from nnsim.session import View, phase_arrow
from nnsim.session.views import TAB_TITLES

from .redraw import same_content

SEPARATOR = "  "
#: The status's part left out first: the inspector's own title says what is inspected.
INSPECTING = N_("inspecting {layer} [{tab}]")


def dropped_first() -> tuple[str, ...]:
    """How the parts left out first begin, in the current language."""
    return (_(INSPECTING).split("{", 1)[0],)


def parts_of(text: Text) -> list[Text]:
    """The parts of a status text, each without the separator's spaces around it."""
    parts = []
    for i, part in enumerate(text.split(SEPARATOR, allow_blank=False)):
        while i and part.plain.startswith(" "):
            part = part[1:]
        if part.plain.strip():
            parts.append(part)
    return parts


def flow(parts: list[Text], width: int, max_lines: int) -> list[Text] | None:
    """The parts on lines of ``width`` cells, or None when they need more than ``max_lines``."""
    lines: list[Text] = []
    for part in parts:
        if lines and lines[-1].cell_len + len(SEPARATOR) + part.cell_len <= width:
            lines[-1].append(SEPARATOR)
            lines[-1].append_text(part)
            continue
        if len(lines) == max_lines:
            return None
        line = part.copy()
        line.truncate(width, overflow="ellipsis")
        lines.append(line)
    return lines


def reflow(text: Text, width: int, max_lines: int = 2) -> Text:
    """``text`` laid out in ``width`` cells: whole when it fits in ``max_lines`` lines, else
    without the parts least needed (what is inspected, then the lesson's title)."""
    parts = parts_of(text)
    if width <= 0 or not parts:
        return text
    dropped = dropped_first()
    candidates = [parts, [p for p in parts if not p.plain.startswith(dropped)]]
    candidates.append(candidates[-1][1:])  # the title (first part) is on the lesson pane too
    for candidate in candidates:
        lines = flow(candidate, width, max_lines)
        if lines is not None:
            return Text("\n").join(lines)
    return Text("\n").join(flow(candidates[-1], width, 10)[:max_lines])


class StatusLine(Static):
    """Shows ``update``'s Text re-flowed to the width it has (two lines at most)."""

    DEFAULT_CSS = "StatusLine { height: auto; max-height: 2; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = Text()

    def update(self, content=None, *, layout: bool = True) -> None:
        self.text = content if isinstance(content, Text) else Text(str(content or ""))
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or self.app.size.width
        lines = reflow(self.text, width)
        # once two lines were needed at this width, keep two: a status that flips between one
        # and two lines (next: dense1, next: sigmoid1) would lay the whole screen out each key
        rows = lines.plain.count("\n") + 1
        if getattr(self, "_rows_at", None) != width:
            self._rows_at, self._rows = width, rows
        self._rows = max(self._rows, rows)
        if rows < self._rows:
            lines = Text("\n").join([lines, *[Text()] * (self._rows - rows)])
        drawn = getattr(self, "_drawn", None)
        if drawn is not None and same_content(drawn, lines):
            return  # a status repeated (a progress report, a refresh after a key) costs nothing
        # every line fits the width: the height changes only with the number of lines, and
        # only then is the screen laid out again
        layout = drawn is None or drawn.plain.count("\n") != lines.plain.count("\n")
        self._drawn = lines
        super().update(lines, layout=layout)

    def on_resize(self) -> None:
        self._draw()


#: The simulator's phases and the worker's commands as the status line says them.
PHASES = {
    "batch": N_("batch"),
    "forward": N_("forward"),
    "loss": N_("loss"),
    "backward": N_("backward"),
    "clip": N_("clip"),
    "update": N_("update"),
}
COMMAND_WORDS = {
    "step": N_("step"),
    "step_into": N_("step_into"),
    "step_out": N_("step_out"),
    "finish_pass": N_("finish_pass"),
    "continue": N_("continue"),
    "step_back": N_("step_back"),
    "step_forward": N_("step_forward"),
    "rewind": N_("rewind"),
    "starting": N_("starting"),  # the worker's thread is starting
}


def phase_word(phase: str) -> str:
    """A simulator phase (``backward``) as the learner's language says it."""
    return _(PHASES[phase]) if phase in PHASES else phase


def command_word(command: str) -> str:
    """A debugger command (``continue``) as the learner's language says it."""
    return _(COMMAND_WORDS[command]) if command in COMMAND_WORDS else command


def status_text(
    view: View, title: str, running: str | None, label: str = "", queued: int = 0
) -> Text:
    """The run's state in parts two spaces apart (StatusLine lays them out by part)."""
    text = Text()
    text.append(f" {title} ", style="bold reverse")
    total = view.total_iterations
    if view.completed >= total and view.phase == "batch" and not view.depth:
        text.append("  " + _("iteration {n}/{total}, complete").format(n=total, total=total))
    else:
        text.append("  " + _("iteration {n}/{total}").format(n=view.iteration, total=total))
        arrow = phase_arrow(view.phase)
        phase = phase_word(view.phase)
        if view.next_layer:
            after = _("next: {arrow} {phase} {layer}")
            after = after.format(arrow=arrow, phase=phase, layer=view.next_layer)
        else:
            after = _("next: {arrow} {phase}").format(arrow=arrow, phase=phase)
        text.append("  " + after)
    if view.depth:
        text.append(" " + _("(depth {depth})").format(depth=view.depth))
    if view.loss == view.loss:  # not NaN
        text.append("  " + _("loss {value}").format(value=f"{view.loss:.4g}"))
    if running:
        command = command_word(running)
        if queued:
            said = _("running {command} (+{n} queued)…").format(command=command, n=queued)
        else:
            said = _("running {command}…").format(command=command)
        text.append("  " + said, style="bold yellow")
    elif view.stopped is not None:
        text.append("  " + _("stopped: {stop}").format(stop=view.stopped), style="bold red")
    tab = _(TAB_TITLES[view.tab]) if view.tab in TAB_TITLES else view.tab
    text.append("  " + _(INSPECTING).format(layer=view.selected, tab=tab), style="dim")
    if label:
        text.append("  " + _("(what if: {label})").format(label=label), style="bold cyan")
    return text


__all__ = [
    "COMMAND_WORDS",
    "PHASES",
    "StatusLine",
    "command_word",
    "phase_word",
    "reflow",
    "status_text",
]
