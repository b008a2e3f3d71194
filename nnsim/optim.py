"""Optimisers with the update formulas and state of the torch.optim classes of the same names.

``opt.step(params, grads)`` takes two dicts of arrays with the same keys, updates ``params`` in
place and keeps its state per key, so a model's ``parameters()`` and ``gradients()`` plug in
directly. The arithmetic runs in Numba kernels (nnsim/kernels/optim.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .functional import _checks as check
from .kernels import optim as k


class Optimizer:
    """Shared bookkeeping: argument checks, per-key state, the step count."""

    name = "optimizer"
    #: a state slot with one value per parameter value: its size is the parameter's
    sized_slot = ""

    def __init__(self, lr: float) -> None:
        try:
            self.lr = check.real(type(self).__name__, "lr", lr, 0.0)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}: lr must be a finite number >= 0, got {lr!r}"
            ) from None
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0

    def step(
        self,
        params: Mapping[str, np.ndarray],
        grads: Mapping[str, np.ndarray],
        sizes: np.ndarray | None = None,
    ) -> None:
        """Update every array of ``params`` in place from the gradient of the same key.
        ``sizes``: a (len(params), 2) float64 array that receives, for each parameter in
        order, (sum p^2, sum step^2) after the update, measured in the same pass."""
        cls = type(self).__name__
        if not isinstance(params, Mapping) or not isinstance(grads, Mapping):
            raise TypeError(
                f"{cls}.step: params and grads must be dicts of arrays; got "
                f"{type(params).__name__} and {type(grads).__name__}"
            )
        if params.keys() != grads.keys():
            missing = sorted(set(params) - set(grads))
            extra = sorted(set(grads) - set(params))
            raise ValueError(
                f"{cls}.step: params and grads must have the same keys; "
                f"no gradient for {missing}, no parameter for {extra}"
            )
        measured = sizes is not None
        if measured and (
            not isinstance(sizes, np.ndarray)
            or sizes.shape != (len(params), 2)
            or sizes.dtype != np.float64
        ):
            raise ValueError(
                f"{cls}.step: sizes must be a ({len(params)}, 2) float64 array, "
                f"got {getattr(sizes, 'shape', type(sizes).__name__)} "
                f"{getattr(sizes, 'dtype', '')}"
            )
        # every key is checked before any is updated: a refused step changes nothing
        checked = []
        for key, p in params.items():
            g, state = grads[key], self.state.get(key)
            if not (  # the common case, a model's own arrays, in attribute reads without a call
                type(g) is np.ndarray
                and type(p) is np.ndarray
                and g.dtype == p.dtype
                and g.shape == p.shape
                and p.dtype in check.FLOAT_DTYPES
                and g.flags.c_contiguous
                and p.flags.c_contiguous
                and p.flags.writeable
                and (state is None or state[self.sized_slot].size == p.size)
            ):
                g = self._checked_grad(cls, key, p, g)
            checked.append((p, g, state, key))
        self.steps += 1
        for row, (p, g, state, key) in enumerate(checked):
            if state is None:
                state = self.state[key] = self._new_state(p)
            # both C-contiguous (checked), so ravel() is a view, and cheaper than reshape(-1)
            size, moved = self._update(p.ravel(), g.ravel(), state, measured)
            if measured:
                sizes[row, 0] = size
                sizes[row, 1] = moved

    def _checked_grad(self, cls: str, key: str, p, g) -> np.ndarray:
        """``g`` as a contiguous array of p's dtype, or ValueError naming what is wrong."""
        if (
            not isinstance(p, np.ndarray)
            or p.dtype.kind != "f"
            or not p.flags.c_contiguous
            or not p.flags.writeable
        ):
            raise ValueError(
                f"{cls}.step: params[{key!r}] must be a writable C-contiguous float array "
                f"(it is updated in place)"
            )
        g = np.asarray(g)
        if g.dtype.kind not in "fiu" or g.dtype == np.bool_:
            raise TypeError(f"{cls}.step: grads[{key!r}] must be a real float array, got {g.dtype}")
        if g.shape != p.shape:
            raise ValueError(
                f"{cls}.step: grads[{key!r}] must have the shape of params[{key!r}]; "
                f"params[{key!r}] {p.shape}, grads[{key!r}] {g.shape}"
            )
        state = self.state.get(key)
        if state is not None and state[self.sized_slot].size != p.size:
            raise ValueError(
                f"{cls}.step: params[{key!r}] has {p.size} values but the optimiser's state "
                f"for it has {state[self.sized_slot].size}; the parameter changed shape"
            )
        return np.ascontiguousarray(g, dtype=p.dtype)

    def _new_state(self, p: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _update(
        self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray], measure: bool
    ) -> tuple[float, float]:
        """Update flat ``p`` in place; (sum p^2, sum step^2) after it when ``measure``."""
        raise NotImplementedError


def _zeros(p: np.ndarray, *slots: str) -> dict[str, np.ndarray]:
    return {slot: np.zeros(p.size, dtype=p.dtype) for slot in slots}


class SGD(Optimizer):
    """p -= lr d, with d = g + wd p; momentum b = mu b + d; Nesterov d + mu b (torch.optim.SGD)."""

    name = "sgd"
    sized_slot = "momentum_buffer"

    def __init__(
        self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr)
        momentum = check.real("SGD", "momentum", momentum, 0.0)
        weight_decay = check.real("SGD", "weight_decay", weight_decay, 0.0)
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = (
            float(momentum),
            bool(nesterov),
            float(weight_decay),
        )

    def _new_state(self, p):
        return _zeros(p, "momentum_buffer")

    def _update(self, p, g, state, measure):
        return k.sgd_update(
            p,
            g,
            state["momentum_buffer"],
            self.lr,
            self.momentum,
            self.weight_decay,
            self.nesterov,
            measure,
        )


class Adagrad(Optimizer):
    """sum += d^2; p -= lr * d / (sqrt(sum) + eps) (torch.optim.Adagrad, lr_decay 0)."""

    name = "adagrad"
    sized_slot = "sum"

    def __init__(
        self,
        lr: float,
        eps: float = 1e-10,
        initial_accumulator_value: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.eps, self.initial, self.weight_decay = (
            check.real("Adagrad", "eps", eps, 0.0),
            check.real("Adagrad", "initial_accumulator_value", initial_accumulator_value, 0.0),
            check.real("Adagrad", "weight_decay", weight_decay, 0.0),
        )

    def _new_state(self, p):
        return {"sum": np.full(p.size, self.initial, dtype=p.dtype)}

    def _update(self, p, g, state, measure):
        return k.adagrad_update(p, g, state["sum"], self.lr, self.eps, self.weight_decay, measure)


class RMSprop(Optimizer):
    """v = alpha v + (1 - alpha) d^2; p -= lr d / (sqrt(v) + eps), optionally centred and with
    momentum (torch.optim.RMSprop)."""

    name = "rmsprop"
    sized_slot = "square_avg"

    def __init__(
        self,
        lr: float,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        self.alpha = check.real("RMSprop", "alpha", alpha, 0.0, 1.0)
        self.eps = check.real("RMSprop", "eps", eps, 0.0)
        self.momentum = check.real("RMSprop", "momentum", momentum, 0.0)
        self.centered = bool(centered)
        self.weight_decay = check.real("RMSprop", "weight_decay", weight_decay, 0.0)

    def _new_state(self, p):
        return _zeros(p, "square_avg", "grad_avg", "momentum_buffer")

    def _update(self, p, g, state, measure):
        return k.rmsprop_update(
            p,
            g,
            state["square_avg"],
            state["grad_avg"],
            state["momentum_buffer"],
            self.lr,
            self.alpha,
            self.eps,
            self.momentum,
            self.centered,
            self.weight_decay,
            measure,
        )


class Adam(Optimizer):
    """Adam with bias correction (torch.optim.Adam; weight decay as an L2 term, not AdamW).

    The step count is incremented before the bias corrections, so the first step has full
    size: m_hat = g and v_hat = g^2.
    """

    name = "adam"
    sized_slot = "exp_avg"

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        b1, b2 = (check.real("Adam", f"betas[{i}]", b, 0.0, 1.0) for i, b in enumerate(betas))
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas!r}")
        self.beta1, self.beta2 = b1, b2
        self.eps = check.real("Adam", "eps", eps, 0.0)
        self.weight_decay = check.real("Adam", "weight_decay", weight_decay, 0.0)

    def _new_state(self, p):
        state = _zeros(p, "exp_avg", "exp_avg_sq")
        state["step"] = np.zeros(1, dtype=np.int64)
        return state

    def _update(self, p, g, state, measure):
        state["step"][0] += 1
        t = int(state["step"][0])
        step_size = self.lr / (1.0 - self.beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - self.beta2**t)
        return k.adam_update(
            p,
            g,
            state["exp_avg"],
            state["exp_avg_sq"],
            step_size,
            self.beta1,
            self.beta2,
            bias_correction2_sqrt,
            self.eps,
            self.weight_decay,
            measure,
        )


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adagrad, RMSprop, Adam)}
