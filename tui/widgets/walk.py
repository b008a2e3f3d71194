"""One position of a convolution or pooling worked out by hand (nnsim.layers.walk.Cell):
the operands side by side, their products (or the routed gradient), the sum, and the value
the kernel wrote."""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text

from nnsim.i18n import N_, _
from nnsim.session import Cell

PRODUCTS, ROUTED = N_("products"), N_("routed")  # the column the kernel sums


def _matrix(values: np.ndarray) -> Text:
    """A (rows, cols) plane, or a (channels, rows, cols) stack with a label per channel."""
    stack = (values if values.ndim == 3 else values[None]) + 0.0  # + 0.0: no "-0"
    cells = [[[f"{v:.3g}" for v in row] for row in plane] for plane in stack]
    width = max(len(c) for plane in cells for row in plane for c in row)  # as narrow as it can
    text = Text(no_wrap=True, overflow="crop")
    for c, plane in enumerate(cells):
        if len(stack) > 1:
            text.append(_("channel {c}").format(c=c) + "\n", style="dim")
        for row in plane:
            text.append(" ".join(v.rjust(width) for v in row) + "\n")
    text.rstrip()
    return text


def render_cell(cell: Cell, width: int = 200) -> Group:
    """The position worked out in ``width`` cells: the operands side by side when they fit,
    else one below another; a matrix wider than the pane is not wrapped but named."""
    columns = list(cell.operands)
    if cell.terms is not None:
        columns.append((_(PRODUCTS) if len(cell.operands) > 1 else _(ROUTED), cell.terms))
    summed = len(columns) - 1 if cell.terms is not None else -1  # shown bold
    matrices = [(name, _matrix(values)) for name, values in columns]
    widths = [
        max(cell_len(name), max(m.cell_len for m in matrix.split())) for name, matrix in matrices
    ]
    parts: list = [Text(cell.title, style="bold")]
    if sum(widths) + 2 * (len(widths) - 1) <= width:
        table = Table(box=None, padding=(0, 2), show_edge=False, pad_edge=False)
        for i, ((name, _matrix_text), column_width) in enumerate(
            zip(matrices, widths, strict=True)
        ):
            bold = "bold" if i == summed else ""
            table.add_column(name, style=bold, no_wrap=True, min_width=column_width)
        table.add_row(*(matrix for _name, matrix in matrices))
        parts.append(table)
    else:
        for (name, matrix), column_width in zip(matrices, widths, strict=True):
            parts.append(Text(name, style="bold underline"))
            if column_width <= width:
                parts.append(matrix)
            else:
                widen = _("(widen the pane to {n} columns to see)").format(n=column_width)
                parts.append(Text(widen, "dim"))
    agree = abs(cell.computed - cell.kernel) <= 1e-9 * max(1.0, abs(cell.kernel))
    verdict = Text()
    verdict.append(f"{cell.formula} = {cell.computed:.6g}\n")
    wrote = _("the kernel wrote {target} = {value}")
    verdict.append(wrote.format(target=cell.target, value=f"{cell.kernel:.6g}") + "  ")
    same = "✓ " + _("the same") if agree else "✗ " + _("different")
    verdict.append(same, style="green" if agree else "bold red")
    parts.append(verdict)
    return Group(*parts)
