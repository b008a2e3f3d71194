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

import functools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functional as F
from ..data import BatchStream, Dataset
from ..kernels import elementwise as ke
from ..layers import Layer
from ..layers.recurrent import Recurrent
from ..layers.steps import Child, Op, run_child
from ..losses import Loss
from ..metrics import accuracy
from ..model import Sequential
from ..optim import Optimizer
from . import diagnostics as diag
from .conditions import Condition, parse, parse_expression
from .events import PHASES, Event, Stop
from .snapshots import Snapshot, SnapshotStore
from .trace import Trace


def _quiet(command):
    """Run a command with NumPy's overflow and invalid-value warnings off: the non-finite
    check reports those values, with the layer and the phase, so warnings would only repeat it."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return command(*args, **kwargs)

    return wrapper


@dataclass
class Breakpoint:
    condition: Condition
    enabled: bool = True
    hits: int = 0

    @property
    def text(self) -> str:
        return self.condition.text


@dataclass
class _Frame:
    program: Any  # a generator of Child / Op requests
    layer: Layer | None  # the block or recurrent layer it belongs to; None: the iteration
    phase: str  # "forward" or "backward" for a layer's program
    depth: int
    pending: Child | Op | None = None


class Simulator:
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
        self.stream = BatchStream(np.asarray(x), np.asarray(y), batch_size, shuffle, seed)
        self.validation = (
            None
            if validation is None
            else ((validation.x, validation.y) if isinstance(validation, Dataset) else validation)
        )
        self.eval_every = int(eval_every)
        self.iterations = int(iterations)
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.thresholds = thresholds or diag.Thresholds()
        self.leaves = list(model.leaves())
        self.names = [layer.name for layer in model.walk() if layer is not model]
        self._by_name = {layer.name: layer for layer in model.walk()}
        recurrent = {
            lay.name: lay.input_shape[0] for lay in self.leaves if isinstance(lay, Recurrent)
        }
        self.trace = Trace([lay.name for lay in self.leaves], recurrent, trace_capacity)
        self.snapshots = SnapshotStore(every=snapshot_every)
        self.breakpoints: list[Breakpoint] = []
        self.watches: list[Condition] = []
        self.events: deque[Event] = deque(maxlen=2000)
        self.stopped: Stop | None = None
        model.train()
        model.materialize()
        self._frames: list[_Frame] = []
        self._replaying = False
        self._histories: dict[int, list[str]] = {}
        self._reset_counters()
        self.snapshots.add(self._snapshot())

    # ---------------------------------------------------------------- state

    def _reset_counters(self) -> None:
        self.completed = 0  # iterations finished
        self.event_index = 0
        self.loss_value = math.nan
        self.accuracy = math.nan
        self.val_loss = math.nan
        self.val_accuracy = math.nan
        self.global_grad_norm = math.nan
        self.batch: tuple[np.ndarray, np.ndarray] | None = None
        self.prediction: np.ndarray | None = None
        self._act: dict[str, tuple[float, float, float, float]] = {}
        self._grad_norms: dict[str, float] = {}
        self._weight_norms: dict[str, float] = {}
        self._update_norms: dict[str, float] = {}
        self._dh_norms: dict[str, np.ndarray] = {}
        self._fresh: set[tuple[str, str | None]] = set()
        self._nonfinite_seen = False
        self.latest: dict[str, dict[str, Any]] = {}

    # What a snapshot keeps of the simulator itself. Everything else it tracks (losses,
    # metrics, verdicts) is recomputed by the replay that always follows a restore: a rewind
    # replays at least the whole iteration before its target.
    _COUNTERS = ("completed", "event_index", "val_loss", "val_accuracy", "_nonfinite_seen")

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

    @property
    def iteration(self) -> int:
        """The current iteration, counted from 1 (the last one, between iterations)."""
        return self.completed + (1 if self._frames else 0)

    @property
    def phase(self) -> str:
        """The phase of the next micro-op ("batch" between iterations)."""
        if not self._frames:
            return "batch"
        return self._phase_of(self._frames[-1].pending, self._frames[-1])

    @property
    def depth(self) -> int:
        return max(0, len(self._frames) - 1)

    @property
    def next_op(self) -> tuple[str, str | None]:
        """(phase, layer) of the micro-op that the next step will run."""
        if not self._frames:
            return "batch", None
        frame = self._frames[-1]
        request = frame.pending
        layer = request.layer.name if isinstance(request, Child) else _name(frame.layer)
        return self._phase_of(request, frame), layer

    @staticmethod
    def _phase_of(request, frame: _Frame) -> str:
        if isinstance(request, Child):
            return request.direction
        return request.phase or frame.phase

    # ---------------------------------------------------------------- the iteration program

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
        grads = self.model.gradients()
        self.global_grad_norm = F.global_norm(grads) if grads else math.nan
        if self.clip_norm is not None:
            F.clip_grad_norm(grads, self.clip_norm)
        if self.clip_value is not None:
            F.clip_grad_value(grads, self.clip_value)

    def _update(self) -> None:
        params = self.model.trainable_parameters()
        before = {k: v.copy() for k, v in params.items()}
        self.optimizer.step(params, self.model.gradients())
        for layer in self.leaves:
            if not layer.params:
                continue
            self._weight_norms[layer.name] = diag.norm(layer.params.values())
            if not layer.frozen:
                moved = 0.0
                for key, p in layer.params.items():
                    old = before[f"{layer.name}.{key}"]
                    moved += ke.squared_distance(p.reshape(-1), old.reshape(-1))
                self._update_norms[layer.name] = math.sqrt(moved)

    # ---------------------------------------------------------------- the machine

    def _begin_iteration(self) -> None:
        self.snapshots.add(self._snapshot())
        keep = self.completed - self.snapshots.recent
        self._histories = {k: v for k, v in self._histories.items() if k > keep}
        self._histories[self.completed + 1] = []
        self._fresh = set()
        frame = _Frame(self._iteration_program(), None, "batch", 0)
        frame.pending = next(frame.program)
        self._frames = [frame]

    def _primitive(self, kind: str) -> Event:
        """Run one micro-op: "op" runs the pending request whole, "into" descends into it
        (when it is a block or a recurrent layer; otherwise it runs it whole). Callers hold
        ``_quiet`` (see the commands)."""
        if not self._frames:
            self._begin_iteration()
        self._histories[self.completed + 1].append(kind)
        frame = self._frames[-1]
        request, iteration, depth = frame.pending, self.completed + 1, frame.depth
        phase = self._phase_of(request, frame)
        if kind == "into" and isinstance(request, Child):
            program = (
                request.layer.forward_steps(request.value)
                if phase == "forward"
                else request.layer.backward_steps(request.value)
            )
            if program is not None:
                child = _Frame(program, request.layer, phase, depth + 1)
                child.pending = next(program)
                self._frames.append(child)
                label = f"step into {request.layer.name}"
                return self._emit(iteration, phase, request.layer.name, "enter", label, depth)
        if isinstance(request, Child):
            result = run_child(request)
            effects = self._layer_effects(request.layer, phase, whole=True)
            layer_name, what, label, t = request.layer.name, "layer", request.layer.name, None
        else:
            result = request.run()
            effects = self._op_effects(request, frame, phase, result)
            layer_name, label = _name(frame.layer), request.label
            what = "op" if frame.layer is not None else phase
            t = None if request.t is None else request.t + 1
        for layer, layer_phase in self._advance(frame, result):
            effects.merge(self._layer_effects(layer, layer_phase, whole=False))
        return self._emit(iteration, phase, layer_name, what, label, depth, t, effects)

    def _advance(self, frame: _Frame, result) -> list[tuple[Layer, str]]:
        """Send ``result`` to the frame's program and pop the programs that finish; returns
        the (layer, phase) of each block or recurrent layer that finished by stepping."""
        finished = []
        while True:
            try:
                frame.pending = frame.program.send(result)
                return finished
            except StopIteration as stop:
                self._frames.pop()
                if frame.layer is None:  # the iteration's own program: the iteration is done
                    self._end_iteration()
                    return finished
                finished.append((frame.layer, frame.phase))
                frame, result = self._frames[-1], stop.value

    # ---------------------------------------------------------------- what a micro-op changed

    def _layer_effects(self, layer: Layer, phase: str, whole: bool) -> _Effects:
        """Record a layer's (and, run whole, its descendants') fresh metrics."""
        layers = list(layer.walk()) if whole and layer.children() else [layer]
        effects = _Effects()
        if phase == "forward":
            for lay in layers:
                self._act[lay.name] = diag.activation_stats(lay)
                effects.refreshed.add(("activation", lay.name))
                if not lay.children():  # leaves in the order they ran, to blame the first
                    mean = self._act[lay.name][0]
                    effects.arrays.append((lay.name, f"{lay.name}.output", lay.output, mean))
            if layer.children():
                mean = self._act[layer.name][0]
                effects.arrays.append((layer.name, f"{layer.name}.output", layer.output, mean))
            effects.changed.append(f"{layer.name}.output")
            return effects
        for lay in reversed(layers):  # children before the blocks that hold them
            if lay.children():
                norms = [
                    self._grad_norms.get(leaf.name, 0.0)
                    for leaf in lay.walk()
                    if not leaf.children() and leaf.grads
                ]
                self._grad_norms[lay.name] = (
                    math.sqrt(sum(g * g for g in norms)) if norms else (diag.grad_norm(lay))
                )
            else:
                norm = self._grad_norms[lay.name] = diag.grad_norm(lay)
                for key, grad in lay.grads.items():
                    effects.arrays.append((lay.name, f"{lay.name}.grads.{key}", grad, norm))
                cache = lay.cache
                if isinstance(cache, F.RecurrentCache) and cache.dh is not None:
                    self._dh_norms[lay.name] = F.grad_norms_through_time(cache)
            effects.refreshed.add(("gradient", lay.name))
            # a layer without gradients of its own measured its grad_norm on input_grad
            covered = None if lay.grads or lay.children() else self._grad_norms[lay.name]
            effects.arrays.append((lay.name, f"{lay.name}.input_grad", lay.input_grad, covered))
        effects.changed.append(f"{layer.name}.grads")
        return effects

    def _op_effects(self, request: Op, frame: _Frame, phase: str, result) -> _Effects:
        effects = _Effects()
        owner = frame.layer
        if owner is None:  # the simulator's own phases
            effects.refreshed.add((PHASE_REFRESH[phase], None))
            if phase == "batch":
                effects.changed.append("batch")
                effects.arrays.append((None, "batch.x", self.batch[0], None))
            elif phase == "loss":
                effects.changed += ["loss", "prediction"]
                effects.arrays.append((None, "loss", np.array([self.loss_value]), None))
            elif phase == "clip":
                effects.changed.append("gradients")
            elif phase == "update":
                for lay in self.model.walk():
                    effects.refreshed.add(("weight", lay.name))
                effects.changed.append("parameters")
                for lay in self.leaves:
                    norm = self._weight_norms.get(lay.name)
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

    def _emit(self, iteration, phase, layer, what, label, depth, t=None, effects=None) -> Event:
        effects = effects or _Effects()
        self._fresh |= effects.refreshed
        self.event_index += 1
        stop = None
        if not self._nonfinite_seen:
            stop = self._nonfinite_stop(iteration, phase, effects.arrays)
        if stop is None and not self._replaying:
            stop = self._breakpoint_stop(iteration, phase, layer, effects.refreshed)
        event = Event(
            self.event_index,
            iteration,
            phase,
            layer,
            what,
            label,
            depth,
            t,
            tuple(effects.changed),
            stop,
        )
        if stop is not None and not self._replaying:
            self.stopped = stop
        if not self._replaying:
            self.events.append(event)
        return event

    def _nonfinite_stop(self, iteration, phase, arrays) -> Stop | None:
        for owner, label, array, summary in arrays:
            if summary is not None and math.isfinite(summary):
                continue  # a finite sum over the array: every value in it is finite
            if not isinstance(array, np.ndarray) or array.dtype.kind != "f" or not array.size:
                continue
            nans, infs = ke.count_nonfinite(np.ascontiguousarray(array).reshape(-1))
            if nans or infs:
                self._nonfinite_seen = True
                detail = f"{label} has {nans} NaN and {infs} inf of {array.size} values"
                return Stop("nonfinite", iteration, phase, owner, None, detail)
        return None

    def _breakpoint_stop(self, iteration, phase, layer, refreshed) -> Stop | None:
        available = self._fresh | {("any", None)}
        fired = None
        for bp in self.breakpoints:
            deps = bp.condition.dependencies
            if not bp.enabled or not (deps & (refreshed | {("any", None)})):
                continue
            if not deps <= available:
                continue
            if bp.condition.evaluate(self):
                bp.hits += 1
                fired = fired or Stop("breakpoint", iteration, phase, layer, bp.text)
        return fired

    def _end_iteration(self) -> None:
        self.completed += 1
        if (
            self.validation is not None
            and self.eval_every
            and self.completed % self.eval_every == 0
        ):
            self.val_loss, self.val_accuracy = self.evaluate(*self.validation)
            self._fresh.add(("validation", None))
        self._record_diagnostics()

    def _record_diagnostics(self) -> None:
        largest = max(
            (self._grad_norms.get(lay.name, 0.0) for lay in self.leaves if lay.params), default=0.0
        )
        rows, verdicts = [], []
        for layer in self.leaves:
            metrics = self.layer_metrics(layer.name)
            verdict, why = diag.verdict(metrics, largest, self.thresholds)
            metrics["verdict"], metrics["explanation"] = verdict, why
            self.latest[layer.name] = metrics
            rows.append([metrics[m] for m in diag.METRICS])
            verdicts.append(verdict)
        model_values = {
            "loss": self.loss_value,
            "accuracy": self.accuracy,
            "val_loss": self.val_loss,
            "val_accuracy": self.val_accuracy,
            "global_grad_norm": self.global_grad_norm,
        }
        dh = {k: v for k, v in self._dh_norms.items() if k in self.trace.dh_norms}
        self.trace.append(self.completed, model_values, np.array(rows), verdicts, dh)

    # ---------------------------------------------------------------- commands

    @_quiet
    def step(self) -> Event:
        """Run the next micro-op at the current depth: a layer or block whole, a time step
        inside a recurrent layer, or the batch, loss, clip or update."""
        return self._primitive("op")

    @_quiet
    def step_over(self) -> Event:
        """Run the current layer or block whole (the same as ``step``)."""
        return self._primitive("op")

    @_quiet
    def step_into(self) -> Event:
        """Enter the next block or recurrent layer (its children or time steps come next);
        any other micro-op simply runs."""
        return self._primitive("into")

    @_quiet
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

    @_quiet
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

    @_quiet
    def continue_(self) -> Event | None:
        """Run until a breakpoint fires, a value turns non-finite, or the configured number
        of iterations is complete."""
        event = None
        self.stopped = None
        while self.completed < self.iterations or self._frames:
            event = self._next()
            if event.stop is not None:
                return event
            if not self._frames and self.completed >= self.iterations:
                break
        return event

    @_quiet
    def run(self, iterations: int) -> Event | None:
        """Run ``iterations`` more iterations (finishing the current one first counts as one),
        stopping early at a breakpoint or a non-finite value."""
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        target = self.completed + iterations
        event = None
        self.stopped = None
        while self.completed < target:
            event = self._next()
            if event.stop is not None:
                break
        return event

    @_quiet
    def rewind(self, iterations: int = 1) -> None:
        """Go back to the start of the iteration ``iterations`` before the current one
        (0: the start of the current one), restoring and replaying deterministically."""
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        self._replay_to(max(0, self.completed - iterations), [])

    @_quiet
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

    # ---------------------------------------------------------------- whole iterations

    def _next(self) -> Event:
        """The next micro-op, or, at an iteration boundary with no breakpoint to watch, the
        whole next iteration at once (the same values; see ``_whole_iteration``)."""
        if self._frames or any(bp.enabled for bp in self.breakpoints):
            return self._primitive("op")
        return self._whole_iteration()

    def _whole_iteration(self) -> Event:
        """One iteration without stopping between its micro-ops: the layers' forward and
        backward passes run back to back and the diagnostics are measured in one sweep after
        each pass. The values are those of stepping (the same calls in the same order), and
        ``event_index`` advances by the micro-ops the iteration holds. If a value turned
        non-finite, the iteration is replayed micro-op by micro-op from its snapshot, so the
        run stops exactly where stepping would have stopped."""
        self._begin_iteration()
        self._frames = []  # the iteration's own program is not used
        iteration, layers = self.completed + 1, self.model.layers
        self._histories[iteration] = ["op"] * (2 * len(layers) + 4)
        effects = _Effects()
        x, _ = self._load_batch()
        effects.arrays.append((None, "batch.x", self.batch[0], None))
        h = self._model_input(x)
        for layer in layers:
            h = layer.forward(h)
        for layer in layers:
            effects.merge(self._layer_effects(layer, "forward", whole=True))
        d = self._compute_loss(h)
        effects.arrays.append((None, "loss", np.array([self.loss_value]), None))
        for layer in reversed(layers):
            d = layer.backward(d)
        for layer in reversed(layers):
            effects.merge(self._layer_effects(layer, "backward", whole=True))
        self._clip()
        self._update()
        for lay in self.leaves:
            norm = self._weight_norms.get(lay.name)
            for key, p in lay.params.items():
                effects.arrays.append((lay.name, f"{lay.name}.{key}", p, norm))
        self._end_iteration()
        self.event_index += 2 * len(layers) + 4
        if not self._nonfinite_seen and not self._replaying:
            if self._nonfinite_stop(iteration, "update", effects.arrays) is not None:
                return self._find_nonfinite()
        event = Event(
            self.event_index,
            iteration,
            "update",
            None,
            "update",
            "optimiser update",
            0,
            None,
            ("parameters",),
        )
        if not self._replaying:
            self.events.append(event)
        return event

    def _find_nonfinite(self) -> Event:
        """Replay the last iteration micro-op by micro-op up to its first non-finite value."""
        self._replay_to(self.completed - 1, [])
        event = self._primitive("op")
        while event.stop is None and self._frames:
            event = self._primitive("op")
        return event

    # ---------------------------------------------------------------- breakpoints

    def add_breakpoint(self, condition: str) -> Breakpoint:
        """Stop whenever ``condition`` becomes true; a bad condition raises ConditionError."""
        bp = Breakpoint(parse(condition, self.names))
        self.breakpoints.append(bp)
        return bp

    def add_watch(self, expression: str) -> Condition:
        """Keep an expression to read after every step (``watch_values``); it never stops."""
        watch = parse_expression(expression, self.names)
        self.watches.append(watch)
        return watch

    def watch_values(self) -> dict[str, float | bool]:
        """The current value of every watch, by its text."""
        return {w.text: w.result(self) for w in self.watches}

    def remove_breakpoint(self, condition: str) -> None:
        before = len(self.breakpoints)
        self.breakpoints = [bp for bp in self.breakpoints if bp.text != condition]
        if len(self.breakpoints) == before:
            raise KeyError(f"no breakpoint {condition!r}")

    def check(self, condition: str | Condition) -> bool:
        """Evaluate a condition now (expectations and watches)."""
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.evaluate(self)

    def value(self, condition: str | Condition) -> float | bool:
        cond = parse(condition, self.names) if isinstance(condition, str) else condition
        return cond.value(self)

    # ---------------------------------------------------------------- inspection

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


PHASE_REFRESH = {"batch": "batch", "loss": "loss", "clip": "gradient", "update": "weight"}


@dataclass
class _Effects:
    # (kind, layer) pairs whose values this micro-op made current
    refreshed: set[tuple[str, str | None]] = field(default_factory=set)
    # names of the arrays written, for the Event
    changed: list[str] = field(default_factory=list)
    # (owner layer, label, array, summary) to check for NaN and inf, in the order they were
    # computed; a finite summary (a sum or a norm already taken over the array) spares the check
    arrays: list[tuple[str | None, str, Any, float | None]] = field(default_factory=list)

    def merge(self, other: _Effects) -> None:
        self.refreshed |= other.refreshed
        self.changed += other.changed
        self.arrays += other.arrays


def _name(layer: Layer | None) -> str | None:
    return None if layer is None else layer.name
