"""The Trace: every diagnostic of every iteration, in preallocated arrays of bounded size.

Rows are iterations. When the arrays are full, every other row is dropped and from then on
only iterations that are multiples of the doubled ``stride`` are kept: old history thins out
evenly while the memory stays fixed. Because a row is kept exactly when its iteration is a
multiple of the current stride, two runs that reach the same iteration hold the same rows, with
or without a rewind in between. Export writes CSV, NPZ (no pickle) or JSON Lines, atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from .diagnostics import METRICS, VERDICTS

MODEL_COLUMNS = ("loss", "accuracy", "val_loss", "val_accuracy", "global_grad_norm")


class Trace:
    """Per-iteration model values, per-layer metrics and verdicts, and recurrent dL/dh_t norms."""

    def __init__(
        self, layers: list[str], recurrent_steps: dict[str, int], capacity: int = 4096
    ) -> None:
        if capacity < 2:
            raise ValueError(f"trace capacity must be at least 2, got {capacity}")
        self.layers = list(layers)
        self.capacity = capacity
        self.stride = 1
        self.count = 0
        self.iterations = np.zeros(capacity, dtype=np.int64)
        self.model = {name: np.full(capacity, np.nan) for name in MODEL_COLUMNS}
        self.metrics = np.full((capacity, len(layers), len(METRICS)), np.nan)  # (rows, L, M)
        self.verdicts = np.zeros((capacity, len(layers)), dtype=np.int8)  # index in VERDICTS
        self.dh_norms = {
            name: np.full((capacity, t), np.nan) for name, t in recurrent_steps.items()
        }

    @property
    def nbytes(self) -> int:
        arrays = [self.iterations, self.metrics, self.verdicts, *self.model.values()]
        return sum(a.nbytes for a in [*arrays, *self.dh_norms.values()])

    def add_column(self, name: str) -> None:
        """One more per-iteration model column (a watch expression), NaN before it existed."""
        if name not in self.model:
            self.model[name] = np.full(self.capacity, np.nan)

    def append(
        self,
        iteration: int,
        model: dict[str, float],
        metrics: np.ndarray,
        verdicts: list[str] | np.ndarray,
        dh_norms: dict[str, np.ndarray],
    ) -> None:
        """Record one iteration (unless the current stride thins it away)."""
        if self.count and iteration <= self.iterations[self.count - 1]:
            raise ValueError(
                f"trace rows must go forward: iteration {iteration} after "
                f"{self.iterations[self.count - 1]}; truncate first when rewinding"
            )
        if iteration % self.stride:
            return
        if self.count == self.capacity:
            self._thin()
            if iteration % self.stride:
                return
        row = self.count
        self.iterations[row] = iteration
        for name, column in self.model.items():
            column[row] = model.get(name, math.nan)
        self.metrics[row] = metrics
        if isinstance(verdicts, np.ndarray):  # indices in VERDICTS already
            self.verdicts[row] = verdicts
        else:
            self.verdicts[row] = [VERDICTS.index(v) for v in verdicts]
        for name, norms in dh_norms.items():
            self.dh_norms[name][row] = norms
        self.count += 1

    def _thin(self) -> None:
        self.stride *= 2
        keep = np.flatnonzero(self.iterations[: self.count] % self.stride == 0)
        for array in self._row_arrays():
            array[: len(keep)] = array[keep]
        self.count = len(keep)

    def _row_arrays(self):
        return [
            self.iterations,
            self.metrics,
            self.verdicts,
            *self.model.values(),
            *self.dh_norms.values(),
        ]

    def truncate(self, iteration: int) -> None:
        """Forget the rows of ``iteration`` and later (rewinding to its start)."""
        self.count = int(np.searchsorted(self.iterations[: self.count], iteration))

    # ---------------------------------------------------------------- reading

    def series(self, name: str, layer: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, values) of a model column, or of a layer metric."""
        rows = slice(0, self.count)
        if layer is None:
            if name not in self.model:
                raise KeyError(f"no model column {name!r}; columns: {tuple(self.model)}")
            return self.iterations[rows].copy(), self.model[name][rows].copy()
        if layer not in self.layers:
            raise KeyError(f"no layer {layer!r} in the trace; layers: {self.layers}")
        if name not in METRICS:
            raise KeyError(f"no metric {name!r}; metrics: {METRICS}")
        column = self.metrics[rows, self.layers.index(layer), METRICS.index(name)]
        return self.iterations[rows].copy(), column.copy()

    def rows(self):
        """One dict per recorded iteration (NaN where a value does not apply)."""
        for r in range(self.count):
            layers = {}
            for j, name in enumerate(self.layers):
                values = {m: float(self.metrics[r, j, k]) for k, m in enumerate(METRICS)}
                values["verdict"] = VERDICTS[self.verdicts[r, j]]
                layers[name] = values
            yield {
                "iteration": int(self.iterations[r]),
                **{k: float(v[r]) for k, v in self.model.items()},
                "layers": layers,
                "dh_norms": {k: v[r].tolist() for k, v in self.dh_norms.items()},
            }

    # ---------------------------------------------------------------- export

    def export(self, path: str | os.PathLike) -> Path:
        """Write the trace as .csv, .npz or .jsonl (by the file's suffix), atomically."""
        return export_by_suffix(path, {".csv": self._csv, ".npz": self._npz, ".jsonl": self._jsonl})

    def _csv(self, handle) -> None:
        text = io.StringIO()
        writer = csv.writer(text)
        header = ["iteration", *self.model]
        for name in self.layers:
            header += [f"{name}.{m}" for m in METRICS] + [f"{name}.verdict"]
        for name, norms in self.dh_norms.items():
            header += [f"{name}.dh_norm_t{t + 1}" for t in range(norms.shape[1])]
        writer.writerow(header)
        for r in range(self.count):
            row: list[object] = [int(self.iterations[r])]
            row += [repr(float(column[r])) for column in self.model.values()]
            for j in range(len(self.layers)):
                row += [repr(float(v)) for v in self.metrics[r, j]]
                row.append(VERDICTS[self.verdicts[r, j]])
            for norms in self.dh_norms.values():
                row += [repr(float(v)) for v in norms[r]]
            writer.writerow(row)
        handle.write(text.getvalue().encode())

    def _npz(self, handle) -> None:
        rows = slice(0, self.count)
        arrays = {
            "iteration": self.iterations[rows],
            "metrics": self.metrics[rows],
            "verdicts": self.verdicts[rows],
            "layer_names": np.array(self.layers),
            "metric_names": np.array(METRICS),
            "verdict_names": np.array(VERDICTS),
        }
        arrays.update({name: values[rows] for name, values in self.model.items()})
        arrays.update({f"dh_norms/{k}": v[rows] for k, v in self.dh_norms.items()})
        np.savez(handle, **arrays)

    def _jsonl(self, handle) -> None:
        for row in self.rows():
            handle.write((json.dumps(_finite_or_null(row), allow_nan=False) + "\n").encode())


def _finite_or_null(value):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_null(v) for v in value]
    return value


def export_by_suffix(path: str | os.PathLike, writers: dict) -> Path:
    """Write ``path`` atomically with the writer of its suffix (.csv, .npz or .jsonl)."""
    path = Path(path)
    if path.suffix not in writers:
        suffix = path.suffix or "no suffix"
        raise ValueError(f"{path}: a trace is written as .csv, .npz or .jsonl, not {suffix!r}")
    return write_atomically(path, writers[path.suffix])
