"""Seeded splits, mini-batches, image augmentation and resizing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .datasets import Dataset


@dataclass(frozen=True)
class Split:
    """Train, validation and test parts of one data set."""

    train: Dataset
    validation: Dataset
    test: Dataset


def _subset(data: Dataset, rows: np.ndarray, part: str) -> Dataset:
    return Dataset(
        f"{data.name}/{part}", data.x[rows], data.y[rows], data.class_names, data.feature_names
    )


def split(
    data: Dataset,
    validation: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """Shuffle with ``seed`` and split into train/validation/test by the given fractions.

    With ``stratify`` (for class labels) every part keeps the class proportions of the whole,
    up to rounding. The same seed always gives the same parts.
    """
    if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
        raise ValueError(
            f"validation and test must be fractions in [0, 1) summing below 1; "
            f"got validation={validation}, test={test}"
        )
    rng = np.random.default_rng(seed)
    n = len(data.x)
    if stratify and data.y.ndim == 1 and data.y.dtype.kind in "iu":
        groups = [np.flatnonzero(data.y == c) for c in np.unique(data.y)]
    else:
        groups = [np.arange(n)]
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for rows in groups:
        rows = rng.permutation(rows)
        n_test = round(len(rows) * test)
        n_val = round(len(rows) * validation)
        parts["test"].append(rows[:n_test])
        parts["validation"].append(rows[n_test : n_test + n_val])
        parts["train"].append(rows[n_test + n_val :])
    chosen = {k: rng.permutation(np.concatenate(v)) for k, v in parts.items()}
    if len(chosen["train"]) == 0:
        raise ValueError(f"{data.name}: {n} examples leave nothing to train on after the split")
    return Split(*(_subset(data, chosen[k], k) for k in ("train", "validation", "test")))


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    rng: np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (x_batch, y_batch) pairs; with ``shuffle`` a fresh order from ``rng``.

    Without shuffling the batches follow the data's order (the shuffle lesson shows what that
    does to class-sorted data). The last batch is smaller unless ``drop_last``.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x and y must have one entry per example; x {x.shape}, y {y.shape}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if shuffle:
        if rng is None:
            raise ValueError("shuffled batches need an rng (numpy.random.Generator)")
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        rows = order[start : start + batch_size]
        yield x[rows], y[rows]


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image (N, C, H, W) moved by its own random offset in [-max_shift, max_shift] along
    each axis, filling with zeros (translation augmentation)."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"random_shift: images must be (N, C, H, W), got {images.shape}")
    out = np.zeros_like(images)
    h, w = images.shape[2:]
    offsets = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    for i, (dy, dx) in enumerate(offsets):
        src_y = slice(max(0, -dy), min(h, h - dy))
        dst_y = slice(max(0, dy), min(h, h + dy))
        src_x = slice(max(0, -dx), min(w, w - dx))
        dst_x = slice(max(0, dx), min(w, w + dx))
        out[i, :, dst_y, dst_x] = images[i, :, src_y, src_x]
    return out


def random_flip(
    images: np.ndarray, rng: np.random.Generator, p: float = 0.5, axis: str = "horizontal"
) -> np.ndarray:
    """Each image (N, C, H, W) mirrored with probability p, left-right ("horizontal") or
    top-bottom ("vertical"). (Flipping digits changes some of them into other shapes; the
    augmentation lesson shows why shifts suit digits and flips suit natural images.)"""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"random_flip: images must be (N, C, H, W), got {images.shape}")
    if axis not in ("horizontal", "vertical"):
        raise ValueError(f"axis must be 'horizontal' or 'vertical', got {axis!r}")
    flip = rng.random(len(images)) < p
    out = images.copy()
    dim = 3 if axis == "horizontal" else 2
    out[flip] = np.flip(images[flip], axis=dim)
    return out


def upsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of (N, C, H, W) by an integer factor: the 8x8 digits at
    32x32 or 64x64, the input sizes the classic architectures expect."""
    if not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"upsample: images must be (N, C, H, W), got {images.shape}")
    return images.repeat(factor, axis=2).repeat(factor, axis=3)


def one_hot(labels: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """(N,) class indices -> (N, num_classes) rows of 0 and 1 (targets for MSE)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must be in [0, {num_classes}), got {labels.min()}..{labels.max()}"
        )
    out = np.zeros((len(labels), num_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


class BatchStream:
    """An endless stream of mini-batches, epoch after epoch, whose position can be saved and
    restored exactly (the simulator's snapshots and rewind use that).

    With ``shuffle`` each epoch has a fresh order drawn from a generator seeded by ``seed``;
    without it the batches follow the data's order. A short last batch is kept unless
    ``drop_last``; a batch never spans two epochs. ``augment(x, rng)`` transforms every batch
    with the stream's own generator, so augmented runs replay exactly too.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        augment=None,
    ) -> None:
        if len(x) != len(y):
            raise ValueError(f"x and y must have one entry per example; x {x.shape}, y {y.shape}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if drop_last and batch_size > len(x):
            raise ValueError(
                f"batch_size {batch_size} is larger than the {len(x)} examples and drop_last "
                "is set, so there would be no batch at all"
            )
        self.x, self.y = x, y
        self.batch_size = min(int(batch_size), len(x))
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.augment = augment  # f(x_batch, rng) -> x_batch, drawing from this stream's rng
        self.rng = np.random.default_rng(seed)
        self.epoch = 0  # epochs completed
        self.position = 0
        self.order = self._new_order()

    def _new_order(self) -> np.ndarray:
        return self.rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))

    @property
    def batches_per_epoch(self) -> int:
        full, rest = divmod(len(self.x), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.x)
        end = self.position + self.batch_size
        if self.position >= n or (self.drop_last and end > n):
            self.epoch += 1
            self.position, self.order = 0, self._new_order()
            end = self.batch_size
        rows = self.order[self.position : end]
        self.position = end
        x = self.x[rows]
        return (x if self.augment is None else self.augment(x, self.rng)), self.y[rows]

    def state(self) -> dict:
        return {
            "rng": self.rng.bit_generator.state,
            "epoch": self.epoch,
            "position": self.position,
            "order": self.order.copy(),
        }

    def restore(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.epoch, self.position = state["epoch"], state["position"]
        self.order = state["order"].copy()


def augmenter(shift: int = 0, flip: bool = False):
    """The ``augment`` of a BatchStream: random shifts of up to ``shift`` pixels, and
    left-right flips with probability 1/2."""

    def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if shift:
            x = random_shift(x, shift, rng)
        if flip:
            x = random_flip(x, rng)
        return x

    return augment
