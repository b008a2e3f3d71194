"""Convolution and pooling worked out by hand: every position of the walk reproduces the
values the Numba kernels computed, and stepping through it changes nothing."""

import numpy as np
import pytest

from nnsim.layers import AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Tanh, walk
from nnsim.layers.steps import drive
from nnsim.losses import CrossEntropyLoss
from nnsim.model import Sequential
from nnsim.optim import SGD
from nnsim.sim import Simulator


def _ran(layers, shape, rng, n=2):
    model = Sequential([*layers, Flatten(), Dense(3)], input_shape=shape, input_gradients=True)
    x = rng.standard_normal((n, *shape))
    loss, grad = CrossEntropyLoss()(model.forward(x), rng.integers(0, 3, n))
    model.backward(grad)
    return model.layers[0]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding": 1},
        {"stride": 2, "padding": 1},
        {"dilation": 2, "padding": 2},
        {"groups": 2},
    ],
)
def test_every_conv_position_by_hand_is_the_kernels_value(options, rng):
    conv = _ran([Conv2d(4, 3, **options, name="conv")], (2, 7, 7), rng)
    cells = [walk.conv_cell(conv, k) for k in range(walk.conv_positions(conv))]
    assert len(cells) == 4 * conv.output_shape[1] * conv.output_shape[2]
    for cell in cells:
        assert cell.computed == pytest.approx(cell.kernel, abs=1e-12)
        np.testing.assert_array_equal(cell.terms, cell.operands[0][1] * cell.operands[1][1])
    first = cells[0]
    assert first.kernel == conv.output[0, 0, 0, 0]  # the value shown is the kernel's own
    # dW (summed over the batch) by hand, and dX as the flipped-kernel full convolution
    assert walk.grad_walk_error(conv) < 1e-12 and walk.walk_error(conv) < 1e-12
    assert walk.conv_input_walkable(conv) == (options in ({}, {"padding": 1}))


def test_the_full_convolution_cell_uses_the_flipped_kernel(rng):
    conv = _ran([Conv2d(1, 3, padding=1, name="conv")], (1, 5, 5), rng, n=1)
    cell = walk.conv_input_cell(conv, 0)  # dX[0, 0, 0, 0]
    np.testing.assert_array_equal(cell.operands[1][1][0], conv.params["W"][0, 0, ::-1, ::-1])
    assert cell.kernel == conv.input_grad[0, 0, 0, 0]
    assert cell.computed == pytest.approx(cell.kernel, abs=1e-14)


@pytest.mark.parametrize(
    "layer",
    [
        MaxPool2d(2, name="pool"),
        MaxPool2d(3, stride=1, name="pool"),  # overlapping windows: routed gradients add up
        MaxPool2d(2, padding=1, name="pool"),
        AvgPool2d(2, name="pool"),
        AvgPool2d(3, stride=2, name="pool"),
    ],
)
def test_pooling_windows_and_routed_gradients_match_the_kernel(layer, rng):
    _ran([Tanh(), layer], (2, 6, 6), rng)  # the pool's input is tanh's output
    pool = layer
    assert walk.walk_error(pool) == pytest.approx(0, abs=1e-15)
    assert walk.grad_walk_error(pool) == pytest.approx(0, abs=1e-15)
    cell = walk.pool_grad_cell(pool, 0)
    if pool.kind == "maxpool":
        assert np.count_nonzero(cell.terms) == 1  # all of dY to the argmax cell
    else:
        np.testing.assert_allclose(cell.terms, cell.kernel / cell.terms.size)


def test_large_inputs_run_whole_and_bad_walks_are_nan(rng):
    conv = Conv2d(2, 3, name="conv")
    Sequential([conv, Flatten(), Dense(2)], input_shape=(1, 17, 17))
    assert conv.forward_steps(np.zeros((1, 1, 17, 17))) is None
    assert np.isnan(walk.walk_error(conv))  # nothing ran yet


def test_stepping_into_a_conv_walks_every_position_and_changes_nothing(rng):
    x, y = rng.standard_normal((4, 1, 5, 5)), rng.integers(0, 3, 4)

    def simulator():
        model = Sequential(
            [Conv2d(2, 3, padding=1, name="conv"), Tanh(), Flatten(), Dense(3)],
            input_shape=(1, 5, 5),
            seed=4,
        )
        return Simulator(
            model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=4, iterations=1, shuffle=False
        )

    stepped, whole = simulator(), simulator()
    whole.run(1)
    stepped.step()  # the batch
    assert stepped.next_op == ("forward", "conv")
    stepped.step_into()
    conv = stepped.model.layers[0]
    stepped.step()  # the kernel computes the whole batch
    seen = []
    while stepped.stepping_into:
        stepped.step()
        if conv.walk_cell is not None and conv.walk_cell not in seen[-1:]:
            seen.append(conv.walk_cell)
    assert len(seen) == 50  # 2 filters x 5 x 5, one micro-op each
    assert all(c.computed == pytest.approx(c.kernel, abs=1e-12) for c in seen)
    assert seen[-1].target == "output[0, 1, 4, 4]"
    stepped.run(1)
    for key, value in whole.model.parameters().items():
        np.testing.assert_array_equal(stepped.model.parameters()[key], value)


@pytest.mark.parametrize(
    "layer, side, expected",
    [
        (Conv2d(2, 3, name="probe"), 5, walk.ConvWalk),
        (MaxPool2d(2, name="probe"), 6, walk.PoolWalk),
        (AvgPool2d(2, name="probe"), 6, walk.PoolWalk),
        (Conv2d(2, 3, name="probe"), 17, None),  # over 16 x 16: runs whole
        (AvgPool2d(2, padding=1, name="probe"), 6, None),  # divisor depends on the padding
        (MaxPool2d(2, ceil_mode=True, name="probe"), 5, None),
        (Tanh(name="probe"), 5, None),
    ],
)
def test_a_walk_is_made_only_for_the_conv_and_pooling_layers_it_can_work_out(layer, side, expected):
    Sequential([layer, Flatten(), Dense(2)], input_shape=(1, side, side))
    made = walk.Walk.of(layer)
    assert made is None if expected is None else type(made) is expected


def test_a_walk_run_to_its_end_computes_exactly_what_the_layer_computes_whole(rng):
    x, dy = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 2, 5, 5))

    def conv():
        layer = Conv2d(2, 3, padding=1, name="conv")
        Sequential([layer, Flatten(), Dense(3)], input_shape=(1, 5, 5), input_gradients=True)
        return layer

    whole, walked = conv(), conv()
    y, dx = whole.forward(x), whole.backward(dy)
    np.testing.assert_array_equal(drive(walked.forward_steps(x)), y)
    assert walked.walk_cell.target == "output[0, 1, 4, 4]"  # the last position stays shown
    np.testing.assert_array_equal(drive(walked.backward_steps(dy)), dx)
    for key, grad in whole.grads.items():
        np.testing.assert_array_equal(walked.grads[key], grad)
    assert walked.walk_cell is None  # a backward walk clears the cell when it ends


def test_layer_values_start_a_layer_from_given_numbers():
    conv = Conv2d(1, 2, name="conv")
    conv.set_values({"W": [[1, 2], [3, 4]], "b": [0.5]})
    model = Sequential([conv, Flatten(), Dense(1)], input_shape=(1, 3, 3))
    np.testing.assert_array_equal(model.parameters()["conv.W"], [[[[1, 2], [3, 4]]]])
    bad = Conv2d(1, 2, name="conv")
    bad.set_values({"W": [1, 2, 3]})
    with pytest.raises(
        ValueError, match=r"values for W have 3 numbers \(3,\) but W is \(1, 1, 2, 2\)"
    ):
        Sequential([bad, Flatten(), Dense(1)], input_shape=(1, 3, 3))
