"""What a learner (and a condition) can read from the Simulator between micro-ops."""

from __future__ import annotations

import math

import numpy as np

from ..layers import Layer
from ..metrics import accuracy
from . import diagnostics as diag
from .conditions import Condition, parse, parse_expression


class Inspection:
    """Layers, their metrics, conditions and watches; the Context of nnsim.sim.conditions.
    A base class of ``Simulator``, using its state."""

    def add_watch(self, expression: str) -> Condition:
        """Keep an expression to read after every step (``watch_values``); it never stops.
        Its value after every iteration is a column of the trace, named by its text."""
        watch = parse_expression(expression, self.names)
        self.watches.append(watch)
        self.trace.add_column(watch.text)
        return watch

    def watch_values(self) -> dict[str, float | bool]:
        """The current value of every watch, by its text."""
        return {w.text: w.result(self) for w in self.watches}

    def check(self, condition: str | Condition) -> bool:
        """Evaluate a condition now (expectations and watches)."""
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.evaluate(self)

    def value(self, condition: str | Condition) -> float | bool:
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.value(self)

    def layer(self, name: str) -> Layer:
        if name not in self._by_name or self._by_name[name] is self.model:
            raise KeyError(f"no layer {name!r}; layers: {', '.join(self.names)}")
        return self._by_name[name]

    def layer_metrics(self, name: str) -> dict[str, float]:
        """Every diagnostic of a layer, as of the micro-ops run so far."""
        layer = self.layer(name)
        mean, std, saturation, dead = self._act.get(name, (math.nan,) * 4)
        weights = self._weight_norms.get(name)
        if weights is None:
            weights = diag.weight_norm(layer)
        update = self._update_norms.get(name)
        return {
            "act_mean": mean,
            "act_std": std,
            "saturation": saturation,
            "dead_fraction": dead,
            "grad_norm": self._grad_norms.get(name, math.nan),
            "weight_norm": weights,
            "update_ratio": update / weights if update is not None and weights > 0 else math.nan,
        }

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> tuple[float, float]:
        """(loss, accuracy) on other data in evaluation mode, leaving the training state (the
        layers' inputs, outputs and caches) as it was."""
        pred = self.predict(x, batch_size)
        value, _ = self.loss(pred, y)
        return float(value), accuracy(pred, y, self.loss)

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` in evaluation mode; the training state is untouched."""
        saved = [(lay, lay.input, lay.output, lay.cache) for lay in self.model.walk()]
        self.model.eval()
        try:
            preds = [
                self.model.forward(self._model_input(x[i : i + batch_size]))
                for i in range(0, len(x), batch_size)
            ]
        finally:
            self.model.train()
            for lay, inp, out, cache in saved:
                lay.input, lay.output, lay.cache = inp, out, cache
        return np.concatenate(preds)

    def minority_recall(self) -> float:
        """Recall of the rarest class of the training labels: of its examples in the
        validation data (the training data without a split), the fraction predicted as it."""
        labels = np.asarray(self.stream.y)
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            return math.nan
        rare = int(np.argmin(np.where(np.bincount(labels) > 0, np.bincount(labels), labels.size)))
        x, y = self.validation if self.validation is not None else (self.stream.x, labels)
        y = np.asarray(y)
        members = y == rare
        if not members.any():
            return math.nan
        pred = self.predict(x[members])
        chosen = pred.argmax(axis=-1) if pred.shape[-1] > 1 else (pred[:, 0] > 0.5).astype(int)
        return float(np.mean(chosen == rare))

    # the Context protocol of nnsim.sim.conditions

    def layer_metric(self, metric: str, layer: str) -> float:
        if metric == "dh_ratio":
            norms = self._dh_norms.get(layer)
            if norms is None or norms[-1] == 0:
                return math.nan
            return float(norms[0] / norms[-1])
        if metric == "dc_ratio":
            return cell_gradient_ratio(self.layer(layer))
        if metric == "cell_carry":
            return cell_carry(self.layer(layer))
        if metric == "forget_gate":
            return forget_gate_mean(self.layer(layer))
        if metric in WEIGHT_SHAPE_METRICS:
            return WEIGHT_SHAPE_METRICS[metric](self.layer(layer))
        if metric in ("params", "rf", "flops"):
            row = next(r for r in self.model.summary().rows if r["name"] == layer)
            if metric == "rf":
                return (
                    math.nan if row["receptive_field"] is None else float(row["receptive_field"][0])
                )
            return float(row[metric])
        return self.layer_metrics(layer)[metric]

    def model_metric(self, metric: str) -> float | bool:
        if metric == "nonfinite":
            return self._nonfinite_seen
        if metric == "gradcheck":
            return self._gradcheck()
        if metric == "params":
            return float(self.model.summary().totals["params"])
        if metric == "published_params":
            from ..architectures import ARCHITECTURES

            build = ARCHITECTURES.get(self.model.name)
            return math.nan if build is None else float(build().summary().totals["params"])
        if metric == "collapse_error":
            return collapse_error(self.model, None if self.batch is None else self.batch[0])
        return self.global_grad_norm

    def _gradcheck(self) -> float:
        """The worst relative error of the analytic gradients against central differences,
        on the last batch (float64 models; the model's state is left as it was)."""
        from ..gradcheck import gradcheck

        if self.batch is None or self.model.dtype != np.float64:
            return math.nan
        saved = [
            (lay, lay.input, lay.output, lay.cache, lay.grads, lay.input_grad)
            for lay in self.model.walk()
        ]
        try:
            errors = gradcheck(
                self.model, self.loss, self._model_input(self.batch[0]), self.batch[1]
            )
        finally:
            for lay, inp, out, cache, grads, input_grad in saved:
                lay.input, lay.output, lay.cache = inp, out, cache
                lay.grads, lay.input_grad = grads, input_grad
        return max(errors.values()) if errors else math.nan

    def variable(self, name: str) -> float:
        if name == "iteration":
            return float(self.iteration)
        if name == "epoch":
            return float(self.stream.epoch)
        if name == "loss_roughness":
            return loss_roughness(self.trace.series("loss")[1])
        if name == "lr":
            return float(self.optimizer.lr)
        if name == "minority_recall":
            return self.minority_recall()
        if name == "stopped_early":
            return float(self.stopped_early)
        if name in ("best_val_loss", "best_iteration"):
            return float(getattr(self, name))
        if name == "input_covariance_error":
            return input_covariance_error(self.stream.x)
        if name == "first_loss":
            losses = self.trace.series("loss")[1]
            return float(losses[0]) if len(losses) else math.nan
        return float(
            {
                "loss": self.loss_value,
                "accuracy": self.accuracy,
                "val_loss": self.val_loss,
                "val_accuracy": self.val_accuracy,
            }[name]
        )


def _weights(layer: Layer) -> np.ndarray | None:
    return layer.params.get("W", layer.params.get("W_ih"))


def small_weights(layer: Layer) -> float:
    """The fraction of the layer's weights below 1 % of its largest one in size: the "many
    weights exactly or nearly zero" of an L1 penalty."""
    w = _weights(layer)
    if w is None or not w.size:
        return math.nan
    size = np.abs(w)
    return float((size < 0.01 * size.max()).mean()) if size.max() > 0 else 1.0


def sign_agreement(layer: Layer) -> float:
    """The fraction of units whose weight gradients all have one sign (zeros ignored): about
    1 after a sigmoid layer, whose outputs are all positive, about 0.5 after tanh."""
    g = layer.grads.get("W")
    if g is None or g.ndim != 2:
        return math.nan
    positive, negative = (g > 0).any(axis=1), (g < 0).any(axis=1)
    return float(np.mean(~(positive & negative)))


def unit_spread(layer: Layer) -> float:
    """The largest difference between two units' incoming weights: 0 when every unit of the
    layer is identical (what zero initialisation never breaks)."""
    w = _weights(layer)
    if w is None or w.ndim < 2:
        return math.nan
    rows = w.reshape(w.shape[0], -1)
    return float(np.abs(rows - rows[0]).max())


def loss_roughness(losses: np.ndarray) -> float:
    """mean |loss_t - loss_(t-1)| / mean loss over the run: how jagged the loss curve is."""
    finite = losses[np.isfinite(losses)]
    if finite.size < 3 or finite.mean() == 0:
        return math.nan
    return float(np.abs(np.diff(finite)).mean() / np.abs(finite).mean())


def peak_derivative(layer: Layer) -> float:
    """For an activation layer: the largest value of its derivative f'(z) at the inputs z it
    received in the last forward pass (over a grid of z: the peak of f')."""
    from .. import functional as F

    name = getattr(layer, "function", None)
    if name is None or not isinstance(layer.input, np.ndarray):
        return math.nan
    z = np.ascontiguousarray(layer.input, dtype=np.float64)
    derivative = F.activation_backward(
        name, np.ones_like(z), z, getattr(F, name)(z, **layer.fn_params), **layer.fn_params
    )
    return float(derivative.max())


def filter_smoothness(layer: Layer) -> float:
    """For a convolution: the mean correlation between neighbouring weights of a kernel
    (right and down neighbours, every filter and channel). About 0 for random kernels; edge
    and stroke detectors are smooth patterns, well above 0."""
    w = layer.params.get("W")
    if w is None or w.ndim != 4 or min(w.shape[2:]) < 2:
        return math.nan
    scores = []
    for kernel in w.reshape(-1, *w.shape[2:]):
        a = np.concatenate([kernel[:, :-1].ravel(), kernel[:-1, :].ravel()])
        b = np.concatenate([kernel[:, 1:].ravel(), kernel[1:, :].ravel()])
        if a.std() > 0 and b.std() > 0:
            scores.append(np.corrcoef(a, b)[0, 1])
    return float(np.mean(scores)) if scores else math.nan


WEIGHT_SHAPE_METRICS = {
    "peak_derivative": peak_derivative,
    "filter_smoothness": filter_smoothness,
    "small_weights": small_weights,
    "sign_agreement": sign_agreement,
    "unit_spread": unit_spread,
}


def collapse_error(model, x: np.ndarray | None) -> float:
    """For a network of Dense (and Identity) layers only: how far its output on ``x`` is from
    the single affine map x W^T + b with W = W_k ... W_1 (relative to the output's size). It
    is rounding error: without activations, depth adds nothing. NaN for other networks."""
    from ..layers import Dense, Identity

    leaves = model.leaves()
    if x is None or not all(isinstance(lay, Dense | Identity) for lay in leaves):
        return math.nan
    h = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    total_w = np.eye(h.shape[1])
    total_b = np.zeros(h.shape[1])
    for layer in leaves:
        if isinstance(layer, Dense):
            w, b = layer.params["W"], layer.params.get("b", 0.0)
            h = h @ w.T + b
            total_w, total_b = w @ total_w, w @ total_b + b
    single = np.asarray(x, dtype=np.float64).reshape(len(x), -1) @ total_w.T + total_b
    scale = max(float(np.abs(h).max()), 1e-300)
    return float(np.abs(h - single).max() / scale)


def input_covariance_error(x: np.ndarray) -> float:
    """max |Cov(x) - I| over the training features: 0 for whitened inputs."""
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    centred = flat - flat.mean(axis=0)
    covariance = centred.T @ centred / len(flat)
    return float(np.abs(covariance - np.eye(covariance.shape[0])).max())


def cell_gradient_ratio(layer: Layer) -> float:
    """||dL/dc_1|| / ||dL/dc_T|| of an LSTM after a backward pass: how much of the gradient
    that reaches the last cell state survives back to the first. NaN before any backward pass
    or for a layer without a cell state."""
    cache = getattr(layer, "cache", None)
    dc = getattr(cache, "dc", None)
    if dc is None:
        return math.nan
    norms = np.sqrt(np.einsum("nth,nth->t", dc.astype(np.float64), dc))  # (T,)
    return math.nan if norms[-1] == 0 else float(norms[0] / norms[-1])


def forget_gate_mean(layer: Layer) -> float:
    """The LSTM forget gate's mean over the last forward pass (batch, steps, units): near 1,
    the cell keeps what it holds; NaN for a layer without a forget gate."""
    cache = getattr(layer, "cache", None)
    if getattr(cache, "kind", None) != "lstm" or cache.gates is None:
        return math.nan
    return float(cache.gate("f").mean())


def cell_carry(layer: Layer) -> float:
    """The fraction of dL/dc_T that reaches c_1 along the LSTM's cell path alone: the product
    f_2 f_3 ... f_T of the forget gates (dc_{t-1} = f_t dc_t on that path), averaged over the
    batch and the units. NaN for a layer without a forget gate."""
    cache = getattr(layer, "cache", None)
    if getattr(cache, "kind", None) != "lstm" or cache.gates is None:
        return math.nan
    forget = cache.gate("f")[:, 1:].astype(np.float64)  # (N, T - 1, H)
    return float(np.exp(np.log(forget).sum(axis=1)).mean())
