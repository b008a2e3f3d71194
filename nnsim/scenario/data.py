"""[data]: a generator, a shipped data set, or the user's own .npz or .csv file.

[data]
source = "spirals"        # or moons, blobs, logic, imbalanced, sine_waves, adding_problem,
                          # copy_task, reverse_sequences, digits, iris, breast_cancer,
                          # corpus, file, inline,
                          # grid, random
n_per_class = 100         # any option of the generator (nnsim.data)
validation = 0.2          # fractions split off (seeded, stratified)
test = 0.0
standardize = false       # per-feature mean 0, std 1, from the training part
one_hot = false           # class labels as one-hot rows (for MSE on classes)
limit = 0                 # keep only this many training examples (0: all)
keep_classes = [5, 6, 7]  # keep only these classes, relabelled 0, 1, 2 in this order
upsample = 1              # enlarge images by this integer factor
val_shift = 1             # move each validation image by up to 1 pixel (zero fill)
oversample = false        # repeat each class's training examples up to the largest class
undersample = false       # or cut each class's training examples to the rarest class

[data]
source = "corpus"         # the shipped English text (40 characters): windows of `steps`
steps = 32                # characters, y the next character at every position
stride = 1                # keep every stride-th window

[data]
source = "file"
path = "points.csv"       # relative to the scenario; .npz with arrays x and y, or .csv
label_column = "label"    # .csv: the column holding the label (default: the last)

Every source is a loader in ``SOURCES`` (``register`` adds one): it reads its own options
from the table and makes the examples; the splits and transformations above are common.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import data as D
from . import budget
from .data_files import read_user_file
from .errors import did_you_mean
from .schema import Table

#: A data source: reads its own options from the [data] table and makes the examples.
DataSource = Callable[[Table, int], D.Dataset]

#: Every [data] source by name; ``register`` adds one.
SOURCES: dict[str, DataSource] = {}


def register(name: str, loader: DataSource) -> None:
    """Make ``source = name`` in a [data] table call ``loader(table, seed)``."""
    SOURCES[name] = loader


@dataclass(frozen=True, eq=False)
class DataSpec:
    """The [data] table, read and its examples made: the source and the splits."""

    source: str
    train: D.Dataset
    validation: D.Dataset | None
    test: D.Dataset | None
    augment: tuple[int, bool] | None = None  # (shift, flip) applied to every training batch
    text: str | None = None  # the corpus of a "corpus" source (for sampling from the model)

    @property
    def num_classes(self) -> int:
        return self.train.num_classes


def load_data(t: Table, seed: int) -> DataSpec:
    source = t.choice("source", SOURCES)
    validation = t.number("validation", 0.0, minimum=0.0)
    test = t.number("test", 0.0, minimum=0.0)
    if validation + test >= 1:
        raise t.error("validation", f"validation + test must be below 1, got {validation + test:g}")
    split_seed = t.integer("split_seed", seed)
    standardize = t.get("standardize", bool, False)
    whiten = t.get("whiten", bool, False)
    one_hot = t.get("one_hot", bool, False)
    limit = t.integer("limit", 0, minimum=0)
    upsample = t.integer("upsample", 1, minimum=1)
    val_shift = t.integer("val_shift", 0, minimum=0)
    sort_by_class = t.get("sort_by_class", bool, False)
    keep_classes = t.get("keep_classes", list, None)
    oversample = t.get("oversample", bool, False)
    undersample = t.get("undersample", bool, False)
    if oversample and undersample:
        raise t.error("undersample", "oversample and undersample cannot both be set: pick one")
    augment_table = t.table("augment", None)
    augment = None
    if augment_table is not None:
        augment = (
            augment_table.integer("shift", 0, minimum=0),
            augment_table.get("flip", bool, False),
        )
        augment_table.done()
    dataset = SOURCES[source](t, seed)
    text = D.load_corpus() if source == "corpus" else None  # what the model's samples imitate
    t.done()
    if upsample > 1:
        if dataset.x.ndim != 4:
            raise t.error("upsample", f"needs images (N, C, H, W); this data is {dataset.x.shape}")
        _fits(
            t, "upsample", f"the images enlarged {upsample} times", dataset.x.nbytes * upsample**2
        )
        dataset = _replace(dataset, D.upsample(dataset.x, upsample), dataset.y)
    classes = dataset.y.ndim == 1 and dataset.y.dtype.kind in "iu"
    if keep_classes is not None:
        dataset = _keep_classes(t, dataset, keep_classes, classes)
    if validation or test:
        parts = D.split(dataset, validation, test, split_seed, stratify=classes)
        train, val, tst = parts.train, parts.validation, parts.test
    else:
        train, val, tst = dataset, None, None
    if val_shift:
        val = _shift_validation(t, val, val_shift, split_seed)
    if limit:
        train = _replace(train, train.x[:limit], train.y[:limit])
    if oversample:
        if not classes:
            raise t.error("oversample", "needs integer class labels")
        train = _oversample(train, np.random.default_rng(split_seed))
    if undersample:
        if not classes:
            raise t.error("undersample", "needs integer class labels")
        train = _undersample(train, np.random.default_rng(split_seed))
    if sort_by_class:
        if not classes:
            raise t.error("sort_by_class", "needs integer class labels")
        order = np.argsort(train.y, kind="stable")
        train = _replace(train, train.x[order], train.y[order])
    if standardize:
        train, val, tst = _standardize(train, val, tst)
    if whiten:
        if train.x.ndim != 2:
            raise t.error("whiten", f"needs feature vectors (N, D); this data is {train.x.shape}")
        train, val, tst = _whiten(train, val, tst)
    if one_hot:
        if not classes:
            raise t.error("one_hot", "needs integer class labels")
        k = dataset.num_classes or int(dataset.y.max()) + 1
        _fits(t, "one_hot", f"one-hot labels of {k:,} classes", len(dataset.y) * k * 8)
        train, val, tst = (
            None if d is None else _replace(d, d.x, D.one_hot(d.y, k)) for d in (train, val, tst)
        )
    if augment is not None and train.x.ndim != 4:
        raise t.error(
            "augment", f"shifts and flips need images (N, C, H, W); the data is {train.x.shape}"
        )
    return DataSpec(source, train, val, tst, augment, text)


def _shift_validation(t: Table, val: D.Dataset | None, shift: int, seed: int) -> D.Dataset:
    """Each validation image moved by its own seeded offset of up to ``shift`` pixels along
    each axis, zero fill: a test of what the model learned about where a pattern sits."""
    if val is None:
        raise t.error("val_shift", "needs a validation split (validation = 0.2, for example)")
    if val.x.ndim != 4:
        raise t.error("val_shift", f"shifts need images (N, C, H, W); the data is {val.x.shape}")
    if shift >= min(val.x.shape[2:]):
        raise t.error("val_shift", f"must be below the image size {val.x.shape[2:]}, got {shift}")
    return _replace(val, D.random_shift(val.x, shift, np.random.default_rng(seed)), val.y)


def _keep_classes(t: Table, d: D.Dataset, keep: list, has_classes: bool) -> D.Dataset:
    """Only the examples of the classes ``keep``, relabelled 0..len(keep)-1 in that order."""
    if not has_classes:
        raise t.error("keep_classes", "needs integer class labels")
    present = set(np.unique(d.y).tolist())
    if not keep or len(set(keep)) != len(keep) or not all(isinstance(c, int) for c in keep):
        raise t.error(
            "keep_classes", f"expected distinct class numbers, e.g. [5, 6, 7], got {keep}"
        )
    absent = [c for c in keep if c not in present]
    if absent:
        raise t.error(
            "keep_classes", f"class {absent[0]} has no examples (classes: {sorted(present)})"
        )
    rows = np.flatnonzero(np.isin(d.y, keep))
    relabel = np.full(max(present) + 1, -1)
    relabel[keep] = np.arange(len(keep))
    names = tuple(d.class_names[c] for c in keep) if d.class_names else ()
    return D.Dataset(d.name, d.x[rows], relabel[d.y[rows]], names, d.feature_names)


def _oversample(d: D.Dataset, rng: np.random.Generator) -> D.Dataset:
    """Every class repeated (examples drawn with replacement) up to the largest one's count."""
    counts = np.bincount(d.y)
    rows = [np.flatnonzero(d.y == c) for c in range(len(counts)) if counts[c]]
    target = counts.max()
    picked = np.concatenate(
        [
            r if len(r) == target else np.concatenate([r, rng.choice(r, target - len(r))])
            for r in rows
        ]
    )
    picked = rng.permutation(picked)
    return _replace(d, d.x[picked], d.y[picked])


def _undersample(d: D.Dataset, rng: np.random.Generator) -> D.Dataset:
    """Every class cut (examples drawn without replacement) to the rarest present one's
    count: balanced classes, fewer examples, validation untouched."""
    counts = np.bincount(d.y)
    rows = [np.flatnonzero(d.y == c) for c in range(len(counts)) if counts[c]]
    target = min(len(r) for r in rows)
    picked = np.concatenate([rng.choice(r, target, replace=False) for r in rows])
    picked = rng.permutation(picked)
    return _replace(d, d.x[picked], d.y[picked])


def _replace(d: D.Dataset, x: np.ndarray, y: np.ndarray) -> D.Dataset:
    return D.Dataset(d.name, x, y, d.class_names, d.feature_names)


def _standardize(train, val, test):
    mean = train.x.mean(axis=0)
    std = train.x.std(axis=0)
    std[std == 0] = 1.0
    return tuple(
        None if d is None else _replace(d, (d.x - mean) / std, d.y) for d in (train, val, test)
    )


def _inline(t: Table, seed: int) -> D.Dataset:
    """x and y written in the scenario itself: a handful of examples to follow by hand."""
    try:
        x = np.array(t.get("x", list), dtype=np.float64)
        y = np.array(t.get("y", list))
    except (TypeError, ValueError) as err:
        raise t.error("x", f"x and y must be (nested) lists of numbers: {err}") from None
    if x.ndim < 2 or len(x) != len(y):
        raise t.error(
            "x", f"x needs one row per example and y one entry per row; x {x.shape}, y {y.shape}"
        )
    if y.dtype.kind == "f" and y.ndim == 1 and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    classes = tuple(str(c) for c in range(int(y.max()) + 1)) if y.dtype.kind in "iu" else ()
    return D.Dataset("inline", x, y, classes)


def _whiten(train, val, test):
    """PCA whitening from the training part: x -> (x - mean) U diag(1/sqrt(eigenvalue)), so the
    training features are uncorrelated with unit variance (identity covariance)."""
    mean = train.x.mean(axis=0)
    centred = train.x - mean
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred / len(centred))
    transform = vectors / np.sqrt(np.maximum(eigenvalues, 1e-12))  # (D, D)
    return tuple(
        None if d is None else _replace(d, (d.x - mean) @ transform, d.y)
        for d in (train, val, test)
    )


def _generated(source: str, fn: Callable[..., D.Dataset]) -> DataSource:
    """A generator or shipped set of nnsim.data, its keyword arguments the table's options."""

    def load(t: Table, seed: int) -> D.Dataset:
        return _generate(t, source, fn, t.rest(), seed)

    return load


def _generate(t: Table, source: str, fn, options: dict, seed: int) -> D.Dataset:
    accepted = [p for p in inspect.signature(fn).parameters if p not in ("seed", "dtype")]
    for key in options:
        if key not in accepted:
            raise t.error(key, f"unknown option {key!r} of {source}{did_you_mean(key, accepted)}")
    parameters = inspect.signature(fn).parameters
    kwargs = {}
    for key, value in options.items():  # checked against the generator's annotations
        kind = _ANNOTATED.get(str(parameters[key].annotation))
        kwargs[key] = value if kind is None else t.get(key, kind)
    key, nbytes = budget.generated_bytes(fn, kwargs)
    _fits(t, key, f"the examples of {source}", nbytes)
    if "seed" in inspect.signature(fn).parameters:
        kwargs["seed"] = seed
    try:
        return fn(**kwargs)
    except (TypeError, ValueError) as err:
        raise t.error(None, f"{source}: {err}") from None


_ANNOTATED = {"str": str, "int": int, "float": float, "bool": bool}


def _fits(t: Table, key: str | None, what: str, nbytes: float) -> None:
    """Refuse data that would not fit the memory budget, before making it."""
    too_big = budget.problem([budget.Part(what, nbytes)])
    if too_big is not None:
        raise t.error(key, too_big)


def _random(t: Table, seed: int) -> D.Dataset:
    shape = t.get("shape", list)
    if not shape or not all(isinstance(v, int) and v > 0 for v in shape):
        raise t.error(
            "shape", f"expected positive sizes per example, e.g. [1, 28, 28], got {shape!r}"
        )
    n, classes = t.integer("n", 8, minimum=1), t.integer("classes", 2, minimum=2)
    _fits(t, "n", f"{n:,} random examples", 8 * n * (math.prod(shape) + 1))
    rng = np.random.default_rng(seed)
    return D.Dataset(
        "random",
        rng.standard_normal((n, *shape)),
        rng.integers(0, classes, n),
        tuple(str(c) for c in range(classes)),
    )


def _corpus(t: Table, seed: int) -> D.Dataset:
    steps = t.integer("steps", 32, minimum=1)
    stride = t.integer("stride", 1, minimum=1)
    indices, alphabet = D.encode_text(D.load_corpus())
    if steps >= len(indices):
        raise t.error("steps", f"must be below the corpus's {len(indices)} characters")
    _fits(t, "steps", f"windows of {steps} characters", 16 * len(indices) * steps)
    x, y = D.text_windows(indices, steps)  # (M, steps) each
    return D.Dataset("corpus", x[::stride], y[::stride], alphabet)


def _grid(t: Table, seed: int) -> D.Dataset:
    low, high = t.number("low", -10.0), t.number("high", 10.0)
    n = t.integer("n", 201, minimum=2)
    _fits(t, "n", f"{n:,} grid points", 16 * n)
    if not low < high:
        raise t.error("high", f"must be above low ({low:g}), got {high:g}")
    x = np.linspace(low, high, n)[:, None]  # (n, 1): one input value per example
    return D.Dataset("grid", x, np.zeros((n, 1)))


for _name, _fn in {
    "logic": D.logic_gate,
    "spirals": D.spirals,
    "moons": D.moons,
    "blobs": D.blobs,
    "imbalanced": D.imbalanced,
    "sine_waves": D.sine_waves,
    "adding_problem": D.adding_problem,
    "copy_task": D.copy_task,
    "reverse_sequences": D.reverse_sequences,
    "digits": D.load_digits,
    "iris": D.load_iris,
    "breast_cancer": D.load_breast_cancer,
}.items():
    register(_name, _generated(_name, _fn))
for _name, _loader in {
    "corpus": _corpus,
    "file": read_user_file,
    "inline": _inline,
    "grid": _grid,
    "random": _random,
}.items():
    register(_name, _loader)
