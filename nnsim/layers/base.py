"""The Layer base class: parameters, gradients and forward cache, shapes checked at build time.

Shapes here never include the batch axis: a Conv2d's ``input_shape`` is (C, H, W). A layer is
built once, by its model, with the shape of what flows into it; building validates the shape and
fixes the output shape and the parameter shapes, but allocates nothing. Weights are allocated on
first use (``materialize``), so that a model the size of VGG-16 can be summarised instantly.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from .. import functional as F
from .steps import Program

Shape = tuple[int, ...]


class ShapeError(ValueError):
    """A layer cannot take the shape that flows into it; raised while the model is built."""


def as_pair(name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or an (h, w) pair of ints >= minimum, as a pair."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and v >= minimum for v in pair):
        raise ValueError(f"{name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def positive(name: str, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class Layer:
    """One operation of a model. Subclasses implement the hooks marked "subclass" below.

    Attributes a learner (and the inspector) reads:
    ``name``, ``params`` and ``grads`` (dicts keyed "W", "b", ...), ``running`` (state that is
    saved but not trained, such as BatchNorm's running statistics), ``input`` and ``output``
    (the last forward pass), ``frozen``, ``training``, ``l1`` and ``l2`` (penalty strengths on
    the parameters in ``penalised``).
    """

    kind: ClassVar[str] = "layer"  # prefix of the automatic name: dense1, conv2, ...
    random: ClassVar[bool] = False  # draws from ``noise`` (dropout masks): snapshots keep it
    penalised: ClassVar[tuple[str, ...]] = ()  # parameters the L1/L2 penalties apply to

    def __init__(self, *, name: str | None = None, frozen: bool = False) -> None:
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise ValueError(f"layer name must be an identifier such as 'conv1', got {name!r}")
        self.name = name
        self.frozen = bool(frozen)
        self.training = True
        self.l1 = 0.0
        self.l2 = 0.0
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.dtype = np.dtype(np.float64)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.running: dict[str, np.ndarray] = {}
        self.input: np.ndarray | None = None
        self.output: np.ndarray | None = None
        self.output_grad: np.ndarray | None = None  # dL/d(output) of the last backward pass
        self.input_grad: np.ndarray | None = None  # dL/d(input), what backward returned
        self.cache: Any = None
        self.seed = 0
        self.noise = np.random.default_rng(0)  # for stochastic layers; reseeded by the model
        # False for a model's first layer, whose input gradient nothing needs (Conv2d then
        # skips the col2im half of its backward pass); see Sequential(input_gradients=...)
        self.needs_input_grad = True

    # ---------------------------------------------------------------- building

    def build(self, input_shape: Shape, dtype: np.dtype) -> Shape:
        """Check ``input_shape``, fix the output and parameter shapes; allocate nothing."""
        self.input_shape = tuple(int(s) for s in input_shape)
        self.dtype = np.dtype(dtype)  # before infer: a block builds its children with it
        self.output_shape = tuple(int(s) for s in self.infer(self.input_shape))
        if any(s < 1 for s in self.output_shape):
            raise ShapeError(
                f"input {self.input_shape} is too small: the output would be {self.output_shape}"
            )
        self.params = {}
        self.grads = {}
        self.running = {}
        self._ready = False
        self._check_preset()
        return self.output_shape

    def set_values(self, values: dict[str, list | np.ndarray]) -> None:
        """Start from these parameter values instead of an initialiser (a kernel to follow by
        hand); each must have the parameter's number of elements, and is reshaped to it."""
        self.preset = {k: np.asarray(v, dtype=np.float64) for k, v in values.items()}
        if self.built:
            self._check_preset()
        self._ready = False

    def _check_preset(self) -> None:
        preset = getattr(self, "preset", None) or {}
        shapes = self.param_shapes()
        for key, values in preset.items():
            if key not in shapes:
                raise ShapeError(f"has no parameter {key!r} to set (it has {sorted(shapes)})")
            if values.size != int(np.prod(shapes[key])):
                raise ShapeError(
                    f"values for {key} have {values.size} numbers {values.shape} but {key} is "
                    f"{shapes[key]}, {int(np.prod(shapes[key]))} numbers"
                )

    def infer(self, input_shape: Shape) -> Shape:
        """Subclass: the output shape for ``input_shape``; raise ShapeError if it cannot fit."""
        return input_shape

    def param_shapes(self) -> dict[str, Shape]:
        """Subclass: the shape of each parameter (after build)."""
        return {}

    def running_shapes(self) -> dict[str, Shape]:
        """Subclass: the shape of each non-trained state array (after build)."""
        return {}

    def initial_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Subclass: freshly initialised parameters, one per entry of ``param_shapes``."""
        return {}

    def initial_running(self) -> dict[str, np.ndarray]:
        return {}

    def reseed(self, seed: int) -> None:
        """Derive this layer's generators from the model seed and the layer's name."""
        self.seed = seed
        self.noise = np.random.default_rng([seed, zlib.crc32(self.name.encode()), 1])

    @property
    def built(self) -> bool:
        return self.output_shape is not None

    @property
    def materialized(self) -> bool:
        if self.children():
            return all(child.materialized for child in self.children())
        return getattr(self, "_ready", False)

    def materialize(self) -> None:
        """Allocate and initialise the parameters (of every layer inside a block) if that has
        not happened yet."""
        for child in self.children():
            child.materialize()
        if self.materialized:
            return
        if not self.built:
            raise RuntimeError(f"{self.name}: build the layer (put it in a model) before using it")
        rng = np.random.default_rng([self.seed, zlib.crc32(self.name.encode())])
        params = self.initial_params(rng)
        for key, values in (getattr(self, "preset", None) or {}).items():
            params[key] = np.reshape(values, self.param_shapes()[key])  # checked in build
        self.params = {k: np.ascontiguousarray(v, dtype=self.dtype) for k, v in params.items()}
        self.running = {
            k: np.ascontiguousarray(v, dtype=self.dtype) for k, v in self.initial_running().items()
        }
        self._ready = True

    # ---------------------------------------------------------------- running

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output for a batch, keeping what backward needs."""
        if not getattr(self, "_ready", False):  # a leaf's parameters exist once it is ready
            self.materialize()
        self.input = x
        self.output = self.compute(x)
        return self.output

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """Gradient of the loss with respect to the input; fills ``grads`` unless frozen."""
        self.output_grad = dy
        dx, grads = self.differentiate(dy)
        return self.keep_gradients(dx, grads)

    def keep_gradients(self, dx: np.ndarray | None, grads: dict[str, np.ndarray]):
        """Store the parameter gradients (plus the penalties; none when frozen) and dx."""
        if self.frozen:
            self.grads = {}
        else:
            if self.l1 or self.l2:  # without penalties: no zero array made and added per key
                for key in self.penalised:
                    if key in grads:
                        grads[key] = grads[key] + self.penalty_gradient(key)
            self.grads = grads
        self.input_grad = dx
        return dx

    def forward_steps(self, x: np.ndarray) -> Program | None:
        """The forward pass as a step program (see layers/steps.py); None when it is one call."""
        return None

    def backward_steps(self, dy: np.ndarray) -> Program | None:
        """The backward pass as a step program; None when it is one call."""
        return None

    def compute(self, x: np.ndarray) -> np.ndarray:
        """Subclass: the forward pass."""
        raise NotImplementedError

    def differentiate(self, dy: np.ndarray) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """Subclass: (dx, {param: gradient}) for the last forward pass."""
        raise NotImplementedError

    # ---------------------------------------------------------------- penalties

    def penalty(self) -> float:
        """The L1 and L2 penalty this layer adds to the loss (0 when both are off or frozen)."""
        if self.frozen or not (self.l1 or self.l2):
            return 0.0
        total = 0.0
        for key in self.penalised:
            if self.l1:
                total += F.l1_penalty(self.params[key], self.l1)[0]
            if self.l2:
                total += F.l2_penalty(self.params[key], self.l2)[0]
        return total

    def penalty_gradient(self, key: str) -> np.ndarray:
        grad = np.zeros_like(self.params[key])
        if self.l1:
            grad += F.l1_penalty(self.params[key], self.l1)[1]
        if self.l2:
            grad += F.l2_penalty(self.params[key], self.l2)[1]
        return grad

    # ---------------------------------------------------------------- description

    def children(self) -> list[Layer]:
        """The layers inside a block; empty for a plain layer."""
        return []

    def walk(self) -> Iterator[Layer]:
        """This layer and every layer inside it, depth first, in forward order."""
        yield self
        for child in self.children():
            yield from child.walk()

    def param_count(self) -> int:
        return sum(math.prod(s) for s in self.param_shapes().values())

    def macs(self) -> int:
        """Multiply-accumulates of one forward pass for one example (dense and conv work)."""
        return 0

    def flops(self) -> int:
        """Floating-point operations of one forward pass for one example.

        A multiply-accumulate counts 2; element-wise work counts per output element (see each
        layer's ``elementwise_flops``).
        """
        return 2 * self.macs() + self.elementwise_flops()

    def elementwise_flops(self) -> int:
        return 0

    def window(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
        """(kernel, stride, dilation) pairs for the receptive field; None if not spatial.

        The default, for element-wise layers, is a 1x1 window that leaves the field unchanged.
        """
        return (1, 1), (1, 1), (1, 1)

    def options(self) -> str:
        """Subclass: the constructor arguments shown by repr."""
        return ""

    def __repr__(self) -> str:
        args = self.options()
        extras = [f"name={self.name!r}"] if self.name else []
        if self.frozen:
            extras.append("frozen=True")
        inner = ", ".join(a for a in (args, *extras) if a)
        return f"{type(self).__name__}({inner})"

    def _output_elements(self) -> int:
        return math.prod(self.output_shape or ())
