"""Scenario files: a lesson or an experiment in TOML, read with tomllib and checked up front.

    [lesson]
    title = "Vanishing gradients in a deep sigmoid network"
    text = \"\"\"markdown for the learner\"\"\"

    [data]                      # see nnsim/scenario/data.py
    source = "spirals"

    [model]                     # layers: see nnsim/scenario/layers.py
    layers = [ { type = "dense", units = 32, activation = "sigmoid", repeat = 12 },
               { type = "dense", units = 2 } ]
    loss = "cross_entropy"      # or { type = "cross_entropy", weight = [1.0, 5.0] }
    # architecture = "lenet5"   # instead of layers; with width and input_size
    # dtype = "float64"
    # init_from = "pretrained/digits_0_4.npz"   # weights from a checkpoint (nnsim run --save),
    # init_layers = ["conv1", "conv2"]          # of these layers only (default: every layer)
    # input_gradients = false   # true: the first layer computes dL/dinput too (conv_backward)

    [train]
    optimizer = "sgd"           # or { type = "adam", lr = 0.001, betas = [0.9, 0.999] }
    lr = 0.1
    batch_size = 32
    iterations = 200
    seed = 0
    clip_norm = 1.0             # and/or clip_value
    l1 = 0.0                    # penalties on every layer with weights
    l2 = 0.0
    eval_every = 0              # validation loss/accuracy every N iterations
    lr_decay = { every = 50, factor = 0.5 }   # step decay of the learning rate
    early_stopping = 5          # stop after 5 validations without improvement, keep the best

    [diagnostics]               # verdict thresholds (nnsim.sim.diagnostics.Thresholds)
    vanishing = 1e-4

    [[breakpoints]]
    when = "nonfinite() or loss > 10"

    [[expect]]
    check = "grad_norm(dense1) / grad_norm(dense13) < 1e-4"
    at = "end"                  # or an iteration number

Every error names the file, the line where it can be found, the key path and what was
expected; an unknown key gets a "did you mean". A scenario is data only: nothing in it runs.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import architectures, checkpoint
from ..checkpoint import CheckpointError
from ..data.batching import augmenter
from ..losses import LOSSES, Loss
from ..model import Sequential
from ..optim import OPTIMIZERS, Optimizer
from ..sim import ConditionError, Simulator, Thresholds, parse
from ..text import TextSampler
from .catalogue import SAMPLES, find, lesson_sections, shipped_lessons
from .data import Data, load_data
from .errors import ScenarioError, did_you_mean
from .layers import build_layers
from .schema import Source, Table

__all__ = [
    "Expectation",
    "SAMPLES",
    "Scenario",
    "ScenarioError",
    "lesson_sections",
    "load",
    "shipped_lessons",
]

TABLES = ["lesson", "data", "model", "train", "diagnostics", "breakpoints", "expect", "variants"]
# a scenario with a [surface] table is an optimiser race instead (nnsim/scenario/surface.py)
VARIANT_TABLES = ["data", "model", "train", "diagnostics"]


@dataclass
class Expectation:
    check: str
    at: int | None  # None: at the end of the run


@dataclass
class Scenario:
    kind = "network"  # the others: "surface" (scenario/surface.py), "gan" (scenario/gan.py)
    path: Path
    title: str
    text: str
    data: Data
    model_spec: dict
    loss: Loss
    optimizer_spec: dict
    batch_size: int
    iterations: int
    seed: int
    shuffle: bool
    clip_norm: float | None
    clip_value: float | None
    l1: float
    l2: float
    eval_every: int
    thresholds: Thresholds
    lr_decay: tuple[int, float] | None = None
    early_stopping: int | None = None
    breakpoints: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    language: str = "en"
    variants: dict[str, Scenario] = field(default_factory=dict)  # name: the changed scenario
    variant_titles: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem

    def build_model(self, seed: int | None = None, dtype=None) -> Sequential:
        spec = self.model_spec
        model = spec["build"](self.seed if seed is None else seed, dtype or spec["dtype"])
        if self.l1 or self.l2:
            model.regularize(l1=self.l1, l2=self.l2)
        return model

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
        model_spec, optimizer_spec = self.model_spec, copy.deepcopy(self.optimizer_spec)
        if lr is not None:
            if not lr > 0:
                raise ValueError(f"the learning rate must be > 0, got {lr!r}")
            optimizer_spec["options"]["lr"] = float(lr)
        if optimizer is not None:
            if optimizer not in OPTIMIZERS:
                raise ValueError(
                    f"unknown optimiser {optimizer!r}{did_you_mean(optimizer, OPTIMIZERS)}"
                )
            optimizer_spec = {"type": optimizer, "options": {"lr": optimizer_spec["options"]["lr"]}}
        if activation is not None or init is not None:
            if "layers" not in model_spec:
                raise ValueError(
                    "this scenario builds a classic architecture: only the "
                    "learning rate and the optimiser can change"
                )
            specs = _rewrite(copy.deepcopy(model_spec["layers"]), activation, init)
            source = Source(self.path, model_spec["source"].text)
            build_layers(source, ["model", "layers"], specs)  # the changed layers must build
            model_spec = _layers_spec(
                source,
                ["model", "layers"],
                specs,
                model_spec["shape"],
                model_spec["dtype"],
                model_spec["input_gradients"],
                model_spec["init_from"],
            )
        changed = dataclasses.replace(self, model_spec=model_spec, optimizer_spec=optimizer_spec)
        changed.build_optimizer()  # an impossible combination fails now, not mid-run
        return changed

    def build_optimizer(self) -> Optimizer:
        return OPTIMIZERS[self.optimizer_spec["type"]](**self.optimizer_spec["options"])

    def simulator(
        self, iterations: int | None = None, seed: int | None = None, breakpoints: bool = True
    ) -> Simulator:
        seed = self.seed if seed is None else seed
        sim = Simulator(
            self.build_model(seed),
            self.loss,
            self.build_optimizer(),
            self.data.train,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            iterations=self.iterations if iterations is None else iterations,
            seed=seed,
            clip_norm=self.clip_norm,
            clip_value=self.clip_value,
            validation=self.data.validation,
            eval_every=self.eval_every,
            thresholds=self.thresholds,
            lr_decay=self.lr_decay,
            augment=None if self.data.augment is None else augmenter(*self.data.augment),
            early_stopping=self.early_stopping,
        )
        if self.data.text is not None:
            steps = self.data.train.x.shape[1]
            sim.sampler = TextSampler(self.data.text, self.data.train.class_names, steps, seed=seed)
        if breakpoints:
            for text in self.breakpoints:
                sim.add_breakpoint(text)
        return sim


def load(path: str | Path) -> Scenario:
    """Read, check and prepare a scenario file (data generated, model built and checked);
    ``path`` may also name a shipped lesson, such as "vanishing_sigmoid"."""
    path = find(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, None, [], "no such scenario file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ScenarioError(path, None, [], f"cannot be read: {err}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = _toml_line(str(err))
        raise ScenarioError(path, line, [], f"not valid TOML: {err}") from None
    source = Source(path, text)
    if "surface" in raw:
        from .surface import load_surface

        return load_surface(source, raw)
    if "gan" in raw:
        from .gan import load_gan

        return load_gan(source, raw)
    for key in raw:
        if key not in TABLES:
            raise source.error([key], f"unknown table [{key}]{did_you_mean(key, TABLES)}")
    root = Table(source, [], raw)
    scenario = _scenario(source, root)
    names = _layer_names(source, ["model"], scenario)
    variant_layers = {}
    for i, entry in enumerate(root.get("variants", list, [])):
        name, variant, title = _variant(source, raw, i, entry)
        if name in scenario.variants:
            raise source.error(["variants", i, "name"], f"a second variant named {name!r}")
        scenario.variants[name], scenario.variant_titles[name] = variant, title
        variant_layers[name] = _layer_names(source, ["variants", i], variant)
    scenario.breakpoints = [
        _condition(source, ["breakpoints", i], entry, "when", names)[0]
        for i, entry in enumerate(root.get("breakpoints", list, []))
    ]
    for i, entry in enumerate(root.get("expect", list, [])):
        check, table = _condition(
            source,
            ["expect", i],
            entry,
            "check",
            names,
            keep_open=True,
            variants=variant_layers or None,
        )
        if scenario.eval_every == 0 and re.search(r"(?<![\w.])val_(loss|accuracy)\b", check):
            raise table.error(
                "check",
                "val_loss and val_accuracy are measured every [train] eval_every iterations, "
                "and eval_every is 0 (never): set it, e.g. eval_every = 10",
            )
        at = table.get("at", (str, int), "end")
        if at != "end" and parse(check, names, variant_layers or None).uses_variants:
            raise table.error("at", "a check that compares variants is made at the end")
        if isinstance(at, str) and at != "end":
            raise table.error("at", f'expected "end" or an iteration number, got {at!r}')
        if isinstance(at, int) and not 1 <= at <= scenario.iterations:
            limit = scenario.iterations
            raise table.error("at", f"must be between 1 and the {limit} iterations, got {at}")
        table.done()
        scenario.expectations.append(Expectation(check, None if at == "end" else at))
    return scenario


def _scenario(source: Source, root: Table) -> Scenario:
    """The scenario of one set of tables (the lesson's own, or a variant's merged ones)."""
    path = source.path
    lesson = root.table("lesson", {})
    title = lesson.get("title", str, path.stem)
    body = lesson.get("text", str, "")
    language = lesson.get("language", str, "en")
    lesson.done()

    train = root.table("train", {})
    seed = train.integer("seed", 0, minimum=0)
    data = load_data(root.table("data"), seed)
    model_spec, loss = _model(root.table("model"), data)
    optimizer_spec = _optimizer(train)
    batch_size = train.integer("batch_size", 32, minimum=1)
    iterations = train.integer("iterations", 100, minimum=0)
    shuffle = train.get("shuffle", bool, True)
    clip_norm = train.number("clip_norm", None, above=0.0)
    clip_value = train.number("clip_value", None, above=0.0)
    l1 = train.number("l1", 0.0, minimum=0.0)
    l2 = train.number("l2", 0.0, minimum=0.0)
    eval_every = train.integer("eval_every", 0, minimum=0)
    early_stopping = train.integer("early_stopping", None, minimum=1)
    decay = train.table("lr_decay", None)
    lr_decay = None
    if decay is not None:
        lr_decay = (decay.integer("every", minimum=1), decay.number("factor", above=0.0))
        if lr_decay[1] > 1:
            raise decay.error("factor", f"must be at most 1, got {lr_decay[1]:g}")
        decay.done()
    train.done()
    if eval_every and data.validation is None:
        raise train.error("eval_every", "needs a validation split: set [data] validation")
    if early_stopping is not None and not eval_every:
        raise train.error("early_stopping", "needs eval_every (and a validation split)")

    diagnostics = root.table("diagnostics", {})
    defaults = Thresholds()
    thresholds = Thresholds(
        **{k: diagnostics.number(k, v, minimum=0.0) for k, v in vars(defaults).items()}
    )
    diagnostics.done(known=list(vars(defaults)))
    return Scenario(
        path,
        title,
        body,
        data,
        model_spec,
        loss,
        optimizer_spec,
        batch_size,
        iterations,
        seed,
        shuffle,
        clip_norm,
        clip_value,
        l1,
        l2,
        eval_every,
        thresholds,
        language=language,
        lr_decay=lr_decay,
        early_stopping=early_stopping,
    )


def _layer_names(source: Source, keys: list, scenario: Scenario) -> list[str]:
    try:
        model = scenario.build_model()
    except ValueError as err:
        raise source.error([*keys, "model"] if keys != ["model"] else keys, str(err)) from None
    return [layer.name for layer in model.walk() if layer is not model]


def _variant(source: Source, raw: dict, i: int, entry) -> tuple[str, Scenario, str]:
    """A [[variants]] entry: its name, its scenario (the lesson's tables with the variant's
    on top: a table merges key by key, any other value replaces; a data table that names
    its own source replaces the lesson's) and its title."""
    table = Table(source, ["variants", i], entry)
    name = table.get("name", str)
    if not name.isidentifier() or name in VARIABLES_AND_KEYWORDS:
        raise table.error("name", f"must be a plain name such as relu or no_shuffle, got {name!r}")
    title = table.get("title", str, name)
    swap = table.get("replace_activation", list, None)
    init = table.get("init", str, None)
    overrides = {}
    for key in VARIANT_TABLES:
        if table.has(key):
            overrides[key] = table.get(key, dict)
    table.done(known=["name", "title", "replace_activation", "init", *VARIANT_TABLES])
    base = {k: v for k, v in raw.items() if k in ("lesson", *VARIANT_TABLES)}
    if "source" in overrides.get("data", {}):  # another data source: its own options only
        base.pop("data", None)
    merged = _merge(base, overrides)
    variant = _scenario(source, Table(source, ["variants", i], merged))
    if swap is not None:
        if len(swap) != 2 or not all(isinstance(v, str) for v in swap):
            raise table.error(
                "replace_activation", 'expected ["old", "new"], e.g. ["sigmoid", "relu"]'
            )
    if swap is not None or init is not None:
        try:
            variant = variant.variant(activation=tuple(swap) if swap else None, init=init)
        except ValueError as err:
            raise table.error(None, str(err)) from None
    return name, variant, title


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


VARIABLES_AND_KEYWORDS = {"and", "or", "not", "true", "false", "loss", "accuracy", "iteration"}


def _rewrite(specs: list, activation: tuple[str, str] | None, init: str | None) -> list:
    """Layer tables with one activation kind swapped for another and/or a new init scheme."""
    weight_types = {"dense", "dropconnect", "conv", "rnn", "lstm", "gru"}
    for spec in specs:
        if not isinstance(spec, dict):
            continue
        if activation is not None:
            old, new = activation
            if spec.get("type") == old:
                spec["type"] = new
            if spec.get("activation") == old:
                spec["activation"] = new
        if init is not None and spec.get("type") in weight_types:
            spec["init"] = init
        for key in ("layers", "shortcut"):
            if isinstance(spec.get(key), list):
                _rewrite(spec[key], activation, init)
        for branch in spec.get("branches", []) or []:
            if isinstance(branch, list):
                _rewrite(branch, activation, init)
    return specs


def _condition(source, keys, entry, key, names, keep_open=False, variants=None):
    table = Table(source, keys, entry)
    text = table.get(key, str)
    try:
        parse(text, names, variants)
    except ConditionError as err:
        raise table.error(key, f"{err.message} at column {err.column} of {text!r}") from None
    if not keep_open:
        table.done()
    return text, table


def _toml_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _model(t: Table, data: Data):
    x = data.train.x
    shape = tuple(t.get("input_shape", list, list(x.shape[1:])))
    if shape != tuple(x.shape[1:]):
        raise t.error(
            "input_shape", f"is {list(shape)} but the data's examples are {list(x.shape[1:])}"
        )
    dtype = t.choice("dtype", ("float64", "float32"), "float64")
    loss = _loss(t, data)
    if t.has("architecture"):
        name = t.choice("architecture", list(architectures.ARCHITECTURES))
        width = t.number("width", 1.0, above=0.0)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise t.error("architecture", f"needs square images (C, H, W); the data is {shape}")
        classes = data.num_classes or int(np.max(data.train.y)) + 1
        builder = architectures.ARCHITECTURES[name]
        t.done()

        def build(seed, dtype):
            return builder(classes, shape[0], shape[1], width, seed, dtype)

        return {"build": build, "dtype": dtype}, loss
    specs = t.get("layers", list)
    input_gradients = t.get("input_gradients", bool, False)
    init_from = t.get("init_from", str, "")
    init_layers = t.get("init_layers", list, None)
    source, keys = t.source, [*t.keys, "layers"]
    build_layers(source, keys, specs)  # check every layer table now, with file positions
    t.done()
    if init_layers is not None and not all(isinstance(n, str) for n in init_layers):
        raise t.error("init_layers", f"expected a list of layer names, got {init_layers!r}")
    initial = (t.source.path.parent / init_from, init_layers) if init_from else None
    spec = _layers_spec(source, keys, specs, shape, dtype, input_gradients, initial)
    if init_from:
        try:
            spec["build"](0, dtype)
        except CheckpointError as err:
            raise t.error("init_from", str(err)) from None
    elif init_layers:
        raise t.error("init_layers", "names the layers to load from init_from, which is not set")
    return spec, loss


def _layers_spec(
    source: Source,
    keys: list,
    specs: list,
    shape: tuple,
    dtype: str,
    input_gradients: bool = False,
    init_from: tuple[Path, list | None] | None = None,
) -> dict:
    """How to build the model: its layer tables, and the weights to load (a checkpoint path
    and its layers) after building."""

    def build(seed, dtype):
        layers = build_layers(source, keys, specs)
        model = Sequential(layers, shape, seed=seed, dtype=dtype, input_gradients=input_gradients)
        if init_from is not None:
            checkpoint.load_layers(init_from[0], model, init_from[1])
        return model

    return {
        "build": build,
        "dtype": dtype,
        "layers": specs,
        "source": source,
        "shape": shape,
        "input_gradients": input_gradients,
        "init_from": init_from,
    }


def _loss(t: Table, data: Data) -> Loss:
    spec = t.get("loss", (str, dict))
    if isinstance(spec, str):
        spec = {"type": spec}
    table = Table(t.source, [*t.keys, "loss"], spec)
    kind = table.choice("type", list(LOSSES))
    options = table.rest()
    try:
        return LOSSES[kind](**_checked_options(table, LOSSES[kind], options))
    except (TypeError, ValueError) as err:
        raise table.error(None, str(err)) from None


def _optimizer(train: Table) -> dict:
    spec = train.get("optimizer", (str, dict), "sgd")
    if isinstance(spec, str):
        spec = {"type": spec}
    table = Table(train.source, [*train.keys, "optimizer"], spec)
    kind = table.choice("type", list(OPTIMIZERS))
    options = table.rest()
    if train.has("lr"):
        if "lr" in options:
            raise train.error("lr", "is given twice: here and in the optimizer table")
        options["lr"] = train.number("lr", above=0.0)
    options.setdefault("lr", 0.01)
    options = _checked_options(table, OPTIMIZERS[kind], options)
    try:
        OPTIMIZERS[kind](**options)
    except (TypeError, ValueError) as err:
        raise table.error(None, str(err)) from None
    return {"type": kind, "options": options}


def _checked_options(table: Table, cls, options: dict) -> dict:
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    for key, value in options.items():
        if key not in accepted:
            raise table.error(
                key, f"unknown option {key!r} of {cls.__name__}{did_you_mean(key, accepted)}"
            )
        if isinstance(value, list):
            options[key] = tuple(value)
    return options
