"""The optimiser race drawn in a terminal: the surface as a shaded map (dark low, light
high, on a log scale), each optimiser's path in its own letter, the current points bold, the
minima as '*'. Used by `nnsim run` and by the interface's surface screen."""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style
from rich.text import Text

from .sim.surface import SurfaceRun

PATH_COLOURS = ("red", "bright_green", "yellow", "bright_cyan", "magenta", "bright_white")


def letters(names: list[str]) -> dict[str, str]:
    """One distinct letter per optimiser: its initial, else the next free letter of its name,
    else a digit."""
    chosen: dict[str, str] = {}
    for i, name in enumerate(names):
        taken = set(chosen.values())
        options = [c.upper() for c in name if c.isalpha()] + [str(d) for d in range(10)]
        chosen[name] = next((c for c in options if c not in taken), str(i))
    return chosen


def _shade(level: float) -> Style:
    grey = int(30 + 170 * level)  # 0: dark valley, 1: light ridge
    return Style(bgcolor=f"rgb({grey // 2},{grey // 2},{grey})")


def render(run: SurfaceRun, width: int = 60, height: int = 20) -> Text:
    """The surface over its plotting window, ``width`` x ``height`` cells."""
    width, height = max(8, width), max(4, height)
    surface = run.surface
    (x_low, x_high), (y_low, y_high) = surface.bounds
    xs = np.linspace(x_low, x_high, width)
    ys = np.linspace(y_high, y_low, height)  # the top row is the largest y
    points = np.stack(np.meshgrid(xs, ys), axis=-1)  # (height, width, 2)
    values = surface.value(points)  # (height, width)
    shifted = np.log1p(values - values.min())
    levels = shifted / shifted.max() if shifted.max() > 0 else shifted

    def cell(x: float, y: float) -> tuple[int, int] | None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return None
        col = round((x - x_low) / (x_high - x_low) * (width - 1))
        row = round((y_high - y) / (y_high - y_low) * (height - 1))
        return (row, col) if 0 <= row < height and 0 <= col < width else None

    marks: dict[tuple[int, int], tuple[str, Style]] = {}
    letter = letters(run.names)
    paths = {name: run.path(name) for name in run.names}  # (t + 1, 2) each
    for i, name in enumerate(run.names):  # the trails first, then the minima, then the points
        colour = PATH_COLOURS[i % len(PATH_COLOURS)]
        for x, y in paths[name][:-1]:
            where = cell(x, y)
            if where:
                marks[where] = (letter[name].lower(), Style(color=colour))
    for x, y in surface.minima:
        where = cell(x, y)
        if where:
            marks[where] = ("*", Style(color="white", bold=True))
    for i, name in enumerate(run.names):
        where = cell(*paths[name][-1])
        if where:
            colour = PATH_COLOURS[i % len(PATH_COLOURS)]
            marks[where] = (letter[name], Style(color=colour, bold=True, reverse=True))
    text = Text()
    for row in range(height):
        for col in range(width):
            char, style = marks.get((row, col), (" ", Style()))
            text.append(char, _shade(float(levels[row, col])) + style)
        text.append("\n")
    text.append(f"x {x_low:g} .. {x_high:g}   y {y_low:g} .. {y_high:g}   ", style="dim")
    text.append("* minimum   ", style="dim")
    for i, name in enumerate(run.names):
        text.append(f"{letter[name]} {name}  ", style=PATH_COLOURS[i % len(PATH_COLOURS)])
    return text


def table_rows(run: SurfaceRun) -> list[list[str]]:
    """Per optimiser: point, f, distance to the nearest minimum, last step, lr monotone."""
    rows = []
    for name in run.names:
        x, y = run.path(name)[-1]
        rows.append(
            [
                name,
                f"({x:.3g}, {y:.3g})",
                f"{run.layer_metric('height', name):.3g}",
                f"{run.distance(name):.3g}",
                f"{run.layer_metric('step_size', name):.2e}",
                f"{run.lr_monotone(name):.0%}",
                f"diverged at {run.diverged[name]}" if name in run.diverged else "",
            ]
        )
    return rows


TABLE_COLUMNS = ("optimiser", "point", "f", "distance", "last step", "lr never grew", "")
