"""A 1-D GAN drawn in a terminal: the histogram of the generator's samples over the
target's, and the discriminator's accuracy and both losses over the iterations. Used by
`nnsim run` and by the interface's GAN screen."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from .sim.gan import GanRun

SPARKS = "▁▂▃▄▅▆▇█"


def histogram(run: GanRun, width: int = 60, height: int = 12) -> Text:
    """Target samples as ░ columns, generated ones as █ columns, over the same bins."""
    width, height = max(10, width), max(3, height)
    real, fake = run.real_samples(), run.samples()
    finite = fake[np.isfinite(fake)]
    low = float(min(real.min(), finite.min() if finite.size else real.min()))
    high = float(max(real.max(), finite.max() if finite.size else real.max()))
    low, high = min(low, -4.0), max(high, 4.0)
    edges = np.linspace(low, high, width + 1)
    real_counts = np.histogram(real, edges)[0] / len(real)  # (width,) fractions
    fake_counts = np.histogram(finite, edges)[0] / max(1, len(fake))
    top = max(real_counts.max(), fake_counts.max(), 1e-12)
    text = Text()
    for row in range(height, 0, -1):
        level = top * (row - 0.5) / height
        for r, f in zip(real_counts, fake_counts, strict=True):
            if f >= level:
                text.append("█", style="bright_cyan" if r >= level else "bright_red")
            elif r >= level:
                text.append("░", style="yellow")
            else:
                text.append(" ")
        text.append("\n")
    text.append(f"{low:<8.3g}".ljust(width - 8) + f"{high:>8.3g}\n", style="dim")
    text.append("░ target  ", style="yellow")
    text.append("█ generated (", style="bright_red")
    text.append("█", style="bright_cyan")
    text.append(" where they overlap)", style="bright_red")
    return text


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
    d_losses = np.array([v for _, who, v in run.history if who == "D"])
    g_losses = np.array([v for _, who, v in run.history if who == "G"])
    if accuracy:
        text.append(f"D accuracy {spark(np.array(accuracy), width)} {accuracy[-1]:.0%}\n")
    if d_losses.size:
        text.append(f"D loss     {spark(d_losses, width)} {d_losses[-1]:.3f}\n")
    if g_losses.size:
        text.append(f"G loss     {spark(g_losses, width)} {g_losses[-1]:.3f}\n")
    return text
