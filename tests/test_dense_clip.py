"""linear / linear_backward and gradient clipping."""

import numpy as np
import pytest
import reference as ref
from numeric import assert_gradients_match

import nnsim.functional as F


@pytest.mark.parametrize("n, d, h", [(1, 1, 1), (4, 3, 2), (7, 10, 5)])
def test_linear_matches_reference_and_finite_differences(rng, n, d, h):
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((h, d)), rng.standard_normal(h)
    y = F.linear(x, W, b)
    np.testing.assert_allclose(y, ref.linear(x, W, b), rtol=1e-13)
    dy = rng.standard_normal(y.shape)
    grads = F.linear_backward(dy, x, W)
    for got, want in zip(grads, ref.linear_backward(dy, x, W), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    assert_gradients_match(lambda: F.linear(x, W, b), grads, [x, W, b], dy, ["x", "W", "b"])


def test_linear_without_bias_and_in_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    W = rng.standard_normal((2, 4))  # float64 weights follow x's dtype
    y = F.linear(x, W, None)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x @ W.T.astype(np.float32), rtol=1e-6)


def test_a_skipped_input_gradient_changes_nothing_else(rng):
    x, W, dy = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal((5, 3))
    dx, dW, db = F.linear_backward(dy, x, W)
    skipped, dW2, db2 = F.linear_backward(dy, x, W, input_grad=False)
    assert skipped is None and dx.shape == x.shape
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_array_equal(db2, db)


def test_a_models_first_dense_layer_passes_a_gradient_back_only_when_asked(rng):
    from nnsim.layers import Dense, ReLU
    from nnsim.model import Sequential

    x = rng.standard_normal((6, 3))
    for asked in (False, True):
        model = Sequential([Dense(4), ReLU(), Dense(2)], input_shape=(3,), input_gradients=asked)
        model.backward(np.ones_like(model.forward(x)))
        first = model.layers[0]
        assert (first.input_grad is not None) == asked
        assert first.grads["W"].shape == (4, 3)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda: F.linear(np.zeros((2, 3)), np.zeros((4, 5)), None),
            "linear: x has 3 features but W expects 5; x (2, 3), W (4, 5)",
        ),
        (
            lambda: F.linear(np.zeros((2, 3)), np.zeros((4, 3)), np.zeros(3)),
            "b must have one entry per output unit of W; W (4, 3), b (3,)",
        ),
        (lambda: F.linear(np.zeros(3), np.zeros((4, 3)), None), "x must be 2-D, got shape (3,)"),
        (
            lambda: F.linear_backward(np.zeros((2, 5)), np.zeros((2, 3)), np.zeros((4, 3))),
            "dy must be (N, H) = (2, 4)",
        ),
    ],
)
def test_linear_rejects_bad_shapes(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_old_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0, 4.0]])}
    norm = F.clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    assert F.global_norm(grads) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(grads["a"], [3.0 / (5.0 + 1e-6), 0.0])


def test_clip_grad_norm_leaves_small_gradients_alone():
    grads = {"a": np.array([0.3, 0.4])}
    assert F.clip_grad_norm(grads, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads["a"], [0.3, 0.4])


def test_clip_grad_norm_keeps_a_nonfinite_gradient_visible():
    grads = {"a": np.array([np.inf, 1.0])}
    assert F.clip_grad_norm(grads, 1.0) == np.inf
    assert grads["a"][0] == np.inf


def test_clip_grad_value():
    grads = {"a": np.array([-3.0, 0.5, 2.0, np.nan], dtype=np.float32)}
    F.clip_grad_value(grads, 1.0)
    np.testing.assert_array_equal(grads["a"][:3], [-1.0, 0.5, 1.0])
    assert np.isnan(grads["a"][3])


def test_clipping_rejects_views_it_cannot_update_in_place():
    with pytest.raises(ValueError, match=r"grads\['w'\] must be a writable C-contiguous"):
        F.clip_grad_norm({"w": np.zeros((4, 4))[:, ::2]}, 1.0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        F.clip_grad_norm({"w": np.zeros(2)}, 0.0)
