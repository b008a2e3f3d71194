"""The status line: the run's state in parts separated by two spaces, laid out on at most two
lines at part boundaries (never mid-part), the least needed parts left out when even two lines
cannot hold them all."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from nnsim.i18n import N_, _

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


__all__ = ["StatusLine", "reflow"]
