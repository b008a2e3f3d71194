"""What the array API's fuzzer (tests/test_fuzz_functional.py) found, one fact each: hostile
arguments refused by name before any work, results in the input's dtype and rank, and the pool
window that read past its input."""

import numpy as np
import pytest

import nnsim.functional as F


@pytest.mark.parametrize(
    "call, error, start",
    [
        (
            lambda x, W: F.conv2d(x, W, None, padding=2**62),
            ValueError,
            "conv2d: padding must be at most",
        ),
        (
            lambda x, W: F.conv2d(x, W, None, padding=2**20),
            ValueError,
            "conv2d: the output (1, 2, 2097154",
        ),
        (
            lambda x, W: F.avg_pool2d(x, 2, stride=2**63),
            ValueError,
            "avg_pool2d: stride must be at most",
        ),
        (
            lambda x, W: F.leaky_relu(x, alpha=float("nan")),
            ValueError,
            "leaky_relu: alpha must be a finite",
        ),
        (
            lambda x, W: F.batch_norm(x, W[0, 0, 0], W[0, 0, 0], None, None, momentum=10**400),
            ValueError,
            "batch_norm: momentum must be a finite",
        ),
        (lambda x, W: F.softmax(x, axis=(1,)), ValueError, "softmax: axis (1,) is out of range"),
        (
            lambda x, W: F.clip_grad_norm(None, 1.0),
            TypeError,
            "clip_grad_norm: grads must be a dict",
        ),
        (
            lambda x, W: F.relu(np.broadcast_to(x[:1, :1, :1, :1], (2**20, 2**20, 2**10, 1))[::2]),
            ValueError,
            "relu: a contiguous copy of x",
        ),
        (
            lambda x, W: F.embedding(np.broadcast_to(np.zeros(1, int), (2**20, 2**20)), W[0, 0]),
            ValueError,
            "embedding: a contiguous copy of indices",  # was minutes reducing 2**40 indices
        ),
        (
            lambda x, W: F.pool_output_size(3, 2, 0, 0, False),
            ValueError,
            "pool_output_size: stride must be an int in [1,",
        ),
    ],
)
def test_hostile_arguments_are_refused_by_name_before_any_work(call, error, start):
    x, W = np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3))
    with pytest.raises(error) as info:
        call(x, W)
    assert str(info.value).startswith(start)


def test_results_keep_the_input_dtype_and_rank():
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 3, 2)
    _, cache = F.rnn(
        x,
        np.zeros((1, 2), np.float32),
        np.ones((2, 2), np.float32),
        np.eye(2, dtype=np.float32),
        None,
        None,
    )
    F.rnn_backward(np.ones((1, 3, 2), np.float32), cache)
    assert F.grad_norms_through_time(cache).dtype == np.float32  # was float64
    assert F.sigmoid(np.float32(0.0)).shape == ()  # a 0-d input was returned 1-d


@pytest.mark.parametrize("shape", [(1, 1, 3, 2), (2, 3, 5, 5), (1, 2, 4, 3)])
def test_ceil_mode_2x2_max_pool_reads_only_the_input(shape):
    # the unrolled 2x2 kernel read past the plane for the last, partial window (argmax 7 in a
    # 3x2 plane, found by the fuzzer)
    x = np.random.default_rng(3).standard_normal(shape)
    y, argmax = F.max_pool2d(x, 2, ceil_mode=True)
    windows = [
        [x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2] for j in range(y.shape[3])]
        for i in range(y.shape[2])
    ]
    expected = np.array([[w.max(axis=(2, 3)) for w in row] for row in windows]).transpose(
        2, 3, 0, 1
    )
    np.testing.assert_array_equal(y, expected)
    flat = x.reshape(*shape[:2], -1)
    picked = np.take_along_axis(flat, argmax.reshape(*shape[:2], -1), -1)
    np.testing.assert_array_equal(picked.reshape(y.shape), y)
