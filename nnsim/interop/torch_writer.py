"""nnsim models out to PyTorch (``to_torch``, ``save_torch``) and PyTorch weights in
(``load_weights``). The key names are those of ``to_torch``'s module tree (``0.weight``,
``3.block.0.weight``), or, for a model read from a PyTorch module or an ONNX export of one, the
source module's own (``model.torch_keys``), so that ``net.load_state_dict(...)`` takes them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import layers as L
from ..layers.recurrent import Recurrent
from . import safetensors_io
from .graph import InteropError

#: nnsim parameter and buffer names -> PyTorch's, per layer class.
NAMES = {
    "W": "weight",
    "b": "bias",
    "gamma": "weight",
    "beta": "bias",
    "running_mean": "running_mean",
    "running_var": "running_var",
    "W_ih": "weight_ih_l0",
    "W_hh": "weight_hh_l0",
    "b_ih": "bias_ih_l0",
    "b_hh": "bias_hh_l0",
}
MAX_FILE_BYTES_PER_VALUE = 16  # a weights file is refused beyond this per value of the model


def _children(layer) -> list[tuple[str, object]]:
    """(name in the torch tree, child) of a container, in to_torch's layout."""
    if isinstance(layer, L.Residual):
        pairs = [("block", layer.block)]
        return pairs + ([("shortcut", layer.shortcut)] if layer.shortcut is not None else [])
    if isinstance(layer, L.Concat):
        return [(f"branches.{j}", b) for j, b in enumerate(layer.branches)]
    return [(str(i), child) for i, child in enumerate(layer.layers)]


def layout(model) -> dict[str, str]:
    """nnsim key ("conv1.W") -> to_torch's state_dict key ("0.weight")."""
    keys: dict[str, str] = {}

    def visit(layer, prefix: str) -> None:
        if layer.children():
            for name, child in _children(layer):
                visit(child, f"{prefix}{name}.")
            return
        for key in (*layer.param_shapes(), *layer.running_shapes()):
            keys[f"{layer.name}.{key}"] = f"{prefix}{NAMES[key]}"

    visit(model, "")
    return keys


def torch_keys(model) -> dict[str, str]:
    """The state_dict names ``save_torch`` writes and ``load_weights`` reads."""
    return getattr(model, "torch_keys", None) or layout(model)


# ---------------------------------------------------------------- to_torch


def _classes(torch):
    nn = torch.nn

    class Residual(nn.Module):
        """nnsim's residual block: block(x) + shortcut(x) (the identity without one)."""

        def __init__(self, block, shortcut=None):
            super().__init__()
            self.block, self.shortcut = block, shortcut

        def forward(self, x):
            return self.block(x) + (x if self.shortcut is None else self.shortcut(x))

    class Concat(nn.Module):
        """nnsim's concat block: every branch on x, joined along dim 1."""

        def __init__(self, branches):
            super().__init__()
            self.branches = nn.ModuleList(branches)

        def forward(self, x):
            return torch.cat([branch(x) for branch in self.branches], dim=1)

    def recurrent(base):
        class Sequence(base):
            """batch_first, zero initial state; the sequence, or its last step."""

            def __init__(self, *args, return_sequences=True, **kwargs):
                super().__init__(*args, batch_first=True, **kwargs)
                self.return_sequences = return_sequences

            def forward(self, x):
                out = super().forward(x)[0]
                return out if self.return_sequences else out[:, -1]

        Sequence.__name__ = base.__name__
        return Sequence

    return Residual, Concat, {k: recurrent(getattr(nn, k.upper())) for k in ("rnn", "lstm", "gru")}


def _module(torch, layer, classes):
    nn = torch.nn
    Residual, Concat, recurrent = classes
    if isinstance(layer, L.Sequential):
        return nn.Sequential(*[_module(torch, child, classes) for child in layer.layers])
    if isinstance(layer, L.Residual):
        shortcut = None if layer.shortcut is None else _module(torch, layer.shortcut, classes)
        return Residual(_module(torch, layer.block, classes), shortcut)
    if isinstance(layer, L.Concat):
        return Concat([_module(torch, b, classes) for b in layer.branches])
    if type(layer) is L.Dense:
        return nn.Linear(layer.input_shape[-1], layer.units, bias=layer.bias)
    if type(layer) is L.Conv2d:
        return nn.Conv2d(
            layer.input_shape[0],
            layer.filters,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.dilation,
            layer.groups,
            bias=layer.bias,
        )
    if isinstance(layer, L.BatchNorm):
        cls = nn.BatchNorm1d if len(layer.input_shape) == 1 else nn.BatchNorm2d
        return cls(layer.input_shape[0], eps=layer.eps, momentum=layer.momentum)
    if isinstance(layer, L.GlobalAvgPool2d):
        return nn.AdaptiveAvgPool2d(1)
    if isinstance(layer, L.MaxPool2d):
        args = layer.kernel_size, layer.stride, layer.padding
        return nn.MaxPool2d(*args, ceil_mode=layer.ceil_mode)
    if isinstance(layer, L.AvgPool2d):
        args = layer.kernel_size, layer.stride, layer.padding
        return nn.AvgPool2d(
            *args, ceil_mode=layer.ceil_mode, count_include_pad=layer.count_include_pad
        )
    if isinstance(layer, Recurrent):
        options = {"nonlinearity": layer.nonlinearity} if layer.kind == "rnn" else {}
        return recurrent[layer.kind](
            layer.input_shape[1],
            layer.hidden,
            return_sequences=layer.return_sequences,
            **options,
        )
    simple = {
        L.Flatten: lambda: nn.Flatten(),
        L.Dropout: lambda: nn.Dropout(layer.p),
        L.Embedding: lambda: nn.Embedding(layer.num_embeddings, layer.dim),
        L.ReLU: nn.ReLU,
        L.Sigmoid: nn.Sigmoid,
        L.Tanh: nn.Tanh,
        L.Softsign: nn.Softsign,
        L.Softplus: nn.Softplus,
        L.Identity: nn.Identity,
        L.Softmax: lambda: nn.Softmax(dim=-1),
        L.LeakyReLU: lambda: nn.LeakyReLU(layer.fn_params["alpha"]),
        L.ELU: lambda: nn.ELU(layer.fn_params["alpha"]),
    }
    if type(layer) in simple:
        return simple[type(layer)]()
    raise InteropError(
        f"{layer.name} ({type(layer).__name__}): PyTorch has no module like it; to_torch "
        "converts the layers PyTorch has"
    )


def to_torch(torch, model):
    """An nn.Sequential with ``model``'s weights, running statistics and mode."""
    model.materialize()
    net = _module(torch, model, _classes(torch))
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    net = net.to(dtype)
    values = {**model.parameters(), **model.buffers()}
    state = {key: torch.from_numpy(values[name].copy()) for name, key in layout(model).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    leftovers = [k for k in missing if not k.endswith("num_batches_tracked")] + unexpected
    if leftovers:
        raise InteropError(f"to_torch: the weights do not match the modules: {leftovers}")
    net.train(model.leaves()[0].training)
    return net


# ---------------------------------------------------------------- files


def save_torch(model, path: Path) -> Path:
    """The weights as a .safetensors state_dict (float tensors, PyTorch's key names)."""
    if path.suffix != ".safetensors":
        raise InteropError(f"{path}: save_torch writes .safetensors files")
    values = {**model.parameters(), **model.buffers()}
    state = {key: values[name] for name, key in torch_keys(model).items()}
    return safetensors_io.save(path, state, {"format": "pt", "written_by": "nnsim"})


def _read(path: Path, limit: int) -> dict[str, np.ndarray]:
    from . import require

    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise InteropError(f"{path}: cannot be read: {err}") from None
    if not path.is_file():
        raise InteropError(f"{path}: is not a regular file")
    if size > limit:
        raise InteropError(f"{path}: is {size:,} bytes, far more than this model's weights")
    if path.suffix == ".safetensors":
        return safetensors_io.loads(path.read_bytes(), str(path))
    if path.suffix in (".pt", ".pth"):
        torch = require("torch", "reading .pt weights")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # unpickling refused, or a damaged file
            raise InteropError(f"{path}: not a readable state_dict: {err}") from None
        if not isinstance(state, dict):
            raise InteropError(f"{path}: holds a {type(state).__name__}, not a state_dict")
        return {k: v.detach().cpu().numpy() for k, v in state.items() if hasattr(v, "numpy")}
    raise InteropError(f"{path}: weights are read from .safetensors, .pt or .pth files")


def load_weights(model, path: Path) -> None:
    """The weights of ``path`` (by ``torch_keys``) into ``model``, all checked first."""
    model.materialize()
    values = {**model.parameters(), **model.buffers()}
    count = sum(v.size for v in values.values())
    state = _read(path, MAX_FILE_BYTES_PER_VALUE * count + (1 << 20))
    staged = []
    wanted = torch_keys(model)
    for name, key in wanted.items():
        if key not in state:
            raise InteropError(f"{path}: has no {key!r} (nnsim's {name}), which the model needs")
        value, target = state[key], values[name]
        if value.shape != target.shape or value.dtype.kind != "f":
            raise InteropError(
                f"{path}: {key!r} is {value.dtype} {value.shape}; nnsim's {name} needs "
                f"floats {target.shape}"
            )
        staged.append((target, value))
    extra = sorted(set(state) - set(wanted.values()))
    extra = [k for k in extra if not k.endswith("num_batches_tracked")]
    if extra:
        raise InteropError(f"{path}: holds {extra[0]!r}, which the model does not have")
    for target, value in staged:
        target[...] = value
