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
from .conditions import Checks

GAN_METRICS = ("w_distance", "d_accuracy", "gen_mean", "gen_std")
GAN_VARIABLES = ("iteration", "d_loss", "g_loss")


class GanRun(Checks):
    """A generator and a discriminator and their alternating training."""

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

    @staticmethod
    def _evaluate(model: Sequential, x: np.ndarray) -> np.ndarray:
        with model.inference():
            return model.forward(x)

    def w_distance(self) -> float:
        """The 1-D Wasserstein-1 distance between the generated and the target samples: the
        mean gap between their sorted values (equal-sized samples)."""
        return float(np.mean(np.abs(np.sort(self.samples()) - np.sort(self.real_samples()))))

    def d_accuracy(self) -> float:
        """D's accuracy on the evaluation samples, real ones (> 0.5 is right) and generated
        ones (< 0.5 is right): 1 when it separates them, 0.5 when it cannot."""
        real = self._evaluate(self.discriminator, self.eval_real)[:, 0]
        fake = self._evaluate(self.discriminator, self.samples()[:, None])[:, 0]
        return float((np.sum(real > 0.5) + np.sum(fake <= 0.5)) / (len(real) + len(fake)))

    def layer_metric(self, metric: str, layer: str) -> float:
        raise KeyError(f"a GAN's checks read {', '.join(GAN_METRICS)}(), not layer metrics")

    def model_metric(self, metric: str) -> float | bool:
        if metric == "w_distance":
            return self.w_distance()
        if metric == "d_accuracy":
            return self.d_accuracy()
        if metric == "gen_mean":
            return float(self.samples().mean())
        if metric == "gen_std":
            return float(self.samples().std())
        if metric == "nonfinite":
            return not (math.isfinite(self.d_loss) or self.completed == 0)
        raise KeyError(f"{metric}() is not measured on a GAN; use one of {GAN_METRICS}")

    def variable(self, name: str) -> float:
        if name == "iteration":
            return float(self.completed)
        if name == "d_loss":
            return self.d_loss
        if name == "g_loss":
            return self.g_loss
        raise KeyError(f"{name} is not measured on a GAN; use one of {GAN_VARIABLES}")
