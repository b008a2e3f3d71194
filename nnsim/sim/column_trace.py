"""The traces of the runs that are not one network (a GAN, an optimiser race): a table of
named columns, one row per iteration, written like a network's Trace as .csv, .npz (no
pickle) or .jsonl, atomically. Column names follow the network trace's: model-wide values by
name (``d_loss``), per-part values as ``part.value`` (``adam.height``)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path

import numpy as np

from .trace import export_by_suffix


class ColumnTrace:
    """Export for a trace that can give its ``columns()``: ``{"iteration": ints, name:
    floats, ...}``, every column as long as ``iteration``."""

    def columns(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(iterations, values) of one column."""
        columns = self.columns()
        if name not in columns or name == "iteration":
            known = [c for c in columns if c != "iteration"]
            raise KeyError(f"no column {name!r}; columns: {known}")
        return columns["iteration"], columns[name]

    def rows(self):
        """One dict per iteration; NaN where a value was not measured."""
        columns = self.columns()
        names = list(columns)
        for r in range(len(columns["iteration"])):
            row = {n: float(columns[n][r]) for n in names}
            row["iteration"] = int(columns["iteration"][r])
            yield row

    def export(self, path: str | os.PathLike) -> Path:
        """Write the trace as .csv, .npz or .jsonl (by the file's suffix), atomically."""
        return export_by_suffix(path, {".csv": self._csv, ".npz": self._npz, ".jsonl": self._jsonl})

    def _csv(self, handle) -> None:
        columns = self.columns()
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(list(columns))
        values = [columns[name].tolist() for name in columns]
        for r, iteration in enumerate(values[0]):
            writer.writerow([int(iteration), *(repr(float(v[r])) for v in values[1:])])
        handle.write(text.getvalue().encode())

    def _npz(self, handle) -> None:
        np.savez(handle, **self.columns())

    def _jsonl(self, handle) -> None:
        for row in self.rows():
            clean = {k: v if math.isfinite(v) else None for k, v in row.items()}
            handle.write((json.dumps(clean, allow_nan=False) + "\n").encode())
