"""`nnsim run` and `nnsim verify`: a lesson's runs through the Session's ``run_lesson``,
reported as tables and charts, or as JSON; traces and weights written on request."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .cli import UsageError, console, load, resolve, show_progress
from .i18n import _
from .interop import cli as interop_cli
from .scenario import SAMPLES, shipped_lessons
from .session.lesson import finite


class _ProgressBars:
    """One rich progress bar per run of a lesson (its own, then each variant's)."""

    def __init__(self, enabled: bool) -> None:
        self.bars, self.tasks = None, {}
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bars = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console(True),
            )

    def __enter__(self):
        if self.bars is not None:
            self.bars.__enter__()
        return self.update if self.bars is not None else None

    def __exit__(self, *exc):
        return self.bars.__exit__(*exc) if self.bars is not None else False

    def update(self, label: str, done: int, total: int) -> None:
        if label not in self.tasks:
            self.tasks[label] = self.bars.add_task(label, total=total)
        self.bars.update(self.tasks[label], completed=done, total=total)


def run_with_progress(scenario, args, **options):
    """``run_lesson`` with a progress bar on a terminal; --watch errors are usage errors."""
    from .session.lesson import WatchError, run_lesson

    try:
        with _ProgressBars(show_progress(args)) as progress:
            return run_lesson(scenario, progress=progress, **options)
    except WatchError as err:
        raise UsageError(f"--{err}") from None


def run_command(args) -> int:
    scenario = interop_cli.scenario_for_run(args, load)  # a lesson, or --model with --data
    if args.iterations is not None and args.iterations < 0:
        message = _("--iterations must be >= 0, got {n}")
        raise UsageError(message.format(n=args.iterations))
    if scenario.kind != "network" and (args.save or args.watch):
        if scenario.kind == "surface":
            raise UsageError(_("--save and --watch are for network scenarios, not optimiser races"))
        raise UsageError(_("--save and --watch are for network scenarios, not GANs"))
    result = run_with_progress(
        scenario,
        args,
        iterations=args.iterations,
        seed=args.seed,
        breakpoints=not args.ignore_breakpoints,
        watches=tuple(args.watch),
    )
    written = write_traces(args.trace, result) if args.trace else []
    expectations = [r.as_dict() for r in result.expectations]
    if scenario.kind in ("surface", "gan"):
        return _report_game(args, scenario, result, expectations)
    sim = result.main
    if args.save:
        from .checkpoint import save

        save(args.save, sim.model, sim.optimizer)
    interop_cli.save_after_run(args, sim)  # --save-torch
    reports = result.runs.reports(scenario.name)
    if args.json:
        report = {
            "scenario": scenario.name,
            "iterations": sim.completed,
            "final_loss": finite(sim.loss_value),
            "stopped": None if sim.stopped is None else sim.stopped.as_dict(),
            "layers": [
                {
                    "name": name,
                    "grad_norm": finite(values["grad_norm"]),
                    "weight_norm": finite(values["weight_norm"]),
                    "verdict": values["verdict"],
                }
                for name, values in sim.latest.items()
            ],
            "runs": [r.as_dict() for r in reports],
        }
        if args.watch:
            report["watches"] = {
                text: finite(_number(value)) for text, value in sim.watch_values().items()
            }
        if scenario.expectations:
            report["expect"] = expectations
        report |= _prediction(scenario, result)
        print(json.dumps(report, allow_nan=False))
        for path in written[1:]:  # the variants' traces, beside the one asked for
            print("nnsim run: " + _("trace written to {path}").format(path=path), file=sys.stderr)
    else:
        from .report import print_prediction, print_run, print_variants

        out = console()
        print_run(out, scenario, sim, expectations, reports[0])
        if scenario.variants:
            print_variants(out, scenario, result.runs, reports)
        _say_where_it_stopped(out, result)
        if _prediction(scenario, result):
            print_prediction(out, scenario.lesson)
        for path in written:
            out.print(_("trace written to {path}").format(path=path))
    return 1 if result.failed else 0


def _prediction(scenario, result) -> dict:
    """The lesson's question and answer for a report, once its run has finished (a
    breakpoint or a cancel leaves the question open)."""
    if not scenario.lesson.predict or result.stopped_early or result.cancelled:
        return {}
    return {"prediction": {"question": scenario.lesson.predict, "answer": scenario.lesson.answer}}


def _say_where_it_stopped(out, result) -> None:
    if not result.stopped_early:
        return
    sim = result.main
    unreached = sum(r.passed is None for r in result.expectations)
    stopped = _("Stopped at iteration {n} of {total}")
    where = stopped.format(n=sim.completed, total=sim.iterations)
    if unreached:
        tail = _(
            "{stop}. {count} end-of-run check(s) not reached. --ignore-breakpoints runs through."
        )
        tail = tail.format(stop=sim.stopped, count=unreached)
    else:
        tail = _("{stop}. --ignore-breakpoints runs through.").format(stop=sim.stopped)
    out.print(f"[bold yellow]{where}[/]: {tail}")


def write_traces(path: str, result) -> list[str]:
    """The lesson's trace to ``path`` and each variant's beside it (``FILE.<variant>.csv``);
    returns the files written."""
    target = Path(path)
    runs = [("", result.main), *result.runs.variants.items()]
    written = []
    for name, run in runs:
        trace = getattr(run, "trace", None)
        if trace is None:
            message = _("--trace: {kind} runs keep no trace")
            raise UsageError(message.format(kind=type(run).__name__))
        out = target if not name else target.with_name(f"{target.stem}.{name}{target.suffix}")
        trace.export(out)
        written.append(str(out))
    return written


def _number(value):
    return float(value) if not isinstance(value, bool) else value


def _surface_summary(run) -> dict:
    return {
        "optimizers": {
            name: {
                "point": [finite(float(v)) for v in run.path(name)[-1]],
                "distance": finite(run.distance(name)),
                "diverged_at": run.diverged.get(name),
            }
            for name in run.names
        }
    }


def _gan_summary(run) -> dict:
    measures = ("w_distance", "d_accuracy", "gen_mean", "gen_std")
    return {
        **{m: finite(run.model_metric(m)) for m in measures},
        "d_loss": finite(run.d_loss),
        "g_loss": finite(run.g_loss),
    }


def _report_game(args, scenario, result, expectations) -> int:
    """`nnsim run` on an optimiser race or a GAN: its summary (JSON) or its drawing."""
    from .report import print_gan_run, print_prediction, print_surface_run

    run = result.main
    if args.json:
        summary = _surface_summary if scenario.kind == "surface" else _gan_summary
        report = {"scenario": scenario.name, "iterations": run.completed, **summary(run)}
        if expectations:
            report["expect"] = expectations
        print(json.dumps(report | _prediction(scenario, result), allow_nan=False))
    else:
        printer = print_surface_run if scenario.kind == "surface" else print_gan_run
        out = console()
        printer(out, scenario, run, expectations)
        if _prediction(scenario, result):
            print_prediction(out, scenario.lesson)
    return 1 if result.failed else 0


def verify_command(args) -> int:
    paths = [resolve(s) for s in args.scenarios] or shipped_lessons()
    if not paths:
        raise UsageError(
            _("no lessons to verify: {folder} holds no .toml files").format(folder=SAMPLES)
        )
    from .scenario import load as load_scenario

    rows, failed = [], False
    for path in paths:
        scenario = load_scenario(path)
        start = time.perf_counter()
        result = run_with_progress(scenario, args, breakpoints=False)
        seconds = time.perf_counter() - start
        expectations = [r.as_dict() for r in result.expectations]
        if not expectations:
            expectations = [{"check": "(no expectations)", "passed": False, "value": None}]
        for e in expectations:
            failed |= not e["passed"]
            rows.append({"lesson": scenario.name, "seconds": round(seconds, 2), **e})
    if args.json:
        print(json.dumps(rows, allow_nan=False))
    else:
        from .report import print_verify

        print_verify(console(), rows)
    return 1 if failed else 0
