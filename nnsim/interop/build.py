"""Building an imported model the way lessons are built (nnsim/scenario/layers.py reads the
tables) and giving it the imported weights, every shape checked before anything is copied."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..layers import Sequential
from ..scenario.errors import ScenarioError
from ..scenario.layers import build_layers, parse_layers
from ..scenario.schema import Source
from .graph import Imported, InteropError, Node, to_tables


def finish(
    nodes: list[Node],
    input_id: str,
    output_id: str,
    *,
    origin: str,
    input_shape: tuple[int, ...],
    path=None,
    training: bool = True,
    notes: tuple[str, ...] = (),
) -> Imported:
    """The Imported model of a reader's graph, checked by building it once: every shape, every
    weight's shape, every layer named (the names go into the tables, so that every later build
    names them the same)."""
    tables, leaves = to_tables(nodes, input_id, output_id)
    imported = Imported(origin, path, tuple(tables), tuple(leaves), tuple(input_shape), training)
    model = build(imported, "float64", check_weights=False)
    for layer, node in zip(model.leaves(), imported.leaves, strict=True):
        node.table["name"] = layer.name
        problem = node.check(layer) if node.check is not None else None
        if problem:
            raise InteropError(f"{node.where}: {problem}")
    _staged(model, imported)
    return replace(imported, notes=tuple(notes))


def parse(imported: Imported):
    """The checked layer specs of the tables (nnsim's own reading of [model] layers)."""
    where = imported.path if imported.path is not None else imported.origin
    try:
        return parse_layers(Source(where, ""), ["layers"], list(imported.tables))
    except ScenarioError as err:
        raise InteropError(f"{imported.origin}: {err.message}") from None


def build(
    imported: Imported, dtype: str = "float64", seed: int = 0, check_weights: bool = True
) -> Sequential:
    """A new model with the imported weights (mode as the source model's)."""
    model = Sequential(build_layers(parse(imported)), dtype=dtype)
    try:
        model.compile(imported.input_shape, seed=seed)
    except ValueError as err:
        raise InteropError(_located(str(err), model, imported)) from None
    if check_weights:
        assign(model, imported)
    if not imported.training:
        model.eval()
    return model


def _located(message: str, model: Sequential, imported: Imported) -> str:
    """A shape error naming an nnsim layer, said with the reader's name for it."""
    for layer, node in zip(model.leaves(), imported.leaves, strict=False):
        if layer.name and message.startswith(f"{layer.name} "):
            return f"{node.where}: does not fit here (nnsim calls it {layer.name}): {message}"
    return f"{imported.origin}: {message}"


def _staged(model: Sequential, imported: Imported) -> list[tuple[np.ndarray, np.ndarray]]:
    """(target, value) pairs for every imported weight, each shape checked."""
    model.materialize()
    pairs = []
    for layer, node in zip(model.leaves(), imported.leaves, strict=True):
        for section, values, targets in (
            ("weight", node.params, layer.params),
            ("running statistic", node.running, layer.running),
        ):
            if set(values) != set(targets):
                raise InteropError(
                    f"{node.where}: holds {sorted(values)} where nnsim's {layer.name} has "
                    f"{sorted(targets)}"
                )
            for key, value in values.items():
                target = targets[key]
                if value.shape != target.shape:
                    raise InteropError(
                        f"{node.where}: its {section} {key} is {value.shape}, but on the input "
                        f"it receives here, {layer.input_shape} per example, nnsim's "
                        f"{layer.name} needs {target.shape}"
                    )
                if not np.isfinite(value).all():
                    raise InteropError(f"{node.where}: its {section} {key} holds NaN or inf")
                pairs.append((target, value))
    return pairs


def assign(model: Sequential, imported: Imported) -> None:
    """Copy the imported weights into ``model`` (built from ``imported``'s tables): all
    checked first, then copied, so a mismatch changes nothing."""
    for target, value in _staged(model, imported):
        target[...] = value
    keys = imported.torch_keys()
    if keys is not None:
        model.torch_keys = keys  # save_torch writes the source model's state_dict names
