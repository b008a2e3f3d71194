"""The micro-op machine: the iteration's program run one micro-op at a time, with a stack of
frames (the iteration's, the current pass's, one per block or recurrent layer being stepped
into), or driven whole.

Stepping, each micro-op is measured (``EffectMeter``), checked for NaN and inf and for the
breakpoints it may have made true (``Debugger``), and reported as an Event. A whole iteration
runs the same program without stopping, as ``layers.steps.drive`` runs a block: the layers run
back to back, each pass is measured in one sweep, and the event count advances by the
micro-ops the program held. The values are the same bits either way.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..layers import Layer
from ..layers.steps import Child, Op, run_child
from .debugger import Debugger
from .effects import EffectMeter, Effects
from .events import PHASES, Event, Stop
from .frames import Frame, Pass, drive, pass_program, phase_of, quiet
from .sweep import StateCheck, Sweep, all_finite
from .timeline import Timeline
from .trainer import Trainer

if TYPE_CHECKING:
    from .conditions import Context


class Stepper:
    """Frames, micro-ops and the commands that run them (see the module docstring)."""

    COUNTERS = ("completed", "event_index")  # what a snapshot keeps of it

    def __init__(
        self,
        trainer: Trainer,
        sweep: Sweep,
        debugger: Debugger,
        timeline: Timeline,
        context: Context,
        layer: Callable[[str], Layer],
        end: Callable[[int], None],
        state: Callable[[], list[tuple[str | None, str, Any]]],
        state_values: Callable[[], list[Any]],
    ) -> None:
        self.trainer, self.sweep, self.debugger, self.timeline = trainer, sweep, debugger, timeline
        self.meter = EffectMeter(sweep, trainer, trainer.leaves)
        self.context = context  # what breakpoints read
        self.layer = layer  # a layer by name
        self.end = end  # records iteration ``completed`` (the trace row)
        self.state = state  # (owner, label, array) of the parameters, buffers, optimiser state
        self.state_values = state_values  # the same arrays alone (quicker to gather)
        self.state_finite = StateCheck()
        # set by every command: the first iteration it begins is snapshotted and its state
        # checked, since anything may have been written between commands
        self.check_state = True
        self.events: deque[Event] = deque(maxlen=2000)
        self.reset()

    def reset(self) -> None:
        self.completed = 0  # iterations finished
        self.event_index = 0
        self.frames: list[Frame] = []
        self.fresh: set[tuple[str, str | None]] = set()  # refreshed this iteration
        self.stopped: Stop | None = None
        self._finite = True  # whether a whole iteration's sweeps found every value finite

    def counters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.COUNTERS}

    def forget_events_after(self, index: int) -> None:
        while self.events and self.events[-1].index > index:
            self.events.pop()

    # where the run is

    @property
    def iteration(self) -> int:
        """The current iteration, counted from 1 (the last one, between iterations)."""
        return self.completed + (1 if self.frames else 0)

    @property
    def phase(self) -> str:
        """The phase of the next micro-op ("batch" between iterations)."""
        if not self.frames:
            return "batch"
        return phase_of(self.frames[-1].pending, self.frames[-1])

    @property
    def stepping_into(self) -> list[str]:
        """The layers whose step programs are open, outermost first."""
        return [frame.layer.name for frame in self.frames if frame.layer is not None]

    @property
    def depth(self) -> int:
        return self.frames[-1].depth if self.frames else 0

    @property
    def next_op(self) -> tuple[str, str | None]:
        """(phase, layer) of the micro-op that the next step will run."""
        if not self.frames:
            return "batch", None
        frame = self.frames[-1]
        request = frame.pending
        layer = request.layer if isinstance(request, Child) else frame.layer
        return phase_of(request, frame), getattr(layer, "name", None)

    # micro-ops

    def begin_iteration(self, snapshot: bool = True) -> bool:
        """Open the next iteration's program; returns whether it is the first iteration the
        current command begins (snapshotted whatever ``snapshot`` says: a replay that reaches
        its boundary adopts what was written there between commands)."""
        first, self.check_state = self.check_state, False
        self.timeline.begin(self.completed, snapshot or first)
        self.fresh = set()
        frame = Frame(self.trainer.begin(self.completed), None, "batch", 0)
        frame.pending = next(frame.program)
        self.frames = [frame]
        return first

    def state_stop(self) -> Stop | None:
        """A NaN or inf in the parameters, buffers or optimiser state before the iteration:
        the simulator stops where it writes one, so this one came from outside it."""
        if self.debugger.nonfinite_seen:
            return None
        if self.state_finite(self.state_values()):
            return None
        return self.debugger.state_stop(self.completed + 1, self.state())

    def _stop_before(self, stop: Stop) -> Event:
        """The event of a stop before the iteration's first micro-op (none has run)."""
        label = "the state before the iteration"
        event = Event(self.event_index, self.completed + 1, "batch", stop.layer, "check", label, 0)
        event = event._replace(stop=stop)
        self.stopped = stop
        self.events.append(event)
        return event

    def end_iteration(self) -> set[tuple[str, str | None]]:
        """Count the iteration, validate when due and record it; returns the refresh kinds
        that made current (for the breakpoints of the micro-op that ended the iteration)."""
        self.completed += 1
        refreshed = self.trainer.end(self.completed)
        self.end(self.completed)
        return refreshed

    def primitive(self, kind: str) -> Event:
        """Run one micro-op: "op" runs the pending request whole, "into" descends into it
        (when it is a block or a recurrent layer; otherwise it runs it whole). Callers hold
        ``quiet`` (see the commands)."""
        if not self.frames and self.begin_iteration() and not self.timeline.replaying:
            stop = self.state_stop()
            if stop is not None:
                return self._stop_before(stop)
        self.timeline.record(self.completed + 1, kind)
        frame = self.frames[-1]
        request, iteration, depth = frame.pending, self.completed + 1, frame.depth
        phase = phase_of(request, frame)
        if kind == "into" and isinstance(request, Child):
            program = (
                request.layer.forward_steps(request.value)
                if phase == "forward"
                else request.layer.backward_steps(request.value)
            )
            if program is not None:
                child = Frame(program, request.layer, phase, depth + 1)
                child.pending = next(program)
                self.frames.append(child)
                label = f"step into {request.layer.name}"
                return self._emit(iteration, phase, request.layer.name, "enter", label, depth)
        if isinstance(request, Child):
            result = run_child(request)
            effects = self.meter.of_layer(request.layer, phase, whole=True)
            layer_name, what, label, t = request.layer.name, "layer", request.layer.name, None
        else:
            result = request.run()
            effects = self.meter.of_op(request, frame.layer, phase, result)
            layer_name, label = getattr(frame.layer, "name", None), request.label
            what = "op" if frame.layer is not None else phase
            t = None if request.t is None else request.t + 1
        finished, ended = self._advance(frame, result)
        for layer, layer_phase in finished:
            effects.merge(self.meter.of_layer(layer, layer_phase, whole=False))
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
                if type(frame.pending) is Pass:  # its layers are stepped in a frame of its own
                    self._open_pass(frame)
                return finished, set()
            except StopIteration as stop:
                self.frames.pop()
                if not self.frames:  # the iteration's own program: the iteration is done
                    return finished, self.end_iteration()
                if frame.layer is not None:  # a block or recurrent layer, not a pass
                    finished.append((frame.layer, frame.phase))
                frame, result = self.frames[-1], stop.value

    def _open_pass(self, frame: Frame) -> None:
        request = frame.pending
        program = pass_program(request)
        inner = Frame(program, None, request.direction, frame.depth)
        inner.pending = next(program)
        self.frames.append(inner)

    def _emit(self, iteration, phase, layer, what, label, depth, t=None, effects=None) -> Event:
        effects = effects or Effects()
        self.fresh |= effects.refreshed
        self.event_index += 1
        debugger, replaying = self.debugger, self.timeline.replaying
        stop = debugger.nonfinite_stop(iteration, phase, effects.arrays)
        if stop is None and self.trainer.pending_stop is not None:
            stop, self.trainer.pending_stop = self.trainer.pending_stop, None
        if stop is None and not replaying:
            where = (iteration, phase, layer)
            stop = debugger.breakpoint_stop(self.context, where, effects.refreshed, self.fresh)
        if stop is None and debugger.layer_breakpoints and not replaying and self.frames:
            stop = debugger.layer_stop(self.completed, self.next_op)
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
        if not replaying:
            if stop is not None:
                self.stopped = stop
            self.events.append(event)
        return event

    def next(self, last: bool = True) -> Event:
        """The next micro-op, or, at an iteration boundary with nothing to stop at inside an
        iteration, the whole next iteration at once (the same values). ``last``: this is the
        final iteration of a run, whose start a step back may want."""
        layer_breakpoints = self.debugger.layer_breakpoints
        if layer_breakpoints and self.frames:
            request = self.frames[-1].pending
            if isinstance(request, Child) and request.layer.name not in layer_breakpoints:
                inside = {lay.name for lay in request.layer.walk()}
                if inside & layer_breakpoints:  # a breakpoint waits inside this block
                    return self.primitive("into")
        if self.frames or self.debugger.armed:
            return self.primitive("op")
        return self.whole_iteration(snapshot=last)

    def whole_iteration(self, snapshot: bool = True) -> Event:
        """One iteration driven without stopping, each pass measured by one sweep. If a
        value turned non-finite, the iteration is replayed micro-op by micro-op from its
        snapshot, so the run stops exactly where stepping would have stopped. The first
        iteration of a command first checks the state written between commands (one sum over
        it): a NaN or inf there stops before the iteration, as stepping does."""
        debugger = self.debugger
        if self.check_state and not self.timeline.replaying and not debugger.nonfinite_seen:
            if not self.state_finite(self.state_values()):
                return self.primitive("op")  # begins the iteration and stops before it
        self.begin_iteration(snapshot)
        (frame,) = self.frames
        self.frames = []  # driven here, without frames or events
        iteration = self.completed + 1
        ops = drive(frame.program, frame.pending, self._measure_pass)
        self.timeline.record_whole(iteration, ops)
        self.end_iteration()
        self.event_index += ops
        trainer, replaying = self.trainer, self.timeline.replaying
        if not self.debugger.nonfinite_seen and not replaying:
            finite = (
                self._finite
                and math.isfinite(trainer.loss_value)
                and all(map(math.isfinite, self.sweep.measurements.weight_norms.values()))
                and all_finite(trainer.batch[0])
            )
            if not finite:
                return self.timeline.find_nonfinite(self)
        stop, trainer.pending_stop = trainer.pending_stop, None
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
        if not replaying:
            if stop is not None:
                self.stopped = stop
            self.events.append(event)
        return event

    def _measure_pass(self, request: Op) -> None:
        """Before the loss, measure the forward pass that ran whole; before the clip, the
        backward pass (its sums of squares give the clip the global norm)."""
        if request.phase == "batch":
            self._finite = True
        elif request.phase == "loss":
            self._finite = self.sweep.forward()
        elif request.phase == "clip":
            self._finite = self.sweep.backward() and self._finite
            self.trainer.squares = self.sweep.squares

    # commands (the Simulator's)

    @quiet
    def step(self, kind: str = "op") -> Event:
        self.check_state = True
        return self.primitive(kind)

    @quiet
    def step_out(self) -> Event:
        self.check_state = True
        depth = len(self.frames)
        if depth > 1:
            event = self.primitive("op")
            while len(self.frames) >= depth and event.stop is None:
                event = self.primitive("op")
            return event
        phase = self.phase
        event = self.primitive("op")
        while self.frames and self.phase == phase and event.stop is None:
            event = self.primitive("op")
        return event

    @quiet
    def run_to(self, layer: str | None, phase: str) -> Event | None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; phases: {', '.join(PHASES)}")
        if layer is not None:
            target = self.layer(layer)
            if phase not in ("forward", "backward"):
                raise ValueError(f"a layer runs in the forward or backward phase, not {phase!r}")
        event = None
        self.check_state = True
        limit = self.completed + 2
        while self.completed < limit:
            kind = "op"
            if self.frames:
                request = self.frames[-1].pending
                if isinstance(request, Child) and request.direction == phase and layer is not None:
                    if request.layer is target and event is not None:
                        return event
                    if request.layer is not target and target in list(request.layer.walk()):
                        kind = "into"
                elif layer is None and self.phase == phase and event is not None:
                    return event
            elif phase == "batch" and event is not None:
                return event
            event = self.primitive(kind)
            if event.stop is not None:
                return event
        return event

    @quiet
    def continue_(self) -> Event | None:
        event = None
        self.stopped = None
        self.check_state = True
        trainer = self.trainer
        while self.completed < trainer.iterations or self.frames:
            event = self.next(last=self.completed + 1 >= trainer.iterations)
            if event.stop is not None:
                return event
            if not self.frames and self.completed >= trainer.iterations:
                break
        return event

    @quiet
    def run(self, iterations: int) -> Event | None:
        if iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {iterations}")
        target = self.completed + iterations
        event = None
        self.stopped = None
        self.check_state = True
        while self.completed < target:
            event = self.next(last=self.completed + 1 >= target)
            if event.stop is not None:
                break
        return event
