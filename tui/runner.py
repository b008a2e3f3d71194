"""Runs simulator commands in a thread worker and hands the screen consistent Views.

The worker holds ``lock`` while the simulator computes; the screen builds its View under the
same lock, so it never reads arrays mid-update. ``continue`` runs one iteration at a time and
checks ``pause`` in between, so `p` takes effect within one iteration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nnsim.scenario import Scenario
from nnsim.sim import Event, Simulator

from .view import Tensor, View, build_view, check_expectations
from .visual import Request, compute

COMMANDS = ("step", "step_into", "step_out", "finish_pass", "continue", "step_back", "rewind")


class Runner:
    """The simulator of one scenario, the inspection selection, and the commands on them."""

    def __init__(self, scenario: Scenario, simulator: Simulator | None = None) -> None:
        self.scenario = scenario
        self.sim = simulator or scenario.simulator()
        self.summary_rows = self.sim.model.summary().rows
        self.lock = threading.Lock()
        self.pause = threading.Event()
        self.busy = False
        self.selected: str | None = next(
            (r["name"] for r in self.summary_rows if not r["block"]), None
        )
        self.tab = "activations"
        self.index = 0
        self.expectations = [e.check for e in scenario.expectations]
        self.visual: Request | None = None  # the visual tab's request
        self._visual: tuple[tuple, Tensor] | None = None  # (key, tensor) cache
        self._sample: tuple[int, str] | None = None  # (iteration, text) of a character model
        self._sampled_at = 0.0
        self._checks: tuple[tuple[int, int], list] | None = None  # (when, expectation results)
        self._checked_at = 0.0

    SAMPLE_EVERY = 2.0  # seconds between fresh samples while training runs (each costs ~0.1 s)
    CHECK_EVERY = 5.0  # seconds between expectation checks while training runs: some metrics
    # (occlusion_focus, class_excitation, known_words) cost a fraction of a second

    def _expectation_results(self) -> list[tuple[str, bool | None]]:
        """The lesson's expectations checked now when idle, at most every CHECK_EVERY seconds
        while a continue runs; call under the lock."""
        when = (self.sim.completed, self.sim.event_index)
        if self._checks is None or self._checks[0] != when:
            waited = time.monotonic() - self._checked_at >= self.CHECK_EVERY
            if self._checks is None or waited or not self.busy:
                self._checks = (when, check_expectations(self.sim, self.expectations))
                self._checked_at = time.monotonic()
        return self._checks[1]

    def _text_sample(self) -> tuple[int, str] | None:
        """Generated text of a character model after the last iteration: fresh whenever the
        simulator is idle, at most every SAMPLE_EVERY seconds while it runs; call under the
        lock."""
        sim = self.sim
        if sim.sampler is None or sim.completed == 0:
            return None
        stale = self._sample is None or self._sample[0] != sim.completed
        waited = time.monotonic() - self._sampled_at >= self.SAMPLE_EVERY
        if stale and (waited or not self.busy):
            self._sample = (sim.completed, sim.sample_text())
            self._sampled_at = time.monotonic()
        return self._sample

    # ---------------------------------------------------------------- commands (worker thread)

    def execute(self, command: str, report: Callable[[Event | None], None]) -> Event | None:
        """Run ``command``; ``report`` is called now and then during a long continue."""
        sim = self.sim
        self.pause.clear()
        self.busy = True
        try:
            if command == "continue":
                return self._continue(report)
            with self.lock:
                if command == "step":
                    return sim.step()
                if command == "step_into":
                    return sim.step_into()
                if command == "step_out":
                    return sim.step_out() if sim.depth else self._finish_pass()
                if command == "finish_pass":
                    return self._finish_pass()
                if command == "step_back":
                    sim.step_back()
                    return sim.events[-1] if sim.events else None
                if command == "rewind":
                    sim.rewind(1)
                    return sim.events[-1] if sim.events else None
            raise ValueError(f"unknown command {command!r}; commands: {', '.join(COMMANDS)}")
        finally:
            self.busy = False

    def _finish_pass(self) -> Event:
        """Finish the current pass (leaving any block first), like pudb's `f`."""
        sim = self.sim
        event = None
        while sim.depth and (event is None or event.stop is None):
            event = sim.step_out()
        if event is not None and event.stop is not None:
            return event
        return sim.step_out()

    def _continue(self, report: Callable[[Event | None], None]) -> Event | None:
        sim = self.sim
        event, last_report = None, 0.0
        sim.stopped = None
        while not self.pause.is_set():
            if sim.completed >= sim.iterations and not sim.depth and sim.phase == "batch":
                break
            with self.lock:
                event = sim.run(1)
            if event is None or event.stop is not None:
                break
            now = time.monotonic()
            if now - last_report > 0.1:
                report(event)
                last_report = now
        return event

    # ---------------------------------------------------------------- what the screen shows

    def view(self) -> View:
        with self.lock:
            return self._current_view()

    def try_view(self, timeout: float = 0.05) -> View | None:
        """A View if the worker is between steps within ``timeout``, else None."""
        if not self.lock.acquire(timeout=timeout):
            return None
        try:
            return self._current_view()
        finally:
            self.lock.release()

    def _current_view(self) -> View:
        view = build_view(
            self.sim, self.summary_rows, self.selected, self.tab, self.index, self.expectations
        )
        view.text_sample = self._text_sample()
        view.expectations = self._expectation_results()
        if self.tab == "visual":
            view.tensor = self._visual_tensor()
        return view

    def _visual_tensor(self) -> Tensor:
        """The visual tab's tensor, recomputed when the request, the example or the weights
        (the iteration or step) change; call under the lock."""
        if self.visual is None:
            return Tensor(
                "visual: pick Occlusion map, Maximise a class or Maximise a filter in the "
                "palette (ctrl+p)",
                None,
            )
        key = (self.visual, self.index, self.sim.completed, self.sim.event_index)
        if self._visual is None or self._visual[0] != key:
            self._visual = (key, compute(self.sim, self.visual, self.index))
        return self._visual[1]

    def overlay(self, label: str) -> dict:
        """This run's curves and gradient norms, kept faint on the next run's screen."""
        with self.lock:
            _, loss = self.sim.trace.series("loss")
            grads = {name: v["grad_norm"] for name, v in self.sim.latest.items()}
        return {"label": label, "loss": loss.copy(), "grad_norms": grads}

    def move_selection(self, step: int) -> None:
        """Select the previous/next layer (u/d), skipping nothing: blocks can be inspected too."""
        names = [r["name"] for r in self.summary_rows]
        if not names:
            return
        current = names.index(self.selected) if self.selected in names else 0
        self.selected = names[max(0, min(len(names) - 1, current + step))]
        self.index = 0
