"""Optimiser updates over flat (size,) arrays, in place, with the formulas of torch.optim.

Hyper-parameters arrive as Python floats and are cast to the parameter's dtype once, as
PyTorch does with scalar arguments of float32 tensors.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def sgd_update(p, g, buf, lr, momentum, weight_decay, nesterov):
    # g' = g + wd p; b = mu b + g'; step = g' + mu b (Nesterov) or b; p -= lr step.
    # buf starts at zero, so the first b equals g' exactly as PyTorch's clone on step 1.
    t = p.dtype.type
    lr_, mu, wd = t(lr), t(momentum), t(weight_decay)
    for i in range(p.size):
        d = g[i] + wd * p[i] if weight_decay != 0 else g[i]
        if momentum != 0:
            buf[i] = mu * buf[i] + d
            d = d + mu * buf[i] if nesterov else buf[i]
        p[i] -= lr_ * d


@kernel
def adagrad_update(p, g, state_sum, clr, eps, weight_decay):
    t = p.dtype.type
    clr_, eps_, wd = t(clr), t(eps), t(weight_decay)
    for i in range(p.size):
        d = g[i] + wd * p[i] if weight_decay != 0 else g[i]
        state_sum[i] += d * d
        p[i] -= clr_ * d / (np.sqrt(state_sum[i]) + eps_)


@kernel
def rmsprop_update(
    p, g, square_avg, grad_avg, buf, lr, alpha, eps, momentum, centered, weight_decay
):
    t = p.dtype.type
    lr_, a, eps_, mu, wd = t(lr), t(alpha), t(eps), t(momentum), t(weight_decay)
    one = t(1)
    for i in range(p.size):
        d = g[i] + wd * p[i] if weight_decay != 0 else g[i]
        square_avg[i] = a * square_avg[i] + (one - a) * d * d
        if centered:
            grad_avg[i] = a * grad_avg[i] + (one - a) * d
            avg = np.sqrt(square_avg[i] - grad_avg[i] * grad_avg[i]) + eps_
        else:
            avg = np.sqrt(square_avg[i]) + eps_
        if momentum > 0:
            buf[i] = mu * buf[i] + d / avg
            p[i] -= lr_ * buf[i]
        else:
            p[i] -= lr_ * d / avg


@kernel
def adam_update(
    p, g, exp_avg, exp_avg_sq, step_size, beta1, beta2, bias_correction2_sqrt, eps, weight_decay
):
    # m = lerp(m, g, 1 - b1); v = b2 v + (1 - b2) g^2;
    # p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (torch.optim.Adam)
    t = p.dtype.type
    ss, b1c, b2, b2c, bc2, eps_, wd = (
        t(step_size),
        t(1.0 - beta1),
        t(beta2),
        t(1.0 - beta2),
        t(bias_correction2_sqrt),
        t(eps),
        t(weight_decay),
    )
    for i in range(p.size):
        d = g[i] + wd * p[i] if weight_decay != 0 else g[i]
        exp_avg[i] += b1c * (d - exp_avg[i])
        exp_avg_sq[i] = b2 * exp_avg_sq[i] + b2c * d * d
        p[i] -= ss * exp_avg[i] / (np.sqrt(exp_avg_sq[i]) / bc2 + eps_)
