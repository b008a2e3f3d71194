"""GAN scenarios: a generator and a discriminator on a 1-D target distribution.

[gan]
target = "bimodal"        # gaussian N(3, 0.5²), bimodal (±2, 0.5²) or uniform U(-1, 3)
noise_dim = 4
batch_size = 64
iterations = 3000
d_steps = 1               # discriminator steps per generator step
seed = 0

[generator]               # noise (noise_dim,) -> one sample (1,)
layers = [ { type = "dense", units = 16, activation = "leaky_relu" }, ... ]
optimizer = { type = "adam", lr = 0.002, betas = [0.5, 0.999] }

[discriminator]           # one sample (1,) -> the probability it is real (end: sigmoid)
layers = [ ... ]
optimizer = { type = "adam", lr = 0.002, betas = [0.5, 0.999] }

[[variants]]              # change gan, generator or discriminator tables
[[expect]]                # w_distance(), d_accuracy(), gen_mean(), gen_std(), d_loss, g_loss
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from ..data.synthetic import GAN_TARGETS_1D, gan_target_1d
from ..i18n import Localized
from ..layers import ShapeError
from ..model import Sequential
from ..sim.gan import GanRun
from . import budget, checks
from .layers import LayerSpec, build_layers, parse_layers
from .network import optimizer_spec, read_lesson
from .schema import Source, Table
from .spec import Expectation, LessonSpec, OptimizerSpec

TABLES = ("lesson", "gan", "generator", "discriminator", "variants", "expect")
ROLES = ("generator", "discriminator")


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """The generator or the discriminator: its checked layers and its optimiser."""

    layers: tuple[LayerSpec, ...]
    optimizer: OptimizerSpec


@dataclass(frozen=True, eq=False)
class GanScenario:
    """A checked GAN scenario; ``simulator()`` makes a fresh GanRun."""

    kind: ClassVar[str] = "gan"
    path: Path
    lesson: LessonSpec
    target: str
    noise_dim: int
    batch_size: int
    iterations: int
    d_steps: int
    seed: int
    networks: dict[str, NetworkSpec]  # "generator" and "discriminator"
    expectations: tuple[Expectation, ...] = ()
    variants: dict[str, GanScenario] = field(default_factory=dict)
    localized_variant_titles: dict[str, Localized] = field(default_factory=dict)

    @property
    def variant_titles(self) -> dict[str, str]:
        """Each variant's title in the current language."""
        return {name: str(title) for name, title in self.localized_variant_titles.items()}

    breakpoints: tuple[str, ...] = ()
    tables: dict = field(default_factory=dict, compare=False, repr=False)

    name = property(lambda self: self.path.stem)
    title = property(lambda self: self.lesson.title)
    text = property(lambda self: self.lesson.text)

    def build(self, role: str, seed: int) -> Sequential:
        shape = (self.noise_dim,) if role == "generator" else (1,)
        # the discriminator passes the gradient on to the generator: it needs dL/dinput
        return Sequential(
            build_layers(self.networks[role].layers),
            shape,
            seed=seed,
            input_gradients=role == "discriminator",
            name=role,
        )

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> GanRun:
        seed = self.seed if seed is None else seed
        kind = self.target

        def target(n, rng):
            return gan_target_1d(n, kind, seed=rng)

        return GanRun(
            self.build("generator", seed),
            self.build("discriminator", seed + 1),
            self.networks["generator"].optimizer.build(),
            self.networks["discriminator"].optimizer.build(),
            target,
            noise_dim=self.noise_dim,
            batch_size=self.batch_size,
            iterations=self.iterations if iterations is None else iterations,
            d_steps=self.d_steps,
            seed=seed,
        )


def load_gan(source: Source, raw: dict) -> GanScenario:
    checks.check_tables(source, raw, TABLES, "a GAN")
    tables = {k: v for k, v in raw.items() if k in ("lesson", "gan", *ROLES)}
    scenario = _gan_scenario(source, Table(source, [], tables), tables)
    variants, titles = {}, {}
    for entry in checks.variant_entries(source, raw, ("gan", *ROLES)):
        root = Table(source, entry.keys, entry.tables)
        variants[entry.name] = _gan_scenario(source, root, entry.tables, scenario)
        titles[entry.name] = entry.title
    expectations = checks.expectations(
        source, raw, [], {name: [] for name in variants}, scenario.iterations, GanScenario.kind
    )
    return replace(
        scenario, expectations=expectations, variants=variants, localized_variant_titles=titles
    )


def _gan_scenario(
    source: Source, root: Table, tables: dict, base: GanScenario | None = None
) -> GanScenario:
    """The scenario of one set of tables; with a ``base``, a network whose table (and input)
    is the base's is the base's, not read and built again."""
    lesson = read_lesson(root.table("lesson", {}), source)
    gan = root.table("gan")
    target = gan.choice("target", list(GAN_TARGETS_1D), "bimodal")
    noise_dim = gan.integer("noise_dim", 4, minimum=1)
    batch_size = gan.integer("batch_size", 64, minimum=1)
    iterations = gan.integer("iterations", 1000, minimum=1)
    d_steps = gan.integer("d_steps", 1, minimum=1)
    seed = gan.integer("seed", 0)
    gan.done()
    networks = {}
    for role in ROLES:
        same_input = role == "discriminator" or (base is not None and noise_dim == base.noise_dim)
        if base is not None and same_input and tables.get(role) == base.tables.get(role):
            networks[role] = base.networks[role]
        else:
            networks[role] = _network(root.table(role), role, noise_dim, batch_size)
    return GanScenario(
        source.path,
        lesson,
        target,
        noise_dim,
        batch_size,
        iterations,
        d_steps,
        seed,
        networks,
        tables=tables,
    )


def _network(table: Table, role: str, noise_dim: int, batch_size: int) -> NetworkSpec:
    """A network's table: its layers (checked, and built once to check the output and that
    a run fits the memory budget) and its optimiser (adam unless it says)."""
    keys = [*table.keys, "layers"]
    layers = parse_layers(table.source, keys, table.get("layers", list))
    spec = table.get("optimizer", (str, dict), "adam")
    opt_table = Table(
        table.source,
        [*table.keys, "optimizer"],
        {"type": spec} if isinstance(spec, str) else spec,
    )
    network = NetworkSpec(layers, optimizer_spec(opt_table))
    table.done()
    shape = (noise_dim,) if role == "generator" else (1,)
    try:
        model = Sequential(build_layers(layers), shape, input_gradients=role == "discriminator")
    except (ShapeError, ValueError) as err:
        raise table.source.error(keys, str(err)) from None
    optimizer = network.optimizer
    slots = budget.optimizer_slots(optimizer.type, dict(optimizer.options))
    parts = budget.model_parts(budget.sizes(model), batch_size, model.dtype.itemsize, slots)
    too_big = budget.problem(parts.values())
    if too_big is not None:
        raise table.source.error(keys, too_big)
    if model.output_shape != (1,):
        what = (
            " (one sample)"
            if role == "generator"
            else " (a probability: end with a dense unit and a sigmoid)"
        )
        raise table.source.error(
            keys, f"the {role} must output (1,){what}, but it outputs {model.output_shape}"
        )
    return network


__all__ = ["GanScenario", "load_gan"]
