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
    text = Text()
    for c, plane in enumerate(cells):
        if len(stack) > 1:
            text.append(f"channel {c}\n", style="dim")
        for row in plane:
            text.append(" ".join(v.rjust(width) for v in row) + "\n")
    return text


def render_cell(cell: Cell) -> Group:
    table = Table(box=None, padding=(0, 2), show_edge=False)
    columns = list(cell.operands)
    if cell.terms is not None:
        columns.append(("products" if len(cell.operands) > 1 else "routed", cell.terms))
    for name, _ in columns:
        table.add_column(name, style="bold" if name in ("products", "routed") else "")
    table.add_row(*(_matrix(values) for _, values in columns))
    agree = abs(cell.computed - cell.kernel) <= 1e-9 * max(1.0, abs(cell.kernel))
    verdict = Text()
    verdict.append(f"{cell.formula} = {cell.computed:.6g}\n")
    verdict.append(f"the kernel wrote {cell.target} = {cell.kernel:.6g}  ")
    verdict.append("✓ the same" if agree else "✗ different", style="green" if agree else "bold red")
    return Group(Text(cell.title, style="bold"), table, verdict)
