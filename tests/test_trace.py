"""The trace: bounded memory on long runs, thinning that rewinds cleanly, and its exports."""

import csv
import json
import math

import numpy as np
import pytest

from nnsim.sim import METRICS
from nnsim.sim.trace import Trace


def fill(trace, start, stop):
    for i in range(start, stop):
        metrics = np.full((len(trace.layers), len(METRICS)), float(i))
        trace.append(i, {"loss": 1.0 / i}, metrics, ["healthy"] * len(trace.layers), {})


def test_a_long_run_keeps_memory_fixed_by_thinning_old_history():
    trace = Trace(["dense1", "relu1", "dense2"], {}, capacity=1000)
    size = trace.nbytes
    fill(trace, 1, 100_001)
    assert trace.nbytes == size == 1000 * (8 + 3 * 7 * 8 + 3 + 5 * 8)  # rows x (columns)
    assert trace.count <= 1000 and trace.stride == 128
    kept = trace.iterations[: trace.count]
    assert (kept % trace.stride == 0).all() and np.all(np.diff(kept) == trace.stride)
    assert kept[-1] == 100_000 - 100_000 % 128
    assert trace.metrics[trace.count - 1, 0, 0] == kept[-1]  # rows keep their own values


def test_thinned_traces_agree_after_truncation_and_replay():
    straight = Trace(["a"], {}, capacity=8)
    fill(straight, 1, 40)
    replayed = Trace(["a"], {}, capacity=8)
    fill(replayed, 1, 30)
    replayed.truncate(12)  # rewind to the start of iteration 12
    fill(replayed, 12, 40)
    n = straight.count
    assert replayed.count == n
    np.testing.assert_array_equal(replayed.iterations[:n], straight.iterations[:n])
    np.testing.assert_array_equal(replayed.metrics[:n], straight.metrics[:n])


def test_rows_must_go_forward():
    trace = Trace(["a"], {}, capacity=4)
    fill(trace, 1, 3)
    with pytest.raises(ValueError, match="iteration 2 after 2; truncate first"):
        fill(trace, 2, 3)


@pytest.fixture
def small_trace():
    trace = Trace(["dense1", "lstm1"], {"lstm1": 3}, capacity=16)
    for i in (1, 2):
        metrics = np.arange(14, dtype=float).reshape(2, 7) * i
        metrics[1, 2] = math.nan
        trace.append(
            i,
            {"loss": 0.5 / i, "accuracy": 0.25 * i},
            metrics,
            ["healthy", "vanishing"],
            {"lstm1": np.array([1e-3, 1e-2, 1.0]) * i},
        )
    return trace


def test_csv_export(small_trace, tmp_path):
    path = small_trace.export(tmp_path / "run.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 2
    assert rows[1]["iteration"] == "2" and float(rows[1]["loss"]) == 0.25
    assert rows[0]["lstm1.verdict"] == "vanishing" and rows[0]["lstm1.saturation"] == "nan"
    assert float(rows[1]["dense1.grad_norm"]) == 8.0
    assert float(rows[1]["lstm1.dh_norm_t1"]) == 2e-3


def test_npz_export_needs_no_pickle(small_trace, tmp_path):
    path = small_trace.export(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["metrics"].shape == (2, 2, 7)
        assert list(data["layer_names"]) == ["dense1", "lstm1"]
        assert list(data["metric_names"]) == list(METRICS)
        np.testing.assert_array_equal(data["dh_norms/lstm1"][0], [1e-3, 1e-2, 1.0])


def test_jsonl_export_writes_nan_as_null(small_trace, tmp_path):
    path = small_trace.export(tmp_path / "run.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [1, 2]
    assert rows[0]["layers"]["lstm1"]["saturation"] is None
    assert rows[0]["val_loss"] is None
    assert rows[1]["layers"]["dense1"]["verdict"] == "healthy"


def test_unknown_export_format_is_refused(small_trace, tmp_path):
    with pytest.raises(ValueError, match=r"run\.txt: a trace is written as .csv, .npz or .jsonl"):
        small_trace.export(tmp_path / "run.txt")
    assert not list(tmp_path.iterdir())
