"""Batch normalisation (train and eval, running statistics) and inverted dropout."""

import numpy as np
import pytest
import reference as ref
from numeric import assert_gradients_match

import nnsim.functional as F


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 6), (2, 1, 1, 3)])
def test_train_mode_normalises_each_channel(rng, shape):
    x = rng.standard_normal(shape) * 4 + 7
    c = shape[1]
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    y, cache = F.batch_norm(x, gamma, beta, None, None, train=True)
    ry, mean, var = ref.batch_norm_train(x, gamma, beta)
    np.testing.assert_allclose(y, ry, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache.mean, mean, rtol=1e-13)
    np.testing.assert_allclose(cache.var, var, rtol=1e-12)
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    x_hat = cache.x_hat
    np.testing.assert_allclose(x_hat.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(x_hat.std(axis=axes), np.sqrt(var / (var + 1e-5)), rtol=1e-12)


def test_running_statistics_follow_pytorchs_update(rng):
    x = rng.standard_normal((10, 3)) * 2 + 1
    running_mean, running_var = np.zeros(3), np.ones(3)
    F.batch_norm(x, np.ones(3), np.zeros(3), running_mean, running_var, momentum=0.1)
    np.testing.assert_allclose(running_mean, 0.1 * x.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-13)


def test_eval_mode_uses_running_statistics_and_changes_nothing(rng):
    x = rng.standard_normal((6, 2, 3, 3))
    running_mean, running_var = np.array([0.5, -1.0]), np.array([4.0, 0.25])
    before = running_mean.copy(), running_var.copy()
    gamma, beta = np.array([2.0, 1.0]), np.array([0.0, 3.0])
    y, _ = F.batch_norm(x, gamma, beta, running_mean, running_var, train=False)
    expected = (x - running_mean[None, :, None, None]) / np.sqrt(
        running_var[None, :, None, None] + 1e-5
    ) * gamma[None, :, None, None] + beta[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-13)
    np.testing.assert_array_equal(running_mean, before[0])
    np.testing.assert_array_equal(running_var, before[1])


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 3, 2)])
def test_backward_matches_finite_differences(rng, shape, train):
    x = rng.standard_normal(shape)
    c = shape[1]
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)

    def forward():
        return F.batch_norm(x, gamma, beta, rm.copy(), rv.copy(), train=train)[0]

    y, cache = F.batch_norm(x, gamma, beta, rm.copy(), rv.copy(), train=train)
    dy = rng.standard_normal(shape)
    dx, dgamma, dbeta = F.batch_norm_backward(dy, cache)
    assert_gradients_match(
        forward, [dx, dgamma, dbeta], [x, gamma, beta], dy, ["x", "gamma", "beta"]
    )


def test_float32(rng):
    x = rng.standard_normal((16, 3)).astype(np.float32)
    rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
    y, cache = F.batch_norm(x, np.ones(3), np.zeros(3), rm, rv)
    assert y.dtype == np.float32 and rm.dtype == np.float32
    assert all(g.dtype == np.float32 for g in F.batch_norm_backward(np.ones_like(y), cache))


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda: F.batch_norm(np.zeros((4, 3)), np.ones(2), np.zeros(3), None, None),
            "gamma must have one entry per feature; x (4, 3), gamma (2,)",
        ),
        (
            lambda: F.batch_norm(np.zeros((4, 3, 2)), np.ones(3), np.zeros(3), None, None),
            "x must be 2-D or 4-D",
        ),
        (
            lambda: F.batch_norm(np.zeros((1, 3)), np.ones(3), np.zeros(3), None, None),
            "training needs more than one value per channel",
        ),
        (
            lambda: F.batch_norm(
                np.zeros((4, 3)), np.ones(3), np.zeros(3), None, None, train=False
            ),
            "evaluation mode needs running_mean and running_var",
        ),
        (
            lambda: F.batch_norm(
                np.zeros((4, 3)), np.ones(3), np.zeros(3), np.zeros(2), np.ones(3)
            ),
            "running_mean must be a writable contiguous float64 array of shape (3,)",
        ),
    ],
)
def test_batch_norm_rejects_bad_arguments(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


# ---------------------------------------------------------------- dropout


def test_dropout_is_inverted_and_unbiased(rng):
    x = np.ones((200, 500))
    y, mask = F.dropout(x, 0.3, rng)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    np.testing.assert_array_equal(y, x * mask)


def test_dropout_is_the_identity_at_test_time(rng):
    x = rng.standard_normal((4, 5))
    y, mask = F.dropout(x, 0.5, rng, train=False)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(mask, np.ones_like(x))


def test_dropout_backward_uses_the_same_mask(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y, mask = F.dropout(x, 0.5, rng)
    dx = F.dropout_backward(np.ones_like(x), mask)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx, mask)


def test_dropout_is_reproducible_from_the_seed():
    a = F.dropout(np.ones(50), 0.5, np.random.default_rng(7))[0]
    b = F.dropout(np.ones(50), 0.5, np.random.default_rng(7))[0]
    np.testing.assert_array_equal(a, b)


def test_dropout_edge_probabilities(rng):
    np.testing.assert_array_equal(F.dropout(np.ones(4), 1.0, rng)[0], np.zeros(4))
    np.testing.assert_array_equal(F.dropout(np.ones(4), 0.0, rng)[0], np.ones(4))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 1.5"):
        F.dropout(np.ones(4), 1.5, rng)
