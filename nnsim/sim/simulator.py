"""The step-through simulator: one training iteration as a program of micro-ops.

    from nnsim.scenario import load
    sim = load("vanishing_sigmoid").simulator()     # or Simulator(model, loss, optimizer, data)
    sim.add_breakpoint("grad_norm(dense1) < 1e-8")   # stop when the first layer's gradient dies
    print(sim.run_to("dense13", "backward"), sim.step_into())
    print(sim.continue_(), sim.layer_metrics("dense1")["grad_norm"])

One iteration is: load a batch; forward through each layer; the loss; backward through each
layer in reverse; gradient clipping; the optimiser update. ``step()`` runs the next micro-op at
the current depth (a layer or block whole) and returns an Event. ``step_into()`` enters a block
(Residual, Concat, Sequential) or a recurrent layer's time steps (forward t = 1..T, BPTT
t = T..1) instead; ``step_out()`` finishes the enclosing block or the current pass. Stepped or
whole, the same kernels compute the same values, bit for bit.

Any NaN or inf that a micro-op writes stops the run there, naming the layer and the phase
(always on); one written between commands into a parameter, a running statistic or the
optimiser's state stops the next command before the iteration, naming the array. What is
written between commands is never undone by a replay. Breakpoints are conditions in
nnsim.sim.conditions' language, re-evaluated after each micro-op that changed what they read.
``rewind`` and ``step_back`` restore a snapshot and replay deterministically.

The Simulator composes its parts: the ``Trainer`` (the iteration's program, clipping, the
learning-rate schedule, validation, early stopping), the ``Stepper`` (frames and micro-ops,
stepped or driven whole), the ``Timeline`` (snapshots, rewind, step back), the ``Debugger``
(breakpoints, watches, stops) and the ``Sweep`` (per-layer measurement). What a learner and a
condition read comes from ``Inspection``, its one base class.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import BatchStream, Dataset
from ..layers.recurrent import Recurrent
from ..losses import Loss
from ..model import Sequential
from ..optim import Optimizer
from ..text import TextSampler
from . import diagnostics as diag
from .conditions import Condition
from .debugger import Breakpoint, Debugger
from .events import Event
from .inspection import Inspection
from .parts import Part as _Part
from .snapshots import Snapshot
from .stepper import Stepper, quiet
from .sweep import Measurements, Sweep
from .timeline import Timeline
from .trace import Trace
from .trainer import StepDecay, Trainer

__all__ = ["Breakpoint", "Simulator"]


class Simulator(Inspection):
    """Training that can be paused anywhere, stepped, inspected, stopped on conditions and
    rewound. See the module docstring for a scripted session."""

    def __init__(
        self,
        model: Sequential,
        loss: Loss,
        optimizer: Optimizer,
        data: Dataset | tuple[np.ndarray, np.ndarray],
        *,
        batch_size: int = 32,
        shuffle: bool = True,
        iterations: int = 100,
        seed: int = 0,
        clip_norm: float | None = None,
        clip_value: float | None = None,
        validation: Dataset | tuple[np.ndarray, np.ndarray] | None = None,
        eval_every: int = 0,
        lr_decay: tuple[int, float] | None = None,
        augment=None,
        early_stopping: int | None = None,
        thresholds: diag.Thresholds | None = None,
        snapshot_every: int = 25,
        trace_capacity: int = 4096,
    ) -> None:
        if model.input_shape is None:
            raise ValueError("the model is not built: give Sequential an input_shape")
        x, y = (data.x, data.y) if isinstance(data, Dataset) else data
        if tuple(np.shape(x)[1:]) != model.input_shape:
            raise ValueError(
                f"the data's examples have shape {tuple(np.shape(x)[1:])} but the model expects "
                f"{model.input_shape}"
            )
        if isinstance(validation, Dataset):
            validation = (validation.x, validation.y)
        self.model = model
        self.lr_decay = lr_decay  # step decay: lr = lr0 * factor ** (completed // every)
        self.measurements = Measurements()
        self.trainer = Trainer(
            model,
            loss,
            optimizer,
            BatchStream(np.asarray(x), np.asarray(y), batch_size, shuffle, seed, augment=augment),
            self.measurements,
            iterations=iterations,
            validation=validation,
            eval_every=eval_every,
            clip_norm=clip_norm,
            clip_value=clip_value,
            schedule=None if lr_decay is None else StepDecay(*lr_decay),
            early_stopping=early_stopping,
        )
        self.thresholds = thresholds or diag.Thresholds()
        self.leaves = self.trainer.leaves
        self._has_params = np.array([bool(lay.param_shapes()) for lay in self.leaves])
        self._leaf_names = [lay.name for lay in self.leaves]
        self._param_owner = {
            f"{lay.name}.{key}": lay.name for lay in self.leaves for key in lay.param_shapes()
        }
        self.names = [layer.name for layer in model.walk() if layer is not model]
        self._by_name = {layer.name: layer for layer in model.walk()}
        recurrent = {
            lay.name: lay.input_shape[0] for lay in self.leaves if isinstance(lay, Recurrent)
        }
        self.trace = Trace(self._leaf_names, recurrent, trace_capacity)
        self.debugger = Debugger(self.names, self.layer, self.trace)
        self.timeline = Timeline(self._snapshot, self._restore, snapshot_every, self._adopt)
        self.sweep = Sweep(model.layers, self.measurements)
        self.stepper = Stepper(
            self.trainer,
            self.sweep,
            self.debugger,
            self.timeline,
            self,
            self.layer,
            self._record_diagnostics,
            self._state,
            self._state_values,
        )
        self.sampler: TextSampler | None = None  # set for a character model of a corpus
        self._diagnostics: tuple[np.ndarray, np.ndarray, float] | None = None
        model.train()
        model.materialize()
        # the weights the run started from, for weight_change (fine-tuning: frozen layers stay)
        self.initial_params = {k: v.copy() for k, v in model.parameters().items()}
        self.snapshots.add(self._snapshot())

    # the parts' state, under the names the Simulator has always had
    completed = _Part("stepper")
    event_index = _Part("stepper")
    events = _Part("stepper")
    stopped = _Part("stepper")
    iteration = _Part("stepper")
    phase = _Part("stepper")
    stepping_into = _Part("stepper")
    depth = _Part("stepper")
    next_op = _Part("stepper")
    loss = _Part("trainer")
    optimizer = _Part("trainer")
    stream = _Part("trainer")
    validation = _Part("trainer")
    eval_every = _Part("trainer")
    clip_norm = _Part("trainer")
    clip_value = _Part("trainer")
    early_stopping = _Part("trainer")
    iterations = _Part("trainer")
    base_lr = _Part("trainer")
    loss_value = _Part("trainer")
    accuracy = _Part("trainer")
    val_loss = _Part("trainer")
    val_accuracy = _Part("trainer")
    best_val_loss = _Part("trainer")
    best_iteration = _Part("trainer")
    stopped_early = _Part("trainer")
    global_grad_norm = _Part("trainer")
    batch = _Part("trainer")
    prediction = _Part("trainer")
    _model_input = _Part("trainer", "model_input")
    breakpoints = _Part("debugger")
    watches = _Part("debugger")
    layer_breakpoints = _Part("debugger")
    _nonfinite_seen = _Part("debugger", "nonfinite_seen")
    snapshots = _Part("timeline")
    _act = _Part("measurements", "act")
    _grad_norms = _Part("measurements", "grad_norms")
    _weight_norms = _Part("measurements", "weight_norms")
    _update_norms = _Part("measurements", "update_norms")
    _dh_norms = _Part("measurements", "dh_norms")

    # commands

    def step(self) -> Event:
        """Run the next micro-op at the current depth: a layer or block whole, a time step
        inside a recurrent layer, or the batch, loss, clip or update."""
        return self.stepper.step("op")

    def step_over(self) -> Event:
        """Run the current layer or block whole (the same as ``step``)."""
        return self.stepper.step("op")

    def step_into(self) -> Event:
        """Enter the next block or recurrent layer (its children or time steps come next);
        any other micro-op simply runs."""
        return self.stepper.step("into")

    def step_out(self) -> Event:
        """Finish the enclosing block (or recurrent layer); at the top level, finish the
        current pass (forward or backward) or the current micro-op."""
        return self.stepper.step_out()

    def run_to(self, layer: str | None, phase: str) -> Event | None:
        """Run until the next micro-op is ``layer`` in ``phase`` (entering the blocks that
        hold it), or a stop. With layer None, until the next micro-op of ``phase``."""
        return self.stepper.run_to(layer, phase)

    def continue_(self) -> Event | None:
        """Run until a breakpoint fires, a value turns non-finite, or the configured number
        of iterations is complete."""
        return self.stepper.continue_()

    def run(self, iterations: int) -> Event | None:
        """Run ``iterations`` more iterations (finishing the current one first counts as one),
        stopping early at a breakpoint or a non-finite value."""
        return self.stepper.run(iterations)

    @quiet
    def rewind(self, iterations: int = 1) -> None:
        """Go back to the start of the iteration ``iterations`` before the current one
        (0: the start of the current one), restoring and replaying deterministically."""
        self.timeline.rewind(self.stepper, iterations)

    @quiet
    def step_back(self) -> None:
        """Undo the last micro-op: restore and replay up to the one before it."""
        self.timeline.step_back(self.stepper)

    def add_breakpoint(self, condition: str) -> Breakpoint:
        """Stop whenever ``condition`` becomes true; a bad condition raises ConditionError."""
        return self.debugger.add_breakpoint(condition)

    def remove_breakpoint(self, condition: str) -> None:
        self.debugger.remove_breakpoint(condition)

    def toggle_layer_breakpoint(self, layer: str) -> bool:
        """Stop (in continue_ and run) just before any micro-op of ``layer``, like a line
        breakpoint in a debugger; call again to remove it. Returns whether it is now set."""
        return self.debugger.toggle_layer_breakpoint(layer)

    def add_watch(self, expression: str) -> Condition:
        """Keep an expression to read after every step (``watch_values``); it never stops.
        Its value after every iteration is a column of the trace, named by its text."""
        return self.debugger.add_watch(expression)

    def watch_values(self) -> dict[str, float | bool]:
        """The current value of every watch, by its text."""
        return self.debugger.watch_values(self)

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> tuple[float, float]:
        """(loss, accuracy) on other data in evaluation mode, leaving the training state (the
        layers' inputs, outputs and caches) as it was."""
        return self.trainer.evaluate(x, y, batch_size)

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The model's outputs for ``x`` in evaluation mode; the training state is untouched."""
        return self.trainer.predict(x, batch_size)

    # the iteration's record

    def _record_diagnostics(self, completed: int) -> None:
        measured, trainer = self.measurements, self.trainer
        act, grads = measured.act, measured.grad_norms
        weights, updates = measured.weight_norms, measured.update_norms
        nan, none = math.nan, (math.nan,) * 4
        flat: list[float] = []  # one flat list: a third faster than a list of tuples
        for n in self._leaf_names:
            flat += act.get(n, none)
            flat += (grads.get(n, nan), weights.get(n, nan), updates.get(n, nan))
        # (layers, metrics); the last column holds the update norm for now
        rows = np.array(flat).reshape(len(self._leaf_names), len(diag.METRICS))
        ratio = np.full(len(rows), nan)  # (layers,) update / weights where weights > 0
        np.divide(rows[:, 6], rows[:, 5], out=ratio, where=rows[:, 5] > 0)
        rows[:, 6] = ratio
        verdicts, largest = diag.classify(rows, self._has_params, self.thresholds)
        self._diagnostics = (rows, verdicts, largest)
        model_values = {
            "loss": trainer.loss_value,
            "accuracy": trainer.accuracy,
            "val_loss": trainer.val_loss,
            "val_accuracy": trainer.val_accuracy,
            "global_grad_norm": trainer.global_grad_norm,
            **{k: float(v) for k, v in self.debugger.watch_values(self).items()},
        }
        dh = {k: v for k, v in measured.dh_norms.items() if k in self.trace.dh_norms}
        self.trace.append(completed, model_values, rows, verdicts, dh)

    @property
    def latest(self) -> dict[str, diag.Report]:
        """Every layer's diagnostics and verdict after the last completed iteration."""
        if self._diagnostics is None:
            return {}
        rows, verdicts, largest = self._diagnostics
        return {
            layer.name: diag.Report(
                dict(zip(diag.METRICS, row, strict=True)), verdict, largest, self.thresholds
            )
            for layer, row, verdict in zip(
                self.leaves, rows.tolist(), [diag.VERDICTS[v] for v in verdicts], strict=True
            )
        }

    # snapshots: each part keeps its own counters; everything else it tracks (losses,
    # metrics, verdicts) is recomputed by the replay that always follows a restore (a rewind
    # replays at least the whole iteration before its target)

    def _snapshot(self) -> Snapshot:
        counters = {
            "stepper": self.stepper.counters(),
            "trainer": self.trainer.counters(),
            "debugger": {"nonfinite_seen": self.debugger.nonfinite_seen},
        }
        return Snapshot.take(
            self.stepper.completed,
            self.model,
            self.trainer.optimizer,
            self.trainer.stream.state(),
            counters,
        )

    def _state(self) -> list[tuple[str | None, str, np.ndarray]]:
        """(owner layer, label, array) of what a command may find changed from outside:
        the parameters, the running statistics and the optimiser's state."""
        arrays = [
            (lay.name, f"{lay.name}.{key}", array)
            for lay in self.leaves
            for values in (lay.params, lay.running)
            for key, array in values.items()
        ]
        for key, slots in self.trainer.optimizer.state.items():
            owner = self._param_owner.get(key)
            for slot, array in slots.items():
                if isinstance(array, np.ndarray):
                    arrays.append((owner, f"the optimiser's {slot} of {key}", array))
        return arrays

    def _state_values(self) -> list[np.ndarray]:
        """The arrays of ``_state`` alone: gathered at the start of every command."""
        arrays = [a for lay in self.leaves for d in (lay.params, lay.running) for a in d.values()]
        return arrays + [
            a
            for slots in self.trainer.optimizer.state.values()
            for a in slots.values()
            if isinstance(a, np.ndarray)
        ]

    def _adopt(self, snapshot: Snapshot) -> bool:
        """Where a replay reaches ``snapshot``'s boundary with other values than it holds
        (written between commands), take the snapshot's: returns whether they differed."""
        optimizer = self.trainer.optimizer

        def same(current: dict[str, np.ndarray], kept: dict[str, np.ndarray]) -> bool:
            return current.keys() == kept.keys() and all(
                np.array_equal(array, kept[key], equal_nan=True) for key, array in current.items()
            )

        state = optimizer.state
        if (
            optimizer.steps == snapshot.optimizer_steps
            and same(self.model.parameters(), snapshot.params)
            and same(self.model.buffers(), snapshot.running)
            and state.keys() == snapshot.optimizer_state.keys()
            and all(same(state[key], kept) for key, kept in snapshot.optimizer_state.items())
        ):
            return False
        snapshot.restore(self.model, optimizer)
        return True

    def _restore(self, snapshot: Snapshot) -> None:
        snapshot.restore(self.model, self.trainer.optimizer)
        self.trainer.stream.restore(snapshot.stream)
        self.trainer.reset()
        self.measurements.reset()
        self.stepper.reset()
        self.debugger.nonfinite_seen = False
        self._diagnostics = None
        for part, values in snapshot.counters.items():
            for name, value in values.items():
                setattr(getattr(self, part), name, value)
        self.trace.truncate(snapshot.completed + 1)
        if snapshot.completed == 0:
            for layer in self.model.walk():
                layer.input = layer.output = layer.cache = None
                layer.input_grad = layer.output_grad = None
                layer.grads = {}
