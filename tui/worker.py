"""One worker per Session: the commands a screen sends run here, in order, on one thread.

Keys pressed while a command runs are queued, never dropped (the status line shows how many
wait); `p` stops the running command between micro-ops and drops the queue; closing the
screen (a re-run, a what-if, a variant, the lesson picker) cancels the worker the same way,
and whatever it posts afterwards goes nowhere.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from textual.message import Message

from nnsim.i18n import _
from nnsim.session import CommandError, Session

from .messages import CommandFinished, CommandProgress, CommandStarted, WorkerIdle

MAX_QUEUED = 1000  # a key held down for a long time: beyond this, presses are coalesced


class SessionWorker:
    """Runs ``session``'s commands one at a time; ``post`` delivers its messages (thread-safe:
    a screen's ``post_message``); ``start_thread`` starts ``loop`` on a thread worker."""

    def __init__(
        self,
        session: Session,
        post: Callable[[Message], object],
        start_thread: Callable[[Callable[[], None]], object],
    ) -> None:
        self.session = session
        self.post = post
        self.start_thread = start_thread
        self.queue: deque[str] = deque()
        self.running: str | None = None
        self.dropped = 0  # presses coalesced because the queue was full
        self._lock = threading.Lock()
        self._stop = threading.Event()  # set by pause: the running command ends early
        self._cancelled = threading.Event()  # set when the screen closes: nothing more runs
        self._active = False  # a thread is running ``loop``

    @property
    def busy(self) -> bool:
        return self._active

    @property
    def queued(self) -> int:
        return len(self.queue)

    def submit(self, command: str) -> None:
        """Queue ``command`` behind whatever runs; start the thread if none runs."""
        with self._lock:
            if self._cancelled.is_set():
                return
            if len(self.queue) >= MAX_QUEUED:
                self.dropped += 1
                return
            self.queue.append(command)
            if self._active:
                return
            self._active = True
        self.start_thread(self.loop)

    def pause(self) -> int:
        """Stop the running command at its next micro-op and drop the queue; returns how
        many queued commands were dropped."""
        with self._lock:
            dropped = len(self.queue)
            self.queue.clear()
        self._stop.set()
        return dropped

    def cancel(self) -> None:
        """The screen is closing: stop now, run nothing more."""
        self._cancelled.set()
        self.pause()

    def should_stop(self) -> bool:
        return self._stop.is_set() or self._cancelled.is_set()

    def loop(self) -> None:
        """Run queued commands until none is left (on the worker thread)."""
        while True:
            with self._lock:
                if not self.queue or self._cancelled.is_set():
                    self.running, self._active, command = None, False, None
                else:
                    command = self.queue.popleft()
                    self.running = command
                    self._stop.clear()
                    queued = len(self.queue)
            if command is None:  # after the flag: whoever handles this sees the worker idle
                self.post(WorkerIdle())
                return
            self.post(CommandStarted(command, queued))
            self.post(self._run(command))

    def _run(self, command: str) -> CommandFinished:
        def progress(event) -> None:
            self.post(CommandProgress(command, event))

        try:
            event = self.session.execute(command, should_stop=self.should_stop, report=progress)
        except CommandError as err:
            return CommandFinished(command, error=str(err), queued=self.queued)
        except Exception as err:  # noqa: BLE001 - a bug must not end the learner's session
            message = _("{kind}: {error} (please report this)")
            message = message.format(kind=type(err).__name__, error=err)
            return CommandFinished(command, error=message, queued=self.queued)
        if command == "step_back":
            return CommandFinished(command, undone=event, queued=self.queued)
        return CommandFinished(
            command, event=event, cancelled=self.should_stop(), queued=self.queued
        )
