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
    if args and args[0] != "tui":
        return cli.main(args)
    parser = argparse.ArgumentParser(prog="nnsim tui", description="the terminal interface")
    parser.add_argument("scenario", nargs="?", help="a scenario file or a shipped lesson")
    parser.add_argument(
        "--screenshots", metavar="DIR", help="where ctrl+s saves (default ~/nnsim-screenshots)"
    )
    try:
        options = parser.parse_args(args[1:])
    except SystemExit as done:  # argparse printed the usage or the help
        return int(done.code or 0)
    if options.scenario is not None:
        try:
            cli.resolve(options.scenario)
        except cli.UsageError as err:
            print(f"nnsim tui: {err}", file=sys.stderr)
            return 2
    with settled_imports():
        from .app import run

    return run(options.scenario, options.screenshots)


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
