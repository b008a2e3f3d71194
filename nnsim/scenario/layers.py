"""[model] layers: inline tables such as { type = "dense", units = 32, activation = "sigmoid" }.

Every layer type and its keys::

    dense        units, activation, init, std, bias, in_features
    dropconnect  units, p, activation, init, std, bias
    conv         filters, kernel, stride, padding, dilation, groups, activation, init, std, bias
    maxpool      kernel, stride, padding, ceil_mode
    avgpool      kernel, stride, padding, ceil_mode, count_include_pad
    gap          (global average pooling)
    flatten
    batchnorm    momentum, eps
    dropout      p
    rnn          hidden, nonlinearity, return_sequences, init, std, radius
    lstm         hidden, return_sequences, init, std, radius, forget_bias
    gru          hidden, return_sequences, init, std, radius
    embedding    num, dim
    attention    steps, score ("dot", "additive", or "none": the decoder without attention,
                 reading only the encoder's last state): a GRU decoder attending over the
                 encoder states before it (nnsim/layers/attention.py)
    maxout       pieces
    sigmoid, tanh, relu, softsign, softplus, identity, softmax
    leaky_relu, elu   alpha
    residual     layers (a list of layer tables), shortcut (a list, optional)
    concat       branches (a list of lists of layer tables)

Every type also takes ``name``, ``frozen`` (layers with weights) and ``repeat`` (the layer,
with its activation, that many times). ``activation`` adds that activation layer after it.
``values = { W = [[...]], b = [...] }`` starts a layer from these numbers instead of its
initialiser (reshaped to the parameter; the count must match), to follow a kernel by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..layers import (
    ELU,
    GRU,
    LSTM,
    RNN,
    AttentionDecoder,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    DropConnect,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    Layer,
    LeakyReLU,
    Maxout,
    MaxPool2d,
    ReLU,
    Residual,
    Sigmoid,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from ..layers.attention import SCORES as ATTENTION_SCORES
from .budget import MAX_LAYERS, MAX_REPEAT
from .errors import ScenarioError, did_you_mean
from .schema import Source, Table

#: How to make a checked layer: its class with the table's arguments bound.
Recipe = Callable[[], Layer]

SIMPLE_ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "softsign": Softsign,
    "softplus": Softplus,
    "identity": Identity,
    "softmax": Softmax,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
}


def _pair(t: Table, key: str, default):
    value = t.get(key, (int, list), default)
    if isinstance(value, list):
        if len(value) != 2 or not all(isinstance(v, int) for v in value):
            raise t.error(key, f"expected an integer or a pair [h, w], got {value!r}")
        return tuple(value)
    return value


def _finite(t: Table, key: str, default):
    """A positive number that is not inf (a scale of random weights)."""
    value = t.number(key, default, above=0.0)
    if value is not None and value == float("inf"):
        raise t.error(key, "must be a finite number, got inf")
    return value


def _weights(t: Table) -> dict:
    return {
        "init": t.get("init", str, "default"),
        "init_std": _finite(t, "std", 1.0),
        "bias": t.get("bias", bool, True),
        "frozen": t.get("frozen", bool, False),
    }


def _dense(t: Table) -> Recipe:
    return partial(
        Dense,
        t.integer("units", minimum=1),
        t.integer("in_features", None, minimum=1),
        **_weights(t),
    )


def _dropconnect(t: Table) -> Recipe:
    units, p = t.integer("units", minimum=1), t.number("p", 0.5, minimum=0.0)
    return partial(DropConnect, units, p=p, **_weights(t))


def _kernel(t: Table):
    kernel = _pair(t, "kernel", None)
    if kernel is None:
        raise t.error("kernel", "is required")
    return kernel


def _conv(t: Table) -> Recipe:
    return partial(
        Conv2d,
        t.integer("filters", minimum=1),
        _kernel(t),
        stride=_pair(t, "stride", 1),
        padding=_pair(t, "padding", 0),
        dilation=_pair(t, "dilation", 1),
        groups=t.integer("groups", 1, minimum=1),
        **_weights(t),
    )


def _pool(cls) -> Callable[[Table], Recipe]:
    def build(t: Table) -> Recipe:
        kwargs = {}
        if cls is AvgPool2d:
            kwargs["count_include_pad"] = t.get("count_include_pad", bool, True)
        return partial(
            cls,
            _kernel(t),
            _pair(t, "stride", None),
            _pair(t, "padding", 0),
            t.get("ceil_mode", bool, False),
            **kwargs,
        )

    return build


def _recurrent(cls) -> Callable[[Table], Recipe]:
    def build(t: Table) -> Recipe:
        kwargs = {}
        if cls is RNN:
            kwargs["nonlinearity"] = t.choice("nonlinearity", ("tanh", "relu"), "tanh")
        if cls is LSTM:
            kwargs["forget_bias"] = t.number("forget_bias", None)
        radius = _finite(t, "radius", None)
        return partial(
            cls,
            t.integer("hidden", minimum=1),
            return_sequences=t.get("return_sequences", bool, True),
            init=t.get("init", str, "default"),
            init_std=_finite(t, "std", 1.0),
            radius=radius,
            frozen=t.get("frozen", bool, False),
            **kwargs,
        )

    return build


def _activation(name: str) -> Callable[[Table], Recipe]:
    def build(t: Table) -> Recipe:
        if name in ("leaky_relu", "elu"):
            alpha = t.number("alpha", 0.01 if name == "leaky_relu" else 1.0)
            return partial(SIMPLE_ACTIVATIONS[name], alpha)
        return partial(SIMPLE_ACTIVATIONS[name])

    return build


BUILDERS: dict[str, Callable[[Table], Recipe]] = {
    "dense": _dense,
    "dropconnect": _dropconnect,
    "conv": _conv,
    "maxpool": _pool(MaxPool2d),
    "avgpool": _pool(AvgPool2d),
    "gap": lambda t: partial(GlobalAvgPool2d),
    "flatten": lambda t: partial(Flatten),
    "batchnorm": lambda t: partial(
        BatchNorm,
        t.number("momentum", 0.1, minimum=0.0),
        t.number("eps", 1e-5, above=0.0),
        frozen=t.get("frozen", bool, False),
    ),
    "dropout": lambda t: partial(Dropout, t.number("p", 0.5, minimum=0.0)),
    "rnn": _recurrent(RNN),
    "lstm": _recurrent(LSTM),
    "gru": _recurrent(GRU),
    "embedding": lambda t: partial(
        Embedding, t.integer("num", minimum=1), t.integer("dim", minimum=1)
    ),
    "attention": lambda t: partial(
        AttentionDecoder,
        t.integer("steps", minimum=1),
        t.choice("score", ATTENTION_SCORES, "dot"),
        frozen=t.get("frozen", bool, False),
    ),
    "maxout": lambda t: partial(Maxout, t.integer("pieces", minimum=1)),
    **{name: _activation(name) for name in SIMPLE_ACTIVATIONS},
}
_BLOCKS = ("residual", "concat")


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """One checked layer table: how to make its layer (``repeat`` times, each followed by
    ``activation``), the table as written (a variant rewrites it) and where it is."""

    type: str
    table: dict  # as written; never changed (a variant rewrites a copy)
    keys: tuple
    recipe: Recipe | None  # None for a residual or concat block
    repeat: int = 1
    name: str | None = None
    activation: str | None = None
    values: dict | None = None  # numbers to start from (``values = { W = ... }``)
    # a residual's (layers, shortcut if any), a concat's branches
    blocks: tuple[tuple[LayerSpec, ...], ...] = ()

    def build(self) -> list[Layer]:
        """New layers, as many as ``repeat`` (and their activations)."""
        layers: list[Layer] = []
        for _ in range(self.repeat):
            layers.append(self._layer())
            if self.activation is not None:
                layers.append(SIMPLE_ACTIVATIONS[self.activation]())
        return layers

    def _layer(self) -> Layer:
        if self.type == "residual":
            shortcut = build_layers(self.blocks[1]) if len(self.blocks) > 1 else None
            layer: Layer = Residual(build_layers(self.blocks[0]), shortcut)
        elif self.type == "concat":
            layer = Concat([build_layers(branch) for branch in self.blocks])
        else:
            layer = self.recipe()
            if self.values is not None:  # copies: a layer's parameters may be these arrays
                layer.set_values({key: array.copy() for key, array in self.values.items()})
        if self.name is not None:
            layer.name = self.name
        return layer


def build_layers(specs: tuple[LayerSpec, ...]) -> list[Layer]:
    """New layers of checked layer specs (nothing is read or checked again)."""
    return [layer for spec in specs for layer in spec.build()]


def parse_layers(source: Source, keys: list, tables) -> tuple[LayerSpec, ...]:
    """The checked specs of a list of inline layer tables; every mistake names its position."""
    if not isinstance(tables, list) or not tables:
        raise source.error(keys, "expected a non-empty list of layer tables")
    specs = tuple(_parse_one(source, [*keys, i], table) for i, table in enumerate(tables))
    layers = sum(_count(spec) for spec in specs)
    if layers > MAX_LAYERS:
        raise source.error(
            keys,
            f"makes {layers:,} layers (with their repeats); at most {MAX_LAYERS:,} are allowed",
        )
    return specs


def _count(spec: LayerSpec) -> int:
    """The layers a spec makes, activations and the layers inside blocks included."""
    inner = sum(_count(child) for block in spec.blocks for child in block)
    return spec.repeat * (1 + inner + (spec.activation is not None))


def _parse_one(source: Source, keys: list, table) -> LayerSpec:
    t = Table(source, keys, table)
    kind = t.get("type", str)
    if kind not in BUILDERS and kind not in _BLOCKS:
        raise t.error(
            "type", f"unknown layer type {kind!r}{did_you_mean(kind, [*BUILDERS, *_BLOCKS])}"
        )
    repeat = t.integer("repeat", 1, minimum=1)
    if repeat > MAX_REPEAT:
        raise t.error("repeat", f"must be at most {MAX_REPEAT}, got {repeat:,}")
    name = t.get("name", str, None)
    if name is not None and repeat > 1:
        raise t.error("name", "a repeated layer cannot have one name (names are unique)")
    activation = t.get("activation", str, None)
    if activation is not None and activation not in SIMPLE_ACTIVATIONS:
        raise t.error(
            "activation",
            f"unknown activation {activation!r}{did_you_mean(activation, SIMPLE_ACTIVATIONS)}",
        )
    recipe, values, blocks = None, None, ()
    if kind == "residual":
        blocks = (parse_layers(source, [*keys, "layers"], t.get("layers", list)),)
        shortcut = t.get("shortcut", list, None)
        if shortcut is not None:
            blocks += (parse_layers(source, [*keys, "shortcut"], shortcut),)
    elif kind == "concat":
        branches = t.get("branches", list)
        if len(branches) < 2:
            raise t.error("branches", "a concat needs at least two branches")
        blocks = tuple(
            parse_layers(source, [*keys, "branches", j], b) for j, b in enumerate(branches)
        )
    else:
        try:
            recipe = BUILDERS[kind](t)
            recipe()  # the layer's own checks, e.g. an unknown init scheme
        except ScenarioError:
            raise
        except ValueError as err:
            raise t.error(None, str(err)) from None
        values = t.get("values", dict, None)
        if values is not None:
            values = _values(t, values)
    t.done()
    return LayerSpec(kind, table, tuple(keys), recipe, repeat, name, activation, values, blocks)


def _values(t: Table, values: dict) -> dict:
    """``values = { W = [[...]], b = [...] }``: numbers to start from, nested lists."""
    checked = {}
    for key, value in values.items():
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise t.error("values", f"{key} must be a (nested) list of numbers") from None
        if array.dtype == object or not np.isfinite(array).all():
            raise t.error("values", f"{key} must be a (nested) list of finite numbers")
        array.flags.writeable = False  # kept in the spec, shared by every model built
        checked[key] = array
    return checked
