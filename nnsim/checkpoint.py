"""Save and load model weights (and optimiser state) as .npz, atomically and without pickle.

A checkpoint holds:
- ``nnsim/format``: the format tag; ``nnsim/dtype``: the model's dtype;
- ``param/<layer>.<name>`` and ``buffer/<layer>.<name>``: every parameter and buffer;
- with an optimiser, ``optim/class``, ``optim/steps``, ``optim/state/<param key>/<slot>`` and,
  for the reader's information (loading keeps the optimiser's own), ``optim/hyper/<name>``.

Writing goes to a temporary file in the same directory, flushed to disk, then renamed over the
target, so a crash never leaves a half-written checkpoint. Loading reads and checks everything
first and only then copies into the model, so a damaged or mismatched file changes nothing; the
error names the file and the first entry that does not fit.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .atomic import write_atomically
from .model import Sequential
from .optim import OPTIMIZERS, Optimizer

FORMAT = "nnsim-checkpoint-1"


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


def read(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of a checkpoint, read fully (so a damaged member fails here)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupted?): {err}"
        ) from None
    tag = arrays.get("nnsim/format")
    if tag is None or str(tag) != FORMAT:
        raise CheckpointError(f"{path}: not an nnsim checkpoint (no '{FORMAT}' format tag)")
    return arrays


def _match(path: Path, section: str, wanted: dict[str, np.ndarray], arrays) -> None:
    stored = {k[len(section) + 1 :] for k in arrays if k.startswith(section + "/")}
    for key, target in wanted.items():
        name = f"{section}/{key}"
        if name not in arrays:
            raise CheckpointError(f"{path}: has no {section} {key!r}, which the model needs")
        value = arrays[name]
        if value.shape != target.shape:
            raise CheckpointError(
                f"{path}: {section} {key!r} has shape {value.shape} in the file but "
                f"{target.shape} in the model"
            )
        if value.dtype.kind != "f":
            raise CheckpointError(
                f"{path}: {section} {key!r} holds {value.dtype} values, not floating point"
            )
    extra = sorted(stored - set(wanted))
    if extra:
        raise CheckpointError(
            f"{path}: holds {section} {extra[0]!r}, which the model does not have "
            f"(a checkpoint of a different model?)"
        )


def load(path: str | os.PathLike, model: Sequential, optimizer: Optimizer | None = None) -> None:
    """Copy the weights (and optimiser state) of ``path`` into ``model`` (and ``optimizer``).

    Everything is checked before anything is copied: on any error the model is unchanged.
    """
    path = Path(path)
    arrays = read(path)
    params, buffers = model.parameters(), model.buffers()
    _match(path, "param", params, arrays)
    _match(path, "buffer", buffers, arrays)
    optim_state: dict[str, dict[str, np.ndarray]] = {}
    if optimizer is not None:
        stored_class = str(arrays.get("optim/class", ""))
        if not stored_class:
            raise CheckpointError(f"{path}: has no optimiser state to load")
        if stored_class != optimizer.name or OPTIMIZERS.get(stored_class) is None:
            raise CheckpointError(
                f"{path}: holds {stored_class!r} optimiser state, not {optimizer.name!r}"
            )
        for name, value in arrays.items():
            if name.startswith("optim/state/"):
                key, slot = name[len("optim/state/") :].rsplit("/", 1)
                if key not in params:
                    raise CheckpointError(
                        f"{path}: optimiser state for {key!r}, which the model does not have"
                    )
                optim_state.setdefault(key, {})[slot] = value.copy()
    for key, target in params.items():
        target[...] = arrays[f"param/{key}"]
    for key, target in buffers.items():
        target[...] = arrays[f"buffer/{key}"]
    if optimizer is not None:
        optimizer.state = optim_state
        optimizer.steps = int(arrays["optim/steps"])


def load_layers(
    path: str | os.PathLike, model: Sequential, layers: list[str] | None = None
) -> None:
    """Copy the parameters and buffers of the named ``layers`` (None: every layer of the model
    that has any) from ``path`` into ``model``: transfer learning from a model trained on other
    data, whose remaining layers (a new head) differ. Checked before anything is copied."""
    path = Path(path)
    arrays = read(path)
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

    def wanted(section_arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: v for k, v in section_arrays.items() if k[: k.index(".") + 1] in chosen}

    params, buffers = wanted(model.parameters()), wanted(model.buffers())
    for section, targets in (("param", params), ("buffer", buffers)):
        for key, target in targets.items():
            name = f"{section}/{key}"
            if name not in arrays:
                raise CheckpointError(f"{path}: has no {section} {key!r} to load")
            if arrays[name].shape != target.shape:
                raise CheckpointError(
                    f"{path}: {section} {key!r} has shape {arrays[name].shape} in the file but "
                    f"{target.shape} in the model"
                )
    for section, targets in (("param", params), ("buffer", buffers)):
        for key, target in targets.items():
            target[...] = arrays[f"{section}/{key}"]
