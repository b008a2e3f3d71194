"""The step-through simulator: event sequences, stepping into blocks and time, breakpoints,
non-finite detection, determinism and rewind."""

import numpy as np
import pytest

from nnsim.data import spirals
from nnsim.layers import (
    LSTM,
    BatchNorm,
    Conv2d,
    Dense,
    Dropout,
    Flatten,
    MaxPool2d,
    ReLU,
    Residual,
    Tanh,
)
from nnsim.losses import CrossEntropyLoss, MSELoss
from nnsim.model import Sequential
from nnsim.optim import SGD, Adam
from nnsim.sim import ConditionError, Simulator


def mlp_sim(iterations=10, lr=0.1, seed=0, dropout=False, **kwargs):
    layers = [Dense(8), ReLU(), Residual([Dense(8), Tanh()]), Dense(2)]
    if dropout:
        layers.insert(2, Dropout(0.3))
    model = Sequential(layers, input_shape=(2,), seed=seed)
    data = spirals(40, seed=1)
    return Simulator(
        model,
        CrossEntropyLoss(),
        Adam(lr) if dropout else SGD(lr),
        data,
        batch_size=16,
        iterations=iterations,
        seed=seed,
        **kwargs,
    )


def lstm_sim(steps=4):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, steps, 2))
    y = rng.standard_normal((12, 2))
    model = Sequential([LSTM(3, return_sequences=False), Dense(2)], input_shape=(steps, 2))
    return Simulator(model, MSELoss(), SGD(0.05), (x, y), batch_size=6, iterations=5)


def trail(events):
    return [(e.phase, e.layer, e.what, e.t, e.depth) for e in events]


def test_one_iteration_is_the_documented_program_of_micro_ops():
    sim = mlp_sim()
    events = [sim.step() for _ in range(12)]
    assert [(e.phase, e.layer) for e in events] == [
        ("batch", None),
        ("forward", "dense1"),
        ("forward", "relu1"),
        ("forward", "res1"),
        ("forward", "dense3"),
        ("loss", None),
        ("backward", "dense3"),
        ("backward", "res1"),
        ("backward", "relu1"),
        ("backward", "dense1"),
        ("clip", None),
        ("update", None),
    ]
    assert all(e.iteration == 1 for e in events) and sim.completed == 1
    assert [e.index for e in events] == list(range(1, 13))
    assert events[1].changed == ("dense1.output",)
    assert events[9].changed == ("dense1.grads",)
    assert sim.step().iteration == 2  # the next step starts the next iteration


def test_step_into_walks_a_residual_block_and_step_out_leaves_it():
    sim = mlp_sim()
    for _ in range(3):
        sim.step()  # batch, dense1, relu1
    events = [sim.step_into(), sim.step_into(), sim.step(), sim.step(), sim.step()]
    assert trail(events) == [
        ("forward", "res1", "enter", None, 0),
        ("forward", "block1", "enter", None, 1),
        ("forward", "dense2", "layer", None, 2),
        ("forward", "tanh1", "layer", None, 2),
        ("forward", "res1", "op", None, 1),  # the addition of the identity shortcut
    ]
    assert events[-1].label == "add the shortcut"
    assert sim.next_op == ("forward", "dense3") and sim.depth == 0
    sim.run_to("res1", "backward")
    sim.step_into()  # into res1 backward
    sim.step_into()  # into block1 backward
    event = sim.step()
    assert trail([event]) == [("backward", "tanh1", "layer", None, 2)]
    event = sim.step_out()  # finishes block1: dense2
    assert (event.layer, sim.depth) == ("dense2", 1)
    event = sim.step_out()  # finishes res1: the gradient addition
    assert event.label == "add the branch gradients" and sim.next_op == ("backward", "relu1")


def test_step_into_a_recurrent_layer_walks_its_time_steps_both_ways():
    sim = lstm_sim(steps=4)
    sim.step()  # batch
    events = [sim.step_into()] + [sim.step() for _ in range(5)]
    assert trail(events) == [
        ("forward", "lstm1", "enter", None, 0),
        ("forward", "lstm1", "op", None, 1),  # the input projection of every step at once
        ("forward", "lstm1", "op", 1, 1),
        ("forward", "lstm1", "op", 2, 1),
        ("forward", "lstm1", "op", 3, 1),
        ("forward", "lstm1", "op", 4, 1),
    ]
    assert events[3].changed == ("lstm1.h[t=2]",)
    lstm = sim.layer("lstm1")
    assert lstm.cache.gate("f").shape == (6, 4, 3)  # (N, T, H), every gate per time step
    sim.run_to("lstm1", "backward")
    events = [sim.step_into()] + [sim.step() for _ in range(6)]
    assert [(e.what, e.t) for e in events] == [
        ("enter", None),
        ("op", None),  # start BPTT
        ("op", 4),
        ("op", 3),
        ("op", 2),
        ("op", 1),
        ("op", None),  # the weight gradients from every step
    ]
    assert events[3].changed == ("lstm1.dh[t=3]",)
    assert sim.next_op == ("clip", None)
    assert sim.layer_metric("dh_ratio", "lstm1") == pytest.approx(
        np.linalg.norm(lstm.cache.dh[:, 0]) / np.linalg.norm(lstm.cache.dh[:, -1])
    )


def test_step_out_inside_time_steps_finishes_the_layer():
    sim = lstm_sim(steps=6)
    sim.step()
    sim.step_into()
    sim.step()
    sim.step()  # t = 1
    event = sim.step_out()
    assert (event.layer, event.t) == ("lstm1", 6) and sim.next_op == ("forward", "dense1")


def test_stepping_and_running_whole_compute_the_same_bits():
    whole, stepped = lstm_sim(), lstm_sim()
    whole.run(2)
    while stepped.completed < 2:
        stepped.step_into()
    assert stepped.events[-1].index > whole.events[-1].index  # many more micro-ops
    for key, value in whole.model.parameters().items():
        np.testing.assert_array_equal(stepped.model.parameters()[key], value)
    np.testing.assert_array_equal(stepped.trace.metrics[:2], whole.trace.metrics[:2])


def test_running_whole_iterations_counts_micro_ops_like_stepping():
    fast, slow = mlp_sim(dropout=True), mlp_sim(dropout=True)
    last = fast.run(3)
    while slow.completed < 3:
        event = slow.step()
    assert (last.index, last.phase, last.iteration) == (event.index, event.phase, 3)
    np.testing.assert_array_equal(fast.trace.metrics[:3], slow.trace.metrics[:3])


def cnn_sim():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 1, 6, 6)), rng.integers(0, 3, 12)
    block = Residual([Conv2d(2, 3, padding=1), ReLU()])
    layers = [Conv2d(2, 3, padding=1), ReLU(), block, MaxPool2d(2), Flatten(), Dense(3)]
    model = Sequential(layers, input_shape=(1, 6, 6))
    return Simulator(model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=6, iterations=5)


@pytest.mark.parametrize("make", [mlp_sim, cnn_sim, lstm_sim], ids=["mlp", "cnn", "lstm"])
def test_a_whole_iteration_counts_the_micro_ops_of_its_program(make):
    # event numbers stay those of stepping whatever the model: a step back, a rewind and the
    # interface's event list rely on them
    fast, slow = make(), make()
    steps = 0
    while slow.completed < 2:
        steps += 1
        event = slow.step()
    last = fast.run(2)
    assert (last.index, last.phase, last.iteration) == (steps, event.phase, 2)
    np.testing.assert_array_equal(fast.trace.metrics[:2], slow.trace.metrics[:2])
    for column in ("loss", "global_grad_norm"):
        np.testing.assert_array_equal(fast.trace.model[column][:2], slow.trace.model[column][:2])


def test_breakpoints_fire_at_the_micro_op_that_makes_them_true():
    sim = mlp_sim(iterations=20)
    sim.add_breakpoint("iteration == 3")
    event = sim.continue_()
    assert (event.iteration, event.phase, event.stop.condition) == (3, "batch", "iteration == 3")

    sim = mlp_sim(iterations=20)
    bp = sim.add_breakpoint("grad_norm(dense1) > 0")
    event = sim.continue_()
    assert (event.iteration, event.phase, event.layer) == (1, "backward", "dense1")
    sim.continue_()
    assert bp.hits == 2 and sim.events[-1].iteration == 2

    sim = mlp_sim(iterations=20)
    sim.add_breakpoint("dead_fraction(relu1) >= 0")
    assert sim.continue_().layer == "relu1"

    # a ratio of two layers is read when both are fresh: after dense1, the later of the two
    sim = mlp_sim(iterations=20)
    sim.add_breakpoint("grad_norm(dense1) / grad_norm(dense3) < 1e9")
    event = sim.continue_()
    assert (event.phase, event.layer) == ("backward", "dense1")

    sim = mlp_sim(iterations=20)
    sim.add_breakpoint("loss < 100")
    assert sim.continue_().phase == "loss"


def test_disabled_and_unsatisfied_breakpoints_let_the_run_finish():
    sim = mlp_sim(iterations=4)
    sim.add_breakpoint("loss > 1e9")
    sim.add_breakpoint("iteration == 2").enabled = False
    event = sim.continue_()
    assert event.stop is None and sim.completed == 4 and sim.stopped is None


def test_watches_read_values_without_stopping():
    sim = mlp_sim(iterations=3)
    sim.add_watch("grad_norm(dense1) / grad_norm(dense3)")
    sim.add_watch("loss < 100")
    sim.continue_()
    values = sim.watch_values()
    ratio = sim.latest["dense1"]["grad_norm"] / sim.latest["dense3"]["grad_norm"]
    assert values == {"grad_norm(dense1) / grad_norm(dense3)": ratio, "loss < 100": True}
    assert sim.completed == 3
    with pytest.raises(ConditionError, match="unknown name 'los'"):
        sim.add_watch("los")


def test_a_bad_breakpoint_is_rejected_at_once():
    sim = mlp_sim()
    with pytest.raises(ConditionError, match=r"unknown layer 'dense9'; did you mean 'dense\d'"):
        sim.add_breakpoint("grad_norm(dense9) < 1")


def test_a_nan_written_into_a_weight_stops_before_the_iteration_naming_the_weight():
    sim = mlp_sim()
    sim.model.layer("dense2").params["W"][0, 0] = np.nan  # inside the residual block
    event = sim.continue_()
    assert event.stop.reason == "nonfinite" and event.what == "check"
    assert (event.iteration, event.phase, event.stop.layer) == (1, "batch", "dense2")
    assert event.stop.detail == (
        "dense2.W has 1 NaN and 0 inf of 64 values before iteration 1: it was there before "
        "the iteration began (written from outside the simulator)"
    )
    assert sim.completed == 0 and np.isnan(sim.model.layer("dense2").params["W"][0, 0])


def test_a_nan_written_mid_iteration_stops_at_the_layer_that_reads_it():
    sim = mlp_sim()
    sim.step(), sim.step()  # the batch and dense1 forward
    sim.model.layer("dense2").params["W"][0, 0] = np.nan
    event = sim.continue_()
    assert (event.iteration, event.phase, event.stop.layer) == (1, "forward", "dense2")
    assert "dense2.output has" in event.stop.detail and "NaN" in event.stop.detail


@pytest.mark.parametrize("command", ["run", "continue_", "step"])
def test_a_nan_written_between_runs_stops_the_next_command_and_stays(command):
    sim = mlp_sim(iterations=20)
    sim.run(6)
    index = sim.event_index
    W = sim.model.layer("dense3").params["W"]
    W[1, 0] = np.nan
    written = W.copy()
    event = {"run": lambda: sim.run(5), "continue_": sim.continue_, "step": sim.step}[command]()
    assert (event.iteration, event.phase, event.stop.layer) == (7, "batch", "dense3")
    assert event.stop.detail.startswith("dense3.W has 1 NaN and 0 inf of 16 values before iter")
    assert sim.completed == 6 and sim.event_index == index and sim.stopped == event.stop
    np.testing.assert_array_equal(W, written)  # what the user wrote, not undone


def test_weights_loaded_between_runs_are_kept_when_a_later_value_overflows():
    # a finite edit the fast path cannot see: the iteration it starts overflows, the replay
    # that finds where must start from the loaded weights, not from the older snapshot
    def made():
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
        model = Sequential([Dense(16), Dense(16), Dense(1)], input_shape=(4,))
        return Simulator(model, MSELoss(), SGD(0.01), (x, y), batch_size=32, snapshot_every=2)

    whole, stepped = made(), made()
    for sim in (whole, stepped):
        sim.run(5)
        sim.model.layer("dense2").params["W"][...] = 1e160  # "loaded" weights
    event = whole.run(3)
    stepped_event = stepped.step()
    while stepped_event.stop is None:
        stepped_event = stepped.step()
    assert event.stop == stepped_event.stop and event.iteration == 6
    assert event.index == stepped_event.index
    for key, value in stepped.model.parameters().items():
        np.testing.assert_array_equal(whole.model.parameters()[key], value)
    np.testing.assert_array_equal(whole.trace.model["loss"][:5], stepped.trace.model["loss"][:5])
    assert np.all(whole.model.layer("dense2").params["W"] == 1e160)


def test_batch_norm_running_statistics_that_overflow_stop_naming_the_buffer():
    x = np.full((8, 3), 1e155) * np.arange(1, 9)[:, None]  # variance ~1e310: inf
    y = np.zeros((8, 2))
    model = Sequential([BatchNorm(), Dense(2)], input_shape=(3,))
    for run in ("whole", "stepped"):
        sim = Simulator(model, MSELoss(), SGD(0.1), (x, y), batch_size=8, shuffle=False)
        event = sim.run(1) if run == "whole" else sim.step_out() and sim.step()
        assert (event.iteration, event.phase, event.stop.layer) == (1, "forward", "bn1")
        assert event.stop.detail.startswith("bn1.running_var has 0 NaN and 3 inf")
        model.layer("bn1").running["running_var"][...] = 1.0


def test_an_inf_in_the_data_stops_at_the_batch():
    x, y = spirals(20).x.copy(), spirals(20).y
    x[:, 0] = np.inf
    model = Sequential([Dense(4), Dense(2)], input_shape=(2,))
    sim = Simulator(model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=8)
    event = sim.continue_()
    assert (event.phase, event.stop.layer) == ("batch", None)
    assert "batch.x" in event.stop.detail


def test_exploding_training_stops_at_the_first_non_finite_value():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)), rng.standard_normal((32, 1))
    model = Sequential([Dense(16), Dense(16), Dense(1)], input_shape=(4,))
    sim = Simulator(model, MSELoss(), SGD(5.0), (x, y), batch_size=32, iterations=200)
    event = sim.continue_()
    assert event.stop.reason == "nonfinite" and sim.completed < 200
    assert (event.phase, event.stop.layer) == ("loss", None)  # the squared error overflowed first
    assert event.stop.detail == "loss has 0 NaN and 1 inf of 1 values"
    assert str(event.stop).startswith(f"non-finite value at iteration {event.iteration}, loss")


def test_overflowing_activations_name_the_layer():
    big = {"init": "normal", "init_std": 1e120}  # outputs ~1e120, ~1e240, then past 1.8e308
    model = Sequential(
        [Dense(8, **big), Dense(8, **big), Dense(8, **big), Dense(1)], input_shape=(4,)
    )
    x, y = np.ones((4, 4)), np.zeros((4, 1))
    event = Simulator(model, MSELoss(), SGD(0.1), (x, y), batch_size=4).continue_()
    assert (event.iteration, event.phase, event.stop.layer) == (1, "forward", "dense3")
    assert event.stop.detail.startswith("dense3.output has 0 NaN and")


def test_the_same_seed_gives_bit_identical_traces():
    a, b = mlp_sim(iterations=25, dropout=True), mlp_sim(iterations=25, dropout=True)
    a.continue_()
    b.continue_()
    assert a.trace.count == b.trace.count == 25
    np.testing.assert_array_equal(a.trace.metrics[:25], b.trace.metrics[:25])
    np.testing.assert_array_equal(a.trace.model["loss"][:25], b.trace.model["loss"][:25])
    c = mlp_sim(iterations=25, dropout=True, seed=1)
    c.continue_()
    assert not np.array_equal(a.trace.model["loss"][:25], c.trace.model["loss"][:25])


def test_rewinding_and_replaying_gives_the_same_trace_and_weights():
    straight = mlp_sim(iterations=30, dropout=True, snapshot_every=4)
    straight.continue_()
    rewound = mlp_sim(iterations=30, dropout=True, snapshot_every=4)
    rewound.run(17)
    rewound.step_into()
    rewound.step()
    rewound.rewind(6)
    assert rewound.completed == 11 and rewound.trace.count == 11
    rewound.continue_()
    assert rewound.completed == 30
    for key, value in straight.model.parameters().items():
        np.testing.assert_array_equal(rewound.model.parameters()[key], value)
    np.testing.assert_array_equal(rewound.trace.metrics[:30], straight.trace.metrics[:30])
    np.testing.assert_array_equal(
        rewound.trace.model["loss"][:30], straight.trace.model["loss"][:30]
    )


def test_step_back_undoes_exactly_one_micro_op():
    sim = mlp_sim(dropout=True)
    sim.run(2)
    sim.step()  # batch of iteration 3
    sim.step()  # dense1
    before = sim.layer("dense1").output.copy()
    index = sim.events[-1].index
    sim.step()  # relu1
    sim.step_back()
    assert sim.next_op == ("forward", "relu1") and sim.events[-1].index == index
    np.testing.assert_array_equal(sim.layer("dense1").output, before)
    again = sim.step()
    assert (again.layer, again.index) == ("relu1", index + 1)
    # stepping back over an iteration boundary
    sim.run(1)
    completed, index = sim.completed, sim.events[-1].index
    sim.step_back()
    assert sim.completed == completed - 1 and sim.next_op == ("update", None)
    assert sim.step().index == index


def test_validation_leaves_the_training_activations_alone():
    data = spirals(60, seed=2)
    model = Sequential([Dense(8), ReLU(), Dense(2)], input_shape=(2,))
    sim = Simulator(
        model,
        CrossEntropyLoss(),
        SGD(0.1),
        data,
        batch_size=10,
        iterations=4,
        validation=spirals(20, seed=3),
        eval_every=2,
    )
    sim.run(1)
    output = sim.layer("dense1").output.copy()
    sim.run(1)
    assert not np.isnan(sim.val_loss) and 0 <= sim.val_accuracy <= 1
    assert sim.layer("dense1").output.shape[0] == 10  # the training batch, not validation
    assert not np.array_equal(sim.layer("dense1").output, output)


def test_diagnostics_and_verdicts_every_iteration():
    sim = mlp_sim(iterations=3)
    sim.continue_()
    assert set(sim.latest) == {"dense1", "relu1", "dense2", "tanh1", "dense3"}
    dense1 = sim.latest["dense1"]
    assert dense1["verdict"] in ("healthy", "vanishing", "exploding", "saturated", "dead")
    assert dense1["explanation"]
    assert dense1["grad_norm"] > 0 and dense1["weight_norm"] > 0
    assert 0 < dense1["update_ratio"] < 1
    assert 0 <= sim.latest["relu1"]["dead_fraction"] <= 1
    assert 0 <= sim.latest["tanh1"]["saturation"] <= 1
    iterations, norms = sim.trace.series("grad_norm", "dense1")
    assert iterations.tolist() == [1, 2, 3] and norms[-1] == dense1["grad_norm"]


def test_the_scripted_session_in_the_docstring_runs():
    import re

    import nnsim.sim.simulator as module

    lines = re.findall(r"^    (\S.*)$", module.__doc__.split("\n\n")[1], re.M)
    assert len(lines) == 5
    printed = []
    exec("\n".join(lines), {"print": lambda *a: printed.append(a)})  # noqa: S102
    stop_event, grad_norm = printed[-1]
    assert stop_event.stop.condition == "grad_norm(dense1) < 1e-8" and grad_norm < 1e-8


def test_a_layer_breakpoint_stops_before_each_of_its_micro_ops():
    sim = mlp_sim(iterations=5)
    assert sim.toggle_layer_breakpoint("dense2") is True  # inside res1
    event = sim.continue_()
    assert event.stop.condition == "at dense2" and sim.next_op == ("forward", "dense2")
    assert event.layer == "block1" and event.what == "enter"  # it stepped into the blocks
    event = sim.continue_()
    assert sim.next_op == ("backward", "dense2") and event.stop.iteration == 1
    assert sim.toggle_layer_breakpoint("dense2") is False
    assert sim.continue_().stop is None and sim.completed == 5


def test_early_stopping_restores_the_weights_of_the_best_validation_loss():
    from nnsim.data import load_digits, split

    parts = split(load_digits(), validation=0.2, test=0.0, seed=0)
    train = (parts.train.x[:100], parts.train.y[:100])

    def make():
        model = Sequential([Flatten(), Dense(128), ReLU(), Dense(10)], input_shape=(1, 8, 8))
        return Simulator(
            model,
            CrossEntropyLoss(),
            Adam(0.003),
            train,
            batch_size=100,
            iterations=400,
            validation=parts.validation,
            eval_every=10,
            early_stopping=3,
        )

    sim = make()
    event = sim.continue_()
    assert event.stop.reason == "early_stopping" and sim.stopped_early
    best = sim.best_iteration
    assert sim.completed == best + 30 and sim.val_loss == sim.best_val_loss
    again = make()
    again.run(best)
    for key, value in again.model.parameters().items():
        np.testing.assert_array_equal(sim.model.parameters()[key], value)


def test_a_breakpoint_on_val_accuracy_alone_stops_at_the_evaluation_where_it_first_holds():
    data = spirals(60, seed=2)

    def make():
        model = Sequential([Dense(16), ReLU(), Dense(2)], input_shape=(2,))
        return Simulator(
            model,
            CrossEntropyLoss(),
            SGD(0.5),
            data,
            batch_size=20,
            iterations=60,
            validation=spirals(30, seed=3),
            eval_every=5,
        )

    plain = make()
    accuracies = []
    while plain.completed < 60:
        plain.run(5)
        accuracies.append(plain.val_accuracy)
    threshold = float((min(accuracies) + max(accuracies)) / 2)  # first held mid-run
    first = 5 * next(i + 1 for i, value in enumerate(accuracies) if value > threshold)
    assert first > 5  # the breakpoint has evaluations to let pass
    sim = make()
    sim.add_breakpoint(f"val_accuracy > {threshold!r}")
    event = sim.continue_()
    assert event.stop is not None and event.stop.reason == "breakpoint"
    assert (event.iteration, event.phase, sim.completed) == (first, "update", first)
    assert sim.val_accuracy == accuracies[first // 5 - 1] > threshold


def test_weights_loaded_with_checkpoint_load_survive_a_rewind_and_a_stop(tmp_path):
    from nnsim import checkpoint

    sim = mlp_sim(iterations=20)
    sim.run(3)
    path = checkpoint.save(tmp_path / "three.npz", sim.model)
    saved = {k: v.copy() for k, v in sim.model.parameters().items()}
    sim.run(3)
    checkpoint.load(path, sim.model)
    sim.rewind(0)  # back to the start of the next iteration: the loaded weights
    assert sim.completed == 6
    for key, value in saved.items():
        np.testing.assert_array_equal(sim.model.parameters()[key], value)
    sim.model.layer("dense3").params["b"][0] = np.inf
    event = sim.run(2)
    assert (event.iteration, event.what, event.stop.layer) == (7, "check", "dense3")
    assert event.stop.detail.startswith("dense3.b has 0 NaN and 1 inf of 2 values before")
    saved["dense3.b"][0] = np.inf
    for key, value in saved.items():
        np.testing.assert_array_equal(sim.model.parameters()[key], value)
