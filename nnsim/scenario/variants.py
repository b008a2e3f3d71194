"""A network scenario's variants: each is the scenario with some of its specs replaced
(``dataclasses.replace``), from a [[variants]] entry or a what-if of the interface. What is
the same as the lesson's (its data, its model) is the lesson's, not read or built again."""

from __future__ import annotations

import copy
from dataclasses import replace

from ..optim import OPTIMIZERS
from .checks import VariantEntry
from .errors import ScenarioError, did_you_mean
from .layers import parse_layers
from .network import read_scenario, with_layer_names
from .schema import Table
from .spec import OptimizerSpec, Scenario, learning_rate_problem

#: Layer types with weights, whose initialisation a what-if can change.
WEIGHT_TYPES = {"dense", "dropconnect", "conv", "rnn", "lstm", "gru"}


def network_variant(base: Scenario, entry: VariantEntry) -> Scenario:
    """The scenario of one [[variants]] entry: its merged tables read (only the changed ones),
    then its layers rewritten if it says replace_activation or init."""
    source = base.source
    variant = read_scenario(source, Table(source, entry.keys, entry.tables), entry.tables, base)
    rewrites = Table(source, entry.keys, entry.rewrites)
    swap = rewrites.get("replace_activation", list, None)
    init = rewrites.get("init", str, None)
    if swap is not None and (len(swap) != 2 or not all(isinstance(v, str) for v in swap)):
        raise rewrites.error(
            "replace_activation", 'expected ["old", "new"], e.g. ["sigmoid", "relu"]'
        )
    if swap is None and init is None:
        return variant
    try:
        return what_if(variant, activation=tuple(swap) if swap else None, init=init)
    except ScenarioError:
        raise
    except ValueError as err:
        raise rewrites.error(None, str(err)) from None


def what_if(
    scenario: Scenario,
    lr: float | None = None,
    optimizer: str | None = None,
    activation: tuple[str, str] | None = None,
    init: str | None = None,
) -> Scenario:
    """``scenario`` with one thing changed (see Scenario.variant); ValueError if it cannot."""
    spec = scenario.optimizer
    if lr is not None:
        problem = learning_rate_problem(float(lr))
        if problem is not None:
            raise ValueError(f"the learning rate {problem}")
        spec = replace(spec, lr=float(lr))
    if optimizer is not None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimiser {optimizer!r}{did_you_mean(optimizer, OPTIMIZERS)}"
            )
        spec = OptimizerSpec(optimizer, spec.lr)
    spec.build()  # an impossible combination fails now, not mid-run
    model = scenario.model
    if activation is not None or init is not None:
        if model.architecture is not None:
            raise ValueError(
                "this scenario builds a classic architecture: only the "
                "learning rate and the optimiser can change"
            )
        keys = list(model.layers[0].keys[:-1])  # where the layer list is written
        tables = _rewrite(copy.deepcopy([layer.table for layer in model.layers]), activation, init)
        layers = parse_layers(scenario.source, keys, tables)
        model = with_layer_names(replace(model, layers=layers), scenario.source, keys[:-1])
    return replace(scenario, optimizer=spec, model=model)


def _rewrite(specs: list, activation: tuple[str, str] | None, init: str | None) -> list:
    """Layer tables with one activation kind swapped for another and/or a new init scheme."""
    for spec in specs:
        if not isinstance(spec, dict):
            continue
        if activation is not None:
            old, new = activation
            if spec.get("type") == old:
                spec["type"] = new
            if spec.get("activation") == old:
                spec["activation"] = new
        if init is not None and spec.get("type") in WEIGHT_TYPES:
            spec["init"] = init
        for key in ("layers", "shortcut"):
            if isinstance(spec.get(key), list):
                _rewrite(spec[key], activation, init)
        for branch in spec.get("branches", []) or []:
            if isinstance(branch, list):
                _rewrite(branch, activation, init)
    return specs
