"""Text charts for terminals: a sparkline that survives NaN and inf."""

from __future__ import annotations

import numpy as np

BARS = "▁▂▃▄▅▆▇█"


def sparkline(
    values: np.ndarray,
    width: int = 40,
    log: bool = False,
    bounds: tuple[float, float] | None = None,
) -> str:
    """A one-line chart of ``values`` resampled to ``width``; '!' marks a non-finite step.

    ``bounds`` (in log10 units when ``log``) puts several lines on one scale."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    picks = np.linspace(0, values.size - 1, min(width, values.size)).round().astype(int)
    sample = values[picks]
    ok = np.isfinite(sample) & (sample > 0 if log else True)
    if not ok.any():
        return "!" * len(sample)
    shown = np.where(ok, sample, np.nan)
    if log:
        shown = np.log10(np.where(ok, shown, 1.0))
    low, high = bounds if bounds is not None else (np.min(shown[ok]), np.max(shown[ok]))
    span = high - low or 1.0
    levels = np.clip((shown - low) / span, 0.0, 1.0) * (len(BARS) - 1)
    return "".join(BARS[int(v)] if good else "!" for good, v in zip(ok, levels, strict=True))
