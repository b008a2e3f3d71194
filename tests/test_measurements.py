"""The measurements behind every diagnostic: float64 sums that run as SIMD reductions, the
activation statistics, the always-on non-finite count, the verdicts of all layers at once, and
the weight and step sizes the optimisers measure while they update."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnsim.kernels import elementwise as ke
from nnsim.optim import SGD, Adagrad, Adam, RMSprop
from nnsim.sim import diagnostics as diag

SIZES = [1, 7, 8, 33, 1000, 4099]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_sum_of_squares_is_the_float64_sum_and_repeats_exactly(rng, dtype, size):
    a = rng.standard_normal(size).astype(dtype)
    expected = float(np.sum(a.astype(np.float64) ** 2))
    assert ke.sum_of_squares(a) == pytest.approx(expected, rel=1e-13)
    assert ke.sum_of_squares(a) == ke.sum_of_squares(a.copy())  # same bits every call


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", SIZES)
def test_a_norm_does_not_depend_on_the_arrays_shape_or_layout(rng, dtype, size):
    # the sweep measures gradients and outputs as they are, stepping measures them flattened:
    # a trace must not change with the path
    a = rng.standard_normal((size, 6)).astype(dtype)
    flat = ke.sum_of_squares(a.reshape(-1))
    assert ke.sum_of_squares(a) == flat
    assert ke.sum_of_squares(a.reshape(size, 2, 3, 1)) == flat
    assert ke.sum_of_squares(a.T) == ke.sum_of_squares(np.ascontiguousarray(a.T).reshape(-1))
    out = np.empty(3)
    ke.gradient_squares(a.reshape(-1), a[0], a[:0].reshape(-1), out)
    assert out[0] == flat and out[1] == ke.sum_of_squares(a[0]) and out[2] == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sums_still_see_nan_and_inf(rng, bad):
    a = rng.standard_normal(1001).astype(np.float32)
    a[517] = bad
    assert not math.isfinite(ke.sum_of_squares(a))
    out = np.empty(4)
    ke.activation_stats(a.reshape(7, 143), 1, np.empty(1, np.bool_), out)
    assert not math.isfinite(out[0]) and not math.isfinite(out[1])


def test_count_nonfinite_counts_each_kind(rng):
    a = rng.standard_normal(999).astype(np.float32)
    assert ke.count_nonfinite(a) == (0, 0)
    a[[3, 500]] = np.nan
    a[[10, 11, 998]] = [np.inf, -np.inf, np.inf]
    assert ke.count_nonfinite(a) == (2, 3)


def reference_stats(y, code):
    y = y.astype(np.float64)
    flat = y.reshape(-1)
    if code == 1:
        saturation = np.mean(flat * (1 - flat) < 0.0125)
    elif code == 2:
        saturation = np.mean(1 - flat**2 < 0.05)
    elif code == 3:
        saturation = np.mean((1 - np.abs(flat)) ** 2 < 0.05)
    else:
        saturation = np.nan
    dead = np.mean(np.all(y == 0, axis=0)) if code == 4 else np.nan
    return [flat.mean(), flat.std(), saturation, dead]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "code, make",
    [
        (0, lambda x: 3 * x + 5),
        (1, lambda x: 1 / (1 + np.exp(-4 * x))),
        (2, lambda x: np.tanh(3 * x)),
        (3, lambda x: 3 * x / (1 + np.abs(3 * x))),
        (4, lambda x: np.maximum(x - 1.5, 0)),  # many units dead for the whole batch
    ],
)
def test_activation_stats_match_numpy(rng, dtype, code, make):
    y = make(rng.standard_normal((37, 45))).astype(dtype)
    out, alive = np.empty(4), np.empty(45, np.bool_)
    ke.activation_stats(y, code, alive, out)
    np.testing.assert_allclose(out, reference_stats(y, code), rtol=1e-12, atol=1e-15)
    if code == 4:
        assert 0 < out[3] < 1  # the fixture has dead and living units
    again = np.empty(4)
    ke.activation_stats(y.copy(), code, alive, again)
    np.testing.assert_array_equal(again, out)


finite_or_not = st.one_of(
    st.floats(0, 1e6, allow_nan=False),
    st.sampled_from([0.0, 1e-9, 1e-5, 2e3, math.nan, math.inf]),
)


def documented_verdict(row, largest, t):
    """The rules of nnsim.sim.diagnostics' docstring, in their order of precedence."""
    g = row[diag.METRICS.index("grad_norm")]
    if not math.isnan(g):
        if not math.isfinite(g) or g > t.exploding:
            return "exploding"
        if g < t.vanishing_absolute or (g / largest if largest > 0 else 1.0) < t.vanishing:
            return "vanishing"
    if row[diag.METRICS.index("dead_fraction")] > t.dead:
        return "dead"
    if row[diag.METRICS.index("saturation")] > t.saturated:
        return "saturated"
    return "healthy"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(finite_or_not, st.floats(0, 1), st.floats(0, 1), st.booleans(), st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_every_layer_gets_the_verdict_of_the_documented_rules(layers):
    thresholds = diag.Thresholds()
    rows = np.full((len(layers), len(diag.METRICS)), np.nan)
    grad = diag.METRICS.index("grad_norm")
    for i, (grad_norm, saturation, dead, with_sat, with_dead) in enumerate(layers):
        rows[i, grad] = grad_norm
        rows[i, diag.METRICS.index("saturation")] = saturation if with_sat else np.nan
        rows[i, diag.METRICS.index("dead_fraction")] = dead if with_dead else np.nan
    has_params = np.array([i % 2 == 0 for i in range(len(layers))])
    codes, largest = diag.classify(rows, has_params, thresholds)
    scales = rows[has_params, grad]
    scales = scales[np.isfinite(scales)]
    assert largest == (scales.max() if scales.size else 0.0)  # the vanishing scale
    expected = [documented_verdict(row, largest, thresholds) for row in rows.tolist()]
    assert [diag.VERDICTS[c] for c in codes] == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0.1),
        lambda: SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: Adagrad(0.1),
        lambda: RMSprop(0.01, momentum=0.5, centered=True),
        lambda: Adam(0.01, weight_decay=0.01),
    ],
)
def test_an_optimiser_measures_its_own_step_without_changing_it(rng, make):
    params = {"w": rng.standard_normal((13, 7)).astype(np.float32), "b": np.ones(7, np.float32)}
    plain = {k: v.copy() for k, v in params.items()}
    measured_opt, plain_opt = make(), make()
    for _ in range(3):
        grads = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in params.items()}
        before = {k: v.astype(np.float64) for k, v in params.items()}
        sizes = np.empty((2, 2))
        measured_opt.step(params, grads, sizes)
        plain_opt.step(plain, grads)
        for row, key in enumerate(params):
            np.testing.assert_array_equal(params[key], plain[key])  # the same update, bit for bit
            after = params[key].astype(np.float64)
            expected = [np.sum(after**2), np.sum((after - before[key]) ** 2)]
            np.testing.assert_allclose(sizes[row], expected, rtol=1e-12)


def test_the_sizes_array_must_fit_the_parameters():
    with pytest.raises(ValueError, match=r"sizes must be a \(1, 2\) float64 array"):
        SGD(0.1).step({"w": np.ones(3)}, {"w": np.ones(3)}, np.empty((2, 2)))


def test_large_finite_float32_values_square_in_float64_without_overflow():
    # a float32 square overflows above 1.8e19; a gradient norm must not turn inf there
    a = np.array([3e20, -4e20], dtype=np.float32)
    assert ke.sum_of_squares(a) == pytest.approx(25e40, rel=1e-6)
    out = np.empty(4)
    ke.activation_stats(a.reshape(1, 2), 0, np.empty(1, np.bool_), out)
    assert out[1] == pytest.approx(3.5e20, rel=1e-6)
