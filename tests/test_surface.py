"""Optimiser races on 2-D surfaces: the run, its metrics, surface scenarios and their report."""

import json
import math
import textwrap
import warnings

import numpy as np
import pytest

from nnsim.cli import main
from nnsim.data.surfaces import SURFACES
from nnsim.optim import SGD, Adagrad, Adam
from nnsim.scenario import ScenarioError, load
from nnsim.sim.surface import SurfaceRun
from nnsim.surface_plot import letters, render


def test_sgd_on_the_quadratic_follows_the_closed_form():
    quadratic = SURFACES["quadratic"]  # f = (x^2 + 25 y^2) / 2
    run = SurfaceRun(quadratic, {"sgd": SGD(0.05)}, (-4.0, 1.0), 10)
    run.run(10)
    t = np.arange(11)[:, None]
    expected = np.array([-4.0, 1.0]) * np.array([1 - 0.05, 1 - 0.05 * 25]) ** t  # (11, 2)
    np.testing.assert_allclose(run.path("sgd"), expected, rtol=1e-12)
    assert run.distance("sgd") == pytest.approx(math.hypot(*expected[-1]))


def test_adam_first_step_is_lr_in_every_coordinate_and_adagrad_never_speeds_up():
    saddle = SURFACES["saddle"]
    run = SurfaceRun(saddle, {"adam": Adam(0.02), "adagrad": Adagrad(0.2)}, saddle.start, 40)
    run.run(1)
    # lr · m̂ / (sqrt(v̂) + eps) = lr · g / (|g| + 1e-8): the tiny y-gradient (1e-3) loses 1e-5
    np.testing.assert_allclose(np.abs(np.diff(run.path("adam"), axis=0)), 0.02, rtol=1e-4)
    assert run.layer_metric("first_step", "adam") == pytest.approx(0.02 * math.sqrt(2), 1e-4)
    run.run(39)
    assert run.lr_monotone("adagrad") == 1.0 and run.lr_monotone("adam") < 1.0


def test_a_diverging_optimiser_is_recorded_and_stops_without_warnings():
    rosenbrock = SURFACES["rosenbrock"]
    run = SurfaceRun(rosenbrock, {"fast": SGD(0.05), "slow": SGD(1e-4)}, rosenbrock.start, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.run(30)
    assert "fast" in run.diverged and "slow" not in run.diverged
    assert run.model_metric("nonfinite") is True
    assert np.isfinite(run.path("slow")).all()


def test_letters_are_distinct_and_the_plot_shows_every_optimiser():
    assert letters(["sgd", "momentum", "rmsprop", "adam", "adagrad"]) == {
        "sgd": "S", "momentum": "M", "rmsprop": "R", "adam": "A", "adagrad": "D",
    }  # fmt: skip
    saddle = SURFACES["saddle"]
    run = SurfaceRun(
        saddle, {"sgd": SGD(0.05), "momentum": SGD(0.05, momentum=0.9)}, (-1.5, 0.5), 5
    )
    run.run(5)
    text = render(run, 40, 12).plain
    assert "S" in text and "M" in text and "*" in text and "S sgd" in text


def test_the_race_trace_holds_each_optimisers_point_height_and_step(tmp_path):
    saddle = SURFACES["saddle"]
    run = SurfaceRun(saddle, {"adam": Adam(0.02), "sgd": SGD(0.05)}, saddle.start, 10)
    run.run(4)
    columns = run.trace.columns()
    assert columns["iteration"].tolist() == [0, 1, 2, 3, 4]  # 0: the start
    for name in ("adam", "sgd"):
        path = run.path(name)
        np.testing.assert_array_equal(columns[f"{name}.x"], path[:, 0])
        np.testing.assert_array_equal(columns[f"{name}.y"], path[:, 1])
        np.testing.assert_array_equal(columns[f"{name}.height"], saddle.value(path))
        assert math.isnan(columns[f"{name}.step_size"][0])
        np.testing.assert_array_equal(columns[f"{name}.step_size"][1:], run.step_sizes(name))
        assert columns[f"{name}.height"][-1] == run.layer_metric("height", name)

    with open(run.trace.export(tmp_path / "race.csv"), newline="") as handle:
        header, *rows = list(__import__("csv").reader(handle))
    table = np.array(rows, dtype=np.float64)
    assert header[:3] == ["iteration", "adam.x", "adam.y"] and len(rows) == 5
    for i, name in enumerate(header):
        np.testing.assert_array_equal(table[:, i], columns[name])
    with np.load(run.trace.export(tmp_path / "race.npz"), allow_pickle=False) as data:
        for name in header:
            np.testing.assert_array_equal(data[name], columns[name])
    lines = run.trace.export(tmp_path / "race.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert first["iteration"] == 0 and first["sgd.step_size"] is None
    assert first["sgd.x"] == saddle.start[0]


SCENARIO = """
[surface]
name = "saddle"
iterations = 20
[optimizers]
sgd = { type = "sgd", lr = 0.05 }
momentum = { type = "sgd", lr = 0.05, momentum = 0.9 }
[[variants]]
name = "valley"
surface = { name = "quadratic", start = [-4.0, 1.0] }
[[expect]]
check = "distance(sgd) > 0.5"
[[expect]]
check = "valley.distance(momentum) < 10"
"""


def write(tmp_path, text):
    path = tmp_path / "race.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_surface_scenario_runs_headless_with_its_variants(tmp_path, capsys):
    path = write(tmp_path, SCENARIO)
    scenario = load(path)
    assert scenario.kind == "surface" and list(scenario.variants) == ["valley"]
    assert scenario.variants["valley"].surface.name == "quadratic"
    assert main(["run", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["iterations"] == 20 and set(report["optimizers"]) == {"sgd", "momentum"}
    assert [e["passed"] for e in report["expect"]] == [True, True]
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "where each optimiser is" in out and "M momentum" in out


@pytest.mark.parametrize("command", ["summary", "gradcheck"])
def test_network_commands_explain_that_a_race_has_no_network(capsys, command):
    assert main([command, "optimizers_2d"]) == 2
    assert "races optimisers on a 2-D surface" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "saddle"', 'name = "sadle"', r"surface.name: .*did you mean 'saddle'"),
        ("iterations = 20", "start = [1.0]", r"surface.start: expected a point \[x, y\]"),
        ("lr = 0.05 }", "lr = 0.05, momentun = 0.9 }", r"unknown option 'momentun' of SGD"),
        (
            'check = "distance(sgd) > 0.5"',
            'check = "distance(adam) > 0.5"',
            r"unknown optimiser 'adam'",
        ),
        ("[[variants]]", "[data]\nsource = 'spirals'\n[[variants]]", r"has no \[data\] table"),
        (
            'check = "distance(sgd) > 0.5"',
            'check = "grad_norm(sgd) > 0.5"',
            r"race.toml:12: expect\[0\].check: grad_norm\(optimiser\) is measured in network "
            r"scenarios \(\[model\]\); this is an optimiser-race scenario; known: distance",
        ),
    ],
)
def test_bad_surface_scenarios_name_the_problem(tmp_path, old, new, message):
    assert old in SCENARIO
    path = write(tmp_path, SCENARIO.replace(old, new, 1))
    with pytest.raises(ScenarioError, match=message):
        load(path)
