"""f(z) and f'(z) of an activation layer, computed by the very kernels the layer runs
(nnsim.functional's forward and ``activation_backward``, maxout's own pair), over a z range
that covers the current batch's pre-activations, with those pre-activations counted."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..i18n import _
from ..layers.activation import Activation, Identity, Maxout
from .views import frozen_copy

#: Half the z range drawn for each activation, before widening to cover the batch.
HALF_RANGE = {"sigmoid": 8.0, "softsign": 8.0, "tanh": 4.0}
DEFAULT_HALF_RANGE = 4.0
POINTS = 241  # odd: z = 0 is a grid point, where sigmoid' and tanh' peak
BINS = 60


@dataclass(frozen=True)
class ActivationCurves:
    """f and f' on ``z``; ``counts``: the batch's pre-activations per bin of ``edges``, with
    ``below`` and ``above`` the fractions outside the range drawn."""

    layer: str
    function: str
    z: np.ndarray
    f: np.ndarray
    fprime: np.ndarray
    peak: float  # the largest f' on the range
    peak_where: str  # "at z = 0", "for z > 0", "at the right end"
    edges: np.ndarray | None = None
    counts: np.ndarray | None = None
    below: float = 0.0
    above: float = 0.0
    note: str = ""

    @property
    def title(self) -> str:
        title = _("{layer}: {function}, f(z) and f'(z); under them the batch's z")
        return title.format(layer=self.layer, function=self.function)


def is_activation(layer) -> bool:
    return isinstance(layer, (Activation, Identity, Maxout))


def activation_curves(layer) -> ActivationCurves | None:
    """The curves of activation ``layer`` (None for any other layer), marked with the
    pre-activations of its last forward pass (call under the session's lock)."""
    if not is_activation(layer):
        return None
    z_batch = layer.input if isinstance(layer.input, np.ndarray) else None
    half = HALF_RANGE.get(getattr(layer, "function", ""), DEFAULT_HALF_RANGE)
    if z_batch is not None and z_batch.size:
        finite = np.abs(z_batch[np.isfinite(z_batch)])
        if finite.size:  # widen to the batch's 99th percentile, up to 10 times the default
            half = min(10 * half, max(half, _nice(float(np.quantile(finite, 0.99)))))
    z = np.linspace(-half, half, POINTS)
    f, fprime, name, note = _evaluate(layer, z)
    peak = float(np.max(fprime))
    curves = dict(z=frozen_copy(z), f=frozen_copy(f), fprime=frozen_copy(fprime), note=note)
    curves.update(peak=peak, peak_where=_where(z, fprime, peak))
    if z_batch is None:
        return ActivationCurves(layer.name, name, **curves)
    values = np.asarray(z_batch, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    edges = np.linspace(-half, half, BINS + 1)
    counts = np.histogram(values, edges)[0].astype(np.float64)
    total = max(1, values.size)
    return ActivationCurves(
        layer.name,
        name,
        edges=frozen_copy(edges),
        counts=frozen_copy(counts / total),
        below=float(np.sum(values < -half) / total),
        above=float(np.sum(values > half) / total),
        **curves,
    )


def _evaluate(layer, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, str]:
    """(f, f', the function's name, a note) by the layer's own kernels."""
    if isinstance(layer, Activation):
        y = getattr(F, layer.function)(z, **layer.fn_params)
        dy = F.activation_backward(layer.function, np.ones_like(z), z, y, **layer.fn_params)
        options = ", ".join(f"{k} = {v:g}" for k, v in layer.fn_params.items())
        return y, dy, layer.function + (f" ({options})" if options else ""), ""
    if isinstance(layer, Maxout):  # piece 1 varies, the others held at 0
        x = np.zeros((len(z), layer.pieces))
        x[:, 0] = z
        y = F.maxout(x, layer.pieces)[:, 0]
        dy = F.maxout_backward(np.ones((len(z), 1)), x, layer.pieces)[:, 0]
        note = _(
            "maxout of {pieces} pieces: f = max(z_1, ..., z_{pieces}); drawn against z_1 with "
            "the others at 0. f' is 1 for the winning piece, 0 for the rest."
        ).format(pieces=layer.pieces)
        return y, dy, "maxout", note
    note = _("identity: f(z) = z, f'(z) = 1 everywhere")
    return z.copy(), np.ones_like(z), "identity", note


def _where(z: np.ndarray, fprime: np.ndarray, peak: float) -> str:
    at = np.flatnonzero(np.abs(fprime - peak) <= 1e-12 * max(1.0, abs(peak)))
    if at.size == 1:
        if at[0] == len(z) - 1:
            return _("at the right end (it keeps rising)")
        if at[0] == 0:
            return _("at the left end")
        return _("at z = {z}").format(z=f"{z[at[0]] + 0.0:.3g}")
    low, high = z[at[0]], z[at[-1]]
    if at.size == len(z):
        return _("everywhere")
    if at[-1] == len(z) - 1 and low > 0 and z[at[0] - 1] <= 0:
        return _("for z > 0")
    return _("for {low} <= z <= {high}").format(low=f"{low:.3g}", high=f"{high:.3g}")


def _nice(value: float) -> float:
    """``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0 or not math.isfinite(value):
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)
