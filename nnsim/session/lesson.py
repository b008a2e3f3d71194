"""Running a lesson and judging what it promises: the one place where a scenario's run, its
variants' runs and its ``[[expect]]`` checks come together (``nnsim run``, ``nnsim verify``,
the interface and the tests all use it).

    result = run_lesson(load("vanishing_sigmoid"))
    for r in result.expectations:
        print(r.check, r.passed, r.value)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..i18n import N_, _
from ..scenario.runs import Runs
from ..sim import ConditionError
from .views import ExpectationStatus, Prediction
from .wording import Note

Progress = Callable[[str, int, int], None]  # (run label, iterations done, iterations in all)
ShouldStop = Callable[[], bool]


class WatchError(ValueError):
    """A watch expression that does not parse or names no layer of the model."""


@dataclass(frozen=True)
class ExpectationResult:
    """One ``[[expect]]`` after a run: ``passed`` is None when the check was not reached
    (the run stopped early) or could not be evaluated; ``note`` says why."""

    check: str
    passed: bool | None
    value: float | bool | None
    note: str = ""
    at: int | None = None  # None: the end of the run
    says: str = ""  # the sentence the learner reads for the check

    def as_dict(self) -> dict:
        """The JSON form of ``nnsim run --json`` and ``nnsim verify --json``."""
        out = {"check": self.check, "passed": bool(self.passed), "value": self.value}
        if self.says:
            out["says"] = self.says
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class LessonRun:
    """A lesson's runs (its own and each variant's) and its judged expectations."""

    runs: Runs
    expectations: tuple[ExpectationResult, ...]
    stopped_early: bool = False  # a breakpoint or a non-finite value stopped the lesson's run
    cancelled: bool = False

    @property
    def main(self):
        return self.runs.main

    @property
    def failed(self) -> bool:
        return any(not r.passed for r in self.expectations)


def finite(value):
    """A JSON-safe number: None for NaN and infinities."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value):
    return float(value) if not isinstance(value, bool) else value


def condition_of(expectation):
    """The parsed condition of an expectation (parsed once at load where the scenario
    holds it), else its text."""
    return getattr(expectation, "condition", None) or expectation.check


def judge(run, expectation) -> ExpectationResult:
    """Evaluate one expectation on ``run`` (a simulator, a race, a GAN run or Runs)."""
    condition = condition_of(expectation)
    if isinstance(run, Runs):
        passed, value = run.check(condition)
    else:
        passed, value = bool(run.check(condition)), run.value(condition)
    return ExpectationResult(
        expectation.check,
        bool(passed),
        finite(_number(value)),
        at=expectation.at,
        says=expectation.says,
    )


def not_reached(expectation, why: Note) -> ExpectationResult:
    """``why``: the sentence of :func:`_why_not_reached`, "not reached: ..." in full."""
    return ExpectationResult(expectation.check, None, None, why, expectation.at, expectation.says)


def run_until_done(
    scenario,
    *,
    iterations: int | None = None,
    seed: int | None = None,
    breakpoints: bool = True,
    watches: tuple[str, ...] = (),
    label: str = "",
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
):
    """One run of ``scenario`` to its end, a stop or cancellation; the expectations that
    name an iteration are judged as the run passes it. Returns (run, {index: result})."""
    sim = scenario.simulator(iterations, seed, breakpoints=breakpoints)
    for expression in watches:
        try:
            sim.add_watch(expression)
        except ConditionError as err:
            said = _("watch {expression}: {error}").format(expression=repr(expression), error=err)
            raise WatchError(said) from None
    checkpoints = sorted({e.at for e in scenario.expectations if e.at is not None})
    results: dict[int, ExpectationResult] = {}
    label = label or scenario.name
    while sim.completed < sim.iterations:
        if should_stop is not None and should_stop():
            break
        upcoming = [c for c in checkpoints if c > sim.completed]
        chunk = max(1, sim.iterations // 100)
        stop_at = min([sim.completed + chunk, sim.iterations, *upcoming])
        event = sim.run(stop_at - sim.completed)
        for i, expectation in enumerate(scenario.expectations):
            if expectation.at == sim.completed and i not in results:
                results[i] = judge(sim, expectation)
        if progress is not None:
            progress(label, sim.completed, sim.iterations)
        if event is not None and event.stop is not None:
            break
    return sim, results


def run_lesson(
    scenario,
    *,
    iterations: int | None = None,
    seed: int | None = None,
    breakpoints: bool = True,
    watches: tuple[str, ...] = (),
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
) -> LessonRun:
    """Run ``scenario`` and then each of its variants, and judge every expectation.

    A check at the end of the run is judged only if the lesson's own run reached its end:
    when a breakpoint (or a NaN) stopped it first, end-of-run checks are reported as not
    reached instead of being judged on a half-trained model. Variants run without the
    lesson's breakpoints, as `nnsim verify` does."""
    sim, results = run_until_done(
        scenario,
        iterations=iterations,
        seed=seed,
        breakpoints=breakpoints,
        watches=watches,
        progress=progress,
        should_stop=should_stop,
    )
    runs = Runs(sim)
    stop = getattr(sim, "stopped", None)
    # a breakpoint pauses a run that could go on; a non-finite value or early stopping ends it
    stopped_early = stop is not None and stop.reason == "breakpoint"
    cancelled = sim.completed < sim.iterations and stop is None
    for name, variant in scenario.variants.items():
        if cancelled or (should_stop is not None and should_stop()):
            cancelled = True
            break
        runs.variants[name] = run_until_done(
            variant,
            iterations=iterations,
            seed=seed,
            breakpoints=False,
            label=f"{scenario.name}:{name}",
            progress=progress,
            should_stop=should_stop,
        )[0]
        done = runs.variants[name]
        cancelled = done.completed < done.iterations and getattr(done, "stopped", None) is None
    judgeable = not (stopped_early or cancelled)
    why = _why_not_reached(sim, cancelled)
    judged = []
    for i, expectation in enumerate(scenario.expectations):
        if i in results:
            judged.append(results[i])
        elif expectation.at is None and judgeable:
            judged.append(judge(runs, expectation))
        else:
            judged.append(not_reached(expectation, why))
    return LessonRun(runs, tuple(judged), stopped_early, cancelled)


def _why_not_reached(sim, cancelled: bool) -> Note:
    if cancelled:
        return Note(N_("not reached: the run was cancelled at iteration {n}"), n=sim.completed)
    stop = getattr(sim, "stopped", None)
    if stop is not None:
        return Note(
            N_("not reached: the run stopped at iteration {n} of {total} at {stop}"),
            n=sim.completed,
            total=sim.iterations,
            stop=stop,
        )
    return Note(
        N_("not reached: the run stopped at iteration {n} of {total}"),
        n=sim.completed,
        total=sim.iterations,
    )


def status_now(run, expectations) -> tuple[ExpectationStatus, ...]:
    """Each expectation as the learner sees it while a run is under way: met, not yet, or
    not evaluated (before the first iteration, before its iteration, or a check comparing
    variants, which only `nnsim run` and `nnsim verify` can judge)."""
    statuses = []
    for expectation in expectations:
        met = None
        condition = condition_of(expectation)
        reached = expectation.at is None or run.completed >= expectation.at
        compares_variants = getattr(condition, "uses_variants", False)
        if run.completed and reached and not compares_variants:
            try:
                met = bool(run.check(condition))
            except (KeyError, ConditionError):  # a metric not measured yet
                met = None
        statuses.append(ExpectationStatus(expectation.check, met, expectation.says))
    return tuple(statuses)


def finished(run) -> bool:
    """Whether a run has ended: all its iterations done, or a stop that ends it (a
    non-finite value, early stopping), not a breakpoint that pauses it."""
    stop = getattr(run, "stopped", None)
    return run.completed >= run.iterations or (stop is not None and stop.reason != "breakpoint")


def prediction_now(run, lesson) -> Prediction | None:
    """The lesson's prediction, answered once ``run`` has finished; None without one."""
    if not lesson.predict:
        return None
    return Prediction(lesson.predict, lesson.answer if finished(run) else None)
