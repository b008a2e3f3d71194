"""Sequential as a model: shapes checked at build time, the summary's columns, the dict API,
modes, and loss objects."""

import numpy as np
import pytest

from nnsim import functional as F
from nnsim.layers import (
    GRU,
    LSTM,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    Maxout,
    MaxPool2d,
    ReLU,
    Residual,
)
from nnsim.losses import LOSSES, BCELoss, CrossEntropyLoss, HingeLoss, MAELoss, MSELoss
from nnsim.model import Sequential


def rf_column(model):
    return {row["name"]: row["receptive_field"] for row in model.summary().rows}


def test_sequential_lives_with_the_layers_and_the_old_imports_still_find_it():
    import nnsim
    import nnsim.layers
    import nnsim.model

    assert nnsim.layers.Sequential is nnsim.model.Sequential is nnsim.Sequential is Sequential
    model = Sequential([[Dense(3), ReLU()], Dense(2)], input_shape=(4,))  # a list is a block
    assert type(model.layers[0]) is nnsim.layers.Sequential


# ---------------------------------------------------------------- build-time shape checks


@pytest.mark.parametrize(
    ("layers", "input_shape", "message"),
    [
        (
            [Conv2d(4, 3), Dense(10)],
            (1, 8, 8),
            r"dense1 \(Dense\) expects \(features,\).* gets \(4, 6, 6\); put a Flatten "
            r"before it \(the input comes from conv1 \(4, 6, 6\)\)",
        ),
        (
            [Flatten(), Dense(10, in_features=100)],
            (1, 8, 8),
            r"dense1 \(Dense\) was declared with in_features=100, so it expects \(100,\) "
            r"but gets \(64,\)",
        ),
        (
            [Conv2d(4, 3, in_channels=3)],
            (1, 8, 8),
            r"conv1 \(Conv2d\) .* expects \(3, 8, 8\) but gets \(1, 8, 8\) "
            r"\(the input comes from the input \(1, 8, 8\)\)",
        ),
        (
            [Conv2d(4, 5), MaxPool2d(2), Conv2d(8, 5)],
            (1, 8, 8),
            r"conv2 \(Conv2d\) its 5x5 kernel .* does not fit .* the input is \(4, 2, 2\)",
        ),
        (
            [Conv2d(4, 3), Residual([Conv2d(8, 3, padding=1)])],
            (1, 8, 8),
            r"res1 \(Residual\) adds its branches, but block1 outputs \(8, 6, 6\) while the "
            r"identity shortcut gives \(4, 6, 6\)",
        ),
        (
            [Concat([[Conv2d(2, 1)], [Conv2d(2, 3)]])],
            (1, 8, 8),
            r"concat1 \(Concat\) .* block1 outputs \(2, 8, 8\) and block2 outputs \(2, 6, 6\)",
        ),
        (
            [Residual([Conv2d(3, 3, padding=1), Dense(2)])],
            (3, 4, 4),
            r"^dense1 \(Dense\) expects .* \(3, 4, 4\)",  # located at the inner layer, once
        ),
        ([Dense(6), Maxout(4)], (3,), r"maxout1 \(Maxout\) expects \(D\*4,\) .* gets \(6,\)"),
        ([LSTM(4), GRU(3)], (5,), r"lstm1 \(LSTM\) expects a sequence .* gets \(5,\)"),
        ([Conv2d(2, 3, groups=2)], (3, 8, 8), r"groups=2 must divide the input channels"),
    ],
)
def test_shape_mismatch_is_reported_at_build_time(layers, input_shape, message):
    with pytest.raises(ValueError, match=message):
        Sequential(layers, input_shape=input_shape)


def test_forward_checks_the_batch_shape(rng):
    model = Sequential([Flatten(), Dense(3)], input_shape=(1, 4, 4))
    with pytest.raises(
        ValueError, match=r"expects a batch of shape \(N, 1, 4, 4\) but got \(2, 16\)"
    ):
        model.forward(rng.standard_normal((2, 16)))
    model.forward(rng.standard_normal((2, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"output \(2, 3\), dy \(2, 4\)"):
        model.backward(np.zeros((2, 4)))


# ---------------------------------------------------------------- summary


def test_receptive_field_of_stacked_and_dilated_convolutions():
    two = Sequential([Conv2d(1, 3), Conv2d(1, 3)], input_shape=(1, 16, 16))
    three = Sequential([Conv2d(1, 3), Conv2d(1, 3), Conv2d(1, 3)], input_shape=(1, 16, 16))
    dilated = Sequential([Conv2d(1, 3, dilation=2)], input_shape=(1, 16, 16))
    assert list(rf_column(two).values()) == [(3, 3), (5, 5)]
    assert rf_column(three)["conv3"] == (7, 7)
    assert rf_column(dilated)["conv1"] == (5, 5)


def test_receptive_field_grows_with_the_jump_after_striding():
    model = Sequential(
        [Conv2d(1, 3), MaxPool2d(2), Conv2d(1, 3), ReLU(), Conv2d(1, (3, 1)), Flatten(), Dense(2)],
        input_shape=(1, 32, 32),
    )
    rf = rf_column(model)
    # r: 3, then 3 + 1*1 = 4 (jump 2), then 4 + 2*2 = 8, ReLU keeps it, then 8 + 2*2 = 12 in h
    assert [rf["conv1"], rf["maxpool1"], rf["conv2"], rf["relu1"]] == [
        (3, 3),
        (4, 4),
        (8, 8),
        (8, 8),
    ]
    assert rf["conv3"] == (12, 8)
    assert rf["dense1"] is None  # a dense unit sees the whole input
    assert "12x8" in str(model.summary())


def test_summary_counts_parameters_and_flops():
    model = Sequential(
        [Conv2d(6, 5, padding=2), ReLU(), MaxPool2d(2), Flatten(), Dense(10)],
        input_shape=(3, 8, 8),
    )
    rows = {row["name"]: row for row in model.summary().rows}
    assert rows["conv1"]["params"] == 6 * 3 * 25 + 6
    assert rows["conv1"]["macs"] == 6 * 8 * 8 * 3 * 25
    assert rows["conv1"]["flops"] == 2 * rows["conv1"]["macs"]
    assert rows["relu1"]["flops"] == 6 * 8 * 8
    assert rows["maxpool1"]["flops"] == 6 * 4 * 4 * 4
    assert rows["dense1"]["params"] == 96 * 10 + 10
    assert rows["dense1"]["output_shape"] == (10,)
    totals = model.summary().totals
    assert totals["params"] == 456 + 970
    assert totals["flops"] == sum(row["flops"] for row in rows.values())


def test_summary_of_blocks_nests_their_layers():
    model = Sequential(
        [Conv2d(4, 3, padding=1), Residual([Conv2d(4, 3, padding=1), ReLU()]), Flatten(), Dense(2)],
        input_shape=(1, 6, 6),
    )
    rows = model.summary().rows
    assert [(r["name"], r["depth"]) for r in rows][:5] == [
        ("conv1", 0),
        ("res1", 0),
        ("block1", 1),
        ("conv2", 2),
        ("relu1", 2),
    ]
    res = rows[1]
    assert res["params"] == 4 * 4 * 9 + 4
    assert res["receptive_field"] == (5, 5)
    assert res["flops"] == 2 * 4 * 36 * 36 + 4 * 36 + 4 * 36  # conv, ReLU and the addition


def test_summary_marks_frozen_layers_and_trainable_total():
    model = Sequential([Dense(3), Dense(2)], input_shape=(4,)).freeze("dense1")
    summary = model.summary()
    assert summary.totals["trainable_params"] == 8
    assert summary.totals["params"] == 15 + 8
    assert "dense1 (frozen)" in str(summary)


# ---------------------------------------------------------------- model API


def test_parameters_and_gradients_are_name_keyed_dicts(rng):
    model = Sequential(
        [Conv2d(2, 3), BatchNorm(), ReLU(), Flatten(), Dense(3)], input_shape=(1, 5, 5)
    )
    assert list(model.parameters()) == [
        "conv1.W",
        "conv1.b",
        "bn1.gamma",
        "bn1.beta",
        "dense1.W",
        "dense1.b",
    ]
    assert list(model.buffers()) == ["bn1.running_mean", "bn1.running_var"]
    y = model.forward(rng.standard_normal((4, 1, 5, 5)))
    model.backward(np.ones_like(y))
    grads = model.gradients()
    assert list(grads) == list(model.parameters())
    for key, grad in grads.items():
        assert grad.shape == model.parameters()[key].shape
    np.testing.assert_allclose(grads["dense1.b"], np.full(3, 4.0))


def test_weights_are_allocated_only_when_used():
    model = Sequential([Dense(1000), Dense(1000)], input_shape=(1000,))
    assert not model.materialized
    assert model.summary().totals["params"] == 2 * (1000 * 1000 + 1000)
    assert not model.materialized
    assert model.parameters()["dense1.W"].shape == (1000, 1000)
    assert model.materialized


def test_train_and_eval_switch_every_layer(rng):
    model = Sequential(
        [Dense(50), Dropout(0.5), Residual([Dense(50), Dropout(0.5)])], input_shape=(4,)
    )
    x = rng.standard_normal((3, 4))
    assert not np.array_equal(model.forward(x), model.forward(x))  # fresh masks each pass
    model.eval()
    assert all(not layer.training for layer in model.walk())
    np.testing.assert_array_equal(model.forward(x), model.forward(x))
    assert all(layer.training for layer in model.train().walk())


def test_float32_model_computes_in_float32(rng):
    model = Sequential([Dense(3), ReLU(), Dense(2)], input_shape=(4,), dtype="float32")
    y = model.forward(rng.standard_normal((2, 4)))
    assert y.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.parameters().values())


# ---------------------------------------------------------------- losses


def test_loss_objects_match_functional(rng):
    scores = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    weight = np.array([1.0, 2.0, 0.5, 1.0])
    assert CrossEntropyLoss(weight)(scores, labels)[0] == F.cross_entropy(scores, labels, weight)[0]
    assert HingeLoss(0.5)(scores, labels)[0] == F.hinge_loss(scores, labels, 0.5)[0]
    target = rng.standard_normal((5, 4))
    assert MSELoss()(scores, target)[0] == F.mse_loss(scores, target)[0]
    assert MAELoss()(scores, target)[0] == F.mae_loss(scores, target)[0]
    p = F.sigmoid(scores)
    assert BCELoss()(p, target > 0)[0] == F.binary_cross_entropy(p, (target > 0) * 1.0)[0]
    assert set(LOSSES) == {"mse", "mae", "cross_entropy", "bce", "hinge"}


def test_cross_entropy_over_time_steps_averages_every_step(rng):
    scores = rng.standard_normal((2, 3, 5))  # (N, T, C)
    labels = rng.integers(0, 5, (2, 3))
    loss, d = CrossEntropyLoss()(scores, labels)
    flat, dflat = F.cross_entropy(scores.reshape(6, 5), labels.reshape(6))
    assert loss == flat
    np.testing.assert_array_equal(d, dflat.reshape(2, 3, 5))
    with pytest.raises(
        ValueError, match=r"need labels \(N, T\); scores \(2, 3, 5\), labels \(6,\)"
    ):
        CrossEntropyLoss()(scores, labels.reshape(6))


def test_input_gradients_only_when_asked(rng):
    x = rng.standard_normal((2, 1, 6, 6))
    layers = [Conv2d(3, 3), ReLU(), Flatten(), Dense(2)]
    model = Sequential(layers, input_shape=(1, 6, 6), seed=1)
    y = model.forward(x)
    assert model.backward(np.ones_like(y)) is None  # the first layer skips dL/dx
    wanted = Sequential(
        [Conv2d(3, 3), ReLU(), Flatten(), Dense(2)],
        input_shape=(1, 6, 6),
        seed=1,
        input_gradients=True,
    )
    dx = wanted.backward(np.ones_like(wanted.forward(x)))
    conv = wanted.layer("conv1")
    expected = F.conv2d_backward(conv.output_grad, x, conv.params["W"])[0]
    np.testing.assert_allclose(dx, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.gradients()["conv1.W"], wanted.gradients()["conv1.W"])
