"""The `nnsim` console command: the interface without arguments or with `tui SCENARIO`,
every other subcommand handed to the headless CLI (nnsim.cli), which never imports Textual."""

from __future__ import annotations

import sys

from nnsim import cli


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] == "tui":
        scenario = args[1] if len(args) > 1 else None
        if len(args) > 2 or (scenario and scenario.startswith("-")):
            print("usage: nnsim tui [SCENARIO]", file=sys.stderr)
            return 2
        if scenario is not None:
            try:
                cli.resolve(scenario)
            except cli.UsageError as err:
                print(f"nnsim tui: {err}", file=sys.stderr)
                return 2
        from .app import run

        return run(scenario)
    return cli.main(args)
