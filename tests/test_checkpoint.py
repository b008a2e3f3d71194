"""Saving and loading weights and optimiser state: round trip, atomic writes, damaged files."""

import io
import os
import re
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_fuzz_files import members, npy, rebuild
from training import train_steps

from nnsim import checkpoint
from nnsim.checkpoint import CheckpointError
from nnsim.cli import main
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


# --- hostile and damaged files: refused whole, naming the file and the entry ----------------


def with_entries(path, **changes):
    """``path`` rewritten with entries replaced (an array) or removed (None); the keyword
    names use "__" for "/"."""
    entries = members(path.read_bytes())
    for name, value in changes.items():
        member = name.replace("__", "/") + ".npy"
        entries.pop(member, None)
        if value is not None:
            entries[member] = npy(value)
    path.write_bytes(rebuild(entries))
    return path


def saved_with_adam(tmp_path, batch):
    model, adam = make_model(seed=1), Adam(0.01)
    train(model, adam, *batch, 2)
    return checkpoint.save(tmp_path / "run.npz", model, adam)


def assert_nothing_changes(path, optimizer_kind, message):
    """A load that must fail: CheckpointError naming the file, model and optimiser as before."""
    model, optimizer = make_model(seed=5), optimizer_kind()
    rng = np.random.default_rng(3)
    train(model, optimizer, rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 4, 8), 1)
    before = snapshot(model)
    before_state = {(k, s): v.copy() for k, st in optimizer.state.items() for s, v in st.items()}
    with pytest.raises(CheckpointError, match=rf"{path.name}: .*{message}"):
        checkpoint.load(path, model, optimizer)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    after_state = {(k, s): v for k, st in optimizer.state.items() for s, v in st.items()}
    assert after_state.keys() == before_state.keys() and optimizer.steps == 1
    for key, value in after_state.items():
        np.testing.assert_array_equal(value, before_state[key], err_msg=str(key))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, r"has no 'optim/steps'"),
        ("abc", r"'optim/steps' holds <U3 values; expected integer"),
        (1.5, r"'optim/steps' holds float64 values; expected integer"),
        (np.arange(3), r"'optim/steps' has shape \(3,\) in the file but \(\) expected"),
        (-1, r"'optim/steps' is -1; expected"),
    ],
)
def test_a_bad_step_count_loads_nothing(tmp_path, batch, value, message):
    path = with_entries(saved_with_adam(tmp_path, batch), optim__steps=value)
    assert_nothing_changes(path, lambda: Adam(0.01), message)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"optim__state__dense1.W__exp_avg": np.zeros(7)}, r"has shape \(7,\) in the file but"),
        ({"optim__state__dense1.W__exp_avg": np.zeros(192, np.int64)}, "expected floating"),
        ({"optim__state__dense1.W__step": np.zeros(1)}, r"'optim/state/dense1.W/step' holds "),
        ({"optim__state__dense1.W__step": np.array([-4])}, r"expected counts >= 0"),
        ({"optim__state__dense1.W__exp_avg_sq": None}, r"'dense1.W' has no slot 'exp_avg_sq'"),
        ({"optim__state__dense1.W__velocity": np.zeros(192)}, r"not a slot of adam"),
        ({"optim__state__dense1.W": np.zeros(192)}, r"'optim/state/dense1.W' names no slot"),
        ({"optim__state__ghost.W__exp_avg": np.zeros(3)}, r"for 'ghost.W', which the model"),
        ({"optim__class": "lbfgs"}, r"holds 'lbfgs' optimiser state, not 'adam'"),
    ],
)
def test_every_optimizer_state_slot_is_checked_before_anything_loads(
    tmp_path, batch, change, message
):
    path = with_entries(saved_with_adam(tmp_path, batch), **change)
    assert_nothing_changes(path, lambda: Adam(0.01), message)


def test_a_loaded_optimizer_state_steps_on(tmp_path, batch):
    """What load accepts is what the optimiser would have made: the next step runs."""
    for make in (lambda: Adam(0.01), lambda: SGD(0.1, momentum=0.9)):
        source, optimizer = make_model(seed=1), make()
        train(source, optimizer, *batch, 2)
        path = checkpoint.save(tmp_path / "run.npz", source, optimizer)
        model, resumed = make_model(seed=2), make()
        checkpoint.load(path, model, resumed)
        for key, state in resumed.state.items():
            for slot, value in state.items():
                assert value.dtype == optimizer.state[key][slot].dtype and value.flags.writeable
        train(model, resumed, *batch, 1)


def test_sizes_are_checked_before_reading(tmp_path, batch):
    path = saved_with_adam(tmp_path, batch)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    entries = members(path.read_bytes())
    entries["optim/state/dense1.W/exp_avg.npy"] = header.getvalue() + bytes(64)
    path.write_bytes(rebuild(entries))
    assert_nothing_changes(path, lambda: Adam(0.01), r"has shape \(1000000000000,\) in the file")
    entries["param/dense1.W.npy"] = npy(np.zeros(200_000))  # 1.6 MB: more than it can take
    path.write_bytes(rebuild(entries, zipfile.ZIP_DEFLATED))  # (a small file)
    assert_nothing_changes(path, lambda: Adam(0.01), "claims 1600128 bytes in the zip directory")
    big = tmp_path / "big.npz"
    big.write_bytes(path.read_bytes() + bytes(2 << 20))
    assert_nothing_changes(big, lambda: Adam(0.01), "refused without reading it")


def test_fifos_and_devices_are_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer for ever
    for path in (fifo, Path("/dev/zero"), tmp_path):
        start = time.monotonic()
        with pytest.raises(CheckpointError, match="not a regular file"):
            checkpoint.load(path, make_model())
        assert time.monotonic() - start < 1.0


def test_a_damaged_init_from_is_exit_2_with_the_scenario_line_and_no_traceback(tmp_path, capsys):
    saved = checkpoint.save(tmp_path / "weights.npz", make_model())
    saved.write_bytes(saved.read_bytes()[:-100])
    scenario = tmp_path / "lesson.toml"
    scenario.write_text(
        textwrap.dedent(
            """
            [data]
            source = "random"
            shape = [1, 6, 6]
            classes = 4
            [model]
            init_from = "weights.npz"
            layers = [
              { type = "conv", filters = 3, kernel = 3 },
              { type = "batchnorm" }, { type = "relu" }, { type = "flatten" },
              { type = "dense", units = 4 },
            ]
            loss = "cross_entropy"
            [train]
            iterations = 2
            """
        )
    )
    assert main(["run", str(scenario), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n\n") == 0
    assert re.search(
        r"lesson\.toml.*model\.init_from.*weights\.npz: not a readable checkpoint", err
    )
