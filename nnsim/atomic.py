"""Atomic file writes: a temporary file in the same directory, flushed to disk, then renamed
over the target, so a reader (or a crash) never sees half a file.

A writer killed outright (SIGKILL, power loss) cannot remove its temporary file, which may be
as large as the file it was writing. Each temporary file's name therefore says who wrote it,
``.<target name>.<random>.<pid>-<host>.tmp``, and every atomic write sweeps the directory it
writes to first: it removes the temporary files written on this host by processes that no
longer exist. A live writer's file, and another host's (the directory may be shared), are left
alone.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:64]
_TEMPORARY = re.compile(r"\..+\.(\d+)-([A-Za-z0-9-]*)\.tmp")


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temporary binary file, then move it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(path.parent)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".{os.getpid()}-{_HOST}.tmp", dir=path.parent
    )
    try:
        # mkstemp makes the file private (0600); give it the permissions open() would
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def sweep_orphans(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files in ``folder`` left by atomic writers on this host that were
    killed before they finished (their process is gone); return what was removed."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed  # an unreadable folder: the write itself will say what is wrong
    for name in names:
        match = _TEMPORARY.fullmatch(name)
        if match is None or match[2] != _HOST or _alive(int(match[1])):
            continue
        orphan = Path(folder) / name
        try:
            orphan.unlink()
        except OSError:
            continue  # gone already (another writer swept it) or not ours to remove
        removed.append(orphan)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this process: another thread may be writing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # PermissionError: it exists, under another user
    return pid > 0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
