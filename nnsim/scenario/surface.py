"""Surface scenarios: optimisers racing on a 2-D function instead of a network on data.

[surface]
name = "saddle"           # quadratic, saddle or rosenbrock (nnsim.data.surfaces)
start = [-1.5, 0.001]     # default: the surface's suggested start
iterations = 60

[optimizers]              # one racer per key, any optimiser table of [train]
sgd = { type = "sgd", lr = 0.05 }
momentum = { type = "sgd", lr = 0.05, momentum = 0.9 }

[[variants]]              # another surface (and start) for the same racers
name = "valley"
surface = { name = "quadratic" }

[[expect]]                # checks name the optimisers where network checks name layers
check = "distance(sgd) > 0.9 and distance(momentum) < 0.1"
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from ..data.surfaces import SURFACES, Surface
from ..i18n import Localized
from ..sim.surface import SurfaceRun
from . import budget, checks
from .network import optimizer_spec, read_lesson
from .schema import Source, Table
from .spec import Expectation, LessonSpec, OptimizerSpec

TABLES = ("lesson", "surface", "optimizers", "variants", "expect")


@dataclass(frozen=True, eq=False)
class SurfaceScenario:
    """A checked surface scenario; ``simulator()`` makes a fresh SurfaceRun."""

    kind: ClassVar[str] = "surface"
    path: Path
    lesson: LessonSpec
    surface: Surface
    start: tuple[float, float]
    iterations: int
    optimizers: dict[str, OptimizerSpec]  # the racers, by name
    expectations: tuple[Expectation, ...] = ()
    variants: dict[str, SurfaceScenario] = field(default_factory=dict)
    localized_variant_titles: dict[str, Localized] = field(default_factory=dict)

    @property
    def variant_titles(self) -> dict[str, str]:
        """Each variant's title in the current language."""
        return {name: str(title) for name, title in self.localized_variant_titles.items()}

    breakpoints: tuple[str, ...] = ()

    name = property(lambda self: self.path.stem)
    title = property(lambda self: self.lesson.title)
    text = property(lambda self: self.lesson.text)

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> SurfaceRun:
        """A new run (``seed`` is accepted for the Scenario protocol: nothing is random)."""
        optimizers = {name: spec.build() for name, spec in self.optimizers.items()}
        total = self.iterations if iterations is None else iterations
        return SurfaceRun(self.surface, optimizers, self.start, total)


def load_surface(source: Source, raw: dict) -> SurfaceScenario:
    checks.check_tables(source, raw, TABLES, "a surface")
    scenario = _surface_scenario(source, Table(source, [], raw))
    variants, titles = {}, {}
    for entry in checks.variant_entries(source, raw, ("surface", "optimizers")):
        variants[entry.name] = _surface_scenario(source, Table(source, entry.keys, entry.tables))
        titles[entry.name] = entry.title
    expectations = checks.expectations(
        source,
        raw,
        list(scenario.optimizers),
        {name: list(v.optimizers) for name, v in variants.items()},
        scenario.iterations,
        SurfaceScenario.kind,
        # a surface's checks name optimisers where a network's name layers
        lambda message: message.replace("layers", "optimisers").replace("layer", "optimiser"),
    )
    return replace(
        scenario, expectations=expectations, variants=variants, localized_variant_titles=titles
    )


def _surface_scenario(source: Source, root: Table) -> SurfaceScenario:
    lesson = read_lesson(root.table("lesson", {}), source)
    table = root.table("surface")
    surface = SURFACES[table.choice("name", list(SURFACES))]
    start = table.get("start", list, list(surface.start))
    if len(start) != 2 or not all(isinstance(v, (int, float)) for v in start):
        raise table.error("start", f"expected a point [x, y], got {start!r}")
    iterations = table.integer("iterations", 100, minimum=1)
    table.done()
    optimizers = root.table("optimizers")
    specs = {}
    for racer, spec in optimizers.rest().items():
        if not racer.isidentifier():
            raise optimizers.error(racer, f"an optimiser's name must be an identifier: {racer!r}")
        if not isinstance(spec, dict):
            raise optimizers.error(racer, 'expected a table such as { type = "sgd", lr = 0.1 }')
        specs[racer] = optimizer_spec(Table(source, [*optimizers.keys, racer], spec))
    if not specs:
        raise optimizers.error(None, 'name at least one optimiser, e.g. sgd = { type = "sgd" }')
    # a race keeps every racer's path and gradients: 2 arrays of (racers, iterations + 1, 2)
    nbytes = 2 * len(specs) * (iterations + 1) * 2 * 8
    too_big = budget.problem([budget.Part(f"the paths of {iterations:,} iterations", nbytes)])
    if too_big is not None:
        raise root.source.error([*root.keys, "surface", "iterations"], too_big)
    point = (float(start[0]), float(start[1]))
    return SurfaceScenario(source.path, lesson, surface, point, iterations, specs)


__all__ = ["SurfaceScenario", "load_surface"]
