"""Per-layer measurement, one path for stepping and for whole iterations.

``Measurements`` holds what the diagnostics read (activation statistics, gradient norms, weight
and step sizes, recurrent gradients through time). ``Sweep`` fills it: ``activation(layer)``
and ``gradient(layer)`` measure one layer, and stepping calls them after each micro-op (see
``effects``); ``forward()`` and ``backward()`` call the same two methods for every layer after a
pass that ran whole. The same kernels add the same values in the same order either way, so the
traces of a stepped and a whole run are the same bits.

A whole pass only has to answer *whether* some value is NaN or inf: when one is, the iteration
is replayed micro-op by micro-op from its snapshot, and stepping names the culprit. A finite sum
(a mean, a sum of squares) proves every value in its array finite, so most arrays need no check
of their own.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..kernels import elementwise as ke
from ..layers import Layer
from . import diagnostics as diag


class Measurements:
    """The diagnostics' raw values of the current iteration, by layer name."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.act: dict[str, tuple[float, float, float, float]] = {}
        self.grad_norms: dict[str, float] = {}
        self.weight_norms: dict[str, float] = {}
        self.update_norms: dict[str, float] = {}
        self.dh_norms: dict[str, np.ndarray] = {}  # recurrent: ||dL/dh_t|| per step


class Sweep:
    """Measures layers into ``measurements``. The plan (which layers, their activation codes,
    scratch buffers) is made once per model."""

    def __init__(self, top_layers: list[Layer], measurements: Measurements) -> None:
        self.measurements = measurements
        self.nodes = [layer for top in top_layers for layer in top.walk()]  # forward order
        self.index = {id(layer): i for i, layer in enumerate(self.nodes)}
        self.names = [layer.name for layer in self.nodes]
        self.codes = [diag.activation_code(layer) for layer in self.nodes]
        self.leaves = [layer for layer in self.nodes if not layer.children()]
        # layers whose forward pass in training writes running statistics (BatchNorm)
        self.buffered = [layer for layer in self.leaves if layer.running_shapes()]
        # blocks after everything inside them: their norms combine their leaves' norms
        self.blocks = [layer for layer in reversed(self.nodes) if layer.children()]
        self.stats = np.empty((len(self.nodes), 4))  # (nodes, act_mean .. dead_fraction)
        self.rows = list(self.stats)  # each node's (4,) view, made once
        self.alive = [diag.NO_UNITS] * len(self.nodes)  # per-unit scratch of ReLU layers
        self.squares: list[float] = []  # of each gradient of the last whole backward pass
        self.measured = np.empty(3)  # one layer's (square, square, non-finite count)

    def activation(self, layer: Layer) -> float:
        """Measure (act_mean, act_std, saturation, dead_fraction) of the layer's output;
        returns the mean (NaN when a float output holds NaN or inf)."""
        i = self.index[id(layer)]
        self._measure(i, layer)
        stats = tuple(self.rows[i].tolist())
        self.measurements.act[layer.name] = stats
        return stats[0]

    def _measure(self, i: int, layer: Layer) -> None:
        """Node ``i``'s statistics into its row of ``stats``."""
        self.alive[i] = diag.measure_output(
            layer.output, self.codes[i], self.alive[i], self.rows[i]
        )

    def gradient(self, layer: Layer, squares: list[float]) -> tuple[float, bool]:
        """Measure a leaf's grad_norm (and its gradients through time); returns (the norm,
        whether the measuring proved the gradient it passed back finite). Each gradient's sum
        of squares is appended to ``squares``."""
        if layer.grads:
            norm, covered = _gradient_norm(layer, squares, self.measured)
        else:  # measured on the gradient it passes back, which the norm then covers
            norm = diag.passed_grad_norm(layer)
            covered = math.isfinite(norm)
        self.measurements.grad_norms[layer.name] = norm
        cache = layer.cache
        if type(cache) is F.RecurrentCache and cache.dh is not None:
            self.measurements.dh_norms[layer.name] = F.grad_norms_through_time(cache)
        return norm, covered

    def block_gradient(self, block: Layer) -> float:
        """A block's grad_norm, from the norms of the leaves inside it (measured first)."""
        grad_norms = self.measurements.grad_norms
        grad_norms[block.name] = diag.block_grad_norm(block, grad_norms)
        return grad_norms[block.name]

    def forward(self) -> bool:
        """Measure every layer after a forward pass (as ``activation`` does, the statistics
        copied out at once); False when some float output holds NaN or inf (its mean is then
        not finite)."""
        codes, alive, rows = self.codes, self.alive, self.rows
        for i, layer in enumerate(self.nodes):  # ``_measure`` inlined: one call per layer less
            alive[i] = diag.measure_output(layer.output, codes[i], alive[i], rows[i])
        # a NaN mean is a non-finite output, except for the rows of non-float outputs
        means = self.stats[:, 0]
        finite = bool(np.isfinite(means).all()) or all(
            math.isfinite(mean) or not _is_float(layer.output)
            for mean, layer in zip(means.tolist(), self.nodes, strict=True)
        )
        act = self.measurements.act
        act.update(zip(self.names, map(tuple, self.stats.tolist()), strict=True))
        return finite and self.buffers_finite()

    def buffers_finite(self) -> bool:
        """Whether the running statistics (a handful of (channels,) arrays) are finite: a huge
        batch variance overflows them to inf while the normalised output stays finite."""
        return all(all_finite(a) for layer in self.buffered for a in layer.running.values())

    def backward(self) -> bool:
        """Measure every layer after a backward pass, keeping each gradient's sum of squares
        in ``squares`` (``model.gradients()`` order) for the global norm; False when a
        gradient, or a gradient passed back, holds NaN or inf."""
        ok = True
        self.squares = squares = []
        for layer in self.leaves:
            norm, covered = self.gradient(layer, squares)
            ok = ok and (math.isfinite(norm) or not layer.grads)
            ok = ok and (covered or all_finite(layer.input_grad))
        for block in self.blocks:
            self.block_gradient(block)
            ok = ok and all_finite(block.input_grad)
        return ok


def _gradient_norm(layer: Layer, squares: list[float], out: np.ndarray) -> tuple[float, bool]:
    """(grad_norm of a layer with gradients, whether the gradient it passed back is finite),
    appending each gradient's sum of squares to ``squares``: one kernel call per two
    gradients. The norm adds the squares in ``diag.grad_norm``'s order, so it is its value."""
    grads = [g.reshape(-1) for g in layer.grads.values()]  # (size,) views
    passed = layer.input_grad
    passed = passed.reshape(-1) if _is_float(passed) else grads[0][:0]
    total, passed_ok = 0.0, True
    for k in range(0, len(grads), 2):
        first = grads[k]
        second = grads[k + 1] if k + 1 < len(grads) else first[:0]
        ke.gradient_squares(first, second, passed if k == 0 else first[:0], out)
        square_first, square_second, bad = out.tolist()
        squares.append(square_first)
        total += square_first
        if k + 1 < len(grads):
            squares.append(square_second)
            total += square_second
        passed_ok = passed_ok and bad == 0
    return math.sqrt(total), passed_ok


def _is_float(array) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind == "f" and array.size > 0


def nonfinite_counts(array) -> tuple[int, int]:
    """(NaN count, inf count) of a float array; (0, 0) for anything else."""
    if not _is_float(array):
        return 0, 0
    return ke.count_nonfinite(np.ascontiguousarray(array).reshape(-1))


def all_finite(array) -> bool:
    """True unless ``array`` is a float array holding NaN or inf."""
    return nonfinite_counts(array) == (0, 0)


class StateCheck:
    """Whether every value of some arrays (the parameters, buffers and optimiser state) is
    finite: one sum over them all, copied into a buffer kept between calls (a check per array
    costs a call per array, several times more on a small model, and a fresh buffer of a few
    hundred KB costs page faults on every call); a sum that overflows is checked array by
    array."""

    def __init__(self) -> None:
        self.buffer = np.empty(0)

    def __call__(self, arrays: list[np.ndarray]) -> bool:
        if not arrays:
            return True
        size = sum(a.size for a in arrays)
        if self.buffer.size != size:
            self.buffer = np.empty(size)
        np.concatenate(arrays, axis=None, out=self.buffer)
        if math.isfinite(float(self.buffer.sum())):
            return True
        return all(map(all_finite, arrays))
