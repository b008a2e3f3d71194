"""The real data sets shipped in nnsim/data/files (credits in its README.md) and the corpus."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILES = Path(__file__).resolve().parent / "files"


@dataclass(frozen=True)
class Dataset:
    """Examples ``x`` with targets ``y`` (class indices, or values for regression)."""

    name: str
    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...] = ()
    feature_names: tuple[str, ...] = field(default=(), repr=False)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _load(name: str) -> dict[str, np.ndarray]:
    path = FILES / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in ("x", "y", "class_names", "feature_names")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise OSError(
            f"{path}: the shipped {name} data set cannot be read ({err}); reinstall nnsim"
        ) from err


def _dataset(name: str, x: np.ndarray, data: dict[str, np.ndarray]) -> Dataset:
    return Dataset(
        name,
        x,
        data["y"].astype(np.int64),
        tuple(str(s) for s in data["class_names"]),
        tuple(str(s) for s in data["feature_names"]),
    )


def load_digits(scale: bool = True, dtype=np.float64) -> Dataset:
    """The 1 797 8x8 handwritten digits as images x (1797, 1, 8, 8), labels y 0..9.

    With ``scale`` the pixel values 0..16 become 0..1.
    """
    data = _load("digits")
    x = data["x"].astype(dtype)[:, None]  # (1797, 1, 8, 8)
    return _dataset("digits", x / 16.0 if scale else x, data)


def load_iris(dtype=np.float64) -> Dataset:
    """150 irises: x (150, 4) measurements in cm, y 0..2 (setosa, versicolor, virginica)."""
    data = _load("iris")
    return _dataset("iris", data["x"].astype(dtype), data)


def load_breast_cancer(dtype=np.float64) -> Dataset:
    """569 breast masses: x (569, 30) nucleus features, y 0 malignant or 1 benign."""
    data = _load("breast_cancer")
    return _dataset("breast_cancer", data["x"].astype(dtype), data)


def load_corpus() -> str:
    """The small English text (about 3 000 characters) for character-level models."""
    return (FILES / "corpus.txt").read_text(encoding="utf-8")


def encode_text(text: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """(indices (len,), alphabet): each character as its index in the sorted alphabet."""
    alphabet = tuple(sorted(set(text)))
    lookup = {ch: i for i, ch in enumerate(alphabet)}
    return np.array([lookup[ch] for ch in text], dtype=np.int64), alphabet


def decode_text(indices: np.ndarray, alphabet: tuple[str, ...]) -> str:
    return "".join(alphabet[int(i)] for i in indices)


def text_windows(indices: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``steps`` characters (x) with the next character at each step (y):
    x (M, steps), y (M, steps), M = len - steps."""
    if not 1 <= steps < len(indices):
        raise ValueError(f"steps must be in [1, {len(indices) - 1}], got {steps}")
    count = len(indices) - steps
    rows = np.arange(count)[:, None] + np.arange(steps)[None, :]  # (M, steps)
    return indices[rows], indices[rows + 1]
