"""Reading a network scenario's tables into its frozen specs (nnsim/scenario/spec.py), once.

Every table is read by one function here; each value is checked where it is read, so an
error names the file, the line and the key path. The model is built once, to check that its
layers fit the data and to learn its layer names (which the conditions name).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace

import numpy as np

from .. import architectures
from ..checkpoint import CheckpointError
from ..losses import LOSSES, Loss, _Classification
from ..optim import OPTIMIZERS
from ..sim import Thresholds
from . import budget, checks
from .data import DataSpec, load_data
from .errors import did_you_mean
from .layers import parse_layers
from .schema import Source, Table
from .spec import (
    Architecture,
    LessonSpec,
    ModelSpec,
    OptimizerSpec,
    Scenario,
    TrainSpec,
    learning_rate_problem,
)

TABLES = ["lesson", "data", "model", "train", "diagnostics", "breakpoints", "expect", "variants"]
#: The tables a [[variants]] entry may change.
VARIANT_TABLES = ("data", "model", "train", "diagnostics")


def load_network(source: Source, raw: dict) -> Scenario:
    """The scenario of a file's tables, its variants, breakpoints and expectations."""
    for key in raw:
        if key not in TABLES:
            raise source.error([key], f"unknown table [{key}]{did_you_mean(key, TABLES)}")
    tables = {k: v for k, v in raw.items() if k in ("lesson", *VARIANT_TABLES)}
    scenario = read_scenario(source, Table(source, [], tables), tables)
    from .variants import network_variant  # which reads its tables with this module's readers

    variants, titles = {}, {}
    for entry in checks.variant_entries(source, raw, VARIANT_TABLES, extra=checks.REWRITES):
        variants[entry.name] = network_variant(scenario, entry)
        titles[entry.name] = entry.title
    names = list(scenario.model.layer_names)
    variant_layers = {name: list(v.model.layer_names) for name, v in variants.items()}
    breakpoints = checks.breakpoints(source, raw, names, kind=Scenario.kind)
    expectations = checks.expectations(
        source,
        raw,
        names,
        variant_layers,
        scenario.iterations,
        Scenario.kind,
        validate=checks.measured_every(scenario.eval_every),
    )
    return replace(
        scenario,
        breakpoints=breakpoints,
        expectations=expectations,
        variants=variants,
        localized_variant_titles=titles,
    )


def read_scenario(
    source: Source, root: Table, tables: dict, base: Scenario | None = None
) -> Scenario:
    """The scenario of one set of tables (the lesson's, or a variant's merged ones). With a
    ``base``, a table the same as the base's (and what it depends on) is not read again."""

    def same(*keys: str) -> bool:
        return base is not None and all(tables.get(k) == base.tables.get(k) for k in keys)

    lesson = base.lesson if same("lesson") else read_lesson(root.table("lesson", {}), source)
    train_table = root.table("train", {})
    seed = train_table.integer("seed", 0, minimum=0)
    if same("data") and seed == base.seed:
        data = base.data
    else:
        data = load_data(root.table("data"), seed)
    train, optimizer = read_train(train_table, data, seed)
    if same("data", "model") and data is base.data:
        model = base.model
    else:
        model = read_model(root.table("model"), data)
        check_labels(source, root.keys, data, model)
    budget.check(source, root.keys, data, model, train, optimizer)
    if same("diagnostics"):
        thresholds = base.thresholds
    else:
        thresholds = read_thresholds(root.table("diagnostics", {}))
    return Scenario(
        source.path,
        lesson,
        data,
        model,
        train,
        optimizer,
        thresholds,
        source=source,
        tables=tables,
    )


def read_lesson(t: Table, source: Source) -> LessonSpec:
    lesson = LessonSpec(
        t.localized("title", source.path.stem),
        t.localized("text", ""),
        t.get("language", str, "en"),
        t.localized("predict", "").map(str.strip),
        t.localized("answer", "").map(str.strip),
        t.get("pytorch", str, "").strip("\n"),
    )
    if lesson.localized_predict and not lesson.localized_answer:
        raise t.error("predict", 'a prediction needs its answer: add answer = "..." to [lesson]')
    if lesson.localized_answer and not lesson.localized_predict:
        raise t.error("answer", 'an answer needs its question: add predict = "..." to [lesson]')
    t.done()
    return lesson


def read_train(t: Table, data: DataSpec, seed: int) -> tuple[TrainSpec, OptimizerSpec]:
    """[train] but its seed (read first: the data depend on it) and the optimiser."""
    optimizer = read_optimizer(t)
    train = TrainSpec(
        batch_size=t.integer("batch_size", 32, minimum=1),
        iterations=t.integer("iterations", 100, minimum=0),
        seed=seed,
        shuffle=t.get("shuffle", bool, True),
        clip_norm=t.number("clip_norm", None, above=0.0),
        clip_value=t.number("clip_value", None, above=0.0),
        l1=t.number("l1", 0.0, minimum=0.0),
        l2=t.number("l2", 0.0, minimum=0.0),
        eval_every=t.integer("eval_every", 0, minimum=0),
        lr_decay=_lr_decay(t.table("lr_decay", None)),
        early_stopping=t.integer("early_stopping", None, minimum=1),
    )
    t.done()
    if train.eval_every and data.validation is None:
        raise t.error("eval_every", "needs a validation split: set [data] validation")
    if train.early_stopping is not None and not train.eval_every:
        raise t.error("early_stopping", "needs eval_every (and a validation split)")
    return train, optimizer


def _lr_decay(decay: Table | None) -> tuple[int, float] | None:
    if decay is None:
        return None
    every, factor = decay.integer("every", minimum=1), decay.number("factor", above=0.0)
    if factor > 1:
        raise decay.error("factor", f"must be at most 1, got {factor:g}")
    decay.done()
    return every, factor


def read_thresholds(t: Table) -> Thresholds:
    defaults = Thresholds()
    thresholds = Thresholds(**{k: t.number(k, v, minimum=0.0) for k, v in vars(defaults).items()})
    t.done(known=list(vars(defaults)))
    return thresholds


def read_optimizer(train: Table) -> OptimizerSpec:
    """[train] optimizer (a name or a table) and [train] lr, which may not both give the lr."""
    spec = train.get("optimizer", (str, dict), "sgd")
    table = Table(train.source, [*train.keys, "optimizer"], _typed(spec))
    if train.has("lr"):
        if "lr" in table.values:
            raise train.error("lr", "is given twice: here and in the optimizer table")
        return optimizer_spec(table, lr=read_lr(train))
    return optimizer_spec(table)


def optimizer_spec(table: Table, lr: float | None = None) -> OptimizerSpec:
    """An optimiser table ({ type = "adam", lr = 0.01, ... }), checked by its class; ``lr``
    given if read elsewhere. Every kind of scenario reads its optimisers here."""
    kind = table.choice("type", list(OPTIMIZERS))
    if lr is None:
        lr = read_lr(table) if table.has("lr") else 0.01
    options = checked_options(table, OPTIMIZERS[kind], table.rest())
    spec = OptimizerSpec(kind, lr, tuple(options.items()))
    try:
        spec.build()
    except (TypeError, ValueError) as err:
        raise table.error(None, str(err)) from None
    return spec


def read_lr(table: Table) -> float:
    lr = table.get("lr", float)
    problem = learning_rate_problem(lr)
    if problem is not None:
        raise table.error("lr", problem)
    return lr


def read_model(t: Table, data: DataSpec) -> ModelSpec:
    """[model]: the layer specs (or architecture) and loss; the model is built once here."""
    x = data.train.x
    shape = tuple(t.get("input_shape", list, list(x.shape[1:])))
    if shape != tuple(x.shape[1:]):
        raise t.error(
            "input_shape", f"is {list(shape)} but the data's examples are {list(x.shape[1:])}"
        )
    dtype = t.choice("dtype", ("float64", "float32"), "float64")
    loss = read_loss(t)
    if t.has("architecture"):
        name = t.choice("architecture", list(architectures.ARCHITECTURES))
        width = t.number("width", 1.0, above=0.0)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise t.error("architecture", f"needs square images (C, H, W); the data is {shape}")
        y = data.train.y
        if not data.num_classes and (y.dtype.kind not in "iu" or y.ndim != 1 or y.min() < 0):
            raise t.error("architecture", "classifies: the data needs class numbers 0, 1, ...")
        classes = data.num_classes or int(np.max(y)) + 1
        t.done()
        spec = ModelSpec(loss, dtype, shape, architecture=Architecture(name, width, classes))
        return with_layer_names(spec, t.source, t.keys)
    if t.has("file"):  # a model file (ONNX), or weights beside the layers: nnsim.interop
        from ..interop.scenario import read_model_file

        return read_model_file(t, shape, dtype, loss)
    layers = parse_layers(t.source, [*t.keys, "layers"], t.get("layers", list))
    input_gradients = t.get("input_gradients", bool, False)
    init_from = t.get("init_from", str, "")
    init_layers = t.get("init_layers", list, None)
    t.done()
    if init_layers is not None and not all(isinstance(n, str) for n in init_layers):
        raise t.error("init_layers", f"expected a list of layer names, got {init_layers!r}")
    if init_layers and not init_from:
        raise t.error("init_layers", "names the layers to load from init_from, which is not set")
    spec = ModelSpec(
        loss,
        dtype,
        shape,
        layers,
        init_from=t.source.path.parent / init_from if init_from else None,
        init_layers=None if init_layers is None or not init_from else tuple(init_layers),
        input_gradients=input_gradients,
    )
    return with_layer_names(spec, t.source, t.keys)


def with_layer_names(spec: ModelSpec, source: Source, keys: list) -> ModelSpec:
    """The spec with its layer names and sizes, from the one model built to check it (its
    shapes only: a model allocates its arrays when first used); ``keys``: where the [model]
    table is. Weights of init_from are loaded into it (to check them) only if they fit."""
    try:
        model = spec.build(0, weights=False)
    except ValueError as err:
        raise source.error(keys, str(err)) from None
    spec = replace(
        spec,
        layer_names=tuple(layer.name for layer in model.walk() if layer is not model),
        output_shape=tuple(model.output_shape),
        sizes=budget.sizes(model),
    )
    if spec.init_from is not None:
        nbytes = spec.sizes.parameters * np.dtype(spec.dtype).itemsize
        too_big = budget.problem([budget.Part("the parameters", nbytes)])
        if too_big is not None:
            raise source.error(keys, too_big)
        try:
            spec.load_weights(model)
        except CheckpointError as err:
            raise source.error([*keys, "init_from"], str(err)) from None
    return spec


def check_labels(source: Source, keys: list, data: DataSpec, model: ModelSpec) -> None:
    """A classification loss needs class numbers 0..C-1, one per example (or per step), C the
    model's outputs: refuse fractional, non-finite or misshapen labels here, not mid-run; the
    other losses need as many targets as outputs."""
    outputs = model.output_shape
    if not isinstance(model.loss, _Classification):
        _check_targets(source, keys, data, model)
        return
    for part, d in (("training", data.train), ("validation", data.validation)):
        if d is None or not len(d.y):
            continue
        y, problem = d.y, None
        if y.dtype.kind not in "iu":
            flat = np.ravel(y).astype(np.float64)
            bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)))
            at = f": {float(flat[bad[0]]):g} at position {int(bad[0])}" if len(bad) else ""
            problem = f"the {part} labels are not whole numbers{at}"
        elif tuple(y.shape[1:]) != tuple(outputs[:-1]):
            wanted = (len(y), *outputs[:-1])
            problem = f"the {part} labels are {y.shape} where outputs {outputs} need {wanted}"
        elif y.min() < 0 or y.max() >= outputs[-1]:
            wrong = int(y.min()) if y.min() < 0 else int(y.max())
            problem = f"the {part} labels include class {wrong}"
        if problem is not None:
            raise source.error(
                [*keys, "data"],
                f"the loss {model.loss.name} needs class numbers 0..{outputs[-1] - 1}, one per "
                f"example (or step), but {problem}",
            )


def _check_targets(source: Source, keys: list, data: DataSpec, model: ModelSpec) -> None:
    """A loss comparing outputs with targets (mse, mae, bce) needs one number per output."""
    wanted = math.prod(model.output_shape)
    for part, d in (("training", data.train), ("validation", data.validation)):
        if d is not None and len(d.y) and d.y.size != len(d.y) * wanted:
            raise source.error(
                [*keys, "data"],
                f"the loss {model.loss.name} compares each output with a target, but the "
                f"{part} targets are {d.y.shape} and the model outputs {model.output_shape} "
                f"({wanted} numbers per example)",
            )


def read_loss(t: Table) -> Loss:
    table = Table(t.source, [*t.keys, "loss"], _typed(t.get("loss", (str, dict))))
    kind = table.choice("type", list(LOSSES))
    try:
        return LOSSES[kind](**checked_options(table, LOSSES[kind], table.rest()))
    except (TypeError, ValueError) as err:
        raise table.error(None, str(err)) from None


def _typed(spec: str | dict) -> dict:
    return {"type": spec} if isinstance(spec, str) else spec


def checked_options(table: Table, cls, options: dict) -> dict:
    accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
    checked = {}
    for key, value in options.items():
        if key not in accepted:
            raise table.error(
                key, f"unknown option {key!r} of {cls.__name__}{did_you_mean(key, accepted)}"
            )
        checked[key] = tuple(value) if isinstance(value, list) else value
    return checked
