"""One registry of everything a condition, a table or the help can name: the metrics of a
layer (``grad_norm(dense1)``), of the whole model (``nonfinite()``) and the plain variables
(``loss``).

An entry says which scenario kinds answer it ("network", "surface", "gan"), what refreshes
it (so a breakpoint is re-evaluated only when its value can have changed), the function that
computes it for each kind, and a one-line doc. The modules that own a kind of run register
their own entries (``nnsim.sim.probes`` for networks, ``nnsim.sim.gan``, ``nnsim.sim.surface``);
they are imported the first time the registry is read, so that the parser knows every name
whichever run was built first.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

KINDS = ("network", "surface", "gan")
SCOPES = ("layer", "model", "variable")
REFRESH = ("gradient", "weight", "activation", "batch", "loss", "validation", "any")
#: How a message names the scenarios of each kind (the table that marks them).
KIND_LABELS = {
    "network": "network scenarios ([model])",
    "surface": "optimiser-race scenarios ([surface])",
    "gan": "GAN scenarios ([gan])",
}
_KIND_NOUNS = {"network": "a network", "surface": "an optimiser-race", "gan": "a GAN"}
_PLUGINS = ("nnsim.sim.probes", "nnsim.sim.gan", "nnsim.sim.surface")


@dataclass
class Entry:
    """One name of the condition language; ``answers`` maps a scenario kind to the function
    computing the value on a run of that kind: ``f(run, layer)`` for a layer metric, ``f(run)``
    otherwise."""

    name: str
    scope: str
    refresh: str
    doc: str
    boolean: bool = False
    answers: dict[str, Callable] = field(default_factory=dict)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if k in self.answers)

    @property
    def written(self) -> str:
        """How a condition writes it: ``grad_norm(layer)``, ``distance(optimiser)`` (a race
        names its optimisers where a network names layers), ``nonfinite()``, ``loss``."""
        part = "optimiser" if self.kinds == ("surface",) else "layer"
        return {"layer": f"{self.name}({part})", "model": f"{self.name}()"}.get(
            self.scope, self.name
        )


class Unanswerable(KeyError):
    """A run asked for a value its kind does not measure (a condition parsed for another kind
    of scenario); the parser refuses such conditions at load, so this is a program error."""

    def __str__(self) -> str:
        return str(self.args[0])


_ENTRIES: dict[tuple[str, str], Entry] = {}
_loaded = False


def register(
    name: str,
    scope: str,
    kinds: str | Iterable[str],
    refresh: str,
    doc: str,
    function: Callable,
    *,
    boolean: bool = False,
) -> None:
    """Say that scenarios of ``kinds`` answer ``name`` with ``function``. A name registered
    again (``nonfinite()`` by every kind) keeps its first doc; its refresh and type must agree."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if refresh not in REFRESH:
        raise ValueError(f"refresh must be one of {REFRESH}, got {refresh!r}")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {KINDS}, got {kinds!r}")
    if not doc.strip():
        raise ValueError(f"{name}: every entry has a one-line doc")
    entry = _ENTRIES.setdefault((scope, name), Entry(name, scope, refresh, doc, boolean))
    if entry.refresh != refresh or entry.boolean != boolean:
        raise ValueError(f"{entry.written} is registered again with another refresh or type")
    for kind in kinds:
        if kind in entry.answers and entry.answers[kind] is not function:
            raise ValueError(f"{entry.written} is registered twice for {kind} scenarios")
        entry.answers[kind] = function


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True  # before the imports: they call register
        for module in _PLUGINS:
            importlib.import_module(module)


def lookup(scope: str, name: str) -> Entry | None:
    _load()
    return _ENTRIES.get((scope, name))


def entries(scope: str | None = None, kind: str | None = None) -> list[Entry]:
    """The entries of one scope (or all), answered by ``kind`` (or by any kind), by name."""
    _load()
    found = [
        e
        for e in _ENTRIES.values()
        if (scope is None or e.scope == scope) and (kind is None or kind in e.answers)
    ]
    return sorted(found, key=lambda e: (SCOPES.index(e.scope), e.name))


def names(scope: str, kind: str | None = None) -> dict[str, str]:
    """{name: refresh} of a scope's entries (answered by ``kind`` if given)."""
    return {e.name: e.refresh for e in entries(scope, kind)}


def answer(run, kind: str, scope: str, name: str, layer: str | None = None) -> float | bool:
    """The value of ``name`` on ``run``, a run of scenario ``kind``; Unanswerable (a KeyError)
    for a name its kind does not measure, never another value in its place."""
    entry = _ENTRIES.get((scope, name)) if _loaded else lookup(scope, name)
    function = None if entry is None else entry.answers.get(kind)
    if function is None:
        raise Unanswerable(refusal(scope, name, kind))
    return function(run, layer) if scope == "layer" else function(run)


def refusal(scope: str, name: str, kind: str) -> str:
    """Why ``kind`` cannot answer ``name``, with the closest name it does answer."""
    entry = lookup(scope, name)
    if entry is None or not entry.answers:
        message = f"unknown {'variable' if scope == 'variable' else 'metric'} {name!r}"
    else:
        where = " or ".join(KIND_LABELS[k] for k in entry.kinds)
        message = f"{entry.written} is measured in {where}; this is {_KIND_NOUNS[kind]} scenario"
    return message + did_you_mean(name, answered(scope, kind))


def answered(scope: str, kind: str) -> list[str]:
    """The names ``kind`` answers that are written like ``scope``'s: metrics (layer and
    model) or variables."""
    scopes = ("variable",) if scope == "variable" else ("layer", "model")
    return sorted({e.name for s in scopes for e in entries(s, kind)})


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """The "did you mean" of a message: the closest of ``known``, or the list when short."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    if 0 < len(known) <= 12:
        return f"; known: {', '.join(known)}"
    return ""


# ---------------------------------------------------------------- tables for help and the CLI


def metric_rows(kind: str | None = None) -> list[dict]:
    """Every entry (answered by ``kind`` if given) as a row: name, written (how a condition
    writes it: ``grad_norm(layer)``), scope, kinds (a list), refresh, doc."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return [
        {
            "name": e.name,
            "written": e.written,
            "scope": e.scope,
            "kinds": list(e.kinds),
            "refresh": e.refresh,
            "doc": e.doc,
        }
        for e in entries(None, kind)
    ]


def metric_table(kind: str | None = None, markdown: bool = True) -> str:
    """The rows of ``metric_rows`` as a Markdown table, or as aligned plain text."""
    header = ("name", "scope", "kinds", "doc")
    cells = [
        (row["written"], row["scope"], ", ".join(row["kinds"]), row["doc"])
        for row in metric_rows(kind)
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for written, *rest in cells:
            escaped = [f"`{written}`", *(c.replace("|", "\\|") for c in rest)]
            lines.append("| " + " | ".join(escaped) + " |")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *cells]:
        padded = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)
