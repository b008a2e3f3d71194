"""One handler per ONNX operator nnsim reads: each emits a Node (graph.py), changes a tensor's
form (a Transpose to time-major, a recurrent node's outputs), or refuses, naming the node."""

from __future__ import annotations

import numpy as np

from .graph import InteropError, Node

NO_LAYER = {
    "Resize": "nnsim has no upsampling layer",
    "Upsample": "nnsim has no upsampling layer",
    "ConvTranspose": "nnsim has no transposed convolution",
    "LayerNormalization": "nnsim has no layer normalisation (batch norm only)",
    "InstanceNormalization": "nnsim has no instance normalisation (batch norm only)",
    "Gelu": "nnsim has no GELU activation",
    "Erf": "nnsim has no GELU activation (exported as Erf)",
    "Mul": "nnsim multiplies only inside its layers",
    "Sub": "nnsim subtracts only inside its layers",
    "Div": "nnsim divides only inside its layers",
    "PRelu": "nnsim's leaky ReLU has a fixed slope, not a learned one",
}
SIMPLE = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softsign": "softsign"}
#: ONNX gate blocks in PyTorch's order: LSTM i,o,f,c -> i,f,g,o; GRU z,r,h -> r,z,n.
GATE_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}
KINDS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}


def _key(reader, name: str) -> dict:
    """The tensor's name as a PyTorch state_dict key, if the exporter kept the module's."""
    return name if name in reader.names and not name.startswith("onnx::") else None


def _layer(reader, node, where, kind, table, params=None, running=None, names=None, check=None):
    source = reader.data(node.input[0], where)
    keys = {k: v for k, v in (names or {}).items() if v is not None}
    made = Node(node.output[0], kind, (source,), where, {"type": kind, **table})
    made.params, made.running, made.keys, made.check = params or {}, running or {}, keys, check
    reader.emit(node.output[0], made)


def _simple(kind, **defaults):
    def handle(reader, node, where, attrs):
        table = {k: float(attrs.get(k, v)) for k, v in defaults.items()}
        _layer(reader, node, where, kind, table)

    return handle


def _symmetric(where: str, pads) -> list[int]:
    pads = list(pads or [0, 0, 0, 0])
    if pads[:2] != pads[2:]:
        raise InteropError(f"{where}: not supported: padding {pads} differs between the sides")
    return [int(p) for p in pads[:2]]


def _spatial(where: str, attrs: dict, kernel) -> dict:
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID", "NOTSET", "VALID"):
        raise InteropError(f"{where}: not supported: auto_pad {attrs['auto_pad']!r}")
    return {
        "kernel": [int(k) for k in kernel],
        "stride": [int(s) for s in attrs.get("strides", [1, 1])],
        "padding": _symmetric(where, attrs.get("pads")),
    }


def conv(reader, node, where, attrs):
    W = reader.const(node.input[1], where, "weight")
    if W.ndim != 4:
        raise InteropError(f"{where}: not supported: nnsim's convolutions are 2-D")
    table = _spatial(where, attrs, attrs.get("kernel_shape", W.shape[2:]))
    table |= {"filters": int(W.shape[0]), "groups": int(attrs.get("group", 1))}
    table["dilation"] = [int(d) for d in attrs.get("dilations", [1, 1])]
    params, names = {"W": W}, {"W": _key(reader, node.input[1])}
    table["bias"] = len(node.input) > 2 and bool(node.input[2])
    if table["bias"]:
        params["b"], names["b"] = (
            reader.const(node.input[2], where, "bias"),
            _key(reader, node.input[2]),
        )
    if node.input[1].startswith("onnx::") and table["bias"]:
        reader.notes.append(
            f"{where}: its weights are not a module's own ({node.input[1]}): the exporter "
            "most likely folded a batch norm into this convolution (an eval-mode export). The "
            "batch statistics are gone: nnsim trains it as a plain convolution, which does not "
            "normalise each batch. To keep the BatchNormalization, export in training mode "
            "(torch.onnx.export(..., training=torch.onnx.TrainingMode.TRAINING))."
        )
    _layer(reader, node, where, "conv", table, params, names=names)


def gemm(reader, node, where, attrs):
    if attrs.get("transA", 0):
        raise InteropError(f"{where}: not supported: transA (nnsim computes x W^T + b)")
    B = reader.const(node.input[1], where, "weight")
    W = (B if attrs.get("transB", 0) else B.T) * attrs.get("alpha", 1.0)
    params, names = {"W": W}, {"W": _key(reader, node.input[1])}
    if attrs.get("alpha", 1.0) != 1.0 or not attrs.get("transB", 0):
        names["W"] = None  # not the module's tensor as stored
    bias = len(node.input) > 2 and bool(node.input[2])
    if bias:
        C = reader.const(node.input[2], where, "bias") * attrs.get("beta", 1.0)
        params["b"] = np.broadcast_to(C, (W.shape[0],)).copy()
        names["b"] = _key(reader, node.input[2]) if attrs.get("beta", 1.0) == 1.0 else None
    table = {"units": int(W.shape[0]), "in_features": int(W.shape[1]), "bias": bias}
    _layer(reader, node, where, "dense", table, params, names=names)


def matmul(reader, node, where, attrs):
    W = reader.const(node.input[1], where, "weight").T  # x @ W: nnsim keeps W^T
    table = {"units": int(W.shape[0]), "in_features": int(W.shape[1]), "bias": False}
    _layer(reader, node, where, "dense", table, {"W": W})


def add(reader, node, where, attrs):
    flowing = [i for i in node.input if i in reader.forms]
    if len(flowing) == 2:
        sources = tuple(reader.data(i, where) for i in node.input)
        reader.emit(node.output[0], Node(node.output[0], "add", sources, where))
        return
    source = reader.data(flowing[0], where)
    other = next(i for i in node.input if i != flowing[0])
    before = reader.producer.get(source)
    b = reader.const(other, where, "added constant")
    if before is None or before.kind != "dense" or before.table["bias"]:
        raise InteropError(
            f"{where}: not supported: nnsim adds a constant only as a bias (MatMul + Add)"
        )
    before.params["b"] = np.broadcast_to(b, (before.table["units"],)).copy()
    before.table["bias"] = True
    reader.alias(node.output[0], flowing[0])


def pool(kind):
    def handle(reader, node, where, attrs):
        if any(d != 1 for d in attrs.get("dilations", [1, 1])) or attrs.get("storage_order", 0):
            raise InteropError(f"{where}: not supported: nnsim pools without dilation")
        table = _spatial(where, attrs, attrs["kernel_shape"])
        table["ceil_mode"] = bool(attrs.get("ceil_mode", 0))
        if kind == "avgpool":
            table["count_include_pad"] = bool(attrs.get("count_include_pad", 0))
        _layer(reader, node, where, kind, table)

    return handle


def batch_norm(reader, node, where, attrs):
    x, scale, bias, mean, var = node.input[:5]
    params = {"gamma": reader.const(scale, where, "scale"), "beta": reader.const(bias, where, "B")}
    running = {"running_mean": reader.const(mean, where, "mean")}
    running["running_var"] = reader.const(var, where, "var")
    names = {"gamma": _key(reader, scale), "beta": _key(reader, bias)}
    names |= {"running_mean": _key(reader, mean), "running_var": _key(reader, var)}
    # ONNX: running = momentum * running + (1 - momentum) * batch; PyTorch's momentum is 1 - it
    table = {
        "momentum": 1.0 - float(attrs.get("momentum", 0.9)),
        "eps": float(attrs.get("epsilon", 1e-5)),
    }
    _layer(reader, node, where, "batchnorm", table, params, running, names)


def flatten(reader, node, where, attrs):
    if attrs.get("axis", 1) != 1:
        raise InteropError(f"{where}: not supported: nnsim flattens every axis but the batch's")
    _layer(reader, node, where, "flatten", {})


def reshape(reader, node, where, attrs):
    shape = [int(s) for s in reader.const(node.input[1], where, "target shape")]
    if len(shape) != 2 or shape[0] not in (0, -1) or (shape[0] == -1) == (shape[1] == -1):
        raise InteropError(f"{where}: not supported: nnsim reshapes only to (batch, -1)")
    features = shape[1]

    def check(layer):
        if features != -1 and layer.output_shape != (features,):
            return f"reshapes to {features} features per example, not {layer.output_shape}"
        return None

    _layer(reader, node, where, "flatten", {}, check=check)


def softmax(reader, node, where, attrs):
    axis = attrs.get("axis", -1)

    def check(layer):
        last = len(layer.input_shape)
        return None if axis in (-1, last) else f"nnsim's softmax is over the last axis, not {axis}"

    _layer(reader, node, where, "softmax", {}, check=check)


def dropout(reader, node, where, attrs):
    ratio = attrs.get("ratio", 0.5)
    if len(node.input) > 1 and node.input[1]:
        ratio = float(reader.const(node.input[1], where, "ratio"))
    _layer(reader, node, where, "dropout", {"p": float(ratio)})


def identity(reader, node, where, attrs):
    reader.alias(node.output[0], node.input[0], reader.forms[node.input[0]])


def concat(reader, node, where, attrs):
    if attrs.get("axis") != 1:
        raise InteropError(f"{where}: not supported: nnsim concatenates along axis 1 (channels)")
    sources = tuple(reader.data(i, where) for i in node.input)
    reader.emit(node.output[0], Node(node.output[0], "concat", sources, where))


def transpose(reader, node, where, attrs):
    form = reader.forms[node.input[0]][0]
    if list(attrs.get("perm", [])) != [1, 0, 2] or form not in ("data", "seq_tn"):
        raise InteropError(f"{where}: not supported: nnsim transposes only around a recurrent node")
    new = "time_major" if form == "data" else "data"
    reader.alias(node.output[0], node.input[0], (new,))


def _zeros(reader, name: str, where: str, what: str) -> None:
    """An initial state must be absent or zeros (nnsim's recurrent layers start from zero)."""
    if not name:
        return
    value = reader.consts.get(name)
    if value is None:  # the exporter's Expand of a zero constant to (1, N, H)
        made = reader.made_by.get(name)
        if made is not None and made.op_type == "Expand":
            value = reader.consts.get(made.input[0])
    if value is None or np.any(value != 0):
        raise InteropError(f"{where}: not supported: its {what} is not zeros (nnsim starts from 0)")


def recurrent(reader, node, where, attrs):
    op = node.op_type
    layout = int(attrs.get("layout", 0))
    form = reader.forms[node.input[0]][0]
    if (layout, form) not in ((0, "time_major"), (1, "data")):
        raise InteropError(
            f"{where}: not supported: its input is not a (batch, time, features) sequence"
        )
    problems = [
        (
            attrs.get("direction", b"forward") not in (b"forward", "forward"),
            "a reverse or bidirectional direction",
        ),
        ("clip" in attrs, "clip"),
        (attrs.get("input_forget", 0), "input_forget"),
        (
            op == "GRU" and not attrs.get("linear_before_reset", 0),
            "linear_before_reset=0 (PyTorch's GRU is 1)",
        ),
        (len(node.input) > 4 and bool(node.input[4]), "sequence_lens"),
        (len(node.input) > 7 and bool(node.input[7]), "peepholes"),
    ]
    activations = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
    nonlinearity = "tanh"
    if op == "RNN" and activations:
        nonlinearity = activations[0].lower()
        problems.append((nonlinearity not in ("tanh", "relu"), f"activation {activations[0]}"))
    elif activations and [a.lower() for a in activations] != (
        ["sigmoid", "tanh", "tanh"] if op == "LSTM" else ["sigmoid", "tanh"]
    ):
        problems.append((True, f"activations {activations}"))
    for bad, what in problems:
        if bad:
            raise InteropError(f"{where}: not supported: {what}")
    _zeros(reader, node.input[5] if len(node.input) > 5 else "", where, "initial_h")
    _zeros(reader, node.input[6] if len(node.input) > 6 else "", where, "initial_c")
    hidden = int(attrs["hidden_size"])
    order = GATE_ORDER[op]

    def reorder(a: np.ndarray) -> np.ndarray:
        blocks = [a[g * hidden : (g + 1) * hidden] for g in range(len(order))]
        return np.concatenate([blocks[g] for g in order])

    W = reader.const(node.input[1], where, "W")[0]
    R = reader.const(node.input[2], where, "R")[0]
    gates = len(order) * hidden
    if len(node.input) > 3 and node.input[3]:
        B = reader.const(node.input[3], where, "B")[0]
    else:
        B = np.zeros(2 * gates, dtype=W.dtype)
    params = {
        "W_ih": reorder(W),
        "W_hh": reorder(R),
        "b_ih": reorder(B[:gates]),
        "b_hh": reorder(B[gates:]),
    }
    table = {"type": KINDS[op], "hidden": hidden, "return_sequences": True}
    if op == "RNN":
        table["nonlinearity"] = nonlinearity
    source = reader.ids[node.input[0]]
    made = Node(node.output[0], KINDS[op], (source,), where, table, params)
    reader.emit(node.output[0], made, ("seq_y", layout))
    if len(node.output) > 1 and node.output[1]:
        reader.forms[node.output[1]], reader.ids[node.output[1]] = ("state",), made.id
    if len(node.output) > 2 and node.output[2]:
        reader.forms[node.output[2]], reader.ids[node.output[2]] = ("cell",), made.id


def _axes(reader, node, where, attrs) -> list[int]:
    if len(node.input) > 1 and node.input[1]:
        return [int(a) for a in reader.const(node.input[1], where, "axes")]
    return [int(a) for a in attrs.get("axes", [])]


def _last_step(reader, node, where) -> None:
    source = reader.ids[node.input[0]]
    reader.emit(node.output[0], Node(node.output[0], "last_step", (source,), where))


def squeeze(reader, node, where, attrs):
    form = reader.forms[node.input[0]]
    axes = _axes(reader, node, where, attrs)
    if form[0] == "seq_y" and axes == [1 if form[1] == 0 else 2]:
        reader.alias(node.output[0], node.input[0], ("seq_tn",) if form[1] == 0 else ("data",))
    elif form[0] == "state" and axes == [0]:
        _last_step(reader, node, where)
    else:
        raise InteropError(
            f"{where}: not supported: nnsim squeezes only a recurrent node's outputs"
        )


def gather(reader, node, where, attrs):
    if node.input[0] not in reader.forms:  # a table indexed by the data: an embedding
        W = reader.const(node.input[0], where, "embedding table")
        names = {"W": _key(reader, node.input[0])}
        table = {"num": int(W.shape[0]), "dim": int(W.shape[1])}
        _layer_from(reader, node, where, node.input[1], "embedding", table, {"W": W}, names)
        return
    form = reader.forms[node.input[0]][0]
    axis = int(attrs.get("axis", 0))
    index = reader.const(node.input[1], where, "index")
    last = index.ndim == 0 and int(index) == -1
    wanted = {"data": 1, "seq_tn": 0, "state": 0}.get(form)
    if axis != wanted or not (last or (form == "state" and int(index) == 0)):
        raise InteropError(f"{where}: not supported: nnsim reads a sequence's last step only")
    _last_step(reader, node, where)


def _layer_from(reader, node, where, data_input, kind, table, params, names):
    source = reader.data(data_input, where)
    keys = {k: v for k, v in names.items() if v is not None}
    made = Node(node.output[0], kind, (source,), where, {"type": kind, **table}, params, {}, keys)
    reader.emit(node.output[0], made)


OPS = {
    **{op: _simple(kind) for op, kind in SIMPLE.items()},
    "LeakyRelu": _simple("leaky_relu", alpha=0.01),
    "Elu": _simple("elu", alpha=1.0),
    "Softplus": _simple("softplus"),
    "Softmax": softmax,
    "Conv": conv,
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "MaxPool": pool("maxpool"),
    "AveragePool": pool("avgpool"),
    "GlobalAveragePool": lambda r, n, w, a: _layer(r, n, w, "gap", {}),
    "BatchNormalization": batch_norm,
    "Flatten": flatten,
    "Reshape": reshape,
    "Dropout": dropout,
    "Identity": identity,
    "Concat": concat,
    "Transpose": transpose,
    "LSTM": recurrent,
    "GRU": recurrent,
    "RNN": recurrent,
    "Squeeze": squeeze,
    "Gather": gather,
}
