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

from dataclasses import dataclass, field
from pathlib import Path

from ..data.synthetic import GAN_TARGETS_1D, gan_target_1d
from ..layers import ShapeError
from ..model import Sequential
from ..optim import OPTIMIZERS
from ..sim.gan import GanRun
from . import kinds
from .layers import build_layers
from .schema import Source, Table
from .surface import optimizer_spec

TABLES = ("lesson", "gan", "generator", "discriminator", "variants", "expect")


@dataclass
class GanScenario:
    """A checked GAN scenario; ``simulator()`` makes a fresh GanRun."""

    name: str
    path: Path
    title: str
    text: str
    target: str
    noise_dim: int
    batch_size: int
    iterations: int
    d_steps: int
    seed: int
    networks: dict[str, dict]  # "generator"/"discriminator" -> layers, keys, optimizer spec
    source: Source
    expectations: list[kinds.Expectation] = field(default_factory=list)
    variants: dict[str, GanScenario] = field(default_factory=dict)
    variant_titles: dict[str, str] = field(default_factory=dict)
    breakpoints: list[str] = field(default_factory=list)
    kind = "gan"

    def build(self, role: str, seed: int) -> Sequential:
        network = self.networks[role]
        layers = build_layers(self.source, network["keys"], network["layers"])
        shape = (self.noise_dim,) if role == "generator" else (1,)
        # the discriminator passes the gradient on to the generator: it needs dL/dinput
        return Sequential(
            layers, shape, seed=seed, input_gradients=role == "discriminator", name=role
        )

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> GanRun:
        seed = self.seed if seed is None else seed
        kind = self.target

        def target(n, rng):
            return gan_target_1d(n, kind, seed=rng)

        optimizers = {
            role: OPTIMIZERS[net["optimizer"]["type"]](**net["optimizer"]["options"])
            for role, net in self.networks.items()
        }
        return GanRun(
            self.build("generator", seed),
            self.build("discriminator", seed + 1),
            optimizers["generator"],
            optimizers["discriminator"],
            target,
            noise_dim=self.noise_dim,
            batch_size=self.batch_size,
            iterations=self.iterations if iterations is None else iterations,
            d_steps=self.d_steps,
            seed=seed,
        )


def load_gan(source: Source, raw: dict) -> GanScenario:
    kinds.check_tables(source, raw, TABLES, "a GAN")
    scenario = _gan_scenario(source, Table(source, [], raw), [])
    changeable = ("gan", "generator", "discriminator")
    for name, title, tables in kinds.variants(source, raw, changeable):
        scenario.variants[name] = _gan_scenario(source, tables, tables.keys)
        scenario.variant_titles[name] = title
    variant_names = {name: [] for name in scenario.variants}
    scenario.expectations = kinds.expectations(
        source, raw, [], variant_names, scenario.iterations, kind="gan"
    )
    return scenario


def _gan_scenario(source: Source, root: Table, where: list) -> GanScenario:
    lesson = root.table("lesson", {})
    title, text = lesson.get("title", str, source.path.stem), lesson.get("text", str, "")
    lesson.done()
    gan = root.table("gan")
    target = gan.choice("target", list(GAN_TARGETS_1D), "bimodal")
    noise_dim = gan.integer("noise_dim", 4, minimum=1)
    batch_size = gan.integer("batch_size", 64, minimum=1)
    iterations = gan.integer("iterations", 1000, minimum=1)
    d_steps = gan.integer("d_steps", 1, minimum=1)
    seed = gan.integer("seed", 0)
    gan.done()
    networks = {}
    for role in ("generator", "discriminator"):
        table = root.table(role)
        specs = table.get("layers", list)
        keys = [*table.keys, "layers"]
        build_layers(source, keys, specs)  # every layer table checked, with its position
        spec = table.get("optimizer", (str, dict), "adam")
        opt_table = Table(
            source, [*table.keys, "optimizer"], {"type": spec} if isinstance(spec, str) else spec
        )
        networks[role] = {"layers": specs, "keys": keys, "optimizer": optimizer_spec(opt_table)}
        table.done()
    scenario = GanScenario(
        source.path.stem,
        source.path,
        title,
        text,
        target,
        noise_dim,
        batch_size,
        iterations,
        d_steps,
        seed,
        networks,
        source,
    )
    for role in ("generator", "discriminator"):
        try:
            model = scenario.build(role, seed)
        except (ShapeError, ValueError) as err:
            raise source.error([*where, role, "layers"], str(err)) from None
        wanted = (1,)
        if model.output_shape != wanted:
            raise source.error(
                [*where, role, "layers"],
                f"the {role} must output {wanted}"
                + (
                    " (one sample)"
                    if role == "generator"
                    else " (a probability: end with a dense unit and a sigmoid)"
                )
                + f", but it outputs {model.output_shape}",
            )
    return scenario
