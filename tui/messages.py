"""What the session's worker thread tells the screen that owns it (posted from the thread;
Textual's post_message is thread-safe, and a message to a screen that has closed is dropped,
so a worker outliving its screen can never crash the app)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from nnsim.session import Event


@dataclass
class CommandStarted(Message):
    """The worker began ``command``; ``queued`` more wait behind it."""

    command: str
    queued: int


@dataclass
class CommandProgress(Message):
    """A long command (continue, play) is under way; ``event`` is its latest micro-op."""

    command: str
    event: Event | None

    def can_replace(self, message: Message) -> bool:
        # only the newest progress matters: older ones still queued are dropped unseen
        return isinstance(message, CommandProgress)


@dataclass
class WorkerIdle(Message):
    """The worker's thread has run its last queued command and stopped: nothing runs now."""


@dataclass
class CommandFinished(Message):
    """``command`` ended: with ``event`` (its last micro-op), or ``error`` (why it could not
    run; nothing changed), ``undone`` for a step back (the micro-op it undid), or
    ``cancelled`` (stopped by pause or by the screen closing)."""

    command: str
    event: Event | None = None
    error: str = ""
    undone: Event | None = None
    cancelled: bool = False
    queued: int = 0
