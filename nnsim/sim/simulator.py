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
(always on). Breakpoints are conditions in nnsim.sim.conditions' language, re-evaluated after
each micro-op that changed what they read. ``rewind`` and ``step_back`` restore a snapshot and
replay deterministically.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..data import BatchStream, Dataset
from ..layers.recurrent import Recurrent
from ..layers.steps import Child, Op
from ..losses import Loss
from ..metrics import accuracy
from ..model import Sequential
from ..optim import Optimizer
from ..text import TextSampler
from . import diagnostics as diag
from .conditions import Condition, parse
from .events import PHASES, Event, Stop
from .inspection import Inspection
from .machine import Frame, Machine, quiet
from .snapshots import Snapshot, SnapshotStore
from .sweep import Sweep
from .trace import Trace


@dataclass
class Breakpoint:
    condition: Condition
    enabled: bool = True
    hits: int = 0

    @property
    def text(self) -> str:
        return self.condition.text


class Simulator(Machine, Inspection):
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
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.stream = BatchStream(
            np.asarray(x), np.asarray(y), batch_size, shuffle, seed, augment=augment
        )
        self.validation = (
            None
            if validation is None
            else ((validation.x, validation.y) if isinstance(validation, Dataset) else validation)
        )
        self.eval_every = int(eval_every)
        if lr_decay is not None and (lr_decay[0] < 1 or not 0 < lr_decay[1] <= 1):
            raise ValueError(f"lr_decay must be (every >= 1, 0 < factor <= 1), got {lr_decay!r}")
        self.lr_decay = lr_decay  # step decay: lr = lr0 * factor ** (completed // every)
        self.base_lr = optimizer.lr
        if early_stopping is not None and (early_stopping < 1 or not self.eval_every):
            raise ValueError(
                "early_stopping needs a patience >= 1 and validation every eval_every iterations"
            )
        self.early_stopping = early_stopping  # evaluations without improvement before stopping
        self.iterations = int(iterations)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.thresholds = thresholds or diag.Thresholds()
        self.leaves = list(model.leaves())
        self._has_params = np.array([bool(lay.param_shapes()) for lay in self.leaves])
        self._leaf_names = [lay.name for lay in self.leaves]
        self._sweep = Sweep(model.layers)
        self.names = [layer.name for layer in model.walk() if layer is not model]
        self._by_name = {layer.name: layer for layer in model.walk()}
        recurrent = {
            lay.name: lay.input_shape[0] for lay in self.leaves if isinstance(lay, Recurrent)
        }
        self.trace = Trace([lay.name for lay in self.leaves], recurrent, trace_capacity)
        self.snapshots = SnapshotStore(every=snapshot_every)
        self.breakpoints: list[Breakpoint] = []
        self.watches: list[Condition] = []
        self.sampler: TextSampler | None = None  # set for a character model of a corpus
        self.layer_breakpoints: set[str] = set()  # stop before any micro-op of these layers
        self.events: deque[Event] = deque(maxlen=2000)
        self.stopped: Stop | None = None
        model.train()
        model.materialize()
        # the weights the run started from, for weight_change (fine-tuning: frozen layers stay)
        self.initial_params = {k: v.copy() for k, v in model.parameters().items()}
        self._frames: list[Frame] = []
        self._replaying = False
        self._histories: dict[int, list[str]] = {}
        self._reset_counters()
        self.snapshots.add(self._snapshot())

    def _reset_counters(self) -> None:
        self.completed = 0  # iterations finished
        self.event_index = 0
        self.loss_value = math.nan
        self.accuracy = math.nan
        self.val_loss = math.nan
        self.val_accuracy = math.nan
        self.best_val_loss = math.inf
        self.best_iteration = 0
        self._evals_since_best = 0
        self._best_weights: dict[str, np.ndarray] | None = None
        self.stopped_early = False
        self._pending_stop: Stop | None = None
        self.global_grad_norm = math.nan
        self.batch: tuple[np.ndarray, np.ndarray] | None = None
        self.prediction: np.ndarray | None = None
        self._act: dict[str, tuple[float, float, float, float]] = {}
        self._grad_norms: dict[str, float] = {}
        self._weight_norms: dict[str, float] = {}
        self._update_norms: dict[str, float] = {}
        self._dh_norms: dict[str, np.ndarray] = {}
        self._fresh: set[tuple[str, str | None]] = set()
        self._squares: list[float] | None = None
        self._nonfinite_seen = False
        self._diagnostics: tuple[np.ndarray, np.ndarray, float] | None = None

    # What a snapshot keeps of the simulator itself. Everything else it tracks (losses,
    # metrics, verdicts) is recomputed by the replay that always follows a restore: a rewind
    # replays at least the whole iteration before its target.
    _COUNTERS = (
        "completed",
        "event_index",
        "val_loss",
        "val_accuracy",
        "_nonfinite_seen",
        "best_val_loss",
        "best_iteration",
        "_evals_since_best",
        "_best_weights",
        "stopped_early",
        "iterations",
    )

    def _snapshot(self) -> Snapshot:
        counters = {name: getattr(self, name) for name in self._COUNTERS}
        return Snapshot.take(
            self.completed, self.model, self.optimizer, self.stream.state(), counters
        )

    def _restore(self, snapshot: Snapshot) -> None:
        snapshot.restore(self.model, self.optimizer)
        self.stream.restore(snapshot.stream)
        self._reset_counters()
        for name, value in snapshot.counters.items():
            setattr(self, name, value)
        self._frames = []
        self._fresh = set()
        self.stopped = None
        self.trace.truncate(snapshot.completed + 1)
        self.snapshots.drop_after(snapshot.completed)
        self._histories = {k: v for k, v in self._histories.items() if k <= snapshot.completed}
        if snapshot.completed == 0:
            for layer in self.model.walk():
                layer.input = layer.output = layer.cache = None
                layer.input_grad = layer.output_grad = None
                layer.grads = {}
            self.batch = self.prediction = None

    def _iteration_program(self):
        x, _ = yield Op("load a batch", self._load_batch, phase="batch")
        h = self._model_input(x)
        for layer in self.model.layers:
            h = yield Child(layer, h, "forward")
        d = yield Op("loss", lambda: self._compute_loss(h), phase="loss")
        for layer in reversed(self.model.layers):
            d = yield Child(layer, d, "backward")
        yield Op("clip the gradients", self._clip, phase="clip")
        yield Op("optimiser update", self._update, phase="update")

    def _model_input(self, x: np.ndarray) -> np.ndarray:
        if getattr(self.leaves[0], "takes_integers", False):
            return np.asarray(x)
        return np.ascontiguousarray(x, dtype=self.model.dtype)

    def _load_batch(self):
        self.batch = self.stream.next()
        return self.batch

    def _compute_loss(self, prediction: np.ndarray) -> np.ndarray:
        self.model.output = self.prediction = prediction
        value, dpred = self.loss(prediction, self.batch[1])
        self.loss_value = float(value) + self.model.penalty()
        self.accuracy = accuracy(prediction, self.batch[1], self.loss)
        return np.ascontiguousarray(dpred, dtype=self.model.dtype)

    def _clip(self) -> None:
        """Record the global gradient norm and clip. ``_squares``: each gradient's sum of
        squares in ``model.gradients()`` order, when a sweep has already measured them."""
        squares, self._squares = self._squares, None
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

    def _update(self) -> None:
        """The optimiser step; it also measures each layer's weight norm and step size."""
        params = self.model.trainable_parameters()
        sizes = np.empty((len(params), 2))  # (params, (sum p^2, sum step^2)), in params order
        self.optimizer.step(params, self.model.gradients(), sizes)
        sizes, row = sizes.tolist(), 0
        weight_norms, update_norms = self._weight_norms, self._update_norms
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

    def _end_iteration(self) -> set[tuple[str, str | None]]:
        """Count the iteration, evaluate if due and record the trace row; returns the refresh
        kinds it made current (for the breakpoints of the micro-op that ended it)."""
        self.completed += 1
        refreshed = set()
        if (
            self.validation is not None
            and self.eval_every
            and self.completed % self.eval_every == 0
        ):
            self.val_loss, self.val_accuracy = self.evaluate(*self.validation)
            refreshed.add(("validation", None))
            if self.early_stopping is not None:
                self._early_stopping()
        self._record_diagnostics()
        return refreshed

    def _early_stopping(self) -> None:
        """Keep the weights of the best validation loss; after ``early_stopping`` evaluations
        without improvement, put them back and end the run."""
        if self.val_loss < self.best_val_loss:
            self.best_val_loss, self.best_iteration = self.val_loss, self.completed
            self._evals_since_best = 0
            state = {**self.model.parameters(), **self.model.buffers()}
            self._best_weights = {k: v.copy() for k, v in state.items()}
            return
        self._evals_since_best += 1
        if self._evals_since_best < self.early_stopping or self._best_weights is None:
            return
        state = {**self.model.parameters(), **self.model.buffers()}
        for key, value in self._best_weights.items():
            state[key][...] = value
        self.val_loss, self.val_accuracy = self.evaluate(*self.validation)
        self.stopped_early, self.iterations = True, self.completed
        self._pending_stop = Stop(
            "early_stopping",
            self.completed,
            "update",
            None,
            None,
            f"the validation loss has not improved for {self._evals_since_best} evaluations; "
            f"restored the weights of iteration {self.best_iteration} "
            f"(validation loss {self.best_val_loss:.4g})",
        )

    def _record_diagnostics(self) -> None:
        act, grads = self._act, self._grad_norms
        weights, updates = self._weight_norms, self._update_norms
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
            "loss": self.loss_value,
            "accuracy": self.accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "global_grad_norm": self.global_grad_norm,
            **{k: float(v) for k, v in self.watch_values().items()},
        }
        dh = {k: v for k, v in self._dh_norms.items() if k in self.trace.dh_norms}
        self.trace.append(self.completed, model_values, rows, verdicts, dh)

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

    @quiet
    def step(self) -> Event:
        """Run the next micro-op at the current depth: a layer or block whole, a time step
        inside a recurrent layer, or the batch, loss, clip or update."""
        return self._primitive("op")

    @quiet
    def step_over(self) -> Event:
        """Run the current layer or block whole (the same as ``step``)."""
        return self._primitive("op")

    @quiet
    def step_into(self) -> Event:
        """Enter the next block or recurrent layer (its children or time steps come next);
        any other micro-op simply runs."""
        return self._primitive("into")

    @quiet
    def step_out(self) -> Event:
        """Finish the enclosing block (or recurrent layer); at the top level, finish the
        current pass (forward or backward) or the current micro-op."""
        depth = len(self._frames)
        if depth > 1:
            event = self._primitive("op")
            while len(self._frames) >= depth and event.stop is None:
                event = self._primitive("op")
            return event
        phase = self.phase
        event = self._primitive("op")
        while self._frames and self.phase == phase and event.stop is None:
            event = self._primitive("op")
        return event

    @quiet
    def run_to(self, layer: str | None, phase: str) -> Event | None:
        """Run until the next micro-op is ``layer`` in ``phase`` (entering the blocks that
        hold it), or a stop. With layer None, until the next micro-op of ``phase``."""
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        if layer is not None:
            target = self.layer(layer)
            if phase not in ("forward", "backward"):
                raise ValueError(f"a layer runs in the forward or backward phase, not {phase!r}")
        event = None
        limit = self.completed + 2
        while self.completed < limit:
            kind = "op"
            if self._frames:
                frame = self._frames[-1]
                request = frame.pending
                if isinstance(request, Child) and request.direction == phase and layer is not None:
                    if request.layer is target and event is not None:
                        return event
                    if request.layer is not target and target in list(request.layer.walk()):
                        kind = "into"
                elif layer is None and self.phase == phase and event is not None:
                    return event
            elif phase == "batch" and event is not None:
                return event
            event = self._primitive(kind)
            if event.stop is not None:
                return event
        return event

    @quiet
    def continue_(self) -> Event | None:
        """Run until a breakpoint fires, a value turns non-finite, or the configured number
        of iterations is complete."""
        event = None
        self.stopped = None
        while self.completed < self.iterations or self._frames:
            event = self._next(last=self.completed + 1 >= self.iterations)
            if event.stop is not None:
                return event
            if not self._frames and self.completed >= self.iterations:
                break
        return event

    @quiet
    def run(self, iterations: int) -> Event | None:
        """Run ``iterations`` more iterations (finishing the current one first counts as one),
        stopping early at a breakpoint or a non-finite value."""
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        target = self.completed + iterations
        event = None
        self.stopped = None
        while self.completed < target:
            event = self._next(last=self.completed + 1 >= target)
            if event.stop is not None:
                break
        return event

    @quiet
    def rewind(self, iterations: int = 1) -> None:
        """Go back to the start of the iteration ``iterations`` before the current one
        (0: the start of the current one), restoring and replaying deterministically."""
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        self._replay_to(max(0, self.completed - iterations), [])

    @quiet
    def step_back(self) -> None:
        """Undo the last micro-op: restore and replay up to the one before it."""
        history = self._histories.get(self.completed + 1 if self._frames else self.completed)
        current = self.completed + 1 if self._frames else self.completed
        if not history:
            raise ValueError("nothing to step back to: this is the start of the run")
        start = current - 1
        self._replay_to(start, history[:-1])

    def _replay_to(self, completed: int, partial: list[str]) -> None:
        """Restore a snapshot before boundary ``completed`` and replay to it, then replay the
        ``partial`` primitives of the next iteration."""
        snapshot = self.snapshots.at_or_before(max(0, completed - 1))
        histories = {k: list(v) for k, v in self._histories.items()}
        self._restore(snapshot)
        self._replaying = True
        try:
            while self.completed < completed:
                self._next()
            if partial:
                self._begin_iteration()
                for kind in partial:
                    self._primitive(kind)
            self._histories.update({k: v for k, v in histories.items() if k < self.completed})
        finally:
            self._replaying = False
        while self.events and self.events[-1].index > self.event_index:
            self.events.pop()  # the undone future

    def _find_nonfinite(self) -> Event:
        """Replay the last iteration micro-op by micro-op up to its first non-finite value."""
        self._replay_to(self.completed - 1, [])
        event = self._primitive("op")
        while event.stop is None and self._frames:
            event = self._primitive("op")
        return event

    def toggle_layer_breakpoint(self, layer: str) -> bool:
        """Stop (in continue_ and run) just before any micro-op of ``layer``, like a line
        breakpoint in a debugger; call again to remove it. Returns whether it is now set."""
        self.layer(layer)  # a KeyError for an unknown name
        if layer in self.layer_breakpoints:
            self.layer_breakpoints.discard(layer)
            return False
        self.layer_breakpoints.add(layer)
        return True

    def add_breakpoint(self, condition: str) -> Breakpoint:
        """Stop whenever ``condition`` becomes true; a bad condition raises ConditionError."""
        bp = Breakpoint(parse(condition, self.names))
        self.breakpoints.append(bp)
        return bp

    def remove_breakpoint(self, condition: str) -> None:
        before = len(self.breakpoints)
        self.breakpoints = [bp for bp in self.breakpoints if bp.text != condition]
        if len(self.breakpoints) == before:
            raise KeyError(f"no breakpoint {condition!r}")
