"""Losses: values and gradients against the reference and finite differences."""

import numpy as np
import pytest
import reference as ref
from numeric import numerical_gradient, relative_error

import nnsim.functional as F


def _check_gradient(loss_fn, x, *args):
    _, analytic = loss_fn(x, *args)
    numeric = numerical_gradient(lambda: loss_fn(x, *args)[0], [x], 0)
    assert relative_error(analytic, numeric) < 1e-7


def test_mse_and_mae(rng):
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    for fn, rfn in ((F.mse_loss, ref.mse_loss), (F.mae_loss, ref.mae_loss)):
        loss, grad = fn(pred, target)
        rloss, rgrad = rfn(pred, target)
        assert loss == pytest.approx(rloss, rel=1e-14)
        np.testing.assert_allclose(grad, rgrad, rtol=1e-14)
        _check_gradient(fn, pred, target)


def test_mae_gradient_of_an_exact_match_is_zero():
    _, grad = F.mae_loss(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    np.testing.assert_array_equal(grad, [0.0, -0.5])


@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy(rng, weighted):
    logits = rng.standard_normal((5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if weighted else None
    loss, grad = F.cross_entropy(logits, labels, weight)
    rloss, rgrad = ref.cross_entropy(logits, labels, weight)
    assert loss == pytest.approx(rloss, rel=1e-13)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-12, atol=1e-15)
    _check_gradient(lambda x: F.cross_entropy(x, labels, weight), logits)


def test_cross_entropy_gradient_is_p_minus_y():
    logits = np.array([[2.0, 1.0, 0.1]])
    _, grad = F.cross_entropy(logits, [0])
    np.testing.assert_allclose(grad, F.softmax(logits) - [[1.0, 0.0, 0.0]], rtol=1e-15)


def test_cross_entropy_is_finite_for_huge_logits():
    loss, grad = F.cross_entropy(np.array([[1000.0, -1000.0]]), [1])
    assert loss == pytest.approx(2000.0) and np.all(np.isfinite(grad))


def test_binary_cross_entropy(rng):
    p = rng.uniform(0.05, 0.95, (3, 4))
    t = (rng.random((3, 4)) > 0.5).astype(np.float64)
    loss, grad = F.binary_cross_entropy(p, t)
    rloss, rgrad = ref.binary_cross_entropy(p, t)
    assert loss == pytest.approx(rloss, rel=1e-14)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-13)
    _check_gradient(F.binary_cross_entropy, p, t)


def test_binary_cross_entropy_clamps_the_log_like_pytorch():
    loss, grad = F.binary_cross_entropy(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert loss == pytest.approx(100.0)
    assert np.all(np.isfinite(grad))


def test_binary_cross_entropy_rejects_non_probabilities():
    with pytest.raises(ValueError, match=r"p must be probabilities in \[0, 1\]; p\[1\] = 1.5"):
        F.binary_cross_entropy(np.array([0.5, 1.5]), np.array([1.0, 0.0]))


def test_hinge_loss(rng):
    scores = rng.standard_normal((6, 4))
    labels = np.array([0, 1, 2, 3, 0, 2])
    loss, grad = F.hinge_loss(scores, labels)
    rloss, rgrad = ref.hinge_loss(scores, labels)
    assert loss == pytest.approx(rloss, rel=1e-14)
    np.testing.assert_allclose(grad, rgrad, rtol=1e-14)
    _check_gradient(lambda x: F.hinge_loss(x, labels), scores)


def test_hinge_loss_by_hand():
    # CS231n's example: scores (3.2, 5.1, -1.7), correct class 0: max(0, 5.1-3.2+1) + 0 = 2.9
    loss, grad = F.hinge_loss(np.array([[3.2, 5.1, -1.7]]), [0])
    assert loss == pytest.approx(2.9)
    np.testing.assert_allclose(grad, [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize(
    "call, error, fragment",
    [
        (
            lambda: F.mse_loss(np.zeros(3), np.zeros(4)),
            ValueError,
            "mse_loss: target must have the shape of pred; pred (3,), target (4,)",
        ),
        (
            lambda: F.cross_entropy(np.zeros((2, 3)), [0, 3]),
            ValueError,
            "labels contains class 3 but logits has 3 classes (valid: 0..2)",
        ),
        (  # an int64 array takes the kernel's check of the range
            lambda: F.cross_entropy(np.zeros((2, 3), np.float32), np.array([-2, 1])),
            ValueError,
            "labels contains class -2 but logits has 3 classes (valid: 0..2)",
        ),
        (
            lambda: F.cross_entropy(np.zeros((2, 3)), np.array([1.0, 7.0])),
            ValueError,
            "labels contains class 7 but logits has 3 classes (valid: 0..2)",
        ),
        (
            lambda: F.cross_entropy(np.zeros((2, 3)), [0]),
            ValueError,
            "labels must have one label per row of logits; logits (2, 3), labels (1,)",
        ),
        (
            lambda: F.cross_entropy(np.zeros((2, 3)), [0.5, 1]),
            TypeError,
            "labels must hold integer class indices",
        ),
        (
            lambda: F.cross_entropy(np.zeros((2, 3)), [0, 1], weight=np.ones(2)),
            ValueError,
            "weight must have one entry per class; logits (2, 3), weight (2,)",
        ),
        (lambda: F.hinge_loss(np.zeros((2, 3)), [-1, 0]), ValueError, "contains class -1"),
        (lambda: F.mae_loss(np.zeros(0), np.zeros(0)), ValueError, "pred is empty"),
    ],
)
def test_bad_arguments_are_rejected(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


def test_float32_gradients_stay_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    labels = [0, 1, 2]
    for loss, grad in (
        F.mse_loss(x, x * 0),
        F.mae_loss(x, x * 0),
        F.cross_entropy(x, labels),
        F.hinge_loss(x, labels),
        F.binary_cross_entropy(F.sigmoid(x), x * 0),
    ):
        assert isinstance(loss, float) and grad.dtype == np.float32
