"""The micro-op machine under the Simulator: a stack of step programs, one frame per block or
recurrent layer being stepped, and what each micro-op changed (fresh metrics, arrays to check
for NaN and inf, the Event it reports).

``Machine`` is a base class of ``Simulator`` and uses its state: the model, the frames, the
iteration program and the training operations (batch, loss, clip, update).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import functional as F
from ..layers import Layer
from ..layers.steps import Child, Op, run_child
from . import diagnostics as diag
from .events import Event, Stop
from .sweep import all_finite, nonfinite_counts


def quiet(command):
    """Run a command with NumPy's overflow and invalid-value warnings off: the non-finite
    check reports those values, with the layer and the phase, so warnings would only repeat it."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return command(*args, **kwargs)

    return wrapper


@dataclass
class Frame:
    program: Any  # a generator of Child / Op requests
    layer: Layer | None  # the block or recurrent layer it belongs to; None: the iteration
    phase: str  # "forward" or "backward" for a layer's program
    depth: int
    pending: Child | Op | None = None


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


def drive(program, request, before_op) -> int:
    """Run the iteration's program from its pending ``request`` to the end without stopping,
    every request carried out whole (as ``layers.steps.drive`` runs a block);
    ``before_op(request)`` runs before each of the program's own operations. Returns the
    number of micro-ops the program held."""
    ops = 0
    try:
        while True:
            if isinstance(request, Child):
                result = run_child(request)
            else:
                before_op(request)
                result = request.run()
            ops += 1
            request = program.send(result)
    except StopIteration:
        return ops


def _name(layer: Layer | None) -> str | None:
    return None if layer is None else layer.name


class Machine:
    """Frames, micro-ops and their effects (see the module docstring)."""

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
    def stepping_into(self) -> list[str]:
        """The layers whose step programs are open, outermost first."""
        return [frame.layer.name for frame in self._frames if frame.layer is not None]

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
    def _phase_of(request, frame: Frame) -> str:
        if isinstance(request, Child):
            return request.direction
        return request.phase or frame.phase

    def _begin_iteration(self, snapshot: bool = True) -> None:
        if snapshot or self.completed % self.snapshots.every == 0:
            self.snapshots.add(self._snapshot())
        if self.lr_decay is not None:  # a function of the iteration: replays need no snapshot
            every, factor = self.lr_decay
            self.optimizer.lr = self.base_lr * factor ** (self.completed // every)
        keep = self.completed - self.snapshots.recent
        for old in [k for k in self._histories if k <= keep]:  # usually one
            del self._histories[old]
        self._histories[self.completed + 1] = []
        self._fresh = set()
        frame = Frame(self._iteration_program(), None, "batch", 0)
        frame.pending = next(frame.program)
        self._frames = [frame]

    def _primitive(self, kind: str) -> Event:
        """Run one micro-op: "op" runs the pending request whole, "into" descends into it
        (when it is a block or a recurrent layer; otherwise it runs it whole). Callers hold
        ``quiet`` (see the commands)."""
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
                child = Frame(program, request.layer, phase, depth + 1)
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
        finished, ended = self._advance(frame, result)
        for layer, layer_phase in finished:
            effects.merge(self._layer_effects(layer, layer_phase, whole=False))
        effects.refreshed |= ended  # what the iteration's end refreshed (validation)
        return self._emit(iteration, phase, layer_name, what, label, depth, t, effects)

    def _advance(self, frame: Frame, result) -> tuple[list[tuple[Layer, str]], set]:
        """Send ``result`` to the frame's program and pop the programs that finish; returns
        the (layer, phase) of each block or recurrent layer that finished by stepping, and
        what the end of the iteration refreshed if it ended."""
        finished = []
        while True:
            try:
                frame.pending = frame.program.send(result)
                return finished, set()
            except StopIteration as stop:
                self._frames.pop()
                if frame.layer is None:  # the iteration's own program: the iteration is done
                    return finished, self._end_iteration()
                finished.append((frame.layer, frame.phase))
                frame, result = self._frames[-1], stop.value

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
                self._grad_norms[lay.name] = diag.block_grad_norm(lay, self._grad_norms)
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

    def _op_effects(self, request: Op, frame: Frame, phase: str, result) -> _Effects:
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
        if stop is None and self._pending_stop is not None:
            stop, self._pending_stop = self._pending_stop, None
        if stop is None and not self._replaying:
            stop = self._breakpoint_stop(iteration, phase, layer, effects.refreshed)
        if stop is None and self.layer_breakpoints and not self._replaying and self._frames:
            next_phase, next_layer = self.next_op
            if next_layer in self.layer_breakpoints:
                stop = Stop(
                    "breakpoint", self.completed + 1, next_phase, next_layer, f"at {next_layer}"
                )
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
            nans, infs = nonfinite_counts(array)
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

    def _next(self, last: bool = True) -> Event:
        """The next micro-op, or, at an iteration boundary with no breakpoint to watch, the
        whole next iteration at once (the same values; see ``_whole_iteration``). ``last``:
        this is the final iteration of a run, whose start a step back may want."""
        if self.layer_breakpoints and self._frames:
            request = self._frames[-1].pending
            if isinstance(request, Child) and request.layer.name not in self.layer_breakpoints:
                inside = {lay.name for lay in request.layer.walk()}
                if inside & self.layer_breakpoints:  # a breakpoint waits inside this block
                    return self._primitive("into")
        if self._frames or self.layer_breakpoints or any(bp.enabled for bp in self.breakpoints):
            return self._primitive("op")
        return self._whole_iteration(snapshot=last)

    def _measure_pass(self, request: Op) -> None:
        """Before the loss, measure the forward pass that ran whole; before the clip, the
        backward pass (its sums of squares give the clip the global norm)."""
        if request.phase == "loss":
            self._finite = self._sweep.forward(self._act)
        elif request.phase == "clip":
            backward = self._sweep.backward(self._grad_norms, self._dh_norms)
            self._finite = backward and self._finite
            self._squares = self._sweep.squares

    def _whole_iteration(self, snapshot: bool = True) -> Event:
        """One iteration without stopping between its micro-ops: the layers' forward and
        backward passes run back to back and the diagnostics are measured in one sweep after
        each pass. The values are those of stepping (the same calls in the same order), and
        ``event_index`` advances by the micro-ops the iteration holds. If a value turned
        non-finite, the iteration is replayed micro-op by micro-op from its snapshot, so the
        run stops exactly where stepping would have stopped. Its start is snapshotted when
        ``snapshot`` (or on the store's sparse grid): a long run keeps only those, and a
        rewind replays from the nearest one."""
        self._begin_iteration(snapshot)
        (frame,) = self._frames
        self._frames = []  # driven here, without frames or events
        iteration = self.completed + 1
        self._finite = True
        ops = drive(frame.program, frame.pending, self._measure_pass)
        self._histories[iteration] = ["op"] * ops
        self._end_iteration()
        self.event_index += ops
        finite = self._finite
        if not self._nonfinite_seen and not self._replaying:
            finite = (
                finite
                and math.isfinite(self.loss_value)
                and all(math.isfinite(norm) for norm in self._weight_norms.values())
                and all_finite(self.batch[0])
            )
            if not finite:
                return self._find_nonfinite()
        stop, self._pending_stop = self._pending_stop, None
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
            stop,
        )
        if stop is not None and not self._replaying:
            self.stopped = stop
        if not self._replaying:
            self.events.append(event)
        return event
