"""The diagnostics of a pass that ran whole, measured in one sweep over the layers.

When no breakpoint can fire inside an iteration the simulator runs it without stopping
(``Machine._whole_iteration``) and measures afterwards. Stepping measures each micro-op as it
happens (``Machine._layer_effects``), naming every array it checks so that a NaN can be blamed
on its layer and phase. The sweep computes the same values with the same kernels and the same
order of additions, but only has to answer *whether* some value is NaN or inf: when one is,
the iteration is replayed micro-op by micro-op from its snapshot, and stepping names the
culprit. A finite sum (a mean, a sum of squares) proves every value in its array finite, so
most arrays need no check of their own.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..kernels import elementwise as ke
from ..layers import Layer
from . import diagnostics as diag


class Sweep:
    """Activation statistics after a forward pass; gradient norms after a backward pass.
    The plan (which layers, their activation codes, scratch buffers) is made once per model."""

    def __init__(self, top_layers: list[Layer]) -> None:
        self.nodes = [layer for top in top_layers for layer in top.walk()]  # forward order
        self.names = [layer.name for layer in self.nodes]
        self.codes = [diag.activation_code(layer) for layer in self.nodes]
        self.leaves = [layer for layer in self.nodes if not layer.children()]
        # blocks after everything inside them: their norms combine their leaves' norms
        self.blocks = [layer for layer in reversed(self.nodes) if layer.children()]
        self.stats = np.empty((len(self.nodes), 4))  # (nodes, act_mean .. dead_fraction)
        self.rows = list(self.stats)  # each node's (4,) view, made once
        self.alive = [diag.NO_UNITS] * len(self.nodes)  # per-unit scratch of ReLU layers
        self.squares: list[float] = []  # of each gradient, in model.gradients() order
        self.measured = np.empty(3)  # one layer's (square, square, non-finite count)

    def forward(self, act: dict[str, tuple[float, float, float, float]]) -> bool:
        """Fill ``act`` with every layer's (act_mean, act_std, saturation, dead_fraction);
        False when some float output holds NaN or inf (its mean is then not finite)."""
        stats, rows, alive = self.stats, self.rows, self.alive
        for i, (layer, code) in enumerate(zip(self.nodes, self.codes, strict=True)):
            alive[i] = diag.measure_output(layer.output, code, alive[i], rows[i])
        # a NaN mean is a non-finite output, except for the rows of non-float outputs
        means = stats[:, 0]
        finite = bool(np.isfinite(means).all()) or all(
            math.isfinite(mean) or not _is_float(layer.output)
            for mean, layer in zip(means.tolist(), self.nodes, strict=True)
        )
        act.update(zip(self.names, map(tuple, stats.tolist()), strict=True))
        return finite

    def backward(self, grad_norms: dict[str, float], dh_norms: dict[str, np.ndarray]) -> bool:
        """Fill ``grad_norms`` (and ``dh_norms`` for recurrent layers) as ``diag.grad_norm``
        would, keep each gradient's sum of squares in ``squares`` for the global norm; False
        when a gradient, or a gradient passed back, holds NaN or inf."""
        ok, measured = True, self.measured
        self.squares = squares = []
        for layer in self.leaves:
            if layer.grads:
                norm, passed_ok = _gradient_norm(layer, squares, measured)
                ok = ok and math.isfinite(norm) and passed_ok
            else:  # measured on the gradient it passes back, which the norm then covers
                norm = diag.passed_grad_norm(layer)
                ok = ok and (math.isfinite(norm) or all_finite(layer.input_grad))
            grad_norms[layer.name] = norm
            cache = layer.cache
            if type(cache) is F.RecurrentCache and cache.dh is not None:
                dh_norms[layer.name] = F.grad_norms_through_time(cache)
        for block in self.blocks:
            grad_norms[block.name] = diag.block_grad_norm(block, grad_norms)
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
