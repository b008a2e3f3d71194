"""Bring your own model (nnsim.interop): PyTorch modules in and out, weights files, the lesson.

The parity tests run PyTorch in float64 and hold nnsim to relative 1e-9 on the forward pass,
the loss and every weight gradient."""

import sys
from pathlib import Path

import numpy as np
import pytest

from nnsim.interop import InteropError, MissingExtra, load_weights, safetensors_io, save_torch
from nnsim.losses import CrossEntropyLoss

ROOT = Path(__file__).resolve().parent.parent


def close(a, b, rel=1e-9):
    """Equal to relative ``rel`` of the largest value; arrays that are zero in exact
    arithmetic (the gradient of a bias right before a batch norm: rounding noise near 1e-17
    on both sides) to 1e-15 absolute."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    scale = max(np.abs(b).max(), 1e-6)
    assert np.abs(a - b).max() <= rel * scale, np.abs(a - b).max() / scale


def torch_cnn():
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 4, 3, stride=1, padding=2, dilation=2, groups=2),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 8),
        nn.BatchNorm1d(8),
        nn.ELU(0.5),
        nn.Linear(8, 3),
    ).double()


def torch_lstm_classifier():
    torch = pytest.importorskip("torch")
    from torch import nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 7, batch_first=True)
            self.head = nn.Linear(7, 4)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    torch.manual_seed(1)
    return Classifier().double()


def parity(net, model, x, y):
    """Forward, cross-entropy and every weight gradient of nnsim against PyTorch."""
    import torch
    import torch.nn.functional as F

    out = net(torch.from_numpy(x))
    loss = F.cross_entropy(out, torch.from_numpy(y))
    loss.backward()
    ours = model.forward(x)
    our_loss, dout = CrossEntropyLoss()(ours, y)
    model.backward(dout)
    close(ours, out.detach().numpy())
    close(our_loss, loss.item())
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    grads = model.gradients()
    assert {model.torch_keys[k] for k in grads} == set(torch_grads)
    for key, grad in grads.items():
        close(grad, torch_grads[model.torch_keys[key]])
    return out


def test_a_cnn_with_batch_norm_computes_what_pytorch_computes_in_float64():
    from nnsim.interop import from_torch

    net = torch_cnn().train()
    model = from_torch(net, (1, 8, 8))
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8))
    y = np.array([0, 2, 1, 2, 0])
    parity(net, model, x, y)
    # training mode updated both models' running statistics alike
    state = net.state_dict()
    for key, value in model.buffers().items():
        close(value, state[model.torch_keys[key]].numpy())


def test_an_lstm_classifier_computes_what_pytorch_computes_in_float64():
    from nnsim.interop import from_torch

    net = torch_lstm_classifier()
    model = from_torch(net, (6, 3))
    assert [lay.name for lay in model.leaves()] == ["lstm1", "dense1"]
    assert model.layer("lstm1").return_sequences is False  # out[:, -1]
    x = np.random.default_rng(1).standard_normal((4, 6, 3))
    parity(net, model, x, np.array([3, 0, 1, 2]))


def test_an_imported_model_keeps_the_modules_train_or_eval_mode():
    from nnsim.interop import from_torch

    net = torch_cnn().eval()
    model = from_torch(net, (1, 8, 8))
    assert not any(layer.training for layer in model.walk())
    x = np.random.default_rng(2).standard_normal((3, 1, 8, 8))
    import torch

    close(model.forward(x), net(torch.from_numpy(x)).detach().numpy())  # running statistics


def test_to_torch_gives_back_a_module_with_the_same_weights_and_outputs():
    import torch

    from nnsim.interop import from_torch, to_torch

    net = torch_cnn().eval()
    with torch.no_grad():  # running statistics a fresh module would not have
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    model = from_torch(net, (1, 8, 8))
    back = to_torch(model)
    assert not back.training
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((4, 1, 8, 8)))
    close(back(x).detach().numpy(), net(x).detach().numpy())
    for key, value in net.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            close(back.state_dict()[key].numpy(), value.numpy(), rel=0)


def test_save_torch_writes_a_state_dict_the_source_module_loads(tmp_path):
    import torch

    from nnsim.interop import from_torch

    net = torch_cnn()
    model = from_torch(net, (1, 8, 8))
    for value in model.parameters().values():
        value += 0.5  # "trained" in nnsim
    path = save_torch(model, tmp_path / "trained.safetensors")
    state = {k: torch.from_numpy(v) for k, v in safetensors_io.loads(path.read_bytes()).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert unexpected == [] and all(k.endswith("num_batches_tracked") for k in missing)
    for key, value in model.parameters().items():
        close(net.state_dict()[model.torch_keys[key]].numpy(), value, rel=0)
    fresh = from_torch(torch_cnn(), (1, 8, 8))
    load_weights(fresh, path)
    for key, value in model.parameters().items():
        close(fresh.parameters()[key], value, rel=0)


def test_safetensors_files_agree_with_the_safetensors_package(tmp_path):
    numpy_io = pytest.importorskip("safetensors.numpy")
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([1, 2], dtype=np.int64)}
    ours = safetensors_io.dumps(arrays)
    for key, value in numpy_io.load(ours).items():
        assert np.array_equal(value, arrays[key]) and value.dtype == arrays[key].dtype
    for key, value in safetensors_io.loads(numpy_io.save(arrays)).items():
        assert np.array_equal(value, arrays[key]) and value.dtype == arrays[key].dtype


def test_load_weights_refuses_a_file_of_another_model_and_changes_nothing(tmp_path):
    from nnsim import Sequential
    from nnsim.layers import Dense

    model = Sequential([Dense(3), Dense(2)], input_shape=(4,), seed=0)
    before = {k: v.copy() for k, v in model.parameters().items()}
    path = tmp_path / "other.safetensors"
    weights = {"0.weight": np.ones((3, 4)), "0.bias": np.ones(3), "1.weight": np.ones((5, 3))}
    safetensors_io.save(path, weights | {"1.bias": np.ones(5)})
    with pytest.raises(InteropError, match=r"'1.weight' is float64 \(5, 3\); nnsim's dense2.W"):
        load_weights(model, path)
    for key, value in model.parameters().items():
        assert np.array_equal(value, before[key])
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(InteropError, match="header claims"):
        load_weights(model, tmp_path / "bad.safetensors")


def test_an_unsupported_module_is_refused_by_its_path_and_nothing_is_built(monkeypatch):
    torch = pytest.importorskip("torch")
    from torch import nn

    import nnsim.interop.build as build
    from nnsim.interop import from_torch

    built = []
    monkeypatch.setattr(build, "Sequential", lambda *a, **k: built.append(a))
    features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.Upsample(2))
    net = nn.Sequential()
    net.add_module("features", features)
    with pytest.raises(InteropError) as err:
        from_torch(net, (1, 8, 8))
    message = "features.3 (nn.Upsample): not supported: nnsim has no upsampling layer"
    assert str(err.value) == message
    assert built == []
    lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    with pytest.raises(InteropError, match=r"^0 \(nn.LSTM\): not supported: bidirectional"):
        from_torch(nn.Sequential(lstm), (5, 3))
    assert built == []
    del torch


def test_a_module_that_does_not_fit_its_input_is_named_with_both_shapes():
    pytest.importorskip("torch")
    from torch import nn

    from nnsim.interop import from_torch

    with pytest.raises(InteropError, match=r"^0 \(nn.Conv2d\): its weight W is \(4, 3, 3, 3\)"):
        from_torch(nn.Sequential(nn.Conv2d(3, 4, 3)), (1, 8, 8))
    with pytest.raises(InteropError, match=r"1 \(nn.Linear\): does not fit here.*\(4, 6, 6\)"):
        from_torch(nn.Sequential(nn.Conv2d(1, 4, 3), nn.Linear(4, 2)), (1, 8, 8))


@pytest.mark.parametrize("package, extra", [("torch", "nnsim[torch]"), ("onnx", "nnsim[onnx]")])
def test_without_torch_or_onnx_the_message_names_the_extra(monkeypatch, package, extra):
    from nnsim import interop

    monkeypatch.setitem(sys.modules, package, None)  # `import package` raises ImportError
    read = {
        "torch": lambda: interop.from_torch(object(), (1,)),
        "onnx": lambda: interop.from_onnx("m.onnx"),
    }
    with pytest.raises(MissingExtra) as err:
        read[package]()
    assert f'needs {package}, which is not installed: pip install "{extra}"' in str(err.value)
    assert isinstance(MissingExtra("x"), ValueError)  # the CLI reports it in one line, exit 2


def test_the_lesson_model_is_pytorchs_and_its_first_loss_is_pytorchs(tmp_path):
    pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_small_cnn
    finally:
        sys.path.remove(str(ROOT / "tools"))
    from nnsim.scenario import load

    shipped = safetensors_io.loads((ROOT / "samples/models/small_cnn.safetensors").read_bytes())
    make_small_cnn.main([str(tmp_path / "again.safetensors")])
    again = safetensors_io.loads((tmp_path / "again.safetensors").read_bytes())
    assert shipped.keys() == again.keys()
    assert all(np.array_equal(shipped[k], again[k]) for k in shipped)
    scenario = load(ROOT / "samples/your_own_model.toml")
    batch = scenario.batch_size
    x, y = scenario.data.train.x[:batch], scenario.data.train.y[:batch]
    theirs = make_small_cnn.first_loss(make_small_cnn.small_cnn(), x, y)
    sim = scenario.simulator(iterations=1)
    sim.run(1)
    close(sim.loss_value, theirs, rel=1e-12)
    check = scenario.expectations[0]
    low, high = (float(w.split(" ")[0]) for w in check.check.split("loss > ")[1].split("loss < "))
    assert check.at == 1 and low < theirs < high and high - low <= 2e-6


def test_weights_beside_layers_that_do_not_fit_are_refused_at_the_file_key(tmp_path):
    from nnsim.scenario import ScenarioError, load

    np.savez(tmp_path / "d.npz", x=np.zeros((4, 3)), y=np.zeros(4, dtype=int))
    safetensors_io.save(
        tmp_path / "w.safetensors", {"0.weight": np.ones((2, 5)), "0.bias": np.ones(2)}
    )
    (tmp_path / "s.toml").write_text(
        '[data]\nsource = "file"\npath = "d.npz"\n[model]\n'
        'layers = [{ type = "dense", units = 2 }]\nfile = "w.safetensors"\n'
        'loss = "cross_entropy"\n'
    )
    with pytest.raises(ScenarioError) as err:
        load(tmp_path / "s.toml")
    assert err.value.keys == ["model", "file"] and err.value.line == 6
    assert "'0.weight' is float64 (2, 5); nnsim's dense1.W needs floats (2, 3)" in err.value.message


def test_nnsim_tui_takes_a_model_with_its_data_only(capsys):
    from nnsim.tui.launch import main

    assert main(["tui", "--model", "my.onnx"]) == 2
    assert capsys.readouterr().err.strip() == (
        "nnsim tui: give a scenario, or --model FILE and --data FILE"
    )


def test_a_pt_state_dict_loads_but_a_pickled_module_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    from nnsim.interop import from_torch

    net = torch_cnn()
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    model = from_torch(net, (1, 8, 8))
    for value in model.parameters().values():
        value -= 1.0  # trained away from the file's numbers
    load_weights(model, tmp_path / "weights.pt")
    for key, value in model.parameters().items():
        close(value, net.state_dict()[model.torch_keys[key]].numpy(), rel=0)
    torch.save(net, tmp_path / "module.pt")  # a whole module: unpickling it would run code
    with pytest.raises(InteropError, match="module.pt: not a readable state_dict"):
        load_weights(model, tmp_path / "module.pt")


def test_what_ifs_on_a_model_from_a_file_keep_its_weights_unless_they_change_the_start():
    from nnsim.scenario import load

    scenario = load(ROOT / "samples/your_own_model.toml")
    read = scenario.build_model().parameters()
    swapped = scenario.variant(activation=("relu", "tanh")).build_model().parameters()
    assert all(np.array_equal(read[k], swapped[k]) for k in read)  # the file's weights
    fresh = scenario.variant(init="he_normal").build_model().parameters()
    assert not np.array_equal(read["conv1.W"], fresh["conv1.W"])  # he_normal's, not the file's
