"""Results are bit-identical from run to run, in float32 too, at sizes where BLAS threads."""

import numpy as np

import nnsim.functional as F


def _conv_round(rng_seed):
    rng = np.random.default_rng(rng_seed)
    x = rng.standard_normal((16, 8, 16, 16)).astype(np.float32)
    W = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y = F.conv2d(x, W, b, 1, 1)
    grads = F.conv2d_backward(np.ones_like(y), x, W, 1, 1)
    return [y, *grads]


def test_conv_is_bit_identical_across_repeats():
    first = _conv_round(3)
    for _ in range(3):
        for a, b in zip(first, _conv_round(3), strict=True):
            np.testing.assert_array_equal(a, b)


def test_dense_and_batch_norm_are_bit_identical_across_repeats():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 784)).astype(np.float32)
    W = rng.standard_normal((128, 784)).astype(np.float32)
    runs = []
    for _ in range(3):
        y = F.linear(x, W, None)
        out, cache = F.batch_norm(
            y, np.ones(128, np.float32), np.zeros(128, np.float32), None, None
        )
        runs.append([out, *F.linear_backward(out, x, W), *F.batch_norm_backward(out, cache)])
    for other in runs[1:]:
        for a, b in zip(runs[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
