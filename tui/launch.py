"""The `nnsim` console command: the interface without arguments or with `tui SCENARIO`,
every other subcommand handed to the headless CLI (nnsim.cli), which never imports Textual."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    with settled_imports():  # the CLI loads the scenario code, which loads Numba
        from nnsim import cli
        from nnsim.i18n import LANGUAGES, LanguageError, choose_language, set_language
    language, rest = _leading_language(args)
    if rest and rest[0] != "tui":
        return cli.main(args)
    parser = argparse.ArgumentParser(prog="nnsim tui", description="the terminal interface")
    parser.add_argument("scenario", nargs="?", help="a scenario file or a shipped lesson")
    parser.add_argument(
        "--screenshots", metavar="DIR", help="where ctrl+s saves (default ~/nnsim-screenshots)"
    )
    parser.add_argument("--lang", choices=LANGUAGES, default=language, help=cli.LANG_HELP)
    parser.add_argument("--model", metavar="FILE", help="your own model (.onnx); needs --data")
    parser.add_argument("--data", metavar="FILE", help="with --model: .npz (x, y) or .csv")
    parser.add_argument("--params", metavar="NAME=V,...", help="a sweep's run: lr=0.1,seed=2")
    parser.add_argument("--from-sweep", metavar="FILE", help="nnsim sweep --json output; --run N")
    parser.add_argument("--run", type=int, metavar="N", help="with --from-sweep: the run's number")
    try:
        options = parser.parse_args(rest[1:])
        set_language(choose_language(options.lang))
    except SystemExit as done:  # argparse printed the usage or the help
        return int(done.code or 0)
    except LanguageError as err:
        print(f"nnsim tui: {err}", file=sys.stderr)
        return 2
    if (options.model is None) != (options.data is None) or options.model and options.scenario:
        print("nnsim tui: give a scenario, or --model FILE and --data FILE", file=sys.stderr)
        return 2
    if options.model is not None:  # the lesson is made when the interface opens it
        from nnsim.interop.cli import ModelLesson

        options.scenario = ModelLesson(options.model, options.data)
    elif (sweep := (options.params, options.from_sweep, options.run)) != (None, None, None):
        from nnsim.sweep.reopen import swept_lesson  # one run of a sweep, to step through

        try:
            options.scenario = swept_lesson(options.scenario, *sweep)
        except cli.UsageError as err:
            print(f"nnsim tui: {err}", file=sys.stderr)
            return 2
    elif options.scenario is not None:
        try:
            cli.resolve(options.scenario)
        except cli.UsageError as err:
            print(f"nnsim tui: {err}", file=sys.stderr)
            return 2
    with settled_imports():
        from .app import run

    return run(options.scenario, options.screenshots)


def _leading_language(args: list[str]) -> tuple[str | None, list[str]]:
    """``nnsim --lang zh [tui ...]``: the language given before the command, and the rest."""
    if args[:1] == ["--lang"] and len(args) > 1:
        return args[1], args[2:]
    if args and args[0].startswith("--lang="):
        return args[0].split("=", 1)[1], args[1:]
    return None, args


@contextmanager
def settled_imports() -> Iterator[None]:
    """Import the interface with the garbage collector paused, then move everything the imports
    made (Numba's, Textual's, nnsim's modules, classes and tables, alive as long as the process)
    out of its sight. Why: without this, every full collection while the interface starts walks
    them all again; measured with benchmarks/startup.py, 0.3-0.4 of the 2 CPU-seconds of a warm
    start to the debugger went to the collector."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def settle(resume: bool = True) -> None:
    """Move everything alive now out of the collector's sight (gc.freeze), as settled_imports
    does after the imports: the interface calls it once the first lesson has opened (its data
    and model, Numba's tables for the kernels just loaded) and once its screen is drawn (the
    screen's widgets), all of which live while that lesson is shown. Measured with
    benchmarks/startup.py: the collector otherwise walked them in its full collections and once
    more at exit, about 0.1 of the CPU-seconds of a warm start to the debugger. ``resume``: the
    collector runs again if pause() paused it."""
    gc.freeze()
    if resume:
        gc.enable()


def pause() -> None:
    """Pause the collector while the first lesson opens and its screen is first drawn (its
    data and model, Numba's tables for the kernels loaded from the cache, the widgets):
    settle() then freezes it all unexamined. Measured with benchmarks/startup.py: about 0.03
    CPU-seconds of a warm start."""
    gc.disable()


def resume() -> None:
    """Resume the collector paused by pause() where there is nothing to settle: the lesson did
    not open, or its kernels are about to compile (their garbage must be collected)."""
    gc.enable()


def release() -> None:
    """Hand everything frozen back to the collector: the lesson settle froze with is being
    left (for the picker, a re-run, a what-if, a variant), and must not be kept."""
    gc.unfreeze()
