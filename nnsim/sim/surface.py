"""Optimisers racing on a 2-D surface: the "model" is one point (x, y) per optimiser.

Every optimiser starts from the same point; ``step`` moves each of them once, with its own
update rule on the surface's exact gradient. The paths, gradients and effective step sizes
are kept for drawing and for the lesson's checks, which name optimisers where a network's
checks name layers: ``distance(sgd) > 0.5 and distance(momentum) < 0.1``.
"""

from __future__ import annotations

import math

import numpy as np

from ..data.surfaces import Surface
from ..optim import Optimizer
from .column_trace import ColumnTrace
from .conditions import Checks
from .registry import register


class SurfaceRun(Checks):
    """Several optimisers from one start on one surface, stepped together; ``trace`` gives
    every optimiser's point, height and step length per iteration."""

    kind = "surface"

    def __init__(
        self,
        surface: Surface,
        optimizers: dict[str, Optimizer],
        start: tuple[float, float],
        iterations: int,
    ) -> None:
        if not optimizers:
            raise ValueError("a surface run needs at least one optimiser")
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        self.surface, self.optimizers = surface, dict(optimizers)
        self.names = list(optimizers)
        self.start = np.array(start, dtype=np.float64)  # (2,)
        self.iterations = int(iterations)
        count = len(self.names)
        self.paths = np.full((count, self.iterations + 1, 2), np.nan)  # (optimisers, t, 2)
        self.grads = np.full((count, self.iterations + 1, 2), np.nan)  # gradient at each point
        self.paths[:, 0] = self.start
        self.grads[:, 0] = surface.gradient(self.start)
        self.points = {name: self.start.copy() for name in self.names}  # updated in place
        self.diverged: dict[str, int] = {}  # optimiser -> iteration its point became non-finite
        self.completed = 0
        self.stopped = None  # the Simulator's protocol: a surface run never stops early
        self.trace = SurfaceTrace(self)

    @property
    def iteration(self) -> int:
        return self.completed

    def step(self) -> None:
        """Move every optimiser one step (those whose point diverged stay where they were)."""
        if self.completed >= self.iterations:
            return
        t = self.completed + 1
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is recorded, not warned
            self._step_all(t)
        self.completed = t

    def _step_all(self, t: int) -> None:
        for i, name in enumerate(self.names):
            point = self.points[name]
            if name not in self.diverged:
                gradient = self.surface.gradient(point)  # (2,)
                self.optimizers[name].step({"p": point}, {"p": gradient})
                if not np.all(np.isfinite(point)):
                    self.diverged[name] = t
            self.paths[i, t] = point
            self.grads[i, t] = self.surface.gradient(point)

    def run(self, iterations: int):
        """Run ``iterations`` more steps (to the last at most); returns None (no events)."""
        for _ in range(max(0, min(iterations, self.iterations - self.completed))):
            self.step()
        return None

    def path(self, name: str) -> np.ndarray:
        """(completed + 1, 2): the points of ``name`` from the start to now."""
        return self.paths[self._index(name), : self.completed + 1].copy()

    def _index(self, name: str) -> int:
        if name not in self.names:
            raise KeyError(f"no optimiser {name!r}; optimisers: {', '.join(self.names)}")
        return self.names.index(name)

    # ---------------------------------------------------------------- what checks read

    def distance(self, name: str) -> float:
        """Distance from the optimiser's point to the nearest minimum of the surface."""
        point = self.paths[self._index(name), self.completed]
        return min(math.dist(point, m) for m in self.surface.minima)

    def step_sizes(self, name: str) -> np.ndarray:
        """(completed,) the length of every step taken so far."""
        path = self.path(name)
        return np.linalg.norm(np.diff(path, axis=0), axis=1)

    def lr_monotone(self, name: str) -> float:
        """The fraction of steps after the first in which no coordinate's effective learning
        rate |Δp| / |g| grew: 1.0 for Adagrad (its accumulator only grows), below 1 for an
        optimiser whose steps can lengthen again (momentum, RMSprop, Adam)."""
        i = self._index(name)
        path = self.paths[i, : self.completed + 1]  # (t + 1, 2)
        steps = np.abs(np.diff(path, axis=0))  # (t, 2)
        grads = np.abs(self.grads[i, : self.completed])  # (t, 2): the gradient each step used
        # a step within a millionth of the point's size carries rounding errors of up to 1e-10
        # of itself; smaller ones (a converged coordinate) say nothing about the rate
        usable = (grads > 1e-8) & (steps > 1e-6 * (1.0 + np.abs(path[:-1])))
        rate = np.where(usable, steps / np.where(usable, grads, 1.0), np.nan)  # (t, 2)
        if len(rate) < 2:
            return math.nan
        previous, current = rate[:-1], rate[1:]
        comparable = ~np.isnan(previous) & ~np.isnan(current)
        grew = comparable & (current > previous * (1 + 1e-9))
        return float(1.0 - np.mean(grew.any(axis=1)))

    def height(self, name: str) -> float:
        """The surface's value at the optimiser's point."""
        return float(self.surface.value(self.paths[self._index(name), self.completed]))

    def step_size(self, name: str, first: bool = False) -> float:
        """The length of the last step (of the first, with ``first``); NaN before any."""
        sizes = self.step_sizes(name)
        if not len(sizes):
            return math.nan
        return float(sizes[0] if first else sizes[-1])


class SurfaceTrace(ColumnTrace):
    """Per iteration (0: the start) and optimiser: ``name.x``, ``name.y``, ``name.height``
    and ``name.step_size`` (the step that led there; NaN at the start). Read from the run's
    paths, which it keeps anyway: tracing costs the race nothing."""

    def __init__(self, run: SurfaceRun) -> None:
        self.run = run

    def columns(self) -> dict[str, np.ndarray]:
        run = self.run
        columns = {"iteration": np.arange(run.completed + 1, dtype=np.int64)}
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged path is NaN or inf
            for i, name in enumerate(run.names):
                path = run.paths[i, : run.completed + 1]  # (t + 1, 2)
                steps = np.linalg.norm(np.diff(path, axis=0), axis=1)  # (t,)
                columns[f"{name}.x"] = path[:, 0].copy()
                columns[f"{name}.y"] = path[:, 1].copy()
                columns[f"{name}.height"] = np.asarray(run.surface.value(path), np.float64)
                columns[f"{name}.step_size"] = np.concatenate([[math.nan], steps])
        return columns


# (name, refresh, function, doc) of what a race's checks read of one optimiser, named where
# a network's checks name a layer: distance(sgd)
_OPTIMISER_METRICS = [
    ("distance", "weight", SurfaceRun.distance,
     "surfaces: from the optimiser's point to the nearest minimum"),
    ("height", "weight", SurfaceRun.height, "surfaces: the surface's value at the point"),
    ("step_size", "weight", SurfaceRun.step_size, "surfaces: the length of the last step"),
    ("first_step", "weight", lambda run, name: run.step_size(name, first=True),
     "surfaces: the length of the first step"),
    ("lr_monotone", "weight", SurfaceRun.lr_monotone,
     "surfaces: fraction of steps whose effective learning rate did not grow"),
]  # fmt: skip
for _name, _refresh, _function, _doc in _OPTIMISER_METRICS:
    register(_name, "layer", "surface", _refresh, _doc, _function)
register(
    "nonfinite",
    "model",
    "surface",
    "any",
    "true once a NaN or inf appeared in the run",
    lambda run: bool(run.diverged),
    boolean=True,
)
register(
    "iteration", "variable", "surface", "batch", "iterations completed so far",
    lambda run: float(run.completed),
)  # fmt: skip
