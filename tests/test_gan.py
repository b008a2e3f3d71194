"""The 1-D GAN: alternating D and G steps, its measures, GAN scenarios and their report."""

import json
import textwrap

import numpy as np
import pytest

from nnsim.cli import main
from nnsim.data.synthetic import gan_target_1d
from nnsim.layers import Dense, LeakyReLU, Sigmoid
from nnsim.model import Sequential
from nnsim.optim import SGD
from nnsim.scenario import ScenarioError, load
from nnsim.sim.gan import GanRun


def _run(d_steps=1, iterations=5):
    generator = Sequential([Dense(8), LeakyReLU(0.2), Dense(1)], input_shape=(2,), seed=0)
    discriminator = Sequential(
        [Dense(8), LeakyReLU(0.2), Dense(1), Sigmoid()],
        input_shape=(1,),
        seed=1,
        input_gradients=True,
    )
    return GanRun(
        generator,
        discriminator,
        SGD(0.05),
        SGD(0.05),
        lambda n, rng: gan_target_1d(n, "gaussian", seed=rng),
        noise_dim=2,
        batch_size=16,
        iterations=iterations,
        d_steps=d_steps,
        eval_size=200,
    )


def _copy(model):
    return {k: v.copy() for k, v in model.parameters().items()}


def _same(model, before):
    return all(np.array_equal(v, before[k]) for k, v in model.parameters().items())


def test_steps_alternate_and_each_moves_only_its_own_network():
    run = _run(d_steps=2)
    order = []
    for _ in range(6):
        g_before, d_before = _copy(run.generator), _copy(run.discriminator)
        which = run.step()
        order.append(which)
        if which == "D":
            assert _same(run.generator, g_before) and not _same(run.discriminator, d_before)
        else:
            assert _same(run.discriminator, d_before) and not _same(run.generator, g_before)
    assert order == ["D", "D", "G", "D", "D", "G"] and run.completed == 2
    assert [who for _, who, _ in run.history] == order


def test_the_generator_step_pushes_its_samples_towards_what_d_calls_real():
    run = _run()
    for _ in range(30):  # teach D that real samples are near 3, generated near 0
        run._d_step()
    before = run.samples().mean()
    run._g_step()
    assert run.samples().mean() > before  # the gradient came back through D


def test_measures():
    run = _run()
    assert run.w_distance() == pytest.approx(
        np.mean(np.abs(np.sort(run.samples()) - np.sort(run.real_samples())))
    )
    assert 0.0 <= run.d_accuracy() <= 1.0
    assert run.model_metric("gen_mean") == pytest.approx(run.samples().mean())
    assert np.isnan(run.variable("d_loss"))  # nothing measured before the first step
    run.step()
    assert np.isfinite(run.variable("d_loss")) and run.variable("iteration") == 0


def _read_csv(path):
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], np.array(rows[1:], dtype=np.float64)  # "nan" reads back as NaN


def test_the_trace_keeps_the_losses_of_every_iteration_and_the_measures_it_took(tmp_path):
    run = _run(iterations=6)
    run.trace.measure_every = 4  # and the first and last iterations
    losses = []
    for _ in range(6):
        run.step(), run.step()  # a D step, then a G step
        losses.append((run.d_loss, run.g_loss))
    columns = run.trace.columns()
    assert columns["iteration"].tolist() == [1, 2, 3, 4, 5, 6]
    assert list(zip(columns["d_loss"], columns["g_loss"], strict=True)) == losses
    measured = ~np.isnan(columns["w_distance"])
    assert measured.tolist() == [True, False, False, True, False, True]
    assert columns["w_distance"][-1] == run.w_distance()
    assert columns["d_accuracy"][-1] == run.d_accuracy()
    assert columns["gen_std"][-1] == run.model_metric("gen_std")
    # measuring consumes no randomness: a run measured every iteration trains identically
    every = _run(iterations=6)
    every.trace.measure_every = 1
    every.run(6)
    assert every.history == run.history

    header, table = _read_csv(run.trace.export(tmp_path / "gan.csv"))
    assert header == ["iteration", "d_loss", "g_loss", "w_distance", "d_accuracy", "gen_mean",
                      "gen_std"]  # fmt: skip
    for i, name in enumerate(header):
        np.testing.assert_array_equal(table[:, i], columns[name])
    with np.load(run.trace.export(tmp_path / "gan.npz"), allow_pickle=False) as data:
        assert set(data.files) == set(header)
        for name in header:
            np.testing.assert_array_equal(data[name], columns[name])
    lines = (run.trace.export(tmp_path / "gan.jsonl")).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[1]["iteration"] == 2 and rows[1]["w_distance"] is None
    assert rows[-1]["w_distance"] == columns["w_distance"][-1]
    with pytest.raises(ValueError, match=r"\.csv, \.npz or \.jsonl"):
        run.trace.export(tmp_path / "gan.txt")


SCENARIO = """
[gan]
target = "gaussian"
noise_dim = 2
batch_size = 16
iterations = 20
[generator]
layers = [ { type = "dense", units = 8, activation = "leaky_relu" }, { type = "dense", units = 1 } ]
optimizer = { type = "adam", lr = 0.01 }
[discriminator]
layers = [ { type = "dense", units = 8, activation = "leaky_relu" },
           { type = "dense", units = 1, activation = "sigmoid" } ]
[[variants]]
name = "slow"
generator = { optimizer = { type = "sgd", lr = 0.001 } }
[[expect]]
check = "w_distance() >= 0 and slow.d_loss > 0"
"""


def test_a_gan_scenario_runs_headless(tmp_path, capsys):
    path = tmp_path / "gan.toml"
    path.write_text(textwrap.dedent(SCENARIO))
    scenario = load(path)
    assert scenario.kind == "gan" and list(scenario.variants) == ["slow"]
    assert main(["run", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["iterations"] == 20 and report["expect"][0]["passed"]
    assert main(["run", str(path)]) == 0
    assert "the game at the end" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('activation = "sigmoid" }', 'activation = "sigmoid" }, { type = "dense", units = 2 }',
         r"discriminator.layers: the discriminator must output \(1,\)"),
        ('target = "gaussian"', 'target = "gausian"', r"gan.target: .*did you mean 'gaussian'"),
        ("[[variants]]", "[data]\n[[variants]]", r"a GAN scenario has no \[data\] table"),
        ('check = "w_distance() >= 0', 'check = "grad_norm(dense1) >= 0',
         r"gan.toml:17: expect\[0\].check: grad_norm\(layer\) is measured in network "
         r"scenarios \(\[model\]\); this is a GAN scenario; known: d_accuracy"),
    ],
)  # fmt: skip
def test_bad_gan_scenarios_name_the_problem(tmp_path, old, new, message):
    assert old in SCENARIO
    path = tmp_path / "gan.toml"
    path.write_text(textwrap.dedent(SCENARIO.replace(old, new, 1)))
    with pytest.raises(ScenarioError, match=message):
        load(path)
