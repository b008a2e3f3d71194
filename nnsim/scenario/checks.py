"""The grammar every kind of scenario (network, surface, GAN) shares: its [[variants]], which
change some of the lesson's tables, and its [[expect]] and [[breakpoints]] conditions, parsed
once and kept parsed.

A variant's table merges into the lesson's key by key, at every depth, except a table that
names its ``type`` (an optimiser, a loss) or its ``source`` (data): that one replaces the
lesson's, so { type = "adam", lr = 0.001 } is that Adam whatever the lesson's optimiser was.
A list (such as a model's layers) replaces the lesson's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..i18n import Localized
from ..sim.conditions import ConditionError, parse
from .schema import Source, Table
from .spec import Expectation

#: Keys of a network variant that rewrite its layers rather than merge a table.
REWRITES = ("replace_activation", "init")
#: Names a variant cannot take: the words of the condition language.
RESERVED = {"and", "or", "not", "true", "false", "loss", "accuracy", "iteration"}


def check_tables(source: Source, raw: dict, tables: Iterable[str], kind: str) -> None:
    tables = list(tables)
    for key in raw:
        if key not in tables:
            raise source.error(
                [key], f"{kind} scenario has no [{key}] table; its tables are {tables}"
            )


@dataclass(frozen=True)
class VariantEntry:
    """One [[variants]] entry: its name and title, the lesson's tables with its own merged in
    (``tables``), which tables it changes, and its other keys (``REWRITES``) as written."""

    index: int
    name: str
    title: Localized
    tables: dict
    changed: frozenset[str]
    rewrites: dict

    @property
    def keys(self) -> list:
        return ["variants", self.index]


def variant_entries(
    source: Source, raw: dict, changeable: Iterable[str], extra: Iterable[str] = ()
) -> list[VariantEntry]:
    """Every [[variants]] entry, read and merged; ``changeable`` are the tables a variant may
    change, ``extra`` the other keys this kind allows."""
    changeable, extra = tuple(changeable), tuple(extra)
    entries: list[VariantEntry] = []
    for i, entry in enumerate(Table(source, [], raw).get("variants", list, [])):
        table = Table(source, ["variants", i], entry)
        name = table.get("name", str)
        if not name.isidentifier() or name in RESERVED:
            raise table.error(
                "name", f"must be a plain name such as relu or no_shuffle, got {name!r}"
            )
        if any(e.name == name for e in entries):
            raise table.error("name", f"a second variant named {name!r}")
        title = table.localized("title", name)
        rewrites = {key: table.values[key] for key in extra if table.has(key)}
        table.taken |= set(rewrites)
        overrides = {key: table.get(key, dict) for key in changeable if table.has(key)}
        table.done(known=["name", "title", *extra, *changeable])
        base = {k: v for k, v in raw.items() if k in ("lesson", *changeable)}
        tables = merge(base, overrides)
        entries.append(VariantEntry(i, name, title, tables, frozenset(overrides), rewrites))
    return entries


def merge(base: dict, top: dict) -> dict:
    """``top`` merged into ``base`` (neither is changed): see the module's docstring."""
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict) and not _names_itself(value):
            merged[key] = merge(below, value)
        else:
            merged[key] = value
    return merged


def _names_itself(table: dict) -> bool:
    return "type" in table or "source" in table


def condition(
    table: Table,
    key: str,
    names: list[str],
    variants: dict[str, list[str]] | None = None,
    kind: str = "network",
    rename: Callable[[str], str] = lambda message: message,
):
    """(text, parsed condition) of ``table[key]``; a parse error names the column."""
    text = table.get(key, str)
    try:
        return text, parse(text, names, variants or None, kind=kind)
    except ConditionError as err:
        message = f"{rename(err.message)} at column {err.column} of {text!r}"
        raise table.error(key, message) from None


def breakpoints(source: Source, raw: dict, names: list[str], kind: str) -> tuple[str, ...]:
    """The [[breakpoints]] conditions' texts (checked here; the simulator keeps them parsed)."""
    found = []
    for i, entry in enumerate(Table(source, [], raw).get("breakpoints", list, [])):
        table = Table(source, ["breakpoints", i], entry)
        found.append(condition(table, "when", names, kind=kind)[0])
        table.done()
    return tuple(found)


def expectations(
    source: Source,
    raw: dict,
    names: list[str],
    variant_names: dict[str, list[str]],
    iterations: int,
    kind: str,
    rename: Callable[[str], str] = lambda message: message,
    validate: Callable[[str, Table], None] | None = None,
) -> tuple[Expectation, ...]:
    """The [[expect]] checks, parsed against ``names`` (and the variants' names). ``rename``
    words a parse error for this kind (optimisers, not layers); ``validate(text, table)``
    refuses what this kind cannot measure."""
    found = []
    for i, entry in enumerate(Table(source, [], raw).get("expect", list, [])):
        table = Table(source, ["expect", i], entry)
        text, parsed = condition(table, "check", names, variant_names, kind, rename)
        if validate is not None:
            validate(text, table)
        at = table.get("at", (str, int), "end")
        if at != "end" and parsed.uses_variants:
            raise table.error("at", "a check that compares variants is made at the end")
        if isinstance(at, str) and at != "end":
            raise table.error("at", f'expected "end" or an iteration number, got {at!r}')
        if isinstance(at, int) and not 1 <= at <= iterations:
            raise table.error("at", f"must be between 1 and the {iterations} iterations, got {at}")
        says = table.localized("says", "").map(lambda text: " ".join(text.split()))
        table.done()
        found.append(Expectation(text, None if at == "end" else at, parsed, says))
    return tuple(found)


def measured_every(eval_every: int) -> Callable[[str, Table], None]:
    """A network's check of validation measures: refused when nothing measures them."""

    def validate(text: str, table: Table) -> None:
        if eval_every == 0 and re.search(r"(?<![\w.])val_(loss|accuracy)\b", text):
            raise table.error(
                "check",
                "val_loss and val_accuracy are measured every [train] eval_every iterations, "
                "and eval_every is 0 (never): set it, e.g. eval_every = 10",
            )

    return validate
