"""The `nnsim` command: JSON reports, exit codes, errors without tracebacks."""

import json
import subprocess
import sys
import textwrap

import pytest

from nnsim.cli import main

SCENARIO = """
[data]
source = "spirals"
n_per_class = 20
[model]
layers = [ { type = "dense", units = 8, activation = "tanh" }, { type = "dense", units = 2 } ]
loss = "cross_entropy"
[train]
lr = 0.1
batch_size = 10
iterations = 6
[[expect]]
check = "loss < 100"
[[expect]]
check = "iteration == 3"
at = 3
"""


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(textwrap.dedent(SCENARIO))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_run_json_reports_the_run(capsys, scenario, tmp_path):
    code, out, _ = run(capsys, "run", scenario, "--json", "--trace", tmp_path / "t.jsonl")
    report = json.loads(out)
    assert code == 0
    keys = {"scenario", "iterations", "final_loss", "stopped", "layers", "expect", "runs"}
    assert set(report) == keys
    assert report["scenario"] == "tiny" and report["iterations"] == 6 and report["stopped"] is None
    assert [run["name"] for run in report["runs"]] == ["tiny"]  # no variants: its own run
    assert report["runs"][0]["final_loss"] == report["final_loss"]
    assert [layer["name"] for layer in report["layers"]] == ["dense1", "tanh1", "dense2"]
    assert set(report["layers"][0]) == {"name", "grad_norm", "weight_norm", "verdict"}
    assert report["expect"] == [
        {"check": "loss < 100", "passed": True, "value": report["final_loss"]},
        {"check": "iteration == 3", "passed": True, "value": 3.0},
    ]
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 6


def test_iterations_and_seed_override_the_scenario(capsys, scenario):
    _, out, _ = run(capsys, "run", scenario, "--json", "--iterations", 4, "--seed", 3)
    first = json.loads(out)
    _, out, _ = run(capsys, "run", scenario, "--json", "--iterations", 4, "--seed", 3)
    assert first == json.loads(out) and first["iterations"] == 4


def test_a_run_with_an_early_checkpoint_stops_at_exactly_its_iterations(capsys, scenario):
    # expectations at iteration 3 shift the progress chunks off their grid; the run must
    # still end at the last iteration, not one chunk past it
    _, out, _ = run(capsys, "run", scenario, "--json", "--iterations", 250)
    assert json.loads(out)["iterations"] == 250


def test_a_failing_expectation_exits_1(capsys, scenario):
    scenario.write_text(scenario.read_text().replace("loss < 100", "loss < 0"))
    code, out, _ = run(capsys, "run", scenario, "--json")
    assert code == 1 and json.loads(out)["expect"][0]["passed"] is False
    code, out, _ = run(capsys, "verify", scenario)
    assert code == 1 and "1 of 2 checks passed" in out


def test_a_breakpoint_stops_a_headless_run(capsys, scenario):
    scenario.write_text(scenario.read_text() + '\n[[breakpoints]]\nwhen = "iteration == 4"\n')
    _, out, _ = run(capsys, "run", scenario, "--json")
    report = json.loads(out)
    assert report["stopped"] == {
        "reason": "breakpoint",
        "condition": "iteration == 4",
        "iteration": 4,
        "phase": "batch",
        "layer": None,
    }


def test_a_nonfinite_stop_is_reported(capsys, scenario, recwarn):
    scenario.write_text(
        scenario.read_text().replace(
            'units = 8, activation = "tanh"', 'units = 8, init = "normal", std = 1e200'
        )
    )
    _, out, _ = run(capsys, "run", scenario, "--json")
    stopped = json.loads(out)["stopped"]
    # iteration 1 stays finite (1e200); its update makes dense2's weights huge too, so the
    # product of the two overflows in iteration 2's forward pass, at dense2
    assert stopped["reason"] == "nonfinite" and stopped["iteration"] == 2
    assert (stopped["phase"], stopped["layer"]) == ("forward", "dense2")
    # the report says it once, with the layer; NumPy's "overflow encountered" would repeat it
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["run", "no_such_lesson"],
            "'no_such_lesson' is neither a scenario file nor a shipped lesson",
        ),
        (["run", "vanishing_sigmod"], "did you mean 'vanishing_sigmoid'?"),
        (["summary", "--arch", "vgg19"], "unknown architecture 'vgg19'"),
        (["summary"], "give a scenario or --arch NAME"),
        (["run", "vanishing_sigmoid", "--iterations", "-1"], "--iterations must be >= 0"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_no_traceback(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_a_bad_scenario_exits_2_naming_file_and_line(capsys, scenario):
    scenario.write_text(scenario.read_text().replace("batch_size = 10", "batch_size = ten"))
    code, _, err = run(capsys, "run", scenario)
    assert code == 2 and f"{scenario}:10: not valid TOML" in err


def test_debug_shows_the_traceback(scenario):
    scenario.write_text("[data\n")
    result = subprocess.run(
        [sys.executable, "-m", "nnsim.cli", "--debug", "run", str(scenario)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "nnsim.cli", "run", str(scenario)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_summary_json(capsys):
    code, out, _ = run(capsys, "summary", "--arch", "resnet18", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["total_params"] == 11_689_512
    first = summary["layers"][0]
    assert first == {
        "name": "conv1",
        "type": "Conv2d",
        "output_shape": [64, 112, 112],
        "params": 9408,
        "receptive_field": [7, 7],
        "flops": 2 * 64 * 112 * 112 * 3 * 49,
    }


def test_lessons_json_lists_the_shipped_lessons(capsys):
    code, out, _ = run(capsys, "lessons", "--json")
    lessons = json.loads(out)
    assert code == 0
    assert {
        "name": "vanishing_sigmoid",
        "title": "Vanishing gradients in a deep sigmoid network",
    }.items() <= lessons[[e["name"] for e in lessons].index("vanishing_sigmoid")].items()


def test_gradcheck_passes_on_a_correct_model(capsys, scenario):
    code, out, _ = run(capsys, "gradcheck", scenario, "--json")
    report = json.loads(out)
    assert (
        code == 0
        and report["passed"]
        and set(report["errors"]) == {"dense1.W", "dense1.b", "dense2.W", "dense2.b"}
    )


def test_the_shipped_sample_passes_verify(capsys):
    code, out, _ = run(capsys, "verify", "vanishing_sigmoid", "--json")
    rows = json.loads(out)
    assert code == 0 and all(row["passed"] for row in rows) and len(rows) == 2


def test_run_prints_a_report_for_people(capsys, scenario):
    code, out, _ = run(capsys, "run", scenario, "--no-progress")
    assert code == 0
    assert "layers after the last iteration" in out and "verdict" in out
    assert "loss " in out and "gradient norm of each layer" in out
    assert "what the lesson promises" in out and "passed" in out


def test_metrics_lists_what_each_kind_of_scenario_can_read(capsys):
    code, out, _ = run(capsys, "metrics", "--kind", "gan", "--json")
    rows = {row["written"]: row for row in json.loads(out)}
    assert code == 0 and "w_distance()" in rows and "grad_norm(layer)" not in rows
    assert all(row["doc"] for row in rows.values())
    code, out, _ = run(capsys, "metrics")
    assert "input_grad_norm(layer)" in out and "weight_grad_norm(layer)" in out


def test_a_race_writes_its_trace_and_each_variants(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "run",
        "optimizers_2d",
        "--iterations",
        "3",
        "--json",
        "--trace",
        tmp_path / "race.csv",
    )
    assert code in (0, 1) and json.loads(out)["iterations"] == 3
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["race.csv", "race.rosenbrock.csv", "race.valley.csv"]
    rows = (tmp_path / "race.csv").read_text().splitlines()
    assert rows[0].startswith("iteration,sgd.x,sgd.y") and len(rows) == 1 + 4  # steps 0..3


def test_the_metrics_page_is_the_registry_as_it_is(capsys):
    from pathlib import Path

    page = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
    code, out, _ = run(capsys, "metrics", "--markdown")
    assert code == 0
    assert page.read_text() == out, "docs/metrics.md is stale: nnsim metrics --markdown > it"


def test_every_trace_column_is_a_registered_metric():
    from nnsim.sim.diagnostics import METRICS
    from nnsim.sim.registry import metric_rows
    from nnsim.sim.trace import MODEL_COLUMNS

    names = {row["name"] for row in metric_rows()}
    assert set(METRICS) <= names and set(MODEL_COLUMNS) <= names


def test_memory_or_recursion_errors_are_exit_2_without_a_traceback(capsys, monkeypatch, scenario):
    import nnsim.cli as cli

    def exhausted(args):
        raise MemoryError

    monkeypatch.setitem(cli.COMMANDS, "run", exhausted)
    code, out, err = run(capsys, "run", scenario)
    assert code == 2 and "more memory than this machine has" in err
    assert "Traceback" not in err and "NNSIM_MEMORY_BUDGET" in err


def test_the_run_tables_columns_are_registered_metrics_named_in_its_caption(capsys, scenario):
    from nnsim.report import LAYER_COLUMNS
    from nnsim.sim import registry

    metrics = [m for _, names, _ in LAYER_COLUMNS for m in names]
    assert all(registry.lookup("layer", m) is not None for m in metrics)
    _, out, _ = run(capsys, "run", scenario)
    out = " ".join(out.split())
    assert all(m in out for m in metrics) and "see `nnsim metrics`" in out
