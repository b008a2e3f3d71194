"""Save and load model weights (and optimiser state) as .npz, atomically and without pickle.

A checkpoint holds:
- ``nnsim/format``: the format tag; ``nnsim/dtype``: the model's dtype;
- ``param/<layer>.<name>`` and ``buffer/<layer>.<name>``: every parameter and buffer;
- with an optimiser, ``optim/class``, ``optim/steps``, ``optim/state/<param key>/<slot>`` and,
  for the reader's information (loading keeps the optimiser's own), ``optim/hyper/<name>``.

Writing goes through nnsim.atomic (a temporary file, fsync, rename), so a crash never leaves a
half-written checkpoint. Loading validates everything into a staging copy and only then commits
it in one pass that cannot fail: the parameters and buffers (shape; any float dtype, converted to
the model's), the optimiser's class and step count, and every state slot's presence, shape and
kind against what the optimiser would create for that parameter. A damaged or mismatched file
changes nothing and raises ``CheckpointError`` naming the file, the entry and what was expected.

Sizes are checked before anything is read, so a hostile file cannot exhaust memory: the file may
be at most ``BYTES_PER_VALUE`` bytes per value the loading model and optimiser hold (for
``load_layers``, ``TRANSFER_BYTES_PER_VALUE`` per value of the model, room for a donor model
with a different head and its optimiser state) plus ``SLACK_BYTES``; each member read is checked
against the size its expected shape allows, first in the zip directory, then in its .npy header.
Only regular files are opened (not a FIFO or a device, which would block or never end).
"""

from __future__ import annotations

import math
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .atomic import write_atomically
from .model import Sequential
from .optim import OPTIMIZERS, Optimizer

FORMAT = "nnsim-checkpoint-1"
BYTES_PER_VALUE = 8  # float64, the widest dtype a checkpoint holds
TRANSFER_BYTES_PER_VALUE = 64
SLACK_BYTES = 1 << 20  # zip directory, .npy headers, tags and the hyperparameters
HEADER_BYTES = 4096  # the most a member's .npy header may take
READ_LIMIT = 1 << 31  # ``read`` without a model: at most 2 GiB

# every entry name a checkpoint may hold (parameter keys are "<layer>.<name>")
_KEY = r"[^/]+\.[^/]+"
_KNOWN = re.compile(
    rf"nnsim/(format|dtype)|(param|buffer)/{_KEY}|optim/(class|steps)|optim/hyper/[^/]+"
    rf"|optim/state/{_KEY}/[^/]+|optim/state/[^/]+"  # the last: a key without a slot, named later
)

# what reading a damaged zip or .npy raises (zipfile and numpy raise these for bad bytes)
_DAMAGE = (
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


class CheckpointError(ValueError):
    """A checkpoint file cannot be read, or does not fit the model it is loaded into."""


def _optimizer_hyper(optimizer: Optimizer) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in vars(optimizer).items()
        if isinstance(v, (int, float, bool)) and k != "steps"
    }


def save(path: str | os.PathLike, model: Sequential, optimizer: Optimizer | None = None) -> Path:
    """Write ``model``'s weights (and ``optimizer``'s state) to ``path`` atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")  # np.savez would add it anyway
    arrays: dict[str, np.ndarray] = {
        "nnsim/format": np.array(FORMAT),
        "nnsim/dtype": np.array(model.dtype.name),
    }
    arrays.update({f"param/{k}": v for k, v in model.parameters().items()})
    arrays.update({f"buffer/{k}": v for k, v in model.buffers().items()})
    if optimizer is not None:
        arrays["optim/class"] = np.array(optimizer.name)
        arrays["optim/steps"] = np.array(optimizer.steps)
        for k, v in _optimizer_hyper(optimizer).items():
            arrays[f"optim/hyper/{k}"] = np.array(v)
        for key, state in optimizer.state.items():
            for slot, value in state.items():
                arrays[f"optim/state/{key}/{slot}"] = value
    return write_atomically(path, lambda handle: np.savez(handle, **arrays))


class _Archive:
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
        except _DAMAGE as err:
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

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

    def unreadable(self, err: BaseException, entry: str = "") -> CheckpointError:
        where = f"{_named(entry)}: " if entry else ""
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
                f"{self.path}: {_named(entry)} claims {info.file_size} bytes in the zip "
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
                        f"{self.path}: {_named(entry)} holds {size} bytes, more than the "
                        f"{total} allowed"
                    )
                raw = member.read(size)
                if len(raw) != size:
                    raise ValueError(f"the data ends after {len(raw)} of {size} bytes")
                if member.read(1):
                    raise ValueError("bytes after the array's data")
        except CheckpointError:
            raise
        except _DAMAGE as err:
            raise self.unreadable(err, entry) from None
        return np.frombuffer(raw, dtype).reshape(found, order="F" if fortran else "C")

    def _check(self, entry, found, dtype, shape, kinds, width) -> None:
        if shape is not None and tuple(found) != tuple(shape):
            where = "in the model" if entry.startswith(("param/", "buffer/")) else "expected"
            raise CheckpointError(
                f"{self.path}: {_named(entry)} has shape {tuple(found)} in the file but "
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
                f"{self.path}: {_named(entry)} holds {dtype} values; expected {expected}"
            )


def read(path: str | os.PathLike, max_bytes: int = READ_LIMIT) -> dict[str, np.ndarray]:
    """Every array of a checkpoint of at most ``max_bytes``, read fully (so a damaged member
    fails here); numbers and text only."""
    arrays = {}
    with _Archive(Path(path), max_bytes) as archive:
        for entry in archive.members:
            value = archive.array(entry, None, "fiubU", width=max_bytes, total=max_bytes)
            arrays[entry] = value.copy()  # writable, like np.load's
    return arrays


def _listed_entries(handle: BinaryIO, size: int) -> int | None:
    """The entry count in the zip's end-of-directory record (None: none found, or ZIP64)."""
    handle.seek(max(0, size - 22 - 0xFFFF))  # the record, before at most a 64 kB comment
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return None if count == 0xFFFF else count


def _named(entry: str) -> str:
    """How messages name an entry: "param 'conv1.W'", "'optim/state/dense1.W/exp_avg'"."""
    section, _, key = entry.partition("/")
    return f"{section} {key!r}" if section in ("param", "buffer") else repr(entry)


def _room(shape: tuple[int, ...] | None) -> str:
    return "allowed" if shape is None else f"its expected shape {shape} can take"


def _stage(archive: _Archive, section: str, targets: dict[str, np.ndarray]) -> dict:
    """Copies, in the targets' dtypes, of the file's ``section`` entries, all checked."""
    staged = {}
    for key, target in targets.items():
        value = archive.array(f"{section}/{key}", target.shape, "f")
        if value is None:
            raise CheckpointError(
                f"{archive.path}: has no {section} {key!r}, which the model needs"
            )
        staged[key] = value.astype(target.dtype)
    extra = sorted(archive.entries(section) - set(targets))
    if extra:
        raise CheckpointError(
            f"{archive.path}: holds {section} {extra[0]!r}, which the model does not have "
            f"(a checkpoint of a different model?)"
        )
    return staged


def _slots(optimizer: Optimizer, p: np.ndarray) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The shape and dtype of each state slot ``optimizer`` creates for parameter ``p``: those
    of size 2 for a 2-value probe hold one value per parameter value."""
    probe = optimizer._new_state(np.zeros(2, dtype=p.dtype))
    return {s: ((p.size,) if v.shape == (2,) else v.shape, v.dtype) for s, v in probe.items()}


def _count(archive: _Archive, entry: str, what: str) -> int:
    value = archive.array(entry, (), "iu")
    if value is None:
        raise CheckpointError(f"{archive.path}: has no {entry!r} ({what})")
    count = int(value)
    if not 0 <= count < 2**62:
        raise CheckpointError(f"{archive.path}: {entry!r} is {count}; expected {what} >= 0")
    return count


def _stage_optimizer(
    archive: _Archive, optimizer: Optimizer, layouts: dict[str, dict]
) -> tuple[dict[str, dict[str, np.ndarray]], int]:
    """The optimiser's state and step count from the file, every slot checked against what
    ``optimizer`` would create for its parameter (``layouts``, from ``_slots``)."""
    path, name = archive.path, optimizer.name
    stored = archive.array("optim/class", (), "U", width=4 * 64)
    if stored is None:
        raise CheckpointError(f"{path}: has no optimiser state to load")
    if str(stored) != name or OPTIMIZERS.get(str(stored)) is None:
        raise CheckpointError(f"{path}: holds {str(stored)!r} optimiser state, not {name!r}")
    steps = _count(archive, "optim/steps", "the optimiser's step count")
    present: dict[str, set[str]] = {}
    for entry in sorted(archive.entries("optim/state")):
        key, _, slot = entry.rpartition("/")
        if not key:
            raise CheckpointError(
                f"{path}: 'optim/state/{entry}' names no slot; expected "
                f"optim/state/<parameter>/<slot>"
            )
        if key not in layouts:
            raise CheckpointError(
                f"{path}: optimiser state for {key!r}, which the model does not have"
            )
        if slot not in layouts[key]:
            raise CheckpointError(
                f"{path}: 'optim/state/{entry}' is not a slot of {name}, which keeps "
                f"{sorted(layouts[key])}"
            )
        present.setdefault(key, set()).add(slot)
    state: dict[str, dict[str, np.ndarray]] = {}
    for key, layout in layouts.items():
        if key not in present:
            continue  # a parameter not stepped yet: its state is made at its first step
        missing = sorted(set(layout) - present[key])
        if missing:
            raise CheckpointError(
                f"{path}: optimiser state for {key!r} has no slot {missing[0]!r} "
                f"({name} keeps {sorted(layout)})"
            )
        state[key] = {}
        for slot, (shape, dtype) in layout.items():
            entry = f"optim/state/{key}/{slot}"
            value = archive.array(entry, shape, "f" if dtype.kind == "f" else "iu")
            if dtype.kind != "f" and value.size and not 0 <= value.min() <= value.max() < 2**62:
                raise CheckpointError(f"{path}: {entry!r} holds {value}; expected counts >= 0")
            value = value.astype(dtype)
            state[key][slot] = value
    return state, steps


def load(path: str | os.PathLike, model: Sequential, optimizer: Optimizer | None = None) -> None:
    """Copy the weights (and optimiser state) of ``path`` into ``model`` (and ``optimizer``).

    Everything is read and checked into a staging copy first, then committed in one pass that
    cannot fail: on any error the model and the optimiser are unchanged.
    """
    path = Path(path)
    params, buffers = model.parameters(), model.buffers()
    layouts = {k: _slots(optimizer, p) for k, p in params.items()} if optimizer else {}
    values = sum(a.size for a in [*params.values(), *buffers.values()]) + sum(
        math.prod(shape) for slots in layouts.values() for shape, _ in slots.values()
    )
    with _Archive(path, BYTES_PER_VALUE * values + SLACK_BYTES) as archive:
        staged_params = _stage(archive, "param", params)
        staged_buffers = _stage(archive, "buffer", buffers)
        if optimizer is not None:
            state, steps = _stage_optimizer(archive, optimizer, layouts)
    for key, value in staged_params.items():
        params[key][...] = value
    for key, value in staged_buffers.items():
        buffers[key][...] = value
    if optimizer is not None:
        optimizer.state, optimizer.steps = state, steps


def load_layers(
    path: str | os.PathLike, model: Sequential, layers: list[str] | None = None
) -> None:
    """Copy the parameters and buffers of the named ``layers`` (None: every layer of the model
    that has any) from ``path`` into ``model``: transfer learning from a model trained on other
    data, whose remaining layers (a new head) differ. Checked before anything is copied."""
    path = Path(path)
    model.materialize()
    with_weights = [lay.name for lay in model.leaves() if lay.params or lay.running]
    names = with_weights if layers is None else list(layers)
    unknown = [n for n in names if n not in with_weights]
    if unknown:
        raise CheckpointError(
            f"{path}: cannot load layer {unknown[0]!r}: the model has no such layer with "
            f"weights (it has {with_weights})"
        )
    chosen = {f"{n}." for n in names}
    params, buffers = model.parameters(), model.buffers()
    values = sum(a.size for a in [*params.values(), *buffers.values()])
    staged = []
    with _Archive(path, TRANSFER_BYTES_PER_VALUE * values + SLACK_BYTES) as archive:
        for section, targets in (("param", params), ("buffer", buffers)):
            for key, target in targets.items():
                if key[: key.index(".") + 1] not in chosen:
                    continue
                value = archive.array(f"{section}/{key}", target.shape, "f")
                if value is None:
                    raise CheckpointError(f"{path}: has no {section} {key!r} to load")
                staged.append((target, value.astype(target.dtype)))
    for target, value in staged:
        target[...] = value
