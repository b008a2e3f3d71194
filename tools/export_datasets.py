"""Export the digits, iris and breast cancer data sets from a scikit-learn wheel, once.

The files under nnsim/data/files/ were made by this script from scikit_learn-1.9.1 (the wheel
is only read, never installed, and nnsim does not depend on scikit-learn):

    pip download scikit-learn==1.9.1 --no-deps -d /tmp/skl
    python tools/export_datasets.py /tmp/skl/scikit_learn-1.9.1-*.whl

Each .npz holds x, y, class_names and feature_names (all without pickle).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "nnsim" / "data" / "files"
DATA = "sklearn/datasets/data/"


def _rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _with_header(text: str):
    rows = _rows(text)
    n, d, *class_names = rows[0]
    body = np.array(rows[1:], dtype=np.float64)
    assert body.shape == (int(n), int(d) + 1), body.shape
    return body[:, :-1], body[:, -1].astype(np.int64), np.array(class_names)


def main(wheel: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as whl:
        digits = np.array(_rows(gzip.decompress(whl.read(DATA + "digits.csv.gz")).decode()))
        images = digits[:, :64].astype(np.float64).astype(np.uint8).reshape(-1, 8, 8)
        labels = digits[:, 64].astype(np.float64).astype(np.int64)
        np.savez_compressed(
            OUT / "digits.npz",
            x=images,
            y=labels,
            class_names=np.array([str(i) for i in range(10)]),
            feature_names=np.array([f"pixel_{r}_{c}" for r in range(8) for c in range(8)]),
        )
        x, y, names = _with_header(whl.read(DATA + "iris.csv").decode())
        np.savez_compressed(
            OUT / "iris.npz",
            x=x,
            y=y,
            class_names=names,
            feature_names=np.array(
                ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
            ),
        )
        x, y, names = _with_header(whl.read(DATA + "breast_cancer.csv").decode())
        source = whl.read("sklearn/datasets/_base.py").decode()
        block = source[source.index('"mean radius"') :]
        features = re.findall(r'"([a-z ]+)"', block[: block.index("]")])
        assert len(features) == 30, features
        np.savez_compressed(
            OUT / "breast_cancer.npz", x=x, y=y, class_names=names, feature_names=np.array(features)
        )
    print(f"wrote {sorted(p.name for p in OUT.glob('*.npz'))} to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
