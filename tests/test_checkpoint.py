"""Saving and loading weights and optimiser state: round trip, atomic writes, damaged files."""

import zipfile

import numpy as np
import pytest
from training import train_steps

from nnsim import checkpoint
from nnsim.checkpoint import CheckpointError
from nnsim.layers import BatchNorm, Conv2d, Dense, Flatten, ReLU
from nnsim.losses import CrossEntropyLoss
from nnsim.model import Sequential
from nnsim.optim import SGD, Adam


def make_model(seed=0, filters=3):
    layers = [Conv2d(filters, 3), BatchNorm(), ReLU(), Flatten(), Dense(4)]
    return Sequential(layers, input_shape=(1, 6, 6), seed=seed)


def train(model, optimizer, x, y, steps):
    train_steps(model, CrossEntropyLoss(), x, y, optimizer, steps)


@pytest.fixture
def batch(rng):
    return rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 4, 8)


def snapshot(model):
    return {k: v.copy() for k, v in {**model.parameters(), **model.buffers()}.items()}


def test_round_trip_resumes_training_exactly(tmp_path, batch):
    x, y = batch
    straight, opt = make_model(), Adam(0.01)
    train(straight, opt, x, y, 6)

    first, first_opt = make_model(), Adam(0.01)
    train(first, first_opt, x, y, 3)
    path = checkpoint.save(tmp_path / "run.npz", first, first_opt)
    resumed, resumed_opt = make_model(seed=99), Adam(0.01)  # different starting weights
    checkpoint.load(path, resumed, resumed_opt)
    assert resumed_opt.steps == 3
    train(resumed, resumed_opt, x, y, 3)
    for key, value in snapshot(straight).items():
        np.testing.assert_array_equal(snapshot(resumed)[key], value, err_msg=key)


def test_files_are_plain_npz_without_pickle(tmp_path):
    path = checkpoint.save(tmp_path / "weights", make_model())
    assert path.name == "weights.npz"
    with np.load(path, allow_pickle=False) as data:
        assert "param/conv1.W" in data.files and "buffer/bn1.running_var" in data.files
        assert str(data["nnsim/format"]) == checkpoint.FORMAT


def test_write_is_atomic(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "run.npz", make_model(seed=1))
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(path, make_model(seed=2))
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left


def assert_unchanged_after_failed_load(path, message):
    model = make_model(seed=5)
    before = snapshot(model)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(path, model)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_truncated_file(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", make_model())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_unchanged_after_failed_load(path, r"run\.npz: not a readable checkpoint")


def test_corrupted_bytes(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", make_model())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("param/dense1.W.npy")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the stored array
    data[start : start + 16] = bytes(16)
    path.write_bytes(bytes(data))
    assert_unchanged_after_failed_load(path, r"run\.npz: not a readable checkpoint.*CRC")


def test_not_a_checkpoint(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    assert_unchanged_after_failed_load(other, "not an nnsim checkpoint")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    assert_unchanged_after_failed_load(text, r"notes\.npz: not a readable checkpoint")
    assert_unchanged_after_failed_load(tmp_path / "missing.npz", "no such checkpoint file")


def test_mismatched_model_names_the_first_parameter_that_does_not_fit(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", make_model(filters=5))
    assert_unchanged_after_failed_load(
        path, r"param 'conv1.W' has shape \(5, 1, 3, 3\) in the file but \(3, 1, 3, 3\)"
    )
    smaller = Sequential([Flatten(), Dense(4)], input_shape=(1, 6, 6))
    path = checkpoint.save(tmp_path / "small.npz", smaller)
    assert_unchanged_after_failed_load(path, r"small\.npz: has no param 'conv1.W'")


def test_optimizer_state_must_match(tmp_path, batch):
    model, adam = make_model(), Adam(0.01)
    train(model, adam, *batch, 1)
    path = checkpoint.save(tmp_path / "run.npz", model, adam)
    with pytest.raises(CheckpointError, match="holds 'adam' optimiser state, not 'sgd'"):
        checkpoint.load(path, make_model(), SGD(0.1))
    bare = checkpoint.save(tmp_path / "bare.npz", model)
    with pytest.raises(CheckpointError, match="has no optimiser state"):
        checkpoint.load(bare, make_model(), Adam(0.01))
