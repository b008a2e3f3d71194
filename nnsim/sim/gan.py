"""A GAN on 1-D data: a generator G (noise z -> a sample x) and a discriminator D (x -> the
probability that x is real), trained by alternating updates.

One iteration is ``d_steps`` discriminator steps then one generator step; ``step`` runs one of
them, so a learner sees which network moves when:

- **D step**: a batch of real samples (label 1) and a batch of G's samples (label 0, G held
  fixed); D minimises the binary cross-entropy;
- **G step**: a batch of G's samples pushed through D (held fixed); G minimises
  -log D(G(z)) (the non-saturating loss of Goodfellow et al., 2014), so the gradient flows
  back through D into G.

Checks read ``w_distance()`` (the 1-D Wasserstein distance between G's samples and the
target), ``d_accuracy()`` (D's accuracy on fresh real and generated samples: 0.5 when it can
no longer tell them apart), ``gen_mean()`` and ``gen_std()``, and the variables ``d_loss`` and
``g_loss`` of the last steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..losses import BCELoss
from ..model import Sequential
from ..optim import Optimizer
from .column_trace import ColumnTrace
from .conditions import Checks
from .registry import register

GAN_METRICS = ("w_distance", "d_accuracy", "gen_mean", "gen_std")


class GanRun(Checks):
    """A generator and a discriminator and their alternating training; ``trace`` holds the
    losses of every iteration and the measures of every ``trace.measure_every``-th."""

    kind = "gan"

    def __init__(
        self,
        generator: Sequential,
        discriminator: Sequential,
        g_optimizer: Optimizer,
        d_optimizer: Optimizer,
        target: Callable[[int, np.random.Generator], np.ndarray],
        *,
        noise_dim: int,
        batch_size: int,
        iterations: int,
        d_steps: int = 1,
        eval_size: int = 1000,
        seed: int = 0,
    ) -> None:
        if generator.output_shape != (1,) or discriminator.input_shape != (1,):
            raise ValueError(
                f"a 1-D GAN needs a generator with output (1,) and a discriminator with input "
                f"(1,); got {generator.output_shape} and {discriminator.input_shape}"
            )
        if discriminator.output_shape != (1,):
            raise ValueError(
                f"the discriminator must output one probability (1,), got "
                f"{discriminator.output_shape}: end it with a dense unit and a sigmoid"
            )
        if generator.input_shape != (noise_dim,):
            raise ValueError(
                f"the generator's input {generator.input_shape} must be the noise ({noise_dim},)"
            )
        self.generator, self.discriminator = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.target = target
        self.noise_dim, self.batch_size = int(noise_dim), int(batch_size)
        self.iterations, self.d_steps = int(iterations), int(d_steps)
        self.rng = np.random.default_rng(seed)
        # fixed evaluation samples: the measures change only when the networks do
        evaluation = np.random.default_rng([seed, 1])
        self.eval_noise = evaluation.standard_normal((eval_size, noise_dim))
        self.eval_real = target(eval_size, evaluation)  # (eval_size, 1)
        self.loss = BCELoss()
        self.completed = 0
        self.substep = 0  # within an iteration: 0..d_steps-1 are D steps, d_steps the G step
        self.d_loss = math.nan
        self.g_loss = math.nan
        self.history: list[tuple[int, str, float]] = []  # (iteration, "D" or "G", loss)
        self.stopped = None
        self.names: list[str] = []  # no layer names in its checks
        self.trace = GanTrace(self.iterations)
        generator.train()
        discriminator.train()

    @property
    def iteration(self) -> int:
        return self.completed

    @property
    def next_step(self) -> str:
        """ "D" or "G": which network the next ``step`` updates."""
        return "D" if self.substep < self.d_steps else "G"

    def _noise(self) -> np.ndarray:
        return self.rng.standard_normal((self.batch_size, self.noise_dim))

    def step(self) -> str:
        """One D step or one G step (alternating as configured); returns which ran."""
        if self.completed >= self.iterations:
            return ""
        which = self.next_step
        if which == "D":
            self._d_step()
            self.substep += 1
        else:
            self._g_step()
            self.substep = 0
            self.completed += 1
            self.trace.record(self)
        return which

    def _d_step(self) -> None:
        real = self.target(self.batch_size, self.rng)  # (B, 1)
        fake = self.generator.forward(self._noise())  # (B, 1); G is not updated here
        x = np.concatenate([real, fake])  # (2B, 1)
        labels = np.concatenate([np.ones((len(real), 1)), np.zeros((len(fake), 1))])
        value, grad = self.loss(self.discriminator.forward(x), labels)
        self.discriminator.backward(grad)
        self.d_optimizer.step(
            self.discriminator.trainable_parameters(), self.discriminator.gradients()
        )
        self.d_loss = float(value)
        self.history.append((self.completed + 1, "D", self.d_loss))

    def _g_step(self) -> None:
        fake = self.generator.forward(self._noise())  # (B, 1)
        value, grad = self.loss(self.discriminator.forward(fake), np.ones((len(fake), 1)))
        dfake = self.discriminator.backward(grad)  # through D (its own step is skipped)
        self.generator.backward(dfake)
        self.g_optimizer.step(self.generator.trainable_parameters(), self.generator.gradients())
        self.g_loss = float(value)
        self.history.append((self.completed + 1, "G", self.g_loss))

    def run(self, iterations: int):
        """Finish the current iteration and run to ``iterations`` more in all; None."""
        target = min(self.iterations, self.completed + max(0, iterations))
        while self.completed < target:
            self.step()
        return None

    # ---------------------------------------------------------------- what checks read

    def samples(self) -> np.ndarray:
        """(eval_size,) the generator's samples for the fixed evaluation noise."""
        return self._evaluate(self.generator, self.eval_noise)[:, 0]

    def real_samples(self) -> np.ndarray:
        return self.eval_real[:, 0]

    def discriminator_output(self, x: np.ndarray) -> np.ndarray:
        """D(x) for each value of ``x`` (1-D): the probability D gives that x is real, in
        evaluation mode, the training state untouched."""
        points = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        return self._evaluate(self.discriminator, points)[:, 0]

    @staticmethod
    def _evaluate(model: Sequential, x: np.ndarray) -> np.ndarray:
        with model.inference():
            return model.forward(x)

    def w_distance(self) -> float:
        """The 1-D Wasserstein-1 distance between the generated and the target samples: the
        mean gap between their sorted values (equal-sized samples)."""
        return self._w_distance(self.samples())

    def d_accuracy(self) -> float:
        """D's accuracy on the evaluation samples, real ones (> 0.5 is right) and generated
        ones (< 0.5 is right): 1 when it separates them, 0.5 when it cannot."""
        return self._d_accuracy(self.samples())

    def measures(self) -> tuple[float, float, float, float]:
        """(w_distance, d_accuracy, gen_mean, gen_std), generating the samples once."""
        samples = self.samples()
        return (
            self._w_distance(samples),
            self._d_accuracy(samples),
            float(samples.mean()),
            float(samples.std()),
        )

    def _w_distance(self, samples: np.ndarray) -> float:
        return float(np.mean(np.abs(np.sort(samples) - np.sort(self.real_samples()))))

    def _d_accuracy(self, samples: np.ndarray) -> float:
        real = self._evaluate(self.discriminator, self.eval_real)[:, 0]
        fake = self._evaluate(self.discriminator, samples[:, None])[:, 0]
        return float((np.sum(real > 0.5) + np.sum(fake <= 0.5)) / (len(real) + len(fake)))


class GanTrace(ColumnTrace):
    """Per completed iteration: the last D step's and the G step's losses, and every
    ``measure_every`` iterations (and at the first and the last) the measures of
    ``GanRun.measures``, NaN in between: measuring every iteration would double the run's
    time. Set ``measure_every = 1`` before running for every row."""

    MEASURES = GAN_METRICS

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations
        self.measure_every = max(1, iterations // 100)
        self._rows: list[tuple[float, ...]] = []  # (iteration, d_loss, g_loss, *MEASURES)

    def record(self, run: GanRun) -> None:
        t = run.completed
        wanted = t == 1 or t == self.iterations or t % self.measure_every == 0
        measures = run.measures() if wanted else (math.nan,) * len(self.MEASURES)
        self._rows.append((t, run.d_loss, run.g_loss, *measures))

    def columns(self) -> dict[str, np.ndarray]:
        names = ("d_loss", "g_loss", *self.MEASURES)
        table = np.array(self._rows, dtype=np.float64).reshape(-1, 1 + len(names))
        columns = {"iteration": table[:, 0].astype(np.int64)}
        columns.update({name: table[:, i + 1] for i, name in enumerate(names)})
        return columns


def _nonfinite(run: GanRun) -> bool:
    return not (math.isfinite(run.d_loss) or run.completed == 0)


# (name, scope, refresh, function, doc) of what a GAN's checks read
_ENTRIES = [
    ("w_distance", "model", "weight", lambda run: run.w_distance(),
     "1-D Wasserstein distance between generated and target samples"),
    ("d_accuracy", "model", "weight", lambda run: run.d_accuracy(),
     "the discriminator's accuracy on real and generated samples (0.5: chance)"),
    ("gen_mean", "model", "weight", lambda run: float(run.samples().mean()),
     "mean of the generated samples"),
    ("gen_std", "model", "weight", lambda run: float(run.samples().std()),
     "standard deviation of the generated samples"),
    ("iteration", "variable", "batch", lambda run: float(run.completed),
     "iterations completed so far"),
    ("d_loss", "variable", "loss", lambda run: run.d_loss,
     "the discriminator's loss in its last step"),
    ("g_loss", "variable", "loss", lambda run: run.g_loss,
     "the generator's loss in its last step"),
]  # fmt: skip
for _name, _scope, _refresh, _function, _doc in _ENTRIES:
    register(_name, _scope, "gan", _refresh, _doc, _function)
register(
    "nonfinite",
    "model",
    "gan",
    "any",
    "true once a NaN or inf appeared in the run",
    _nonfinite,
    boolean=True,
)
