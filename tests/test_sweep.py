"""`nnsim sweep`: a grid of runs, in grid order, deterministic, the same numbers as `nnsim run`
and the same on a Dask cluster (in-process, as separate processes, with a worker killed);
refused parameters; Ctrl-C; a sweep's run reopened in the interface."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from string import Template

import pytest

from nnsim.cli import main
from nnsim.scenario import load
from nnsim.sweep.params import parse_grid
from nnsim.sweep.plan import plan_sweep, run_sweep

SCENARIO = """
[data]
source = "spirals"
n_per_class = 20
validation = 0.25
[model]
layers = [ { type = "dense", units = 8, activation = "tanh"$init },
           { type = "dense", units = 2$init } ]
loss = "cross_entropy"
[train]
lr = $lr
batch_size = 10
iterations = $iterations
[[expect]]
check = "loss < 0.7"
[[expect]]
check = "relu.loss < 100"
[[variants]]
name = "relu"
replace_activation = ["tanh", "relu"]
"""

GRID = ["--grid", "lr=0.05,0.5", "--grid", "init=xavier_normal,he_normal", "--grid", "seed=0,1"]
RESULTS = ("final_loss", "train_accuracy", "val_accuracy", "batch_accuracy")
NO_DASK = "Dask is not installed (pip install 'nnsim[cluster]'): the cluster sweeps are skipped"


def scenario_text(lr=0.1, init=None, iterations=6):
    init = "" if init is None else f', init = "{init}"'
    return Template(textwrap.dedent(SCENARIO)).substitute(lr=lr, init=init, iterations=iterations)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(scenario_text())
    return path


def sweep(capsys, *argv):
    code = main(["sweep", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def sweep_json(capsys, *argv):
    code, out, err = sweep(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def local_rows(path, grid, variants=False):
    return run_sweep(plan_sweep(load(path), parse_grid(grid), variants), workers=2)


def test_a_local_sweep_runs_every_point_in_grid_order_as_nnsim_run_would(capsys, tiny, tmp_path):
    report = sweep_json(capsys, tiny, *GRID, "--workers", "2")
    points = [
        {"lr": lr, "init": init, "seed": seed}
        for lr in (0.05, 0.5)
        for init in ("xavier_normal", "he_normal")
        for seed in (0, 1)
    ]
    assert [row["params"] for row in report["runs"]] == points
    assert [row["run"] for row in report["runs"]] == list(range(1, 9))
    assert {row["variant"] for row in report["runs"]} == {None}
    assert report["grid"] == {"lr": [0.05, 0.5], "init": ["xavier_normal", "he_normal"],
                              "seed": [0, 1]}  # fmt: skip
    # each run is the scenario written with those settings, run by `nnsim run --seed`
    for row in report["runs"]:
        params = row["params"]
        alone = tmp_path / f"alone_{row['run']}.toml"
        alone.write_text(scenario_text(params["lr"], params["init"]))
        code = main(["run", str(alone), "--seed", str(params["seed"]), "--json"])
        single = json.loads(capsys.readouterr().out)
        assert code == (0 if all(e["passed"] for e in single["expect"]) else 1)
        assert {k: row[k] for k in RESULTS} == {k: single["runs"][0][k] for k in RESULTS}
        assert row["verdicts"] == {layer["name"]: layer["verdict"] for layer in single["layers"]}
        assert row["expect"][0] == single["expect"][0]
    # the lesson's check on its variant needs the variant's run: not judged without it
    assert {row["expect"][1]["passed"] for row in report["runs"]} == {None}
    # one worker finishes the runs in another order: the same numbers, the same order
    again = sweep_json(capsys, tiny, *GRID, "--workers", "1")
    assert again["runs"] == report["runs"]
    # and the runs differ from each other: the parameters reach them
    assert len({row["final_loss"] for row in report["runs"]}) == 8


def test_the_table_and_csv_show_each_run_with_its_checks(capsys, tiny, tmp_path):
    table = tmp_path / "results.csv"
    grid = ["--grid", "lr=0.05,0.5", "--grid", "iterations=4,30"]
    code, out, _ = sweep(capsys, tiny, *grid, "--variants", "--csv", table)
    assert code == 0
    for header in ("lr", "iterations", "variant", "final loss", "train acc.", "val acc."):
        assert header in out
    assert "sweep of tiny: 8 runs" in out
    rows = list(csv.DictReader(table.open()))
    assert [(r["lr"], r["iterations"], r["variant"]) for r in rows] == [
        (lr, n, variant) for lr in ("0.05", "0.5") for n in ("4", "30") for variant in ("", "relu")
    ]
    lesson_rows = [r for r in rows if r["variant"] == ""]
    # both checks judged on the lesson's row (the variant ran beside it); loss < 0.7 fails
    # after 4 iterations at lr 0.05 and holds after 30 at 0.5
    assert {(r["passed"], r["failed"], r["not_judged"]) for r in lesson_rows} <= {
        ("2", "0", "0"),
        ("1", "1", "0"),
    }
    assert lesson_rows[0]["failed_checks"] == "loss < 0.7"
    assert lesson_rows[-1]["failed_checks"] == ""
    assert all(r["failed_checks"] in out for r in lesson_rows)
    assert all(float(r["final_loss"]) > 0 for r in rows)


@pytest.mark.parametrize(
    "grid, message",
    [
        (["--grid", "momentum=0.9"], "unknown parameter 'momentum'"),
        (["--grid", "lr=fast"], "lr='fast': not a number"),
        (["--grid", "lr=-0.1"], "the learning rate must be greater than 0"),
        (["--grid", "init=he_normall"], "unknown init 'he_normall'"),
        (["--grid", "optimizer=adam,sgdd"], "unknown optimiser 'sgdd'"),
        (["--grid", "activation=tanh"], "expected OLD:NEW"),
        (["--grid", "seed=0,1.5"], "seed='1.5': not a whole number"),
        (["--grid", "batch_size=0"], "batch_size='0': must be at least 1"),
        (["--grid", "lr=0.1", "--grid", "lr=0.2"], "lr is given twice"),
        (["--grid", "lr"], "expected NAME=VALUE,VALUE"),
        (["--grid", "lr=0.1", "--workers", "0"], "--workers must be at least 1"),
    ],
)
def test_a_bad_grid_is_refused_before_anything_runs(capsys, tiny, tmp_path, grid, message):
    written = tmp_path / "never.csv"
    code, out, err = sweep(capsys, tiny, *grid, "--csv", written)
    assert code == 2 and out == "" and not written.exists()
    assert err.startswith("nnsim sweep: ") and message in err and "Traceback" not in err


def test_a_sweep_takes_a_network_scenario(capsys):
    code, _, err = sweep(capsys, "optimizers_2d", "--grid", "lr=0.1")
    assert code == 2 and "a sweep takes a one-network scenario" in err


def test_without_dask_the_scheduler_option_names_the_extra(capsys, tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    code, out, err = sweep(capsys, tiny, "--grid", "lr=0.1", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and out == ""
    assert "pip install 'nnsim[cluster]'" in err


def test_ctrl_c_cancels_the_sweep_and_ends_its_workers(tiny):
    argv = [sys.executable, "-m", "nnsim.cli", "sweep", str(tiny), "--grid", "iterations=1000000"]
    argv += ["--grid", "seed=0,1,2,3", "--workers", "2"]
    sweeping = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)  # fmt: skip
    group = sweeping.pid
    deadline = time.monotonic() + 60
    while len(running_in(group)) < 4 and time.monotonic() < deadline:  # sweep, server, 2 workers
        time.sleep(0.1)
    assert len(running_in(group)) >= 4, "the workers never started"
    os.killpg(group, signal.SIGINT)  # what Ctrl-C at a terminal sends
    out, err = sweeping.communicate(timeout=30)
    assert sweeping.returncode == 130
    assert re.search(r"cancelled after \d of 4 runs; nothing written", err)
    assert "Traceback" not in err and out == ""
    deadline = time.monotonic() + 10
    while running_in(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running_in(group) == []  # the workers, the forkserver: all gone


def running_in(group: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[2]) == group and stat[0] != "Z":
                alive.append(int(entry.name))
    return alive


def test_a_run_of_a_sweep_reopens_in_the_interface(capsys, tiny, tmp_path, monkeypatch):
    from nnsim.session import Session
    from nnsim.tui import app
    from nnsim.tui.launch import main as nnsim

    results = tmp_path / "results.json"
    report = sweep_json(capsys, tiny, "--grid", "lr=0.05,0.5", "--grid", "seed=3,4", "--variants")
    results.write_text(json.dumps(report))
    opened = []
    monkeypatch.setattr(app, "run", lambda scenario, screenshots: opened.append(scenario) or 0)
    assert nnsim(["tui", "--from-sweep", str(results), "--run", "6"]) == 0
    assert nnsim(["tui", str(tiny), "--params", "lr=0.5,seed=3"]) == 0
    row = report["runs"][5]
    assert (row["params"], row["variant"]) == ({"lr": 0.5, "seed": 3}, "relu")
    for lesson, variant in zip(opened, ("relu", None), strict=True):
        session = Session(lesson())  # as the interface opens it
        session.execute("continue")
        same = ({"lr": 0.5, "seed": 3}, variant)
        expected = next(r for r in report["runs"] if (r["params"], r["variant"]) == same)
        assert session.sim.loss_value == expected["final_loss"]
    code = nnsim(["tui", "--from-sweep", str(results), "--run", "99"])
    assert code == 2 and "no run 99; its runs are 1 to 8" in capsys.readouterr().err


# ---------------------------------------------------------------- on a Dask cluster


@pytest.fixture(scope="module")
def distributed():
    return pytest.importorskip("distributed", reason=NO_DASK)


def test_a_sweep_on_a_local_dask_cluster_equals_the_local_one(tiny, distributed):
    grid = ["lr=0.05,0.5", "seed=0,1"]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        plan = plan_sweep(load(tiny), parse_grid(grid), variants=True)
        on_cluster = run_sweep(plan, scheduler=cluster.scheduler_address)
    assert on_cluster == local_rows(tiny, grid, variants=True)


def start_cluster(tmp_path, workers: int, name: str) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler on a free loopback port and ``workers`` workers, one thread each."""
    address_file = tmp_path / f"{name}.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        ["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(address_file)], **quiet,
    )  # fmt: skip
    processes = [scheduler]
    deadline = time.monotonic() + 60
    while not address_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(address_file.read_text())["address"]
    for _ in range(workers):
        processes.append(
            subprocess.Popen(
                [
                    "dask",
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                **quiet,
            )  # fmt: skip
        )
    return address, processes


def stop(processes):
    for process in processes:
        process.kill()
    for process in processes:
        process.wait(timeout=30)


def test_a_sweep_on_a_scheduler_and_worker_processes_equals_the_local_one(
    capsys, tiny, tmp_path, distributed
):
    address, processes = start_cluster(tmp_path, 1, "one")
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        grid = ["--grid", "lr=0.05,0.5", "--grid", "seed=0,1"]
        on_cluster = sweep_json(capsys, tiny, *grid, "--scheduler", address)
    finally:
        stop(processes)
    assert on_cluster["runs"] == local_rows(tiny, ["lr=0.05,0.5", "seed=0,1"])


def test_a_worker_killed_mid_sweep_loses_only_its_run_which_runs_again(tiny, tmp_path, distributed):
    slow = tmp_path / "slow.toml"
    slow.write_text(scenario_text(iterations=1500))
    grid = ["seed=0,1,2,3,4,5"]
    address, processes = start_cluster(tmp_path, 2, "two")
    killed = []
    try:
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)

            def kill_a_busy_worker(index, rows):
                if killed:
                    return
                busy = [w for w, keys in client.processing().items() if keys]
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(client.processing()[busy[0]])

            plan = plan_sweep(load(slow), parse_grid(grid))
            on_cluster = run_sweep(plan, scheduler=address, on_run=kill_a_busy_worker)
    finally:
        stop(processes)
    assert killed and killed[0], "no worker was running a task when one was killed"
    assert on_cluster == local_rows(slow, grid)
