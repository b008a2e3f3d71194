"""What a scenario file says, as frozen values read from the TOML in one pass.

A network scenario is a lesson, its data, a model, how to train it and with which optimiser,
verdict thresholds, breakpoints and expectations (each holding its parsed condition), and its
variants: each a copy with some of these replaced (``dataclasses.replace``). Nothing here reads
TOML (that is nnsim/scenario/network.py) and nothing is checked twice: a model is built from its
checked layer specs without reading a table again.

Specs holding arrays, layers or losses (data, model, scenarios) are equal only to themselves
(``eq=False``): a variant shares the lesson's data or model by holding the same object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .. import architectures, checkpoint
from ..data.batching import augmenter
from ..i18n import Localized
from ..losses import Loss
from ..model import Sequential
from ..optim import OPTIMIZERS, Optimizer
from ..sim import Simulator, Thresholds
from ..sim.conditions import Condition
from ..text import TextSampler
from .budget import Sizes
from .data import DataSpec
from .layers import LayerSpec, build_layers
from .schema import Source

__all__ = [
    "Expectation",
    "LessonSpec",
    "ModelSpec",
    "OptimizerSpec",
    "Scenario",
    "TrainSpec",
    "learning_rate_problem",
]


def learning_rate_problem(lr: float) -> str | None:
    """What is wrong with a learning rate, or None: the one rule for every lr a scenario
    takes ([train] lr, an optimiser table's lr, a what-if's)."""
    if not math.isfinite(lr):
        return f"must be a finite number, got {lr:g}"
    if not lr > 0:
        return f"must be greater than 0, got {lr:g}"
    return None


@dataclass(frozen=True)
class LessonSpec:
    """The learner's reading, in each language it is written in: the title and text, the
    question to answer before stepping (``predict``), its answer with one line why
    (``answer``, shown once a run has finished), and the few lines of PyTorch that make the
    same phenomenon (``pytorch``, one language: code). ``title``, ``text``, ``predict`` and
    ``answer`` read the current language (nnsim.i18n)."""

    localized_title: Localized
    localized_text: Localized = Localized("")
    language: str = "en"
    localized_predict: Localized = Localized("")
    localized_answer: Localized = Localized("")
    pytorch: str = ""

    title = property(lambda self: str(self.localized_title))
    text = property(lambda self: str(self.localized_text))
    predict = property(lambda self: str(self.localized_predict))
    answer = property(lambda self: str(self.localized_answer))


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimiser's type, its learning rate and its other options (checked)."""

    type: str
    lr: float
    options: tuple[tuple[str, Any], ...] = ()  # every option but lr, as (name, value)

    def build(self) -> Optimizer:
        return OPTIMIZERS[self.type](lr=self.lr, **dict(self.options))

    def as_dict(self) -> dict:
        """{"type": ..., "options": {"lr": ..., ...}}, the shape scenario files write."""
        return {"type": self.type, "options": {"lr": self.lr, **dict(self.options)}}


@dataclass(frozen=True)
class Architecture:
    """A classic architecture (nnsim.architectures) instead of layer tables."""

    name: str
    width: float
    classes: int


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """How to build the model: checked layer specs (or an architecture), the loss, the dtype,
    the input shape, the checkpoint to start from; ``layer_names`` are the built model's."""

    loss: Loss
    dtype: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...] = ()
    architecture: Architecture | None = None
    init_from: Path | None = None  # a checkpoint (nnsim run --save) to load after building
    init_layers: tuple[str, ...] | None = None  # its layers to load (None: every layer)
    input_gradients: bool = False  # the first layer computes dL/dinput too
    layer_names: tuple[str, ...] = ()
    # of the model built to check it (its shapes only): what the memory budget reads
    output_shape: tuple[int, ...] = ()
    sizes: Sizes = field(default_factory=Sizes)

    def build(self, seed: int, dtype: str | None = None, weights: bool = True) -> Sequential:
        """The model; with ``weights``, those of ``init_from`` loaded (which allocates its
        parameters: without, nothing big is allocated until the model is used)."""
        dtype = dtype or self.dtype
        if self.architecture is not None:
            arch, (channels, size, _) = self.architecture, self.input_shape
            builder = architectures.ARCHITECTURES[arch.name]
            return builder(arch.classes, channels, size, arch.width, seed, dtype)
        model = Sequential(
            build_layers(self.layers),
            self.input_shape,
            seed=seed,
            dtype=dtype,
            input_gradients=self.input_gradients,
        )
        if weights:
            self.load_weights(model)
        return model

    def load_weights(self, model: Sequential) -> None:
        """The weights of ``init_from`` (if set) into ``model``."""
        if self.init_from is not None:
            layers = None if self.init_layers is None else list(self.init_layers)
            checkpoint.load_layers(self.init_from, model, layers)


@dataclass(frozen=True)
class TrainSpec:
    batch_size: int = 32
    iterations: int = 100
    seed: int = 0
    shuffle: bool = True
    clip_norm: float | None = None
    clip_value: float | None = None
    l1: float = 0.0
    l2: float = 0.0
    eval_every: int = 0  # validation loss/accuracy every N iterations (0: never)
    lr_decay: tuple[int, float] | None = None  # (every, factor)
    early_stopping: int | None = None


@dataclass(frozen=True)
class Expectation:
    """An [[expect]] check: its text, its condition parsed once, when it is judged, and the
    sentence the learner reads for it (``says``; the check is shown on demand)."""

    check: str
    at: int | None  # None: at the end of the run
    condition: Condition = field(compare=False, repr=False)
    localized_says: Localized = Localized("")

    says = property(lambda self: str(self.localized_says))


@dataclass(frozen=True, eq=False)
class Scenario:
    """A checked network scenario; ``simulator()`` makes a fresh run of it."""

    kind: ClassVar[str] = "network"  # the others: "surface" (surface.py), "gan" (gan.py)
    path: Path
    lesson: LessonSpec
    data: DataSpec
    model: ModelSpec
    train: TrainSpec
    optimizer: OptimizerSpec
    thresholds: Thresholds = field(default_factory=Thresholds)
    breakpoints: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    variants: dict[str, Scenario] = field(default_factory=dict)  # name: the changed scenario
    localized_variant_titles: dict[str, Localized] = field(default_factory=dict)

    @property
    def variant_titles(self) -> dict[str, str]:
        """Each variant's title in the current language."""
        return {name: str(title) for name, title in self.localized_variant_titles.items()}

    # the file and its tables as written, which a [[variants]] entry or a what-if changes
    source: Source | None = field(default=None, compare=False, repr=False)
    tables: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.path.stem

    title = property(lambda self: self.lesson.title)
    text = property(lambda self: self.lesson.text)
    language = property(lambda self: self.lesson.language)
    loss = property(lambda self: self.model.loss)
    batch_size = property(lambda self: self.train.batch_size)
    iterations = property(lambda self: self.train.iterations)
    seed = property(lambda self: self.train.seed)
    shuffle = property(lambda self: self.train.shuffle)
    eval_every = property(lambda self: self.train.eval_every)

    @property
    def optimizer_spec(self) -> dict:
        return self.optimizer.as_dict()

    def build_model(self, seed: int | None = None, dtype=None) -> Sequential:
        model = self.model.build(self.seed if seed is None else seed, dtype)
        if self.train.l1 or self.train.l2:
            model.regularize(l1=self.train.l1, l2=self.train.l2)
        return model

    def build_optimizer(self) -> Optimizer:
        return self.optimizer.build()

    def variant(
        self,
        lr: float | None = None,
        optimizer: str | None = None,
        activation: tuple[str, str] | None = None,
        init: str | None = None,
    ) -> Scenario:
        """A copy with one thing changed, for "what if" comparisons: the learning rate, the
        optimiser, every activation of one kind replaced by another (``("sigmoid", "relu")``),
        or the initialisation of every layer with weights. Same data, same seed."""
        from .variants import what_if

        return what_if(self, lr=lr, optimizer=optimizer, activation=activation, init=init)

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> Simulator:
        seed = self.seed if seed is None else seed
        train, data = self.train, self.data
        sim = Simulator(
            self.build_model(seed),
            self.loss,
            self.build_optimizer(),
            data.train,
            batch_size=train.batch_size,
            shuffle=train.shuffle,
            iterations=train.iterations if iterations is None else iterations,
            seed=seed,
            clip_norm=train.clip_norm,
            clip_value=train.clip_value,
            validation=data.validation,
            eval_every=train.eval_every,
            thresholds=self.thresholds,
            lr_decay=train.lr_decay,
            augment=None if data.augment is None else augmenter(*data.augment),
            early_stopping=train.early_stopping,
        )
        if data.text is not None:
            steps = data.train.x.shape[1]
            sim.sampler = TextSampler(data.text, data.train.class_names, steps, seed=seed)
        if breakpoints:
            for text in self.breakpoints:
                sim.add_breakpoint(text)
        return sim
