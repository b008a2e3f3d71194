"""The classroom server: textual-serve's Server with an access token, a cap on sessions, a
lesson and a language per tab, and every session's process ended with its tab or the server.

How a tab becomes a session: ``GET /?token=T[&lesson=NAME][&lang=zh]`` checks the token (403
without it, before anything starts) and the room (the "class is full" page at the cap), then
serves textual-serve's page with a websocket address holding a one-time ticket,
``/ws/TICKET``, which remembers the lesson and the language. Connecting to it starts one
process, ``python -m nnsim.tui.served``, in its own process group with one BLAS thread
(``NNSIM_THREADS=1``); the process ends when the websocket closes (the tab closed, the
heartbeat lost) or the server stops (SIGINT, SIGTERM): asked to quit first, then SIGTERM and
SIGKILL to its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from ..i18n import LANGUAGES
from ..scenario import shipped_lessons
from .pages import page, text

LOOPBACK = ("127.0.0.1", "localhost", "::1")
TICKET_SECONDS = 60.0  # from the page to its websocket; a ticket also holds a seat till then
QUIT_SECONDS = 5.0  # a session asked to quit has this long before SIGTERM, then as long again


@dataclass(frozen=True)
class Ticket:
    """What a served page's websocket will start: which lesson, in which language."""

    lesson: str | None
    language: str
    notice: str | None
    issued: float


def lesson_files() -> dict[str, str]:
    """The shipped lessons by name: the only names ``?lesson=`` may give."""
    return {path.stem: str(path) for path in shipped_lessons()}


class SessionProcess(AppService):
    """One tab's process: started without a shell, in its own process group, and certainly
    ended by :meth:`stop`."""

    def __init__(self, argv: list[str], environment: dict[str, str], **kwargs) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv
        self.environment = environment

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def _open_app_process(self, width: int = 80, height: int = 24):
        environment = {**self._build_environment(width, height), **self.environment}
        pipe = asyncio.subprocess.PIPE
        self._process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=pipe, stdout=pipe, stderr=pipe, env=environment,
            start_new_session=True,  # its own group: a teacher's ctrl+c reaches the server only
        )  # fmt: skip
        self._stdin = self._process.stdin
        return self._process

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
            await self.send_meta({"type": "quit"})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), QUIT_SECONDS)
        process = self._process
        if process is None:
            return
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), QUIT_SECONDS)
                break
        if task is not None and not task.done():
            task.cancel()


class Classroom(Server):
    """textual-serve's Server for a class: see the module's docstring."""

    def __init__(self, host: str, port: int, token: str, max_sessions: int, language: str) -> None:
        super().__init__(command="nnsim", host=host, port=port, title="nnsim")
        self.token = token
        self.max_sessions = max_sessions
        self.language = language
        self.lessons = lesson_files()
        self.tickets: dict[str, Ticket] = {}
        self.sessions: dict[str, tuple[SessionProcess, web.WebSocketResponse]] = {}

    async def _make_app(self) -> web.Application:
        app = web.Application()
        loader = jinja2.FileSystemLoader(self.templates_path)
        aiohttp_jinja2.setup(app, loader=loader, autoescape=True)  # the Host header is echoed
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws/{ticket}", self.handle_websocket, name="websocket"),
                # a download's key is a random uuid4 that exists only while its tab delivers
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    # ---------------------------------------------------------------- the page

    def _language(self, request: web.Request) -> str:
        asked = request.query.get("lang", "")
        return asked if asked in LANGUAGES else self.language

    def _seats_taken(self) -> int:
        now = time.monotonic()
        for key, ticket in list(self.tickets.items()):
            if now - ticket.issued > TICKET_SECONDS:
                del self.tickets[key]
        return len(self.sessions) + len(self.tickets)

    async def handle_index(self, request: web.Request) -> web.Response:
        language = self._language(request)
        given = request.query.get("token", "")
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            return page(403, text("denied", language), text("denied_body", language))
        if self._seats_taken() >= self.max_sessions:
            body = text("full_body", language).format(count=self.max_sessions)
            return page(503, text("full", language), body, retry_seconds=60)
        name = request.query.get("lesson")
        notice = None
        if name and name not in self.lessons:  # shown as text, never opened
            shown = "".join(c for c in name if c.isprintable())[:60]
            notice = text("unknown_lesson", language).format(name=shown)
        lesson = self.lessons.get(name or "")
        ticket = secrets.token_urlsafe(24)
        self.tickets[ticket] = Ticket(lesson, language, notice, time.monotonic())
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        websocket = f"{'wss' if secure else 'ws'}://{request.host}/ws/{ticket}"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": websocket,
            "config": {"static": {"url": "/static/"}},
            "application": {"name": "nnsim"},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"  # the page holds a one-time ticket
        return response

    # ---------------------------------------------------------------- the session

    def _argv(self, ticket: Ticket) -> list[str]:
        argv = [sys.executable, "-m", "nnsim.tui.served", "--lang", ticket.language]
        if ticket.lesson:
            argv += ["--lesson", ticket.lesson]
        if ticket.notice:
            argv += ["--notice", ticket.notice]
        return argv

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        ticket = self.tickets.pop(request.match_info["ticket"], None)
        if ticket is None or time.monotonic() - ticket.issued > TICKET_SECONDS:
            raise web.HTTPForbidden(text="no such ticket: open the page again with the token")
        if len(self.sessions) >= self.max_sessions:
            raise web.HTTPServiceUnavailable(text="the class is full")
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        session = SessionProcess(
            self._argv(ticket),
            {"NNSIM_THREADS": "1", "NNSIM_SERVE_PARENT": str(os.getpid())},
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions[session.app_service_id] = (session, websocket)
        try:
            width = to_int(request.query.get("width", "80"), 80)
            await session.start(width, to_int(request.query.get("height", "24"), 24))
            self.console.print(f"session {session.pid} started ({len(self.sessions)} open)")
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            pass
        finally:
            await session.stop()
            await websocket.close()
            self.sessions.pop(session.app_service_id, None)
            self.console.print(f"session {session.pid} ended ({len(self.sessions)} open)")
        return websocket

    # ---------------------------------------------------------------- start and stop

    async def on_startup(self, app: web.Application) -> None:
        address = f"nnsim serve: open {self.url()}"
        self.console.print(address, highlight=False, markup=False, soft_wrap=True)
        self.console.print(f"at most {self.max_sessions} sessions at once; ctrl+c stops")

    def serve(self, debug: bool = False, sock: socket.socket | None = None) -> None:
        """textual-serve's serve(), on ``sock`` (already listening) if given, and quieter: no
        access log (its lines carry the token)."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            **({"sock": sock} if sock else {"host": self.host, "port": self.port}),
            handle_signals=False,
            loop=loop,
            access_log=None,
            print=lambda *args: None,
        )

    def url(self) -> str:
        """The address to hand out (for every interface: by this machine's name)."""
        host = socket.gethostname() if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/?token={self.token}"

    async def on_shutdown(self, app: web.Application) -> None:
        """End every session (its process and its websocket) before aiohttp waits for them."""
        open_now = list(self.sessions.values())
        await asyncio.gather(*(session.stop() for session, _ in open_now))
        await asyncio.gather(*(websocket.close() for _, websocket in open_now))

    def child_pids(self) -> Iterator[int]:
        for session, _ in self.sessions.values():
            if session.pid is not None:
                yield session.pid


def serve(host: str, port: int, token: str | None, max_sessions: int, language: str) -> int:
    """Warm the kernel cache, then serve until SIGINT or SIGTERM; no session outlives it."""
    if host not in LOOPBACK:
        print(text("exposed", language).format(host=host), file=sys.stderr)
    listening = listen(host, port)  # a busy port fails now, not after the warm-up
    port = listening.getsockname()[1]  # --port 0: the one the system chose
    warm_the_cache()
    classroom = Classroom(host, port, token or secrets.token_urlsafe(16), max_sessions, language)
    try:
        classroom.serve(sock=listening)
    finally:  # a last resort should the loop die before its shutdown ran
        for pid in list(classroom.child_pids()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``; connections wait in its queue until served."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def warm_the_cache() -> None:
    """Compile (or load) every kernel in both dtypes once, before the first student arrives,
    so each session loads them from the on-disk cache instead of compiling its own."""
    from ..warmup import warm_up

    started = time.process_time()
    count = warm_up(progress=_progress)
    seconds = time.process_time() - started
    print(f"\rkernel cache warm: {count} kernels, {seconds:.1f} CPU-s{' ' * 30}", flush=True)


def _progress(done: int, total: int, compiling: str | None) -> None:
    if compiling is not None and sys.stdout.isatty():
        print(f"\rwarming the kernel cache: {done + 1} of {total}, {compiling:40s}", end="")
