"""ONNX models in nnsim (nnsim.interop.from_onnx) against onnx's ReferenceEvaluator, and a
model file in a scenario and on the command line (`[model] file`, `nnsim run --model`)."""

import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from onnx.reference import ReferenceEvaluator  # noqa: E402
from torch import nn  # noqa: E402

from nnsim.cli import main  # noqa: E402
from nnsim.interop import InteropError, from_onnx, read_onnx  # noqa: E402
from nnsim.scenario import ScenarioError, load  # noqa: E402


def export(net, example, path, training=False):
    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, example, str(path), dynamo=False, training=mode)
    return path


def reference(path, x):
    name = onnx.load(str(path)).graph.input[0].name
    return ReferenceEvaluator(str(path)).run(None, {name: x.astype(np.float32)})[0]


def within_float32(ours, theirs):
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-5 * max(1.0, np.abs(theirs).max())


class Branches(nn.Module):
    """A residual block, an inception-like concat and a softmax head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.LeakyReLU(0.2))
        self.wide = nn.Conv2d(4, 3, 1)
        self.narrow = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(4, 2, 1))
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block(x) + x
        x = torch.cat([self.wide(x), self.narrow(x)], dim=1)
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return torch.softmax(self.head(x), dim=-1)


@pytest.mark.parametrize("training", [True, False])
def test_an_onnx_graph_with_branches_computes_what_the_reference_evaluator_does(tmp_path, training):
    torch.manual_seed(0)
    net = Branches().train(training)
    x = np.random.default_rng(0).standard_normal((3, 1, 6, 6))
    path = export(net, torch.zeros(3, 1, 6, 6), tmp_path / "b.onnx", training)
    folded = pytest.warns(UserWarning, match="folded a batch norm")
    with folded if not training else warnings.catch_warnings():
        model = from_onnx(path)
    assert model.leaves()[0].training is training  # as exported
    kinds = [type(layer).__name__ for layer in model.walk()]
    assert "Residual" in kinds and "Concat" in kinds
    assert ("BatchNorm" in kinds) is training  # an eval export folds it into the conv
    within_float32(model.forward(x), reference(path, x))


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_onnx_recurrent_gates_come_back_in_pytorchs_order(tmp_path, cell):
    class Last(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, cell)(3, 5, batch_first=True)
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    torch.manual_seed(2)
    net = Last().eval()
    path = export(net, torch.zeros(2, 4, 3), tmp_path / "r.onnx")
    model = from_onnx(path)
    layer = model.leaves()[0]
    assert layer.return_sequences is False
    # ONNX stores LSTM gates as i,o,f,c and GRU's as z,r,h: read back, they are PyTorch's
    np.testing.assert_array_equal(layer.params["W_ih"], net.rnn.weight_ih_l0.detach().numpy())
    np.testing.assert_array_equal(layer.params["b_hh"], net.rnn.bias_hh_l0.detach().numpy())
    x = np.random.default_rng(1).standard_normal((2, 4, 3))
    within_float32(model.forward(x), reference(path, x))


def test_a_folded_batch_norm_is_told_with_what_it_means_for_training(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU()).eval()
    imported = read_onnx(export(net, torch.zeros(1, 1, 5, 5), tmp_path / "f.onnx"))
    assert [leaf.kind for leaf in imported.leaves] == ["conv", "relu"]
    (note,) = imported.notes
    assert "folded a batch norm into this convolution" in note
    assert "trains it as a plain convolution" in note and "TrainingMode.TRAINING" in note
    with pytest.warns(UserWarning, match="folded a batch norm"):
        assert from_onnx(tmp_path / "f.onnx").import_notes == (note,)


def test_an_unsupported_onnx_operator_is_refused_by_its_node(tmp_path):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2)).eval()
    path = export(net, torch.zeros(1, 1, 5, 5), tmp_path / "u.onnx")
    with pytest.raises(InteropError, match=r"^node /1/Resize \(ONNX Resize\): not supported: "):
        from_onnx(path)


def small_files(tmp_path, classes=True):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten())
    net.append(nn.Linear(3 * 4 * 4, 3 if classes else 1))
    export(net, torch.zeros(2, 1, 6, 6), tmp_path / "m.onnx", training=True)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40) if classes else rng.standard_normal((40, 1))
    np.savez(tmp_path / "d.npz", x=rng.standard_normal((40, 1, 6, 6)), y=y)
    return net


def test_a_scenario_reads_its_model_from_an_onnx_file_and_starts_from_its_loss(tmp_path):
    net = small_files(tmp_path)
    (tmp_path / "s.toml").write_text(
        '[data]\nsource = "file"\npath = "d.npz"\n[model]\nfile = "m.onnx"\n'
        'loss = "cross_entropy"\n[train]\nbatch_size = 40\nshuffle = false\niterations = 1\n'
    )
    scenario = load(tmp_path / "s.toml")
    assert scenario.model.layer_names == ("conv1", "bn1", "relu1", "flatten1", "dense1")
    sim = scenario.simulator()
    sim.run(1)
    x, y = (torch.from_numpy(a) for a in np.load(tmp_path / "d.npz").values())
    loss = nn.functional.cross_entropy(net.double().train()(x), y).item()
    assert abs(sim.loss_value - loss) < 1e-6 * loss


def test_a_model_file_that_does_not_fit_the_data_is_a_scenario_error(tmp_path):
    small_files(tmp_path)
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 1, 7, 7)), y=np.zeros(4, dtype=int))
    (tmp_path / "s.toml").write_text(
        '[data]\nsource = "file"\npath = "d.npz"\n[model]\nfile = "m.onnx"\nloss = "mse"\n'
    )
    with pytest.raises(
        ScenarioError, match=r"model.file: m.onnx takes examples shaped \[1, 6, 6\]"
    ):
        load(tmp_path / "s.toml")


def test_nnsim_run_trains_a_model_file_on_a_data_file_and_writes_pytorch_weights(tmp_path, capsys):
    net = small_files(tmp_path)
    out = tmp_path / "trained.safetensors"
    args = ["run", "--model", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "d.npz")]
    code = main([*args, "--iterations", "3", "--json", "--save-torch", str(out)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["iterations"] == 3
    from safetensors.torch import load_file

    state = load_file(out)
    assert set(state) == {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    net.load_state_dict(state, strict=False)  # the exporter's names are the module's


def test_nnsim_run_refuses_a_model_without_data_in_one_line(tmp_path, capsys):
    small_files(tmp_path)
    assert main(["run", "--model", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip() == (
        "nnsim run: --model needs --data FILE (.npz with arrays x and y, or .csv)"
    )
    missing = tmp_path / "nothing.onnx"
    assert main(["run", "--model", str(missing), "--data", str(tmp_path / "d.npz")]) == 2
    assert capsys.readouterr().err.strip() == f"nnsim run: --model {missing}: no such file"


def test_the_lesson_made_for_a_model_file_says_where_each_layer_came_from(tmp_path):
    from nnsim.interop.cli import ModelLesson

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten())
    export(net.append(nn.Linear(32, 3)).eval(), torch.zeros(1, 1, 6, 6), tmp_path / "m.onnx")
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 1, 6, 6)), y=np.arange(10) % 3)
    lesson = ModelLesson(str(tmp_path / "m.onnx"), str(tmp_path / "d.npz"))
    assert str(lesson) == "m.onnx with d.npz"  # what the interface shows while opening it
    scenario = lesson()
    assert scenario.loss.name == "cross_entropy" and scenario.iterations == 50
    assert "- `conv1` is node /0/Conv (ONNX Conv)" in scenario.text
    assert "**Note.** node /0/Conv (ONNX Conv): its weights are not a module's own" in scenario.text
    np.savez(tmp_path / "r.npz", x=np.zeros((10, 1, 6, 6)), y=np.zeros((10, 3)))
    assert ModelLesson(str(tmp_path / "m.onnx"), str(tmp_path / "r.npz"))().loss.name == "mse"
