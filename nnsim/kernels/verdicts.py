"""Every layer's verdict in one call (the rules and thresholds of ``nnsim.sim.diagnostics``)."""

from __future__ import annotations

import numpy as np

from ._jit import kernel

# Indices in nnsim.sim.diagnostics.VERDICTS and columns of its METRICS.
HEALTHY, VANISHING, EXPLODING, SATURATED, DEAD = 0, 1, 2, 3, 4
_SATURATION, _DEAD_FRACTION, _GRAD_NORM = 2, 3, 4


@kernel
def classify_layers(
    rows, has_params, exploding, vanishing, vanishing_absolute, dead, saturated, codes
):
    # rows (L, metrics): each layer's metrics; has_params (L,) bool; codes (L,) int8 out: the
    # verdict of each layer. Returns the vanishing scale: the largest finite grad_norm among
    # the layers with parameters (0 when there is none).
    largest = 0.0
    for i in range(rows.shape[0]):
        g = rows[i, _GRAD_NORM]
        if has_params[i] and np.isfinite(g) and g > largest:
            largest = g
    for i in range(rows.shape[0]):
        g = rows[i, _GRAD_NORM]
        code = HEALTHY
        if not np.isnan(g) and (not np.isfinite(g) or g > exploding):
            code = EXPLODING
        elif not np.isnan(g) and (
            g < vanishing_absolute or (g / largest if largest > 0 else 1.0) < vanishing
        ):
            code = VANISHING
        elif rows[i, _DEAD_FRACTION] > dead:
            code = DEAD
        elif rows[i, _SATURATION] > saturated:
            code = SATURATED
        codes[i] = code
    return largest
