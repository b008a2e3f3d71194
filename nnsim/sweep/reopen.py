"""Opening one run of a sweep in the interface, to step through it: `nnsim tui SCENARIO
--params lr=0.1,seed=2`, or `nnsim tui --from-sweep results.json --run 3` (the run's number in
the sweep's table). The same parameters give the same run: its seed is among them, or the
scenario's."""

from __future__ import annotations

import json
from pathlib import Path

from .params import GridError, parse_params, read_value, with_params


class SweptLesson:
    """A lesson with a sweep's parameters (and perhaps one of its variants), made when called:
    the interface opens it in a worker thread, as it does a scenario file."""

    def __init__(self, scenario: str, params: dict, variant: str | None = None) -> None:
        self.scenario, self.params, self.variant = scenario, params, variant

    def __str__(self) -> str:
        given = ", ".join(f"{name}={value}" for name, value in self.params.items())
        variant = f", variant {self.variant}" if self.variant else ""
        return f"{Path(self.scenario).stem} with {given or 'its own settings'}{variant}"

    def __call__(self):
        """The scenario to open; ValueError (the interface shows it) when a parameter cannot
        apply or the variant is not the lesson's."""
        from ..scenario import load

        lesson = load(self.scenario)
        if self.variant is not None:
            if self.variant not in getattr(lesson, "variants", {}):
                raise ValueError(f"{lesson.name} has no variant {self.variant!r}")
            lesson = lesson.variants[self.variant]
        return with_params(lesson, self.params)


def swept_lesson(
    scenario: str | None, params: str | None, from_sweep: str | None, run: int | None
) -> SweptLesson:
    """What `nnsim tui` opens for --params or --from-sweep/--run; UsageError names a mistake
    in the arguments before the interface starts."""
    from ..cli import UsageError, resolve

    try:
        if from_sweep is None:
            if run is not None:
                raise UsageError("--run N goes with --from-sweep FILE")
            if scenario is None:
                raise UsageError("--params needs a scenario: nnsim tui SCENARIO --params ...")
            return SweptLesson(str(resolve(scenario)), parse_params(params or ""))
        if params is not None:
            raise UsageError("give --params or --from-sweep FILE --run N, not both")
        row, path = _sweep_run(from_sweep, run)
        lesson = str(resolve(scenario or path))
        where = f"--from-sweep {from_sweep} --run {run}"
        chosen = {name: read_value(name, str(v), where) for name, v in row["params"].items()}
        return SweptLesson(lesson, chosen, row.get("variant"))
    except GridError as err:
        raise UsageError(str(err)) from None


def _sweep_run(file: str, run: int | None) -> tuple[dict, str]:
    """The row numbered ``run`` of a sweep's --json results, and its scenario's path."""
    from ..cli import UsageError

    if run is None:
        raise UsageError("--from-sweep FILE needs --run N (a run's number in the sweep's table)")
    try:
        results = json.loads(Path(file).read_text(encoding="utf-8"))
        runs, path = results["runs"], results.get("path") or results["scenario"]
        rows = {row["run"]: row for row in runs}
    except OSError as err:
        raise UsageError(f"--from-sweep {file}: cannot be read: {err}") from None
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(
            f"--from-sweep {file}: not the output of `nnsim sweep --json` ({err})"
        ) from None
    if run not in rows:
        raise UsageError(f"--from-sweep {file}: no run {run}; its runs are 1 to {len(runs)}")
    return rows[run], path
