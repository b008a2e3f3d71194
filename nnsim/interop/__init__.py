"""Bring your own model: PyTorch modules and ONNX graphs in, PyTorch weights out.

    from nnsim.interop import from_torch, to_torch, save_torch, load_weights, from_onnx
    model = from_torch(net, input_shape=(1, 28, 28))   # an nnsim Sequential, same weights
    net2 = to_torch(model)                              # an nn.Sequential, same weights
    save_torch(model, "trained.safetensors")            # a state_dict, PyTorch's key names
    model = from_onnx("small_cnn.onnx")

A model is read into nnsim's own layer tables (the grammar of a scenario's ``[model] layers``)
and built by the code that builds lessons, so shapes, names and the memory budget are checked
the same way; anything nnsim has no layer for is refused, named by its path in the model, and
nothing is built. PyTorch and ONNX are optional: ``pip install "nnsim[torch]"`` or
``pip install "nnsim[onnx]"``.
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

from .graph import Imported, InteropError, MissingExtra

__all__ = [
    "InteropError",
    "MissingExtra",
    "from_onnx",
    "from_torch",
    "load_weights",
    "read_onnx",
    "read_torch",
    "save_torch",
    "to_torch",
]

EXTRAS = {
    "torch": 'pip install "nnsim[torch]" (the CPU build: pip install torch==2.13.0 '
    "--index-url https://download.pytorch.org/whl/cpu)",
    "onnx": 'pip install "nnsim[onnx]"',
}


def require(package: str, purpose: str):
    """The imported package, or MissingExtra saying what to install."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingExtra(
            f"{purpose} needs {package}, which is not installed: {EXTRAS[package]}"
        ) from None


def read_torch(module, input_shape) -> Imported:
    """The layer tables and weights of a PyTorch module, checked (not yet a model)."""
    from .torch_reader import read_torch as read

    return read(require("torch", "reading a PyTorch model"), module, input_shape)


def from_torch(module, input_shape, dtype: str = "float64", seed: int = 0):
    """An nnsim Sequential equal to ``module`` (its weights, running statistics and train or
    eval mode); ``input_shape`` is one example's, without the batch axis: (1, 28, 28)."""
    from .build import build

    return build(read_torch(module, input_shape), dtype, seed)


def read_onnx(path: str | Path) -> Imported:
    """The layer tables and weights of an ONNX file, checked (not yet a model)."""
    from .onnx_reader import read_onnx as read

    return read(require("onnx", "reading an ONNX model"), Path(path))


def from_onnx(path: str | Path, dtype: str = "float64", seed: int = 0):
    """An nnsim Sequential equal to the ONNX graph in ``path`` (same weights); what the
    learner should know about the file (a batch norm the exporter folded into a
    convolution) is said as a UserWarning and kept in ``model.import_notes``."""
    from .build import build

    imported = read_onnx(path)
    model = build(imported, dtype, seed)
    model.import_notes = imported.notes
    for note in imported.notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return model


def to_torch(model):
    """An nn.Sequential computing what ``model`` computes, with its weights, running
    statistics and train/eval mode (float64 if the model is)."""
    from .torch_writer import to_torch as convert

    return convert(require("torch", "to_torch"), model)


def save_torch(model, path: str | Path) -> Path:
    """``model``'s weights as a PyTorch state_dict in a .safetensors file (the source
    module's key names if the model was read from one, else to_torch's)."""
    from .torch_writer import save_torch as save

    return save(model, Path(path))


def load_weights(model, path: str | Path) -> None:
    """Weights from a .safetensors file or a .pt/.pth state_dict (read with
    torch.load(weights_only=True)) into ``model``; all checked before anything changes."""
    from .torch_writer import load_weights as load

    load(model, Path(path))
