"""Per-layer diagnostics and the verdict a learner reads first: healthy, vanishing, exploding,
saturated or dead, each with a one-line explanation.

Metrics of a layer (all float, NaN where they do not apply):

- ``act_mean``, ``act_std``: of the layer's output over the batch;
- ``saturation``: for sigmoid, tanh and softsign layers, the fraction of outputs where the
  activation's derivative is below 5 % of its peak (so the gradient through them shrinks 20x);
- ``dead_fraction``: for ReLU (and LeakyReLU, ELU) layers, the fraction of units that output 0
  for every example (a leaky unit never does: that is the point of the leak);
- ``grad_norm``: the L2 norm of the layer's parameter gradients, or, for a layer without
  trainable parameters, of the gradient it passes back (dL/dinput);
- ``weight_norm``: the L2 norm of its parameters;
- ``update_ratio``: ||last update|| / ||weights||, a healthy range being about 1e-4..1e-2.

Verdicts, in this order of precedence, with the thresholds of ``Thresholds``:

- exploding: grad_norm is not finite or above ``exploding`` (1e3);
- vanishing: grad_norm is below ``vanishing_absolute`` (1e-8), or below ``vanishing`` (1e-4)
  times the largest grad_norm among the layers with parameters;
- dead: dead_fraction above ``dead`` (0.4);
- saturated: saturation above ``saturated`` (0.5);
- healthy otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..i18n import N_, _, language
from ..kernels import elementwise as ke
from ..kernels import verdicts as kv
from ..layers import Layer

METRICS = (
    "act_mean",
    "act_std",
    "saturation",
    "dead_fraction",
    "grad_norm",
    "weight_norm",
    "update_ratio",
)
VERDICTS = ("healthy", "vanishing", "exploding", "saturated", "dead")
#: Each verdict as the learner reads it (the keys above are data: traces, JSON, conditions).
VERDICT_NAMES = {
    "healthy": N_("healthy"),
    "vanishing": N_("vanishing"),
    "exploding": N_("exploding"),
    "saturated": N_("saturated"),
    "dead": N_("dead"),
}
_ACTIVATION_CODES = {"sigmoid": 1, "tanh": 2, "softsign": 3, "relu": 4, "leaky_relu": 4, "elu": 4}


@dataclass
class Thresholds:
    """Where a verdict starts; every field can be set from a scenario's [diagnostics] table."""

    exploding: float = 1e3
    vanishing: float = 1e-4
    vanishing_absolute: float = 1e-8
    dead: float = 0.4
    saturated: float = 0.5


def square(array: np.ndarray) -> float:
    """The sum of squares of an array, accumulated in float64."""
    return ke.sum_of_squares(array)


def norm(arrays) -> float:
    """The L2 norm of several arrays together."""
    total = 0.0
    for a in arrays:
        total += square(a)
    return math.sqrt(total)


_NOT_APPLICABLE = (math.nan,) * 4
NO_UNITS = np.empty(1, dtype=np.bool_)  # the per-unit scratch of a layer that is not a ReLU
RELU_CODE = 4


def activation_code(layer: Layer) -> int:
    """How ``ke.activation_stats`` reads a layer's output: 1 sigmoid, 2 tanh, 3 softsign (for
    saturation), 4 ReLU-like (for dead units), 0 anything else."""
    if type(layer).__name__ == "ReLU":
        return RELU_CODE
    return _ACTIVATION_CODES.get(getattr(layer, "function", ""), 0)


def measure_output(y, code: int, alive: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Write (act_mean, act_std, saturation, dead_fraction) of output ``y`` into ``out`` (4,)
    (NaN where ``y`` is not a non-empty float array). ``alive``: scratch of at least one value
    per unit for a ReLU layer; returns it, grown if it was too small."""
    if not isinstance(y, np.ndarray) or y.dtype.kind != "f" or y.size == 0:
        out[:] = math.nan
        return alive
    if code == RELU_CODE and alive.size < y.size // y.shape[0]:
        alive = np.empty(y.size // y.shape[0], dtype=np.bool_)
    ke.activation_stats(y, code, alive, out)
    return alive


def activation_stats(layer: Layer) -> tuple[float, float, float, float]:
    """(act_mean, act_std, saturation, dead_fraction) of the layer's last output."""
    out = np.empty(4)
    measure_output(layer.output, activation_code(layer), NO_UNITS, out)
    return tuple(out.tolist())


def grad_norm(layer: Layer) -> float:
    grads = [g for leaf in layer.walk() for g in leaf.grads.values()]
    if grads:
        return norm(grads)
    return passed_grad_norm(layer)


def passed_grad_norm(layer: Layer) -> float:
    """The grad_norm of a layer without gradients of its own: the norm of the gradient it
    passes back (of the one it received, when it passes none)."""
    passed = layer.input_grad if layer.input_grad is not None else layer.output_grad
    return math.sqrt(square(passed)) if isinstance(passed, np.ndarray) else math.nan


def block_grad_norm(block: Layer, grad_norms: dict[str, float]) -> float:
    """A block's grad_norm from the norms already measured for the leaves inside it that have
    gradients (``grad_norm`` of the block when none has)."""
    norms = [
        grad_norms.get(leaf.name, 0.0)
        for leaf in block.walk()
        if not leaf.children() and leaf.grads
    ]
    return math.sqrt(sum(g * g for g in norms)) if norms else grad_norm(block)


def weight_norm(layer: Layer) -> float:
    params = [p for leaf in layer.walk() for p in leaf.params.values()]
    return norm(params) if params else math.nan


def classify(
    rows: np.ndarray, has_params: np.ndarray, thresholds: Thresholds
) -> tuple[np.ndarray, float]:
    """Every layer's verdict (the rules of the module docstring) from ``rows`` (layers,
    METRICS): (index in VERDICTS per layer, the largest grad_norm they were judged against)."""
    codes = np.empty(len(rows), dtype=np.int8)  # (layers,)
    # the columns by name, each made contiguous: a column view of one layer would be typed
    # C-contiguous and of several strided, two compiled signatures of the kernel
    largest = kv.classify_layers(
        np.ascontiguousarray(rows[:, METRICS.index("grad_norm")]),
        np.ascontiguousarray(rows[:, METRICS.index("dead_fraction")]),
        np.ascontiguousarray(rows[:, METRICS.index("saturation")]),
        has_params,
        float(thresholds.exploding),
        float(thresholds.vanishing),
        float(thresholds.vanishing_absolute),
        float(thresholds.dead),
        float(thresholds.saturated),
        codes,
    )
    return codes, largest


def verdict_name(kind: str) -> str:
    """A verdict as shown, in the learner's language (an unknown key as it is)."""
    return _(VERDICT_NAMES[kind]) if kind in VERDICT_NAMES else kind


def explain(
    kind: str, metrics: dict[str, float], largest_grad_norm: float, thresholds: Thresholds
) -> str:
    """The one-line explanation of a verdict, in plain language (the learner's)."""
    g = metrics["grad_norm"]
    if kind == "exploding":
        return _(
            "gradient norm {norm} is above {limit}: updates overshoot; lower the learning "
            "rate, clip the gradients or start from smaller weights"
        ).format(norm=f"{g:.3g}", limit=f"{thresholds.exploding:g}")
    if kind == "vanishing":
        relative = g / largest_grad_norm if largest_grad_norm > 0 else 1.0
        return _(
            "gradient norm {norm} is {relative} of the largest layer's: this layer barely "
            "learns; ReLU, careful initialisation, batch norm or shortcuts help"
        ).format(norm=f"{g:.2g}", relative=f"{relative:.1e}")
    if kind == "dead":
        return _(
            "{share} of the units output 0 for every example, so no gradient reaches their "
            "weights; a smaller learning rate, He initialisation or LeakyReLU help"
        ).format(share=f"{metrics['dead_fraction']:.0%}")
    if kind == "saturated":
        return _(
            "{share} of the outputs sit where the activation is flat, which shrinks the "
            "gradient 20x or more; smaller weights or normalised inputs help"
        ).format(share=f"{metrics['saturation']:.0%}")
    parts = []
    if not math.isnan(g):
        parts.append(_("gradient norm {norm}").format(norm=f"{g:.2g}"))
    if not math.isnan(metrics["weight_norm"]):
        parts.append(_("weights {norm}").format(norm=f"{metrics['weight_norm']:.2g}"))
    if not math.isnan(metrics["update_ratio"]):
        ratio = f"{metrics['update_ratio']:.1e}"
        parts.append(_("updates {ratio} of the weights").format(ratio=ratio))
    if not parts:
        return _("nothing out of range.")
    # TRANSLATORS: the separator between the healthy layer's measures
    return _("{measures}.").format(measures=_("; ").join(parts))


class Report(dict):
    """A layer's metrics plus its "verdict"; the "explanation" is written on first read,
    since formatting text for every layer of every iteration would cost more than the
    metrics themselves."""

    def __init__(
        self, metrics: dict[str, float], kind: str, largest: float, thresholds: Thresholds
    ) -> None:
        super().__init__(metrics)
        self._context = (largest, thresholds)
        self["verdict"] = kind

    def __missing__(self, key: str):
        if key != "explanation":
            raise KeyError(key)
        # kept per language, not stored under the key: a switch of language shows at once
        said = self.__dict__.setdefault("_explained", {})
        if language() not in said:
            metrics = {m: self[m] for m in METRICS}
            said[language()] = explain(self["verdict"], metrics, *self._context)
        return said[language()]
