"""`nnsim serve`, in a real browser: Debian's Chromium driven by Playwright's Python API.

Each test starts the server as a user does (`python -m nnsim.tui serve --port 0`) on a free
loopback port and finds its sessions as its child processes (Linux's /proc). The screen is read
from what the browser receives: every websocket frame is the terminal output xterm.js draws,
and its text, with the escape sequences taken out, is what the student sees.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="nnsim serve needs textual-serve: nnsim[serve]")
# a browser, a server and its sessions per test: about 30 CPU-s, run in .ci/run's second step
pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
PROC = Path("/proc")
TOKEN = "classroom-token-1234"
if not (PROC / "self" / "stat").exists():
    pytest.skip("the tests find sessions through Linux's /proc", allow_module_level=True)

ESCAPES = re.compile(r"\x1b\[[0-9;?<>=$]*[A-Za-z@`~]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b.")


class Classroom:
    """`nnsim serve` in a subprocess, its output gathered by a thread."""

    def __init__(self, *flags: str) -> None:
        command = [sys.executable, "-m", "nnsim.tui", "serve", "--port", "0", *flags]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        threading.Thread(target=self._gather, daemon=True).start()
        found = wait_for(lambda: re.search(r"open (http://\S+)", self.text()), 300)
        assert found, f"the server did not start:\n{self.text()}"
        self.printed = found.group(1)
        self.port = int(re.search(r":(\d+)/", self.printed).group(1))  # the free port it chose
        self.url = f"http://127.0.0.1:{self.port}/{self.printed.rsplit('/', 1)[1]}"

    def _gather(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    def text(self) -> str:
        return "".join(self.output)

    def page_url(self, query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/?token={TOKEN}{query}"

    def sessions(self) -> set[int]:
        """The pids of the server's child processes (one per open session)."""
        return {pid for pid in processes() if parent_of(pid) == self.process.pid}

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(30)


def processes() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def parent_of(pid: int) -> int | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    """Running (a zombie, ended but not yet reaped, counts as ended)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(check, seconds: float, pause=lambda: time.sleep(0.1)):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        pause()


def status_of(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


class Screen:
    """What a tab shows: the text of the terminal output its websocket has received."""

    def __init__(self, page) -> None:
        self.page = page
        self.frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._received))

    def _received(self, payload) -> None:
        if isinstance(payload, bytes):
            self.frames.append(payload)

    def text(self, since: int = 0) -> str:
        raw = b"".join(self.frames[since:]).decode("utf-8", "replace")
        return ESCAPES.sub("\n", raw)

    def lines(self, since: int = 0) -> list[str]:
        """The text's non-blank pieces, for a failure's message."""
        return [line.strip() for line in self.text(since).splitlines() if line.strip()]

    def press(self, key: str) -> int:
        """Type ``key`` into the terminal; returns the frame count before it, to read since."""
        mark = len(self.frames)
        self.page.focus("textarea.xterm-helper-textarea")  # where xterm.js takes keys
        self.page.keyboard.press(key)
        return mark

    def wait_for(self, pattern: str, since: int = 0, seconds: float = 60) -> re.Match | None:
        # Playwright's sync API hands over frames only while it is called: wait through it
        pause = lambda: self.page.wait_for_timeout(100)  # noqa: E731
        return wait_for(lambda: re.search(pattern, self.text(since)), seconds, pause)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium (Debian: apt-get install chromium)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need Playwright: pip install playwright"
    )
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def classroom():
    server = Classroom("--token", TOKEN, "--max-sessions", "2")
    yield server
    assert server.stop() == 0


@pytest.fixture
def context(browser):
    made = browser.new_context(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    yield made
    made.close()


def open_tab(context, url: str) -> Screen:
    page = context.new_page()
    screen = Screen(page)
    page.goto(url)
    return screen


# ---------------------------------------------------------------- without a browser


def test_the_headless_cli_imports_neither_textual_serve_nor_textual():
    script = "import sys, nnsim.cli; print(sorted({'textual', 'textual_serve'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_a_missing_or_wrong_token_gets_403_and_starts_no_session(classroom):
    before = classroom.sessions()
    for query in ("", "?token=wrong-token", "?lesson=xor_mlp", f"?token={TOKEN}x"):
        status, body = status_of(f"http://127.0.0.1:{classroom.port}/{query}")
        assert status == 403 and "token" in body, query
    status, _ = status_of(f"http://127.0.0.1:{classroom.port}/ws/forged-ticket")
    assert status == 403
    assert classroom.sessions() == before


def test_the_kernel_cache_is_warmed_before_the_address_is_given(classroom):
    from nnsim.warmup import call_names

    warmed = re.search(r"kernel cache warm: (\d+) kernels", classroom.text())
    assert warmed and int(warmed.group(1)) == 2 * len(call_names())  # float32 and float64
    assert warmed.start() < classroom.text().index("open http")


def test_a_bad_max_sessions_is_refused_with_exit_2():
    command = [sys.executable, "-m", "nnsim.tui", "serve", "--max-sessions", "0"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--max-sessions 0" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_busy_port_is_refused_at_once_with_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "nnsim.tui", "serve", "--port", port]
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "address already in use" in out.stderr.lower()
    assert "kernel cache" not in out.stdout and "Traceback" not in out.stderr


# ---------------------------------------------------------------- in a browser


def test_a_lesson_opens_by_name_steps_on_n_and_screenshots_download(classroom, context):
    screen = open_tab(context, classroom.page_url("&lesson=xor_mlp"))
    opened = screen.wait_for(r"iteration 0/\d+ +next: • batch", seconds=120)  # a cold cache
    assert opened, f"{screen.lines()[-30:]}\n{classroom.text()[-3000:]}"
    assert "A hidden layer solves XOR" in screen.text()
    (session,) = classroom.sessions()
    environment = (PROC / str(session) / "environ").read_bytes().split(b"\0")
    assert b"NNSIM_THREADS=1" in environment
    mark = screen.press("n")
    stepped = screen.wait_for(r"next: (?!• batch)\S+", since=mark, seconds=30)
    assert stepped, screen.text(mark)[-2000:]
    with screen.page.expect_download(timeout=30_000) as delivered:
        screen.press("Control+s")
    download = delivered.value
    assert download.suggested_filename.endswith(".svg")
    svg = Path(download.path()).read_text()
    assert svg.lstrip().startswith("<svg") and "hidden" in svg
    screen.page.close()
    assert wait_for(lambda: not alive(session), 30), "the tab closed but its process runs on"


def test_the_picker_is_the_landing_page_an_unknown_lesson_is_never_a_path_and_ctrl_q_ends_it(
    classroom, context
):
    screen = open_tab(context, classroom.page_url("&lesson=../../etc/passwd&lang=zh"))
    assert screen.wait_for("选择一课"), screen.text()[-2000:]  # the picker, in Chinese
    assert screen.wait_for("没有名为"), "the notice names the lesson it could not find"
    (session,) = classroom.sessions()
    argv = (PROC / str(session) / "cmdline").read_bytes().split(b"\0")
    assert b"--lesson" not in argv and argv[argv.index(b"--lang") + 1] == b"zh"
    screen.press("Control+q")  # the student quits: the process ends, the page says so
    assert wait_for(lambda: not alive(session), 30)
    screen.page.wait_for_selector("body.-closed", timeout=10_000)


def test_two_tabs_are_two_processes_a_third_finds_the_class_full_and_closing_ends_them(
    classroom, context
):
    tabs = [open_tab(context, classroom.page_url()) for _ in range(2)]
    for tab in tabs:
        assert tab.wait_for("pick a lesson")
    sessions = classroom.sessions()
    assert len(sessions) == 2
    status, body = status_of(classroom.page_url())
    assert status == 503 and "The class is full" in body and "Try again in a minute" in body
    third = context.new_page()
    third.goto(classroom.page_url())
    assert "The class is full" in third.content()
    assert classroom.sessions() == sessions
    for tab in tabs:
        tab.page.close()
    assert wait_for(lambda: not any(alive(pid) for pid in sessions), 30)
    assert classroom.sessions() == set()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "ctrl+c"])
def test_stopping_the_server_ends_every_session_and_leaves_no_process(context, stop):
    server = Classroom("--host", "0.0.0.0", "--max-sessions", "3")
    try:
        assert "warning: listening on 0.0.0.0" in server.text()
        assert "reverse proxy" in server.text()
        assert server.printed.startswith(f"http://{socket.gethostname()}:{server.port}/?token=")
        tabs = [open_tab(context, server.url) for _ in range(2)]  # the printed, generated token
        for tab in tabs:
            assert tab.wait_for("pick a lesson"), tab.text()[-2000:]
        sessions = server.sessions()
        assert len(sessions) == 2
        assert server.stop(stop) == 0
        assert not any(alive(pid) for pid in sessions)
    finally:
        server.process.kill()


def test_a_session_ends_even_when_the_server_is_killed_outright(context):
    server = Classroom("--token", TOKEN)
    sessions: set[int] = set()
    try:
        tab = open_tab(context, server.page_url())
        assert tab.wait_for("pick a lesson"), tab.text()[-2000:]
        sessions = server.sessions()
        (session,) = sessions
        server.stop(signal.SIGKILL)  # no shutdown runs: the session must notice by itself
        assert wait_for(lambda: not alive(session), 30), "a session outlived its server"
    finally:
        server.process.kill()
        for pid in filter(alive, sessions):  # should the test fail, leave nothing running
            os.kill(pid, signal.SIGKILL)
