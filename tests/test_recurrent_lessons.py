"""The machinery of the recurrent lessons: orthogonal and spectral-radius initialisation, the
forget-gate bias, the cell-state metrics and watches recorded per iteration."""

import json
import math
import textwrap

import numpy as np
import pytest

from nnsim import data as D
from nnsim import init
from nnsim.cli import main
from nnsim.layers import GRU, LSTM, RNN, Dense
from nnsim.losses import MSELoss
from nnsim.model import Sequential
from nnsim.scenario import ScenarioError, load
from nnsim.sim.inspection import cell_carry, cell_gradient_ratio, forget_gate_mean
from nnsim.text import TextSampler


def _built(layer, input_shape=(3, 2)):
    model = Sequential([layer], input_shape=input_shape)
    model.materialize()
    return model.layers[0]


@pytest.mark.parametrize("shape", [(6, 6), (4, 7), (7, 4)])
def test_orthogonal_init_has_every_singular_value_equal_to_the_gain(shape):
    w = init.orthogonal(shape, np.random.default_rng(0), gain=1.3)
    assert w.shape == shape
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 1.3, rtol=1e-12)
    with pytest.raises(ValueError, match=r"orthogonal: needs a 2-D shape"):
        init.orthogonal((2, 3, 3), np.random.default_rng(0))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_radius_sets_every_gate_blocks_singular_values(cls):
    layer = _built(cls(5, radius=0.9, name="r"))
    w_hh = layer.params["W_hh"]  # (gates * 5, 5)
    assert w_hh.shape == (cls.gates * 5, 5)
    for block in np.split(w_hh, cls.gates):
        np.testing.assert_allclose(np.linalg.svd(block, compute_uv=False), 0.9, rtol=1e-12)
    with pytest.raises(ValueError, match=r"radius .* must be above 0"):
        cls(5, radius=0.0)


def test_forget_bias_sets_only_the_forget_block():
    layer = _built(LSTM(4, forget_bias=5.0, name="m"))
    b_ih, b_hh = layer.params["b_ih"], layer.params["b_hh"]  # (16,) in gate order i, f, g, o
    assert np.all(b_ih[4:8] == 5.0) and np.all(b_hh[4:8] == 0.0)
    default = _built(LSTM(4, name="m"))
    np.testing.assert_array_equal(b_ih[:4], default.params["b_ih"][:4])
    assert "forget_bias=5" in layer.options()


def _lstm_pass(forget_bias, steps=100, seed=0):
    data = D.adding_problem(16, steps, seed=0)
    model = Sequential(
        [LSTM(8, forget_bias=forget_bias, return_sequences=False, name="m"), Dense(1)],
        input_shape=(steps, 2),
        seed=seed,
    )
    loss, grad = MSELoss()(model.forward(data.x), data.y)
    model.backward(grad)
    return model.layers[0]


def test_cell_carry_is_the_product_of_the_forget_gates():
    layer = _lstm_pass(5.0)
    forget = layer.cache.gate("f")  # (N, T, H)
    expected = np.prod(forget[:, 1:], axis=1).mean()
    assert cell_carry(layer) == pytest.approx(expected, rel=1e-12)
    # sigma(5) = 0.9933 at every step: about 0.9933^99 = 0.51 survives along the cell
    assert 0.3 < cell_carry(layer) < 0.7 and forget_gate_mean(layer) > 0.98
    # torch's default bias starts f near 0.5: nothing survives 99 steps
    default = _lstm_pass(None)
    assert cell_carry(default) < 1e-10 and cell_gradient_ratio(default) < 1e-6
    dc = default.cache.dc  # (N, T, H): the ratio is of the per-step norms of dL/dc_t
    norms = np.sqrt((dc**2).sum(axis=(0, 2)))  # (T,)
    assert cell_gradient_ratio(default) == pytest.approx(norms[0] / norms[-1], rel=1e-12)


def test_cell_metrics_are_nan_where_there_is_no_cell():
    model = Sequential([RNN(4, name="r")], input_shape=(5, 2))
    model.forward(np.zeros((2, 5, 2)))
    layer = model.layers[0]
    assert math.isnan(cell_carry(layer)) and math.isnan(forget_gate_mean(layer))
    assert math.isnan(cell_gradient_ratio(layer))  # no backward pass, and no cell


LESSON = """
[data]
source = "sine_waves"
n = 32
steps = 10
validation = 0.25
[model]
layers = [ { type = "rnn", hidden = 4, name = "rnn" }, { type = "dense", units = 1 } ]
loss = "mse"
[train]
batch_size = 8
iterations = 5
[[expect]]
check = "val_loss < 1"
"""


def test_a_validation_check_without_eval_every_is_an_error(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(textwrap.dedent(LESSON))
    with pytest.raises(ScenarioError, match=r"expect\[0\].check: val_loss .* eval_every is 0"):
        load(path)
    path.write_text(
        textwrap.dedent(LESSON).replace("iterations = 5", "iterations = 5\neval_every = 5")
    )
    assert load(path).eval_every == 5


def test_watches_are_recorded_every_iteration_and_reported(capsys, tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(
        textwrap.dedent(LESSON).replace("iterations = 5", "iterations = 5\neval_every = 5")
    )
    code = main(
        [
            "run",
            str(path),
            "--json",
            "--watch",
            "dh_ratio(rnn)",
            "--watch",
            "loss * 2",
            "--trace",
            str(tmp_path / "t.csv"),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["watches"]["loss * 2"] == pytest.approx(2 * report["final_loss"])
    header, *rows = (tmp_path / "t.csv").read_text().splitlines()
    assert "dh_ratio(rnn)" in header and "loss * 2" in header and len(rows) == 5
    code = main(["run", str(path), "--watch", "dh_ratio(nope)"])
    err = capsys.readouterr().err
    assert code == 2 and "--watch 'dh_ratio(nope)'" in err and "unknown layer 'nope'" in err


def test_the_corpus_source_gives_next_character_windows(tmp_path):
    path = tmp_path / "char.toml"
    path.write_text(
        textwrap.dedent("""
        [data]
        source = "corpus"
        steps = 16
        stride = 4
        [model]
        layers = [ { type = "embedding", num = 40, dim = 4 }, { type = "lstm", hidden = 8 },
                   { type = "dense", units = 40 } ]
        loss = "cross_entropy"
        [train]
        iterations = 1
        """)
    )
    scenario = load(path)
    train = scenario.data.train
    text = D.load_corpus()
    assert (
        train.x.shape == (len(range(0, len(text) - 16, 4)), 16) and train.y.shape == train.x.shape
    )
    assert len(train.class_names) == 40 and scenario.data.text == text
    # window k starts at character 4k; y is x shifted by one character
    assert D.decode_text(train.x[2], train.class_names) == text[8:24]
    assert D.decode_text(train.y[2], train.class_names) == text[9:25]


def test_text_sampling_is_seeded_and_known_words_measures_spelling():
    text = D.load_corpus()
    _, alphabet = D.encode_text(text)
    sampler = TextSampler(text, alphabet, steps=8, length=60)

    def uniform(x):  # (N, steps) -> equal scores (N, steps, V)
        return np.zeros((*x.shape, len(alphabet)))

    first, again = sampler.sample(uniform), sampler.sample(uniform)
    assert first == again and len(first) == 60 and set(first) <= set(alphabet)
    assert sampler.known_words(text[200:600]) == 1.0
    assert sampler.known_words("xq zzkv the wqj prrt blorf qq") < 0.3
    assert sampler.known_words("") == 0.0
    with pytest.raises(ValueError, match="outside the alphabet"):
        TextSampler(text + "§", alphabet, steps=8)


def test_a_trained_character_model_writes_corpus_words():
    scenario = load("char_lm")
    sim = scenario.simulator(iterations=400)
    sim.run(1)
    assert sim.model_metric("known_words") < 0.3
    sim.run(399)
    assert sim.model_metric("known_words") > 0.6
    assert sim.sample_text().strip()


def test_recall_accuracy_counts_only_the_steps_that_must_be_remembered(tmp_path):
    path = tmp_path / "copy.toml"
    path.write_text(
        textwrap.dedent("""
        [data]
        source = "copy_task"
        n = 40
        length = 3
        delay = 4
        validation = 0.25
        [model]
        layers = [ { type = "embedding", num = 10, dim = 4 }, { type = "lstm", hidden = 8 },
                   { type = "dense", units = 10 } ]
        loss = "cross_entropy"
        [train]
        iterations = 1
        """)
    )
    sim = load(path).simulator()
    _, y = sim.validation  # (10, 11): blanks except the 3 recall steps

    def answer(labels):
        return lambda x: np.eye(10)[labels]  # one-hot scores (N, T, 10)

    sim.predict = answer(np.zeros_like(y))  # blanks everywhere: most steps right
    assert sim.recall_accuracy() == 0.0
    sim.predict = answer(y)
    assert sim.recall_accuracy() == 1.0
    wrong = y.copy()
    wrong[:, -1] = np.where(y[:, -1] == 2, 3, 2)  # the last recalled symbol always wrong
    sim.predict = answer(wrong)
    assert sim.recall_accuracy() == pytest.approx(2 / 3)
