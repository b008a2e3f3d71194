"""The ``nnsim`` command: run scenarios headless, verify lessons, summarise models.

Exit codes: 0 success; 1 a check failed (an expectation, a gradient check); 2 bad input, with
a one-paragraph message on stderr (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import __version__
from .scenario import SAMPLES, ScenarioError, find, shipped_lessons
from .session.lesson import finite

GRADCHECK_TOLERANCE = 1e-4  # worst relative error allowed by `nnsim gradcheck`


class UsageError(Exception):
    """Bad input from the command line: reported on stderr with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnsim",
        description="Watch deep learning happen: step through training one layer at a time.",
    )
    parser.add_argument("--version", action="version", version=f"nnsim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="train a scenario headless and report its diagnostics")
    run.add_argument("scenario", help="a scenario file, or the name of a shipped lesson")
    run.add_argument("--iterations", type=int, help="override [train] iterations")
    run.add_argument("--seed", type=int, help="override [train] seed")
    run.add_argument(
        "--trace",
        metavar="FILE",
        help="write the trace to FILE.csv, FILE.npz or FILE.jsonl (each variant's beside it, "
        "as FILE.<variant>.csv)",
    )
    run.add_argument(
        "--ignore-breakpoints",
        action="store_true",
        help="run through the scenario's breakpoints (by default the run stops at the first)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument("--save", metavar="FILE", help="save the final weights to FILE.npz")
    run.add_argument(
        "--watch",
        action="append",
        default=[],
        metavar="EXPR",
        help="an expression to record after every iteration, e.g. 'grad_norm(dense1)' "
        "(repeatable; a column of the trace, summarised at the end)",
    )

    verify = sub.add_parser("verify", help="run lessons and check their [[expect]] blocks")
    verify.add_argument("scenarios", nargs="*", help="default: every shipped lesson")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--no-progress", action="store_true")

    summary = sub.add_parser("summary", help="per-layer shapes, parameters, receptive field, FLOPs")
    summary.add_argument("scenario", nargs="?")
    summary.add_argument("--arch", help="a classic architecture: lenet5, alexnet, ... resnet34")
    summary.add_argument("--json", action="store_true")

    tui = sub.add_parser("tui", help="open the terminal interface on a scenario (the default)")
    tui.add_argument("scenario", nargs="?")

    lessons = sub.add_parser("lessons", help="list the shipped lessons")
    lessons.add_argument("--json", action="store_true")

    gradcheck = sub.add_parser("gradcheck", help="finite-difference check of a scenario's model")
    gradcheck.add_argument("scenario")
    gradcheck.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ScenarioError, ValueError, KeyError, OSError) as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"nnsim {args.command}: {message}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- shared helpers


def resolve(name: str) -> Path:
    """A scenario path, or the file of a shipped lesson called ``name``."""
    try:
        return find(name)
    except ScenarioError as err:
        hint = err.message.split("lesson", 1)[1] or " (see `nnsim lessons`)"
        raise UsageError(
            f"{name!r} is neither a scenario file nor a shipped lesson{hint}"
        ) from None


def load(name: str):
    from .scenario import load as load_scenario

    return load_scenario(resolve(name))


def console(stderr: bool = False):
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:  # a pipe or a log file: no need to squeeze into 80 columns
        out = Console(stderr=stderr, highlight=False, width=max(out.width, 110))
    return out


def show_progress(args) -> bool:
    return not (getattr(args, "json", False) or args.no_progress) and sys.stderr.isatty()


# ---------------------------------------------------------------- running


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


def cmd_run(args) -> int:
    scenario = load(args.scenario)
    if args.iterations is not None and args.iterations < 0:
        raise UsageError(f"--iterations must be >= 0, got {args.iterations}")
    if scenario.kind != "network" and (args.save or args.watch):
        what = {"surface": "optimiser races", "gan": "GANs"}[scenario.kind]
        raise UsageError(f"--save and --watch are for network scenarios, not {what}")
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
        }
        if args.watch:
            report["watches"] = {
                text: finite(_number(value)) for text, value in sim.watch_values().items()
            }
        if scenario.expectations:
            report["expect"] = expectations
        print(json.dumps(report, allow_nan=False))
        for path in written[1:]:  # the variants' traces, beside the one asked for
            print(f"nnsim run: trace written to {path}", file=sys.stderr)
    else:
        from .report import print_run, print_variants

        out = console()
        print_run(out, scenario, sim, expectations)
        if scenario.variants:
            print_variants(out, scenario, result.runs)
        _say_where_it_stopped(out, result)
        for path in written:
            out.print(f"trace written to {path}")
    return 1 if result.failed else 0


def _say_where_it_stopped(out, result) -> None:
    if not result.stopped_early:
        return
    sim = result.main
    unreached = sum(r.passed is None for r in result.expectations)
    out.print(
        f"[bold yellow]Stopped at iteration {sim.completed} of {sim.iterations}[/]: "
        f"{sim.stopped}. "
        + (f"{unreached} end-of-run check(s) not reached. " if unreached else "")
        + "--ignore-breakpoints runs through."
    )


def write_traces(path: str, result) -> list[str]:
    """The lesson's trace to ``path`` and each variant's beside it (``FILE.<variant>.csv``);
    returns the files written."""
    target = Path(path)
    runs = [("", result.main), *result.runs.variants.items()]
    written = []
    for name, run in runs:
        trace = getattr(run, "trace", None)
        if trace is None:
            raise UsageError(f"--trace: {type(run).__name__} runs keep no trace")
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
    from .report import print_gan_run, print_surface_run

    run = result.main
    if args.json:
        summary = _surface_summary if scenario.kind == "surface" else _gan_summary
        report = {"scenario": scenario.name, "iterations": run.completed, **summary(run)}
        if expectations:
            report["expect"] = expectations
        print(json.dumps(report, allow_nan=False))
    else:
        printer = print_surface_run if scenario.kind == "surface" else print_gan_run
        printer(console(), scenario, run, expectations)
    return 1 if result.failed else 0


def cmd_verify(args) -> int:
    paths = [resolve(s) for s in args.scenarios] or shipped_lessons()
    if not paths:
        raise UsageError(f"no lessons to verify: {SAMPLES} holds no .toml files")
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


def cmd_summary(args) -> int:
    from . import architectures

    if args.arch and args.scenario:
        raise UsageError("give a scenario or --arch NAME, not both")
    if args.arch:
        if args.arch not in architectures.ARCHITECTURES:
            names = ", ".join(architectures.ARCHITECTURES)
            raise UsageError(f"unknown architecture {args.arch!r}; choose one of {names}")
        model = architectures.ARCHITECTURES[args.arch]()
    elif args.scenario:
        model = _network(load(args.scenario), "summary").build_model()
    else:
        raise UsageError("give a scenario or --arch NAME")
    summary = model.summary()
    if args.json:
        layers = [
            {
                "name": r["name"],
                "type": r["type"],
                "output_shape": list(r["output_shape"]),
                "params": r["params"],
                "receptive_field": None
                if r["receptive_field"] is None
                else list(r["receptive_field"]),
                "flops": r["flops"],
            }
            for r in summary.rows
        ]
        print(json.dumps({"total_params": summary.totals["params"], "layers": layers}))
    else:
        print(summary)
    return 0


def _network(scenario, command: str):
    """``scenario`` if it trains a network; an optimiser race has none to inspect."""
    kind = scenario.kind
    if kind == "surface":
        raise UsageError(
            f"{scenario.name} races optimisers on a 2-D surface: it has no network for "
            f"`nnsim {command}` (try `nnsim run {scenario.name}`)"
        )
    if kind == "gan":
        raise UsageError(
            f"{scenario.name} trains two networks against each other: `nnsim {command}` "
            f"takes a one-network scenario (try `nnsim run {scenario.name}`)"
        )
    return scenario


def cmd_lessons(args) -> int:
    import tomllib

    from .scenario import lesson_sections

    entries = []
    for section, paths in lesson_sections():
        for path in paths:
            with path.open("rb") as handle:
                title = tomllib.load(handle).get("lesson", {}).get("title", path.stem)
            entries.append(
                {"name": path.stem, "title": title, "path": str(path), "section": section}
            )
    if args.json:
        print(json.dumps(entries))
    else:
        section = None
        for entry in entries:
            if entry["section"] != section:
                section = entry["section"]
                print(f"\n{section}")
            print(f"  {entry['name']:22s} {entry['title']}")
    return 0


def cmd_gradcheck(args) -> int:
    import numpy as np

    from .gradcheck import gradcheck

    scenario = _network(load(args.scenario), "gradcheck")
    model = scenario.build_model(dtype=np.float64)
    x, y = scenario.data.train.x[:8], scenario.data.train.y[:8]
    errors = gradcheck(model, scenario.loss, x, y)
    worst = max(errors.values()) if errors else 0.0
    passed = worst <= GRADCHECK_TOLERANCE
    if args.json:
        print(json.dumps({"errors": errors, "tolerance": GRADCHECK_TOLERANCE, "passed": passed}))
    else:
        for key, error in errors.items():
            mark = "ok" if error <= GRADCHECK_TOLERANCE else "FAIL"
            print(f"{key:28s} {error:10.2e}  {mark}")
        print(f"worst relative error {worst:.2e} (tolerance {GRADCHECK_TOLERANCE:g})")
    return 0 if passed else 1


def cmd_tui(args) -> int:
    raise UsageError(
        "the interface is started by the `nnsim` console command (or `python -m nnsim.tui`); "
        "this module is the headless part"
    )


COMMANDS = {
    "tui": cmd_tui,
    "run": cmd_run,
    "verify": cmd_verify,
    "summary": cmd_summary,
    "lessons": cmd_lessons,
    "gradcheck": cmd_gradcheck,
}


if __name__ == "__main__":
    sys.exit(main())
