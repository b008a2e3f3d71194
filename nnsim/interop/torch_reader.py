"""``from_torch``: a PyTorch module read through torch.fx into nnsim's layer graph (graph.py).

torch.fx records the module's forward as calls: of submodules (nn.Linear, nn.Conv2d, ...), of
functions (torch.flatten, F.relu, +, torch.cat) and of methods (x.view(x.size(0), -1)). Each
becomes one Node; what nnsim has no layer for is refused, named by its path in the module tree.
"""

from __future__ import annotations

import numpy as np

from .build import finish
from .graph import Imported, InteropError, Node
from .torch_calls import _callee, call

#: Why a known PyTorch module cannot be read (the rest: "nnsim has no layer like it").
NO_LAYER = {
    "Upsample": "nnsim has no upsampling layer",
    "ConvTranspose2d": "nnsim has no transposed convolution",
    "Conv1d": "nnsim's convolutions are 2-D (use nn.Conv2d on (C, 1, L))",
    "Conv3d": "nnsim's convolutions are 2-D",
    "LayerNorm": "nnsim has no layer normalisation (batch norm only)",
    "GroupNorm": "nnsim has no group normalisation (batch norm only)",
    "InstanceNorm2d": "nnsim has no instance normalisation (batch norm only)",
    "MultiheadAttention": "nnsim's attention is a decoder layer of its own",
    "Transformer": "nnsim has no transformer layers",
    "GELU": "nnsim has no GELU activation",
    "SiLU": "nnsim has no SiLU activation",
    "PReLU": "nnsim's leaky ReLU has a fixed slope, not a learned one",
}
WHAT = {  # values a layer cannot take, by their kind
    "recurrent": "a recurrent layer's (output, state) pair: take its [0]",
    "pair": "an LSTM's (h_n, c_n): nnsim reads h_n[-1]",
    "state": "a recurrent layer's final states (layers, batch, hidden): nnsim reads h_n[-1]",
    "cell": "an LSTM's cell state c_n: not supported: nnsim's LSTM passes on h only",
}
SIMPLE = {
    "ReLU": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softsign": "softsign",
    "Identity": "identity",
}


def _array(tensor) -> np.ndarray:
    return tensor.detach().cpu().double().numpy().copy()


def _pair(value) -> list[int]:
    return [int(value), int(value)] if isinstance(value, int) else [int(v) for v in value]


class _Reader:
    def __init__(self, torch, root) -> None:
        self.torch, self.root = torch, root
        self.nodes: list[Node] = []
        self.ids: dict[str, str] = {}  # fx node name -> data id
        self.kinds: dict[str, tuple] = {}  # fx node name -> ("data",) / ("recurrent", id, kind)

    # ---------------------------------------------------------------- modules

    def module(self, fx_node) -> None:
        path = str(fx_node.target)
        module = self.root.get_submodule(path)
        name = type(module).__name__
        where = f"{path} (nn.{name})"
        source = self.data(fx_node.args[0], where)
        builder = getattr(self, f"_{name.lower()}", None)
        if name in SIMPLE:
            self.add(
                fx_node, Node(fx_node.name, SIMPLE[name], (source,), where, {"type": SIMPLE[name]})
            )
        elif builder is None:
            reason = NO_LAYER.get(name, "nnsim has no layer like it")
            raise InteropError(f"{where}: not supported: {reason}")
        else:
            builder(fx_node, module, source, where, path)

    def add(self, fx_node, node: Node, kind=("data",)) -> None:
        self.nodes.append(node)
        self.ids[fx_node.name] = node.id
        self.kinds[fx_node.name] = kind

    def _linear(self, fx_node, m, source, where, path):
        table = {"type": "dense", "units": m.out_features, "in_features": m.in_features}
        self.add(fx_node, self._weighted(fx_node.name, "dense", source, where, path, m, table))

    def _weighted(self, id, kind, source, where, path, m, table) -> Node:
        params, keys = {"W": _array(m.weight)}, {"W": f"{path}.weight"}
        table["bias"] = m.bias is not None
        if m.bias is not None:
            params["b"], keys["b"] = _array(m.bias), f"{path}.bias"
        return Node(id, kind, (source,), where, table, params, {}, keys)

    def _conv2d(self, fx_node, m, source, where, path):
        if m.padding_mode != "zeros":
            raise InteropError(
                f"{where}: not supported: padding_mode={m.padding_mode!r} (nnsim pads with zeros)"
            )
        padding = m.padding
        if isinstance(padding, str):
            total = [d * (k - 1) for d, k in zip(m.dilation, m.kernel_size, strict=True)]
            if padding == "same" and any(t % 2 for t in total):
                raise InteropError(
                    f"{where}: not supported: padding='same' with an even kernel pads one side more"
                )
            padding = [t // 2 for t in total] if padding == "same" else [0, 0]
        table = {
            "type": "conv",
            "filters": m.out_channels,
            "kernel": _pair(m.kernel_size),
            "stride": _pair(m.stride),
            "padding": _pair(padding),
            "dilation": _pair(m.dilation),
            "groups": m.groups,
        }
        self.add(fx_node, self._weighted(fx_node.name, "conv", source, where, path, m, table))

    def _batchnorm(self, fx_node, m, source, where, path, rank):
        if not m.affine or not m.track_running_stats or m.momentum is None:
            raise InteropError(
                f"{where}: not supported: nnsim's batch norm has a scale and shift (affine=True) "
                "and running statistics with a momentum (track_running_stats=True, momentum set)"
            )
        table = {"type": "batchnorm", "momentum": float(m.momentum), "eps": float(m.eps)}
        params = {"gamma": _array(m.weight), "beta": _array(m.bias)}
        running = {"running_mean": _array(m.running_mean), "running_var": _array(m.running_var)}
        keys = {"gamma": f"{path}.weight", "beta": f"{path}.bias"}
        keys |= {k: f"{path}.{k}" for k in running}

        def check(layer):
            if len(layer.input_shape) != rank:
                return f"expects {rank}-axis examples but receives {layer.input_shape}"
            return None

        self.add(
            fx_node,
            Node(fx_node.name, "batchnorm", (source,), where, table, params, running, keys, check),
        )

    def _batchnorm1d(self, *args):
        self._batchnorm(*args, rank=1)

    def _batchnorm2d(self, *args):
        self._batchnorm(*args, rank=3)

    def _pool(self, fx_node, m, source, where, kind, extra):
        if getattr(m, "dilation", 1) not in (1, (1, 1)) or getattr(m, "return_indices", False):
            raise InteropError(
                f"{where}: not supported: nnsim pools without dilation or returned indices"
            )
        stride = m.stride if m.stride is not None else m.kernel_size
        table = {
            "type": kind,
            "kernel": _pair(m.kernel_size),
            "stride": _pair(stride),
            "padding": _pair(m.padding),
            "ceil_mode": bool(m.ceil_mode),
            **extra,
        }
        self.add(fx_node, Node(fx_node.name, kind, (source,), where, table))

    def _maxpool2d(self, fx_node, m, source, where, path):
        self._pool(fx_node, m, source, where, "maxpool", {})

    def _avgpool2d(self, fx_node, m, source, where, path):
        if m.divisor_override is not None:
            raise InteropError(f"{where}: not supported: divisor_override")
        self._pool(
            fx_node, m, source, where, "avgpool", {"count_include_pad": bool(m.count_include_pad)}
        )

    def _adaptiveavgpool2d(self, fx_node, m, source, where, path):
        if _pair(m.output_size) != [1, 1]:
            raise InteropError(
                f"{where}: not supported: nnsim averages the whole map (output size 1 only)"
            )
        self.add(fx_node, Node(fx_node.name, "gap", (source,), where, {"type": "gap"}))

    def _flatten(self, fx_node, m, source, where, path):
        if m.start_dim != 1 or m.end_dim != -1:
            raise InteropError(f"{where}: not supported: nnsim flattens every axis but the batch's")
        self.add(fx_node, Node(fx_node.name, "flatten", (source,), where, {"type": "flatten"}))

    def _dropout(self, fx_node, m, source, where, path):
        self.add(
            fx_node,
            Node(fx_node.name, "dropout", (source,), where, {"type": "dropout", "p": float(m.p)}),
        )

    def _activation(self, fx_node, kind, source, where, table):
        self.add(fx_node, Node(fx_node.name, kind, (source,), where, {"type": kind, **table}))

    def _leakyrelu(self, fx_node, m, source, where, path):
        self._activation(fx_node, "leaky_relu", source, where, {"alpha": float(m.negative_slope)})

    def _elu(self, fx_node, m, source, where, path):
        self._activation(fx_node, "elu", source, where, {"alpha": float(m.alpha)})

    def _softplus(self, fx_node, m, source, where, path):
        if m.beta != 1 or m.threshold != 20:
            raise InteropError(f"{where}: not supported: nnsim's softplus is beta=1, threshold=20")
        self._activation(fx_node, "softplus", source, where, {})

    def _softmax(self, fx_node, m, source, where, path):
        self._softmax_node(fx_node, m.dim, source, where)

    def _softmax_node(self, fx_node, dim, source, where):
        def check(layer):
            last = len(layer.input_shape)  # the axis after the batch's
            return (
                None
                if dim in (-1, last)
                else f"nnsim's softmax is over the last axis, not dim={dim}"
            )

        self.add(
            fx_node,
            Node(fx_node.name, "softmax", (source,), where, {"type": "softmax"}, check=check),
        )

    def _embedding(self, fx_node, m, source, where, path):
        if m.padding_idx is not None or m.max_norm is not None or m.sparse:
            raise InteropError(f"{where}: not supported: padding_idx, max_norm and sparse")
        table = {"type": "embedding", "num": m.num_embeddings, "dim": m.embedding_dim}
        node = Node(
            fx_node.name,
            "embedding",
            (source,),
            where,
            table,
            {"W": _array(m.weight)},
            {},
            {"W": f"{path}.weight"},
        )
        self.add(fx_node, node)

    def _recurrent(self, fx_node, m, source, where, path, kind):
        problems = [
            (m.bidirectional, "bidirectional=True: nnsim's recurrent layers run forward only"),
            (not m.batch_first, "batch_first=False: nnsim's sequences are (batch, time, features)"),
            (not m.bias, "bias=False: nnsim's recurrent layers have biases"),
            (getattr(m, "proj_size", 0), "proj_size: nnsim's LSTM has no projection"),
            (m.num_layers > 1 and m.dropout, "dropout between stacked layers"),
        ]
        for bad, reason in problems:
            if bad:
                raise InteropError(f"{where}: not supported: {reason}")
        current = source
        for k in range(m.num_layers):
            table = {"type": kind, "hidden": m.hidden_size, "return_sequences": True}
            if kind == "rnn":
                table["nonlinearity"] = m.nonlinearity
            names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
            params = {key: _array(getattr(m, f"{name}_l{k}")) for key, name in names.items()}
            keys = {key: f"{path}.{name}_l{k}" for key, name in names.items()}
            node_id = fx_node.name if k == m.num_layers - 1 else f"{fx_node.name}_l{k}"
            self.nodes.append(Node(node_id, kind, (current,), where, table, params, {}, keys))
            current = node_id
        self.ids[fx_node.name] = current
        self.kinds[fx_node.name] = ("recurrent", current, kind, m.num_layers)

    def _lstm(self, *args):
        self._recurrent(*args, kind="lstm")

    def _gru(self, *args):
        self._recurrent(*args, kind="gru")

    def _rnn(self, *args):
        self._recurrent(*args, kind="rnn")

    # ---------------------------------------------------------------- values

    def data(self, arg, where: str) -> str:
        """The data id an argument stands for (refusing constants and tuples)."""
        name = getattr(arg, "name", None)
        kind = self.kinds.get(name)
        if kind is None or kind[0] != "data":
            what = WHAT.get(
                kind[0] if kind else "", "a value that is not the data flowing through the model"
            )
            raise InteropError(f"{where}: receives {what}")
        return self.ids[name]

    def alias(self, fx_node, source: str) -> None:
        self.ids[fx_node.name], self.kinds[fx_node.name] = source, ("data",)

    def simple(self, fx_node, kind: str, source: str, table: dict | None = None) -> None:
        where = f"{fx_node.name} ({_callee(fx_node)})"  # a call in forward: its fx name
        self.add(
            fx_node, Node(fx_node.name, kind, (source,), where, {"type": kind, **(table or {})})
        )


def read_torch(torch, module, input_shape) -> Imported:
    """The Imported model of a PyTorch module (traced with torch.fx), checked by building it."""
    import torch.fx as fx

    if not isinstance(module, torch.nn.Module):
        raise InteropError(f"from_torch reads a torch.nn.Module, not {type(module).__name__}")
    shape = tuple(int(s) for s in input_shape)
    try:
        traced = fx.symbolic_trace(module)
    except Exception as err:  # fx raises many kinds; the learner needs its first line
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InteropError(
            f"{type(module).__name__}: its forward could not be traced by torch.fx ({first}); "
            "nnsim reads modules whose forward is a chain of layers (with x + f(x) and "
            "torch.cat branches), without conditions on the values"
        ) from None
    reader = _Reader(torch, module)
    input_id = output_id = None
    for fx_node in traced.graph.nodes:
        if fx_node.op == "placeholder":
            if input_id is not None:
                raise InteropError(f"{fx_node.name}: not supported: nnsim models take one input")
            input_id = fx_node.name
            reader.ids[input_id], reader.kinds[input_id] = input_id, ("data",)
        elif fx_node.op == "call_module":
            reader.module(fx_node)
        elif fx_node.op in ("call_function", "call_method"):
            call(reader, fx_node)
        elif fx_node.op == "get_attr":
            raise InteropError(
                f"{fx_node.target}: not supported: the forward reads a tensor attribute; "
                "nnsim's weights live in layers"
            )
        elif fx_node.op == "output":
            output_id = reader.data(fx_node.args[0], "the forward's return value")
    name = type(module).__name__
    return finish(
        reader.nodes,
        input_id,
        output_id,
        origin=f"the PyTorch module {name}",
        input_shape=shape,
        training=module.training,
    )
