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
with a different head and its optimiser state), plus ``SLACK_BYTES``, plus ``ENTRY_BYTES`` and
its name twice per entry; each member read is checked against the size its expected shape
allows, first in the zip directory, then in its .npy header. Only regular files are opened (not
a FIFO or a device, which would block or never end). The reading is nnsim/checkpoint_reader.py.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .atomic import write_atomically
from .checkpoint_reader import BYTES_PER_VALUE, FORMAT, Archive, CheckpointError
from .model import Sequential
from .optim import OPTIMIZERS, Optimizer

__all__ = ["CheckpointError", "FORMAT", "load", "load_layers", "read", "save"]
TRANSFER_BYTES_PER_VALUE = 64
SLACK_BYTES = 1 << 20  # the tags and the hyperparameters, with room to spare
ENTRY_BYTES = 512  # an entry's zip headers and .npy header, besides its name
READ_LIMIT = 1 << 31  # ``read`` without a model: at most 2 GiB


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


def read(path: str | os.PathLike, max_bytes: int = READ_LIMIT) -> dict[str, np.ndarray]:
    """Every array of a checkpoint of at most ``max_bytes``, read fully (so a damaged member
    fails here); numbers and text only."""
    arrays = {}
    with Archive(Path(path), max_bytes) as archive:
        for entry in archive.members:
            value = archive.array(entry, None, "fiubU", width=max_bytes, total=max_bytes)
            arrays[entry] = value.copy()  # writable, like np.load's
    return arrays


def _overhead(entries: list[str]) -> int:
    """What a checkpoint holds besides its values: the tags and hyperparameters, and per entry
    its zip headers (name twice) and .npy header."""
    return SLACK_BYTES + sum(ENTRY_BYTES + 2 * len(e.encode()) for e in entries)


def _stage(archive: Archive, section: str, targets: dict[str, np.ndarray]) -> dict:
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


def _count(archive: Archive, entry: str, what: str) -> int:
    value = archive.array(entry, (), "iu")
    if value is None:
        raise CheckpointError(f"{archive.path}: has no {entry!r} ({what})")
    count = int(value)
    if not 0 <= count < 2**62:
        raise CheckpointError(f"{archive.path}: {entry!r} is {count}; expected {what} >= 0")
    return count


def _stage_optimizer(
    archive: Archive, optimizer: Optimizer, layouts: dict[str, dict]
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
    layouts = {} if optimizer is None else {k: _slots(optimizer, p) for k, p in params.items()}
    names = [f"param/{k}" for k in params] + [f"buffer/{k}" for k in buffers]
    names += [f"optim/state/{k}/{slot}" for k, slots in layouts.items() for slot in slots]
    values = sum(a.size for a in [*params.values(), *buffers.values()]) + sum(
        math.prod(shape) for slots in layouts.values() for shape, _ in slots.values()
    )
    with Archive(path, BYTES_PER_VALUE * values + _overhead(names)) as archive:
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
    names = [f"param/{k}" for k in params] + [f"buffer/{k}" for k in buffers]
    limit = TRANSFER_BYTES_PER_VALUE * values + _overhead(names * 4)  # 4: with optimiser state
    staged = []
    with Archive(path, limit) as archive:
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
