"""A model read from PyTorch or ONNX: its operations as a small graph, turned into nnsim's layer
tables (the grammar of ``[model] layers``) plus the weights and running statistics of each layer.

Both readers (torch_reader.py, onnx_reader.py) emit ``Node``s: one nnsim layer each (its table
without a name), or an ``add`` / ``concat`` joining branches, or a ``last_step`` reading a
recurrent layer's last output. ``to_tables`` walks the graph from its input: a tensor used by
several nodes opens branches that must meet again at one ``add`` (a residual block, one branch
possibly the identity) or one ``concat``; anything else is refused. Nothing is built until the
whole graph has been read, so a refusal leaves nothing half made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class InteropError(ValueError):
    """A model that nnsim cannot read: names the module (or node) and why."""


class MissingExtra(InteropError, ImportError):
    """PyTorch or ONNX is not installed: names the extra to install."""


@dataclass
class Node:
    """One operation: ``id`` names its output; ``inputs`` are the ids of the data it reads."""

    id: str
    kind: str  # a layer type of [model] layers, or "add", "concat", "last_step", "identity"
    inputs: tuple[str, ...]
    where: str  # "features.3 (nn.Conv2d)": how the learner finds it in their model
    table: dict = field(default_factory=dict)  # the layer table, without a name
    params: dict[str, np.ndarray] = field(default_factory=dict)  # nnsim keys: W, b, gamma, ...
    running: dict[str, np.ndarray] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # nnsim key -> PyTorch state_dict key
    check: Callable | None = None  # (built layer) -> what is wrong, or None


@dataclass(frozen=True)
class Imported:
    """A model read from a file or a module: layer tables, and one Node per leaf layer in the
    order the built model's leaves come (depth first), holding its weights."""

    origin: str  # "small_cnn.onnx (ONNX)", "a torch module Net"
    path: Path | None
    tables: tuple
    leaves: tuple[Node, ...]
    input_shape: tuple[int, ...]
    training: bool = True
    notes: tuple[str, ...] = ()  # what the learner should know (a folded batch norm)

    def torch_keys(self) -> dict[str, str] | None:
        """The reader's state_dict key of every nnsim parameter key ("conv1.W"), once the
        leaves have names; None unless every weight has one."""
        keys = {}
        for node in self.leaves:
            for key in (*node.params, *node.running):
                if key not in node.keys:
                    return None
                keys[f"{node.table.get('name')}.{key}"] = node.keys[key]
        return keys


def to_tables(nodes: list[Node], input_id: str, output_id: str) -> tuple[list[dict], list[Node]]:
    """The layer tables of a graph (blocks nested) and its leaf nodes in depth-first order."""
    users: dict[str, list[Node]] = {}
    for node in nodes:
        for source in node.inputs:
            users.setdefault(source, []).append(node)
    items, end = _chain(input_id, users, output_id)
    if end != output_id:
        join = users[end][0]
        raise InteropError(f"{join.where}: joins branches that do not start from one tensor")
    leaves: list[Node] = []
    return _emit(items, leaves), leaves


def _chain(start: str, users: dict[str, list[Node]], output_id: str) -> tuple[list, str]:
    """The items (nodes, and ("residual"|"concat", branches) blocks) from ``start`` until the
    output or a join this chain did not open; returns them and the last tensor."""
    items: list = []
    current = start
    while True:
        after = users.get(current, [])
        if current == output_id and not after:
            return items, current
        if not after:
            raise InteropError(f"the value of {current!r} is computed but never used")
        if len(after) == 1 and len(after[0].inputs) > 1:
            return items, current  # a join: the caller's fork closes it
        if len(after) == 1:
            items.append(after[0])
            current = after[0].id
            continue
        block, current = _fork(current, after, users, output_id)
        items.append(block)


def _fork(start: str, after: list[Node], users, output_id: str) -> tuple[tuple, str]:
    branches, joins = {}, set()
    for node in after:
        if len(node.inputs) > 1:  # the fork's tensor goes straight to the join: identity
            branch, end = [], start
        else:
            branch, end = _chain(node.id, users, output_id)
            branch.insert(0, node)
            if end == output_id or not users.get(end):
                raise InteropError(
                    f"{node.where}: starts a branch that never joins the others (nnsim's "
                    "blocks are residual additions and concatenations)"
                )
            node = users[end][0]
        joins.add(node.id)
        branches[end] = branch
    join = next(u for e in branches for u in users.get(e, []) if len(u.inputs) > 1)
    if len(joins) != 1 or sorted(join.inputs) != sorted(branches):
        raise InteropError(
            f"{join.where}: its branches do not nest as nnsim blocks (each fork must close at "
            "one addition or concatenation)"
        )
    ordered = [branches[source] for source in join.inputs]
    if join.kind == "add":
        if len(ordered) != 2 or not any(ordered):
            raise InteropError(f"{join.where}: nnsim adds a block and one shortcut (x + f(x))")
        if not ordered[0]:
            ordered.reverse()  # x + f(x): the block is f
        return ("residual", ordered), join.id
    if join.kind == "concat":
        return ("concat", ordered), join.id
    raise InteropError(f"{join.where}: not supported: nnsim joins branches by + or concat only")


def _emit(items: list, leaves: list[Node]) -> list[dict]:
    tables: list[dict] = []
    for item in items:
        if isinstance(item, tuple):
            kind, branches = item
            if kind == "residual":
                table = {"type": "residual", "layers": _emit(branches[0], leaves)}
                if branches[1]:
                    table["shortcut"] = _emit(branches[1], leaves)
            else:
                inner = [_emit(branch, leaves) or _identity(leaves) for branch in branches]
                table = {"type": "concat", "branches": inner}
            tables.append(table)
        elif item.kind == "last_step":
            before = tables[-1] if tables else None
            if before is None or before["type"] not in ("rnn", "lstm", "gru"):
                raise InteropError(
                    f"{item.where}: reads one time step of something that is not the output "
                    "of a recurrent layer right before it"
                )
            before["return_sequences"] = False
        elif item.kind == "identity":
            continue
        else:
            tables.append(item.table)
            leaves.append(item)
    return tables


def _identity(leaves: list[Node]) -> list[dict]:
    """A concat's branch that passes its input on: an identity layer (a leaf, no weights)."""
    node = Node(f"identity{len(leaves)}", "identity", (), "a branch passing its input on")
    node.table = {"type": "identity"}
    leaves.append(node)
    return [node.table]
