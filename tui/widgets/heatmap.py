"""A heatmap of a 2-D slice of a tensor, drawn with the line API (two data rows per line).

Diverging colour scale centred on 0: blue for negative, white for 0, red for positive,
symmetric in |value| so the sign is never ambiguous; NaN shows as a yellow '?' and ±inf as a
magenta '!' cell, never an exception. A legend line gives the scale. Rows not computed yet
(a recurrent layer stepped through time) are blank, and left out of the scale.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

NAN_STYLE = Style(color="black", bgcolor="yellow", bold=True)
INF_STYLE = Style(color="white", bgcolor="magenta", bold=True)


def colour(value: float, scale: float) -> tuple[int, int, int]:
    """RGB of ``value`` on the diverging scale [-scale, scale]."""
    t = 0.0 if scale <= 0 else max(-1.0, min(1.0, value / scale))
    if t >= 0:  # white to red
        return 255, int(255 * (1 - t)), int(255 * (1 - t))
    return int(255 * (1 + t)), int(255 * (1 + t)), 255  # white to blue


@lru_cache(maxsize=8192)
def _style(color: tuple[int, int, int] | None, bgcolor: tuple[int, int, int] | None) -> Style:
    """A cell's style, made once per colour pair (parsing colours was most of a redraw)."""
    return Style(
        color=None if color is None else "rgb({},{},{})".format(*color),
        bgcolor=None if bgcolor is None else "rgb({},{},{})".format(*bgcolor),
    )


def slice_2d(array: np.ndarray, index: int) -> tuple[np.ndarray, str]:
    """A 2-D view of any tensor: leading axes are cycled through by ``index``."""
    a = np.asarray(array)
    if a.ndim == 0:
        return a.reshape(1, 1), ""
    if a.ndim == 1:
        return a.reshape(1, -1), ""
    if a.ndim == 2:
        return a, ""
    lead = a.shape[:-2]
    count = int(np.prod(lead))
    position = np.unravel_index(index % count, lead)
    label = "[" + ", ".join(str(int(p)) for p in position) + ", :, :]"
    return a[position], f"{label}  slice {index % count + 1} of {count}"


def fit(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Shrink ``a`` to at most rows x cols by taking, per block, the value largest in size
    (so an outlier or a NaN stays visible)."""
    h, w = a.shape
    fh, fw = max(1, math.ceil(h / rows)), max(1, math.ceil(w / cols))
    if fh == 1 and fw == 1:
        return a
    ph, pw = math.ceil(h / fh) * fh, math.ceil(w / fw) * fw
    padded = np.zeros((ph, pw))
    padded[:h, :w] = a
    blocks = (
        padded.reshape(ph // fh, fh, pw // fw, fw)
        .transpose(0, 2, 1, 3)
        .reshape(ph // fh, pw // fw, fh * fw)
    )
    nan = np.isnan(blocks).any(axis=2)
    picked = np.take_along_axis(
        blocks, np.nanargmax(np.where(np.isnan(blocks), -1, np.abs(blocks)), axis=2)[..., None], 2
    )[..., 0]
    picked[nan] = np.nan
    return picked


def _same_source(a: tuple, b: tuple) -> bool:
    """The same read-only array (a view's arrays never change) at the same zoom and rows."""
    array = a[0]
    unchanging = array is None or (isinstance(array, np.ndarray) and not array.flags.writeable)
    return unchanging and array is b[0] and a[1:] == b[1:]


class Heatmap(Widget):
    """Draws ``set_data``'s array. A small array is enlarged to fill the pane unless ``zoom``
    (from the - and = keys) sets the size of each value's block."""

    DEFAULT_CSS = """
    Heatmap { height: 1fr; min-height: 4; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.values: np.ndarray | None = None
        self.computed: np.ndarray | None = None  # per value: computed yet (None: all)
        self.zoom = 0
        self._strips: list[Strip] = []
        self._source: tuple | None = None  # set_data's arguments, while drawn

    def set_data(
        self, array: np.ndarray | None, zoom: int = 0, rows: tuple[int, int] | None = None
    ) -> None:
        """Draw ``array``; with ``rows`` = (first, end), only those rows are computed yet."""
        source = (array, zoom, rows)
        if self._source is not None and _same_source(source, self._source):
            return
        self._source = source
        self.values = None if array is None else np.asarray(array, dtype=np.float64)
        self.computed = None
        if self.values is not None and rows is not None:
            self.computed = np.zeros(self.values.shape, dtype=np.float64)
            self.computed[rows[0] : rows[1]] = 1.0
        self.zoom = max(0, zoom)
        self._strips = []
        self.refresh()

    def on_resize(self) -> None:
        self._strips = []

    def _draw(self) -> list[Strip]:
        width, height = self.size.width, self.size.height
        if self.values is None or width < 4 or height < 2:
            return []
        rows, cols = max(1, (height - 1) * 2), max(1, width)
        a = self.values
        shown = np.ones(a.shape) if self.computed is None else self.computed
        down = self.zoom if self.zoom > 1 else min(rows // a.shape[0], cols // (2 * a.shape[1]))
        if down > 1:  # a small tensor fills the pane: each value a block 2 wide, 1 high
            a = np.repeat(np.repeat(a, down, axis=0), 2 * down, axis=1)
            shown = np.repeat(np.repeat(shown, down, axis=0), 2 * down, axis=1)
        a, shown = fit(a, rows, cols), fit(shown, rows, cols) > 0  # a block shows if any is
        finite = a[np.isfinite(a) & shown]
        scale = float(np.abs(finite).max()) if finite.size else 0.0
        lines = []
        for top in range(0, a.shape[0], 2):
            segments = []
            for c in range(a.shape[1]):
                upper = a[top, c] if shown[top, c] else None
                below = top + 1 < a.shape[0] and shown[top + 1, c]
                lower = a[top + 1, c] if below else None
                segments.append(self._cell(upper, lower, scale))
            lines.append(Strip(segments))
        lines.append(self._legend(scale, width))
        return lines

    @staticmethod
    def _cell(upper: float | None, lower: float | None, scale: float) -> Segment:
        """Two values in one cell (upper half, lower half); None: nothing to draw there."""
        for value in (upper, lower):
            if value is not None and math.isnan(value):
                return Segment("?", NAN_STYLE)
            if value is not None and math.isinf(value):
                return Segment("!", INF_STYLE)
        if upper is None:
            if lower is None:
                return Segment(" ")
            return Segment("▄", _style(colour(lower, scale), None))
        up = colour(upper, scale)
        if lower is None:
            return Segment("▀", _style(up, None))
        return Segment("▀", _style(up, colour(lower, scale)))

    @staticmethod
    def _legend(scale: float, width: int) -> Strip:
        """The colour bar between -scale and scale, then the NaN and inf marks when there is
        room for them (each pane of a split view has a legend of its own)."""
        label_low, label_high = f"{-scale:.2g} ", f" {scale:.2g}"
        labels = len(label_low) + len(label_high)
        marks = width - labels >= 4 + 15
        bar = max(4, min(24, width - labels - (15 if marks else 0)))
        segments = [Segment(label_low)]
        for i in range(bar):
            value = (2 * i / (bar - 1) - 1) * scale if bar > 1 else 0.0
            segments.append(Segment(" ", _style(None, colour(value, scale))))
        segments.append(Segment(label_high))
        if marks:
            segments += [Segment(" ? NaN ", NAN_STYLE), Segment(" ! inf ", INF_STYLE)]
        return Strip(segments)

    def render_line(self, y: int) -> Strip:
        if not self._strips:
            self._strips = self._draw()
        if y < len(self._strips):
            return self._strips[y].crop(0, self.size.width)
        return Strip.blank(self.size.width)
