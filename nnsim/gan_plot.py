"""A 1-D GAN drawn in a terminal: the histogram of the generator's samples over the
target's, and the discriminator's accuracy and both losses over the iterations. Used by
`nnsim run` and by the interface's GAN screen."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from .i18n import _
from .sim.gan import GanRun

SPARKS = "▁▂▃▄▅▆▇█"


def histogram(run: GanRun, width: int = 60, height: int = 12) -> Text:
    """Target samples as ░ columns, generated ones as █ columns, over the same bins, and the
    discriminator's D(x) over them as a line of • on its own scale (0 at the bottom row, 1 at
    the top)."""
    width, height = max(10, width), max(3, height)
    real, fake = run.real_samples(), run.samples()
    finite = fake[np.isfinite(fake)]
    low, high = x_range(real, finite)
    edges = np.linspace(low, high, width + 1)
    real_counts = np.histogram(real, edges)[0] / len(real)  # (width,) fractions
    fake_counts = np.histogram(finite, edges)[0] / max(1, len(fake))
    top = max(real_counts.max(), fake_counts.max(), 1e-12)
    _centres, d_values = discriminator_line(run, edges)
    d_rows = d_row(d_values, height)
    text = Text()
    for row in range(height, 0, -1):
        level = top * (row - 0.5) / height
        for r, f, d in zip(real_counts, fake_counts, d_rows, strict=True):
            if f >= level:
                glyph, style = "█", "bright_cyan" if r >= level else "bright_red"
            elif r >= level:
                glyph, style = "░", "yellow"
            else:
                glyph, style = " ", ""
            if d == row:  # D(x) drawn over the bars, the bar's colour kept behind it
                back = f" on {style}" if glyph == "█" else ""
                glyph, style = "•", "bold bright_green" + back
            text.append(glyph, style=style or None)
        text.append("\n")
    text.append(f"{low:<8.3g}".ljust(width - 8) + f"{high:>8.3g}\n", style="dim")
    text.append("░ " + _("target") + "  ", style="yellow")
    text.append("█ " + _("generated") + " (", style="bright_red")
    text.append("█", style="bright_cyan")
    text.append(" " + _("where they overlap") + ")", style="bright_red")
    dx = _("D(x) = the discriminator's P(real): 0 at the bottom, 1 at the top")
    text.append("\n• " + dx, "bright_green")
    return text


def x_range(real: np.ndarray, generated: np.ndarray) -> tuple[float, float]:
    """The histogram's x range: every target and (finite) generated sample, and -4..4."""
    low = float(min(real.min(), generated.min() if generated.size else real.min()))
    high = float(max(real.max(), generated.max() if generated.size else real.max()))
    return min(low, -4.0), max(high, 4.0)


def discriminator_line(run: GanRun, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the centres of the histogram's bins, D at each): the discriminator's probability
    that a sample there is real."""
    centres = (edges[:-1] + edges[1:]) / 2
    return centres, run.discriminator_output(centres)


def d_row(values: np.ndarray, height: int) -> np.ndarray:
    """The histogram row (1 the bottom, ``height`` the top) of each D(x) in [0, 1]; 0 for a
    non-finite value (not drawn)."""
    finite = np.isfinite(values)
    rows = np.floor(np.clip(np.where(finite, values, 0.0), 0.0, 1.0) * height).astype(int) + 1
    return np.where(finite, np.minimum(rows, height), 0)


def spark(values: np.ndarray, width: int) -> str:
    """A one-line chart of ``values`` resampled to ``width``."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    picks = values[np.linspace(0, len(values) - 1, min(width, len(values))).astype(int)]
    low, high = np.nanmin(picks), np.nanmax(picks)
    scale = (picks - low) / (high - low) if high > low else np.zeros_like(picks)
    return "".join(SPARKS[int(round(v * (len(SPARKS) - 1)))] for v in np.nan_to_num(scale))


def curves(run: GanRun, accuracy: list[float], width: int = 60) -> Text:
    """D's accuracy (as recorded by the caller, one value per iteration) and both losses."""
    text = Text()
    d_losses = np.array([v for _step, who, v in run.history if who == "D"])
    g_losses = np.array([v for _step, who, v in run.history if who == "G"])
    if accuracy:
        text.append(f"D accuracy {spark(np.array(accuracy), width)} {accuracy[-1]:.0%}\n")
    if d_losses.size:
        text.append(f"D loss     {spark(d_losses, width)} {d_losses[-1]:.3f}\n")
    if g_losses.size:
        text.append(f"G loss     {spark(g_losses, width)} {g_losses[-1]:.3f}\n")
    return text
