"""Generated data sets: logic gates, 2-D classification sets, sequences and GAN targets.

Every generator takes a ``seed`` (or a numpy Generator) and returns float64 inputs with integer
class labels, or float targets for regression, so the same seed gives the same data.
"""

from __future__ import annotations

import numpy as np

from .datasets import Dataset

SeedLike = int | np.random.Generator


def _rng(seed: SeedLike) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _count(name: str, n: int, minimum: int = 1) -> int:
    if not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {n!r}")
    return int(n)


LOGIC_GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0), "nand": (1, 1, 1, 0)}


def logic_gate(kind: str) -> Dataset:
    """The four points of {0,1}^2 labelled by AND, OR, XOR or NAND."""
    key = kind.lower()
    if key not in LOGIC_GATES:
        raise ValueError(f"unknown logic gate {kind!r}; choose one of {list(LOGIC_GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return Dataset(key, x, np.array(LOGIC_GATES[key], dtype=np.int64), ("0", "1"))


def spirals(
    n_per_class: int = 100, classes: int = 2, noise: float = 0.2, turns: float = 1.0, seed=0
) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n spiral set)."""
    n = _count("n_per_class", n_per_class)
    k = _count("classes", classes, 2)
    rng = _rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n), k)  # (k*n,)
    label = np.repeat(np.arange(k), n)
    theta = (
        label * 2 * np.pi / k
        + np.tile(np.linspace(0.0, 2 * np.pi * turns, n), k)
        + rng.standard_normal(k * n) * noise
    )
    x = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1)
    return Dataset("spirals", x, label.astype(np.int64), tuple(map(str, range(k))))


def moons(n: int = 200, noise: float = 0.1, seed=0) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons)."""
    n = _count("n", n, 2)
    rng = _rng(seed)
    outer, inner = n // 2, n - n // 2
    t_out = np.linspace(0, np.pi, outer)
    t_in = np.linspace(0, np.pi, inner)
    x = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], 1),
            np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1),
        ]
    )
    x += rng.standard_normal(x.shape) * noise
    y = np.concatenate([np.zeros(outer), np.ones(inner)]).astype(np.int64)
    return Dataset("moons", x, y, ("0", "1"))


def blobs(
    n: int = 300, centers: int | np.ndarray = 3, std: float = 0.5, dim: int = 2, seed=0
) -> Dataset:
    """Gaussian blobs around ``centers`` (a count, placed at random in [-4, 4]^dim, or an
    array (k, dim)); the examples are split as evenly as possible between them."""
    n = _count("n", n)
    rng = _rng(seed)
    if isinstance(centers, (int, np.integer)):
        means = rng.uniform(-4, 4, size=(_count("centers", centers), dim))
    else:
        means = np.asarray(centers, dtype=np.float64)
        if means.ndim != 2:
            raise ValueError(f"centers must be a count or an array (k, dim), got {means.shape}")
    k = len(means)
    y = np.arange(n) % k
    x = means[y] + rng.standard_normal((n, means.shape[1])) * std
    return Dataset("blobs", x, y.astype(np.int64), tuple(map(str, range(k))))


def imbalanced(n: int = 1000, minority_fraction: float = 0.05, separation: float = 2.0, seed=0):
    """Two overlapping Gaussian classes in 2-D, class 1 the rare one (5 % by default): the
    class-imbalance lesson's 95:5 data, where accuracy hides a useless minority recall."""
    n = _count("n", n, 2)
    if not 0.0 < minority_fraction < 0.5:
        raise ValueError(f"minority_fraction must be in (0, 0.5), got {minority_fraction}")
    rng = _rng(seed)
    minority = max(1, round(n * minority_fraction))
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, minority, replace=False)] = 1
    x = rng.standard_normal((n, 2)) + separation * y[:, None] * np.array([1.0, 1.0]) / np.sqrt(2)
    return Dataset("imbalanced", x, y, ("majority", "minority"))


# ---------------------------------------------------------------- sequences


def sine_waves(n: int = 64, steps: int = 50, seed=0) -> Dataset:
    """Sine waves of random frequency and phase, for next-value prediction:
    x (n, steps, 1) the wave at t, y (n, steps, 1) the wave at t + 1."""
    n, steps = _count("n", n), _count("steps", steps)
    rng = _rng(seed)
    freq = rng.uniform(0.05, 0.25, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    t = np.arange(steps + 1)[None, :]
    wave = np.sin(2 * np.pi * freq * t + phase)  # (n, steps + 1)
    return Dataset("sine_waves", wave[:, :-1, None], wave[:, 1:, None])


def adding_problem(n: int = 256, steps: int = 50, seed=0) -> Dataset:
    """The adding problem (Hochreiter and Schmidhuber, 1997): each step carries a random value
    in [0, 1) and a marker; exactly two steps are marked, one in each half of the sequence, and
    the target is the sum of their values. x (n, steps, 2), y (n, 1). Always answering 1 gives
    a mean squared error of about 1/6, the chance level."""
    n, steps = _count("n", n), _count("steps", steps, 2)
    rng = _rng(seed)
    values = rng.random((n, steps))
    markers = np.zeros((n, steps))
    half = steps // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, steps, size=n)
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=2)
    y = (values[rows, first] + values[rows, second])[:, None]
    return Dataset("adding_problem", x, y)


def copy_task(n: int = 256, length: int = 5, delay: int = 20, symbols: int = 8, seed=0) -> Dataset:
    """The copy task: read ``length`` random symbols, wait ``delay`` blank steps, see the cue,
    then write the symbols back. Tokens: 0 blank, 1 cue, 2.. the symbols. x and y are token
    indices (n, T) with T = 2 * length + delay + 1; y is blank except on the ``length`` recall
    steps, where a model that remembers nothing is right one time in ``symbols``."""
    n = _count("n", n)
    length, symbols = _count("length", length), _count("symbols", symbols, 2)
    delay = _count("delay", delay, 0)
    rng = _rng(seed)
    steps = 2 * length + delay + 1
    data = rng.integers(2, symbols + 2, size=(n, length))
    x = np.zeros((n, steps), dtype=np.int64)
    y = np.zeros((n, steps), dtype=np.int64)
    x[:, :length] = data
    x[:, length + delay] = 1  # the cue
    y[:, length + delay + 1 :] = data
    names = ("blank", "cue", *(f"s{i}" for i in range(symbols)))
    return Dataset("copy_task", x, y, names)


def reverse_sequences(n: int = 1000, length: int = 6, symbols: int = 8, seed=0) -> Dataset:
    """Sequence reversal for encoder-decoders: x (n, length) random tokens 0..symbols-1, y the
    same tokens in reverse order. Output step t must read input step length - 1 - t, so a
    model that attends learns an anti-diagonal attention matrix."""
    n, length, symbols = _count("n", n), _count("length", length), _count("symbols", symbols, 2)
    rng = _rng(seed)
    x = rng.integers(0, symbols, size=(n, length))
    names = tuple(f"s{i}" for i in range(symbols))
    return Dataset("reverse_sequences", x, np.ascontiguousarray(x[:, ::-1]), names)


# ---------------------------------------------------------------- GAN targets


GAN_TARGETS_1D = ("gaussian", "bimodal", "uniform")
GAN_TARGETS_2D = ("ring", "grid", "spiral")


def gan_target_1d(n: int = 1000, kind: str = "bimodal", seed=0) -> np.ndarray:
    """Samples (n, 1) of a 1-D target distribution: "gaussian" N(3, 0.5^2), "bimodal" an even
    mixture of N(-2, 0.5^2) and N(2, 0.5^2), or "uniform" U(-1, 3)."""
    n = _count("n", n)
    rng = _rng(seed)
    if kind == "gaussian":
        x = 3.0 + 0.5 * rng.standard_normal(n)
    elif kind == "bimodal":
        x = np.where(rng.random(n) < 0.5, -2.0, 2.0) + 0.5 * rng.standard_normal(n)
    elif kind == "uniform":
        x = rng.uniform(-1.0, 3.0, n)
    else:
        raise ValueError(f"unknown 1-D target {kind!r}; choose one of {list(GAN_TARGETS_1D)}")
    return x[:, None]


def gan_target_2d(n: int = 1000, kind: str = "ring", seed=0) -> np.ndarray:
    """Samples (n, 2): "ring" 8 Gaussians on a circle of radius 2, "grid" 9 on a 3x3 grid,
    "spiral" a noisy spiral arm."""
    n = _count("n", n)
    rng = _rng(seed)
    if kind == "ring":
        angle = rng.integers(0, 8, n) * (2 * np.pi / 8)
        x = 2.0 * np.stack([np.cos(angle), np.sin(angle)], 1) + 0.05 * rng.standard_normal((n, 2))
    elif kind == "grid":
        x = rng.integers(-1, 2, size=(n, 2)) * 2.0 + 0.05 * rng.standard_normal((n, 2))
    elif kind == "spiral":
        t = rng.uniform(0.5, 3 * np.pi, n)
        x = 0.3 * t[:, None] * np.stack([np.cos(t), np.sin(t)], 1)
        x += 0.05 * rng.standard_normal((n, 2))
    else:
        raise ValueError(f"unknown 2-D target {kind!r}; choose one of {list(GAN_TARGETS_2D)}")
    return x
