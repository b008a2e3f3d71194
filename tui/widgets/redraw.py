"""Redrawing only what changed. A Static's ``update`` re-renders it and, by default, lays out
the whole screen again (the dearest thing a key can cost): ``show`` skips content the widget
shows already, and asks for a layout only when the widget's height may change."""

from __future__ import annotations

from rich.text import Text
from textual.visual import visualize
from textual.widgets import Static


def same_content(a: object, b: object) -> bool:
    if a is b:
        return True
    if isinstance(a, Text) and isinstance(b, Text):  # Text's == ignores its base style
        return a.plain == b.plain and a.spans == b.spans and a.style == b.style
    return isinstance(a, str) and isinstance(b, str) and a == b


def exact_lines(content: object, width: int) -> int | None:
    """The lines ``content`` takes in ``width`` cells when none of them wraps, else None
    (not known without laying it out)."""
    if isinstance(content, str):
        content = Text(content)
    if not isinstance(content, Text) or width <= 0:
        return None
    lines = content.split("\n", allow_blank=True)
    if any(line.cell_len > width for line in lines):
        return None
    return len(lines)


def wrapped_lines(static: Static, content: object) -> int | None:
    """The lines ``content`` takes in ``static`` once Textual wraps it, or None if not known.
    Why: a line longer than the widget (the inspector's statistics, with "saturated" added for
    a sigmoid layer) made every change of it lay the whole screen out, once per iteration of
    an MLP lesson; wrapping it as the widget will (Textual's own Content) costs far less."""
    width = static.content_size.width
    lines = exact_lines(content, width)
    if lines is not None or not isinstance(content, Text) or width <= 0:
        return lines
    return visualize(static, content).get_height(static.styles, width)


def show(static: Static, content: Text | str) -> None:
    """``static.update(content)`` unless ``content`` is what it shows; a layout pass only if
    its height may have changed."""
    shown = getattr(static, "_nnsim_shown", None)
    if shown is not None and same_content(shown[0], content):
        return
    lines = wrapped_lines(static, content)
    layout = lines is None or shown is None or shown[1] != lines
    static._nnsim_shown = (content, lines)
    static.update(content, layout=layout)
