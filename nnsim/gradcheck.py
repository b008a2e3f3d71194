"""Finite-difference check of a model's analytic gradients, parameter by parameter.

    errors = nnsim.gradcheck(model, CrossEntropyLoss(), x, y)
    assert max(errors.values()) < 1e-6

For each trainable parameter element p the numerical derivative is the central difference
(L(p + eps) - L(p - eps)) / (2 eps) of the full objective: the loss plus the model's L1/L2
penalty. The relative error is |a - n| / max(|a| + |n|, floor), CS231n's measure: about 1e-7 or
less means the gradient is right in float64; 1e-2 or more means it is wrong. The floor is the
smallest derivative a central difference can measure at all, 1e4 rounding units of the loss
divided by eps (about 2e-7 for a loss near 1 and eps = 1e-5): the vanishing gradients of a
deep sigmoid network, 1e-10 and less, are below it, and a difference quotient of them is
rounding noise. Near a kink
(a ReLU input or a max-pool tie within eps of switching) the difference quotient itself is
wrong, so test inputs should stay away from them. A parameter whose true gradient is exactly 0
(a bias just before batch norm, which removes it) shows only the difference's round-off, about
1e-11, as a large relative error.
"""

from __future__ import annotations

import numpy as np

from .losses import Loss
from .model import Sequential


def _objective(model: Sequential, loss: Loss, x, y, noise_states) -> tuple[float, np.ndarray]:
    for layer, state in noise_states:
        layer.noise.bit_generator.state = state  # the same dropout masks on every evaluation
    value, dpred = loss(model.forward(x), y)
    return value + model.penalty(), dpred


def gradcheck(
    model: Sequential,
    loss: Loss,
    x: np.ndarray,
    y: np.ndarray,
    eps: float = 1e-5,
    max_elements: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """The worst relative error between analytic and numerical gradient, per parameter key
    (and "input" for dL/dx when the model computes input gradients).

    ``max_elements`` checks a random sample (from ``seed``) of each parameter's elements
    instead of all of them. The model must be float64. Its parameters, running statistics and
    random state are restored afterwards, and its gradients are the analytic ones.
    """
    if model.dtype != np.float64:
        raise ValueError(
            f"gradcheck needs a float64 model (finite differences in float32 are noise); "
            f"this one is {model.dtype}"
        )
    noise_states = [(layer, layer.noise.bit_generator.state) for layer in model.walk()]
    saved_buffers = {k: v.copy() for k, v in model.buffers().items()}
    pick = np.random.default_rng(seed)

    value, dpred = _objective(model, loss, x, y, noise_states)
    dx = model.backward(dpred)
    analytic = {k: g.copy() for k, g in model.gradients().items()}
    floor = max(1e-8, 1e4 * np.finfo(np.float64).eps * max(1.0, abs(value)) / eps)
    checked = dict(model.trainable_parameters())
    inputs = np.array(x, dtype=np.float64)  # a copy: perturbed in place below
    if model.input_gradients and isinstance(dx, np.ndarray) and inputs.dtype.kind == "f":
        checked["input"], analytic["input"] = inputs, dx.copy()  # dL/dx of the first layer
        x = inputs

    errors: dict[str, float] = {}
    for key, param in checked.items():
        flat = param.reshape(-1)  # a view: writing it perturbs the model
        grad = analytic[key].reshape(-1)
        if max_elements is not None and flat.size > max_elements:
            elements = pick.choice(flat.size, max_elements, replace=False)
        else:
            elements = range(flat.size)
        worst = 0.0
        for i in elements:
            original = flat[i]
            flat[i] = original + eps
            plus = _objective(model, loss, x, y, noise_states)[0]
            flat[i] = original - eps
            minus = _objective(model, loss, x, y, noise_states)[0]
            flat[i] = original
            numerical = (plus - minus) / (2 * eps)
            error = abs(grad[i] - numerical) / max(abs(grad[i]) + abs(numerical), floor)
            worst = max(worst, float(error))
        errors[key] = worst

    # leave the model as the analytic pass left it: caches, gradients, buffers, random state
    _, dpred = _objective(model, loss, x, y, noise_states)
    model.backward(dpred)
    for key, value in saved_buffers.items():
        model.buffers()[key][...] = value
    for layer, state in noise_states:
        layer.noise.bit_generator.state = state
    return errors
