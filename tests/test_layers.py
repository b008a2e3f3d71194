"""Every layer type: gradients by finite differences (nnsim.gradcheck in float64), agreement with
nnsim.functional, train/eval behaviour, freezing and the L1/L2 penalties."""

import numpy as np
import pytest
from training import train_steps

import nnsim
from nnsim import functional as F
from nnsim.layers import (
    ELU,
    GRU,
    LSTM,
    RNN,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv2d,
    Dense,
    DropConnect,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    LeakyReLU,
    Maxout,
    MaxPool2d,
    ReLU,
    Residual,
    Sigmoid,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from nnsim.losses import CrossEntropyLoss, MSELoss
from nnsim.model import Sequential
from nnsim.optim import Adam

TOLERANCE = 1e-5


def check(layers, input_shape, x, loss=None, target=None, rng=None, **kwargs):
    model = Sequential(layers, input_shape=input_shape, seed=3)
    y = model.forward(x)
    if target is None:
        target = np.random.default_rng(1).standard_normal(y.shape)
    errors = nnsim.gradcheck(model, loss or MSELoss(), x, target, **kwargs)
    assert errors, "the model has trainable parameters to check"
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, (worst, errors[worst])
    return model


# Inputs keep ReLU and max-pool kinks further than eps from switching: continuous random
# values rarely come within 1e-5 of 0 or of a tie, and the seeds below are fixed.


def test_dense_on_vectors_and_on_sequences(rng):
    check([Dense(4), Tanh(), Dense(3)], (5,), rng.standard_normal((6, 5)))
    check([Dense(4, bias=False), Sigmoid(), Dense(2)], (3, 5), rng.standard_normal((2, 3, 5)))


def test_conv2d_with_stride_padding_dilation_groups_and_no_bias(rng):
    layers = [
        Conv2d(4, 3, stride=2, padding=1),
        Tanh(),
        Conv2d(4, (3, 2), dilation=(1, 2), groups=2, padding=(1, 0), bias=False),
        Flatten(),
        Dense(3),
    ]
    check(layers, (2, 9, 9), rng.standard_normal((3, 2, 9, 9)))


def test_pooling_layers(rng):
    check(
        [Conv2d(3, 3, padding=1), MaxPool2d(3, stride=2, padding=1, ceil_mode=True)],
        (2, 7, 7),
        rng.standard_normal((2, 2, 7, 7)),
    )
    check(
        [Conv2d(3, 3), AvgPool2d(2, padding=1, count_include_pad=False), GlobalAvgPool2d()],
        (2, 7, 7),
        rng.standard_normal((2, 2, 7, 7)),
    )


@pytest.mark.parametrize(
    "activation",
    [Sigmoid(), Tanh(), ReLU(), LeakyReLU(0.1), ELU(0.7), Softplus(), Softsign(), Identity()],
    ids=lambda a: type(a).__name__,
)
def test_every_activation_layer(activation, rng):
    check([Dense(6), activation, Dense(2)], (4,), rng.standard_normal((5, 4)))


def test_maxout_and_softmax(rng):
    check([Dense(6), Maxout(3), Dense(4), Softmax()], (3,), rng.standard_normal((5, 3)))


def test_batch_norm_on_features_and_on_channels(rng):
    # no bias before batch norm: normalising removes it, so its true gradient is exactly 0 and
    # the relative error would measure only the finite difference's round-off
    check([Dense(4, bias=False), BatchNorm(), Tanh(), Dense(2)], (3,), rng.standard_normal((6, 3)))
    check(
        [Conv2d(3, 3, bias=False), BatchNorm(), Flatten(), Dense(2)],
        (2, 5, 5),
        rng.standard_normal((4, 2, 5, 5)),
    )


def test_dropout_and_dropconnect_with_their_masks_held(rng):
    check([Dense(8), Dropout(0.5), Dense(2)], (3,), rng.standard_normal((6, 3)))
    check([DropConnect(5, p=0.4), Tanh(), Dense(2)], (3,), rng.standard_normal((6, 3)))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
@pytest.mark.parametrize("full", [True, False])
def test_recurrent_layers_full_sequence_or_last_step(cls, full, rng):
    layers = [cls(4, return_sequences=full), Dense(2)]
    check(layers, (5, 3), rng.standard_normal((2, 5, 3)))


def test_embedding_feeds_a_character_model(rng):
    tokens = rng.integers(0, 6, size=(3, 7))
    check(
        [Embedding(6, 4), LSTM(5), Dense(6)],
        (7,),
        tokens,
        loss=CrossEntropyLoss(),
        target=rng.integers(0, 6, size=(3, 7)),
    )


def test_residual_with_identity_and_projection_shortcuts(rng):
    layers = [
        Conv2d(3, 3, padding=1),
        Residual([Conv2d(3, 3, padding=1), Tanh(), Conv2d(3, 3, padding=1)]),
        Tanh(),
        Residual([Conv2d(4, 3, stride=2, padding=1), Tanh()], shortcut=Conv2d(4, 1, stride=2)),
        Flatten(),
        Dense(2),
    ]
    check(layers, (2, 6, 6), rng.standard_normal((2, 2, 6, 6)))


def test_concat_joins_inception_style_branches(rng):
    inception = Concat(
        [
            [Conv2d(2, 1)],
            [Conv2d(2, 1), Tanh(), Conv2d(3, 3, padding=1)],
            [MaxPool2d(3, stride=1, padding=1), Conv2d(1, 1)],
        ]
    )
    model = check(
        [inception, Tanh(), Flatten(), Dense(2)], (3, 5, 5), rng.standard_normal((2, 3, 5, 5))
    )
    assert model.layer("concat1").output_shape == (6, 5, 5)


def test_penalties_add_to_loss_and_gradients(rng):
    layers = [Dense(5), Tanh(), Dense(2)]
    model = Sequential(layers, input_shape=(3,), seed=1).regularize(l1=0.03, l2=0.1)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    errors = nnsim.gradcheck(model, MSELoss(), x, y)
    assert max(errors.values()) < TOLERANCE
    w1, w2 = model.layer("dense1").params["W"], model.layer("dense2").params["W"]
    expected = sum(0.03 * np.abs(w).sum() + 0.05 * (w**2).sum() for w in (w1, w2))
    assert model.penalty() == pytest.approx(expected, rel=1e-12)
    # biases are not penalised: their gradient is the data gradient alone
    model.forward(x)
    _, d = MSELoss()(model.output, y)
    model.backward(d)
    plain = Sequential([Dense(5), Tanh(), Dense(2)], input_shape=(3,), seed=1)
    plain.forward(x)
    plain.backward(d)
    np.testing.assert_array_equal(model.gradients()["dense2.b"], plain.gradients()["dense2.b"])
    np.testing.assert_allclose(
        model.gradients()["dense2.W"] - plain.gradients()["dense2.W"],
        0.03 * np.sign(w2) + 0.1 * w2,
        rtol=1e-12,
        atol=1e-15,
    )


def test_penalty_switched_per_layer():
    model = Sequential([Dense(3), ReLU(), Dense(2)], input_shape=(2,)).regularize(
        l2=0.5, layers=["dense2"]
    )
    assert (model.layer("dense1").l2, model.layer("dense2").l2) == (0.0, 0.5)
    with pytest.raises(ValueError, match="relu1 has no weights"):
        model.regularize(l1=0.1, layers=["relu1"])


def test_a_layer_without_penalties_keeps_its_gradient_bit_for_bit(rng):
    # a penalty-free layer's gradient is the data gradient itself, not that plus an added zero
    model = Sequential([Dense(3), ReLU(), Dense(2)], input_shape=(2,), seed=0).regularize(
        l2=0.5, layers=["dense2"]
    )
    x, dy = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    model.forward(x)
    model.backward(dy)
    dense1, dense2 = model.layer("dense1"), model.layer("dense2")
    _, dW, db = F.linear_backward(model.layer("relu1").input_grad, x, dense1.params["W"])
    np.testing.assert_array_equal(dense1.grads["W"], dW)
    np.testing.assert_array_equal(dense1.grads["b"], db)
    _, dW2, _ = F.linear_backward(dy, dense2.input, dense2.params["W"])
    np.testing.assert_array_equal(dense2.grads["W"], dW2 + 0.5 * dense2.params["W"])


def test_layers_compute_what_functional_computes(rng):
    x = rng.standard_normal((3, 2, 6, 6))
    model = Sequential(
        [Conv2d(4, 3, stride=2, padding=1, dilation=1), MaxPool2d(2)], input_shape=(2, 6, 6)
    )
    y = model.forward(x)
    conv = model.layer("conv1")
    expected, _ = F.max_pool2d(F.conv2d(x, conv.params["W"], conv.params["b"], 2, 1), 2)
    np.testing.assert_array_equal(y, expected)


def test_layer_parameters_start_like_pytorch_and_are_seeded():
    a = Sequential([Dense(50)], input_shape=(400,), seed=7).parameters()
    b = Sequential([Dense(50)], input_shape=(400,), seed=7).parameters()
    c = Sequential([Dense(50)], input_shape=(400,), seed=8).parameters()
    np.testing.assert_array_equal(a["dense1.W"], b["dense1.W"])
    assert not np.array_equal(a["dense1.W"], c["dense1.W"])
    bound = 1 / np.sqrt(400)  # torch.nn.Linear's U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(a["dense1.W"]).max() <= bound
    assert np.abs(a["dense1.W"]).max() > 0.95 * bound
    he = Sequential([Dense(2000, init="he_normal")], input_shape=(500,)).parameters()
    assert he["dense1.W"].std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert not he["dense1.b"].any()


def test_frozen_layers_stay_bit_identical_through_training(rng):
    layers = [Conv2d(3, 3), BatchNorm(), ReLU(), Flatten(), Dense(8), ReLU(), Dense(3)]
    model = Sequential(layers, input_shape=(1, 6, 6), seed=2)
    model.freeze("conv1", "bn1")
    before = {k: v.copy() for k, v in model.parameters().items()}
    running = {k: v.copy() for k, v in model.buffers().items()}
    x, y = rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 3, 8)
    train_steps(model, CrossEntropyLoss(), x, y, Adam(0.01), steps=5)
    after = model.parameters()
    for key in ("conv1.W", "conv1.b", "bn1.gamma", "bn1.beta"):
        np.testing.assert_array_equal(after[key], before[key])
    for key, value in model.buffers().items():
        np.testing.assert_array_equal(value, running[key])
    assert not np.array_equal(after["dense1.W"], before["dense1.W"])
    assert "conv1.W" not in model.gradients()
    assert set(model.gradients()) == set(model.trainable_parameters())


def test_batch_norm_train_and_eval(rng):
    model = Sequential([BatchNorm(momentum=0.5)], input_shape=(3,))
    x = rng.standard_normal((64, 3)) * [1.0, 5.0, 0.2] + [2.0, -1.0, 7.0]
    y = model.forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, rtol=1e-3)
    bn = model.layer("bn1")
    np.testing.assert_allclose(bn.running["running_mean"], 0.5 * x.mean(axis=0))
    model.eval()
    before = bn.running["running_mean"].copy()
    y_eval = model.forward(x)
    np.testing.assert_array_equal(bn.running["running_mean"], before)
    expected = (x - before) / np.sqrt(bn.running["running_var"] + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-12)


def test_dropout_in_training_and_identity_in_evaluation(rng):
    model = Sequential([Dropout(0.25)], input_shape=(1000,))
    x = rng.standard_normal((4, 1000))
    y = model.forward(x)
    dropped = y == 0
    assert 0.2 < dropped.mean() < 0.3
    np.testing.assert_allclose(y[~dropped], x[~dropped] / 0.75)
    np.testing.assert_array_equal(model.eval().forward(x), x)


def test_dropconnect_drops_weights_in_training_only(rng):
    model = Sequential([DropConnect(200, p=0.5, bias=False)], input_shape=(100,))
    layer = model.layer("dropconnect1")
    x = rng.standard_normal((2, 100))
    model.forward(x)
    assert 0.45 < (layer.mask == 0).mean() < 0.55
    np.testing.assert_allclose(
        model.eval().forward(x), x @ layer.params["W"].T, rtol=1e-12, atol=1e-12
    )


def test_layer_names_are_unique_and_readable():
    model = Sequential(
        [Dense(4), ReLU(), Dense(4, name="hidden"), ReLU(), Dense(2)], input_shape=(3,)
    )
    names = [layer.name for layer in model.leaves()]
    assert names == ["dense1", "relu1", "hidden", "relu2", "dense2"]
    assert repr(model.layer("hidden")) == "Dense(4, name='hidden')"
    assert "Conv2d(8, 3, stride=2, padding=1, groups=2, bias=False" in repr(
        Conv2d(8, 3, stride=2, padding=1, groups=2, bias=False)
    )
    with pytest.raises(ValueError, match=r"repeated: \['x'\]"):
        Sequential([Dense(2, name="x"), Dense(2, name="x")], input_shape=(2,))
