"""A sweep planned and checked before anything runs: every grid point (with each of the
lesson's variants, if asked) applied to the scenario once, so that a value that cannot apply
is refused up front; the kernels its runs need warmed once; then run here or on a cluster."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..i18n import language
from .params import Grid, GridError, with_params
from .runner import SweepTask

OnRun = Callable[[int, list], None]  # (task index, its rows) as each task finishes


@dataclass(frozen=True)
class SweepPlan:
    scenario: object  # the lesson as loaded
    grid: Grid
    variants: bool = False

    @property
    def points(self) -> list[dict]:
        return self.grid.points()

    def runs_per_point(self) -> int:
        return 1 + (len(self.scenario.variants) if self.variants else 0)

    def __len__(self) -> int:
        """The number of runs (rows of the results)."""
        return len(self.grid) * self.runs_per_point()

    def tasks(self) -> list[SweepTask]:
        path = self.scenario.path
        text = self.scenario.source.text
        lang = language()
        return [SweepTask(str(path), text, point, self.variants, lang) for point in self.points]


def plan_sweep(scenario, grid: Grid, variants: bool = False) -> SweepPlan:
    """The sweep of ``grid`` over ``scenario``; GridError if any point cannot apply (to the
    lesson, or with ``variants`` to one of its variants), naming it."""
    if scenario.kind != "network":
        what = "races optimisers" if scenario.kind == "surface" else "trains a GAN"
        raise GridError(f"{scenario.name} {what}: a sweep takes a one-network scenario")
    if variants and not scenario.variants:
        raise GridError(f"--variants: {scenario.name} has no variants")
    runs = {None: scenario, **(scenario.variants if variants else {})}
    for name, values in grid.axes:  # one value at a time first: the message names it alone
        for value in values:
            _check(runs, {name: value})
    if len(grid.axes) > 1:
        for point in grid.points():
            _check(runs, point)
    return SweepPlan(scenario, grid, variants)


def _check(runs: dict, point: dict) -> None:
    for name, scenario in runs.items():
        try:
            with_params(scenario, point)
        except GridError as err:
            where = "" if name is None else f" (in variant {name})"
            if len(point) == 1:  # the message names the value already
                raise GridError(f"--grid {err}{where}") from None
            given = ", ".join(f"{k}={v}" for k, v in point.items())
            raise GridError(f"--grid {given}{where}: {err}") from None


def warm_kernels(plan: SweepPlan) -> int:
    """Compile (or load from the on-disk cache) once, here, the kernels of every distinct
    model and optimiser the sweep trains, so that the workers only load them; returns the
    number of warm-up calls made."""
    from ..warmup import kernels_for, warm_up

    kinds = ("optimizer", "activation")  # what changes which kernels run
    seen, kernels, dtypes = set(), set(), set()
    runs = [plan.scenario, *(plan.scenario.variants.values() if plan.variants else ())]
    for point in plan.points:
        key = tuple((k, point[k]) for k in kinds if k in point)
        if key in seen:
            continue
        seen.add(key)
        for scenario in runs:
            sim = with_params(scenario, dict(key)).simulator(iterations=0)
            kernels.update(kernels_for(sim))
            dtypes.add(sim.model.dtype.name)
    return warm_up(sorted(dtypes), only=sorted(kernels))


def run_sweep(
    plan: SweepPlan,
    workers: int | None = None,
    scheduler: str | None = None,
    on_run: OnRun | None = None,
    warm: bool = True,
) -> list[dict]:
    """Every run's row in grid order (a point's lesson run, then its variants'), whatever
    the order they finished in: locally in ``workers`` processes, or on the Dask scheduler
    at ``scheduler``."""
    tasks = plan.tasks()
    if scheduler is not None:
        from .cluster import run_on_cluster

        rows = run_on_cluster(tasks, scheduler, on_run)
    else:
        from .local import run_local

        if warm:
            warm_kernels(plan)
        rows = run_local(tasks, workers, on_run)
    return [{"run": i + 1} | row for i, row in enumerate(r for point in rows for r in point)]
