"""The Session, what every front end drives: commands in, immutable views out, cancellation
between micro-ops, new runs for what-if, variants and re-runs; and run_lesson, the one place
where a lesson's runs are judged."""

import dataclasses
import json
import threading

import numpy as np
import pytest
from training import XOR_DATA_AND_MODEL

from nnsim.cli import main
from nnsim.scenario import load
from nnsim.session import CommandError, Session, run_lesson

SCENARIO = (
    """
[lesson]
title = "tiny"
"""
    + XOR_DATA_AND_MODEL
    + """[train]
lr = 0.5
batch_size = 8
iterations = 6
[[variants]]
name = "slow"
train = { lr = 0.01 }
[[expect]]
check = "loss < first_loss"
[[expect]]
check = "accuracy >= 0"
at = 2
"""
)


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO)
    return path


def test_a_step_is_one_micro_op_and_the_view_is_a_frozen_copy(scenario):
    session = Session.open(scenario)
    event = session.execute("step")
    assert (event.phase, event.what) == ("batch", "batch")
    session.execute("finish_pass")
    view = session.view()
    assert view.tensor.title == "dense1.output"
    assert view.tensor.array.shape == (4, 4)  # the four XOR points, four tanh units
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.loss = 0.0
    with pytest.raises(ValueError):  # a view's arrays are read-only copies
        view.tensor.array[0, 0] = 1.0
    session.execute("finish_pass")  # the backward pass: the layer's output changes no more,
    np.testing.assert_array_equal(view.tensor.array, session.sim.layer("dense1").output)
    assert view.tensor.array is not session.sim.layer("dense1").output


def test_no_command_runs_past_the_last_iteration(scenario):
    session = Session.open(scenario)
    session.execute("continue")
    assert session.sim.completed == 6 and session.at_end()
    events = len(session.sim.events)
    for command in ("step", "continue", "step_into"):
        with pytest.raises(CommandError, match="complete .6 of 6 iterations"):
            session.execute(command)
    assert session.sim.completed == 6 and len(session.sim.events) == events
    session.execute("step_back")  # going back is always possible
    assert not session.at_end()


def test_should_stop_cancels_a_continue_between_iterations(scenario):
    session = Session.open(scenario)
    polls = []

    def after_three():
        polls.append(1)
        return len(polls) > 3

    session.execute("continue", should_stop=after_three)
    assert session.sim.completed == 3 and session.sim.stopped is None
    session.execute("continue")
    assert session.sim.completed == 6


def test_views_can_be_taken_while_a_continue_runs(scenario):
    session = Session(load(scenario))
    session.sim.iterations = 300
    worker = threading.Thread(target=session.execute, args=("continue",))
    worker.start()
    views = []
    while worker.is_alive():
        view = session.try_view(timeout=0.01)
        if view is not None:
            views.append(view.completed)
    worker.join()
    assert views == sorted(views)  # each view is one consistent moment, in order
    assert session.view().completed == 300


def test_what_if_is_a_new_run_from_iteration_zero_with_the_old_one_as_overlay(scenario):
    session = Session.open(scenario)
    session.execute("continue")
    relu = session.what_if(activation=("tanh", "relu"))
    assert relu.sim.completed == 0 and session.sim.completed == 6  # the old run is untouched
    assert type(relu.sim.model.layers[1]).__name__ == "ReLU"
    assert relu.label == "tanh -> relu"
    assert relu.previous["label"] == "the scenario's settings"
    assert len(relu.previous["loss"]) == 6
    with pytest.raises(ValueError, match="learning rate must be greater than 0"):
        session.what_if(lr=-1.0)


def test_variants_and_reruns_keep_the_lesson(scenario):
    session = Session.open(scenario)
    assert session.variants == {"slow": "slow"}
    slow = session.variant("slow")
    assert slow.scenario.build_optimizer().lr == 0.01 and slow.label == "variant slow"
    back = slow.variant(None)  # the lesson itself, from a variant's session
    assert back.scenario is session.scenario and back.variants == {"slow": "slow"}
    with pytest.raises(CommandError, match="no variant 'fast'; this lesson's variants: slow"):
        session.variant("fast")
    again = slow.rerun()
    assert again.scenario is slow.scenario and again.sim.completed == 0


def test_selection_and_tabs_are_checked(scenario):
    session = Session.open(scenario)
    assert session.selected == "dense1"
    session.move_selection(5)
    assert session.selected == session.summary_rows[-1]["name"]
    with pytest.raises(CommandError, match="no layer 'conv9'"):
        session.select("conv9")
    with pytest.raises(CommandError, match="no tab 'bias'"):
        session.set_tab("bias")
    with pytest.raises(CommandError, match="unknown command 'jump'"):
        session.execute("jump")


def test_expectations_show_what_is_met_now(scenario):
    session = Session.open(scenario)
    before = session.expectations()
    assert [(e.check, e.met) for e in before] == [
        ("loss < first_loss", None),
        ("accuracy >= 0", None),
    ]
    session.execute("continue")
    assert [e.met for e in session.expectations()] == [True, True]


def test_a_race_steps_and_plays_but_has_no_debugger_commands():
    race = Session.open("optimizers_2d")
    assert race.kind == "surface" and all(e.met is None for e in race.expectations())
    with pytest.raises(CommandError, match="a surface scenario takes step, continue"):
        race.execute("step_into")
    race.execute("step")
    assert race.run.completed == 1
    race.execute("continue", should_stop=lambda: race.run.completed >= 10)
    assert race.run.completed == 10
    race.execute("continue")
    assert race.at_end() and all(e.met for e in race.expectations() if "." not in e.check)
    with pytest.raises(CommandError, match="the run is complete"):
        race.execute("step")


def test_run_lesson_judges_the_lesson_and_its_variants(scenario):
    result = run_lesson(load(scenario))
    assert set(result.runs.variants) == {"slow"}
    assert [r.passed for r in result.expectations] == [True, True]
    assert result.expectations[1].at == 2 and not result.stopped_early and not result.failed


def test_a_breakpoint_leaves_end_of_run_checks_not_reached(scenario):
    scenario.write_text(SCENARIO + '[[breakpoints]]\nwhen = "iteration == 4"\n')
    result = run_lesson(load(scenario))
    end, at_two = result.expectations
    assert result.stopped_early and result.main.completed == 3
    assert at_two.passed is True  # judged as the run passed iteration 2
    assert end.passed is None and end.note.startswith("not reached: the run stopped at iteration 3")
    assert "breakpoint 'iteration == 4'" in end.note
    assert result.failed
    through = run_lesson(load(scenario), breakpoints=False)
    assert [r.passed for r in through.expectations] == [True, True]


def test_a_cancelled_lesson_judges_nothing_it_did_not_reach(scenario):
    result = run_lesson(load(scenario), should_stop=lambda: True)
    assert result.cancelled and result.main.completed == 0 and not result.runs.variants
    assert all(r.passed is None and "cancelled" in r.note for r in result.expectations)


def test_nnsim_run_says_where_a_breakpoint_stopped_it(capsys, scenario):
    scenario.write_text(SCENARIO + '[[breakpoints]]\nwhen = "iteration == 4"\n')
    assert main(["run", str(scenario), "--no-progress"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "Stopped at iteration 3 of 6: breakpoint 'iteration == 4'" in out
    assert "1 end-of-run check(s) not reached" in out and "not reached" in out
    assert main(["run", str(scenario), "--json", "--ignore-breakpoints"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stopped"] is None and report["iterations"] == 6


def test_nnsim_run_traces_every_variant(capsys, scenario, tmp_path):
    assert main(["run", str(scenario), "--json", "--trace", str(tmp_path / "t.csv")]) == 0
    lesson, slow = (tmp_path / "t.csv").read_text(), (tmp_path / "t.slow.csv").read_text()
    assert lesson.splitlines()[0] == slow.splitlines()[0]  # the same columns
    assert len(lesson.splitlines()) == len(slow.splitlines()) == 7  # a header and 6 rows
    assert lesson != slow
    assert "t.slow.csv" in capsys.readouterr().err


VIEW_PARTS = (
    "layers",
    "tensor",
    "loss_history",
    "accuracy_history",
    "val_loss_history",
    "val_accuracy_history",
    "grad_history",
    "dh_norms",
    "expectations",
    "breakpoints",
)


def test_a_view_keeps_the_very_objects_of_what_did_not_change(scenario):
    """A front end skips redrawing a part that is the same object as last time, so a view
    must reuse every part nothing changed and renew each part a micro-op changed."""
    session = Session.open(scenario)
    session.execute("step")
    session.execute("finish_pass")  # the forward pass: dense1's output is computed
    first, again = session.view(), session.view()
    for part in VIEW_PARTS:  # nothing ran in between
        assert getattr(again, part) is getattr(first, part), part

    session.execute("step")  # the loss: no layer, no curve, no inspected array changes
    session.execute("step")  # dense2's backward pass: its gradient norm is new
    during = session.view()
    assert during.layers is not first.layers
    assert (
        during.layers[-1].grad_norm > 0 and first.layers[-1].grad_norm != first.layers[-1].grad_norm
    )
    assert during.tensor is first.tensor  # dense1's output: the same values, the same object
    assert during.loss_history is first.loss_history  # no iteration completed yet

    session.execute("finish_pass")
    session.execute("step")  # clipping
    session.execute("step")  # the optimiser's update completes the iteration
    after = session.view()
    assert after.completed == 1
    assert len(after.loss_history) == 1 and after.loss_history is not first.loss_history
    assert after.grad_history is not first.grad_history
    assert after.tensor is during.tensor  # the forward pass has not run again

    session.set_tab("weights")
    weights = session.view()
    assert weights.tensor is not after.tensor and weights.tensor.title == "dense1.W"
    assert weights.layers is after.layers  # choosing what to inspect changes no layer
    session.toggle_breakpoint("dense2")
    marked = session.view()
    assert marked.layers is not weights.layers and marked.layers[-1].breakpoint
    session.sim.layer("dense1").params["W"][0, 0] += 1.0  # written between commands
    edited = session.view()
    assert edited.tensor is not weights.tensor
    assert edited.tensor.array[0, 0] == session.sim.layer("dense1").params["W"][0, 0]
