"""The memory a scenario will need, estimated from its checked specs before anything big is
allocated, and refused when it does not fit the budget.

The budget is 2 GiB unless the environment variable ``NNSIM_MEMORY_BUDGET`` says otherwise
(bytes, or a number with a unit: ``8GiB``, ``500MB``, ``1.5e9``). The estimate adds:

- the parameters (and running statistics) of every layer, their gradients, a copy kept to
  measure how far the weights moved, and the optimiser's state (one array per parameter for
  SGD, Adagrad and RMSprop, two for Adam; one more for momentum, ``centered`` or ``amsgrad``);
- the activations of one batch, forward and backward (three arrays per layer output: the
  output, its gradient and what the layer keeps), and an evaluation pass of 256 examples;
- the data arrays (training, validation and test).

Models are built lazily (nnsim.layers: shapes first, arrays on first use), so the estimate
reads a built model's shapes without allocating its parameters. Counts that would make
millions of layer objects are bounded directly (``MAX_REPEAT``, ``MAX_LAYERS``).
"""

from __future__ import annotations

import inspect
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .errors import locate
from .schema import Source

ENVIRONMENT = "NNSIM_MEMORY_BUDGET"
DEFAULT_BUDGET = 2 * 1024**3
#: The largest ``repeat`` of one layer table, and the most layers one model may have.
MAX_REPEAT = 1000
MAX_LAYERS = 10_000
#: Examples of an evaluation pass (Simulator.evaluate's batch).
EVALUATION_BATCH = 256

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def budget() -> int:
    """The memory budget in bytes: NNSIM_MEMORY_BUDGET, or 2 GiB."""
    text = os.environ.get(ENVIRONMENT, "").strip()
    if not text:
        return DEFAULT_BUDGET
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or not float(match.group(1)) > 0:
        raise ValueError(
            f"{ENVIRONMENT}={text!r}: expected a size in bytes such as 4GiB, 500MB or 2e9"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def size(n: float) -> str:
    """Bytes as a reader says them: 1.5 GiB, 12 MiB, 300 bytes."""
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{int(n)} bytes"


@dataclass(frozen=True)
class Part:
    """One contributor to the estimate: what it is and its bytes."""

    what: str
    bytes: float


def problem(parts: Iterable[Part]) -> str | None:
    """Why ``parts`` do not fit the budget (the estimate, the budget and the biggest part), or
    None when they fit."""
    parts = [p for p in parts if p.bytes > 0]
    total, limit = sum(p.bytes for p in parts), budget()
    if total <= limit:
        return None
    biggest = max(parts, key=lambda p: p.bytes)
    return (
        f"needs about {size(total)} of memory, more than the budget of {size(limit)}; the "
        f"biggest part is {biggest.what} ({size(biggest.bytes)}). Make it smaller, or raise "
        f"the budget with the environment variable {ENVIRONMENT} (e.g. {ENVIRONMENT}=8GiB)"
    )


#: The options of the data generators that multiply the size of the data they make.
_SIZES = {"n", "n_per_class", "classes", "dim", "steps", "length", "delay", "symbols", "centers"}


def generated_bytes(generator, options: dict) -> tuple[str | None, float]:
    """(the option most to blame, a bound on the bytes) of the data ``generator(**options)``
    makes: x and y, a float64 for each combination of its size options (n × steps × ...)."""
    parameters = inspect.signature(generator).parameters.values()
    defaults = {p.name: p.default for p in parameters if p.default is not p.empty}
    sizes = {k: v for k, v in {**defaults, **options}.items() if k in _SIZES}
    numbers = [v for v in sizes.values() if isinstance(v, int) and not isinstance(v, bool)]
    if not numbers or min(numbers) <= 0:
        return None, 0.0  # the generator refuses it itself
    given = [k for k in options if k in sizes and isinstance(options[k], int)]
    return (max(given, key=lambda k: options[k]) if given else None), 16.0 * math.prod(numbers)


def optimizer_slots(kind: str, options: dict) -> int:
    """Arrays the optimiser keeps per parameter."""
    slots = {"sgd": 1, "adagrad": 1, "rmsprop": 1, "adam": 2}.get(kind, 2)
    return (
        slots
        + sum(bool(options.get(k)) for k in ("centered", "amsgrad"))
        + (kind == "rmsprop" and bool(options.get("momentum")))
    )


@dataclass(frozen=True)
class Sizes:
    """What a built (not materialised) model will allocate: its parameters and running
    statistics, the layer with the most, and the numbers every layer outputs per example."""

    parameters: int = 0
    largest: tuple[str, int] = ("", 0)
    activations: int = 0


def sizes(model) -> Sizes:
    """The Sizes of a model built lazily (its shapes only)."""
    leaves = [layer for layer in model.walk() if not layer.children()]
    counts = [(layer.name, _parameters(layer)) for layer in leaves]
    activations = math.prod(model.input_shape) + sum(math.prod(x.output_shape) for x in leaves)
    return Sizes(
        sum(count for _, count in counts), max(counts, key=lambda item: item[1]), activations
    )


def _parameters(layer) -> int:
    shapes = [*layer.param_shapes().values(), *layer.running_shapes().values()]
    return sum(math.prod(shape) for shape in shapes)


def model_parts(model: Sizes, batch_size: int, itemsize: int, slots: int) -> dict[str, Part]:
    """The parts of one model's run: "parameters" (with gradients, a copy and the optimiser's
    state) and "activations" (of a training batch, forward and backward, or an evaluation)."""
    name, largest = model.largest
    examples = max(3 * batch_size, EVALUATION_BATCH)
    return {
        "parameters": Part(
            f"the {model.parameters:,} parameters with their gradients and optimiser state "
            f"({name} has {largest:,})",
            model.parameters * itemsize * (3 + slots),
        ),
        "activations": Part(
            f"the activations of a batch of {batch_size:,} "
            f"({model.activations:,} numbers per example)",
            model.activations * itemsize * examples,
        ),
    }


def check(source: Source, keys: list, data, model, train, opt) -> None:
    """Refuse a network scenario whose run will not fit the memory budget, before anything big
    is allocated; ``keys``: where its tables are (a variant's entry)."""
    slots = optimizer_slots(opt.type, dict(opt.options))
    parts = model_parts(model.sizes, train.batch_size, np.dtype(model.dtype).itemsize, slots)
    datasets = (data.train, data.validation, data.test)
    parts["data"] = Part("the data", sum(d.x.nbytes + d.y.nbytes for d in datasets if d))
    too_big = problem(parts.values())
    if too_big is not None:
        biggest = max(parts, key=lambda k: parts[k].bytes)
        one_batch = model.sizes.activations * np.dtype(model.dtype).itemsize * EVALUATION_BATCH
        if biggest == "activations" and problem([Part("", one_batch)]) is not None:
            biggest = "parameters"  # too big at any batch size: the layers' outputs are
        table, key = {
            "parameters": ("model", "layers"),
            "activations": ("train", "batch_size"),
            "data": ("data", None),
        }[biggest]
        located = [*keys, table] + ([key] if key and _has(source, keys, table, key) else [])
        raise source.error(located, too_big)


def _has(source: Source, keys: list, table: str, key: str) -> bool:
    return locate(source.text, [*keys, table, key]) is not None
