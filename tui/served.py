"""One browser tab's process for `nnsim serve` (nnsim/serve/): the interface under Textual's
web driver, started as ``python -m nnsim.tui.served [--lang zh] [--lesson FILE] [--notice TEXT]``.

The server has already checked everything: ``--lesson`` is the file of a shipped lesson (never
a name a browser sent), ``--notice`` a message of the server's own.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import os
import signal
import sys
from pathlib import Path

from nnsim.i18n import LANGUAGES, set_language

from .launch import settled_imports

#: the server's pid, set by the server in each session's environment
ENV_PARENT = "NNSIM_SERVE_PARENT"


def end_with_the_server() -> None:
    """Ask Linux for a SIGTERM when the server dies, however it dies (SIGKILL, a crash), so a
    session never outlives it; if it died before this call, end now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the server's own stop still ends us
        return
    parent = os.environ.get(ENV_PARENT)
    if parent and parent != str(os.getppid()):
        sys.exit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnsim.tui.served")
    parser.add_argument("--lang", choices=LANGUAGES, default="en")
    parser.add_argument("--lesson", help="a shipped lesson's file (default: the picker)")
    parser.add_argument("--notice", help="shown once the interface opens")
    options = parser.parse_args(argv)
    end_with_the_server()
    set_language(options.lang)
    with settled_imports():
        from textual._files import generate_datetime_filename

        from .app import NnsimApp

    class ServedApp(NnsimApp):
        """The interface as in a terminal, but screenshots download in the browser and never
        touch the server's disk (its user may have no writable home)."""

        CSS_PATH = Path(sys.modules[NnsimApp.__module__].__file__).with_name(NnsimApp.CSS_PATH)

        def on_mount(self) -> None:  # Textual runs NnsimApp's on_mount too, after this one
            if options.notice:
                self.notify(options.notice, severity="warning", timeout=20)

        def action_screenshot(self) -> None:
            self.deliver_text(
                io.StringIO(self.export_screenshot()),
                save_filename=generate_datetime_filename("nnsim", ".svg"),
                open_method="download",
                mime_type="image/svg+xml",
                name="screenshot",
            )

    app = ServedApp(options.lesson)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
