"""Optimisers' defining behaviour and the initialisers' statistics (no PyTorch needed)."""

import math

import numpy as np
import pytest

from nnsim import init, optim
from nnsim.kernels import optim as optim_kernels


def test_adam_first_step_is_full_sized_thanks_to_bias_correction():
    # m_hat = g, v_hat = g^2, so the first step is lr * sign(g) whatever the gradient's scale
    for scale in (1e-6, 1.0, 1e6):
        p = {"w": np.zeros(3)}
        optim.Adam(0.1, eps=1e-12).step(p, {"w": np.array([1.0, -2.0, 3.0]) * scale})
        np.testing.assert_allclose(p["w"], [-0.1, 0.1, -0.1], rtol=1e-6)


def test_adagrad_effective_step_shrinks_monotonically():
    p = {"w": np.zeros(1)}
    opt = optim.Adagrad(1.0)
    steps = []
    for _ in range(10):
        before = p["w"].copy()
        opt.step(p, {"w": np.ones(1)})
        steps.append(abs(p["w"][0] - before[0]))
    assert all(a > b for a, b in zip(steps, steps[1:], strict=False))
    np.testing.assert_allclose(steps, [1 / math.sqrt(k) for k in range(1, 11)], rtol=1e-9)


def test_sgd_momentum_buffer_accumulates():
    p = {"w": np.zeros(1)}
    opt = optim.SGD(1.0, momentum=0.5)
    for _ in range(3):
        opt.step(p, {"w": np.ones(1)})
    # buffers 1, 1.5, 1.75 -> position -(1 + 1.5 + 1.75)
    assert p["w"][0] == pytest.approx(-4.25)
    np.testing.assert_allclose(opt.state["w"]["momentum_buffer"], [1.75])


def test_state_is_kept_per_key_and_params_update_in_place():
    w, b = np.ones((2, 2)), np.ones(2)
    params = {"w": w, "b": b}
    opt = optim.RMSprop(0.1)
    opt.step(params, {"w": np.ones((2, 2)), "b": np.zeros(2)})
    assert params["w"] is w and not np.all(w == 1.0) and np.all(b == 1.0)
    assert set(opt.state) == {"w", "b"}


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda: optim.SGD(0.1).step({"w": np.zeros(2)}, {"v": np.zeros(2)}),
            "params and grads must have the same keys; "
            "no gradient for ['w'], no parameter for ['v']",
        ),
        (
            lambda: optim.Adam(0.1).step({"w": np.zeros(2)}, {"w": np.zeros(3)}),
            "grads['w'] must have the shape of params['w']; params['w'] (2,), grads['w'] (3,)",
        ),
        (
            lambda: optim.SGD(0.1).step({"w": np.zeros((2, 4))[:, ::2]}, {"w": np.zeros((2, 2))}),
            "params['w'] must be a writable C-contiguous float array",
        ),
        (lambda: optim.SGD(-1.0), "lr must be a finite number >= 0"),
        (lambda: optim.SGD(0.1, nesterov=True), "nesterov needs momentum > 0"),
        (lambda: optim.Adam(0.1, betas=(1.0, 0.9)), "betas must be in [0, 1)"),
    ],
)
def test_bad_arguments_are_rejected(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
@pytest.mark.parametrize("size", [1, 3])
def test_a_parameter_that_changes_size_is_an_error(name, size):
    # smaller or larger: the state is read by the parameter's size (Adam's step counter is not)
    opt = optim.OPTIMIZERS[name](0.1)
    opt.step({"w": np.zeros(2)}, {"w": np.ones(2)})
    kept = {slot: array.copy() for slot, array in opt.state["w"].items()}
    refusal = f"params\\['w'\\] has {size} values but the optimiser's state for it has 2"
    with pytest.raises(ValueError, match=refusal):
        opt.step({"w": np.zeros(size)}, {"w": np.ones(size)})
    assert all(np.array_equal(opt.state["w"][slot], array) for slot, array in kept.items())


@pytest.mark.parametrize(
    "shape, fans", [((30, 20), (20, 30)), ((8, 4, 3, 3), (36, 72)), ((12, 5, 1, 1), (5, 12))]
)
def test_fan_in_and_out_follow_torch(shape, fans):
    assert init.fan_in_and_out(shape) == fans


def test_initialisers_have_the_documented_spread():
    rng = np.random.default_rng(0)
    shape = (400, 600)
    fan_in, fan_out = 600, 400
    a = math.sqrt(6 / (fan_in + fan_out))
    w = init.xavier_uniform(shape, rng)
    assert np.abs(w).max() <= a and np.abs(w).max() > 0.99 * a
    assert init.xavier_normal(shape, rng).std() == pytest.approx(math.sqrt(2 / 1000), rel=0.01)
    assert np.abs(init.he_uniform(shape, rng)).max() <= math.sqrt(6 / fan_in)
    assert init.he_normal(shape, rng).std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.01)
    assert init.normal(shape, rng, std=0.5).std() == pytest.approx(0.5, rel=0.01)
    u = init.uniform(shape, rng, -2.0, 3.0)
    assert u.min() >= -2.0 and u.max() < 3.0 and u.mean() == pytest.approx(0.5, abs=0.02)
    assert not init.zeros(shape).any()


def test_initialisers_are_seeded_and_take_a_dtype():
    a = init.he_normal((3, 4), np.random.default_rng(5), dtype=np.float32)
    b = init.he_normal((3, 4), np.random.default_rng(5), dtype=np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_initialiser_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform((5,), np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        init.he_normal((2, 2), 42)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "update",
    [
        lambda p, g, s, measure: optim_kernels.sgd_update(
            p, g, s[0], 0.1, 0.9, 0.01, True, measure
        ),
        lambda p, g, s, measure: optim_kernels.adagrad_update(p, g, s[0], 0.1, 1e-10, 0.0, measure),
        lambda p, g, s, measure: optim_kernels.rmsprop_update(
            p, g, s[0], s[1], s[2], 0.01, 0.99, 1e-8, 0.5, True, 0.01, measure
        ),
        lambda p, g, s, measure: optim_kernels.adam_update(
            p, g, s[0], s[1], 0.01, 0.9, 0.999, 0.03, 1e-8, 0.01, measure
        ),
    ],
    ids=["sgd", "adagrad", "rmsprop", "adam"],
)
def test_an_update_kernel_returns_its_own_size_and_moves_the_same_bits_measured_or_not(
    update, dtype
):
    # the kernels carry no simulator array: they return (sum p^2, sum step^2), zeros unmeasured
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(1000).astype(dtype)
    measured, plain = p0.copy(), p0.copy()
    measured_state = [np.zeros_like(p0) for _ in range(3)]
    plain_state = [np.zeros_like(p0) for _ in range(3)]
    for _ in range(3):
        g = rng.standard_normal(p0.size).astype(dtype)
        before = measured.astype(np.float64)
        size, moved = update(measured, g, measured_state, True)
        assert update(plain, g, plain_state, False) == (0.0, 0.0)
        np.testing.assert_array_equal(measured, plain)  # the same update, bit for bit
        after = measured.astype(np.float64)
        assert size == pytest.approx(np.sum(after**2), rel=1e-12)
        assert moved == pytest.approx(np.sum((after - before) ** 2), rel=1e-12)


def test_a_refused_step_changes_no_parameter_and_no_state():
    from nnsim.optim import Adam

    params = {"a": np.ones(3), "b": np.ones(2)}
    opt = Adam(0.1)
    opt.step(params, {"a": np.ones(3), "b": np.ones(2)})
    before = {k: v.copy() for k, v in params.items()}
    state = {k: {s: v.copy() for s, v in slots.items()} for k, slots in opt.state.items()}
    with pytest.raises(ValueError, match=r"Adam.step: grads\['b'\] must have the shape"):
        opt.step(params, {"a": np.ones(3), "b": np.ones(5)})  # "a" comes first and is fine
    assert all(np.array_equal(params[k], before[k]) for k in params) and opt.steps == 1
    assert all(np.array_equal(opt.state[k][s], state[k][s]) for k in state for s in state[k])
