"""Small element-wise helpers over flat (size,) arrays."""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def multiply(a, b, out):
    # out = a * b; used by inverted dropout (b is the scaled keep-mask)
    for i in range(a.size):
        out[i] = a[i] * b[i]


@kernel
def clip_values(a, limit):
    # in place: a = clip(a, -limit, limit); NaN stays NaN so the simulator still sees it
    high = a.dtype.type(limit)
    low = -high
    for i in range(a.size):
        if a[i] > high:
            a[i] = high
        elif a[i] < low:
            a[i] = low


@kernel
def sum_of_squares(a):
    # float64 accumulation: this is a norm, read by the learner and compared against thresholds
    total = 0.0
    for i in range(a.size):
        total += float(a[i]) * float(a[i])
    return total


@kernel
def scale_in_place(a, factor):
    f = a.dtype.type(factor)
    for i in range(a.size):
        a[i] *= f


@kernel
def l1_penalty(w, strength, dw):
    # value = strength * sum |w|; dw = strength * sign(w), with sign(0) = 0 as torch.sign
    s = w.dtype.type(strength)
    total = 0.0
    for i in range(w.size):
        v = w[i]
        total += abs(float(v))
        if v > 0:
            dw[i] = s
        elif v < 0:
            dw[i] = -s
        else:
            dw[i] = v * s  # 0, or NaN for a NaN weight, which stays visible
    return strength * total


@kernel
def l2_penalty(w, strength, dw):
    # value = strength / 2 * sum w^2; dw = strength * w (the gradient of weight decay)
    s = w.dtype.type(strength)
    total = 0.0
    for i in range(w.size):
        total += float(w[i]) * float(w[i])
        dw[i] = s * w[i]
    return 0.5 * strength * total


@kernel
def activation_stats(y, code, unit_alive, out):
    # y (N, U) one layer's output over a batch; out = (mean, std, saturated fraction, dead
    # fraction). "Saturated": the activation's derivative is below 5 % of its peak there
    # (code 1 sigmoid: y(1-y) < 0.0125; 2 tanh: 1-y^2 < 0.05; 3 softsign: (1-|y|)^2 < 0.05;
    # 0: not an activation, reported as NaN). "Dead": units whose output is 0 for every
    # example (code 4 ReLU only, else NaN). float64 sums, serial, so repeats are identical.
    # unit_alive: (U,) scratch for code 4; any size for the other codes
    n, units = y.shape
    total = 0.0
    saturated = 0
    if code == 4:
        unit_alive[:] = False
    for i in range(n):
        for u in range(units):
            v = float(y[i, u])
            total += v
            if code == 4 and v != 0.0:
                unit_alive[u] = True
            if code == 1:
                if v * (1.0 - v) < 0.0125:
                    saturated += 1
            elif code == 2:
                if 1.0 - v * v < 0.05:
                    saturated += 1
            elif code == 3:
                if (1.0 - abs(v)) * (1.0 - abs(v)) < 0.05:
                    saturated += 1
    count = n * units
    mean = total / count
    spread = 0.0  # second pass: no cancellation for outputs with a large mean
    for i in range(n):
        for u in range(units):
            d = float(y[i, u]) - mean
            spread += d * d
    out[0] = mean
    out[1] = np.sqrt(spread / count)
    out[2] = saturated / count if code in (1, 2, 3) else np.nan
    if code == 4:
        dead = 0
        for u in range(units):
            if not unit_alive[u]:
                dead += 1
        out[3] = dead / units
    else:
        out[3] = np.nan


@kernel
def count_nonfinite(a):
    # (number of NaN, number of +-inf) in a flat array: the simulator's always-on check
    nans = 0
    infs = 0
    for i in range(a.size):
        v = a[i]
        if v != v:
            nans += 1
        elif v - v != 0:  # inf - inf is NaN; finite - itself is 0
            infs += 1
    return nans, infs


@kernel
def norm_and_step(p, old):
    # (sum p^2, sum (p - old)^2) in float64 in one pass: a parameter's size and the size of
    # the optimiser step that just changed it
    size = 0.0
    step = 0.0
    for i in range(p.size):
        v = float(p[i])
        d = v - float(old[i])
        size += v * v
        step += d * d
    return size, step
