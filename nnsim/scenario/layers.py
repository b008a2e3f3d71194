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
    attention    steps, score ("dot" or "additive"): a GRU decoder attending over the
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
from .errors import ScenarioError, did_you_mean
from .schema import Source, Table

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


def _weights(t: Table) -> dict:
    return {
        "init": t.get("init", str, "default"),
        "init_std": t.number("std", 1.0, above=0.0),
        "bias": t.get("bias", bool, True),
        "frozen": t.get("frozen", bool, False),
    }


def _dense(t: Table) -> Layer:
    return Dense(
        t.integer("units", minimum=1), t.integer("in_features", None, minimum=1), **_weights(t)
    )


def _dropconnect(t: Table) -> Layer:
    return DropConnect(
        t.integer("units", minimum=1), p=t.number("p", 0.5, minimum=0.0), **_weights(t)
    )


def _kernel(t: Table):
    kernel = _pair(t, "kernel", None)
    if kernel is None:
        raise t.error("kernel", "is required")
    return kernel


def _conv(t: Table) -> Layer:
    return Conv2d(
        t.integer("filters", minimum=1),
        _kernel(t),
        stride=_pair(t, "stride", 1),
        padding=_pair(t, "padding", 0),
        dilation=_pair(t, "dilation", 1),
        groups=t.integer("groups", 1, minimum=1),
        **_weights(t),
    )


def _pool(cls) -> Callable[[Table], Layer]:
    def build(t: Table) -> Layer:
        kwargs = {}
        if cls is AvgPool2d:
            kwargs["count_include_pad"] = t.get("count_include_pad", bool, True)
        return cls(
            _kernel(t),
            _pair(t, "stride", None),
            _pair(t, "padding", 0),
            t.get("ceil_mode", bool, False),
            **kwargs,
        )

    return build


def _recurrent(cls) -> Callable[[Table], Layer]:
    def build(t: Table) -> Layer:
        kwargs = {}
        if cls is RNN:
            kwargs["nonlinearity"] = t.choice("nonlinearity", ("tanh", "relu"), "tanh")
        if cls is LSTM:
            kwargs["forget_bias"] = t.number("forget_bias", None)
        radius = t.number("radius", None, above=0.0)
        return cls(
            t.integer("hidden", minimum=1),
            return_sequences=t.get("return_sequences", bool, True),
            init=t.get("init", str, "default"),
            init_std=t.number("std", 1.0, above=0.0),
            radius=radius,
            frozen=t.get("frozen", bool, False),
            **kwargs,
        )

    return build


def _activation(name: str) -> Callable[[Table], Layer]:
    def build(t: Table) -> Layer:
        if name in ("leaky_relu", "elu"):
            return SIMPLE_ACTIVATIONS[name](
                t.number("alpha", 0.01 if name == "leaky_relu" else 1.0)
            )
        return SIMPLE_ACTIVATIONS[name]()

    return build


BUILDERS: dict[str, Callable[[Table], Layer]] = {
    "dense": _dense,
    "dropconnect": _dropconnect,
    "conv": _conv,
    "maxpool": _pool(MaxPool2d),
    "avgpool": _pool(AvgPool2d),
    "gap": lambda t: GlobalAvgPool2d(),
    "flatten": lambda t: Flatten(),
    "batchnorm": lambda t: BatchNorm(
        t.number("momentum", 0.1, minimum=0.0),
        t.number("eps", 1e-5, above=0.0),
        frozen=t.get("frozen", bool, False),
    ),
    "dropout": lambda t: Dropout(t.number("p", 0.5, minimum=0.0)),
    "rnn": _recurrent(RNN),
    "lstm": _recurrent(LSTM),
    "gru": _recurrent(GRU),
    "embedding": lambda t: Embedding(t.integer("num", minimum=1), t.integer("dim", minimum=1)),
    "attention": lambda t: AttentionDecoder(
        t.integer("steps", minimum=1),
        t.choice("score", ("dot", "additive"), "dot"),
        frozen=t.get("frozen", bool, False),
    ),
    "maxout": lambda t: Maxout(t.integer("pieces", minimum=1)),
    **{name: _activation(name) for name in SIMPLE_ACTIVATIONS},
}
_BLOCKS = ("residual", "concat")


def build_layers(source: Source, keys: list, specs) -> list[Layer]:
    """The layers of a list of inline tables (``repeat`` expanded, activations appended)."""
    if not isinstance(specs, list) or not specs:
        raise source.error(keys, "expected a non-empty list of layer tables")
    layers: list[Layer] = []
    for i, spec in enumerate(specs):
        layers += _build_one(source, [*keys, i], spec)
    return layers


def _build_one(source: Source, keys: list, spec) -> list[Layer]:
    t = Table(source, keys, spec)
    kind = t.get("type", str)
    if kind not in BUILDERS and kind not in _BLOCKS:
        raise t.error(
            "type", f"unknown layer type {kind!r}{did_you_mean(kind, [*BUILDERS, *_BLOCKS])}"
        )
    repeat = t.integer("repeat", 1, minimum=1)
    name = t.get("name", str, None)
    if name is not None and repeat > 1:
        raise t.error("name", "a repeated layer cannot have one name (names are unique)")
    activation = t.get("activation", str, None)
    if activation is not None and activation not in SIMPLE_ACTIVATIONS:
        raise t.error(
            "activation",
            f"unknown activation {activation!r}{did_you_mean(activation, SIMPLE_ACTIVATIONS)}",
        )
    layers: list[Layer] = []
    for _ in range(repeat):
        t.taken.clear()
        t.taken |= {"type", "repeat", "name", "activation"}
        if kind == "residual":
            layer: Layer = Residual(
                build_layers(source, [*keys, "layers"], t.get("layers", list)),
                _shortcut(source, keys, t),
            )
        elif kind == "concat":
            branches = t.get("branches", list)
            if len(branches) < 2:
                raise t.error("branches", "a concat needs at least two branches")
            layer = Concat(
                [build_layers(source, [*keys, "branches", j], b) for j, b in enumerate(branches)]
            )
        else:
            try:
                layer = BUILDERS[kind](t)
            except ScenarioError:
                raise
            except ValueError as err:  # the layer's own check, e.g. an unknown init scheme
                raise t.error(None, str(err)) from None
            values = t.get("values", dict, None)
            if values is not None:
                layer.set_values(_values(t, values))
        t.done()
        if name is not None:
            layer.name = name
        layers.append(layer)
        if activation is not None:
            layers.append(SIMPLE_ACTIVATIONS[activation]())
    return layers


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
        checked[key] = array
    return checked


def _shortcut(source: Source, keys: list, t: Table):
    spec = t.get("shortcut", list, None)
    return None if spec is None else build_layers(source, [*keys, "shortcut"], spec)
