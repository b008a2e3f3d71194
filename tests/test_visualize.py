"""nnsim.visualize: occlusion sensitivity and activation maximisation on a copy of the model."""

import numpy as np
import pytest

from nnsim import visualize as V
from nnsim.layers import Conv2d, Dense, Flatten, ReLU
from nnsim.model import Sequential


def one_pixel_model():
    """Two classes; class 1's score is 10 x the pixel (2, 3) of a 1x6x6 image, nothing else."""
    model = Sequential([Flatten(), Dense(2, name="scores")], input_shape=(1, 6, 6))
    params = model.parameters()
    params["scores.W"][...] = 0.0
    params["scores.b"][...] = 0.0
    params["scores.W"][1, 2 * 6 + 3] = 10.0
    return model


def test_occlusion_map_lights_up_only_where_the_class_looks():
    model = one_pixel_model()
    image = np.zeros((1, 6, 6))
    image[0, 2, 3] = 1.0
    sensitivity = V.occlusion_map(model, image, label=1, patch=2, fill=0.0)
    assert sensitivity.shape == (6, 6)
    p_shown = 1 / (1 + np.exp(-10.0))  # softmax of (0, 10)
    # every patch that hides (2, 3) drops p from p_shown to 1/2; every pixel that such a
    # patch covers averages that drop over the patches covering it
    assert sensitivity[2, 3] == pytest.approx(p_shown - 0.5)
    assert sensitivity[5, 0] == 0.0 and sensitivity[0, 0] == 0.0
    assert np.count_nonzero(sensitivity) == 9  # the 3x3 block around the pixel


def test_maximize_class_finds_the_pixel_and_leaves_the_model_alone():
    model = one_pixel_model()
    before = {k: v.copy() for k, v in model.parameters().items()}
    found = V.maximize_class(model, 1, steps=50, lr=0.5, blur_every=0)
    # d score / d x is 10 at the pixel and 0 elsewhere; the L2 penalty keeps the rest at 0
    assert found.image[0, 2, 3] > 1.0
    assert np.abs(np.delete(found.image.ravel(), 2 * 6 + 3)).max() == 0.0
    assert found.probability > 0.99 and found.objective == pytest.approx(10 * found.image[0, 2, 3])
    for key, value in model.parameters().items():
        np.testing.assert_array_equal(value, before[key])
    assert model.output is None  # no forward pass on the model itself


def test_maximize_filter_raises_the_mean_activation_of_its_channel(rng):
    model = Sequential(
        [Conv2d(3, 3, padding=1, name="conv"), ReLU(name="relu"), Flatten(), Dense(2)],
        input_shape=(1, 6, 6),
        seed=3,
    )
    found = V.maximize_filter(model, "relu", 1, steps=30, lr=0.5)
    start = V.maximize_filter(model, "relu", 1, steps=0)
    assert found.objective > start.objective and found.image.shape == (1, 6, 6)
    with pytest.raises(ValueError, match="not a top-level layer"):
        V.maximize_filter(model, "nope", 0)
    with pytest.raises(ValueError, match=r"channel: relu outputs \(3, 6, 6\)"):
        V.maximize_filter(model, "relu", 3)


def test_bad_arguments_name_what_was_wrong():
    model = one_pixel_model()
    with pytest.raises(ValueError, match=r"image: expected one image \(1, 6, 6\)"):
        V.occlusion_map(model, np.zeros((6, 6)), 1)
    with pytest.raises(ValueError, match=r"label: the model has 2 classes"):
        V.occlusion_map(model, np.zeros((1, 6, 6)), 2)
    with pytest.raises(ValueError, match="patch: must be between 1 and 6"):
        V.occlusion_map(model, np.zeros((1, 6, 6)), 1, patch=7)


def test_occlusion_focus_is_high_for_a_model_that_reads_the_ink():
    model = one_pixel_model()
    images = np.zeros((3, 1, 6, 6))
    images[:, 0, 2, 3] = 1.0  # the ink is exactly where the model looks
    assert V.occlusion_focus(model, images, np.ones(3, dtype=int)) > 0.5
