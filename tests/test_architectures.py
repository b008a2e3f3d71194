"""The classic architectures: published parameter totals, shapes, lazy weights, and scaled-down
twins that learn on the shipped digits."""

import numpy as np
import pytest
from training import train_steps

from nnsim.architectures import (
    ARCHITECTURES,
    DIGITS_VARIANTS,
    for_digits,
    googlenet_aux_heads,
)
from nnsim.data import load_digits, upsample
from nnsim.losses import CrossEntropyLoss
from nnsim.optim import Adam

PUBLISHED = {  # torchvision's totals for 1000 classes; LeNet-5's classic 32x32 variant
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "alexnet": 61_100_840,
    "googlenet": 6_624_904,
    "lenet5": 61_706,
}

# multiply-accumulates of one 224x224 forward pass, as published by torchvision (GFLOPS there)
PUBLISHED_GMACS = {"vgg16": 15.47, "resnet18": 1.81, "resnet34": 3.66, "googlenet": 1.50}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_totals_equal_the_published_figures(name):
    model = ARCHITECTURES[name]()
    assert model.summary().totals["params"] == PUBLISHED[name]
    assert not model.materialized  # counting allocated nothing


@pytest.mark.parametrize("name", sorted(PUBLISHED_GMACS))
def test_compute_equals_the_published_figures(name):
    macs = ARCHITECTURES[name]().summary().totals["macs"]
    assert round(macs / 1e9, 2) == PUBLISHED_GMACS[name]


def test_googlenet_with_auxiliary_classifiers_has_torchvision_total():
    aux1, aux2 = googlenet_aux_heads()
    total = sum(m.summary().totals["params"] for m in (ARCHITECTURES["googlenet"](), aux1, aux2))
    assert total == 13_004_888


def test_published_feature_map_sizes():
    zf = {r["name"]: r["output_shape"] for r in ARCHITECTURES["zfnet"]().summary().rows}
    assert [zf[f"conv{i}"][1] for i in range(1, 6)] == [110, 26, 13, 13, 13]
    assert zf["maxpool1"][1:] == (55, 55) and zf["maxpool3"][1:] == (6, 6)
    vgg = ARCHITECTURES["vgg16"]().summary().rows
    assert [r["output_shape"] for r in vgg if r["type"] == "MaxPool2d"][-1] == (512, 7, 7)
    lenet = {r["name"]: r["output_shape"] for r in ARCHITECTURES["lenet5"]().summary().rows}
    assert (lenet["conv1"], lenet["conv2"], lenet["conv3"]) == (
        (6, 28, 28),
        (16, 10, 10),
        (120, 1, 1),
    )


def test_resnet_uses_projection_shortcuts_only_where_the_shape_changes():
    model = ARCHITECTURES["resnet18"]()
    shortcuts = [b.shortcut for b in model.walk() if type(b).__name__ == "Residual"]
    assert [s is not None for s in shortcuts] == [
        False,
        False,
        True,
        False,
        True,
        False,
        True,
        False,
    ]


def test_too_small_input_names_the_layer_that_cannot_fit():
    with pytest.raises(ValueError, match=r"maxpool3 \(MaxPool2d\)"):
        ARCHITECTURES["alexnet"](input_size=32)


LEARNING_RATE = {"alexnet": 1e-3}  # Adam's; 3e-3 for the others


STEPS = 40


@pytest.fixture(scope="module")
def digits_batch():
    digits = load_digits(dtype=np.float32)
    rows = np.random.default_rng(0).choice(len(digits), 32, replace=False)
    return digits.x[rows], digits.y[rows]


@pytest.mark.slow  # trains seven networks; the architectures lesson proves it again
@pytest.mark.parametrize("name", sorted(DIGITS_VARIANTS))
def test_scaled_down_variant_learns_on_the_digits(name, digits_batch):
    model = for_digits(name)
    x, y = upsample(digits_batch[0], model.input_shape[1] // 8), digits_batch[1]
    optimizer = Adam(LEARNING_RATE.get(name, 3e-3))
    losses = train_steps(model, CrossEntropyLoss(), x, y, optimizer, STEPS)
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])  # train mode, dropout included
    assert last < 0.8 * first, (first, last)
