"""[data] source = "file": the learner's own .npz (arrays x and y) or .csv (a label column),
read with every size known first (nnsim/data/files.py) and checked where it is named."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .. import data as D
from ..data.files import DataFileError, read_csv_text, read_npz
from .errors import did_you_mean
from .schema import Table

#: The most classes integer labels read from a file may make (labels 0 .. MAX_CLASSES - 1).
MAX_CLASSES = 10_000


def read_user_file(t: Table, seed: int) -> D.Dataset:
    """The examples of ``path`` (relative to the scenario) with its ``label_column``."""
    path = t.source.path.parent / t.get("path", str)
    return _read_file(t, path, t.get("label_column", str, None))


def _read_file(t: Table, path: Path, label_column: str | None) -> D.Dataset:
    """x and y from the user's .npz (arrays x, y) or .csv file; sizes bounded (nnsim.data.files:
    regular files only, at most 1 GiB of arrays or 64 MiB of text) and labels checked."""
    try:
        if path.suffix == ".npz":
            arrays = read_npz(path, ("x", "y"))
            x, y = arrays["x"], arrays["y"]
        elif path.suffix == ".csv":
            x, y = _read_csv(t, path, label_column)
        else:
            raise t.error("path", f"{path}: data files are .npz (arrays x, y) or .csv")
    except DataFileError as err:
        raise t.error("path", str(err)) from None
    if x.dtype.kind not in "fiu" or x.ndim < 2:
        raise t.error(
            "path", f"{path}: x must be numeric with one row per example, got {x.dtype} {x.shape}"
        )
    if y.dtype.kind not in "fiub" or y.ndim < 1:
        raise t.error(
            "path", f"{path}: y must be numbers, one per example, got {y.dtype} {y.shape}"
        )
    if len(x) != len(y):
        raise t.error("path", f"{path}: x has {len(x)} examples but y has {len(y)}")
    if len(x) == 0:
        raise t.error("path", f"{path}: holds no examples")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise t.error("path", f"{path}: x has a NaN or inf value at {tuple(int(i) for i in bad)}")
    if y.dtype.kind == "b" or y.dtype.kind == "f" and np.all(y == np.round(y)) and y.ndim == 1:
        y = y.astype(np.int64)
    classes = () if y.dtype.kind not in "iu" else _class_names(t, path, y, label_column)
    return D.Dataset(path.stem, x.astype(np.float64), y, classes)


def _class_names(t: Table, path: Path, y: np.ndarray, label_column: str | None) -> tuple:
    """The class names of integer labels 0 .. k - 1; refused above ``MAX_CLASSES`` classes."""
    top = int(y.max())
    if top >= MAX_CLASSES:
        column = f"label column {label_column!r}" if label_column else "label column (y)"
        if path.suffix == ".npz":
            column = "y"
        raise t.error(
            "label_column" if label_column else "path",
            f"{path}: the {column} holds integers up to {top:,}: as class labels that is "
            f"{top + 1:,} classes, over the {MAX_CLASSES:,} allowed. It looks like an id or a "
            f"count, not a class; choose the class column with label_column",
        )
    return tuple(str(c) for c in range(top + 1))


def _read_csv(t: Table, path: Path, label_column: str | None):
    try:
        rows = list(csv.reader(io.StringIO(read_csv_text(path), newline="")))
    except csv.Error as err:
        raise t.error("path", f"{path}: not a readable .csv file: {err}") from None
    if len(rows) < 2:
        raise t.error("path", f"{path}: needs a header line and at least one row")
    header = [h.strip() for h in rows[0]]
    label = label_column or header[-1]
    if label not in header:
        raise t.error(
            "label_column", f"{path} has no column {label!r}{did_you_mean(label, header)}"
        )
    j = header.index(label)
    features, labels = [], []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise t.error(
                "path", f"{path}:{line_no}: {len(row)} values but the header has {len(header)}"
            )
        try:
            values = [float(v) for v in row]
        except ValueError:
            bad = next(v for v in row if not _is_number(v))
            raise t.error("path", f"{path}:{line_no}: {bad!r} is not a number") from None
        labels.append(values.pop(j))
        features.append(values)
    return np.array(features), np.array(labels)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
