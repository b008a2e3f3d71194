"""Weight initialisers, with fan_in and fan_out computed from the shape as torch.nn.init does.

For a 2-D weight (out, in): fan_in = in, fan_out = out. For a convolution weight
(F, C, KH, KW): fan_in = C*KH*KW, fan_out = F*KH*KW. ``rng`` is a numpy.random.Generator,
so the same seed gives the same weights.
"""

from __future__ import annotations

import math

import numpy as np

Shape = tuple[int, ...]


def fan_in_and_out(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape``; needs at least two dimensions."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan_in and fan_out need a weight with at least 2 dimensions, got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def xavier_uniform(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    _check(rng)
    fan_in, fan_out = fan_in_and_out(shape)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(dtype)


def xavier_normal(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check(rng)
    fan_in, fan_out = fan_in_and_out(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal(size=shape) * std).astype(dtype)


def he_uniform(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """U(-b, b) with b = sqrt(6 / fan_in): kaiming_uniform_ with the ReLU gain sqrt(2)."""
    _check(rng)
    fan_in, _ = fan_in_and_out(shape)
    b = math.sqrt(6.0 / fan_in)
    return rng.uniform(-b, b, size=shape).astype(dtype)


def he_normal(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """N(0, 2 / fan_in): kaiming_normal_ with the ReLU gain (He et al., 2015)."""
    _check(rng)
    fan_in, _ = fan_in_and_out(shape)
    return (rng.standard_normal(size=shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


def normal(
    shape: Shape, rng: np.random.Generator, std: float, mean: float = 0.0, dtype=np.float64
) -> np.ndarray:
    """N(mean, std^2)."""
    _check(rng)
    return (rng.standard_normal(size=shape) * std + mean).astype(dtype)


def uniform(
    shape: Shape, rng: np.random.Generator, low: float, high: float, dtype=np.float64
) -> np.ndarray:
    """U(low, high)."""
    _check(rng)
    if not low < high:
        raise ValueError(f"uniform: low must be below high, got low={low}, high={high}")
    return rng.uniform(low, high, size=shape).astype(dtype)


def zeros(shape: Shape, dtype=np.float64) -> np.ndarray:
    """All zeros: no symmetry breaking (see the init_schemes lesson)."""
    return np.zeros(shape, dtype=dtype)


def torch_default(shape: Shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): what torch.nn.Linear and Conv2d start from.

    (kaiming_uniform_ with a = sqrt(5); the layers use the same bound for their biases.)
    """
    _check(rng)
    fan_in, _ = fan_in_and_out(shape)
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def orthogonal(
    shape: Shape, rng: np.random.Generator, gain: float = 1.0, dtype=np.float64
) -> np.ndarray:
    """A (semi-)orthogonal matrix times ``gain`` (torch.nn.init.orthogonal_): QR of a Gaussian
    matrix with the signs of R's diagonal folded into Q, so Q is uniform over rotations.

    For a square matrix every singular value, and so the spectral radius, is exactly ``gain``:
    the matrix scales every vector's norm by ``gain``.
    """
    _check(rng)
    if len(shape) != 2:
        raise ValueError(f"orthogonal: needs a 2-D shape (rows, cols), got {tuple(shape)}")
    rows, cols = shape
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
    if scheme in INITIALISERS:
        return INITIALISERS[scheme](shape, rng, dtype=dtype)
    raise ValueError(f"unknown init {scheme!r}; choose one of {sorted(SCHEMES)}")


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
