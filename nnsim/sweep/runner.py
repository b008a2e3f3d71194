"""One task of a sweep, as a worker runs it (a local process or a Dask worker): the scenario's
text and path, a grid point's parameters, and whether the lesson's variants run too. Its result
is plain data (lists and dicts of numbers and strings), the same wherever it ran: each run is
seeded by its own parameters only, so the order in which tasks finish changes nothing.
"""

from __future__ import annotations

import functools
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..session.lesson import ExpectationResult, condition_of, run_lesson
from .params import with_params

#: what `nnsim run --json` reports of each run, in its words
RESULTS = ("final_loss", "train_accuracy", "val_accuracy", "batch_accuracy")
#: why a check comparing the lesson's variants has no verdict in a sweep without them
NOT_JUDGED = "not judged: the check compares the lesson's variants (sweep with --variants)"


@dataclass(frozen=True)
class SweepTask:
    """What a worker needs: the scenario as text (its path resolves files it names), one
    grid point, and whether to run the lesson's variants with it."""

    path: str
    text: str
    params: dict = field(default_factory=dict)
    variants: bool = False
    language: str = "en"


def run_task(task: SweepTask) -> list[dict]:
    """The rows of one grid point: the lesson's run first, then (with ``variants``) each
    variant's in the lesson's order. The lesson's checks are judged as `nnsim run` judges
    them, with breakpoints run through."""
    from ..i18n import set_language

    set_language(task.language)
    lesson = with_params(_scenario(task.path, task.text), task.params)
    skipped: set[int] = set()
    if task.variants:
        variants = {name: with_params(v, task.params) for name, v in lesson.variants.items()}
        scenario = replace(lesson, variants=variants)
    else:
        skipped = {i for i, e in enumerate(lesson.expectations) if _compares_variants(e)}
        kept = tuple(e for i, e in enumerate(lesson.expectations) if i not in skipped)
        scenario = replace(lesson, variants={}, expectations=kept)
    result = run_lesson(scenario, breakpoints=False)
    judged = iter(result.expectations)
    expectations = [
        ExpectationResult(e.check, None, None, NOT_JUDGED, e.at, e.says)
        if i in skipped
        else next(judged)
        for i, e in enumerate(lesson.expectations)
    ]
    reports = result.runs.reports(lesson.name)
    sims = [result.main, *result.runs.variants.values()]
    names = [None, *result.runs.variants]
    return [
        _row(task.params, name, sim, report.as_dict(), expectations if name is None else [])
        for name, sim, report in zip(names, sims, reports, strict=True)
    ]


def _row(params: dict, variant: str | None, sim, report: dict, expectations: list) -> dict:
    stopped = getattr(sim, "stopped", None)
    return {
        "params": dict(params),
        "variant": variant,
        "iterations": sim.completed,
        **{key: _plain(report[key]) for key in RESULTS},
        "stopped": None if stopped is None else stopped.as_dict(),
        "verdicts": {name: values["verdict"] for name, values in sim.latest.items()},
        "expect": [_expectation(r) for r in expectations],
    }


def _plain(value: float | None) -> float | None:
    """A NumPy scalar as a Python float: rows are plain data wherever they are read."""
    return None if value is None else float(value)


def _expectation(result: ExpectationResult) -> dict:
    """`nnsim run --json`'s form of a check, but ``passed`` is null (not false) for a check
    that was not judged, so that a count of failures counts only real ones."""
    out = result.as_dict()
    if result.passed is None:
        out["passed"] = None
    return out


def _compares_variants(expectation) -> bool:
    return bool(getattr(condition_of(expectation), "uses_variants", False))


@functools.lru_cache(maxsize=4)
def _scenario(path: str, text: str):
    """The scenario of ``text``, read once per worker (runs never change a scenario: the
    interface re-runs the same one). The file at ``path`` is used when it holds the same
    text; otherwise the text is read as if it were there (a cluster's worker may lack it)."""
    from ..scenario import load

    file = Path(path)
    try:
        if file.is_file() and file.read_text(encoding="utf-8") == text:
            return load(file)
    except OSError:
        pass
    return _from_text(file, text)


def _from_text(path: Path, text: str):
    import tomllib

    from ..scenario.network import load_network
    from ..scenario.schema import Source

    return load_network(Source(path, text), tomllib.loads(text))


def quiet_worker() -> None:
    """A local worker leaves Ctrl-C to the parent, which cancels the sweep and ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
