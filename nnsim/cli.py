"""The ``nnsim`` command: run scenarios headless, verify lessons, summarise models.

Exit codes: 0 success; 1 a check failed (an expectation, a gradient check); 2 bad input, with
a one-paragraph message on stderr (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from . import serve as serve_cli
from .i18n import LANGUAGES, _, choose_language, set_language
from .interop import cli as interop_cli
from .scenario import ScenarioError, find
from .sweep import cli as sweep_cli

LANG_HELP = "the language of lessons and reports: en or zh (default: NNSIM_LANG, else the locale)"

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
    parser.add_argument("--lang", choices=LANGUAGES, help=LANG_HELP)
    sub = parser.add_subparsers(dest="command")
    language = argparse.ArgumentParser(add_help=False)  # --lang after the command, too
    language.add_argument("--lang", choices=LANGUAGES, default=argparse.SUPPRESS, help=LANG_HELP)

    run = sub.add_parser(
        "run", parents=[language], help="train a scenario headless and report its diagnostics"
    )
    run.add_argument("scenario", nargs="?", help="a scenario file, or the name of a shipped lesson")
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
    interop_cli.add_arguments(run)  # --model, --data, --save-torch

    verify = sub.add_parser(
        "verify", parents=[language], help="run lessons and check their [[expect]] blocks"
    )
    verify.add_argument("scenarios", nargs="*", help="default: every shipped lesson")
    verify.add_argument("--json", action="store_true")
    verify.add_argument("--no-progress", action="store_true")

    summary = sub.add_parser(
        "summary", parents=[language], help="per-layer shapes, parameters, receptive field, FLOPs"
    )
    summary.add_argument("scenario", nargs="?")
    summary.add_argument("--arch", help="a classic architecture: lenet5, alexnet, ... resnet34")
    summary.add_argument("--json", action="store_true")

    tui = sub.add_parser(
        "tui", parents=[language], help="open the terminal interface on a scenario (the default)"
    )
    tui.add_argument("scenario", nargs="?")
    tui.add_argument("--screenshots", metavar="DIR", help="where ctrl+s saves SVGs")

    lessons = sub.add_parser("lessons", parents=[language], help="list the shipped lessons")
    lessons.add_argument("--json", action="store_true")
    lessons.add_argument(
        "--pytorch",
        action="store_true",
        help="each lesson's PyTorch snippet, as Markdown (samples/README.md's last section)",
    )

    metrics = sub.add_parser(
        "metrics",
        parents=[language],
        help="what conditions (checks, breakpoints, --watch) can read, with a line each",
    )
    metrics.add_argument(
        "--kind", choices=("network", "surface", "gan"), help="only what this kind measures"
    )
    metrics.add_argument("--json", action="store_true")
    metrics.add_argument(
        "--markdown", action="store_true", help="as docs/metrics.md (the page is made this way)"
    )

    translations = sub.add_parser(
        "translations",
        parents=[language],
        help="lessons' Chinese: missing, stale (English changed), or lacking a code span or name",
    )
    translations.add_argument("scenarios", nargs="*", help="default: every shipped lesson")
    translations.add_argument(
        "--stale-only", action="store_true", help="list stale and lacking ones, not missing ones"
    )
    translations.add_argument("--json", action="store_true")

    gradcheck = sub.add_parser(
        "gradcheck", parents=[language], help="finite-difference check of a scenario's model"
    )
    gradcheck.add_argument("scenario")
    gradcheck.add_argument("--json", action="store_true")

    serve = sub.add_parser(
        "serve", parents=[language], help="the interface in a browser, for a class (textual-serve)"
    )
    serve_cli.add_arguments(serve)  # --host, --port, --token, --max-sessions
    sweep_cli.add_parser(sub, [language])  # a grid of runs, here or on a Dask cluster
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        set_language(choose_language(getattr(args, "lang", None)))
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # `nnsim lessons | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"nnsim {args.command}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ScenarioError, ValueError, KeyError, OSError) as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"nnsim {args.command}: {message}", file=sys.stderr)
        return 2
    except (MemoryError, RecursionError) as err:  # a safety net: sizes are refused up front
        if args.debug:
            raise
        what = (
            _("more memory than this machine has")
            if isinstance(err, MemoryError)
            else _("input nested too deeply")
        )
        message = _(
            "stopped: {what} ({error}). The scenario's sizes passed the checks made before "
            "building; please report the file. NNSIM_MEMORY_BUDGET (default 2GiB) bounds what "
            "a scenario may allocate."
        ).format(what=what, error=type(err).__name__)
        print(f"nnsim {args.command}: {message}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- shared helpers


def resolve(name: str) -> Path:
    """A scenario path, or the file of a shipped lesson called ``name``."""
    try:
        return find(name)
    except ScenarioError as err:
        hint = err.message.split("lesson", 1)[1] or " " + _("(see `nnsim lessons`)")
        message = _("{name} is neither a scenario file nor a shipped lesson{hint}")
        raise UsageError(message.format(name=repr(name), hint=hint)) from None


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


# ---------------------------------------------------------------- commands


def cmd_run(args) -> int:
    from .cli_run import run_command

    return run_command(args)


def cmd_verify(args) -> int:
    from .cli_run import verify_command

    return verify_command(args)


def cmd_summary(args) -> int:
    from . import architectures

    if args.arch and args.scenario:
        raise UsageError(_("give a scenario or --arch NAME, not both"))
    if args.arch:
        if args.arch not in architectures.ARCHITECTURES:
            names = ", ".join(architectures.ARCHITECTURES)
            message = _("unknown architecture {name}; choose one of {names}")
            raise UsageError(message.format(name=repr(args.arch), names=names))
        model = architectures.ARCHITECTURES[args.arch]()
    elif args.scenario:
        model = _network(load(args.scenario), "summary").build_model()
    else:
        raise UsageError(_("give a scenario or --arch NAME"))
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
        message = _(
            "{name} races optimisers on a 2-D surface: it has no network for `nnsim {command}` "
            "(try `nnsim run {name}`)"
        )
        raise UsageError(message.format(name=scenario.name, command=command))
    if kind == "gan":
        message = _(
            "{name} trains two networks against each other: `nnsim {command}` takes a "
            "one-network scenario (try `nnsim run {name}`)"
        )
        raise UsageError(message.format(name=scenario.name, command=command))
    return scenario


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
        worst_line = _("worst relative error {error} (tolerance {tolerance})")
        print(worst_line.format(error=f"{worst:.2e}", tolerance=f"{GRADCHECK_TOLERANCE:g}"))
    return 0 if passed else 1


def cmd_tui(args) -> int:
    raise UsageError(
        _(
            "the interface is started by the `nnsim` console command (or `python -m "
            "nnsim.tui`); this module is the headless part"
        )
    )


def cmd_metrics(args) -> int:
    from .cli_lessons import cmd_metrics as command

    return command(args)


def cmd_lessons(args) -> int:
    from .cli_lessons import cmd_lessons as command

    return command(args)


def cmd_translations(args) -> int:
    from .cli_lessons import cmd_translations as command

    return command(args)


COMMANDS = {
    "translations": cmd_translations,
    "metrics": cmd_metrics,
    "tui": cmd_tui,
    "run": cmd_run,
    "verify": cmd_verify,
    "summary": cmd_summary,
    "lessons": cmd_lessons,
    "gradcheck": cmd_gradcheck,
    "serve": serve_cli.command,  # imports textual-serve only when it runs
    "sweep": sweep_cli.command,
}


if __name__ == "__main__":  # python -m nnsim.cli: through the module the others import, so
    from nnsim.cli import main as module_main  # that its UsageError is theirs

    sys.exit(module_main())
