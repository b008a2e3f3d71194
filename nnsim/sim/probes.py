"""What a network scenario's conditions read, registered in nnsim.sim.registry.

Each function takes the Simulator (``run``) and, for a layer metric, the layer's name. Most
read values the simulator measured as the micro-ops ran (``run.layer_metrics``); the lesson
probes (attention alignment, an LSTM's cell carry, words a character model knows, ...) are
computed when a condition asks, by the helpers of nnsim.sim.inspection.
"""

from __future__ import annotations

import math

import numpy as np

from ..layers import Layer
from . import diagnostics as diag
from . import inspection as probe
from .registry import register

NETWORK = "network"


def _measured(metric: str):
    """A metric the simulator keeps per layer as it steps (see Inspection.layer_metrics)."""
    return lambda run, layer: run.layer_metrics(layer)[metric]


def _on_layer(function):
    """A metric computed from the layer object alone."""
    return lambda run, layer: function(run.layer(layer))


def weight_grad_norm(layer: Layer) -> float:
    """The L2 norm of the gradient of the layer's main weight (W, or W_ih of a recurrent
    layer) alone; NaN for a layer without one or before a backward pass."""
    grad = layer.grads.get("W", layer.grads.get("W_ih"))
    return math.sqrt(diag.square(grad)) if isinstance(grad, np.ndarray) else math.nan


def input_grad_norm(layer: Layer) -> float:
    """The L2 norm of the gradient the layer passed back, dL/dinput; NaN where it was not
    computed (before a backward pass, or the first layer when nothing needs it)."""
    grad = layer.input_grad
    if not isinstance(grad, np.ndarray) or grad.dtype.kind != "f":
        return math.nan
    return math.sqrt(diag.square(grad))


def _dh_ratio(run, layer: str) -> float:
    norms = run._dh_norms.get(layer)
    if norms is None or norms[-1] == 0:
        return math.nan
    return float(norms[0] / norms[-1])


def _positions(run, layer: str) -> float:
    shape = run.layer(layer).output_shape
    return float(math.prod(shape)) if shape else math.nan


def _grad_reach(layer: Layer) -> float:
    grad = layer.input_grad
    return float(np.mean(grad != 0)) if isinstance(grad, np.ndarray) else math.nan


def _walk_error(layer: Layer) -> float:
    from ..layers import walk

    return walk.walk_error(layer)


def _grad_walk_error(layer: Layer) -> float:
    from ..layers import walk

    return walk.grad_walk_error(layer)


def _summary_value(column: str):
    def read(run, layer: str) -> float:
        row = next(r for r in run.model.summary().rows if r["name"] == layer)
        if column == "receptive_field":
            return math.nan if row[column] is None else float(row[column][0])
        return float(row[column])

    return read


def _known_words(run) -> float:
    sample = run.sample_text()
    return math.nan if sample is None else run.sampler.known_words(sample)


def _published_params(run) -> float:
    from ..architectures import ARCHITECTURES

    build = ARCHITECTURES.get(run.model.name)
    return math.nan if build is None else float(build().summary().totals["params"])


def _collapse_error(run) -> float:
    return probe.collapse_error(run.model, None if run.batch is None else run.batch[0])


def _epochs(run) -> float:
    """Epochs completed: an epoch completes with the update that uses its last example. A
    batch never spans two epochs, so every epoch takes ``batches_per_epoch`` iterations."""
    return float(run.completed // run.stream.batches_per_epoch)


def _first_loss(run) -> float:
    losses = run.trace.series("loss")[1]
    return float(losses[0]) if len(losses) else math.nan


# (name, refresh, function, doc) of each layer metric
_LAYER = [
    ("grad_norm", "gradient", _measured("grad_norm"),
     "L2 norm of the layer's parameter gradients; for a layer without parameters, of the "
     "gradient it passes back (dL/dinput)"),
    ("weight_grad_norm", "gradient", _on_layer(weight_grad_norm),
     "L2 norm of the gradient of the main weight alone (W; W_ih of a recurrent layer); NaN "
     "without one"),
    ("input_grad_norm", "gradient", _on_layer(input_grad_norm),
     "L2 norm of what the layer passes back, dL/dinput; NaN where it is not computed"),
    ("weight_norm", "weight", _measured("weight_norm"), "L2 norm of the layer's parameters"),
    ("update_ratio", "weight", _measured("update_ratio"),
     "||update|| / ||weights|| of the last optimiser step (healthy: about 1e-4..1e-2)"),
    ("act_mean", "activation", _measured("act_mean"), "mean of the layer's output over the batch"),
    ("act_std", "activation", _measured("act_std"),
     "standard deviation of the layer's output over the batch"),
    ("saturation", "activation", _measured("saturation"),
     "sigmoid, tanh, softsign: fraction of outputs where the activation is flat"),
    ("dead_fraction", "activation", _measured("dead_fraction"),
     "ReLU-like: fraction of units that output 0 for every example"),
    ("dh_ratio", "gradient", _dh_ratio, "recurrent: ||dL/dh_1|| / ||dL/dh_T||"),
    ("forget_gate", "activation", _on_layer(probe.forget_gate_mean),
     "LSTM: mean forget-gate value over batch, steps and units"),
    ("cell_carry", "activation", _on_layer(probe.cell_carry),
     "LSTM: mean of f_2 f_3 ... f_T, what the cell path carries back to the first step"),
    ("dc_ratio", "gradient", _on_layer(probe.cell_gradient_ratio),
     "LSTM: ||dL/dc_1|| / ||dL/dc_T||, the gradient along the cell"),
    ("weight_change", "weight", lambda run, layer: run.weight_change(layer),
     "largest |w - w at iteration 0| of the layer's parameters (0: frozen)"),
    ("small_weights", "weight", _on_layer(probe.small_weights),
     "fraction of weights below 1 % of the largest (the sparsity of an L1 penalty)"),
    ("sign_agreement", "gradient", _on_layer(probe.sign_agreement),
     "Dense: fraction of units whose weight gradients all share one sign"),
    ("unit_spread", "weight", _on_layer(probe.unit_spread),
     "largest difference between two units' weights (0: the units are symmetric)"),
    ("filter_smoothness", "weight", _on_layer(probe.filter_smoothness),
     "conv: correlation of neighbouring kernel weights (about 0 for noise)"),
    ("peak_derivative", "activation", _on_layer(probe.peak_derivative),
     "activation layers: max f'(z) over the inputs it saw"),
    ("params", "batch", _summary_value("params"), "the layer's (or block's) parameter count"),
    ("walk_error", "activation", _on_layer(_walk_error),
     "conv, pool: max |by-hand window sums - the kernel's output|"),
    ("grad_walk_error", "gradient", _on_layer(_grad_walk_error),
     "conv, pool: the same for dW and dX (conv) or the routed gradient (pool)"),
    ("positions", "batch", _positions,
     "conv, pool: output values per example (the steps of a walk)"),
    ("anti_diagonal", "activation",
     _on_layer(lambda layer: probe.attention_alignment(layer, anti=True)),
     "attention: mean weight on output t -> input T - 1 - t (reversal)"),
    ("diagonal", "activation",
     _on_layer(lambda layer: probe.attention_alignment(layer, anti=False)),
     "attention: mean weight on output t -> input t"),
    ("grad_reach", "gradient", _on_layer(_grad_reach),
     "fraction of the layer's input cells that get a non-zero gradient"),
    ("rf", "batch", _summary_value("receptive_field"),
     "receptive field (height) of the layer's outputs"),
    ("flops", "batch", _summary_value("flops"),
     "FLOPs of one forward pass of the layer for one example"),
]  # fmt: skip

_MODEL = [
    ("global_grad_norm", "gradient", lambda run: run.global_grad_norm,
     "L2 norm of all the model's parameter gradients together"),
    ("gradcheck", "loss", lambda run: run._gradcheck(),
     "float64 models: worst relative error of backprop against finite differences"),
    ("collapse_error", "weight", _collapse_error,
     "Dense-only nets: distance of the output from one matrix's (0: depth adds nothing)"),
    ("params", "batch", lambda run: float(run.model.summary().totals["params"]),
     "the model's parameter count"),
    ("published_params", "batch", _published_params,
     "a classic architecture's parameter count at its published size"),
    ("occlusion_focus", "weight", lambda run: run._visual_metric("occlusion_focus"),
     "CNNs: correlation of occlusion maps with the digits' ink"),
    ("class_excitation", "weight", lambda run: run._visual_metric("class_excitation"),
     "CNNs: min over classes of p(class) for an input maximising that class"),
    ("recall_accuracy", "weight", lambda run: run.recall_accuracy(),
     "per-step labels: accuracy where the label is not 0 (blank)"),
    ("known_words", "weight", _known_words,
     "character models: fraction of sampled words found in the corpus"),
]  # fmt: skip

_VARIABLES = [
    ("iteration", "batch", lambda run: float(run.iteration), "iterations completed so far"),
    ("loss", "loss", lambda run: float(run.loss_value), "the training loss of the last batch"),
    ("accuracy", "loss", lambda run: float(run.accuracy),
     "the training accuracy of the last mini-batch (training mode)"),
    ("train_accuracy", "weight", lambda run: run.train_accuracy(),
     "the accuracy on the whole training set in evaluation mode (dropout off, batch norm on "
     "running statistics); computed once per completed iteration"),
    ("epoch", "weight", _epochs,
     "epochs completed: passes over the training data whose last update has run"),
    ("val_loss", "validation", lambda run: float(run.val_loss),
     "the loss on the validation data (every [train] eval_every iterations)"),
    ("val_accuracy", "validation", lambda run: float(run.val_accuracy),
     "the accuracy on the validation data"),
    ("loss_roughness", "loss", lambda run: probe.loss_roughness(run.trace.series("loss")[1]),
     "mean |step-to-step change| / mean of the loss curve"),
    ("first_loss", "loss", _first_loss, "the loss of iteration 1"),
    ("lr", "batch", lambda run: float(run.optimizer.lr),
     "the learning rate of the current iteration (a schedule changes it)"),
    ("minority_recall", "weight", lambda run: run.minority_recall(),
     "recall of the rarest class (on validation data if any)"),
    ("minority_precision", "weight", lambda run: run.minority_precision(),
     "precision of the rarest class (on validation data if any): of the examples predicted "
     "as it, the fraction that are; NaN when none is"),
    ("input_covariance_error", "batch",
     lambda run: probe.input_covariance_error(run.stream.x),
     "max |Cov(training inputs) - I|: 0 when whitened"),
    ("stopped_early", "validation", lambda run: float(run.stopped_early),
     "1 once early stopping ended the run, else 0"),
    ("best_val_loss", "validation", lambda run: float(run.best_val_loss),
     "the lowest validation loss so far (early stopping)"),
    ("best_iteration", "validation", lambda run: float(run.best_iteration),
     "the iteration that reached the lowest validation loss"),
]  # fmt: skip

for _name, _refresh, _function, _doc in _LAYER:
    register(_name, "layer", NETWORK, _refresh, _doc, _function)
for _name, _refresh, _function, _doc in _MODEL:
    register(_name, "model", NETWORK, _refresh, _doc, _function)
for _name, _refresh, _function, _doc in _VARIABLES:
    register(_name, "variable", NETWORK, _refresh, _doc, _function)
register(
    "nonfinite",
    "model",
    NETWORK,
    "any",
    "true once a NaN or inf appeared in the run",
    lambda run: run._nonfinite_seen,
    boolean=True,
)
