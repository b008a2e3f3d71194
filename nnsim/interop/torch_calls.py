"""The functions and methods a traced forward may call (torch.flatten, F.relu, +, torch.cat,
x.view(x.size(0), -1), an LSTM's output[:, -1], ...), each turned into a Node or refused."""

from __future__ import annotations

import operator

from .graph import InteropError, Node

ACTIVATIONS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "softsign": "softsign"}
ALL = slice(None)


def _name(target) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", str(target))


def _argument(fx_node, index: int, key: str, default):
    if len(fx_node.args) > index:
        return fx_node.args[index]
    return fx_node.kwargs.get(key, default)


def call(reader, fx_node) -> None:
    """A call_function or call_method node of the trace."""
    name = _name(fx_node.target).lstrip("_")
    where = f"{fx_node.name} ({_callee(fx_node)})"
    first = fx_node.args[0] if fx_node.args else None
    kind = reader.kinds.get(getattr(first, "name", None), ("const",))
    shapes = name in ("size", "dim", "getattr", "numel")
    if shapes or kind[0] in ("size", "const") and name not in ("add", "iadd", "cat", "concat"):
        reader.kinds[fx_node.name] = ("size",)  # shapes and numbers, not data
        return
    if fx_node.target is operator.getitem:
        return _getitem(reader, fx_node, kind, fx_node.args[1], where)
    if kind[0] == "state" and name == "squeeze" and _argument(fx_node, 1, "dim", None) == 0:
        return _last_of_state(reader, fx_node, kind, 0, where)
    if name in ("add", "iadd"):
        sources = [reader.data(a, where) for a in fx_node.args[:2]]
        if len(sources) != 2 or fx_node.kwargs.get("alpha", 1) != 1:
            raise InteropError(f"{where}: not supported: nnsim adds two branches, x + f(x)")
        reader.add(fx_node, Node(fx_node.name, "add", tuple(sources), where))
        return
    if name in ("cat", "concat"):
        dim = _argument(fx_node, 1, "dim", 0)
        if dim != 1:
            raise InteropError(
                f"{where}: not supported: nnsim concatenates along dim 1 (channels or "
                f"features), not {dim}"
            )
        sources = tuple(reader.data(a, where) for a in fx_node.args[0])
        reader.add(fx_node, Node(fx_node.name, "concat", sources, where))
        return
    source = reader.data(first, where)
    _on_data(reader, fx_node, name, source, where)


def _on_data(reader, fx_node, name: str, source: str, where: str) -> None:
    if name in ACTIVATIONS:
        return reader.simple(fx_node, ACTIVATIONS[name], source)
    if name == "leaky_relu":
        return reader.simple(
            fx_node,
            "leaky_relu",
            source,
            {"alpha": float(_argument(fx_node, 1, "negative_slope", 0.01))},
        )
    if name == "elu":
        return reader.simple(
            fx_node, "elu", source, {"alpha": float(_argument(fx_node, 1, "alpha", 1.0))}
        )
    if name == "softplus":
        if _argument(fx_node, 1, "beta", 1) != 1 or _argument(fx_node, 2, "threshold", 20) != 20:
            raise InteropError(f"{where}: not supported: nnsim's softplus is beta=1, threshold=20")
        return reader.simple(fx_node, "softplus", source)
    if name == "softmax":
        return reader._softmax_node(fx_node, _argument(fx_node, 1, "dim", None), source, where)
    if name == "dropout":
        return reader.simple(
            fx_node, "dropout", source, {"p": float(_argument(fx_node, 1, "p", 0.5))}
        )
    if name in ("contiguous", "clone"):
        return reader.alias(fx_node, source)
    if name == "flatten":
        if _argument(fx_node, 1, "start_dim", 0) != 1 or _argument(fx_node, 2, "end_dim", -1) != -1:
            raise InteropError(
                f"{where}: not supported: nnsim flattens every axis but the batch's (start_dim=1)"
            )
        return reader.simple(fx_node, "flatten", source)
    if name in ("view", "reshape"):
        shape = fx_node.args[1:] if len(fx_node.args) > 2 else tuple(fx_node.args[1])
        batch = reader.kinds.get(getattr(shape[0], "name", None), ("const",))[0] == "size"
        if len(shape) != 2 or not batch or shape[1] != -1:
            raise InteropError(
                f"{where}: not supported: nnsim reshapes only to (batch, -1), as "
                "x.view(x.size(0), -1)"
            )
        return reader.simple(fx_node, "flatten", source)
    if name == "mean":
        dims = _argument(fx_node, 1, "dim", None)
        if sorted(dims or ()) != [2, 3] or _argument(fx_node, 2, "keepdim", False):
            raise InteropError(
                f"{where}: not supported: nnsim averages over the map, x.mean((2, 3))"
            )
        reader.simple(fx_node, "gap", source)
        gap = reader.ids[fx_node.name]
        flat = Node(f"{gap}_flat", "flatten", (gap,), where, {"type": "flatten"})
        reader.nodes.append(flat)
        reader.ids[fx_node.name] = flat.id
        return
    if name in ("max_pool2d", "avg_pool2d"):
        kernel = _argument(fx_node, 1, "kernel_size", None)
        stride = _argument(fx_node, 2, "stride", None) or kernel
        table = {
            "kernel": _pair(kernel),
            "stride": _pair(stride),
            "padding": _pair(_argument(fx_node, 3, "padding", 0)),
        }
        kind = "maxpool" if name == "max_pool2d" else "avgpool"
        return reader.simple(fx_node, kind, source, table)
    if name == "adaptive_avg_pool2d":
        if _pair(_argument(fx_node, 1, "output_size", None)) != [1, 1]:
            raise InteropError(
                f"{where}: not supported: nnsim averages the whole map (output size 1 only)"
            )
        return reader.simple(fx_node, "gap", source)
    raise InteropError(f"{where}: not supported: nnsim has no layer for {_callee(fx_node)}")


def _pair(value) -> list[int]:
    return [int(value), int(value)] if isinstance(value, int) else [int(v) for v in value]


def _getitem(reader, fx_node, kind: tuple, index, where: str) -> None:
    if kind[0] == "recurrent":  # (output, h_n) or (output, (h_n, c_n))
        _, rec, cell, layers = kind
        if index == 0:
            return reader.alias(fx_node, rec)
        reader.kinds[fx_node.name] = (
            ("pair", rec, cell, layers) if cell == "lstm" else ("state", rec, cell, layers)
        )
        return
    if kind[0] == "pair":
        reader.kinds[fx_node.name] = ("state", *kind[1:]) if index == 0 else ("cell",)
        return
    if kind[0] == "state":
        return _last_of_state(reader, fx_node, kind, index, where)
    source = reader.data(fx_node.args[0], where)
    if index in ((ALL, -1), (ALL, -1, ALL)):
        reader.add(fx_node, Node(fx_node.name, "last_step", (source,), where))
        return
    raise InteropError(
        f"{where}: not supported: nnsim reads a sequence's last step only, as out[:, -1]"
    )


def _last_of_state(reader, fx_node, kind: tuple, index, where: str) -> None:
    _, rec, _, layers = kind
    if index not in (-1, layers - 1):
        raise InteropError(
            f"{where}: not supported: nnsim reads the last layer's final state only, h_n[-1]"
        )
    reader.add(fx_node, Node(fx_node.name, "last_step", (rec,), where))


def _callee(fx_node) -> str:
    name = _name(fx_node.target)
    if fx_node.op == "call_method":
        return f"Tensor.{name}"
    module = getattr(fx_node.target, "__module__", "") or ""
    prefix = {"torch.nn.functional": "F.", "_operator": "operator.", "torch": "torch."}.get(
        module, "torch."
    )
    return f"{prefix}{name}"
