"""The `nnsim` console command: the interface without arguments or with `tui SCENARIO`,
every other subcommand handed to the headless CLI (nnsim.cli), which never imports Textual."""

from __future__ import annotations

import argparse
import sys

from nnsim import cli


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
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
    from .app import run

    return run(options.scenario, options.screenshots)
