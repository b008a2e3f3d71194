"""The inspector's *visual* tab: occlusion maps and maximised inputs of a CNN, computed by
nnsim.visualize on a copy of the model (the run is untouched) and cached until the model
or the request changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import visualize
from ..sim import Simulator
from .views import Tensor, frozen_copy

KINDS = ("occlusion", "class", "filter")


@dataclass(frozen=True)
class Request:
    """What to show: an occlusion map of example ``index``, the input that maximises class
    ``target``, or the one that maximises channel ``target`` of ``layer``."""

    kind: str
    target: int = 0
    layer: str | None = None


def compute(sim: Simulator, request: Request, index: int) -> Tensor:
    """The tensor of ``request`` for the simulator's current weights (call under the lock)."""
    model = sim.model
    if len(model.input_shape) != 3 or len(model.output_shape) != 1:
        return Tensor("visual: needs a CNN with images in and class scores out", None)
    try:
        if request.kind == "occlusion":
            return _occlusion(sim, index)
        if request.kind == "class":
            found = visualize.maximize_class(model, request.target)
            return Tensor(
                f"input maximising class {request.target}: p = {found.probability:.3f} "
                f"(channel {index % found.image.shape[0] + 1})",
                frozen_copy(found.image[index % found.image.shape[0]]),
            )
        found = visualize.maximize_filter(model, request.layer, request.target)
        return Tensor(
            f"input maximising {request.layer} channel {request.target}: mean activation "
            f"{found.objective:.3g}",
            frozen_copy(found.image[0]),
        )
    except ValueError as err:  # a layer that is not a top-level conv, a class out of range
        return Tensor(f"visual: {err}", None)


def _occlusion(sim: Simulator, index: int) -> Tensor:
    x, y = sim.evaluation_data()
    k = index % len(x)
    image, label = x[k], int(y[k])
    sensitivity = visualize.occlusion_map(sim.model, image, label)  # (H, W)
    digit = image.mean(axis=0)  # (H, W): the channels averaged
    gap = np.zeros((digit.shape[0], 1))
    p = float(visualize.probabilities(sim.model, image[None])[0, label])
    return Tensor(
        f"example {k + 1}/{len(x)}, class {label} (p = {p:.2f}): the digit | the fall of p "
        f"when a patch hides each pixel   (, and . for other examples)",
        # the digit and its map side by side (for a front end drawing one array); the panels
        # give each its own colour scale, so a faint map is not drowned by the digit's ink
        frozen_copy(np.concatenate([digit, gap, sensitivity], axis=1)),
        panels=(
            ("the digit", frozen_copy(digit)),
            ("fall of p when hidden", frozen_copy(sensitivity)),
        ),
    )
