"""The standard deviation of each layer's output across depth, for the current batch: the line
that shows activations shrinking towards 0 (weights too small) or saturating (too large)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..sim import Simulator
from .curves import is_activation
from .views import frozen_copy


@dataclass(frozen=True)
class ActivationStd:
    """``stds[i]`` is np.std of layer ``layers[i]``'s last output; ``ran[i]`` whether it has
    one yet (NaN without one, or from an output holding NaN)."""

    layers: tuple[str, ...]
    stds: np.ndarray
    what: str  # "activation layers" or "layers"
    ran: tuple[bool, ...] = ()

    @property
    def measured(self) -> bool:
        return bool(np.isfinite(self.stds).any())


def activation_std(sim: Simulator) -> ActivationStd:
    """Each activation layer's output std (every layer's, in a model without activation
    layers), in the order the forward pass runs them (call under the session's lock)."""
    leaves = [lay for lay in sim.leaves if is_activation(lay)]
    what = "activation layers"
    if not leaves:
        leaves, what = list(sim.leaves), "layers"
    stds = np.array([_std(lay.output) for lay in leaves], dtype=np.float64)
    ran = tuple(isinstance(lay.output, np.ndarray) for lay in leaves)
    return ActivationStd(tuple(lay.name for lay in leaves), frozen_copy(stds), what, ran)


def _std(output) -> float:
    if not isinstance(output, np.ndarray) or output.dtype.kind != "f" or output.size == 0:
        return math.nan
    return float(np.std(output, dtype=np.float64))
