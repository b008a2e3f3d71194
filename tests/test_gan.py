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
         r"expect\[0\].check: unknown layer 'dense1'"),
    ],
)  # fmt: skip
def test_bad_gan_scenarios_name_the_problem(tmp_path, old, new, message):
    assert old in SCENARIO
    path = tmp_path / "gan.toml"
    path.write_text(textwrap.dedent(SCENARIO.replace(old, new, 1)))
    with pytest.raises(ScenarioError, match=message):
        load(path)
