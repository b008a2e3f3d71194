"""The verdict kernel reads the metrics it judges by name, not by their column in a table."""

import math

import numpy as np
import pytest

from nnsim.kernels import verdicts as kv
from nnsim.sim import diagnostics as diag

# (grad_norm, dead_fraction, saturation, has_params) of layers meant to get each verdict
LAYERS = [
    (1.0, math.nan, 0.1, True),  # healthy, and the largest gradient of a layer with parameters
    (1e-6, math.nan, math.nan, True),  # vanishing: 1e-6 of the largest
    (math.inf, 0.0, math.nan, True),  # exploding
    (0.5, math.nan, 0.9, False),  # saturated
    (0.5, 0.8, math.nan, False),  # dead
    (5e3, 0.0, math.nan, False),  # exploding; without parameters, not the vanishing scale
]
EXPECTED = ["healthy", "vanishing", "exploding", "saturated", "dead", "exploding"]


def _rows(metrics):
    rows = np.full((len(LAYERS), len(metrics)), 0.25)  # the other metrics: anything
    for i, (grad, dead, saturation, _) in enumerate(LAYERS):
        rows[i, metrics.index("grad_norm")] = grad
        rows[i, metrics.index("dead_fraction")] = dead
        rows[i, metrics.index("saturation")] = saturation
    return rows


def test_the_kernel_judges_the_named_columns_it_is_given():
    grad_norm, dead_fraction, saturation, has_params = (
        np.array(c) for c in zip(*LAYERS, strict=True)
    )
    codes = np.empty(len(LAYERS), np.int8)
    t = diag.Thresholds()
    largest = kv.classify_layers(
        grad_norm,
        dead_fraction,
        saturation,
        has_params,
        t.exploding,
        t.vanishing,
        t.vanishing_absolute,
        t.dead,
        t.saturated,
        codes,
    )
    assert largest == 1.0
    assert [diag.VERDICTS[c] for c in codes] == EXPECTED


@pytest.mark.parametrize("seed", range(4))
def test_verdicts_do_not_depend_on_the_order_of_the_metric_columns(monkeypatch, seed):
    has_params = np.array([layer[3] for layer in LAYERS])
    codes, largest = diag.classify(_rows(diag.METRICS), has_params, diag.Thresholds())
    assert [diag.VERDICTS[c] for c in codes] == EXPECTED
    permuted = tuple(np.random.default_rng(seed).permutation(diag.METRICS).tolist())
    monkeypatch.setattr(diag, "METRICS", permuted)
    again, again_largest = diag.classify(_rows(permuted), has_params, diag.Thresholds())
    np.testing.assert_array_equal(again, codes)
    assert again_largest == largest


def test_a_single_layer_is_judged_like_many():
    # a one-layer column is contiguous, a column of several strided: same verdicts either way
    rows = _rows(diag.METRICS)
    codes, _ = diag.classify(rows, np.ones(len(rows), np.bool_), diag.Thresholds())
    alone, _ = diag.classify(rows[2:3], np.ones(1, np.bool_), diag.Thresholds())
    assert alone[0] == codes[2]
