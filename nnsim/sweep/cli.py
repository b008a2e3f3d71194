"""`nnsim sweep SCENARIO --grid lr=0.01,0.1 --grid seed=0,1,2 [--variants] [--json]
[--csv FILE] [--workers N] [--scheduler tcp://HOST:PORT]`: the arguments (nnsim/cli.py adds
them) and the command, which plans and checks the whole grid before any run starts."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

#: exit code after Ctrl-C, as a shell gives a command that SIGINT ended
CANCELLED = 130


def add_parser(sub, parents: list) -> argparse.ArgumentParser:
    sweep = sub.add_parser(
        "sweep",
        parents=parents,
        help="run a scenario over a grid of parameters, here or on a Dask cluster",
    )
    sweep.add_argument("scenario", help="a scenario file, or the name of a shipped lesson")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help="values of one parameter (repeatable): lr, optimizer, init, activation (OLD:NEW), "
        "batch_size, iterations, seed; every combination runs",
    )
    sweep.add_argument("--variants", action="store_true", help="run the lesson's variants too")
    sweep.add_argument("--json", action="store_true", help="print one JSON object")
    sweep.add_argument("--csv", metavar="FILE", help="also write the results as CSV to FILE")
    sweep.add_argument(
        "--workers",
        type=int,
        help="local worker processes (default: one per core, at most one per grid point)",
    )
    sweep.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on this Dask scheduler (pip install 'nnsim[cluster]')",
    )
    sweep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return sweep


def command(args) -> int:
    from ..cli import UsageError, load, show_progress
    from .params import GridError, parse_grid
    from .plan import plan_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise UsageError("--workers is for a local sweep; a cluster's workers are its own")
    if not args.grid and not args.variants:
        raise UsageError("give at least one --grid NAME=V1,V2 (or --variants)")
    scenario = load(args.scenario)
    try:
        plan = plan_sweep(scenario, parse_grid(args.grid), args.variants)
    except GridError as err:
        raise UsageError(str(err)) from None
    progress = _Progress(show_progress(args), len(plan), scenario.name)
    try:
        with progress:
            rows = run_sweep(plan, args.workers, args.scheduler, progress.advance)
    except KeyboardInterrupt:
        print(
            f"nnsim sweep: cancelled after {progress.done} of {len(plan)} runs; nothing written",
            file=sys.stderr,
        )
        return CANCELLED
    if args.csv:
        write_csv(args.csv, plan, rows)
    if args.json:
        print(json.dumps(as_json(plan, rows), allow_nan=False))
    else:
        from ..cli import console

        console().print(results_table(plan, rows))
    return 0


class _Progress:
    """A progress bar of the sweep's runs on stderr (a terminal only)."""

    def __init__(self, enabled: bool, total: int, name: str) -> None:
        self.done, self.bars, self.task = 0, None, None
        if enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            from ..cli import console

            self.bars = Progress(
                TextColumn(f"sweep {name}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console(True),
                transient=True,
            )
            self.task = self.bars.add_task("runs", total=total)

    def __enter__(self):
        if self.bars is not None:
            self.bars.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bars.__exit__(*exc) if self.bars is not None else False

    def advance(self, index: int, rows: list) -> None:
        self.done += len(rows)
        if self.bars is not None:
            self.bars.update(self.task, completed=self.done)


def as_json(plan, rows: list[dict]) -> dict:
    scenario = plan.scenario
    return {
        "scenario": scenario.name,
        "path": str(scenario.path),
        "grid": {name: list(values) for name, values in plan.grid.axes},
        "variants": plan.variants,
        "runs": rows,
    }


def _checks(row: dict) -> tuple[int, int, int, list[str]]:
    """(passed, failed, not judged, the failed checks' texts) of a row."""
    expect = row["expect"]
    failed = [e["check"] for e in expect if e["passed"] is False]
    passed = sum(e["passed"] is True for e in expect)
    return passed, len(failed), sum(e["passed"] is None for e in expect), failed


def _verdicts(row: dict) -> str:
    """The layers whose verdict is not healthy, or "healthy"."""
    unwell = [f"{name} {v}" for name, v in row["verdicts"].items() if v != "healthy"]
    if not unwell:
        return "healthy"
    return ", ".join(unwell[:3]) + (f" +{len(unwell) - 3} more" if len(unwell) > 3 else "")


def _number(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def results_table(plan, rows: list[dict]):
    from rich.table import Table

    names = [name for name, _ in plan.grid.axes]
    table = Table(title=f"sweep of {plan.scenario.name}: {len(rows)} runs", title_justify="left")
    table.add_column("#", justify="right")
    for name in names:
        table.add_column(name)
    if plan.variants:
        table.add_column("variant")
    for label in ("final loss", "train acc.", "val acc."):
        table.add_column(label, justify="right")
    table.add_column("verdicts")
    table.add_column("checks")
    for row in rows:
        cells = [str(row["run"]), *(str(row["params"][n]) for n in names)]
        if plan.variants:
            cells.append(row["variant"] or "(lesson)")
        cells += [_number(row[k]) for k in ("final_loss", "train_accuracy", "val_accuracy")]
        cells += [_verdicts(row), _checks_cell(row)]
        table.add_row(*cells)
    return table


def _checks_cell(row: dict) -> str:
    if not row["expect"]:
        return "-"
    passed, failed, unjudged, which = _checks(row)
    cell = f"{passed}/{passed + failed} passed"
    if unjudged:
        cell += f", {unjudged} not judged"
    if which:
        cell += "; failed: " + "; ".join(which)
    return cell


CSV_RESULTS = ("final_loss", "train_accuracy", "val_accuracy", "batch_accuracy", "iterations")


def write_csv(path: str, plan, rows: list[dict]) -> None:
    """One line per run: its number, parameters, variant, results, verdicts and checks."""
    from ..atomic import write_atomically

    names = [name for name, _ in plan.grid.axes]
    text = io.StringIO()
    out = csv.writer(text)
    header = ["run", *names, "variant", *CSV_RESULTS, "verdicts", "passed", "failed"]
    out.writerow([*header, "not_judged", "failed_checks"])
    for row in rows:
        passed, failed, unjudged, which = _checks(row)
        results = ["" if row[k] is None else row[k] for k in CSV_RESULTS]
        params = [row["params"][n] for n in names]
        checks = [_verdicts(row), passed, failed, unjudged, "; ".join(which)]
        out.writerow([row["run"], *params, row["variant"] or "", *results, *checks])
    write_atomically(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
