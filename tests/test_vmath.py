"""The vectorisable exp, sigmoid and tanh inside the float32 kernels (nnsim.kernels.vmath)."""

import math

import numba
import numpy as np
import pytest

from nnsim.kernels.vmath import vexp, vsigmoid, vtanh

EPS32 = float(np.finfo(np.float32).eps)
TINY32 = float(np.finfo(np.float32).tiny)


def _elementwise(fn):
    @numba.njit(error_model="numpy")
    def apply(x):
        y = np.empty_like(x)
        for i in range(x.size):
            y[i] = fn(x[i])
        return y

    return apply


EXP, SIGMOID, TANH = _elementwise(vexp), _elementwise(vsigmoid), _elementwise(vtanh)


def _exact_sigmoid(x):
    e = np.exp(-np.abs(x))  # float64, which keeps the float32 range's tail exactly
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _relative_error_in_ulp(y, exact):
    # error measured in float32 ulp of the exact value; subnormal results in absolute terms
    scale = np.maximum(np.abs(exact), TINY32)
    return np.abs(y.astype(np.float64) - exact) / scale / EPS32


@pytest.fixture(scope="module")
def grid():
    return np.concatenate(
        [
            np.linspace(-110, 95, 400_001),
            np.linspace(-1, 1, 100_001),
            np.geomspace(1e-40, 1e2, 20_001),
            -np.geomspace(1e-40, 1e2, 20_001),
        ]
    ).astype(np.float32)


def test_float32_exp_is_within_one_ulp_and_overflows_and_underflows_where_libm_does(grid):
    y = EXP(grid)
    with np.errstate(over="ignore", under="ignore"):
        exact = np.exp(grid.astype(np.float64))
        libm32 = np.exp(grid)
    normal = (exact >= TINY32) & (exact <= np.finfo(np.float32).max)
    assert _relative_error_in_ulp(y[normal], exact[normal]).max() < 1.0
    # overflow to inf at the same inputs; subnormal results to within one subnormal step
    np.testing.assert_array_equal(np.isinf(y), np.isinf(libm32))
    subnormal = exact < TINY32
    assert np.abs(y[subnormal] - exact[subnormal]).max() <= 2.0**-149
    assert EXP(np.float32([-200.0]))[0] == 0.0


def test_float32_sigmoid_and_tanh_are_within_two_ulp_everywhere(grid):
    x64 = grid.astype(np.float64)
    assert _relative_error_in_ulp(SIGMOID(grid), _exact_sigmoid(x64)).max() < 2.0
    assert _relative_error_in_ulp(TANH(grid), np.tanh(x64)).max() < 2.0


def test_special_values_pass_through_as_libm_gives_them():
    x = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0])
    np.testing.assert_array_equal(EXP(x), [np.nan, np.inf, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(SIGMOID(x), [np.nan, 1.0, 0.0, 0.5, 0.5])
    tanh = TANH(x)
    np.testing.assert_array_equal(tanh, [np.nan, 1.0, -1.0, 0.0, -0.0])
    assert np.signbit(tanh[4]) and not np.signbit(tanh[3])


def test_results_stay_float32_and_float64_is_libms_own():
    assert EXP(np.float32([1.0])).dtype == np.float32
    x = np.linspace(-30, 30, 1001)
    np.testing.assert_array_equal(EXP(x), [math.exp(v) for v in x])
    np.testing.assert_array_equal(TANH(x), [math.tanh(v) for v in x])
