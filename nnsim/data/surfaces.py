"""2-D test surfaces for optimiser trajectories: a point (x, y) is the whole "model".

Each surface gives f and its gradient for points of shape (..., 2), so the same code evaluates
one point of a trajectory or a whole grid for a heatmap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Surface:
    """A differentiable f(x, y) with a suggested start, its minima and a plotting window."""

    name: str
    description: str
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    bounds: tuple[tuple[float, float], tuple[float, float]]  # ((x_low, x_high), (y_low, y_high))

    def value(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def gradient(self, p: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def grid(self, resolution: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xs (R,), ys (R,), f (R, R) with rows along y) over ``bounds``, for a heatmap."""
        xs = np.linspace(*self.bounds[0], resolution)
        ys = np.linspace(*self.bounds[1], resolution)
        points = np.stack(np.meshgrid(xs, ys), axis=-1)  # (R, R, 2)
        return xs, ys, self.value(points)


def _xy(p):
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1] != 2:
        raise ValueError(f"a point on a 2-D surface has shape (..., 2), got {p.shape}")
    return p[..., 0], p[..., 1]


@dataclass(frozen=True)
class IllConditionedQuadratic(Surface):
    """f = (x^2 + kappa y^2) / 2: a long narrow valley; the Hessian's condition number is
    kappa, so a learning rate stable along y crawls along x and plain SGD zig-zags."""

    kappa: float = 25.0

    def value(self, p):
        x, y = _xy(p)
        return 0.5 * (x * x + self.kappa * y * y)

    def gradient(self, p):
        x, y = _xy(p)
        return np.stack([x, self.kappa * y], axis=-1)


@dataclass(frozen=True)
class Saddle(Surface):
    """f = x^2 + y^4/4 - y^2/2: a saddle point at the origin between minima at (0, +-1). From a
    start almost on the ridge (y tiny) plain gradient descent slides into the saddle and waits
    there while y grows by a factor 1 + lr per step; momentum escapes much sooner."""

    def value(self, p):
        x, y = _xy(p)
        return x * x + 0.25 * y**4 - 0.5 * y * y

    def gradient(self, p):
        x, y = _xy(p)
        return np.stack([2 * x, y**3 - y], axis=-1)


@dataclass(frozen=True)
class Rosenbrock(Surface):
    """f = (a - x)^2 + b (y - x^2)^2: a curved banana valley with its minimum at (a, a^2)."""

    a: float = 1.0
    b: float = 100.0

    def value(self, p):
        x, y = _xy(p)
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def gradient(self, p):
        x, y = _xy(p)
        dx = -2 * (self.a - x) - 4 * self.b * x * (y - x * x)
        dy = 2 * self.b * (y - x * x)
        return np.stack([dx, dy], axis=-1)


SURFACES: dict[str, Surface] = {
    "quadratic": IllConditionedQuadratic(
        "quadratic",
        "ill-conditioned quadratic valley",
        (-4.0, 1.0),
        ((0.0, 0.0),),
        ((-5.0, 5.0), (-2.0, 2.0)),
    ),
    "saddle": Saddle(
        "saddle",
        "saddle point between two minima",
        (-1.5, 1e-3),
        ((0.0, -1.0), (0.0, 1.0)),
        ((-2.0, 2.0), (-1.5, 1.5)),
    ),
    "rosenbrock": Rosenbrock(
        "rosenbrock",
        "Rosenbrock's banana valley",
        (-1.2, 1.0),
        ((1.0, 1.0),),
        ((-2.0, 2.0), (-1.0, 3.0)),
    ),
}
