"""`nnsim serve`: the interface in a browser, one process per browser tab (textual-serve).

This module holds only the command line: it imports neither textual-serve nor Textual, so the
headless CLI stays light; :mod:`nnsim.serve.server` is loaded when a server starts, and
:mod:`nnsim.tui.served` is what each tab's process runs.
"""

from __future__ import annotations

import argparse
import os

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def default_max_sessions() -> int:
    """Two sessions per core: a student mostly reads, and a step costs tens of milliseconds."""
    return 2 * (os.cpu_count() or 1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `nnsim serve` (its --lang comes from the parser's shared --lang)."""
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default {DEFAULT_HOST}, this machine only; anything "
        "else is reachable by others: put it behind the school's reverse proxy)",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="default %(default)s; 0: any free port"
    )
    parser.add_argument(
        "--token",
        help="the access token students' URLs carry (default: a new random one, printed)",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=default_max_sessions(),
        metavar="N",
        help="browser tabs open at once; more see a 'class is full' page "
        "(default: 2 per core, %(default)s here)",
    )


def command(args: argparse.Namespace) -> int:
    """Run the server until SIGINT or SIGTERM (the language is already chosen by the CLI)."""
    from ..i18n import language

    problem = _usage_problem(args)
    if problem:
        from ..cli import UsageError

        raise UsageError(problem)
    from .server import serve  # textual-serve, aiohttp: only now

    return serve(
        host=args.host,
        port=args.port,
        token=args.token,
        max_sessions=args.max_sessions,
        language=language(),
    )


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.max_sessions < 1:
        return f"--max-sessions {args.max_sessions}: give at least 1"
    if not 0 <= args.port < 65536:
        return f"--port {args.port}: give a port from 1 to 65535 (0: any free one)"
    if args.token is not None and (len(args.token) < 8 or not args.token.isprintable()):
        return "--token: give at least 8 printable characters (or leave it out for a random one)"
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        return "serving needs textual-serve: pip install 'nnsim[serve]'"
    return None
