"""Reading a checkpoint file (nnsim.checkpoint) with every size known before it is read.

``Archive`` opens only regular files (without blocking: a FIFO is refused, not waited on),
refuses a file over the caller's bound unread, refuses names no checkpoint holds and a zip
directory that hides entries, and reads each member only after its size in the zip directory
and its shape and dtype in its .npy header are what the caller expects. Whatever damaged bytes
make zipfile or numpy raise becomes a ``CheckpointError`` naming the file and the entry.
"""

from __future__ import annotations

import math
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .data.files import DAMAGE

FORMAT = "nnsim-checkpoint-1"
BYTES_PER_VALUE = 8  # float64, the widest dtype a checkpoint holds
HEADER_BYTES = 4096  # the most a member's .npy header may take

# every entry name a checkpoint may hold (parameter keys are "<layer>.<name>")
_KEY = r"[^/]+\.[^/]+"
_KNOWN = re.compile(
    rf"nnsim/(format|dtype)|(param|buffer)/{_KEY}|optim/(class|steps)|optim/hyper/[^/]+"
    rf"|optim/state/{_KEY}/[^/]+|optim/state/[^/]+"  # the last: a key without a slot, named later
)


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model it is loaded into."""


class Archive:
    """An open checkpoint whose members are read one at a time, each only after its size (zip
    directory) and its shape and dtype (.npy header) are what the caller expects."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        try:
            # non-blocking, so that opening a FIFO returns at once (and is refused below)
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise CheckpointError(f"{path}: no such checkpoint file") from None
        except OSError as err:
            raise CheckpointError(f"{path}: cannot be read: {err.strerror}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise CheckpointError(
                f"{path}: not a regular file (a directory, FIFO or device); "
                f"a checkpoint is an .npz file"
            )
        self.handle = os.fdopen(fd, "rb")
        try:
            self._open(info, limit)
        except BaseException:
            self.handle.close()
            raise

    def _open(self, info: os.stat_result, limit: int) -> None:
        path = self.path
        if info.st_size > limit:
            raise CheckpointError(
                f"{path}: is {info.st_size} bytes, more than the {limit} a checkpoint for this "
                f"model can take; refused without reading it"
            )
        try:
            listed = _listed_entries(self.handle, info.st_size)
            self.zip = zipfile.ZipFile(self.handle)
        except DAMAGE as err:
            raise self.unreadable(err) from None
        self.members, problem = self._entries()
        if listed is not None and listed != len(self.zip.infolist()):
            # zipfile trusts the directory's size field: a damaged one hides the entries after
            problem = f"zip directory lists {listed} entries but {len(self.members)} were found"
        tag = self.array("nnsim/format", (), "U", width=4 * 64)
        if tag is None or str(tag) != FORMAT:
            raise CheckpointError(f"{path}: not an nnsim checkpoint (no '{FORMAT}' format tag)")
        if problem:
            raise CheckpointError(f"{path}: {problem} (damaged?)")

    def _entries(self) -> tuple[dict[str, zipfile.ZipInfo], str]:
        """The members by entry name, and what is wrong with the names (a name no checkpoint
        holds, from a damaged directory or another kind of file: refused, so that a damaged
        name cannot pass for a missing entry)."""
        members: dict[str, zipfile.ZipInfo] = {}
        problem = ""
        for info in self.zip.infolist():
            entry = info.filename.removesuffix(".npy")
            if entry in members:
                problem = problem or f"holds {info.filename!r} twice"
            elif entry == info.filename or not _KNOWN.fullmatch(entry):
                problem = problem or (
                    f"holds {info.filename!r}, which is not an entry of an nnsim checkpoint"
                )
            members[entry] = info
        return members, problem

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

    def unreadable(self, err: BaseException, entry: str = "") -> CheckpointError:
        where = f"{named(entry)}: " if entry else ""
        return CheckpointError(
            f"{self.path}: not a readable checkpoint (truncated or corrupted?): "
            f"{where}{type(err).__name__}: {err}"
        )

    def entries(self, section: str) -> set[str]:
        return {name[len(section) + 1 :] for name in self.members if name.startswith(section + "/")}

    def array(
        self,
        entry: str,
        shape: tuple[int, ...] | None,
        kinds: str,
        width: int = BYTES_PER_VALUE,
        total: int = 0,
    ) -> np.ndarray | None:
        """Member ``entry`` (None when absent), read only if it has exactly ``shape`` (None: any
        shape of at most ``total`` bytes) and a plain dtype of one of ``kinds`` (numpy's dtype
        kinds) at most ``width`` bytes wide."""
        info = self.members.get(entry)
        if info is None:
            return None
        limit = HEADER_BYTES + (total if shape is None else math.prod(shape) * width)
        if info.file_size > limit:
            raise CheckpointError(
                f"{self.path}: {named(entry)} claims {info.file_size} bytes in the zip "
                f"directory, more than the {limit} {_room(shape)}; refused unread"
            )
        try:
            with self.zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy format version {version} is not supported")
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                found, fortran, dtype = read_header(member, max_header_size=HEADER_BYTES)
                size = math.prod(found) * dtype.itemsize
                self._check(entry, found, dtype, shape, kinds, width)
                if shape is None and size > total:
                    raise CheckpointError(
                        f"{self.path}: {named(entry)} holds {size} bytes, more than the "
                        f"{total} allowed"
                    )
                raw = member.read(size)
                if len(raw) != size:
                    raise ValueError(f"the data ends after {len(raw)} of {size} bytes")
                if member.read(1):
                    raise ValueError("bytes after the array's data")
        except CheckpointError:
            raise
        except DAMAGE as err:
            raise self.unreadable(err, entry) from None
        return np.frombuffer(raw, dtype).reshape(found, order="F" if fortran else "C")

    def _check(self, entry, found, dtype, shape, kinds, width) -> None:
        if shape is not None and tuple(found) != tuple(shape):
            where = "in the model" if entry.startswith(("param/", "buffer/")) else "expected"
            raise CheckpointError(
                f"{self.path}: {named(entry)} has shape {tuple(found)} in the file but "
                f"{tuple(shape)} {where}"
            )
        plain = dtype.names is None and dtype.subdtype is None and not dtype.hasobject
        if not plain or dtype.kind not in kinds or dtype.itemsize > width:
            names = {
                "f": "floating point",
                "i": "integer",
                "u": "integer",
                "b": "bool",
                "U": "text",
            }
            expected = " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))
            raise CheckpointError(
                f"{self.path}: {named(entry)} holds {dtype} values; expected {expected}"
            )


def _listed_entries(handle: BinaryIO, size: int) -> int | None:
    """The entry count in the zip's end-of-directory record (None: none found, or ZIP64)."""
    handle.seek(max(0, size - 22 - 0xFFFF))  # the record, before at most a 64 kB comment
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count


def named(entry: str) -> str:
    """How messages name an entry: "param 'conv1.W'", "'optim/state/dense1.W/exp_avg'"."""
    section, _, key = entry.partition("/")
    return f"{section} {key!r}" if section in ("param", "buffer") else repr(entry)


def _room(shape: tuple[int, ...] | None) -> str:
    return "allowed" if shape is None else f"its expected shape {shape} can take"
