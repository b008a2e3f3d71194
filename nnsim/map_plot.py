"""A decision map (nnsim.session.maps) drawn in a terminal: one cell per grid point nearest
its centre, the class regions as background colours (and, for plain text, as shading
characters), the training points as o x + * by class, and the unit lines as ─ │ ╱ ╲. Used by
`nnsim run` and by the interface's map tab."""

from __future__ import annotations

import math

import numpy as np
from rich.style import Style
from rich.text import Text

from .i18n import _
from .session.maps import DecisionMap, UnitLine

CLASS_RGB = ((66, 135, 245), (245, 146, 66), (80, 200, 120), (200, 90, 200), (230, 220, 80))
POINT_GLYPHS = "ox+*#"
REGION_GLYPHS = " ░▒▓█"  # plain text: each class's region shaded differently
LINE_RGB = ((255, 255, 255), (255, 80, 80), (90, 255, 90), (255, 255, 90), (90, 220, 255))
MANY_LINES_RGB = (150, 150, 150)  # more lines than colours: all one grey
SIGN_RGB = ((40, 40, 40), (20, 90, 50))  # a deeper unit: negative, positive


def _rgb(rgb: tuple[int, int, int], scale: float = 1.0) -> str:
    return "rgb({},{},{})".format(*(int(c * scale) for c in rgb))


def render(figure: DecisionMap, width: int, height: int, plain: bool = False) -> Text:
    """The map in ``width`` x ``height`` cells (at least 8 x 4), then its legend; ``plain``
    shades the regions with characters too (text without colour still shows them)."""
    if figure.empty:
        return Text(figure.title, style="dim")
    width, height = max(8, width), max(4, height)
    xs, ys = figure.xs, figure.ys
    cx = xs[0] + (np.arange(width) + 0.5) / width * (xs[-1] - xs[0])  # cell centres
    cy = ys[0] + (np.arange(height) + 0.5) / height * (ys[-1] - ys[0])
    cols = np.clip(np.round((cx - xs[0]) / (xs[-1] - xs[0]) * (len(xs) - 1)), 0, len(xs) - 1)
    rows = np.clip(np.round((cy - ys[0]) / (ys[-1] - ys[0]) * (len(ys) - 1)), 0, len(ys) - 1)
    pick = np.ix_(rows.astype(int), cols.astype(int))
    regions = figure.regions[pick]  # (height, width)
    sign = None if figure.sign is None else figure.sign[pick]
    glyphs = np.full((height, width), " ", dtype=object)
    colours = np.full((height, width), None, dtype=object)
    if sign is None:
        _draw_lines(figure, cx, cy, glyphs, colours)
    else:
        boundary = np.zeros_like(regions, dtype=bool)
        boundary[:, :-1] |= regions[:, :-1] != regions[:, 1:]
        boundary[:-1, :] |= regions[:-1, :] != regions[1:, :]
        for r, c in zip(*np.nonzero(boundary), strict=True):
            glyphs[r, c], colours[r, c] = "·", (255, 255, 255)
    _draw_points(figure, cx, cy, glyphs, colours)
    text = Text(no_wrap=True, overflow="crop")
    for r in range(height):
        for c in range(width):
            glyph, fg = glyphs[r, c], colours[r, c]
            if sign is not None:
                back = SIGN_RGB[int(sign[r, c])]
                shade = " ▒"[int(sign[r, c])]
            else:
                back = tuple(int(v * 0.35) for v in CLASS_RGB[regions[r, c] % len(CLASS_RGB)])
                shade = REGION_GLYPHS[regions[r, c] % len(REGION_GLYPHS)]
            if glyph == " " and plain:
                glyph = shade
            style = Style(color=None if fg is None else _rgb(fg), bgcolor=_rgb(back))
            text.append(glyph, style=style)
        text.append("\n")
    text.append(_legend(figure, plain, (cx, cy), width))
    return text


def _legend(figure: DecisionMap, plain: bool, centres, width: int) -> Text:
    """The classes, the lines or the unit shown, and the axes, in lines of ``width``."""
    items = []
    for k in range(figure.classes):
        rgb = CLASS_RGB[k % len(CLASS_RGB)]
        item = Text(POINT_GLYPHS[k % len(POINT_GLYPHS)], style=Style(color=_rgb(rgb), bold=True))
        glyph = REGION_GLYPHS[k % len(REGION_GLYPHS)]
        shade = " " + _("(region {glyph})").format(glyph=glyph) if plain else ""
        if plain and k == 0:
            shade = " " + _("(region blank)")
        label = " " + _("class {k}").format(k=k) + shade
        item.append(label, style=Style(bgcolor=_rgb(rgb, 0.35)))
        items.append(item)
    if figure.sign is not None:
        items.append(Text("▒ " + figure.sign_label, style="bold"))
    elif figure.lines:
        name = _("decision line") if figure.lines[0].name == "boundary" else _("unit lines")
        items.append(Text(f"╱ {name} w·x+b=0", style="bold"))
        outside = len(_shown_lines(figure)) - len(_drawn_lines(figure))
        if outside:
            items.append(Text(_("{count} outside the map").format(count=outside), style="dim"))
    cx, cy = centres
    items.append(Text(f"x1 {cx[0]:.3g}..{cx[-1]:.3g} →", style="dim"))
    items.append(Text(f"x2 {cy[-1]:.3g}..{cy[0]:.3g} ↑", style="dim"))
    text, used = Text(), 0
    for item in items:
        if used and used + 2 + item.cell_len > width:
            text.append("\n")
            used = 0
        elif used:
            text.append("  ")
            used += 2
        text.append(item)
        used += item.cell_len
    return text


def _shown_lines(figure: DecisionMap) -> list[tuple[int, UnitLine]]:
    if figure.highlight is not None:
        return [(figure.highlight, figure.lines[figure.highlight])]
    return list(enumerate(figure.lines))


def _drawn_lines(figure: DecisionMap) -> list[UnitLine]:
    """The shown lines that cross the map (a dead ReLU unit's line can lie outside it)."""
    xs, ys = figure.xs, figure.ys
    corners = np.array([[xs[0], ys[0]], [xs[-1], ys[0]], [xs[0], ys[-1]], [xs[-1], ys[-1]]])
    crossing = []
    for _index, line in _shown_lines(figure):
        values = corners @ np.array(line.w) + line.b
        if values.min() <= 0 <= values.max():
            crossing.append(line)
    return crossing


def _draw_lines(figure: DecisionMap, cx, cy, glyphs, colours) -> None:
    """Each shown line through every cell whose corners it separates."""
    dx = (cx[1] - cx[0]) if len(cx) > 1 else 1.0
    dy = (cy[0] - cy[1]) if len(cy) > 1 else 1.0
    x_edges = np.concatenate([cx - dx / 2, [cx[-1] + dx / 2]])
    y_edges = np.concatenate([cy + dy / 2, [cy[-1] - dy / 2]])
    many = len(figure.lines) > len(LINE_RGB)
    for k, line in _shown_lines(figure):
        w0, w1 = line.w
        corners = w0 * x_edges[None, :] + w1 * y_edges[:, None] + line.b  # (rows+1, cols+1)
        low = np.minimum.reduce(
            [corners[:-1, :-1], corners[:-1, 1:], corners[1:, :-1], corners[1:, 1:]]
        )
        high = np.maximum.reduce(
            [corners[:-1, :-1], corners[:-1, 1:], corners[1:, :-1], corners[1:, 1:]]
        )
        crossed = (low <= 0) & (high >= 0)
        glyphs[crossed] = _glyph(w0, w1, dx, dy)
        for r, c in zip(*np.nonzero(crossed), strict=True):  # a tuple per cell, not 3 values
            colours[r, c] = MANY_LINES_RGB if many else LINE_RGB[k % len(LINE_RGB)]


def _glyph(w0: float, w1: float, dx: float, dy: float) -> str:
    """The character for the line w·x + b = 0 through cells ``dx`` wide and ``dy`` tall (in
    data units; a cell is drawn about twice as tall as wide)."""
    right, up = -w1 / dx, 2 * w0 / dy  # moving along the line, on screen
    if right == 0 and up == 0:
        return "·"
    angle = math.degrees(math.atan2(up, right)) % 180
    if angle < 22.5 or angle >= 157.5:
        return "─"
    if 67.5 <= angle < 112.5:
        return "│"
    return "╱" if angle < 90 else "╲"


def _draw_points(figure: DecisionMap, cx, cy, glyphs, colours) -> None:
    """The training points: per cell, the class most of its points have."""
    width, height = len(cx), len(cy)
    x0, x1 = cx[0] - (cx[1] - cx[0]) / 2, cx[-1] + (cx[1] - cx[0]) / 2
    y0, y1 = cy[0] + (cy[0] - cy[1]) / 2, cy[-1] - (cy[0] - cy[1]) / 2
    c = np.clip(((figure.points[:, 0] - x0) / (x1 - x0) * width).astype(int), 0, width - 1)
    r = np.clip(((y0 - figure.points[:, 1]) / (y0 - y1) * height).astype(int), 0, height - 1)
    counts = np.zeros((height, width, max(1, figure.classes)), dtype=np.int64)
    np.add.at(counts, (r, c, figure.labels), 1)
    for rr, cc in zip(*np.nonzero(counts.sum(axis=2)), strict=True):
        k = int(np.argmax(counts[rr, cc]))
        glyphs[rr, cc] = POINT_GLYPHS[k % len(POINT_GLYPHS)]
        colours[rr, cc] = tuple(min(255, int(v * 1.2) + 30) for v in CLASS_RGB[k % len(CLASS_RGB)])
