"""What a sweep's grid can set, how a value is read from the command line, and how a grid
point changes a scenario: through the same code paths as the interface's what-if
(``Scenario.variant``) and a [[variants]] entry's [train] table, never by editing specs by hand.

    grid = parse_grid(["lr=0.01,0.1", "seed=0,1"])
    grid.points()  # [{"lr": 0.01, "seed": 0}, {"lr": 0.01, "seed": 1}, {"lr": 0.1, ...}, ...]
    with_params(load("xor_mlp"), {"lr": 0.1, "seed": 1})
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..scenario import ScenarioError


class GridError(ValueError):
    """A parameter or value a sweep cannot take; the message says which and why."""


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _whole(minimum: int) -> Callable[[str], int]:
    def read(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return read


def _swap(text: str) -> str:
    old, colon, new = text.partition(":")
    if not colon or not old or not new or ":" in new:
        raise ValueError('expected OLD:NEW, e.g. "sigmoid:relu"')
    return text


def _name(text: str) -> str:
    if not text:
        raise ValueError("is empty")
    return text


#: name -> (how to read a value, what it changes); the values' meanings are Session.what_if's
#: (lr, optimizer, init of every layer with weights, activation OLD:NEW) and `nnsim run`'s
#: (seed, iterations), and [train] batch_size as a variant's table sets it
PARAMETERS: dict[str, tuple[Callable[[str], object], str]] = {
    "lr": (_number, "the learning rate, e.g. lr=0.01,0.1"),
    "optimizer": (_name, "the optimiser, e.g. optimizer=sgd,adam"),
    "init": (_name, "the initialisation of every layer with weights, e.g. init=he_normal"),
    "activation": (_swap, "one activation replaced by another, e.g. activation=sigmoid:relu"),
    "batch_size": (_whole(1), "[train] batch_size, e.g. batch_size=16,64"),
    "iterations": (_whole(0), "the number of iterations, as nnsim run --iterations"),
    "seed": (_whole(0), "the seed of the run, as nnsim run --seed"),
}


def read_value(name: str, text: str, where: str) -> object:
    """One value of parameter ``name``; ``where`` names it in a message ("--grid lr=...")."""
    if name not in PARAMETERS:
        from ..scenario.errors import did_you_mean

        raise GridError(f"{where}: unknown parameter {name!r}{did_you_mean(name, PARAMETERS)}")
    read, meaning = PARAMETERS[name]
    try:
        return read(text.strip())
    except ValueError as err:
        reason = str(err) if "could not convert" not in str(err) else "not a number"
        if "invalid literal" in reason:
            reason = "not a whole number"
        raise GridError(f"{where}: {name}={text.strip()!r}: {reason} ({meaning})") from None


@dataclass(frozen=True)
class Grid:
    """The axes of a sweep in the order given: ``((name, values), ...)``."""

    axes: tuple[tuple[str, tuple], ...]

    def points(self) -> list[dict]:
        """Every combination, the first axis varying slowest (as nested loops in that order)."""
        names = [name for name, _ in self.axes]
        combinations = itertools.product(*self.values())
        return [dict(zip(names, values, strict=True)) for values in combinations]

    def values(self) -> list[tuple]:
        return [values for _, values in self.axes]

    def __len__(self) -> int:
        return math.prod(len(values) for _, values in self.axes)


def parse_grid(specs: Iterable[str]) -> Grid:
    """``["lr=0.01,0.1", "seed=0,1,2"]`` as a Grid; GridError names the bad part."""
    axes: list[tuple[str, tuple]] = []
    for spec in specs:
        where = f"--grid {spec}"
        name, equals, listed = spec.partition("=")
        name = name.strip()
        if not equals or not name:
            raise GridError(f"{where}: expected NAME=VALUE,VALUE..., e.g. lr=0.01,0.1")
        if any(name == seen for seen, _ in axes):
            raise GridError(f"{where}: {name} is given twice; list all its values in one --grid")
        values = tuple(read_value(name, text, where) for text in listed.split(","))
        repeated = [v for i, v in enumerate(values) if v in values[:i]]
        if repeated:
            raise GridError(f"{where}: {name}={repeated[0]!r} is listed twice")
        axes.append((name, values))
    return Grid(tuple(axes))


def parse_params(text: str, where: str = "--params") -> dict:
    """``"lr=0.1,seed=2"``: one value per parameter (``nnsim tui --params``)."""
    params: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, equals, value = part.partition("=")
        if not equals:
            raise GridError(f"{where} {text}: expected NAME=VALUE,..., e.g. lr=0.1,seed=2")
        if name.strip() in params:
            raise GridError(f"{where} {text}: {name.strip()} is given twice")
        params[name.strip()] = read_value(name.strip(), value, where)
    return params


def with_params(scenario, params: dict):
    """``scenario`` with a grid point's parameters; GridError (naming the parameter and the
    value) when one cannot apply. The seed and the number of iterations mean what `nnsim run
    --seed/--iterations` make them mean: the data stay those the file's seed made."""
    for name, value in params.items():
        try:
            scenario = _with(scenario, name, value)
        except (ScenarioError, ValueError) as err:
            raise GridError(f"{name}={value}: {err}") from None
    return scenario


def _with(scenario, name: str, value):
    if name in ("lr", "optimizer", "init"):
        return scenario.variant(**{name: value})
    if name == "activation":
        return scenario.variant(activation=tuple(value.split(":")))
    if name in ("seed", "iterations"):
        return replace(scenario, train=replace(scenario.train, **{name: value}))
    if name == "batch_size":
        return _with_batch_size(scenario, value)
    raise GridError(f"unknown parameter {name!r}")


def _with_batch_size(scenario, batch_size: int):
    """[train] batch_size set as a [[variants]] entry's [train] table sets it: the table read
    again and checked (the memory budget too), the data and model kept."""
    from ..scenario.checks import merge
    from ..scenario.network import read_scenario
    from ..scenario.schema import Table

    tables = merge(scenario.tables, {"train": {"batch_size": batch_size}})
    source = scenario.source
    edited = read_scenario(source, Table(source, [], tables), tables, scenario)
    train = replace(edited.train, seed=scenario.train.seed, iterations=scenario.train.iterations)
    return replace(scenario, train=train, tables=tables)
