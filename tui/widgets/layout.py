"""The debugger screen's size classes and its pane bar.

- wide (150 columns and more): model tree and gradient flow | inspector and curves | lesson;
- medium (100 to 149): model tree and gradient flow | inspector and curves, or the lesson (l);
- narrow (60 to 99): one pane at a time: the lesson (first), the debugger (model tree and
  inspector) or the gradient flow and curves (g);
- below 60 x 20: a message asking for a larger terminal, never a broken layout.

Each class is a CSS class of the screen (tui/app.tcss), with ``pane-<name>`` for the pane shown.
"""

from __future__ import annotations

from rich.text import Text

from nnsim.i18n import _

MIN_WIDTH, MIN_HEIGHT = 60, 20
SIZE_CLASSES = ("wide", "medium", "narrow", "tiny")
PANES = ("lesson", "debugger", "flow")
DEFAULT_PANE = {"wide": "lesson", "medium": "debugger", "narrow": "lesson", "tiny": "lesson"}
PANE_KEYS = {"lesson": "l", "flow": "g"}


def size_class(width: int, height: int) -> str:
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return "tiny"
    if width < 100:
        return "narrow"
    return "medium" if width < 150 else "wide"


def toggled(current: str, pane: str, size: str) -> str:
    """The pane shown after the key of ``pane``: that pane, or the debugger again. Where the
    gradient flow always shows (medium and wide), its key changes nothing."""
    if pane == "flow" and size in ("medium", "wide"):
        return current
    return "debugger" if current == pane else pane


def pane_bar(size: str, pane: str, width: int = 200) -> Text:
    """One line: the panes and their keys (the one shown lit), then help and quit; the
    hints least needed are left out where ``width`` is short."""
    commands = _("commands")
    for hint, palette in ((True, commands), (False, commands), (False, "")):
        text = _pane_bar(size, pane, hint, palette)
        if text.cell_len <= width:
            return text
    return text


def _pane_bar(size: str, pane: str, hint: bool, palette: str) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    if size == "narrow":
        labels = (
            ("lesson", "l " + _("lesson")),
            ("debugger", _("debugger")),
            ("flow", "g " + _("flow")),
        )
        for name, label in labels:
            text.append(f" {label} ", style="reverse bold" if name == pane else "")
            text.append("│", style="dim")
        if hint and pane != "debugger":
            again = _("{key} again: debugger").format(key=PANE_KEYS[pane])
            text.append(" " + again, style="dim")
    elif size == "medium":
        text.append(" l ", style="bold")
        text.append(_("the lesson") if pane != "lesson" else _("back to the inspector"))
    else:
        text.append(" l ", style="bold")
        text.append(_("hide the lesson") if pane != "debugger" else _("show the lesson"))
    text.append("  ")
    for key, label in (("?", _("help")), ("^p", palette), ("^q", _("quit"))):
        if label:
            text.append(f" {key} ", style="bold").append(label)
    return text


def too_small(width: int, height: int) -> Text:
    enlarge = _("Enlarge the terminal to at least {width} x {height}")
    text = Text(enlarge.format(width=MIN_WIDTH, height=MIN_HEIGHT), style="bold")
    now = _("(it is {width} x {height} now; ctrl+q quits)").format(width=width, height=height)
    text.append("\n" + now, style="dim")
    return text
