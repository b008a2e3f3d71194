"""Random valid and hostile calls to the optimisers (constructors and step) and the
initialisers, held to the array API's error contract (tests/fuzzing.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from fuzzing import Arg, Case, dims, floats, fuzz, mutate_array
from hypothesis import strategies as st

from nnsim import init, optim

OPTIMIZER_ARGS = {
    "SGD": [("momentum", 0.9), ("nesterov", False), ("weight_decay", 0.0)],
    "Adagrad": [("eps", 1e-10), ("initial_accumulator_value", 0.0), ("weight_decay", 0.0)],
    "RMSprop": [
        ("alpha", 0.99),
        ("eps", 1e-8),
        ("momentum", 0.0),
        ("centered", False),
        ("weight_decay", 0.0),
    ],
    "Adam": [("betas", (0.9, 0.999)), ("eps", 1e-8), ("weight_decay", 0.0)],
}


def optimizer(name: str) -> Callable:
    def make(draw):
        args = [Arg("lr", draw(st.floats(0, 1)), "real")]
        for key, value in OPTIMIZER_ARGS[name]:
            kind = (
                "flag"
                if isinstance(value, bool)
                else "pair"
                if isinstance(value, tuple)
                else "real"
            )
            args.append(Arg(key, value, kind, keyword=True))
        return Case(name, getattr(optim, name), args)

    return make


def optimizer_step(name: str) -> Callable:
    def make(draw):
        shapes = [(dims(draw), dims(draw)) for _ in range(dims(draw, 1, 3))]
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        params = {f"p{i}": np.zeros(s, dtype) for i, s in enumerate(shapes)}
        grads = {f"p{i}": floats(draw, s) for i, s in enumerate(shapes)}
        damaged = {}
        for which, arrays in (("params", params), ("grads", grads)):
            if draw(st.booleans()):  # a damaged array in the dict (the dicts themselves stay)
                key = draw(st.sampled_from(sorted(arrays)))
                arrays[key], damaged[which] = mutate_array(draw, arrays[key], "float")
        opt = getattr(optim, name)(0.1)
        args = [Arg("params", params, "fixed"), Arg("grads", grads, "fixed")]
        # a refused step changes nothing: every key is checked before any is updated
        return Case(f"{name}.step", opt.step, args, in_place=("params",), damaged=damaged)

    return make


def initialiser(name: str) -> Callable:
    def make(draw):
        shape = draw(st.sampled_from([(dims(draw), dims(draw)), (dims(draw), dims(draw), 2, 3)]))
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        args = [Arg("shape", shape, "shape")]
        if name != "zeros":
            args.append(Arg("rng", np.random.default_rng(0), "object"))
        if name in ("xavier_uniform", "xavier_normal", "orthogonal"):
            args.append(Arg("gain", draw(st.floats(0.1, 2)), "real", keyword=True))
        if name == "normal":
            args.append(Arg("std", draw(st.floats(0, 2)), "real"))
        if name == "uniform":
            args += [Arg("low", -1.0, "real"), Arg("high", 1.0, "real")]
        if name == "orthogonal":
            shape = args[0].value = shape[:2]
        args.append(Arg("dtype", dtype, "choice", keyword=True))
        return Case(name, getattr(init, name), args, dtype=dtype, shapes=[shape])

    return make


def init_weight(draw):
    scheme = draw(st.sampled_from(init.SCHEMES))
    shape, dtype = (dims(draw), dims(draw)), draw(st.sampled_from([np.float32, np.float64]))
    args = [Arg("scheme", scheme, "choice"), Arg("shape", shape, "shape")]
    args += [
        Arg("rng", np.random.default_rng(0), "object"),
        Arg("std", draw(st.floats(0.1, 2)), "real"),
    ]
    args.append(Arg("dtype", dtype, "choice", keyword=True))
    names = ("weight", "torch_default", *init.INITIALISERS)
    return Case(names, init.weight, args, dtype=dtype, shapes=[shape])


def fan_in_and_out(draw):
    shape = tuple(dims(draw) for _ in range(draw(st.integers(2, 4))))
    return Case("fan_in_and_out", init.fan_in_and_out, [Arg("shape", shape, "shape")])


CASES: dict[str, Callable] = {
    **{name: optimizer(name) for name in OPTIMIZER_ARGS},
    **{f"{name}.step": optimizer_step(name) for name in OPTIMIZER_ARGS},
    **{name: initialiser(name) for name in ("xavier_uniform", "xavier_normal", "he_uniform")},
    **{name: initialiser(name) for name in ("he_normal", "normal", "uniform", "zeros")},
    **{name: initialiser(name) for name in ("torch_default", "orthogonal")},
    "weight": init_weight,
    "fan_in_and_out": fan_in_and_out,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_calls_keep_the_contract(name):
    fuzz(CASES[name])()


def test_an_empty_weight_is_drawn_without_dividing_by_a_zero_fan(rng):
    assert init.he_normal((3, 0), rng).shape == (3, 0)  # was ZeroDivisionError
    assert init.xavier_uniform((0, 2, 3, 3), rng, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "call, start",
    [
        (lambda rng: init.he_uniform((4,), rng), "he_uniform: fan_in and fan_out need"),
        (
            lambda rng: init.normal((2, 2), None, 1.0),
            "normal: rng must be a numpy.random.Generator",
        ),
        (lambda rng: init.zeros((2, 2), dtype=np.int64), "zeros: dtype must be float32 or float64"),
        (lambda rng: optim.Adagrad(0.1, eps=10**400), "Adagrad: eps must be a finite number"),
        (lambda rng: optim.Adam(0.1, betas=0.9), "Adam: betas must be a pair"),
    ],
)
def test_refusals_name_the_initialiser_or_optimiser(rng, call, start):
    with pytest.raises((TypeError, ValueError)) as info:
        call(rng)
    assert str(info.value).startswith(start)
