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
        """Keep an expression to read after every step (``watch_values``); it never stops."""
        watch = parse_expression(expression, self.names)
        self.watches.append(watch)
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
        pred = np.concatenate(preds)
        value, _ = self.loss(pred, y)
        return float(value), accuracy(pred, y, self.loss)

    # the Context protocol of nnsim.sim.conditions

    def layer_metric(self, metric: str, layer: str) -> float:
        if metric == "dh_ratio":
            norms = self._dh_norms.get(layer)
            if norms is None or norms[-1] == 0:
                return math.nan
            return float(norms[0] / norms[-1])
        return self.layer_metrics(layer)[metric]

    def model_metric(self, metric: str) -> float | bool:
        if metric == "nonfinite":
            return self._nonfinite_seen
        return self.global_grad_norm

    def variable(self, name: str) -> float:
        if name == "iteration":
            return float(self.iteration)
        if name == "epoch":
            return float(self.stream.epoch)
        return float(
            {
                "loss": self.loss_value,
                "accuracy": self.accuracy,
                "val_loss": self.val_loss,
                "val_accuracy": self.val_accuracy,
            }[name]
        )
