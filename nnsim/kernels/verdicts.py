"""Every layer's verdict in one call (the rules and thresholds of ``nnsim.sim.diagnostics``)."""

from __future__ import annotations

import numpy as np

from ._jit import kernel

# Indices in nnsim.sim.diagnostics.VERDICTS.
HEALTHY, VANISHING, EXPLODING, SATURATED, DEAD = 0, 1, 2, 3, 4


@kernel
def classify_layers(
    grad_norm,
    dead_fraction,
    saturation,
    has_params,
    exploding,
    vanishing,
    vanishing_absolute,
    dead,
    saturated,
    codes,
):
    # grad_norm, dead_fraction, saturation, has_params (bool), codes (int8, out): (L,) each, one
    # value per layer; codes receives each layer's verdict. Returns the vanishing scale: the
    # largest finite grad_norm among the layers with parameters (0 when there is none).
    largest = 0.0
    for i in range(grad_norm.size):
        g = grad_norm[i]
        if has_params[i] and np.isfinite(g) and g > largest:
            largest = g
    for i in range(grad_norm.size):
        g = grad_norm[i]
        code = HEALTHY
        if not np.isnan(g) and (not np.isfinite(g) or g > exploding):
            code = EXPLODING
        elif not np.isnan(g) and (
            g < vanishing_absolute or (g / largest if largest > 0 else 1.0) < vanishing
        ):
            code = VANISHING
        elif dead_fraction[i] > dead:
            code = DEAD
        elif saturation[i] > saturated:
            code = SATURATED
        codes[i] = code
    return largest
