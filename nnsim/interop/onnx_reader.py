"""``from_onnx``: an ONNX graph read into nnsim's layer graph (graph.py), node by node.

Each tensor the input flows into has a form: ordinary (batch first), time-major (after the
exporter's Transpose in front of a recurrent node), a recurrent node's Y or Y_h. Shape
plumbing (Shape, Gather, Concat of sizes, the Expand making zero initial states) is followed
only as far as needed to check it; every other operator is refused, naming the node.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .build import finish
from .graph import Imported, InteropError, Node
from .onnx_ops import NO_LAYER, OPS

WHAT = {  # the forms a layer cannot take
    "time_major": "a time-major sequence (T, N, F), which only a recurrent node takes",
    "seq_y": "a recurrent node's Y (T, directions, N, H) before its Squeeze",
    "seq_tn": "a time-major output (T, N, H): nnsim follows the exporter's Transpose back",
    "state": "a recurrent node's final state Y_h: nnsim reads it as the last step",
    "cell": "an LSTM's cell state Y_c: not supported: nnsim's LSTM passes on h only",
    "const": "a constant where nnsim expects the data",
}


class OnnxReader:
    def __init__(self, onnx, model) -> None:
        self.onnx = onnx
        self.consts: dict[str, np.ndarray] = {}
        self.names: set[str] = set()  # initializer names: a module's parameters, if exported
        for tensor in model.graph.initializer:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                raise InteropError(f"{tensor.name}: weights in external files are not read")
            self.consts[tensor.name] = onnx.numpy_helper.to_array(tensor)
            self.names.add(tensor.name)
        self.forms: dict[str, tuple] = {}  # tensor -> its form, first "data", "state", ...
        self.ids: dict[str, str] = {}  # tensor -> the id of the Node computing it
        self.nodes: list[Node] = []
        self.notes: list[str] = []
        self.producer: dict[str, Node] = {}
        self.made_by = {out: node for node in model.graph.node for out in node.output}

    def const(self, name: str, where: str, what: str) -> np.ndarray:
        if name not in self.consts:
            raise InteropError(f"{where}: its {what} is computed, not stored: nnsim needs it fixed")
        return self.consts[name]

    def attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def emit(self, out: str, node: Node, form=("data",)) -> Node:
        """A new layer (or join) whose output is the tensor ``out``."""
        self.nodes.append(node)
        self.forms[out], self.ids[out] = form, node.id
        self.producer[node.id] = node
        return node

    def alias(self, out: str, source: str, form=("data",)) -> None:
        """``out`` is ``source`` seen another way (same layer output)."""
        self.forms[out], self.ids[out] = form, self.ids[source]

    def data(self, name: str, where: str) -> str:
        """The id of an ordinary (batch-first) tensor, refusing the other forms."""
        form = self.forms.get(name, ("const",))[0]
        if form != "data":
            raise InteropError(f"{where}: receives {WHAT.get(form, 'a value nnsim cannot follow')}")
        return self.ids[name]

    def step(self, node) -> None:
        where = f"node {node.name or node.output[0]} (ONNX {node.op_type})"
        flowing = [i for i in node.input if i and i in self.forms]
        if node.op_type == "Constant":
            value = self.attrs(node).get("value")
            if value is not None:
                self.consts[node.output[0]] = self.onnx.numpy_helper.to_array(value)
            return
        if not flowing or node.op_type == "Shape":
            return  # sizes and constants: read where they are used
        handler = OPS.get(node.op_type)
        if handler is None:
            reason = NO_LAYER.get(node.op_type, "nnsim has no layer like it")
            raise InteropError(f"{where}: not supported: {reason}")
        try:
            handler(self, node, where, self.attrs(node))
        except InteropError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as err:  # a malformed node
            raise InteropError(f"{where}: cannot be read ({type(err).__name__}: {err})") from None


def read_onnx(onnx, path: Path) -> Imported:
    from ..scenario import budget

    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InteropError(f"{path}: is not a regular file")
    except OSError as err:
        raise InteropError(f"{path}: cannot be read: {err}") from None
    if size > budget.budget():
        raise InteropError(f"{path}: is {size:,} bytes, more than the memory budget")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and others
        raise InteropError(f"{path}: not a readable ONNX file: {err}") from None
    graph = model.graph
    initial = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initial]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InteropError(f"{path}: nnsim models have one input and one output")
    dims = inputs[0].type.tensor_type.shape.dim[1:]
    if not dims or any(not d.HasField("dim_value") for d in dims):
        raise InteropError(
            f"{path}: the input {inputs[0].name!r} needs fixed sizes but the batch's"
        )
    shape = tuple(int(d.dim_value) for d in dims)
    reader = OnnxReader(onnx, model)
    reader.forms[inputs[0].name], reader.ids[inputs[0].name] = ("data",), inputs[0].name
    for node in graph.node:
        reader.step(node)
    output = reader.data(graph.output[0].name, f"{path}: the output")
    return finish(
        reader.nodes,
        inputs[0].name,
        output,
        origin=f"{path.name} (ONNX)",
        training=any(_trains(reader, node) for node in graph.node),
        input_shape=shape,
        path=path,
        notes=tuple(reader.notes),
    )


def _trains(reader: OnnxReader, node) -> bool:
    """Whether a node was exported in training mode (batch statistics, dropout masks): the
    model then starts in training mode, else in evaluation mode, as the export was made."""
    if node.op_type == "BatchNormalization":
        return bool(reader.attrs(node).get("training_mode", 0))
    if node.op_type == "Dropout" and len(node.input) > 2 and node.input[2]:
        return bool(reader.consts.get(node.input[2], False))
    return False
