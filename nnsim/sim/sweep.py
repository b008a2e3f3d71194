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
        self.alive = [diag.NO_UNITS] * len(self.nodes)  # per-unit scratch of ReLU layers
        self.squares: list[float] = []  # of each gradient, in model.gradients() order

    def forward(self, act: dict[str, tuple[float, float, float, float]]) -> bool:
        """Fill ``act`` with every layer's (act_mean, act_std, saturation, dead_fraction);
        False when some float output holds NaN or inf (its mean is then not finite)."""
        stats, alive = self.stats, self.alive
        for i, (layer, code) in enumerate(zip(self.nodes, self.codes, strict=True)):
            alive[i] = diag.measure_output(layer.output, code, alive[i], stats[i])
        rows = stats.tolist()
        act.update(zip(self.names, map(tuple, rows), strict=True))
        # NaN means of layers without a float output are not values: test the outputs
        return all(
            math.isfinite(row[0]) or not _is_float(layer.output)
            for row, layer in zip(rows, self.nodes, strict=True)
        )

    def backward(self, grad_norms: dict[str, float], dh_norms: dict[str, np.ndarray]) -> bool:
        """Fill ``grad_norms`` (and ``dh_norms`` for recurrent layers) as ``diag.grad_norm``
        would, keep each gradient's sum of squares in ``squares`` for the global norm; False
        when a gradient, or a gradient passed back, holds NaN or inf."""
        ok = True
        self.squares = squares = []
        for layer in self.leaves:
            if layer.grads:
                total = 0.0
                for grad in layer.grads.values():
                    square = diag.square(grad)
                    total += square
                    squares.append(square)
                grad_norms[layer.name] = math.sqrt(total)
                ok = ok and math.isfinite(total) and all_finite(layer.input_grad)
            else:  # measured on the gradient it passes back, which the norm then covers
                grad_norms[layer.name] = norm = diag.grad_norm(layer)
                ok = ok and (math.isfinite(norm) or all_finite(layer.input_grad))
            cache = layer.cache
            if isinstance(cache, F.RecurrentCache) and cache.dh is not None:
                dh_norms[layer.name] = F.grad_norms_through_time(cache)
        for block in self.blocks:
            grad_norms[block.name] = diag.block_grad_norm(block, grad_norms)
            ok = ok and all_finite(block.input_grad)
        return ok


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
