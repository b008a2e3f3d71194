"""Sequential: layers applied in order, and, as the outermost container, the model.

    model = Sequential([Conv2d(6, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Dense(10)],
                       input_shape=(1, 8, 8), seed=0)
    print(model.summary())
    y = model.forward(x)            # x (N, 1, 8, 8)
    model.backward(dloss)           # fills model.gradients()
    Adam(1e-3).step(model.trainable_parameters(), model.gradients())

Parameters are keyed "<layer name>.<parameter>", for example "conv1.W". The helpers every
container shares (``as_block``, ``build_child``) are here too: the blocks (Residual, Concat)
wrap a list of layers in a Sequential, so they import this module and never the reverse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from .base import Layer, Shape, ShapeError
from .steps import Child, drive

if TYPE_CHECKING:
    from ..summary import Summary


class BuildError(ShapeError):
    """A ShapeError already located at a named layer (not re-wrapped by outer containers)."""


def as_block(layers: Layer | Sequence[Layer]) -> Layer:
    """A Layer, or a list of layers wrapped in a Sequential."""
    if isinstance(layers, Layer):
        return layers
    if isinstance(layers, (list, tuple)):
        return Sequential(layers)
    raise TypeError(f"expected a Layer or a list of layers, got {type(layers).__name__}")


def build_child(child: Layer, shape: Shape, dtype: np.dtype, source: str) -> Shape:
    """Build ``child`` on ``shape`` (which comes from ``source``), locating any shape error."""
    try:
        return child.build(shape, dtype)
    except BuildError:
        raise
    except ShapeError as err:
        raise BuildError(
            f"{child.name} ({type(child).__name__}) {err} (the input comes from {source})"
        ) from None


class Sequential(Layer):
    """Layers applied one after another; nests inside blocks, and is the model at the top.

    Give the outermost Sequential ``input_shape`` (per example, without the batch axis): it
    then names every layer (``dense1``, ``conv2``, ... unless named by you), checks every shape
    (a mismatch raises ValueError naming the layer and both shapes) and seeds every layer's
    weights from ``seed`` and the layer's name. Weights are allocated on first use. ``dtype``
    is float64 (exact, the default) or float32 (faster). ``backward`` returns dL/dinput only
    with ``input_gradients=True`` (saliency, inputs optimised by gradient ascent); otherwise
    the first layer skips computing it.
    """

    kind = "block"

    def __init__(
        self,
        layers: Iterable[Layer | Sequence[Layer]],
        input_shape: Sequence[int] | None = None,
        *,
        name: str | None = None,
        seed: int = 0,
        dtype: str | type | np.dtype = np.float64,
        input_gradients: bool = False,
    ) -> None:
        super().__init__(name=name)
        self.input_gradients = bool(input_gradients)
        self.layers = [as_block(layer) for layer in layers]
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"model dtype must be float32 or float64, got {dtype}")
        self.dtype = dtype
        self.model_input_shape: Shape | None = None
        if input_shape is not None:
            self.compile(input_shape, seed=seed)

    # ---------------------------------------------------------------- container

    def children(self) -> list[Layer]:
        return list(self.layers)

    def infer(self, input_shape):
        shape, source = input_shape, "the input"
        for child in self.layers:
            shape = build_child(child, shape, self.dtype, f"{source} {shape}")
            source = child.name
        return shape

    def forward_steps(self, x):
        self.materialize()
        self.input = x
        for child in self.layers:
            x = yield Child(child, x, "forward")
        self.output = x
        return x

    def backward_steps(self, dy):
        self.output_grad = dy
        for child in reversed(self.layers):
            dy = yield Child(child, dy, "backward")
        self.input_grad = dy
        return dy

    def compute(self, x):
        return drive(self.forward_steps(x))

    def differentiate(self, dy):
        return drive(self.backward_steps(dy)), {}

    def options(self):
        inner = "".join(
            "    " + repr(child).replace("\n", "\n    ") + ",\n" for child in self.layers
        )
        return f"[\n{inner}]"

    # ---------------------------------------------------------------- the model

    def compile(self, input_shape: Sequence[int], seed: int = 0) -> Sequential:
        """Name every layer, build every shape for ``input_shape`` and seed the weights."""
        shape = tuple(int(s) for s in input_shape)
        if not shape or any(s < 1 for s in shape):
            raise ValueError(f"input_shape must be positive sizes per example, got {shape}")
        self._assign_names()
        self._leaves = None
        self.build(shape, self.dtype)
        self.model_input_shape = shape
        self.reseed(int(seed))
        first = self.layers[0]
        if not first.children():
            first.needs_input_grad = getattr(self, "input_gradients", True)
        return self

    def _assign_names(self) -> None:
        layers = list(self.walk())
        given = Counter(layer.name for layer in layers if layer.name is not None)
        duplicates = sorted(name for name, count in given.items() if count > 1)
        if duplicates:
            raise ValueError(f"layer names must be unique in a model; repeated: {duplicates}")
        counters: Counter[str] = Counter()
        if self.name is None:
            self.name = "model"
        for layer in layers:
            if layer.name is None:
                while True:
                    counters[layer.kind] += 1
                    candidate = f"{layer.kind}{counters[layer.kind]}"
                    if candidate not in given:
                        break
                layer.name = candidate
                given[candidate] = 1

    def reseed(self, seed: int) -> None:
        """Seed every layer from ``seed`` (weights not yet allocated, and dropout masks)."""
        super().reseed(seed)
        for layer in self.walk():
            if layer is not self:
                Layer.reseed(layer, seed)

    def _require_compiled(self) -> None:
        if self.model_input_shape is None and self.input_shape is None:
            raise RuntimeError(
                "the model is not built: pass input_shape to Sequential or call compile()"
            )

    def leaves(self) -> list[Layer]:
        """Every layer that computes (not the containers), in forward order."""
        cached = getattr(self, "_leaves", None)
        if cached is None:
            cached = [layer for layer in self.walk() if not layer.children()]
            if self.built:  # the tree is fixed once built
                self._leaves = cached
        return cached

    def layer(self, name: str) -> Layer:
        """The layer (or block) called ``name``."""
        for layer in self.walk():
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; the layers are {[lay.name for lay in self.walk()]}")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Output for a batch x (N, *input_shape); float inputs are cast to the model dtype."""
        self._require_compiled()
        x = np.asarray(x)
        expected = self.input_shape
        if x.ndim != len(expected) + 1 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"{self.name}: expects a batch of shape (N, {', '.join(map(str, expected))}) "
                f"but got {tuple(x.shape)}"
            )
        if not getattr(self.leaves()[0], "takes_integers", False):
            x = np.ascontiguousarray(x, dtype=self.dtype)
        return super().forward(x)

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Back-propagate dL/doutput; fills every unfrozen layer's ``grads``."""
        dy = np.asarray(dy)
        if self.output is None or dy.shape != self.output.shape:
            got = None if self.output is None else self.output.shape
            raise ValueError(
                f"{self.name}: backward needs dL/doutput shaped like the last output; "
                f"output {got}, dy {tuple(dy.shape)}"
            )
        return super().backward(np.ascontiguousarray(dy, dtype=self.dtype))

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter, frozen ones included, keyed "<layer>.<param>"; allocates weights."""
        self._require_compiled()
        self._materialized_leaves()
        return {f"{lay.name}.{k}": v for lay in self.leaves() for k, v in lay.params.items()}

    def _materialized_leaves(self) -> None:
        # materialize() walks every block and asks each layer; when every leaf is ready (every
        # call after the first) one attribute read per leaf says so: the simulator snapshots
        # the parameters at each run's end
        if not all(getattr(leaf, "_ready", False) for leaf in self.leaves()):
            self.materialize()

    def trainable_parameters(self) -> dict[str, np.ndarray]:
        """The parameters of unfrozen layers: the keys ``gradients()`` has after backward."""
        return {
            f"{lay.name}.{k}": v
            for lay in self.leaves()
            if not lay.frozen
            for k, v in lay.params.items()
        }

    def gradients(self) -> dict[str, np.ndarray]:
        """The gradients of the last backward pass, keyed like ``trainable_parameters``."""
        return {
            f"{lay.name}.{k}": v
            for lay in self.leaves()
            if not lay.frozen
            for k, v in lay.grads.items()
        }

    def buffers(self) -> dict[str, np.ndarray]:
        """Saved state that is not trained (BatchNorm's running statistics)."""
        self._materialized_leaves()
        return {f"{lay.name}.{k}": v for lay in self.leaves() for k, v in lay.running.items()}

    def train(self) -> Sequential:
        """Training mode: batch statistics in BatchNorm, masks in Dropout."""
        for layer in self.walk():
            layer.training = True
        return self

    def eval(self) -> Sequential:
        """Evaluation mode: running statistics in BatchNorm, Dropout is the identity."""
        for layer in self.walk():
            layer.training = False
        return self

    @contextmanager
    def inference(self) -> Iterator[Sequential]:
        """Evaluation mode for the duration, leaving the training state as it was: every
        layer's input, output and cache (what a stepped pass or an inspector reads), and
        training mode, are restored afterwards."""
        saved = [(lay, lay.input, lay.output, lay.cache) for lay in self.walk()]
        self.eval()
        try:
            yield self
        finally:
            self.train()
            for lay, inp, out, cache in saved:
                lay.input, lay.output, lay.cache = inp, out, cache

    def freeze(self, *names: str, frozen: bool = True) -> Sequential:
        """Freeze the named layers (every layer inside a named block): their parameters stop
        changing. ``frozen=False`` unfreezes."""
        for name in names:
            for layer in self.layer(name).walk():
                layer.frozen = frozen
        return self

    def regularize(
        self, l1: float = 0.0, l2: float = 0.0, layers: Iterable[str] | None = None
    ) -> Sequential:
        """Set the L1 and L2 penalty strengths of the named layers (default: every layer with
        weights). Penalties apply to weights, not to biases or batch-norm parameters."""
        if l1 < 0 or l2 < 0:
            raise ValueError(f"penalty strengths must be >= 0, got l1={l1}, l2={l2}")
        targets = (
            [lay for lay in self.leaves() if lay.penalised]
            if layers is None
            else [leaf for n in layers for leaf in self.layer(n).walk() if not leaf.children()]
        )
        for layer in targets:
            if not layer.penalised:
                raise ValueError(f"{layer.name} has no weights to penalise")
            layer.l1, layer.l2 = float(l1), float(l2)
        return self

    def penalty(self) -> float:
        """The sum of every layer's L1 and L2 penalty: add it to the data loss."""
        return sum(layer.penalty() for layer in self.leaves() if layer.l1 or layer.l2)

    def summary(self) -> Summary:
        """Per-layer output shape, parameters, receptive field and FLOPs; print it or read
        ``.rows`` (a list of dicts) and ``.totals``."""
        from ..summary import summarize  # it reads the block classes, which import this module

        self._require_compiled()
        return summarize(self)
