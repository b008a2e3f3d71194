"""What a micro-op changed: the metrics it made current, the arrays it wrote (for its Event)
and the arrays to check for NaN and inf, in the order they were computed, so that the first
non-finite value is blamed on the layer and phase that produced it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import functional as F
from ..layers import Layer
from ..layers.steps import Op
from .sweep import Sweep

if TYPE_CHECKING:
    from .trainer import Trainer

#: What each of the iteration's own operations makes current (see Condition.dependencies).
PHASE_REFRESH = {"batch": "batch", "loss": "loss", "clip": "gradient", "update": "weight"}


@dataclass
class Effects:
    # (kind, layer) pairs whose values this micro-op made current
    refreshed: set[tuple[str, str | None]] = field(default_factory=set)
    # names of the arrays written, for the Event
    changed: list[str] = field(default_factory=list)
    # (owner layer, label, array, summary) to check for NaN and inf, in the order they were
    # computed; a finite summary (a sum or a norm already taken over the array) spares the check
    arrays: list[tuple[str | None, str, Any, float | None]] = field(default_factory=list)

    def merge(self, other: Effects) -> None:
        self.refreshed |= other.refreshed
        self.changed += other.changed
        self.arrays += other.arrays


class EffectMeter:
    """Measures each micro-op as it runs, through the sweep's per-layer measurement."""

    def __init__(self, sweep: Sweep, trainer: Trainer, leaves: list[Layer]) -> None:
        self.sweep, self.trainer, self.leaves = sweep, trainer, leaves

    def of_layer(self, layer: Layer, phase: str, whole: bool) -> Effects:
        """A layer that ran (``whole``: with its descendants, which are measured too), or a
        block or recurrent layer whose stepped program finished."""
        layers = list(layer.walk()) if whole and layer.children() else [layer]
        effects = Effects()
        if phase == "forward":
            means = {}
            for lay in layers:
                means[lay.name] = self.sweep.activation(lay)
                effects.refreshed.add(("activation", lay.name))
                if not lay.children():  # leaves in the order they ran, to blame the first
                    output = (lay.name, f"{lay.name}.output", lay.output, means[lay.name])
                    effects.arrays.append(output)
            if layer.children():
                effects.arrays.append(
                    (layer.name, f"{layer.name}.output", layer.output, means[layer.name])
                )
            for lay in layers:  # running statistics written by the pass (BatchNorm)
                for key, buffer in lay.running.items():
                    effects.arrays.append((lay.name, f"{lay.name}.{key}", buffer, None))
            effects.changed.append(f"{layer.name}.output")
            return effects
        squares: list[float] = []  # stepping does not keep them: the clip measures anew
        for lay in reversed(layers):  # children before the blocks that hold them
            if lay.children():
                self.sweep.block_gradient(lay)
                covered = None
            else:
                norm, proven = self.sweep.gradient(lay, squares)
                for key, grad in lay.grads.items():
                    effects.arrays.append((lay.name, f"{lay.name}.grads.{key}", grad, norm))
                covered = 0.0 if proven else None
            effects.refreshed.add(("gradient", lay.name))
            effects.arrays.append((lay.name, f"{lay.name}.input_grad", lay.input_grad, covered))
        effects.changed.append(f"{layer.name}.grads")
        return effects

    def of_op(self, request: Op, owner: Layer | None, phase: str, result) -> Effects:
        """One of the iteration's own operations (``owner`` None), or a piece of a block's
        or recurrent layer's own work."""
        effects = Effects()
        if owner is None:
            effects.refreshed.add((PHASE_REFRESH[phase], None))
            trainer = self.trainer
            if phase == "batch":
                effects.changed.append("batch")
                effects.arrays.append((None, "batch.x", trainer.batch[0], None))
            elif phase == "loss":
                effects.changed += ["loss", "prediction"]
                effects.arrays.append((None, "loss", np.array([trainer.loss_value]), None))
            elif phase == "clip":
                effects.changed.append("gradients")
            elif phase == "update":
                for lay in trainer.model.walk():
                    effects.refreshed.add(("weight", lay.name))
                effects.changed.append("parameters")
                weight_norms = self.sweep.measurements.weight_norms
                for lay in self.leaves:
                    norm = weight_norms.get(lay.name)
                    for key, p in lay.params.items():
                        effects.arrays.append((lay.name, f"{lay.name}.{key}", p, norm))
            return effects
        cache = owner.cache
        if request.t is not None and isinstance(cache, F.RecurrentCache):
            if phase == "forward":
                effects.changed.append(f"{owner.name}.h[t={request.t + 1}]")
                h_t = cache.h_seq[:, request.t]
                effects.arrays.append((owner.name, effects.changed[-1], h_t, None))
            elif cache.dh is not None:
                effects.changed.append(f"{owner.name}.dh[t={request.t + 1}]")
                dh_t = cache.dh[:, request.t]
                effects.arrays.append((owner.name, effects.changed[-1], dh_t, None))
        elif isinstance(result, np.ndarray):
            effects.changed.append(f"{owner.name}.{request.label}")
            effects.arrays.append((owner.name, effects.changed[-1], result, None))
        return effects
