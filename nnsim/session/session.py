"""The Session: the one object a front end drives (the interface, scripts, tests).

    session = Session.open("vanishing_sigmoid")
    session.execute("step")                  # one micro-op; "continue" runs to a stop
    view = session.view()                    # immutable: tree, tensor, curves, lesson
    relu = session.what_if(activation=("sigmoid", "relu"))   # a new session from iteration 0

Commands run on whichever thread calls ``execute`` (the interface uses one worker thread);
``should_stop`` is polled between micro-ops (between iterations while continuing), so a
caller can cancel a command cleanly. Views are built under the same lock as commands, so
they never show half an update. Nothing here imports Textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..i18n import N_, _, language
from ..scenario import load
from ..sim import Event
from . import lesson as lessons
from .figures import FigureViews
from .view_parts import PartCache, build_view
from .views import TABS, ExpectationStatus, Prediction, Tensor, View
from .visual import Request, compute
from .wording import CommandError as CommandError  # where it was defined before
from .wording import Note, describe_change
from .wording import refused as _refused

#: What ``execute`` accepts for a race or a GAN (no layers to step through).
GAME_COMMANDS = {
    "step": N_("one step of every optimiser (a race), or one D or G step (a GAN)"),
    "continue": N_("play the run to its end"),
}

#: What ``execute`` accepts, in the debugger's terms (front ends choose the keys).
COMMANDS = {
    "step": N_("run the next micro-op"),
    "step_into": N_("enter a block or a recurrent layer's time steps"),
    "step_out": N_("finish the enclosing block or the current pass"),
    "finish_pass": N_("finish the forward or backward pass"),
    "continue": N_("run until a breakpoint, a NaN or the last iteration"),
    "step_back": N_("undo the last micro-op by rewind and replay"),
    "step_forward": N_("redo the next micro-op"),
    "rewind": N_("back to the start of the previous iteration"),
}

ShouldStop = Callable[[], bool]
Report = Callable[[Event | None], None]


class Session(FigureViews):  # + decision_map, activation_curves, activation_std
    """One scenario's run, the inspection selection, and the commands and views on them."""

    SAMPLE_EVERY = 2.0  # seconds between fresh text samples while a continue runs (~0.1 s each)
    CHECK_EVERY = 5.0  # seconds between expectation checks while a continue runs: some
    # metrics (occlusion_focus, class_excitation, known_words) cost a fraction of a second

    def __init__(self, scenario, *, label: str = "", previous: dict | None = None) -> None:
        self.scenario = scenario
        self.label = label or Note(N_("the scenario's settings"))
        self.previous = previous  # the run before a what-if, kept faint for comparison
        self.run = scenario.simulator()
        self.lock = threading.Lock()
        self.busy = False
        self.tab = "activations"
        self.index = 0
        self.visual: Request | None = None
        self._visual: tuple[tuple, Tensor] | None = None
        self._sample: tuple[int, str] | None = None
        self._sampled_at = 0.0
        self._checks: tuple[tuple, tuple[ExpectationStatus, ...]] | None = None
        self._checked_at = 0.0
        self._parts = PartCache()  # a view's parts are rebuilt only when their inputs change
        if self.kind == "network":
            self.summary_rows = self.run.model.summary().rows
            self.selected = next((r["name"] for r in self.summary_rows if not r["block"]), None)
        else:
            self.summary_rows, self.selected = [], None

    @classmethod
    def open(cls, name: str | Path) -> Session:
        """A session on a scenario file or a shipped lesson's name (ScenarioError if bad)."""
        return cls(load(name))

    @property
    def kind(self) -> str:
        return self.scenario.kind

    @property
    def sim(self):
        """The simulator (scripts and tests; front ends read views)."""
        return self.run

    @property
    def dtype(self) -> str:
        model = getattr(self.run, "model", None)
        return model.dtype.name if model is not None else "float64"

    # ---------------------------------------------------------------- commands

    def execute(
        self, command: str, should_stop: ShouldStop | None = None, report: Report | None = None
    ) -> Event | None:
        """Run one debugger command (see COMMANDS; a race or a GAN takes GAME_COMMANDS) and
        return its last micro-op (for ``step_back``, the micro-op it undid); ``report`` is
        called now and then while a long command runs; ``should_stop`` returning True ends
        it early, between micro-ops. Raises CommandError when the command cannot run now;
        nothing has changed then."""
        stop = should_stop or (lambda: False)
        if self.kind != "network":
            return self._play(command, stop, report)
        if command not in COMMANDS:
            known = ", ".join(COMMANDS)
            unknown = N_("unknown command {command}; commands: {known}")
            raise _refused(unknown, command=repr(command), known=known)
        sim = self.run
        if command in ("step", "step_into", "step_forward", "continue") and self.at_end():
            complete = N_(
                "the run is complete ({n} of {total} iterations): re-run it, rewind, or step back"
            )
            raise _refused(complete, n=sim.completed, total=sim.iterations)
        self.busy = True
        try:
            if command == "continue":
                return self._continue(stop, report)
            with self.lock:
                if command in ("step", "step_forward"):
                    return sim.step()
                if command == "step_into":
                    return sim.step_into()
                if command == "step_out":
                    return sim.step_out() if sim.depth else self._finish_pass(stop)
                if command == "finish_pass":
                    return self._finish_pass(stop)
                if command == "step_back":  # the micro-op it undoes, which the front end names
                    undone = sim.events[-1] if sim.events else None
                    sim.step_back()
                    return undone
                sim.rewind(1)
                return sim.events[-1] if sim.events else None
        finally:
            self.busy = False

    def at_end(self) -> bool:
        """Whether every iteration has run (nothing left to step)."""
        sim = self.run
        if self.kind != "network":
            return sim.completed >= sim.iterations
        return sim.completed >= sim.iterations and not sim.depth and sim.phase == "batch"

    def _play(self, command: str, stop: ShouldStop, report: Report | None) -> None:
        """A race's or a GAN's commands: one step, or play to the end."""
        if command not in GAME_COMMANDS:
            known = ", ".join(GAME_COMMANDS)
            takes = N_("a {kind} scenario takes {known}, not {command}")
            raise _refused(takes, command=repr(command), kind=self.kind, known=known)
        run = self.run
        if self.at_end():
            complete = N_("the run is complete ({n} of {total}): restart it (r)")
            raise _refused(complete, n=run.completed, total=run.iterations)
        self.busy = True
        try:
            last_report = time.monotonic()
            while True:
                with self.lock:
                    run.step()
                if command == "step" or self.at_end() or stop():
                    return None
                now = time.monotonic()
                if report is not None and now - last_report > 0.05:
                    report(None)
                    last_report = now
        finally:
            self.busy = False

    def _finish_pass(self, stop: ShouldStop) -> Event | None:
        """Finish the current pass (leaving any block first), like pudb's `f`."""
        sim = self.run
        event = None
        while sim.depth and (event is None or event.stop is None):
            if stop():
                return event
            event = sim.step_out()
        if event is not None and event.stop is not None:
            return event
        return sim.step_out()

    def _continue(self, stop: ShouldStop, report: Report | None) -> Event | None:
        sim = self.run
        event, last_report = None, 0.0
        sim.stopped = None
        while not stop() and not self.at_end():
            with self.lock:
                event = sim.run(1)
            if event is None or event.stop is not None:
                break
            now = time.monotonic()
            if report is not None and now - last_report > 0.1:
                report(event)
                last_report = now
        return event

    def toggle_breakpoint(self, layer: str) -> bool:
        """Stop before ``layer`` runs (True), or no longer (False)."""
        with self.lock:
            return self.run.toggle_layer_breakpoint(layer)

    def add_breakpoint(self, condition: str) -> None:
        """A breakpoint on a condition (ConditionError, with the column, if it is bad)."""
        with self.lock:
            self.run.add_breakpoint(condition)

    def remove_breakpoint(self, condition: str) -> None:
        with self.lock:
            self.run.remove_breakpoint(condition)

    def enable_breakpoint(self, condition: str, enabled: bool) -> None:
        with self.lock:
            for bp in self.run.breakpoints:
                if bp.text == condition:
                    bp.enabled = enabled

    def breakpoints(self) -> tuple[tuple[tuple[str, bool, int], ...], tuple[str, ...]]:
        """((condition, enabled, hits) for each condition, the layers with a breakpoint)."""
        with self.lock:
            sim = self.run
            conditions = tuple((bp.text, bp.enabled, bp.hits) for bp in sim.breakpoints)
            return conditions, tuple(sorted(sim.layer_breakpoints))

    # ---------------------------------------------------------------- new runs

    def what_if(self, **changes) -> Session:
        """A new session from iteration 0 with one thing changed (``lr``, ``optimizer``,
        ``activation=(old, new)`` or ``init``), this run kept as its overlay; ValueError or
        ScenarioError, with nothing changed, when the change cannot apply."""
        label = ", ".join(describe_change(key, value) for key, value in changes.items())
        label = describe_change(*next(iter(changes.items()))) if len(changes) == 1 else label
        return self._successor(self.scenario.variant(**changes), label or Note(N_("no change")))

    def variant(self, name: str | None) -> Session:
        """A session on one of the lesson's variants (None: the lesson as written)."""
        lesson = self.lesson
        if name is None:
            return self._successor(lesson, Note(N_("the lesson itself")))
        if name not in lesson.variants:
            known = ", ".join(lesson.variants) or "-"
            no_variant = N_("no variant {name}; this lesson's variants: {known}")
            raise _refused(no_variant, name=repr(name), known=known)
        return self._successor(lesson.variants[name], Note(N_("variant {name}"), name=name))

    def rerun(self) -> Session:
        """The same scenario again from iteration 0 (same seed, same data)."""
        return self._successor(self.scenario, Note(N_("the same settings")))

    @property
    def lesson(self):
        """The lesson this session came from (its variants are siblings, not children)."""
        return getattr(self, "_lesson", None) or self.scenario

    @property
    def variants(self) -> dict[str, str]:
        """The lesson's variants: name -> title."""
        return {name: self.lesson.variant_titles.get(name, name) for name in self.lesson.variants}

    def _successor(self, scenario, label: str) -> Session:
        following = Session(scenario, label=label, previous=self.overlay())
        following._lesson = self.lesson
        return following

    def overlay(self) -> dict | None:
        """This run's loss curve and gradient norms, drawn faint on the next run's screen."""
        if self.kind != "network":
            return None
        with self.lock:
            _steps, loss = self.run.trace.series("loss")
            grads = {name: v["grad_norm"] for name, v in self.run.latest.items()}
        return {"label": self.label, "loss": loss.copy(), "grad_norms": grads}

    # ---------------------------------------------------------------- selection (no running)

    def select(self, layer: str) -> None:
        names = [r["name"] for r in self.summary_rows]
        if layer not in names:
            no_layer = N_("no layer {layer}; layers: {names}")
            raise _refused(no_layer, layer=repr(layer), names=", ".join(names))
        if layer != self.selected:
            self.selected, self.index = layer, 0

    def move_selection(self, step: int) -> None:
        """Select the layer ``step`` rows up (-) or down (+); blocks can be inspected too."""
        names = [r["name"] for r in self.summary_rows]
        if not names:
            return
        current = names.index(self.selected) if self.selected in names else 0
        self.selected = names[max(0, min(len(names) - 1, current + step))]
        self.index = 0

    def set_tab(self, tab: str) -> None:
        if tab not in TABS:
            raise _refused(N_("no tab {tab}; tabs: {tabs}"), tab=repr(tab), tabs=", ".join(TABS))
        self.tab, self.index = tab, 0

    def show_visual(self, request: Request) -> None:
        self.visual = request
        self.set_tab("visual")

    def layer_output_shape(self, layer: str | None) -> tuple[int, ...] | None:
        row = next((r for r in self.summary_rows if r["name"] == layer), None)
        return None if row is None else tuple(row["output_shape"])

    # ---------------------------------------------------------------- views

    def view(self) -> View:
        """What the debugger screen shows now (waits for a running command's micro-op)."""
        with self.lock:
            return self._view()

    def try_view(self, timeout: float = 0.05) -> View | None:
        """A View if the worker is between micro-ops within ``timeout``, else None."""
        if not self.lock.acquire(timeout=timeout):
            return None
        try:
            return self._view()
        finally:
            self.lock.release()

    def expectations(self) -> tuple[ExpectationStatus, ...]:
        """The lesson's promises as they stand now, for any kind of scenario."""
        with self.lock:
            return self.expectations_unlocked()

    def expectations_unlocked(self) -> tuple[ExpectationStatus, ...]:
        """``expectations()`` for a caller that already holds ``lock``."""
        return lessons.status_now(self.run, self.scenario.expectations)

    def prediction(self) -> Prediction | None:
        """The lesson's question, answered once its run has finished; None without one."""
        return lessons.prediction_now(self.run, self.scenario.lesson)

    def _view(self) -> View:
        visual = self._visual_tensor() if self.tab == "visual" else None
        return build_view(
            self.run,
            self._parts,
            self.summary_rows,
            (self.selected, self.tab, self.index),
            visual,
            expectations=self._expectation_statuses(),
            text_sample=self._text_sample(),
            prediction=self.prediction(),
            busy=self.busy,
        )

    def _expectation_statuses(self) -> tuple[ExpectationStatus, ...]:
        """Checked whenever idle, at most every CHECK_EVERY seconds while a continue runs."""
        when = (self.run.completed, self.run.event_index, language())  # says follow the language
        if self._checks is None or self._checks[0] != when:
            waited = time.monotonic() - self._checked_at >= self.CHECK_EVERY
            if self._checks is None or waited or not self.busy:
                statuses = lessons.status_now(self.run, self.scenario.expectations)
                self._checks = (when, statuses)
                self._checked_at = time.monotonic()
        return self._checks[1]

    def _text_sample(self) -> tuple[int, str] | None:
        """Text generated by a character model after the last iteration: fresh whenever
        idle, at most every SAMPLE_EVERY seconds while a continue runs."""
        sim = self.run
        if sim.sampler is None or sim.completed == 0:
            return None
        stale = self._sample is None or self._sample[0] != sim.completed
        waited = time.monotonic() - self._sampled_at >= self.SAMPLE_EVERY
        if stale and (waited or not self.busy):
            self._sample = (sim.completed, sim.sample_text())
            self._sampled_at = time.monotonic()
        return self._sample

    def _visual_tensor(self) -> Tensor:
        """The visual tab's tensor, recomputed when the request, the example or the weights
        change."""
        if self.visual is None:
            pick = _(
                "visual: pick Occlusion map, Maximise a class or Maximise a filter in the "
                "palette (ctrl+p)"
            )
            return Tensor(pick, None)
        key = (self.visual, self.index, self.run.completed, self.run.event_index)
        if self._visual is None or self._visual[0] != key:
            self._visual = (key, compute(self.run, self.visual, self.index))
        return self._visual[1]
