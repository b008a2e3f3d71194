"""Make samples/models/small_cnn.safetensors, the learner's model of the lesson your_own_model:
a small PyTorch CNN's state_dict, as safetensors.torch.save_file(net.state_dict(), ...) writes
it, and print PyTorch's loss on the lesson's first batch (the number its first check records).
Needs nnsim[torch]:

    python tools/make_small_cnn.py                  # samples/models/small_cnn.safetensors
    python tools/make_small_cnn.py OUT.safetensors  # elsewhere (the tests regenerate it)
    python tools/make_small_cnn.py OUT.onnx         # the same model as ONNX (training mode, so
                                                    # the BatchNormalization stays a node)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "samples" / "models" / "small_cnn.safetensors"
LESSON = ROOT / "samples" / "your_own_model.toml"


def small_cnn():
    """The learner's model: PyTorch's default initialisation from seed 0."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def save(net, path: Path) -> None:
    """The state_dict as .safetensors (nnsim's writer: the format, without the package)."""
    from nnsim.interop import safetensors_io

    state = {key: value.detach().numpy() for key, value in net.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors_io.save(path, state, {"format": "pt"})


def export(net, path: Path) -> None:
    import torch

    example = torch.zeros(2, 1, 8, 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        example,
        str(path),
        dynamo=False,  # the TorchScript exporter works offline (the new one needs onnxscript)
        training=torch.onnx.TrainingMode.TRAINING,  # keep BatchNormalization
        do_constant_folding=False,
        input_names=["digits"],
        output_names=["scores"],
    )


def first_loss(net, x, y) -> float:
    """PyTorch's cross-entropy on one batch, in training mode (batch statistics), float64."""
    import torch
    import torch.nn.functional as F

    net = net.double().train()
    with torch.no_grad():
        return float(F.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y)))


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else MODEL
    net = small_cnn()
    (export if out.suffix == ".onnx" else save)(net, out)
    from nnsim.scenario import load

    scenario = load(LESSON)  # the lesson's first batch: shuffle = false, so its first examples
    batch = scenario.batch_size
    x, y = scenario.data.train.x[:batch], scenario.data.train.y[:batch]
    print(f"wrote {out}; PyTorch's first loss: {first_loss(net, x, y):.9f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
