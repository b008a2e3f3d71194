"""What a run's accuracy means: the whole training set in evaluation mode, the validation
data, and the last mini-batch, each labelled; and the epoch counter counts completed epochs."""

import json
import math
import textwrap

import numpy as np
import pytest

from nnsim.cli import main
from nnsim.data import spirals
from nnsim.layers import Dense, Dropout, ReLU
from nnsim.losses import CrossEntropyLoss
from nnsim.model import Sequential
from nnsim.optim import SGD
from nnsim.scenario import load
from nnsim.session import Session, run_lesson
from nnsim.sim import Simulator
from nnsim.sim.trainer import Trainer

LESSON = """
[data]
source = "spirals"
n_per_class = 30
{split}
[model]
layers = [ {{ type = "dense", units = 16, activation = "relu" }}, {{ type = "dropout", p = 0.5 }},
           {{ type = "dense", units = 2 }} ]
loss = "cross_entropy"
[train]
lr = 0.1
batch_size = 12
iterations = 15
[[variants]]
name = "small"
title = "a smaller learning rate"
train = {{ lr = 0.01 }}
[[variants]]
name = "whole"
title = "the whole set per update"
train = {{ batch_size = 1000 }}
"""


def _lesson(tmp_path, split: str = ""):
    path = tmp_path / "acc.toml"
    path.write_text(textwrap.dedent(LESSON.format(split=split)))
    return path


def _run_json(capsys, path) -> dict:
    code = main(["run", str(path), "--json"])
    out, _ = capsys.readouterr()
    assert code == 0
    return json.loads(out)


def _eval_accuracy(model, x, y) -> float:
    """The accuracy of ``model`` on (x, y) in one evaluation-mode pass, by hand."""
    model.eval()
    try:
        scores = model.forward(np.asarray(x, dtype=model.dtype))
    finally:
        model.train()
    return float(np.mean(scores.argmax(axis=1) == y))


def test_run_json_has_one_entry_per_run_the_lessons_own_first(capsys, tmp_path):
    path = _lesson(tmp_path)
    report = _run_json(capsys, path)
    runs = report["runs"]
    assert [r["name"] for r in runs] == ["acc", "small", "whole"]
    assert all(
        set(r) == {"name", "final_loss", "train_accuracy", "val_accuracy", "batch_accuracy"}
        for r in runs
    )
    assert runs[0]["final_loss"] == report["final_loss"]
    assert all(r["val_accuracy"] is None for r in runs)  # no validation data
    # the same seeds give the same runs: the numbers are the runs' own, measured anew
    result = run_lesson(load(path))
    sims = [result.main, *result.runs.variants.values()]
    for entry, sim in zip(runs, sims, strict=True):
        x, y = sim.stream.x, sim.stream.y
        assert entry["train_accuracy"] == pytest.approx(_eval_accuracy(sim.model, x, y))
        assert entry["batch_accuracy"] == pytest.approx(sim.accuracy)


def test_val_accuracy_is_measured_on_the_validation_data(capsys, tmp_path):
    path = _lesson(tmp_path, "validation = 0.25")
    runs = _run_json(capsys, path)["runs"]
    result = run_lesson(load(path))
    x_val, y_val = result.main.validation
    assert len(x_val) + len(result.main.stream.x) == 60  # held out of training
    assert runs[0]["val_accuracy"] == pytest.approx(_eval_accuracy(result.main.model, x_val, y_val))
    assert all(r["val_accuracy"] is not None for r in runs)


def test_the_tables_label_each_accuracy(capsys, tmp_path):
    code = main(["run", str(_lesson(tmp_path, "validation = 0.25")), "--no-progress"])
    out = " ".join(capsys.readouterr()[0].split())
    assert code == 0
    assert "train acc." in out and "val acc." in out and "batch acc." in out
    assert "(full set, eval mode)" in out  # the status line of the lesson's own run
    assert "the whole training set in evaluation mode" in out  # the table's caption
    assert "accuracy 1" not in out and "accuracy 9" not in out  # no unlabelled batch figure


def _dropout_sim(p: float, lr: float = 1e-12) -> Simulator:
    data = spirals(40, seed=1)
    model = Sequential([Dense(32), ReLU(), Dropout(p), Dense(2)], input_shape=(2,))
    return Simulator(model, CrossEntropyLoss(), SGD(lr), data, batch_size=len(data.x), iterations=3)


def test_train_accuracy_is_evaluation_mode_where_dropout_makes_the_batch_differ():
    # one batch is the whole set and the update is negligible: only dropout can tell the
    # training-mode batch accuracy from the evaluation-mode accuracy on the same examples
    with_dropout, without = _dropout_sim(0.9), _dropout_sim(0.0)
    for sim in (with_dropout, without):
        sim.run(1)
        x, y = sim.stream.x, sim.stream.y
        assert sim.train_accuracy() == pytest.approx(_eval_accuracy(sim.model, x, y))
    assert without.train_accuracy() == pytest.approx(without.accuracy)
    assert abs(with_dropout.train_accuracy() - with_dropout.accuracy) > 0.05


def test_train_accuracy_is_measured_once_per_completed_iteration(monkeypatch):
    sim = _dropout_sim(0.5, lr=0.1)
    calls = []
    measure = Trainer.accuracy_on
    monkeypatch.setattr(
        Trainer, "accuracy_on", lambda self, *a, **k: calls.append(1) or measure(self, *a, **k)
    )
    sim.add_breakpoint("train_accuracy > 2")  # never true: read after every update
    sim.add_watch("train_accuracy")  # recorded in the trace after every iteration
    steps = 0
    while sim.completed < 3:  # three iterations, stepped one micro-op at a time
        sim.step()
        sim.watch_values()  # what a front end reads after each key
        steps += 1
    assert steps >= 3 * 5
    assert len(calls) == 4  # once for each of completed = 0 (the first keys), 1, 2 and 3
    assert np.all(np.isfinite(sim.trace.series("train_accuracy")[1]))


def test_the_session_view_shows_the_accuracies_after_each_completed_iteration(tmp_path):
    session = Session.open(_lesson(tmp_path, "validation = 0.25"))
    assert session.view().accuracies.after == 0  # nothing measured before the first iteration
    while session.sim.completed < 1:
        session.execute("step")
    first = session.view().accuracies
    sim = session.sim
    assert first.after == 1 and first.train == pytest.approx(sim.train_accuracy())
    assert first.batch == pytest.approx(sim.accuracy)
    session.execute("step")  # mid-iteration: the same measurement, the very same object
    assert session.view().accuracies is first


def test_minority_precision_is_of_the_examples_predicted_as_the_rarest_class():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = np.where(np.arange(60) < 12, 1, 0)  # class 1 is the rare one
    x[y == 1] += 1.0
    model = Sequential([Dense(8), ReLU(), Dense(2)], input_shape=(2,))
    sim = Simulator(model, CrossEntropyLoss(), SGD(0.3), (x, y), batch_size=20, iterations=30)
    sim.run(30)
    predicted = sim.predict(x).argmax(axis=1) == 1
    if predicted.any():
        assert sim.variable("minority_precision") == pytest.approx(np.mean(y[predicted] == 1))
    else:
        assert math.isnan(sim.variable("minority_precision"))
    rare = y == 1
    assert sim.variable("minority_recall") == pytest.approx(np.mean(predicted[rare]))


@pytest.mark.parametrize(
    ("n", "batch_size"),
    [(20, 20), (20, 1), (20, 5), (20, 7)],  # bgd, sgd, mini-batches, a short last batch
)
def test_epoch_counts_the_epochs_whose_last_update_has_run(n, batch_size):
    x = np.linspace(-1, 1, 2 * n).reshape(n, 2)
    y = (np.arange(n) % 2).astype(np.int64)
    model = Sequential([Dense(2)], input_shape=(2,))
    sim = Simulator(
        model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=batch_size, iterations=45
    )
    batches_per_epoch = math.ceil(n / batch_size)
    for k in range(1, 46):
        sim.run(1)
        assert sim.variable("epoch") == k // batches_per_epoch
        if n % batch_size == 0:
            assert sim.variable("epoch") == k * batch_size // n
    # the last batch of an epoch loaded but not yet used for an update: not complete yet
    sim = Simulator(model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=batch_size)
    sim.run(batches_per_epoch - 1)
    sim.run_to(None, "update")
    assert sim.variable("epoch") == 0
    sim.step()
    assert sim.completed == batches_per_epoch and sim.variable("epoch") == 1


def test_a_breakpoint_on_epoch_stops_after_the_update_that_ends_it():
    x = np.linspace(-1, 1, 40).reshape(20, 2)
    y = (np.arange(20) % 2).astype(np.int64)
    model = Sequential([Dense(2)], input_shape=(2,))
    sim = Simulator(model, CrossEntropyLoss(), SGD(0.1), (x, y), batch_size=5, iterations=20)
    sim.add_breakpoint("epoch == 1")
    event = sim.continue_()
    assert event.stop is not None and event.stop.reason == "breakpoint"
    assert sim.completed == 4 and event.phase == "update"


def test_the_curves_pane_names_each_accuracy_and_fits_its_width():
    from nnsim.session.views import Accuracies
    from nnsim.tui.widgets.charts import accuracy_line

    shown = accuracy_line(Accuracies(5, 0.88, 0.8612, 1.0), 60)
    assert shown.startswith("train 88.0% · val 86.1% · batch 100%")
    assert accuracy_line(Accuracies(5, 0.88, math.nan, 0.5), 60).startswith(
        "train 88.0% · batch 50.0%"
    )  # no validation data: no val
    assert len(accuracy_line(Accuracies(5, 0.88, 0.8612, 1.0), 30)) <= 30
    assert accuracy_line(Accuracies(), 60) == ""  # before the first iteration
    assert accuracy_line(Accuracies(5, math.nan, math.nan, math.nan), 60) == ""  # regression


def _dropconnect_sim() -> Simulator:
    from nnsim.layers import DropConnect

    model = Sequential([DropConnect(16, p=0.5), ReLU(), Dense(2)], input_shape=(2,))
    return Simulator(
        model, CrossEntropyLoss(), SGD(0.1), spirals(40, seed=1), batch_size=16, iterations=4
    )


def test_measuring_the_training_set_between_forward_and_backward_changes_nothing():
    # a watch added or a step back can ask mid-iteration: the evaluation-mode pass must not
    # leave DropConnect's mask (which the backward pass reads) or anything else changed
    whole, stepped = _dropconnect_sim(), _dropconnect_sim()
    whole.run(4)
    while stepped.completed < 4:
        stepped.run_to(None, "backward")
        stepped.trainer.accuracy_on(stepped.stream.x, stepped.stream.y)
        stepped.run(1)
    assert np.array_equal(whole.trace.series("loss")[1], stepped.trace.series("loss")[1])
    for key, value in whole.model.parameters().items():
        assert np.array_equal(value, stepped.model.parameters()[key]), key


def test_the_runs_table_keeps_its_headers_whole_in_80_columns(tmp_path):
    from rich.console import Console

    from nnsim.report import print_variants

    scenario = load(_lesson(tmp_path, "validation = 0.25"))
    result = run_lesson(scenario)
    console = Console(width=80, record=True, highlight=False)
    print_variants(console, scenario, result.runs)
    lines = console.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    header = next(line for line in lines if "run" in line and "iters" in line)
    assert "train acc." in header and "val acc." in header and "batch acc." in header
    rows = [line for line in lines if line.startswith("│ small")]
    assert len(rows) == 1 and rows[0].count("%") == 3  # each run's three accuracies
