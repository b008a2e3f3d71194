"""model.summary(): output shape, parameters, receptive field and FLOPs for every layer.

Receptive field: for spatial layers, per axis, r_out = r_in + (k - 1) * dilation * jump_in and
jump_out = jump_in * stride, starting from r = 1, jump = 1 at the input (padding does not
change it). Element-wise layers keep it; a layer whose outputs see the whole input (Flatten,
Dense, recurrent) shows "global". A block's branches run side by side, so its field is the
largest of theirs.

FLOPs are for one forward pass of one example: 2 per multiply-accumulate in dense, conv and
recurrent layers (``macs`` counts those), plus one per output element for element-wise layers
(activations, dropout and the residual addition; batch norm 2, pooling one per window cell).
Biases are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .layers.base import Layer
from .layers.blocks import Residual

if TYPE_CHECKING:
    from .model import Sequential

Field = tuple[int, int, int, int] | None  # (r_h, r_w, jump_h, jump_w), None once global


@dataclass
class Summary:
    """Rows (one dict per layer and block, in forward order) and totals; str() is a table."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        header = ("layer", "type", "output", "params", "RF", "FLOPs")
        lines = [
            (
                "  " * row["depth"] + row["name"] + (" (frozen)" if row["frozen"] else ""),
                row["type"],
                str(row["output_shape"]),
                f"{row['params']:,}",
                format_field(row["receptive_field"]),
                f"{row['flops']:,}",
            )
            for row in self.rows
        ]
        widths = [max(len(r[i]) for r in (header, *lines)) for i in range(len(header))]
        align = ["<", "<", "<", ">", ">", ">"]

        def fmt(cells):
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True))

        rule = "-" * len(fmt(header))
        t = self.totals
        total_lines = [
            f"input {t['input_shape']}  ->  output {t['output_shape']}",
            f"parameters: {t['params']:,} ({t['trainable_params']:,} trainable)",
            f"FLOPs per example: {t['flops']:,} ({t['macs']:,} multiply-accumulates)",
        ]
        return "\n".join([fmt(header), rule, *map(fmt, lines), rule, *total_lines])


def format_field(receptive: tuple[int, int] | None) -> str:
    if receptive is None:
        return "global"
    return str(receptive[0]) if receptive[0] == receptive[1] else f"{receptive[0]}x{receptive[1]}"


def _advance(layer: Layer, state: Field) -> Field:
    if state is None:
        return None
    window = layer.window()
    if window is None:
        return None
    (kh, kw), (sh, sw), (dh, dw) = window
    rh, rw, jh, jw = state
    return (rh + (kh - 1) * dh * jh, rw + (kw - 1) * dw * jw, jh * sh, jw * sw)


def _widest(states: list[Field]) -> Field:
    if any(s is None for s in states):
        return None
    return max(states, key=lambda s: (s[0] * s[1], s))


def _visit(layer: Layer, depth: int, state: Field, rows: list[dict[str, Any]]) -> Field:
    """Append rows for ``layer`` (and its children) and return the field at its output."""
    row: dict[str, Any] = {}
    if depth >= 0:
        rows.append(row)
    children = layer.children()
    if not children:
        out = _advance(layer, state)
    elif layer.kind == "block":  # Sequential: children in series
        out = state
        for child in children:
            out = _visit(child, depth + 1, out, rows)
    else:  # Residual, Concat: children side by side on the same input
        out = _widest([_visit(child, depth + 1, state, rows) for child in children])
        if isinstance(layer, Residual) and layer.shortcut is None:
            out = _widest([out, state])  # the identity path sees the input as it is
    if depth >= 0:
        leaves = [leaf for leaf in layer.walk() if not leaf.children()]
        macs = sum(leaf.macs() for leaf in leaves)
        flops = subtree_flops(layer)
        row.update(
            name=layer.name,
            type=type(layer).__name__,
            depth=depth,
            output_shape=layer.output_shape,
            params=sum(leaf.param_count() for leaf in leaves),
            trainable=not layer.frozen,
            frozen=layer.frozen,
            block=bool(children),
            receptive_field=None if out is None else (out[0], out[1]),
            jump=None if out is None else (out[2], out[3]),
            macs=macs,
            flops=flops,
        )
    return out


def subtree_flops(layer: Layer) -> int:
    """FLOPs of ``layer`` and everything inside it (a block's own work is its addition)."""
    return sum(d.flops() if not d.children() else d.elementwise_flops() for d in layer.walk())


def summarize(model: Sequential) -> Summary:
    rows: list[dict[str, Any]] = []
    start: Field = (1, 1, 1, 1) if len(model.input_shape) == 3 else None
    _visit(model, -1, start, rows)
    leaves = [leaf for leaf in model.walk() if not leaf.children()]
    totals = {
        "input_shape": model.input_shape,
        "output_shape": model.output_shape,
        "params": sum(leaf.param_count() for leaf in leaves),
        "trainable_params": sum(leaf.param_count() for leaf in leaves if not leaf.frozen),
        "macs": sum(leaf.macs() for leaf in leaves),
        "flops": subtree_flops(model),
        "layers": len(leaves),
    }
    return Summary(rows, totals)
