"""An activation's f(z) and f'(z) drawn in braille with the batch's pre-activations as a strip
under them, and the activation std across depth as one line. Used by `nnsim run` and by the
interface (the weights tab of an activation layer; the pane under the gradient flow)."""

from __future__ import annotations

import math

import numpy as np
from rich.text import Text

from .i18n import _
from .session.curves import ActivationCurves
from .session.depth import ActivationStd
from .session.plots import BARS, sparkline

F_STYLE, FPRIME_STYLE, BOTH_STYLE = "bright_cyan", "bright_magenta", "white"
LABEL = 7  # the y-axis labels' width
OWN_SCALE = 4.0  # f' gets its own scale when f spans this many times more


def _braille(dots: np.ndarray) -> str:
    """The braille character of a (4, 2) array of dots (row 0 the top)."""
    bits = ((0, 0, 0x01), (1, 0, 0x02), (2, 0, 0x04), (0, 1, 0x08), (1, 1, 0x10))
    bits += ((2, 1, 0x20), (3, 0, 0x40), (3, 1, 0x80))
    return chr(0x2800 + sum(bit for r, c, bit in bits if dots[r, c]))


def _dots(values: np.ndarray, low: float, high: float, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) dots of a curve sampled at ``cols`` points, steep steps joined."""
    level = np.round((high - values) / (high - low or 1.0) * (rows - 1))
    level = np.clip(np.nan_to_num(level, nan=rows - 1), 0, rows - 1).astype(int)
    dots = np.zeros((rows, cols), dtype=bool)
    for c in range(cols):
        start = level[c - 1] if c else level[c]
        top, bottom = sorted((start, level[c]))
        dots[top : bottom + 1, c] = True  # a jump (relu' at 0) drawn as a vertical line
    return dots


def curves_text(curves: ActivationCurves, width: int, height: int) -> Text:
    """f and f' over ``curves.z`` in ``width`` x ``height`` cells, the batch's z as a strip
    and a legend (about 4 lines besides the plot)."""
    plot_w, plot_h = max(8, width - LABEL), max(3, height - 4)
    z = curves.z
    sample = np.linspace(z[0], z[-1], 2 * plot_w)
    f, fp = np.interp(sample, z, curves.f), np.interp(sample, z, curves.fprime)
    low = min(0.0, float(np.min(curves.f)), float(np.min(curves.fprime)))
    high = max(float(np.max(curves.f)), float(np.max(curves.fprime)), low + 1e-9)
    f_span = float(np.ptp(curves.f)) or 1.0
    own = f_span > OWN_SCALE * max(float(np.ptp(curves.fprime)), float(np.max(curves.fprime)))
    if own:  # f' on its own scale, 0 to its peak
        fp_low, fp_high = min(0.0, float(np.min(curves.fprime))), max(curves.peak, 1e-9)
        fp_dots = _dots(fp, fp_low, fp_high, 4 * plot_h, 2 * plot_w)
    else:
        fp_dots = _dots(fp, low, high, 4 * plot_h, 2 * plot_w)
    f_dots = _dots(f, low, high, 4 * plot_h, 2 * plot_w)
    text = Text(no_wrap=True, overflow="crop")
    zero_row = int(round((high - 0.0) / (high - low) * (plot_h - 1))) if low < 0 else plot_h - 1
    for row in range(plot_h):
        label = {0: f"{high:.2g}", plot_h - 1: f"{low:.2g}"}.get(row, "")
        if row == zero_row and not label:
            label = "0"
        text.append(f"{label:>{LABEL - 2}} ┤", style="dim")
        for col in range(plot_w):
            block = np.s_[4 * row : 4 * row + 4, 2 * col : 2 * col + 2]
            a, b = f_dots[block], fp_dots[block]
            style = BOTH_STYLE if a.any() and b.any() else (F_STYLE if a.any() else FPRIME_STYLE)
            text.append(_braille(a | b), style=style)
        text.append("\n")
    left, right = f"{z[0]:.3g}", f"{z[-1]:.3g}"
    axis = left + "z".center(plot_w - len(left) - len(right)) + right
    text.append(" " * LABEL + axis + "\n", style="dim")
    text.append(_strip(curves, plot_w))
    text.append("\n")
    text.append("⠉ f(z)", style=F_STYLE)
    scale = " " + _("(own scale, 0..{peak})").format(peak=f"{curves.peak:.3g}") if own else ""
    text.append(f"  ⠉ f'(z){scale}", style=FPRIME_STYLE)
    text.append(f"  max f' = {curves.peak:.3g} {curves.peak_where}", style="bold")
    if curves.note:
        text.append("\n" + curves.note, style="dim")
    return text


def _strip(curves: ActivationCurves, width: int) -> Text:
    """The batch's pre-activations over the same z axis, as one line of bars."""
    text = Text()
    if curves.counts is None:
        hint = _("(no batch yet: run the forward pass)")
        text.append(f"{'z':>{LABEL - 2}}  {hint}", style="dim")
        return text
    centres = (curves.edges[:-1] + curves.edges[1:]) / 2
    column = np.clip(((centres - curves.z[0]) / np.ptp(curves.z) * width).astype(int), 0, width - 1)
    mass = np.bincount(column, weights=curves.counts, minlength=width)
    top = mass.max() or 1.0
    text.append(f"{'batch':>{LABEL - 2}}  ", style="dim")
    for value in mass:
        text.append(" " if value == 0 else BARS[int(value / top * (len(BARS) - 1))], "yellow")
    if curves.below or curves.above:
        text.append(f"  {curves.below:.0%} < | > {curves.above:.0%}", style="dim")
    return text


def std_line(std: ActivationStd | None, width: int) -> Text:
    """``first name  value ▇▆▅▃▂▁ value  last name`` in ``width`` cells (the names left out
    where they leave the line too little room)."""
    if std is None or not std.measured:
        return Text(_("after a forward pass (n)"), style="dim", no_wrap=True, overflow="crop")
    values, names = std.stds, std.layers
    first, last = _fmt(values[0]), _fmt(values[-1])
    if len(values) == 1:
        return Text(f"{names[0]} {first}")
    left, right = f"{names[0]} {first} ", f" {last} {names[-1]}"
    if width - len(left) - len(right) < 6:  # too narrow for the names: the values only
        left, right = f"{first} ", f" {last}"
    room = max(2, width - len(left) - len(right))
    finite = values[np.isfinite(values)]
    picks = np.linspace(0, len(values) - 1, min(room, len(values))).round().astype(int)
    line = sparkline(values[picks], width=len(picks), bounds=(0.0, float(finite.max()) or 1.0))
    ran = std.ran or (True,) * len(values)
    line = "".join(c if ran[i] else "·" for c, i in zip(line, picks, strict=True))  # not run yet
    text = Text(no_wrap=True, overflow="crop")
    text.append(left)
    text.append(line, style="bright_green")
    text.append(right)
    return text


def _fmt(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.2g}"


def std_rows(std: ActivationStd) -> Text:
    """One row per layer: its name, its output std and a bar (for `nnsim run`)."""
    text = Text()
    finite = std.stds[np.isfinite(std.stds)]
    top = float(finite.max()) if finite.size else 1.0
    for name, value in zip(std.layers, std.stds, strict=True):
        bar = "" if not math.isfinite(value) else "█" * int(round(value / (top or 1.0) * 30))
        text.append(f"  {name:>12s} {_fmt(value):>7s} ")
        text.append(bar + "\n", style="bright_green")
    text.rstrip()
    return text
