"""What the scenario kinds without one network (optimiser races, GANs) share: their
[[variants]], which merge tables into the lesson's, and their [[expect]] checks."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ..sim.conditions import ConditionError, parse
from .schema import Source, Table


@dataclass
class Expectation:
    check: str
    at: int | None  # None: at the end of the run


def check_tables(source: Source, raw: dict, tables: tuple[str, ...], kind: str) -> None:
    for key in raw:
        if key not in tables:
            raise source.error(
                [key], f"{kind} scenario has no [{key}] table; its tables are {list(tables)}"
            )


def variants(
    source: Source, raw: dict, changeable: tuple[str, ...]
) -> Iterator[tuple[str, str, Table]]:
    """(name, title, the merged tables) of every [[variants]] entry: each of its tables
    (only ``changeable`` ones) merged key by key into a copy of the lesson's."""
    seen = set()
    for i, entry in enumerate(Table(source, [], raw).get("variants", list, [])):
        table = Table(source, ["variants", i], entry)
        name = table.get("name", str)
        if not name.isidentifier():
            raise table.error("name", f"must be an identifier, got {name!r}")
        if name in seen:
            raise table.error("name", f"a second variant named {name!r}")
        seen.add(name)
        title = table.get("title", str, name)
        merged = copy.deepcopy(raw)
        for key, value in entry.items():
            if key in ("name", "title"):
                continue
            if key not in changeable or not isinstance(value, dict):
                raise table.error(
                    key, f"a variant here changes the {' or '.join(changeable)} table"
                )
            merged[key] = {**merged.get(key, {}), **value}
        yield name, title, Table(source, ["variants", i], merged)


def expectations(
    source: Source,
    raw: dict,
    names: list[str],
    variant_names: dict[str, list[str]],
    iterations: int,
    rename: Callable[[str], str] = lambda message: message,
    kind: str = "network",
) -> list[Expectation]:
    """The [[expect]] checks, parsed against ``names`` (and the variants' names); ``rename``
    words a parse error for this kind (optimisers, not layers)."""
    found = []
    for i, entry in enumerate(Table(source, [], raw).get("expect", list, [])):
        table = Table(source, ["expect", i], entry)
        check = table.get("check", str)
        try:
            condition = parse(check, names, variant_names or None, kind=kind)
        except ConditionError as err:
            message = f"{rename(err.message)} at column {err.column} of {check!r}"
            raise table.error("check", message) from None
        at = table.get("at", int, None)
        if at is not None and condition.uses_variants:
            raise table.error("at", "a check that compares variants is made at the end")
        if at is not None and not 1 <= at <= iterations:
            raise table.error("at", f"must be between 1 and the {iterations} iterations")
        table.done()
        found.append(Expectation(check, at))
    return found
