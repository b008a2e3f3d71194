"""Random valid and hostile calls to every public function of nnsim.functional, held to the
array API's error contract (tests/fuzzing.py says which; NNSIM_FUZZ_EXAMPLES sets the budget)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from fuzzing import Arg, Case, dims, floats, fuzz, mutate_array
from hypothesis import strategies as st

import nnsim.functional as F


def elementwise(name: str, alpha: bool = False) -> Callable:
    def make(draw):
        x = floats(
            draw, tuple(dims(draw) for _ in range(draw(st.integers(0, 3)))), low=-30, high=30
        )
        args = [Arg("x", x, "float")]
        if alpha:
            args.append(Arg("alpha", draw(st.floats(-2, 2)), "real"))
        return Case(name, getattr(F, name), args, "x", [x.shape])

    return make


def activation_backward(draw):
    name = draw(st.sampled_from(F.ACTIVATIONS))
    shape = tuple(dims(draw) for _ in range(draw(st.integers(1, 3))))
    x = floats(draw, shape)
    dtype = draw(st.sampled_from([x.dtype, np.float32, np.float64]))
    args = [Arg("name", name, "choice"), Arg("dy", floats(draw, shape, dtype), "float")]
    args += [Arg("x", x, "float"), Arg("y", floats(draw, shape, dtype), "float")]
    if name in ("leaky_relu", "elu"):
        args.append(Arg("alpha", draw(st.floats(0, 2)), "real", keyword=True))
    return Case("activation_backward", F.activation_backward, args, "x", [shape])


def along_axis(name: str, backward: bool) -> Callable:
    def make(draw):
        shape = tuple(dims(draw) for _ in range(draw(st.integers(1, 3))))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        y = floats(draw, shape)
        args = [Arg("x", y, "float")]
        if backward:
            args = [Arg("dy", floats(draw, shape), "float"), Arg("y", y, "float")]
        args.append(Arg("axis", axis, "int"))
        return Case(name, getattr(F, name), args, args[-2].name, [shape])

    return make


def maxout(backward: bool) -> Callable:
    def make(draw):
        n, d, pieces = dims(draw), dims(draw), dims(draw)
        x = floats(draw, (n, d * pieces))
        if not backward:
            args = [Arg("x", x, "float"), Arg("pieces", pieces, "int")]
            return Case("maxout", F.maxout, args, "x", [(n, d)])
        args = [Arg("dy", floats(draw, (n, d)), "float"), Arg("x", x, "float")]
        return Case(
            "maxout_backward",
            F.maxout_backward,
            [*args, Arg("pieces", pieces, "int")],
            "x",
            [x.shape],
        )

    return make


def linear(draw):
    n, d, h = dims(draw, 0), dims(draw), dims(draw)
    x = floats(draw, (n, d))
    b = draw(st.sampled_from([None, floats(draw, (h,))]))
    args = [Arg("x", x, "float"), Arg("W", floats(draw, (h, d)), "float"), Arg("b", b, "float")]
    return Case("linear", F.linear, args, "x", [(n, h)])


def linear_backward(draw):
    n, d, h = dims(draw, 0), dims(draw), dims(draw)
    x = floats(draw, (n, d))
    args = [Arg("dy", floats(draw, (n, h)), "float"), Arg("x", x, "float")]
    args += [Arg("W", floats(draw, (h, d)), "float"), Arg("input_grad", True, "flag", True)]
    return Case("linear_backward", F.linear_backward, args, "x", [(n, d), (h, d), (h,)])


def conv_geometry(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    c, f = groups * dims(draw, 1, 2), groups * dims(draw, 1, 2)
    kh, kw, s, p, d = (
        dims(draw, 1, 3),
        dims(draw, 1, 3),
        dims(draw, 1, 2),
        dims(draw, 0, 1),
        dims(draw, 1, 2),
    )
    h = max(1, d * (kh - 1) + 1 - 2 * p) + dims(draw, 0, 3)
    w = max(1, d * (kw - 1) + 1 - 2 * p) + dims(draw, 0, 3)
    x_shape, w_shape = (dims(draw), c, h, w), (f, c // groups, kh, kw)
    return x_shape, w_shape, s, p, d, groups


def conv2d(backward: bool) -> Callable:
    def make(draw):
        x_shape, w_shape, s, p, d, groups = conv_geometry(draw)
        x, W = floats(draw, x_shape), floats(draw, w_shape)
        out = F.conv2d_output_shape(x_shape, w_shape, s, p, d)
        geometry = [Arg("stride", s, "pair"), Arg("padding", p, "pair")]
        geometry += [Arg("dilation", d, "pair"), Arg("groups", groups, "int")]
        if backward:
            args = [
                Arg("dy", floats(draw, out), "float"),
                Arg("x", x, "float"),
                Arg("W", W, "float"),
            ]
            return Case(
                "conv2d_backward",
                F.conv2d_backward,
                args + geometry,
                "x",
                [x_shape, w_shape, (w_shape[0],)],
            )
        b = draw(st.sampled_from([None, floats(draw, (w_shape[0],))]))
        args = [Arg("x", x, "float"), Arg("W", W, "float"), Arg("b", b, "float")]
        return Case("conv2d", F.conv2d, args + geometry, "x", [out])

    return make


def conv2d_output_shape(draw):
    x_shape, w_shape, s, p, d, _ = conv_geometry(draw)
    args = [Arg("x_shape", x_shape, "shape"), Arg("w_shape", w_shape, "shape")]
    args += [Arg("stride", s, "pair"), Arg("padding", p, "pair"), Arg("dilation", d, "pair")]
    return Case("conv2d_output_shape", F.conv2d_output_shape, args)


def pool_geometry(draw):
    k = dims(draw, 1, 3)
    stride = draw(st.sampled_from([None, 1, 2, 3]))
    x_shape = (dims(draw), dims(draw), k + dims(draw, 0, 3), k + dims(draw, 0, 3))
    args = [Arg("kernel_size", k, "pair"), Arg("stride", stride, "pair")]
    args += [
        Arg("padding", dims(draw, 0, k // 2), "pair"),
        Arg("ceil_mode", draw(st.booleans()), "flag"),
    ]
    return x_shape, args


def pool(name: str) -> Callable:
    def make(draw):
        x_shape, geometry = pool_geometry(draw)
        values = [a.value for a in geometry]
        out = F.pool_output_shape(x_shape, *values)
        x = floats(draw, x_shape)
        if name == "max_pool2d":
            return Case(name, F.max_pool2d, [Arg("x", x, "float"), *geometry], "x", [out])
        if name == "avg_pool2d":
            extra = Arg("count_include_pad", draw(st.booleans()), "flag")
            return Case(name, F.avg_pool2d, [Arg("x", x, "float"), *geometry, extra], "x", [out])
        if name == "max_pool2d_backward":
            _, argmax = F.max_pool2d(x, *values)
            args = [Arg("dy", floats(draw, out), "float"), Arg("argmax", argmax, "index")]
            return Case(
                name,
                F.max_pool2d_backward,
                [*args, Arg("x_shape", x_shape, "shape")],
                "dy",
                [x_shape],
            )
        if name == "avg_pool2d_backward":
            args = [Arg("dy", floats(draw, out), "float"), Arg("x_shape", x_shape, "shape")]
            return Case(name, F.avg_pool2d_backward, args + geometry, "dy", [x_shape])
        return Case(name, F.pool_output_shape, [Arg("x_shape", x_shape, "shape"), *geometry])

    return make


def pool_output_size(draw):
    k = dims(draw, 1, 3)
    args = [Arg("size", k + dims(draw, 0, 3), "int"), Arg("k_", k, "int")]
    args += [Arg("stride", dims(draw, 1, 3), "int"), Arg("pad", dims(draw, 0, k // 2), "int")]
    args.append(Arg("ceil_mode", draw(st.booleans()), "flag"))
    return Case("pool_output_size", F.pool_output_size, args)


def pointwise_loss(name: str) -> Callable:
    def make(draw):
        shape = tuple(dims(draw) for _ in range(draw(st.integers(1, 3))))
        low = 0.0 if name == "binary_cross_entropy" else -3.0
        a = floats(draw, shape, low=low, high=1.0)
        args = [
            Arg("p" if low == 0.0 else "pred", a, "float"),
            Arg("target", floats(draw, shape, low=0.0, high=1.0), "float"),
        ]
        return Case(name, getattr(F, name), args, args[0].name, [shape])

    return make


def classification_loss(name: str) -> Callable:
    def make(draw):
        n, c = dims(draw), dims(draw)
        x = floats(draw, (n, c))
        labels = np.random.default_rng(n).integers(0, c, size=n)
        first = "logits" if name == "cross_entropy" else "scores"
        args = [Arg(first, x, "float"), Arg("labels", labels, "index")]
        if name == "cross_entropy":
            args.append(
                Arg("weight", draw(st.sampled_from([None, floats(draw, (c,), low=0.1)])), "float")
            )
        else:
            args.append(Arg("margin", draw(st.floats(0, 2)), "real"))
        return Case(name, getattr(F, name), args, first, [(n, c)])

    return make


def batch_norm(draw):
    c = dims(draw)
    shape = draw(st.sampled_from([(dims(draw, 2), c), (dims(draw), c, dims(draw), dims(draw) + 1)]))
    x = floats(draw, shape)
    running = [np.zeros(c, x.dtype), np.ones(c, x.dtype)]
    args = [Arg("x", x, "float"), Arg("gamma", floats(draw, (c,)), "float")]
    args += [Arg("beta", floats(draw, (c,)), "float"), Arg("running_mean", running[0], "inplace")]
    args += [Arg("running_var", running[1], "inplace"), Arg("train", draw(st.booleans()), "flag")]
    args += [
        Arg("momentum", draw(st.floats(0, 1)), "real"),
        Arg("eps", draw(st.floats(1e-8, 1e-2)), "real"),
    ]
    return Case(
        "batch_norm", F.batch_norm, args, "x", [shape], in_place=("running_mean", "running_var")
    )


def batch_norm_backward(draw):
    c = dims(draw)
    x = floats(draw, (dims(draw, 2), c))
    y, cache = F.batch_norm(x, np.ones(c, x.dtype), np.zeros(c, x.dtype), None, None)
    args = [Arg("dy", floats(draw, x.shape), "float"), Arg("cache", cache, "object")]
    return Case(
        "batch_norm_backward",
        F.batch_norm_backward,
        args,
        "x",
        [x.shape, (c,), (c,)],
        dtype=x.dtype,
    )


def dropout(draw):
    x = floats(draw, tuple(dims(draw) for _ in range(draw(st.integers(1, 3)))))
    args = [Arg("x", x, "float"), Arg("p", draw(st.floats(0, 1)), "real")]
    args += [
        Arg("rng", np.random.default_rng(0), "object"),
        Arg("train", draw(st.booleans()), "flag"),
    ]
    return Case("dropout", F.dropout, args, "x", [x.shape, x.shape])


def dropout_backward(draw):
    shape = tuple(dims(draw) for _ in range(draw(st.integers(1, 3))))
    args = [Arg("dy", floats(draw, shape), "float"), Arg("mask", floats(draw, shape), "float")]
    return Case("dropout_backward", F.dropout_backward, args, "dy", [shape])


def embedding(draw):
    v, e = dims(draw), dims(draw)
    indices = np.random.default_rng(v).integers(0, v, size=(dims(draw), dims(draw)))
    args = [Arg("indices", indices, "index"), Arg("table", floats(draw, (v, e)), "float")]
    return Case("embedding", F.embedding, args, "table", [(*indices.shape, e)])


def embedding_backward(draw):
    v, e = dims(draw), dims(draw)
    indices = np.random.default_rng(v).integers(0, v, size=(dims(draw), dims(draw)))
    args = [Arg("dy", floats(draw, (*indices.shape, e)), "float"), Arg("indices", indices, "index")]
    return Case(
        "embedding_backward",
        F.embedding_backward,
        [*args, Arg("num_embeddings", v, "int")],
        "dy",
        [(v, e)],
    )


def penalty(name: str) -> Callable:
    def make(draw):
        w = floats(draw, tuple(dims(draw) for _ in range(draw(st.integers(1, 3)))))
        args = [Arg("w", w, "float"), Arg("strength", draw(st.floats(0, 1)), "real")]
        return Case(name, getattr(F, name), args, "w", [w.shape])

    return make


def clip(name: str) -> Callable:
    def make(draw):
        grads = {f"g{i}": floats(draw, (dims(draw), dims(draw))) for i in range(dims(draw, 0, 3))}
        grads = {key: np.ascontiguousarray(g) for key, g in grads.items()}
        if draw(st.booleans()) and grads:
            key = draw(st.sampled_from(sorted(grads)))
            grads[key], _ = mutate_array(draw, grads[key], "float")
            damaged = True
        else:
            damaged = False
        args = [Arg("grads", grads, "inplace")]
        if name != "global_norm":
            args.append(Arg("limit", draw(st.floats(0.01, 5)), "real"))
        return Case(
            name,
            getattr(F, name),
            args,
            in_place=("grads",),
            damaged={"grads": "type"} if damaged else {},
        )

    return make


GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def recurrent_arrays(draw, kind: str) -> list[Arg]:
    n, t, i, h = dims(draw), dims(draw, 1, 3), dims(draw), dims(draw)
    g, dtype = GATES[kind], draw(st.sampled_from([np.float32, np.float64]))
    args = [
        Arg("x", floats(draw, (n, t, i), dtype), "float"),
        Arg("h0", floats(draw, (n, h)), "float"),
    ]
    if kind == "lstm":
        args.append(Arg("c0", floats(draw, (n, h)), "float"))
    args += [
        Arg("W_ih", floats(draw, (g * h, i)), "float"),
        Arg("W_hh", floats(draw, (g * h, h)), "float"),
    ]
    for name in ("b_ih", "b_hh"):
        args.append(Arg(name, draw(st.sampled_from([None, floats(draw, (g * h,))])), "float"))
    if kind == "rnn":
        args.append(Arg("nonlinearity", draw(st.sampled_from(["tanh", "relu"])), "choice"))
    return args


def recurrent(kind: str) -> Callable:
    def make(draw):
        args = recurrent_arrays(draw, kind)
        n, t, _ = args[0].value.shape
        h = args[1].value.shape[1]
        shapes = [(n, t, h)] * (2 if kind == "lstm" else 1)
        return Case(kind, getattr(F, kind), args, "x", shapes)

    return make


def recurrent_backward(kind: str) -> Callable:
    def make(draw):
        forward = recurrent_arrays(draw, kind)
        *_, cache = getattr(F, kind)(*[a.value for a in forward])
        x, h0, w_ih, w_hh = cache.x, cache.h0, cache.W_ih, cache.W_hh
        args = [
            Arg("dh_seq", floats(draw, cache.h_seq.shape), "float"),
            Arg("cache", cache, "object"),
        ]
        shapes = [x.shape, h0.shape] + ([h0.shape] if kind == "lstm" else [])
        if kind == "lstm":
            args.append(
                Arg("dc_last", draw(st.sampled_from([None, floats(draw, h0.shape)])), "float")
            )
        shapes += [w_ih.shape, w_hh.shape, (w_ih.shape[0],), (w_ih.shape[0],)]
        return Case(
            f"{kind}_backward", getattr(F, f"{kind}_backward"), args, dtype=x.dtype, shapes=shapes
        )

    return make


def grad_norms_through_time(draw):
    kind = draw(st.sampled_from(sorted(GATES)))
    forward = recurrent_arrays(draw, kind)
    *_, cache = getattr(F, kind)(*[a.value for a in forward])
    getattr(F, f"{kind}_backward")(np.ones_like(cache.h_seq), cache)
    state = "c" if kind == "lstm" and draw(st.booleans()) else "h"
    args = [Arg("cache", cache, "object"), Arg("state", state, "choice")]
    return Case(
        "grad_norms_through_time",
        F.grad_norms_through_time,
        args,
        dtype=cache.x.dtype,
        shapes=[(cache.steps,)],
    )


def recurrent_stepper(draw):
    kind = draw(st.sampled_from(sorted(GATES)))
    args = recurrent_arrays(draw, kind)
    by_name = {a.name: a for a in args}
    order = ["x", "h0", "W_ih", "W_hh", "b_ih", "b_hh"]
    ordered = [Arg("kind", kind, "choice")] + [by_name[n] for n in order]
    ordered += [
        Arg(n, by_name[n].value, by_name[n].kind, True)
        for n in ("c0", "nonlinearity")
        if n in by_name
    ]
    return Case((kind, "RecurrentStepper"), F.RecurrentStepper, ordered, "x")


CASES: dict[str, Callable] = {
    **{name: elementwise(name) for name in ("sigmoid", "tanh", "relu", "softsign", "softplus")},
    "leaky_relu": elementwise("leaky_relu", alpha=True),
    "elu": elementwise("elu", alpha=True),
    "activation_backward": activation_backward,
    **{name: along_axis(name, False) for name in ("softmax", "log_softmax")},
    **{
        f"{name}_backward": along_axis(f"{name}_backward", True)
        for name in ("softmax", "log_softmax")
    },
    "maxout": maxout(False),
    "maxout_backward": maxout(True),
    "linear": linear,
    "linear_backward": linear_backward,
    "conv2d": conv2d(False),
    "conv2d_backward": conv2d(True),
    "conv2d_output_shape": conv2d_output_shape,
    **{name: pool(name) for name in ("max_pool2d", "avg_pool2d", "max_pool2d_backward")},
    **{name: pool(name) for name in ("avg_pool2d_backward", "pool_output_shape")},
    "pool_output_size": pool_output_size,
    **{name: pointwise_loss(name) for name in ("mse_loss", "mae_loss", "binary_cross_entropy")},
    **{name: classification_loss(name) for name in ("cross_entropy", "hinge_loss")},
    "batch_norm": batch_norm,
    "batch_norm_backward": batch_norm_backward,
    "dropout": dropout,
    "dropout_backward": dropout_backward,
    "embedding": embedding,
    "embedding_backward": embedding_backward,
    **{name: penalty(name) for name in ("l1_penalty", "l2_penalty")},
    **{name: clip(name) for name in ("clip_grad_norm", "clip_grad_value", "global_norm")},
    **{kind: recurrent(kind) for kind in GATES},
    **{f"{kind}_backward": recurrent_backward(kind) for kind in GATES},
    "grad_norms_through_time": grad_norms_through_time,
    "RecurrentStepper": recurrent_stepper,
}


def test_every_public_function_is_fuzzed():
    public = {name for name in F.__all__ if callable(getattr(F, name))} - {
        "BatchNormCache",
        "RecurrentCache",
    }
    assert public <= set(CASES), sorted(public - set(CASES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_calls_keep_the_contract(name):
    fuzz(CASES[name])()
