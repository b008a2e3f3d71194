"""The metric registry: every name a condition reads is documented once, with the scenario
kinds that answer it; a check its scenario cannot answer is refused at load, never answered
with another value."""

import math

import numpy as np
import pytest

from nnsim.data import spirals
from nnsim.layers import Dense, ReLU, Residual, Tanh
from nnsim.losses import CrossEntropyLoss
from nnsim.model import Sequential
from nnsim.optim import SGD
from nnsim.scenario import ScenarioError, load, shipped_lessons
from nnsim.sim import Simulator, registry
from nnsim.sim.conditions import ConditionError, parse

# every name the condition language read before the registry: teachers' files use them
NAMES_BEFORE = {
    "layer": """grad_norm weight_norm update_ratio act_mean act_std saturation dead_fraction
        dh_ratio forget_gate cell_carry dc_ratio weight_change small_weights sign_agreement
        unit_spread filter_smoothness peak_derivative params walk_error grad_walk_error
        positions anti_diagonal diagonal grad_reach distance height step_size first_step
        lr_monotone rf flops""",
    "model": """nonfinite w_distance d_accuracy gen_mean gen_std global_grad_norm gradcheck
        collapse_error params published_params occlusion_focus class_excitation
        recall_accuracy known_words""",
    "variable": """d_loss g_loss loss accuracy iteration epoch val_loss val_accuracy
        loss_roughness first_loss lr minority_recall input_covariance_error stopped_early
        best_val_loss best_iteration""",
}


def _sim(iterations=3):
    model = Sequential([Dense(8), ReLU(), Residual([Dense(8), Tanh()]), Dense(2)], input_shape=(2,))
    return Simulator(
        model, CrossEntropyLoss(), SGD(0.1), spirals(40, seed=1), batch_size=16,
        iterations=iterations,
    )  # fmt: skip


@pytest.mark.parametrize("scope", registry.SCOPES)
def test_every_name_read_before_is_registered_with_a_doc_and_its_kinds(scope):
    for name in NAMES_BEFORE[scope].split():
        entry = registry.lookup(scope, name)
        assert entry is not None, f"{scope} {name} is not in the registry"
        assert entry.doc.strip() and entry.kinds and entry.refresh in registry.REFRESH


def test_each_entry_parses_in_the_kinds_that_answer_it_and_is_refused_in_the_others():
    for entry in registry.entries():
        args = "(layer1)" if entry.scope == "layer" else "()" if entry.scope == "model" else ""
        value = f"{entry.name}{args}"
        text = value if entry.boolean else f"{value} > 0"
        for kind in registry.KINDS:
            if kind in entry.kinds:
                condition = parse(text, ["layer1"], kind=kind)
                assert condition.dependencies == {
                    (entry.refresh, "layer1" if entry.scope == "layer" else None)
                }
            else:
                with pytest.raises(ConditionError, match="is measured in") as info:
                    parse(text, ["layer1"], kind=kind)
                assert info.value.column == 1


def test_a_gan_metric_in_a_network_check_is_refused_with_the_kind_and_a_suggestion():
    with pytest.raises(ConditionError) as info:
        parse("loss < 1 and gen_std() > 0", ["dense1"])
    assert info.value.column == 14
    assert info.value.message == (
        "gen_std() is measured in GAN scenarios ([gan]); this is a network scenario; "
        "did you mean 'act_std'?"
    )
    with pytest.raises(ConditionError, match=r"d_loss is measured in GAN .* mean 'loss'\?"):
        parse("d_loss > 1", [])


def test_the_legacy_dicts_of_conditions_are_views_of_the_registry():
    from nnsim.sim import conditions

    assert conditions.LAYER_METRICS["grad_norm"] == "gradient"
    assert conditions.MODEL_METRICS["w_distance"] == "weight"
    assert conditions.VARIABLES["val_loss"] == "validation"
    assert conditions.BOOLEAN_METRICS == {"nonfinite"}


NETWORK_LESSON = """\
[lesson]
title = "a network"

[data]
source = "spirals"
n_per_class = 20

[model]
layers = [{ type = "dense", units = 4, activation = "relu" }, { type = "dense", units = 2 }]
loss = "cross_entropy"

[train]
iterations = 5

[[expect]]
check = "loss < 10"

[[expect]]
check = "w_distance() > 0"
"""


def test_a_network_lesson_naming_a_gan_metric_is_refused_at_load_with_its_line(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(NETWORK_LESSON.replace("w_distance()", "grad_norm(dense1)"))
    assert len(load(path).expectations) == 2  # the same lesson, with a network metric
    path.write_text(NETWORK_LESSON)
    line = NETWORK_LESSON.splitlines().index('check = "w_distance() > 0"') + 1
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.line == line
    assert info.value.keys == ["expect", 1, "check"]
    assert "w_distance() is measured in GAN scenarios ([gan]); this is a network scenario" in str(
        info.value
    )
    assert "did you mean" in str(info.value)


def test_a_network_breakpoint_naming_a_surface_metric_is_refused_at_load(tmp_path):
    text = NETWORK_LESSON.replace(
        "[[expect]]", '[[breakpoints]]\nwhen = "distance(dense1) < 1"\n\n[[expect]]', 1
    )
    path = tmp_path / "lesson.toml"
    path.write_text(text)
    refused = r"breakpoints\[0\].when: distance\(optimiser\) is measured in optimiser-race "
    with pytest.raises(ScenarioError, match=refused):
        load(path)


@pytest.mark.parametrize("path", shipped_lessons(), ids=lambda p: p.stem)
def test_every_shipped_lesson_still_loads(path):
    scenario = load(path)
    assert scenario.expectations, f"{path.name} has no [[expect]] checks"


def test_a_run_asked_for_a_metric_its_kind_does_not_measure_raises_not_another_value():
    sim = _sim()
    sim.run(1)
    with pytest.raises(registry.Unanswerable, match=r"w_distance\(\) is measured in GAN"):
        sim.model_metric("w_distance")
    assert sim.model_metric("global_grad_norm") == sim.global_grad_norm


def test_every_network_entry_is_answered_by_a_simulator_as_a_number_or_nan():
    sim = _sim()
    sim.run(2)
    for entry in registry.entries(kind="network"):
        if entry.scope == "layer":
            values = [sim.layer_metric(entry.name, name) for name in sim.names]
        elif entry.scope == "model":
            values = [sim.model_metric(entry.name)]
        else:
            values = [sim.variable(entry.name)]
        kind = bool if entry.boolean else float
        assert all(isinstance(v, kind) for v in values), (entry.written, values)


def test_weight_and_input_gradient_norms_are_the_norms_of_the_arrays_they_name():
    sim = _sim()
    sim.run(2)
    dense1, dense2 = sim.layer("dense1"), sim.layer("dense2")
    assert sim.layer_metric("weight_grad_norm", "dense2") == pytest.approx(
        np.linalg.norm(dense2.grads["W"]), rel=1e-12
    )
    assert sim.layer_metric("input_grad_norm", "dense2") == pytest.approx(
        np.linalg.norm(dense2.input_grad), rel=1e-12
    )
    # grad_norm keeps its meaning: W and b together
    both = np.sqrt(np.sum(dense2.grads["W"] ** 2) + np.sum(dense2.grads["b"] ** 2))
    assert sim.layer_metric("grad_norm", "dense2") == pytest.approx(both, rel=1e-12)
    # a layer without weights has no weight gradient; the first layer passes nothing back
    assert math.isnan(sim.layer_metric("weight_grad_norm", "relu1"))
    assert dense1.input_grad is None
    assert math.isnan(sim.layer_metric("input_grad_norm", "dense1"))
    assert sim.check("input_grad_norm(relu1) == grad_norm(relu1)")


def test_metric_rows_list_every_entry_with_its_kinds_and_doc():
    rows = registry.metric_rows()
    assert {"name", "written", "scope", "kinds", "refresh", "doc"} == set(rows[0])
    by_name = {r["written"]: r for r in rows}
    assert by_name["w_distance()"]["kinds"] == ["gan"]
    assert by_name["nonfinite()"]["kinds"] == ["network", "surface", "gan"]
    assert by_name["iteration"]["kinds"] == ["network", "surface", "gan"]
    assert by_name["distance(optimiser)"]["kinds"] == ["surface"]
    assert "dL/dinput" in by_name["input_grad_norm(layer)"]["doc"]
    # params is a layer metric and a model metric
    assert {r["written"] for r in rows if r["name"] == "params"} == {"params(layer)", "params()"}
    gan = {r["written"] for r in registry.metric_rows("gan")}
    assert gan == {
        "w_distance()", "d_accuracy()", "gen_mean()", "gen_std()", "nonfinite()",
        "iteration", "d_loss", "g_loss",
    }  # fmt: skip
    table = registry.metric_table()
    assert table.count("\n") == len(rows) + 1
    assert "| `weight_grad_norm(layer)` | layer | network |" in table
    plain = registry.metric_table("surface", markdown=False).splitlines()
    assert plain[0].split() == ["name", "scope", "kinds", "doc"] and len(plain) == 8


def test_the_help_screen_lists_the_registry():
    pytest.importorskip("textual")
    from tui.screens.help import help_text

    text = help_text()
    for row in registry.metric_rows():
        assert f"`{row['written']}`" in text


def test_a_name_registered_twice_for_one_kind_is_a_program_error():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("loss", "variable", "network", "loss", "again", lambda run: 0.0)


def test_what_changes_with_the_update_is_read_after_it():
    # a breakpoint on them is evaluated after the optimiser update that changes them (the
    # epoch completes with its last update), not when the next batch is loaded
    for name in ("epoch", "train_accuracy", "minority_precision", "minority_recall"):
        entry = registry.lookup("variable", name)
        assert entry is not None and entry.kinds == ("network",) and entry.refresh == "weight"
