"""Weight initialisers, with fan_in and fan_out computed from the shape as torch.nn.init does.

For a 2-D weight (out, in): fan_in = in, fan_out = out. For a convolution weight
(F, C, KH, KW): fan_in = C*KH*KW, fan_out = F*KH*KW. ``rng`` is a numpy.random.Generator,
so the same seed gives the same weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .functional import _checks as check

Shape = tuple[int, ...]


def fan_in_and_out(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``; needs at least two dimensions."""
    return _fans("fan_in_and_out", check.shape("fan_in_and_out", "shape", shape))


def _fans(fn: str, shape: Shape) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"{fn}: fan_in and fan_out need a weight with at least 2 dimensions, got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _prepare(
    fn: str, shape: Any, rng: Any, dtype: Any, needs_rng: bool = True
) -> tuple[Shape, np.dtype]:
    """The checked shape and dtype of a weight to draw with ``rng``."""
    if needs_rng and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{fn}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    shape = check.shape(fn, "shape", (shape,) if check.is_int(shape) else shape)
    try:
        valid = np.dtype(dtype) in check.FLOAT_DTYPES
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(f"{fn}: dtype must be float32 or float64, got {dtype!r}")
    dtype = np.dtype(dtype)
    check.allocation(fn, "the weight", shape, np.float64)
    return shape, dtype


def _fan_scaled(fn: str, shape: Any, rng: Any, dtype: Any, draw) -> np.ndarray:
    # an empty weight has no fans to scale by and nothing to draw (torch.nn.init: a no-op)
    shape, dtype = _prepare(fn, shape, rng, dtype)
    if math.prod(shape) == 0:
        _fans(fn, shape)
        return np.zeros(shape, dtype=dtype)
    return draw(shape, *_fans(fn, shape)).astype(dtype)


def xavier_uniform(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    gain = check.real("xavier_uniform", "gain", gain, 0.0)

    def draw(shape, fan_in, fan_out):
        a = gain * math.sqrt(6.0 / (fan_in + fan_out))
        if not math.isfinite(2 * a):
            raise ValueError(f"xavier_uniform: gain {gain!r} puts the range beyond float64")
        return rng.uniform(-a, a, size=shape)

    return _fan_scaled("xavier_uniform", shape, rng, dtype, draw)


def xavier_normal(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    gain = check.real("xavier_normal", "gain", gain, 0.0)

    def draw(shape, fan_in, fan_out):
        return rng.standard_normal(size=shape) * (gain * math.sqrt(2.0 / (fan_in + fan_out)))

    return _fan_scaled("xavier_normal", shape, rng, dtype, draw)


def he_uniform(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / fan_in): kaiming_uniform_ with the ReLU gain sqrt(2)."""

    def draw(shape, fan_in, _):
        b = math.sqrt(6.0 / fan_in)
        return rng.uniform(-b, b, size=shape)

    return _fan_scaled("he_uniform", shape, rng, dtype, draw)


def he_normal(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """N(0, 2 / fan_in): kaiming_normal_ with the ReLU gain (He et al., 2015)."""

    def draw(shape, fan_in, _):
        return rng.standard_normal(size=shape) * math.sqrt(2.0 / fan_in)

    return _fan_scaled("he_normal", shape, rng, dtype, draw)


def normal(
    shape: Shape, rng: np.random.Generator, std: float, mean: float = 0.0, dtype=np.float64
) -> np.ndarray:
    """N(mean, std^2)."""
    std = check.real("normal", "std", std, 0.0)
    mean = check.real("normal", "mean", mean)
    shape, dtype = _prepare("normal", shape, rng, dtype)
    return (rng.standard_normal(size=shape) * std + mean).astype(dtype)


def uniform(
    shape: Shape, rng: np.random.Generator, low: float, high: float, dtype=np.float64
) -> np.ndarray:
    """U(low, high)."""
    low, high = check.real("uniform", "low", low), check.real("uniform", "high", high)
    if not low < high:
        raise ValueError(f"uniform: low must be below high, got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"uniform: high - low is beyond float64, got low={low}, high={high}")
    shape, dtype = _prepare("uniform", shape, rng, dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def zeros(shape: Shape, dtype=np.float64) -> np.ndarray:
    """All zeros: no symmetry breaking (see the init_schemes lesson)."""
    shape, dtype = _prepare("zeros", shape, None, dtype, needs_rng=False)
    return np.zeros(shape, dtype=dtype)


def torch_default(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): what torch.nn.Linear and Conv2d start from.

    (kaiming_uniform_ with a = sqrt(5); the layers use the same bound for their biases.)
    """

    def draw(shape, fan_in, _):
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape)

    return _fan_scaled("torch_default", shape, rng, dtype, draw)


def orthogonal(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """A (semi-)orthogonal matrix times ``gain`` (torch.nn.init.orthogonal_): QR of a Gaussian
    matrix with the signs of R's diagonal folded into Q, so Q is uniform over rotations.

    For a square matrix every singular value, and so the spectral radius, is exactly ``gain``:
    the matrix scales every vector's norm by ``gain``.
    """
    gain = check.real("orthogonal", "gain", gain)
    shape, dtype = _prepare("orthogonal", shape, rng, dtype)
    if len(shape) != 2:
        raise ValueError(f"orthogonal: needs a 2-D shape (rows, cols), got {shape}")
    rows, cols = shape
    if rows == 0 or cols == 0:
        return np.zeros(shape, dtype=dtype)
    gaussian = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)  # q (max, min) with orthonormal columns
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).astype(dtype)


def weight(
    scheme: str, shape: Shape, rng: np.random.Generator, std: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """A weight initialised by the scheme of that name; ``std`` is used by normal and uniform.

    "normal" draws N(0, std^2), "uniform" U(-std, std), "orthogonal" an orthogonal matrix
    times std; every other scheme takes no scale.
    """
    std = check.real("weight", "std", std, 0.0)
    if scheme == "default":
        return torch_default(shape, rng, dtype=dtype)
    if scheme == "normal":
        return normal(shape, rng, std, dtype=dtype)
    if scheme == "uniform":
        return uniform(shape, rng, -std, std, dtype=dtype)
    if scheme == "zeros":
        return zeros(shape, dtype=dtype)
    if scheme == "orthogonal":
        return orthogonal(shape, rng, std, dtype=dtype)
    if isinstance(scheme, str) and scheme in INITIALISERS:
        return INITIALISERS[scheme](shape, rng, dtype=dtype)
    raise ValueError(f"weight: unknown init {scheme!r}; choose one of {sorted(SCHEMES)}")


INITIALISERS = {
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "normal": normal,
    "uniform": uniform,
    "zeros": zeros,
    "orthogonal": orthogonal,
}

#: Every name ``weight`` accepts, as the ``init`` of a layer.
SCHEMES = ("default", *INITIALISERS)
