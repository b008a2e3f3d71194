"""NaN and inf pass through every function unchanged: never turned into silent zeros.

The simulator's detectors depend on this: a NaN must surface where it first appears.
"""

import numpy as np
import pytest

import nnsim.functional as F

NAN, INF = np.nan, np.inf


@pytest.mark.parametrize("name", F.ACTIVATIONS)
def test_activations_propagate_nan(name):
    x = np.array([NAN, 1.0, -1.0])
    y = getattr(F, name)(x)
    assert np.isnan(y[0]) and np.all(np.isfinite(y[1:]))
    dx = F.activation_backward(name, np.array([1.0, NAN, 1.0]), x, y)
    assert np.isnan(dx[1])


def test_monotone_activations_map_inf_to_their_limits():
    x = np.array([INF, -INF])
    np.testing.assert_array_equal(F.sigmoid(x), [1.0, 0.0])
    np.testing.assert_array_equal(F.tanh(x), [1.0, -1.0])
    np.testing.assert_array_equal(F.relu(x), [INF, 0.0])
    np.testing.assert_array_equal(F.softplus(x), [INF, 0.0])


def test_conv_and_linear_spread_nan_to_every_output_it_touches():
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = NAN
    y = F.conv2d(x, np.ones((1, 1, 3, 3)), None)
    assert np.isnan(y).all()  # the centre cell is inside every 3x3 window
    y = F.linear(np.array([[NAN, 0.0]]), np.ones((3, 2)), np.zeros(3))
    assert np.isnan(y).all()
    dx, dW, db = F.linear_backward(np.array([[INF, 0.0, 0.0]]), np.ones((1, 2)), np.ones((3, 2)))
    assert np.isinf(db[0]) and np.isinf(dW[0]).all()


def test_pooling_propagates_nan_and_inf():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = NAN
    x[0, 0, 3, 3] = INF
    y, argmax = F.max_pool2d(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and argmax[0, 0, 0, 0] == 0
    assert y[0, 0, 1, 1] == INF
    a = F.avg_pool2d(x, 2)
    assert np.isnan(a[0, 0, 0, 0]) and a[0, 0, 1, 1] == INF


def test_softmax_and_maxout_propagate_nan():
    assert np.isnan(F.softmax(np.array([1.0, NAN, 2.0]))).all()
    assert np.isnan(F.maxout(np.array([[1.0, NAN, 0.0, 2.0]]), 2)[0, 0])


@pytest.mark.parametrize(
    "loss",
    [
        lambda x: F.mse_loss(x, np.zeros(3)),
        lambda x: F.mae_loss(x, np.zeros(3)),
        lambda x: F.cross_entropy(x.reshape(1, 3), [0]),
        lambda x: F.hinge_loss(x.reshape(1, 3), [0]),
        lambda x: F.binary_cross_entropy(np.where(np.isnan(x), x, 0.5), np.ones(3)),
    ],
)
def test_losses_become_nan_with_a_nan_input(loss):
    value, grad = loss(np.array([0.2, NAN, 0.1]))
    assert np.isnan(value) and np.isnan(grad).any()


def test_batch_norm_and_dropout_propagate_nan(rng):
    x = rng.standard_normal((4, 2))
    x[1, 0] = NAN
    y, _ = F.batch_norm(x, np.ones(2), np.zeros(2), None, None)
    assert np.isnan(y[:, 0]).all() and np.isfinite(y[:, 1]).all()
    y, _ = F.dropout(np.array([NAN] * 8), 0.0, rng)
    assert np.isnan(y).all()


def test_optimizers_let_a_nan_gradient_reach_the_weights():
    from nnsim import optim

    for opt in (
        optim.SGD(0.1, momentum=0.9),
        optim.Adagrad(0.1),
        optim.RMSprop(0.1),
        optim.Adam(0.1),
    ):
        p = {"w": np.zeros(2)}
        opt.step(p, {"w": np.array([NAN, 1.0])})
        assert np.isnan(p["w"][0]) and np.isfinite(p["w"][1])
