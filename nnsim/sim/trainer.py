"""Training state: what one iteration computes (the batch, the loss, clipping, the update) as
the iteration's program, and what runs between iterations (the learning-rate schedule,
validation, early stopping)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import functional as F
from ..data import BatchStream
from ..i18n import N_
from ..layers.steps import Op, Program
from ..losses import Loss
from ..metrics import accuracy
from ..model import Sequential
from ..optim import Optimizer
from . import diagnostics as diag
from .events import Stop
from .frames import QUIET, Pass
from .sweep import Measurements


@dataclass(frozen=True)
class StepDecay:
    """Step decay of the learning rate: lr = lr0 * factor ** (completed // every)."""

    every: int
    factor: float

    def __post_init__(self) -> None:
        if self.every < 1 or not 0 < self.factor <= 1:
            raise ValueError(
                f"lr_decay must be (every >= 1, 0 < factor <= 1), got {(self.every, self.factor)!r}"
            )

    def rate(self, base_lr: float, completed: int) -> float:
        """The learning rate of the iteration after ``completed`` ones: a function of the
        iteration, so a replay needs no snapshot of it."""
        return base_lr * self.factor ** (completed // self.every)


class Trainer:
    """The model, its loss, optimiser and data, and the values of the current iteration."""

    # what a snapshot keeps of the trainer; the rest is recomputed by the replay that
    # always follows a restore
    COUNTERS = (
        "val_loss",
        "val_accuracy",
        "best_val_loss",
        "best_iteration",
        "evals_since_best",
        "best_weights",
        "stopped_early",
        "iterations",
    )

    def __init__(
        self,
        model: Sequential,
        loss: Loss,
        optimizer: Optimizer,
        stream: BatchStream,
        measurements: Measurements,
        *,
        iterations: int,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        eval_every: int = 0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        schedule: StepDecay | None = None,
        early_stopping: int | None = None,
    ) -> None:
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        if early_stopping is not None and (early_stopping < 1 or not eval_every):
            raise ValueError(
                "early_stopping needs a patience >= 1 and validation every eval_every iterations"
            )
        self.model, self.loss, self.optimizer, self.stream = model, loss, optimizer, stream
        self.measurements = measurements
        self.leaves = list(model.leaves())
        self.iterations = int(iterations)
        self.validation, self.eval_every = validation, int(eval_every)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.schedule, self.base_lr = schedule, optimizer.lr
        self.early_stopping = early_stopping  # evaluations without improvement before stopping
        # the program's passes and the operations that take no value, made once
        self._forward_order = list(model.layers)
        self._backward_order = self._forward_order[::-1]
        self._load_op = Op(N_("load a batch"), self.load_batch, phase="batch")
        self._clip_op = Op(N_("clip the gradients"), self.clip, phase="clip")
        self._update_op = Op(N_("optimiser update"), self.update, phase="update")
        self.reset()

    def reset(self) -> None:
        """The values of a run that has not started."""
        self.loss_value = self.accuracy = math.nan
        self.val_loss = self.val_accuracy = math.nan
        self.best_val_loss, self.best_iteration = math.inf, 0
        self.evals_since_best = 0
        self.best_weights: dict[str, np.ndarray] | None = None
        self.stopped_early = False
        self.pending_stop: Stop | None = None  # early stopping's, for the next event
        self.global_grad_norm = math.nan
        self.batch: tuple[np.ndarray, np.ndarray] | None = None
        self.prediction: np.ndarray | None = None
        # each gradient's sum of squares when a whole backward pass was measured; the clip
        # uses (and clears) them instead of measuring again
        self.squares: list[float] | None = None
        # (completed, accuracy): the whole training set is measured once per iteration
        self._train_accuracy: tuple[int, float] | None = None

    def counters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COUNTERS}

    # the iteration

    def begin(self, completed: int) -> Program:
        """The program of the iteration after ``completed`` ones."""
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.rate(self.base_lr, completed)
        return self.program()

    def program(self) -> Program:
        """One training iteration as micro-ops: the batch, a layer at a time forward (a
        ``Pass``), the loss, a layer at a time backward, the clip and the update; stepped one
        by one, or driven whole."""
        x, _ = yield self._load_op
        h = yield Pass(self._forward_order, self.model_input(x), "forward")
        d = yield Op("loss", lambda: self.compute_loss(h), phase="loss")
        yield Pass(self._backward_order, d, "backward")
        yield self._clip_op
        yield self._update_op

    def model_input(self, x: np.ndarray) -> np.ndarray:
        if getattr(self.leaves[0], "takes_integers", False):
            return np.asarray(x)
        return np.ascontiguousarray(x, dtype=self.model.dtype)

    def load_batch(self) -> tuple[np.ndarray, np.ndarray]:
        self.batch = self.stream.next()
        return self.batch

    def compute_loss(self, prediction: np.ndarray) -> np.ndarray:
        self.model.output = self.prediction = prediction
        value, dpred = self.loss(prediction, self.batch[1])
        self.loss_value = float(value) + self.model.penalty()
        self.accuracy = accuracy(prediction, self.batch[1], self.loss)
        return np.ascontiguousarray(dpred, dtype=self.model.dtype)

    def clip(self) -> None:
        """Record the global gradient norm and clip."""
        squares, self.squares = self.squares, None
        if squares is not None:  # one per gradient: none means the model has none
            self.global_grad_norm = math.sqrt(sum(squares)) if squares else math.nan
        clipping = self.clip_norm is not None or self.clip_value is not None
        if squares is not None and not clipping:
            return  # model.gradients() builds a dict: about 8 us on a 25-layer MLP
        grads = self.model.gradients()
        if squares is None:
            self.global_grad_norm = F.global_norm(grads) if grads else math.nan
        if self.clip_norm is not None:
            F.clip_grad_norm(grads, self.clip_norm)
        if self.clip_value is not None:
            F.clip_grad_value(grads, self.clip_value)

    def update(self) -> None:
        """The optimiser step; it also measures each layer's weight norm and step size."""
        params = self.model.trainable_parameters()
        sizes = np.empty((len(params), 2))  # (params, (sum p^2, sum step^2)), in params order
        self.optimizer.step(params, self.model.gradients(), sizes)
        sizes, row = sizes.tolist(), 0
        weight_norms = self.measurements.weight_norms
        update_norms = self.measurements.update_norms
        for layer in self.leaves:
            params = layer.params
            if not params:
                continue
            if layer.frozen:  # not stepped: measured apart
                weight_norms[layer.name] = diag.norm(list(params.values()))
                continue
            end = row + len(params)
            weight_squares = step_squares = 0.0
            for weight_square, step_square in sizes[row:end]:
                weight_squares += weight_square
                step_squares += step_square
            weight_norms[layer.name] = math.sqrt(weight_squares)
            update_norms[layer.name] = math.sqrt(step_squares)
            row = end

    # between iterations

    def end(self, completed: int) -> set[tuple[str, str | None]]:
        """After iteration ``completed``: validate when due (and apply early stopping);
        returns the refresh kinds this made current."""
        if self.validation is None or not self.eval_every or completed % self.eval_every:
            return set()
        self.val_loss, self.val_accuracy = self.evaluate(*self.validation)
        if self.early_stopping is not None:
            self._early_stopping(completed)
        return {("validation", None)}

    def _early_stopping(self, completed: int) -> None:
        """Keep the weights of the best validation loss; after ``early_stopping`` evaluations
        without improvement, put them back and end the run."""
        if self.val_loss < self.best_val_loss:
            self.best_val_loss, self.best_iteration = self.val_loss, completed
            self.evals_since_best = 0
            state = {**self.model.parameters(), **self.model.buffers()}
            self.best_weights = {k: v.copy() for k, v in state.items()}
            return
        self.evals_since_best += 1
        if self.evals_since_best < self.early_stopping or self.best_weights is None:
            return
        state = {**self.model.parameters(), **self.model.buffers()}
        for key, value in self.best_weights.items():
            state[key][...] = value
        self.val_loss, self.val_accuracy = self.evaluate(*self.validation)
        self.stopped_early, self.iterations = True, completed
        self.pending_stop = Stop(
            "early_stopping",
            completed,
            "update",
            None,
            None,
            f"the validation loss has not improved for {self.evals_since_best} evaluations; "
            f"restored the weights of iteration {self.best_iteration} "
            f"(validation loss {self.best_val_loss:.4g})",
        )

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> tuple[float, float]:
        """(loss, accuracy) on other data in evaluation mode, leaving the training state (the
        layers' inputs, outputs and caches) as it was."""
        pred = self.predict(x, batch_size)
        value, _ = self.loss(pred, y)
        return float(value), accuracy(pred, y, self.loss)

    def train_accuracy(self, completed: int) -> float:
        """The accuracy on the whole training set in evaluation mode (dropout off, batch norm
        on its running statistics; no augmentation), measured once per completed iteration:
        a check, a breakpoint or a view reading it again gets the kept value. A restore
        (rewind, step back) clears it."""
        kept = self._train_accuracy
        if kept is None or kept[0] != completed:
            kept = self._train_accuracy = (
                completed,
                self.accuracy_on(self.stream.x, self.stream.y),
            )
        return kept[1]

    def accuracy_on(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
        """The accuracy on ``(x, y)`` in evaluation mode, ``batch_size`` examples at a time
        (the memory of one chunk, whatever the data's size); NaN where accuracy has no
        meaning (regression). The training state is untouched."""
        # asked mid-iteration (a watch added, a step back), the pass must leave what the
        # rest of the iteration reads: DropConnect's mask, attention weights, caches
        saved = [(layer, dict(vars(layer))) for layer in self.model.walk()]
        correct = 0.0  # sum over chunks of accuracy x examples: every example weighs the same
        try:  # a diverged model's outputs overflow: the non-finite check reports that, not NumPy
            with self.model.inference() as model, np.errstate(**QUIET):
                for i in range(0, len(x), batch_size):
                    pred = model.forward(self.model_input(x[i : i + batch_size]))
                    chunk = accuracy(pred, y[i : i + batch_size], self.loss)
                    if math.isnan(chunk):
                        return math.nan
                    correct += chunk * len(pred)
        finally:
            for layer, attributes in saved:
                vars(layer).clear()
                vars(layer).update(attributes)
        return float(correct / len(x)) if len(x) else math.nan

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` in evaluation mode; the training state is untouched."""
        with self.model.inference() as model, np.errstate(**QUIET):
            preds = [
                model.forward(self.model_input(x[i : i + batch_size]))
                for i in range(0, len(x), batch_size)
            ]
        return np.concatenate(preds)
