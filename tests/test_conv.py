"""conv2d and conv2d_backward: the reference, finite differences and the contract's edges."""

import numpy as np
import pytest
import reference as ref
from numeric import assert_gradients_match

import nnsim.functional as F
from nnsim.kernels import conv as conv_kernels

# (x shape, W shape, stride, padding, dilation, groups): the awkward cases included
GEOMETRIES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1),  # odd sizes
    ((1, 1, 5, 5), (2, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1),  # batch of 1, one channel
    ((2, 2, 4, 5), (3, 2, 4, 5), (1, 1), (0, 0), (1, 1), 1),  # kernel as large as the input
    ((2, 2, 9, 9), (3, 2, 2, 2), (3, 3), (0, 0), (1, 1), 1),  # stride larger than the kernel
    ((2, 2, 8, 7), (2, 2, 3, 2), (2, 1), (1, 2), (1, 1), 1),  # unequal stride and padding
    ((1, 3, 9, 10), (2, 3, 3, 3), (1, 2), (2, 1), (2, 3), 1),  # dilation
    ((2, 4, 6, 6), (6, 2, 3, 3), (1, 1), (1, 1), (1, 1), 2),  # groups
    ((1, 4, 7, 7), (4, 1, 3, 3), (2, 2), (1, 1), (1, 1), 4),  # depthwise
    ((2, 3, 5, 5), (4, 3, 1, 1), (1, 1), (0, 0), (1, 1), 1),  # 1x1
    ((2, 6, 5, 4), (4, 3, 1, 1), (2, 1), (0, 0), (1, 1), 2),  # 1x1 strided, grouped
    ((1, 1, 3, 3), (1, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1),  # padding as wide as the input
]


@pytest.fixture(params=["loops", "blas"])
def products(request, monkeypatch):
    """Run a test through both ways of forming the products: the loop kernels of small
    problems and BLAS over the im2col matrix."""
    limit = 10**12 if request.param == "loops" else 0
    monkeypatch.setattr(conv_kernels, "SMALL_PRODUCT_MACS", limit)
    return request.param


def _make(rng, x_shape, w_shape, dtype=np.float64):
    x = rng.standard_normal(x_shape).astype(dtype)
    W = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    return x, W, b


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv2d_matches_reference(rng, geometry, products):
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    x, W, b = _make(rng, x_shape, w_shape)
    y = F.conv2d(x, W, b, stride, padding, dilation, groups)
    expected = ref.conv2d(x, W, b, stride, padding, dilation, groups)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)

    dy = rng.standard_normal(y.shape)
    dx, dW, db = F.conv2d_backward(dy, x, W, stride, padding, dilation, groups)
    rdx, rdW, rdb = ref.conv2d_backward(dy, x, W, stride, padding, dilation, groups)
    np.testing.assert_allclose(dx, rdx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dW, rdW, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, rdb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES[:8])
def test_conv2d_backward_matches_finite_differences(rng, geometry, products):
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    x, W, b = _make(rng, x_shape, w_shape)
    dy = rng.standard_normal(F.conv2d(x, W, b, stride, padding, dilation, groups).shape)
    dx, dW, db = F.conv2d_backward(dy, x, W, stride, padding, dilation, groups)
    assert_gradients_match(
        lambda: F.conv2d(x, W, b, stride, padding, dilation, groups),
        [dx, dW, db],
        [x, W, b],
        dy,
        ["x", "W", "b"],
    )


def test_float32_in_float32_out_and_close_to_float64(rng):
    x, W, b = _make(rng, (2, 3, 8, 8), (4, 3, 3, 3))
    y32 = F.conv2d(x.astype(np.float32), W.astype(np.float32), b.astype(np.float32), 1, 1)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, F.conv2d(x, W, b, 1, 1), rtol=1e-4, atol=1e-5)
    dy = rng.standard_normal(y32.shape).astype(np.float32)
    grads = F.conv2d_backward(dy, x.astype(np.float32), W.astype(np.float32), 1, 1)
    assert all(g.dtype == np.float32 for g in grads)
    for g32, g64 in zip(grads, F.conv2d_backward(dy.astype(np.float64), x, W, 1, 1), strict=True):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4)


def test_non_contiguous_inputs_give_the_same_result(rng):
    x, W, b = _make(rng, (3, 4, 10, 10), (5, 4, 3, 3))
    x_view = np.asfortranarray(x)[:, :, ::1, :]
    W_view = np.transpose(np.transpose(W, (3, 2, 1, 0)).copy(), (3, 2, 1, 0))
    assert not x_view.flags.c_contiguous and not W_view.flags.c_contiguous
    np.testing.assert_array_equal(F.conv2d(x_view, W_view, b, 2, 1), F.conv2d(x, W, b, 2, 1))
    strided = x[:, :, ::2, ::2]
    np.testing.assert_array_equal(F.conv2d(strided, W, b), F.conv2d(strided.copy(), W, b))


def test_inputs_are_not_modified(rng):
    x, W, b = _make(rng, (2, 2, 6, 6), (3, 2, 3, 3))
    copies = [a.copy() for a in (x, W, b)]
    y = F.conv2d(x, W, b, 1, 1)
    dy = np.ones_like(y)
    F.conv2d_backward(dy, x, W, 1, 1)
    for original, copy in zip((x, W, b), copies, strict=True):
        np.testing.assert_array_equal(original, copy)
    np.testing.assert_array_equal(dy, np.ones_like(y))


def test_bias_may_be_none(rng):
    x, W, b = _make(rng, (1, 2, 5, 5), (3, 2, 3, 3))
    np.testing.assert_allclose(F.conv2d(x, W, None) + b[None, :, None, None], F.conv2d(x, W, b))


def test_output_shape_helper_agrees_with_conv2d(rng):
    for x_shape, w_shape, stride, padding, dilation, groups in GEOMETRIES:
        x, W, b = _make(rng, x_shape, w_shape)
        y = F.conv2d(x, W, b, stride, padding, dilation, groups)
        assert F.conv2d_output_shape(x_shape, w_shape, stride, padding, dilation) == y.shape


def test_channel_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        F.conv2d(np.zeros((2, 3, 8, 8)), np.zeros((4, 2, 3, 3)), None)
    assert str(info.value) == (
        "conv2d: x has 3 channels but W expects 2 per group; x (2, 3, 8, 8), W (4, 2, 3, 3)"
    )


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: F.conv2d(np.zeros((2, 8, 8)), np.zeros((4, 2, 3, 3)), None), "x must be 4-D"),
        (
            lambda: F.conv2d(np.zeros((1, 4, 8, 8)), np.zeros((6, 2, 3, 3)), None, groups=3),
            "groups=3 must divide",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), None),
            "does not fit in the padded input (2, 2)",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3)),
            "b must have one entry per filter of W; W (2, 1, 3, 3), b (3,)",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), None, stride=0),
            "stride must be at least 1",
        ),
        (
            lambda: F.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), None, padding=(1,)),
            "padding must be an int or an (h, w) pair",
        ),
        (
            lambda: F.conv2d_backward(
                np.zeros((1, 2, 3, 3)), np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3))
            ),
            "dy must be (1, 2, 2, 2) for this x and W; "
            "x (1, 1, 4, 4), W (2, 1, 3, 3), dy (1, 2, 3, 3)",
        ),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_message(call, fragment):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert fragment in str(info.value)


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must be float32 or float64, got int64"):
        F.conv2d(np.zeros((1, 1, 4, 4), dtype=np.int64), np.zeros((1, 1, 3, 3)), None)


def test_kept_columns_and_skipped_input_gradient_change_nothing_else(rng, products):
    x = rng.standard_normal((3, 4, 9, 9))
    W = rng.standard_normal((6, 2, 3, 3))
    geometry = dict(stride=2, padding=1, dilation=1, groups=2)
    y, columns = F.conv2d(x, W, None, keep_columns=True, **geometry)
    np.testing.assert_array_equal(y, F.conv2d(x, W, None, **geometry))
    assert columns.shape == (3, 4 * 9, 5 * 5)  # (N, C*KH*KW, OH*OW)
    dy = rng.standard_normal(y.shape)
    plain = F.conv2d_backward(dy, x, W, **geometry)
    reused = F.conv2d_backward(dy, x, W, columns=columns, **geometry)
    for a, b in zip(plain, reused, strict=True):
        np.testing.assert_array_equal(a, b)
    dx, dW, db = F.conv2d_backward(dy, x, W, columns=columns, input_grad=False, **geometry)
    assert dx is None
    np.testing.assert_array_equal(dW, plain[1])
    np.testing.assert_array_equal(db, plain[2])
    with pytest.raises(ValueError, match=r"columns must be the float64 matrix .* \(3, 36, 25\)"):
        F.conv2d_backward(dy, x, W, columns=columns[:, :10], **geometry)


def test_results_and_kept_columns_survive_the_next_call_of_the_same_size(rng, products):
    # the kernels reuse per-thread scratch buffers between calls; nothing they return may be one
    geometry = dict(stride=1, padding=1)
    x1, x2 = rng.standard_normal((2, 2, 2, 6, 6))
    W = rng.standard_normal((3, 2, 3, 3))
    y1, columns1 = F.conv2d(x1, W, None, keep_columns=True, **geometry)
    dy = rng.standard_normal(y1.shape)
    grads1 = F.conv2d_backward(dy, x1, W, **geometry)
    kept = [a.copy() for a in (y1, columns1, *grads1)]
    F.conv2d(x2, W, None, keep_columns=True, **geometry)
    F.conv2d(x2, W, None, **geometry)
    F.conv2d_backward(dy, x2, W, **geometry)
    for before, now in zip(kept, (y1, columns1, *grads1), strict=True):
        np.testing.assert_array_equal(before, now)
    np.testing.assert_array_equal(F.conv2d_backward(dy, x1, W, **geometry)[0], grads1[0])


@pytest.mark.parametrize(
    "geometry",
    [
        *GEOMETRIES,
        ((2, 2, 6, 9), (3, 2, 3, 2), (1, 3), (2, 1), (1, 2), 1),  # strided, dilated columns only
        ((3, 1, 4, 4), (1, 1, 2, 2), (1, 1), (3, 3), (1, 1), 1),  # padding wider than the kernel
    ],
)
def test_both_ways_of_building_the_columns_give_the_same_matrix(rng, geometry, monkeypatch):
    # vertical stride and dilation 1 go through im2col_unfolded when its copy is small enough
    x_shape, w_shape, stride, padding, dilation, _ = geometry
    x = rng.standard_normal(x_shape)
    out_h, out_w = F.conv2d_output_shape(x_shape, w_shape, stride, padding, dilation)[2:]
    args = (x, *w_shape[2:], stride, padding, dilation, out_h, out_w)
    chosen = conv_kernels._columns(*args, keep=True)
    monkeypatch.setattr(conv_kernels, "UNFOLD_MAX_BYTES", -1)
    one_stage = conv_kernels._columns(*args, keep=True)
    np.testing.assert_array_equal(chosen, one_stage)
    expected = ref.im2col(x, *w_shape[2:], stride, padding, dilation)  # (C*KH*KW, N*P)
    per_example = expected.reshape(len(expected), x_shape[0], -1).transpose(1, 0, 2)
    np.testing.assert_array_equal(one_stage, per_example)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("unfold", [True, False])
def test_both_ways_of_adding_the_columns_back_give_the_input_gradient(rng, geometry, unfold):
    # col2im_unfolded (vertical stride and dilation 1, a small copy) sums a cell's terms in
    # another order than col2im: both must give the reference's dx
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    x, W, _ = _make(rng, x_shape, w_shape)
    dy = rng.standard_normal(F.conv2d_output_shape(x_shape, w_shape, stride, padding, dilation))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conv_kernels, "UNFOLD_MAX_BYTES", 10**12 if unfold else -1)
        dx = F.conv2d_backward(dy, x, W, stride, padding, dilation, groups)[0]
    expected = ref.conv2d_backward(dy, x, W, stride, padding, dilation, groups)[0]
    np.testing.assert_allclose(dx, expected, rtol=1e-12, atol=1e-12)


def test_a_kept_matrix_someone_holds_is_never_handed_out_again(rng):
    # large enough (over scratch.MIN_KEPT_BYTES) for conv2d to recycle kept matrices: one
    # dropped serves again, one still held (or viewed) never does
    x1, x2 = rng.standard_normal((2, 4, 4, 16, 16))
    W = rng.standard_normal((3, 4, 3, 3))
    _, first = F.conv2d(x1, W, None, padding=1, keep_columns=True)
    expected1 = first.copy()
    del first
    _, second = F.conv2d(x2, W, None, padding=1, keep_columns=True)
    expected2 = second.copy()
    view = second[1:]
    del second
    _, third = F.conv2d(x1, W, None, padding=1, keep_columns=True)
    assert not np.shares_memory(third, view)
    np.testing.assert_array_equal(view, expected2[1:])
    np.testing.assert_array_equal(third, expected1)
    _, fourth = F.conv2d(x2, W, None, padding=1, keep_columns=True)
    assert not np.shares_memory(fourth, third)
    np.testing.assert_array_equal(third, expected1)
    np.testing.assert_array_equal(fourth, expected2)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_the_example_by_example_passes_match_the_reference(rng, geometry, monkeypatch):
    # large column blocks go example by example (im2col then products; products then col2im)
    monkeypatch.setattr(conv_kernels, "SMALL_PRODUCT_MACS", 0)
    monkeypatch.setattr(conv_kernels, "INTERLEAVE_MIN_BYTES", 0)
    x_shape, w_shape, stride, padding, dilation, groups = geometry
    x, W, b = _make(rng, x_shape, w_shape)
    y, columns = F.conv2d(x, W, b, stride, padding, dilation, groups, keep_columns=True)
    np.testing.assert_allclose(
        y, ref.conv2d(x, W, b, stride, padding, dilation, groups), rtol=1e-12, atol=1e-12
    )
    dy = rng.standard_normal(y.shape)
    got = F.conv2d_backward(dy, x, W, stride, padding, dilation, groups, columns=columns)
    expected = ref.conv2d_backward(dy, x, W, stride, padding, dilation, groups)
    for a, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)
