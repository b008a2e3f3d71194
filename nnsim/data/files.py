"""Reading the user's own data files (.npz arrays, .csv text) with every size known first.

A data path may name anything: a FIFO or a device (/dev/zero) that never ends, a file of
gigabytes, a zip bomb, an .npy header claiming a terabyte. Only regular files are opened (the
open does not block, and the type is checked on the open file); a file's size, each .npz
member's size in the zip directory, and each array's size in its .npy header are checked
against the bounds below before anything is read:

- ``MAX_ARRAY_BYTES`` (1 GiB): an .npz file, and the arrays it holds together;
- ``MAX_CSV_BYTES`` (64 MiB): a .csv file (parsed into Python numbers, text takes about
  twenty times its size in memory).

Every refusal is a ``DataFileError`` saying what and how big; the scenario loader adds where.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_ARRAY_BYTES = 1 << 30
MAX_CSV_BYTES = 64 << 20
_HEADER_BYTES = 4096  # the most an .npy header may take

# what reading a damaged zip or .npy raises (zipfile and numpy raise these for bad bytes); the
# checkpoint reader catches the same
DAMAGE = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    OverflowError,
    RuntimeError,  # an encrypted member
    NotImplementedError,  # an unknown compression method
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
)


class DataFileError(ValueError):
    """A data file that cannot be read, or is not a file, or is too big to read."""


def open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading in binary, refused unless it is a regular file of at most
    ``max_bytes`` bytes; without blocking (opening a FIFO would wait for a writer)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise DataFileError(f"no such file: {path}") from None
    except OSError as err:
        raise DataFileError(f"{path} cannot be read: {err.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise DataFileError(
            f"{path} is not a regular file (a directory, FIFO or device); data is read from "
            f".npz and .csv files"
        )
    if info.st_size > max_bytes:
        os.close(fd)
        raise DataFileError(
            f"{path} is {info.st_size:,} bytes, over the {max_bytes:,} a data file of its kind "
            f"may have; refused without reading it"
        )
    return os.fdopen(fd, "rb")


def read_csv_text(path: Path) -> str:
    """The text of a .csv file of at most ``MAX_CSV_BYTES``, decoded as UTF-8."""
    with open_regular(path, MAX_CSV_BYTES) as handle:
        raw = handle.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:  # it grew while we read
        raise DataFileError(f"{path} is over the {MAX_CSV_BYTES:,} bytes a .csv file may have")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(f"{path} is not UTF-8 text (byte {err.start})") from None


def read_npz(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of an .npz file (a missing one raises), of numbers, together at
    most ``MAX_ARRAY_BYTES``: sizes are checked in the zip directory and the .npy headers
    before any array is read."""
    with open_regular(path, MAX_ARRAY_BYTES) as handle:
        try:
            archive = zipfile.ZipFile(handle)
            members = {info.filename: info for info in archive.infolist()}
            missing = [n for n in names if f"{n}.npy" not in members]
            if missing:
                raise DataFileError(f"{path} has no array {missing[0]!r} (it needs {names})")
            declared = sum(members[f"{n}.npy"].file_size for n in names)
            if declared > MAX_ARRAY_BYTES:
                raise DataFileError(
                    f"{path}: its arrays {names} take {declared:,} bytes, over the "
                    f"{MAX_ARRAY_BYTES:,} a data file may hold; refused without reading them"
                )
            return {n: _read_member(path, archive, members[f"{n}.npy"], n) for n in names}
        except DataFileError:
            raise
        except DAMAGE as err:
            raise DataFileError(
                f"{path} cannot be read (truncated or corrupted?): {type(err).__name__}: {err}"
            ) from None


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str):
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version} is not supported")
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = read_header(member, max_header_size=_HEADER_BYTES)
        if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
            raise DataFileError(f"{path}: {name} holds {dtype} values, not numbers")
        size = math.prod(shape) * dtype.itemsize
        if size > info.file_size:  # the header claims more than the member holds
            raise ValueError(
                f"{name}'s header says {shape} {dtype} ({size:,} bytes) but the file holds "
                f"{info.file_size:,}"
            )
        raw = member.read(size)
        if len(raw) != size:
            raise ValueError(f"{name}'s data ends after {len(raw)} of {size} bytes")
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C").copy()
