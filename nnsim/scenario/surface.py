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

from dataclasses import dataclass, field
from pathlib import Path

from ..data.surfaces import SURFACES, Surface
from ..optim import OPTIMIZERS
from ..sim.surface import SurfaceRun
from . import kinds
from .errors import ScenarioError
from .schema import Source, Table

TABLES = ("lesson", "surface", "optimizers", "variants", "expect")


@dataclass
class SurfaceScenario:
    """A checked surface scenario; ``simulator()`` makes a fresh SurfaceRun."""

    name: str
    path: Path
    title: str
    text: str
    surface: Surface
    start: tuple[float, float]
    iterations: int
    optimizer_specs: dict[str, dict]
    expectations: list[kinds.Expectation] = field(default_factory=list)
    variants: dict[str, SurfaceScenario] = field(default_factory=dict)
    variant_titles: dict[str, str] = field(default_factory=dict)
    breakpoints: list[str] = field(default_factory=list)
    kind = "surface"

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> SurfaceRun:
        """A new run (``seed`` is accepted for the Scenario protocol: nothing is random)."""
        optimizers = {
            name: OPTIMIZERS[spec["type"]](**spec["options"])
            for name, spec in self.optimizer_specs.items()
        }
        total = self.iterations if iterations is None else iterations
        return SurfaceRun(self.surface, optimizers, self.start, total)


def load_surface(source: Source, raw: dict) -> SurfaceScenario:
    kinds.check_tables(source, raw, TABLES, "a surface")
    scenario = _surface_scenario(source, Table(source, [], raw))
    for name, title, tables in kinds.variants(source, raw, ("surface", "optimizers")):
        scenario.variants[name] = _surface_scenario(source, tables)
        scenario.variant_titles[name] = title
    variant_names = {name: list(v.optimizer_specs) for name, v in scenario.variants.items()}
    scenario.expectations = kinds.expectations(
        source,
        raw,
        list(scenario.optimizer_specs),
        variant_names,
        scenario.iterations,
        # a surface's checks name optimisers where a network's name layers
        lambda message: message.replace("layers", "optimisers").replace("layer", "optimiser"),
        kind="surface",
    )
    return scenario


def _surface_scenario(source: Source, root: Table) -> SurfaceScenario:
    lesson = root.table("lesson", {})
    title = lesson.get("title", str, source.path.stem)
    text = lesson.get("text", str, "")
    lesson.done()
    table = root.table("surface")
    name = table.choice("name", list(SURFACES))
    surface = SURFACES[name]
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
    point = (float(start[0]), float(start[1]))
    return SurfaceScenario(
        source.path.stem, source.path, title, text, surface, point, iterations, specs
    )


def optimizer_spec(table: Table) -> dict:
    """An optimiser table ({ type = "adam", lr = 0.01, ... }) checked as [train]'s is."""
    from . import _checked_options

    kind = table.choice("type", list(OPTIMIZERS))
    options = _checked_options(table, OPTIMIZERS[kind], table.rest())
    options.setdefault("lr", 0.01)  # as in [train]
    try:
        OPTIMIZERS[kind](**options)
    except (TypeError, ValueError) as err:
        raise table.error(None, str(err)) from None
    return {"type": kind, "options": options}


__all__ = ["ScenarioError", "SurfaceScenario", "load_surface"]
