"""Scenario files: what builds, and every error naming the file, the line and the key path."""

import json
import textwrap

import numpy as np
import pytest

from nnsim.layers import Dense, Sigmoid
from nnsim.scenario import ScenarioError, load

GOOD = """
[lesson]
title = "Spirals"
text = "Watch the loss."

[data]
source = "spirals"
n_per_class = 30
validation = 0.2

[model]
layers = [
  { type = "dense", units = 8, activation = "sigmoid", repeat = 3 },
  { type = "residual", layers = [ { type = "dense", units = 8 }, { type = "tanh" } ] },
  { type = "dense", units = 2, name = "head" },
]
loss = "cross_entropy"

[train]
optimizer = { type = "sgd", momentum = 0.9 }
lr = 0.05
batch_size = 16
iterations = 12
eval_every = 4
l2 = 1e-3

[diagnostics]
vanishing = 1e-3

[[breakpoints]]
when = "loss > 100"

[[expect]]
check = "loss < 5"
at = 6
"""


def write(tmp_path, text, name="lesson.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_scenario_builds_its_data_model_and_training(tmp_path):
    scenario = load(write(tmp_path, GOOD))
    assert scenario.title == "Spirals" and scenario.text == "Watch the loss."
    model = scenario.build_model()
    layers = list(model.leaves())
    assert [type(layer) for layer in layers[:6]] == [Dense, Sigmoid] * 3
    assert layers[-1].name == "head" and layers[0].l2 == 1e-3
    assert len(scenario.data.train) == 48 and len(scenario.data.validation) == 12
    sim = scenario.simulator()
    assert sim.optimizer.momentum == 0.9 and sim.optimizer.lr == 0.05
    assert sim.thresholds.vanishing == 1e-3
    assert [bp.text for bp in sim.breakpoints] == ["loss > 100"]
    assert scenario.expectations[0].at == 6
    sim.continue_()
    assert sim.completed == 12 and not np.isnan(sim.val_loss)


def test_an_architecture_scenario(tmp_path):
    text = """
    [data]
    source = "digits"
    upsample = 4
    limit = 64
    [model]
    architecture = "lenet5"
    loss = "cross_entropy"
    dtype = "float32"
    """
    model = load(write(tmp_path, text)).build_model()
    assert model.input_shape == (1, 32, 32) and model.output_shape == (10,)
    assert model.dtype == np.float32 and model.summary().totals["params"] == 61_706


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (("[train]", "[trian]"), 19, r"trian: unknown table \[trian\]; did you mean 'train'\?"),
        (
            ("batch_size = 16", "batchsize = 16"),
            22,
            r"train.batchsize: unknown key 'batchsize'; did you mean 'batch_size'\?",
        ),
        (
            ("batch_size = 16", 'batch_size = "16"'),
            22,
            r"train.batch_size: expected an integer, got '16' \(a string\)",
        ),
        (
            ("units = 2, name", "units = 0, name"),
            15,
            r"model.layers\[2\].units: must be at least 1, got 0",
        ),
        (
            ('type = "tanh"', 'type = "tahn"'),
            14,
            r"model.layers\[1\].layers\[1\].type: unknown layer type 'tahn'; did you mean 'tanh'\?",
        ),
        (
            ("n_per_class = 30", "n_per_klass = 30"),
            8,
            r"data.n_per_klass: unknown option 'n_per_klass' of spirals; did you mean 'n_per_class'\?",
        ),
        (
            ('loss = "cross_entropy"', 'loss = "crossentropy"'),
            17,
            r"model.loss.type: unknown value 'crossentropy'; did you mean 'cross_entropy'\?",
        ),
        (
            ('check = "loss < 5"', 'check = "loss < "'),
            34,
            r"expect\[0\].check: the condition ends too early; expected a value at column 8",
        ),
        (
            ('when = "loss > 100"', 'when = "grad_norm(dense9) > 1"'),
            31,
            r"breakpoints\[0\].when: unknown layer 'dense9'",
        ),
        (
            ("at = 6", "at = 60"),
            35,
            r"expect\[0\].at: must be between 1 and the 12 iterations, got 60",
        ),
        (
            ("momentum = 0.9", "momentun = 0.9"),
            20,
            r"unknown option 'momentun' of SGD; did you mean 'momentum'\?",
        ),
        (
            ("vanishing = 1e-3", "vanish = 1e-3"),
            28,
            r"diagnostics.vanish: unknown key 'vanish'; did you mean 'vanishing'\?",
        ),
        (("lr = 0.05", "lr = -1"), 21, r"train.lr: must be greater than 0, got -1"),
        (('activation = "sigmoid"', 'activation = "sigmod"'), 13, r"did you mean 'sigmoid'\?"),
    ],
)
def test_errors_name_the_file_line_and_key_path(tmp_path, edit, line, message):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError, match=message) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:{line}: " if line else f"{path}")
    assert info.value.line == line


def test_toml_syntax_errors_give_the_parser_line(tmp_path):
    path = write(tmp_path, GOOD.replace("iterations = 12", "iterations = = 12"))
    with pytest.raises(ScenarioError, match=r":23: not valid TOML: .*\(at line 23, column 14\)"):
        load(path)


def test_a_model_that_does_not_fit_its_data_names_the_layer(tmp_path):
    text = """
    [data]
    source = "digits"
    [model]
    layers = [ { type = "conv", filters = 4, kernel = 3 }, { type = "dense", units = 10 } ]
    loss = "cross_entropy"
    """
    with pytest.raises(ScenarioError, match=r"model: dense1 \(Dense\) expects .* put a Flatten"):
        load(write(tmp_path, text))


def test_users_own_data_from_npz_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "points.npz", x=rng.standard_normal((40, 3)), y=rng.integers(0, 2, 40))
    (tmp_path / "points.csv").write_text(
        "a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    )
    base = """
    [data]
    source = "file"
    path = "{path}"
    [model]
    layers = [ {{ type = "dense", units = 2 }} ]
    loss = "cross_entropy"
    """
    npz = load(write(tmp_path, base.format(path="points.npz"), "a.toml"))
    assert npz.data.train.x.shape == (40, 3) and npz.data.train.y.dtype.kind == "i"
    from_csv = load(write(tmp_path, base.format(path="points.csv"), "b.toml"))
    assert from_csv.data.train.x.shape == (20, 2)
    assert from_csv.data.train.y.tolist() == [i % 2 for i in range(20)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: p.write_bytes(b"PK\x03\x04 truncated"),
            r"bad\.npz cannot be read \(truncated or corrupted\?\)",
        ),
        (lambda p: np.savez(p, x=np.zeros((3, 2))), r"bad\.npz has no array 'y'"),
        (
            lambda p: np.savez(p, x=np.array([[np.nan, 1.0]]), y=np.array([0])),
            r"x has a NaN or inf value at \(0, 0\)",
        ),
        (lambda p: np.savez(p, x=np.zeros((3, 2)), y=np.zeros(2)), r"x has 3 examples but y has 2"),
    ],
)
def test_damaged_data_files_are_reported(tmp_path, make, message):
    make(tmp_path / "bad.npz")
    text = """
    [data]
    source = "file"
    path = "bad.npz"
    [model]
    layers = [ { type = "dense", units = 2 } ]
    loss = "mse"
    """
    with pytest.raises(ScenarioError, match=rf"lesson\.toml:4: data\.path: .*{message}"):
        load(write(tmp_path, text))


def test_a_bad_csv_value_names_its_line(tmp_path):
    (tmp_path / "d.csv").write_text("a,label\n1,0\noops,1\n")
    text = """
    [data]
    source = "file"
    path = "d.csv"
    [model]
    layers = [ { type = "dense", units = 2 } ]
    loss = "cross_entropy"
    """
    with pytest.raises(ScenarioError, match=r"d\.csv:3: 'oops' is not a number"):
        load(write(tmp_path, text))


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nothere\.toml: no such scenario file"):
        load(tmp_path / "nothere.toml")


def test_variants_change_one_thing_and_keep_the_data_and_seed(tmp_path):
    scenario = load(write(tmp_path, GOOD))
    relu = scenario.variant(activation=("sigmoid", "relu"), init="he_normal")
    kinds = [type(layer).__name__ for layer in relu.build_model().leaves()]
    assert kinds[:6] == ["Dense", "ReLU"] * 3 and "Sigmoid" not in kinds
    assert relu.build_model().layer("dense1").init == "he_normal"
    assert relu.data is scenario.data and relu.seed == scenario.seed
    adam = scenario.variant(optimizer="adam", lr=0.01)
    assert type(adam.build_optimizer()).__name__ == "Adam" and adam.build_optimizer().lr == 0.01
    assert type(scenario.build_optimizer()).__name__ == "SGD"  # the original is unchanged
    with pytest.raises(ValueError, match="unknown optimiser 'adma'; did you mean 'adam'"):
        scenario.variant(optimizer="adma")
    with pytest.raises(ScenarioError, match="unknown activation 'rleu'; did you mean 'relu'"):
        scenario.variant(activation=("sigmoid", "rleu"))


VARIANTS = (
    GOOD.replace(
        "[[breakpoints]]",
        """[[variants]]
name = "relu"
title = "ReLU instead of sigmoid"
replace_activation = ["sigmoid", "relu"]
init = "he_normal"

[[variants]]
name = "slow"
train = { lr = 0.001 }

[[breakpoints]]""",
    )
    + """
[[expect]]
check = "relu.grad_norm(dense1) > grad_norm(dense1) and slow.loss > relu.loss"
"""
)


def test_variants_merge_into_the_lesson_and_can_be_compared(tmp_path):
    scenario = load(write(tmp_path, VARIANTS))
    assert list(scenario.variants) == ["relu", "slow"]
    assert scenario.variant_titles["relu"] == "ReLU instead of sigmoid"
    relu, slow = scenario.variants["relu"], scenario.variants["slow"]
    assert "ReLU" in [type(layer).__name__ for layer in relu.build_model().leaves()]
    assert slow.optimizer_spec["options"]["lr"] == 0.001
    assert slow.optimizer_spec["options"]["momentum"] == 0.9  # merged, not replaced
    assert slow.data.train is not None and slow.batch_size == 16
    assert scenario.expectations[-1].check.startswith("relu.grad_norm(dense1)")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'check = "relu.grad_norm(dense1)',
            'check = "relx.grad_norm(dense1)',
            "unknown variant 'relx'; did you mean 'relu'",
        ),
        ('name = "slow"', 'name = "relu"', "a second variant named 'relu'"),
        (
            "train = { lr = 0.001 }",
            "trian = { lr = 0.001 }",
            "unknown key 'trian'; did you mean 'train'",
        ),
        (
            'check = "loss < 5"\nat = 6',
            'check = "slow.loss < 5"\nat = 6',
            "a check that compares variants is made at the end",
        ),
    ],
)
def test_variant_mistakes_are_reported(tmp_path, old, new, message):
    assert old in VARIANTS
    with pytest.raises(ScenarioError, match=message):
        load(write(tmp_path, VARIANTS.replace(old, new)))


def test_verify_runs_the_variants_and_checks_across_them(tmp_path, capsys):
    from nnsim.cli import main

    path = write(tmp_path, VARIANTS)
    assert main(["verify", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["check"].startswith("relu.grad_norm") and rows[-1]["passed"]


def _count_reading_and_building(monkeypatch):
    """Counters of layer tables read and models built while scenarios load."""
    import nnsim.scenario.layers as layer_tables
    import nnsim.scenario.spec as spec

    counts = {"tables": 0, "models": 0}
    read_one, sequential = layer_tables._parse_one, spec.Sequential

    def counted_read(*args):
        counts["tables"] += 1
        return read_one(*args)

    def counted_model(*args, **kwargs):
        counts["models"] += 1
        return sequential(*args, **kwargs)

    monkeypatch.setattr(layer_tables, "_parse_one", counted_read)
    monkeypatch.setattr(spec, "Sequential", counted_model)
    return counts


def test_loading_reads_each_layer_table_once_and_builds_each_model_once(monkeypatch):
    counts = _count_reading_and_building(monkeypatch)
    lesson = load("activations")  # one layer table of its own, one in each variant but maxout
    maxout_layers = len(lesson.variants["maxout"].model.layers)  # which replaces the list
    expected = len(lesson.variants) + maxout_layers
    assert counts == {"tables": expected, "models": 1 + len(lesson.variants)}
    assert {"tanh", "relu", "softmax", "maxout"} <= set(lesson.variants)
    counts.update(tables=0, models=0)
    lesson = load("learning_rate")  # variants that change only [train]
    assert counts == {"tables": len(lesson.model.layers), "models": 1}
    for variant in lesson.variants.values():  # the lesson's model and data, not copies
        assert variant.model is lesson.model and variant.data is lesson.data
    assert lesson.variants["too_large"].optimizer.lr == 100.0
    lesson.build_model()
    assert counts["tables"] == len(lesson.model.layers)  # a model is built from its specs


def test_expectations_hold_their_parsed_condition(tmp_path):
    from nnsim.sim.conditions import Condition

    scenario = load(write(tmp_path, VARIANTS))
    first, across = scenario.expectations
    assert isinstance(first.condition, Condition) and first.condition.text == first.check
    assert (first.at, first.condition.uses_variants) == (6, False)
    assert across.at is None and across.condition.uses_variants


def test_specs_are_frozen_and_a_variant_is_a_changed_copy(tmp_path):
    import dataclasses

    scenario = load(write(tmp_path, GOOD))
    with pytest.raises(dataclasses.FrozenInstanceError):
        scenario.optimizer.lr = 1.0
    faster = scenario.variant(lr=0.5)
    assert faster.optimizer.lr == 0.5 and faster.build_optimizer().momentum == 0.9
    assert scenario.optimizer.lr == 0.05 and faster.model is scenario.model


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("lr = 0.05", "lr = 0", r":21: train.lr: must be greater than 0, got 0"),
        ("lr = 0.05", "lr = inf", r":21: train.lr: must be a finite number, got inf"),
        (
            'optimizer = { type = "sgd", momentum = 0.9 }\nlr = 0.05',
            'optimizer = { type = "sgd", momentum = 0.9, lr = 0 }',
            r":20: train.optimizer.lr: must be greater than 0, got 0",
        ),
    ],
)
def test_every_learning_rate_follows_one_rule(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(ScenarioError, match=message):
        load(write(tmp_path, GOOD.replace(old, new)))
    with pytest.raises(ValueError, match="the learning rate must be greater than 0, got 0"):
        load(write(tmp_path, GOOD)).variant(lr=0.0)


def test_a_variant_table_naming_its_type_replaces_the_lessons_and_others_merge(tmp_path):
    text = VARIANTS.replace(
        'name = "slow"\ntrain = { lr = 0.001 }',
        'name = "slow"\ntrain = { lr = 0.001 }\n\n[[variants]]\nname = "adam"\n'
        'train = { optimizer = { type = "adam" } }',
    )
    scenario = load(write(tmp_path, text))
    adam = scenario.variants["adam"]  # the lesson's momentum is not carried into Adam
    assert adam.optimizer_spec == {"type": "adam", "options": {"lr": 0.05}}


def test_a_data_source_is_a_registered_loader(tmp_path, monkeypatch):
    from nnsim.data import Dataset
    from nnsim.scenario import data

    def ramp(table, seed):
        n = table.integer("n", 4, minimum=1)
        return Dataset("ramp", np.arange(n, dtype=float)[:, None], np.arange(n) % 2, ("a", "b"))

    monkeypatch.setitem(data.SOURCES, "ramp", ramp)
    text = """
    [data]
    source = "ramp"
    n = 6
    [model]
    layers = [ { type = "dense", units = 2 } ]
    loss = "cross_entropy"
    """
    scenario = load(write(tmp_path, text))
    assert scenario.data.source == "ramp" and scenario.data.train.x[:, 0].tolist() == [
        0,
        1,
        2,
        3,
        4,
        5,
    ]


GAN = """
[gan]
iterations = 10
[generator]
layers = [ { type = "dense", units = 4, activation = "tanh" }, { type = "dense", units = 1 } ]
optimizer = { type = "adam", lr = 0.002, betas = [0.5, 0.999] }
[discriminator]
layers = [ { type = "dense", units = 4 }, { type = "dense", units = 1, activation = "sigmoid" } ]
[[variants]]
name = "slow"
generator = { optimizer = { lr = 0.0001 } }
[[expect]]
check = "slow.d_loss > 0"
at = "end"
"""

RACE = """
[surface]
name = "saddle"
[optimizers]
sgd = { type = "sgd", lr = 0.05 }
[[variants]]
name = "valley"
surface = { name = "quadratic" }
[[expect]]
check = "valley.distance(sgd) >= 0"
at = "end"
"""


def test_every_kind_reads_variants_and_checks_with_one_grammar(tmp_path):
    gan = load(write(tmp_path, GAN, "gan.toml"))
    slow = gan.variants["slow"].networks["generator"].optimizer  # merged into the lesson's
    assert (slow.type, slow.lr, dict(slow.options)["betas"]) == ("adam", 0.0001, (0.5, 0.999))
    assert gan.variants["slow"].networks["discriminator"] is gan.networks["discriminator"]
    assert gan.expectations[0].at is None and gan.expectations[0].condition.uses_variants
    race = load(write(tmp_path, RACE, "race.toml"))
    assert race.expectations[0].at is None and race.variants["valley"].surface.name == "quadratic"
    for text, name in ((GAN, "gan.toml"), (RACE, "race.toml"), (VARIANTS, "net.toml")):
        bad = text.replace('name = "slow"', 'name = "loss"').replace(
            'name = "valley"', 'name = "loss"'
        )
        with pytest.raises(ScenarioError, match=r"variants\[\d\]\.name: must be a plain name"):
            load(write(tmp_path, bad, name))


def test_every_model_starts_from_the_tables_values_even_after_training(tmp_path):
    text = """
    [data]
    source = "inline"
    x = [[1.0, 2.0], [3.0, 4.0]]
    y = [0, 1]
    [model]
    layers = [ { type = "dense", units = 2, name = "d", values = { W = [[1, 0], [0, 1]] } } ]
    loss = "cross_entropy"
    [train]
    batch_size = 2
    iterations = 3
    lr = 0.5
    """
    scenario = load(write(tmp_path, text))
    sim = scenario.simulator()
    sim.run(3)
    assert not np.array_equal(sim.model.parameters()["d.W"], np.eye(2))  # it trained
    again = scenario.build_model()
    again.materialize()
    np.testing.assert_array_equal(again.parameters()["d.W"], np.eye(2))


INLINE = """
[data]
source = "inline"
x = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
y = LABELS

[model]
layers = [{ type = "dense", units = 2 }]
loss = "cross_entropy"
"""


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("[0, 1.5, 1]", "not whole numbers: 1.5 at position 1"),
        ("[0, nan, 1]", "not whole numbers: nan at position 1"),
        ("[[0, 1], [1, 0], [1, 1]]", "labels are (3, 2) where outputs (2,) need (3,)"),
        ("[0, 7, 1]", "include class 7"),
    ],
)
def test_a_classification_loss_refuses_labels_that_are_not_its_classes_at_load(
    tmp_path, labels, message
):
    path = write(tmp_path, INLINE.replace("LABELS", labels))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}:2: data: the loss cross_entropy needs class")
    assert message in str(err.value)
    assert load(write(tmp_path, INLINE.replace("LABELS", "[0, 1, 1]"))).model.output_shape == (2,)


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("units = 2,", "units = 1000000000,", ":12: model.layers:", "1,000,000,066 numbers"),
        ("n_per_class = 30", "n_per_class = 10000000000", ":8: data.n_per_class:", "spirals"),
        ("batch_size = 16", "batch_size = 100000000", ":22: train.batch_size:", "a batch of"),
        ("repeat = 3", "repeat = 1000000000", ":13: model.layers[0].repeat:", "at most 1000"),
        ("repeat = 3", "repeat = 1000 }, " + "{ type = 'tanh', repeat = 1000 }, " * 9
         + "{ type = 'tanh'", ":12: model.layers:", "at most 10,000"),
    ],
)  # fmt: skip
def test_sizes_that_cannot_fit_are_refused_before_anything_is_allocated(
    tmp_path, old, new, where, message
):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}{where}")
    assert message in str(err.value)


def test_the_memory_budget_is_configurable_and_named_in_the_refusal(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    load(path)  # well under the default 2 GiB
    monkeypatch.setenv("NNSIM_MEMORY_BUDGET", "100KiB")
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert "more than the budget of 100 KiB" in str(err.value)
    assert "NNSIM_MEMORY_BUDGET" in str(err.value) and "biggest part" in str(err.value)
    monkeypatch.setenv("NNSIM_MEMORY_BUDGET", "lots")
    with pytest.raises(ValueError, match="NNSIM_MEMORY_BUDGET='lots'"):
        load(path)


@pytest.mark.parametrize(
    ("damage", "where", "message"),
    [
        (lambda b: b.replace(b"Spirals", b"Spir\xffals"), ":3:", "not UTF-8 text: byte 0xff"),
        (lambda b: b[: b.index(b"Watch") + 3], ":4:", "not valid TOML"),
        (lambda b: b"x = " + b"[" * 600 + b"]" * 600 + b"\n" + b, ":1:", "nested too deeply"),
        (lambda b: b"x = " + b"[" * 100 + b"]" * 100 + b"\n" + b, ":1:", "nested too deeply"),
        (lambda b: b.replace(b"validation = 0.2", b"validation = nan"), ":9: data.validation",
         "must be a number, got nan"),
    ],
)  # fmt: skip
def test_damaged_text_names_its_line(tmp_path, damage, where, message):
    path = tmp_path / "lesson.toml"
    path.write_bytes(damage(textwrap.dedent(GOOD).encode()))
    with pytest.raises(ScenarioError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}{where}") and message in str(err.value)


def test_a_scenario_path_that_never_ends_is_refused_without_reading(tmp_path):
    import os

    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    for path in (fifo, "/dev/zero"):
        with pytest.raises(ScenarioError, match="is not a regular file"):
            load(path)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (16 * 2**20 + 1))
    with pytest.raises(ScenarioError, match="is over 16 MiB"):
        load(big)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("n_per_class = 30", 'n_per_class = "many"', "data.n_per_class: expected an integer"),
        ("n_per_class = 30", "noise = true", "data.noise: expected a number, got true"),
    ],
)
def test_a_generators_options_are_checked_against_its_signature(tmp_path, old, new, message):
    with pytest.raises(ScenarioError, match=message):
        load(write(tmp_path, GOOD.replace(old, new)))


def test_a_race_too_long_to_keep_its_paths_is_refused_at_its_iterations(tmp_path):
    from nnsim.scenario import SAMPLES

    text = (SAMPLES / "optimizers_2d.toml").read_text(encoding="utf-8")
    damaged = text.replace("iterations = ", "iterations = 1000000000 #", 1)
    with pytest.raises(ScenarioError, match=r"surface.iterations: needs about 179 GiB"):
        load(write(tmp_path, damaged))


def test_a_loss_comparing_outputs_needs_one_target_per_output(tmp_path):
    text = INLINE.replace("LABELS", "[0.5, 1.0, 2.0]").replace("cross_entropy", "mse")
    with pytest.raises(ScenarioError) as err:
        load(write(tmp_path, text))
    assert str(err.value).startswith(f"{tmp_path / 'lesson.toml'}:2: data: the loss mse")
    assert "targets are (3,) and the model outputs (2,)" in str(err.value)
    assert load(write(tmp_path, text.replace("units = 2", "units = 1"))).loss.name == "mse"


def test_random_weights_need_a_finite_scale(tmp_path):
    path = write(tmp_path, GOOD.replace('units = 2, name = "head"', "units = 2, std = inf"))
    with pytest.raises(ScenarioError, match=r"model.layers\[2\].std: must be a finite number"):
        load(path)
