"""Element-wise activations, softmax, log_softmax and maxout."""

import numpy as np
import pytest
import reference as ref
from numeric import assert_gradients_match

import nnsim.functional as F

PARAMS = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.7}}


def _input(rng, shape=(3, 7)):
    x = rng.standard_normal(shape) * 3
    x.flat[:4] = [0.5, -0.5, 25.0, -25.0]  # both softplus regimes, and far into saturation
    return x


@pytest.mark.parametrize("name", F.ACTIVATIONS)
def test_forward_and_derivative_match_the_textbook_formulas(rng, name):
    x = _input(rng)
    params = PARAMS.get(name, {})
    y = getattr(F, name)(x, **params)
    np.testing.assert_allclose(y, ref.activation(name, x, **params), rtol=1e-14, atol=1e-300)
    dy = rng.standard_normal(x.shape)
    dx = F.activation_backward(name, dy, x, y, **params)
    np.testing.assert_allclose(dx, dy * ref.activation_derivative(name, x, **params), rtol=1e-13)


@pytest.mark.parametrize("name", F.ACTIVATIONS)
def test_backward_matches_finite_differences(rng, name):
    x = rng.standard_normal((2, 5)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kinks of relu-like functions
    params = PARAMS.get(name, {})
    f = getattr(F, name)
    dy = rng.standard_normal(x.shape)
    dx = F.activation_backward(name, dy, x, f(x, **params), **params)
    assert_gradients_match(lambda: f(x, **params), [dx], [x], dy, ["x"])


@pytest.mark.parametrize("name", F.ACTIVATIONS)
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4), (1, 2, 3, 3)])
def test_any_shape_and_dtype_round_trip(rng, name, shape):
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(shape).astype(dtype)
        y = getattr(F, name)(x)
        assert y.shape == x.shape and y.dtype == dtype
        assert F.activation_backward(name, np.ones_like(x), x, y).dtype == dtype
        np.testing.assert_allclose(y, ref.activation(name, x), rtol=2e-6, atol=1e-7)


def test_derivative_peaks_of_sigmoid_and_tanh():
    x = np.linspace(-6, 6, 1201)
    ones = np.ones_like(x)
    d_sigmoid = F.activation_backward("sigmoid", ones, x, F.sigmoid(x))
    d_tanh = F.activation_backward("tanh", ones, x, F.tanh(x))
    assert d_sigmoid.max() == 0.25 and x[d_sigmoid.argmax()] == 0.0
    assert d_tanh.max() == 1.0 and x[d_tanh.argmax()] == 0.0


def test_sigmoid_is_finite_for_extreme_inputs():
    y = F.sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 1.0])


def test_relu_gradient_is_exactly_zero_for_negative_input():
    x = np.array([-2.0, -1e-12, 0.0, 3.0])
    dx = F.activation_backward("relu", np.ones(4), x, F.relu(x))
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0, 1.0])


def test_activation_backward_rejects_unknown_names_and_params(rng):
    x = rng.standard_normal(3)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        F.activation_backward("swish", x, x, x)
    with pytest.raises(ValueError, match="tanh takes no parameter alpha"):
        F.activation_backward("tanh", x, x, x, alpha=0.1)
    with pytest.raises(ValueError, match=r"dy must have the shape of x; x \(3,\), dy \(4,\)"):
        F.activation_backward("relu", np.ones(4), x, x)


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_reference(rng, axis):
    x = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(F.softmax(x, axis), ref.softmax(x, axis), rtol=1e-14)
    np.testing.assert_allclose(F.log_softmax(x, axis), ref.log_softmax(x, axis), rtol=1e-13)


def test_softmax_of_huge_scores_is_finite_and_sums_to_one():
    p = F.softmax(np.array([1000.0, 1001.0]))
    assert np.all(np.isfinite(p))
    assert p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p, [1 / (1 + np.e), np.e / (1 + np.e)])
    assert np.all(np.isfinite(F.log_softmax(np.array([1000.0, -1000.0]))))


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_backwards_match_finite_differences(rng, axis):
    x = rng.standard_normal((3, 4))
    dy = rng.standard_normal(x.shape)
    assert_gradients_match(
        lambda: F.softmax(x, axis),
        [F.softmax_backward(dy, F.softmax(x, axis), axis)],
        [x],
        dy,
        ["x"],
    )
    assert_gradients_match(
        lambda: F.log_softmax(x, axis),
        [F.log_softmax_backward(dy, F.log_softmax(x, axis), axis)],
        [x],
        dy,
        ["x"],
    )


def test_softmax_rejects_a_bad_axis():
    with pytest.raises(ValueError, match=r"axis 2 is out of range for x \(2, 3\)"):
        F.softmax(np.zeros((2, 3)), axis=2)


# ---------------------------------------------------------------- maxout


def test_maxout_matches_reference_and_finite_differences(rng):
    x = rng.standard_normal((4, 12))
    y = F.maxout(x, 3)
    np.testing.assert_array_equal(y, ref.maxout(x, 3))
    dy = rng.standard_normal(y.shape)
    dx = F.maxout_backward(dy, x, 3)
    np.testing.assert_array_equal(dx, ref.maxout_backward(dy, x, 3))
    assert_gradients_match(lambda: F.maxout(x, 3), [dx], [x], dy, ["x"])


def test_maxout_takes_consecutive_groups_and_routes_ties_to_the_first():
    x = np.array([[1.0, 5.0, 5.0, -1.0, -2.0, -3.0]])
    np.testing.assert_array_equal(F.maxout(x, 3), [[5.0, -1.0]])
    np.testing.assert_array_equal(
        F.maxout_backward(np.array([[1.0, 2.0]]), x, 3), [[0.0, 1.0, 0.0, 2.0, 0.0, 0.0]]
    )


def test_maxout_rejects_features_that_do_not_split():
    with pytest.raises(ValueError, match=r"x's 7 features do not split into groups of pieces=3"):
        F.maxout(np.zeros((2, 7)), 3)
    with pytest.raises(ValueError, match=r"dy must be \(2, 2\)"):
        F.maxout_backward(np.zeros((2, 3)), np.zeros((2, 6)), 3)


def test_float32_tanh_is_within_two_ulp_of_the_exact_value_everywhere():
    # the float32 kernels compute tanh from exp (libm's tanhf was 8x slower); this bounds it
    grid = np.linspace(-50, 50, 400_001).astype(np.float32)
    tiny = np.float32([1e-30, -1e-30, 1e-8, 0.4999, 0.5, 0.5001, 44, 89, 1e30])
    x = np.concatenate([grid, tiny, -tiny])
    y = F.tanh(x)
    exact = np.tanh(x.astype(np.float64))
    relative = np.abs(y - exact) / np.abs(exact).clip(min=1e-38)
    assert relative.max() < 2 * np.finfo(np.float32).eps
    special = F.tanh(np.float32([0.0, -0.0, np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(special[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(special[1]) and np.isnan(special[4])
