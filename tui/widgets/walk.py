"""One position of a convolution or pooling worked out by hand (nnsim.layers.walk.Cell):
the operands side by side, their products (or the routed gradient), the sum, and the value
the kernel wrote."""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from nnsim.session import Cell


def _matrix(values: np.ndarray) -> Text:
    """A (rows, cols) plane, or a (channels, rows, cols) stack with a label per channel."""
    stack = (values if values.ndim == 3 else values[None]) + 0.0  # + 0.0: no "-0"
    cells = [[[f"{v:.3g}" for v in row] for row in plane] for plane in stack]
    width = max(len(c) for plane in cells for row in plane for c in row)  # as narrow as it can
    text = Text(no_wrap=True, overflow="crop")
    for c, plane in enumerate(cells):
        if len(stack) > 1:
            text.append(f"channel {c}\n", style="dim")
        for row in plane:
            text.append(" ".join(v.rjust(width) for v in row) + "\n")
    text.rstrip()
    return text


def render_cell(cell: Cell, width: int = 200) -> Group:
    """The position worked out in ``width`` cells: the operands side by side when they fit,
    else one below another; a matrix wider than the pane is not wrapped but named."""
    columns = list(cell.operands)
    if cell.terms is not None:
        columns.append(("products" if len(cell.operands) > 1 else "routed", cell.terms))
    matrices = [(name, _matrix(values)) for name, values in columns]
    widths = [max(len(name), max(m.cell_len for m in matrix.split())) for name, matrix in matrices]
    parts: list = [Text(cell.title, style="bold")]
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        table = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=False)
        for (name, _), column_width in zip(matrices, widths, strict=True):
            bold = "bold" if name in ("products", "routed") else ""
            table.add_column(name, style=bold, no_wrap=True, min_width=column_width)
        table.add_row(*(matrix for _, matrix in matrices))
        parts.append(table)
    else:
        for (name, matrix), column_width in zip(matrices, widths, strict=True):
            parts.append(Text(name, style="bold underline"))
            if column_width <= width:
                parts.append(matrix)
            else:
                parts.append(Text(f"(widen the pane to {column_width} columns to see)", "dim"))
    agree = abs(cell.computed - cell.kernel) <= 1e-9 * max(1.0, abs(cell.kernel))
    verdict = Text()
    verdict.append(f"{cell.formula} = {cell.computed:.6g}\n")
    verdict.append(f"the kernel wrote {cell.target} = {cell.kernel:.6g}  ")
    verdict.append("✓ the same" if agree else "✗ different", style="green" if agree else "bold red")
    parts.append(verdict)
    return Group(*parts)
