"""Max and average pooling: reference, PyTorch's size and divisor rules, ties and gradients."""

import numpy as np
import pytest
import reference as ref
from numeric import assert_gradients_match

import nnsim.functional as F

# (x shape, kernel, stride, padding, ceil_mode)
GEOMETRIES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), False),
    ((1, 1, 7, 7), (3, 3), (2, 2), (1, 1), False),
    ((1, 2, 7, 7), (3, 3), (2, 2), (1, 1), True),  # ceil_mode adds a partial last window
    ((2, 1, 5, 5), (2, 2), (2, 2), (1, 1), True),  # ceil_mode drops a window starting in padding
    ((1, 2, 5, 9), (2, 3), (1, 2), (1, 1), True),  # overlapping, unequal
    ((1, 1, 4, 4), (4, 4), (4, 4), (0, 0), False),  # window as large as the input
    ((2, 2, 9, 9), (2, 2), (3, 3), (0, 0), False),  # stride larger than the window
    ((1, 1, 5, 5), (5, 3), (1, 1), (2, 1), False),
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_max_pool_matches_reference(rng, geometry):
    shape, k, s, p, ceil = geometry
    x = rng.standard_normal(shape)
    y, argmax = F.max_pool2d(x, k, s, p, ceil)
    ry, rarg = ref.max_pool2d(x, k, s, p, ceil)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(argmax, rarg)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(
        F.max_pool2d_backward(dy, argmax, x.shape), ref.max_pool2d_backward(dy, rarg, x.shape)
    )


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_avg_pool_matches_reference(rng, geometry, count_include_pad):
    shape, k, s, p, ceil = geometry
    x = rng.standard_normal(shape)
    y = F.avg_pool2d(x, k, s, p, ceil, count_include_pad)
    np.testing.assert_allclose(y, ref.avg_pool2d(x, k, s, p, ceil, count_include_pad), rtol=1e-13)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(
        F.avg_pool2d_backward(dy, x.shape, k, s, p, ceil, count_include_pad),
        ref.avg_pool2d_backward(dy, x.shape, k, s, p, ceil, count_include_pad),
        rtol=1e-13,
    )


@pytest.mark.parametrize("geometry", GEOMETRIES[:5])
def test_pool_gradients_match_finite_differences(rng, geometry):
    shape, k, s, p, ceil = geometry
    # distinct values spaced far wider than the finite-difference step, so a perturbation never
    # changes which cell is the max; kept below 1 so round-off stays small
    size = int(np.prod(shape))
    x = rng.permutation(np.arange(size, dtype=np.float64)).reshape(shape) / size
    y, argmax = F.max_pool2d(x, k, s, p, ceil)
    dy = rng.standard_normal(y.shape)
    assert_gradients_match(
        lambda: F.max_pool2d(x, k, s, p, ceil)[0],
        [F.max_pool2d_backward(dy, argmax, x.shape)],
        [x],
        dy,
        ["x"],
    )
    for cip in (True, False):
        dy = rng.standard_normal(F.avg_pool2d(x, k, s, p, ceil, cip).shape)
        assert_gradients_match(
            lambda cip=cip: F.avg_pool2d(x, k, s, p, ceil, cip),
            [F.avg_pool2d_backward(dy, x.shape, k, s, p, ceil, cip)],
            [x],
            dy,
            ["x"],
        )


def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    y, argmax = F.max_pool2d(x, 2)
    assert y[0, 0, 0, 0] == 3.0 and argmax[0, 0, 0, 0] == 1  # (0, 1), not (1, 0) or (1, 1)


def test_padding_counts_as_minus_infinity():
    x = -np.ones((1, 1, 2, 2))
    y, _ = F.max_pool2d(x, 2, stride=1, padding=1)
    assert np.all(y == -1.0)  # a zero pad would have won every window


def test_max_pool_backward_routes_every_gradient_to_its_argmax_cell():
    x = np.array(
        [[[[1.0, 2.0, 0.0, 0.0], [4.0, 3.0, 0.0, 9.0], [0.0, 0.0, 5.0, 0.0], [7.0, 0.0, 0.0, 6.0]]]]
    )
    y, argmax = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y[0, 0], [[4.0, 9.0], [7.0, 6.0]])
    dx = F.max_pool2d_backward(np.array([[[[10.0, 20.0], [30.0, 40.0]]]]), argmax, x.shape)
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3], expected[3, 0], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_avg_pool_backward_spreads_each_gradient_evenly():
    dx = F.avg_pool2d_backward(np.array([[[[8.0]]]]), (1, 1, 2, 2), 2)
    np.testing.assert_array_equal(dx, np.full((1, 1, 2, 2), 2.0))


def test_divisor_with_and_without_padding():
    x = np.ones((1, 1, 3, 3))
    with_pad = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True)
    without = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert with_pad[0, 0, 0, 0] == pytest.approx(4 / 9)  # corner: 4 real cells over 9
    np.testing.assert_allclose(without, np.ones((1, 1, 3, 3)))


@pytest.mark.parametrize(
    "size, k, s, p, ceil, expected",
    [
        (7, 3, 2, 1, True, 4),
        (6, 3, 2, 1, True, 4),
        (6, 3, 2, 1, False, 3),
        (5, 2, 2, 0, True, 3),
        (5, 2, 2, 0, False, 2),
        (5, 2, 2, 1, True, 3),
        (4, 2, 2, 1, True, 3),
    ],
)
def test_output_size_follows_pytorch(size, k, s, p, ceil, expected):
    assert F.pool_output_size(size, k, s, p, ceil) == expected


def test_float32_stays_float32(rng):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    y, argmax = F.max_pool2d(x, 2)
    assert y.dtype == np.float32 and argmax.dtype == np.int64
    assert F.avg_pool2d(x, 2).dtype == np.float32
    assert F.max_pool2d_backward(y, argmax, x.shape).dtype == np.float32
    assert F.avg_pool2d_backward(y, x.shape, 2).dtype == np.float32


@pytest.mark.parametrize(
    "call, fragment",
    [
        (
            lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2),
            "padding must be at most half the kernel size",
        ),
        (
            lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3),
            "does not fit in the padded input (2, 2)",
        ),
        (lambda: F.avg_pool2d(np.zeros((1, 4, 4)), 2), "x must be 4-D"),
        (
            lambda: F.max_pool2d_backward(
                np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int64), (1, 2, 4, 4)
            ),
            "x_shape must be (N, C, H, W) with the N and C of dy",
        ),
        (
            lambda: F.max_pool2d_backward(
                np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99), (1, 1, 4, 4)
            ),
            "argmax holds an index outside the 4x4 input plane",
        ),
        (
            lambda: F.avg_pool2d_backward(np.zeros((1, 1, 3, 3)), (1, 1, 4, 4), 2),
            "dy must be (1, 1, 2, 2) for an input of x_shape",
        ),
    ],
)
def test_bad_arguments_are_rejected(call, fragment):
    with pytest.raises(ValueError) as info:
        call()
    assert fragment in str(info.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("nans", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 8, 8), (2, 3, 7, 9)])
def test_the_2x2_fast_path_keeps_every_rule_of_the_general_window(rng, shape, nans, dtype):
    # small integers make many ties, signed zeros tie with each other, -inf loses to all; with
    # NaNs at every position of some windows the call takes the general loops' NaN rule
    x = rng.integers(-2, 3, size=shape).astype(dtype)
    x[rng.random(shape) < 0.2] = -0.0
    x[rng.random(shape) < 0.05] = -np.inf
    if nans:
        x[rng.random(shape) < 0.05] = np.nan
    y, argmax = F.max_pool2d(x, 2)
    # PyTorch's rule, val > max or isnan(val), in plain Python
    for i, c, oh, ow in np.ndindex(*y.shape):
        best, at = -np.inf, (2 * oh) * shape[3] + 2 * ow
        for h, w in ((0, 0), (0, 1), (1, 0), (1, 1)):
            v = x[i, c, 2 * oh + h, 2 * ow + w]
            if v > best or np.isnan(v):
                best, at = v, (2 * oh + h) * shape[3] + 2 * ow + w
        assert argmax[i, c, oh, ow] == at
        # the value is the cell's own, bit for bit (a -0.0 that won a tie stays -0.0)
        assert y[i, c, oh, ow].tobytes() == x.reshape(*shape[:2], -1)[i, c, at].tobytes()
    # the general kernel (stride 1 visits a superset of the windows) agrees on shared windows
    y1, arg1 = F.max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(y, y1[:, :, ::2, ::2])
    np.testing.assert_array_equal(argmax, arg1[:, :, ::2, ::2])


@pytest.mark.parametrize(
    "shape, kernel, stride",
    [
        ((3, 4, 8, 8), 2, 2),  # every cell in exactly one 2x2 block
        ((2, 3, 7, 9), 2, 2),  # an odd last row and column that no window reads
        ((2, 3, 9, 9), 3, 2),  # overlapping windows: some maxima fall outside their block
        ((2, 2, 8, 8), 1, 2),  # 1x1 windows on a stride-2 grid leave three cells in four at 0
    ],
)
def test_max_pool_backward_adds_each_gradient_at_its_maximum_for_any_window(
    rng, shape, kernel, stride
):
    # one pass zeroes dx and adds every output's gradient at its maximum; where windows
    # overlap, two outputs may share a maximum and their gradients add up
    x = rng.standard_normal(shape)
    y, argmax = F.max_pool2d(x, kernel, stride)
    dy = rng.standard_normal(y.shape)
    _, rarg = ref.max_pool2d(x, (kernel, kernel), (stride, stride), (0, 0), False)
    np.testing.assert_array_equal(
        F.max_pool2d_backward(dy, argmax, x.shape), ref.max_pool2d_backward(dy, rarg, x.shape)
    )
    if kernel == 3:  # some maximum is shared by two windows, so the adding was tested
        planes = argmax.reshape(shape[0] * shape[1], -1)
        assert any(np.unique(plane).size < plane.size for plane in planes)
