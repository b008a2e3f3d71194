"""Transfer learning: loading some layers from a checkpoint, class subsets, frozen layers
that stay bit-identical, and the shipped pre-trained weights."""

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnsim import checkpoint
from nnsim.cli import main
from nnsim.layers import Conv2d, Dense, Flatten
from nnsim.model import Sequential
from nnsim.scenario import SAMPLES, ScenarioError, load


def _model(seed, head=3):
    return Sequential(
        [Conv2d(2, 3, name="conv"), Flatten(), Dense(head, name="head")],
        input_shape=(1, 5, 5),
        seed=seed,
    )


def test_load_layers_copies_only_the_named_layers(tmp_path):
    source, target = _model(1), _model(2, head=4)  # a different head: only conv fits
    path = checkpoint.save(tmp_path / "source.npz", source)
    head_before = target.parameters()["head.W"].copy()
    checkpoint.load_layers(path, target, ["conv"])
    np.testing.assert_array_equal(target.parameters()["conv.W"], source.parameters()["conv.W"])
    np.testing.assert_array_equal(target.parameters()["head.W"], head_before)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (["conv9"], r"cannot load layer 'conv9': the model has no such layer"),
        (["head"], r"param 'head.W' has shape \(3, 18\) in the file but \(4, 18\) in the model"),
        (None, r"has shape"),  # every layer: the head does not fit
    ],
)
def test_load_layers_checks_everything_before_copying(tmp_path, layers, message):
    path = checkpoint.save(tmp_path / "source.npz", _model(1))
    target = _model(2, head=4)
    before = {k: v.copy() for k, v in target.parameters().items()}
    with pytest.raises(checkpoint.CheckpointError, match=message):
        checkpoint.load_layers(path, target, layers)
    for key, value in target.parameters().items():
        np.testing.assert_array_equal(value, before[key])


def test_checkpoints_get_ordinary_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = checkpoint.save(tmp_path / "w.npz", _model(1))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


LESSON = """
[data]
source = "digits"
keep_classes = [7, 3]
[model]
init_from = "weights.npz"
init_layers = ["conv1"]
layers = [
  { type = "conv", filters = 2, kernel = 3, name = "conv1", frozen = true },
  { type = "flatten" },
  { type = "dense", units = 2, name = "head" },
]
loss = "cross_entropy"
[train]
optimizer = "adam"
lr = 0.01
batch_size = 16
iterations = 5
"""


def _pretrained(tmp_path):
    model = Sequential(
        [Conv2d(2, 3, name="conv1"), Flatten(), Dense(10, name="head")],
        input_shape=(1, 8, 8),
        seed=5,
    )
    checkpoint.save(tmp_path / "weights.npz", model)
    return model


def test_a_scenario_starts_from_checkpoint_layers_and_keeps_frozen_ones_exact(tmp_path):
    pretrained = _pretrained(tmp_path)
    path = tmp_path / "lesson.toml"
    path.write_text(textwrap.dedent(LESSON))
    scenario = load(path)
    train = scenario.data.train
    assert set(np.unique(train.y)) == {0, 1} and train.class_names == ("7", "3")
    sim = scenario.simulator()
    loaded = pretrained.parameters()["conv1.W"]
    np.testing.assert_array_equal(sim.model.parameters()["conv1.W"], loaded)
    sim.run(5)
    np.testing.assert_array_equal(sim.model.parameters()["conv1.W"], loaded)
    assert sim.weight_change("conv1") == 0 and sim.weight_change("head") > 0


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"weights.npz"', '"missing.npz"', r"model.init_from: .*missing.npz: no such checkpoint"),
        ('["conv1"]', '["conv7"]', r"model.init_from: .*cannot load layer 'conv7'"),
        ('init_from = "weights.npz"\n', "", r"model.init_layers: names the layers to load"),
        (
            "keep_classes = [7, 3]",
            "keep_classes = [7, 7]",
            r"data.keep_classes: expected distinct class",
        ),
        (
            "keep_classes = [7, 3]",
            "keep_classes = [7, 12]",
            r"data.keep_classes: class 12 has no examples",
        ),
    ],
)
def test_bad_transfer_settings_are_named(tmp_path, old, new, message):
    _pretrained(tmp_path)
    path = tmp_path / "lesson.toml"
    path.write_text(textwrap.dedent(LESSON).replace(old, new))
    with pytest.raises(ScenarioError, match=message):
        load(path)


def test_the_shipped_pretrained_weights_are_what_their_scenario_makes(tmp_path, capsys):
    scenario = Path(SAMPLES) / "pretrained" / "digits_0_4.toml"
    out = tmp_path / "again.npz"
    assert main(["run", str(scenario), "--save", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    shipped, again = checkpoint.read(scenario.with_suffix(".npz")), checkpoint.read(out)
    params = sorted(k for k in shipped if k.startswith("param/"))
    assert params == sorted(k for k in again if k.startswith("param/")) and params
    for key in params:
        np.testing.assert_allclose(again[key], shipped[key], rtol=1e-9, atol=1e-12)


def test_the_lesson_and_its_variants_know_which_weights_they_start_from():
    lesson = load("finetune")
    assert lesson.model.init_from == SAMPLES / "pretrained" / "digits_0_4.npz"
    assert lesson.model.init_layers == ("conv1", "conv2")
    scratch = lesson.variants["random_features"]  # init_from = "" starts from random weights
    assert scratch.model.init_from is None and scratch.model.init_layers is None
    shipped = checkpoint.read(lesson.model.init_from)["param/conv1.W"]
    np.testing.assert_array_equal(lesson.build_model().parameters()["conv1.W"], shipped)
    assert not np.array_equal(scratch.build_model().parameters()["conv1.W"], shipped)
