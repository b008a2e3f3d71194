"""Small element-wise helpers over flat (size,) arrays."""

from __future__ import annotations

import numpy as np

from ._jit import kernel, reduction


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


@reduction
def sum_of_squares(a):
    # float64 accumulation: this is a norm, read by the learner and compared against thresholds.
    # Any shape (a copy only if not contiguous): the simulator passes gradients as they are
    flat = np.ascontiguousarray(a).reshape(a.size)
    total = 0.0
    for i in range(flat.size):
        total += np.float64(flat[i]) * np.float64(flat[i])
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
        total += abs(np.float64(v))
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
        total += np.float64(w[i]) * np.float64(w[i])
        dw[i] = s * w[i]
    return 0.5 * strength * total


@reduction
def activation_stats(y, code, unit_alive, out):
    # y (N, ...) one layer's output over a batch, U values per example; out = (mean, std,
    # saturated fraction, dead fraction). "Saturated": the activation's derivative is below 5 % of its peak there
    # (code 1 sigmoid: y(1-y) < 0.0125; 2 tanh: 1-y^2 < 0.05; 3 softsign: (1-|y|)^2 < 0.05;
    # 0: not an activation, reported as NaN). "Dead": units whose output is 0 for every
    # example (code 4 ReLU only, else NaN). float64 sums; one loop per quantity, so that each
    # is a branch-free SIMD reduction. unit_alive: (U,) scratch for code 4; any size otherwise.
    # Any shape and layout: the simulator passes outputs as they are (a reshape and a
    # contiguity test in Python cost more than the statistics of a small layer)
    n = y.shape[0]
    flat = np.ascontiguousarray(y).reshape(y.size)  # (N * U,); a copy only if not contiguous
    units = flat.size // n
    count = flat.size
    total = 0.0
    for i in range(count):
        total += np.float64(flat[i])
    mean = total / count
    spread = 0.0  # a second pass: no cancellation for outputs with a large mean
    for i in range(count):
        d = np.float64(flat[i]) - mean
        spread += d * d
    saturated = 0
    if code == 1:
        for i in range(count):
            v = np.float64(flat[i])
            saturated += v * (1.0 - v) < 0.0125
    elif code == 2:
        for i in range(count):
            v = np.float64(flat[i])
            saturated += 1.0 - v * v < 0.05
    elif code == 3:
        for i in range(count):
            r = 1.0 - abs(np.float64(flat[i]))
            saturated += r * r < 0.05
    out[0] = mean
    out[1] = np.sqrt(spread / count)
    out[2] = saturated / count if code in (1, 2, 3) else np.nan
    if code == 4:
        unit_alive[:units] = False
        for i in range(n):
            for u in range(units):
                unit_alive[u] |= flat[i * units + u] != 0
        dead = 0
        for u in range(units):
            dead += not unit_alive[u]
        out[3] = dead / units
    else:
        out[3] = np.nan


@kernel
def count_nonfinite(a):
    # (number of NaN, number of +-inf) in a flat array: the simulator's always-on check.
    # First a branch-free count of both together (SIMD), then, rarely, the split.
    bad = 0
    for i in range(a.size):
        v = a[i]
        bad += v - v != 0  # NaN for NaN and +-inf (inf - inf); 0 for every finite value
    if bad == 0:
        return 0, 0
    nans = 0
    for i in range(a.size):
        v = a[i]
        nans += v != v
    return nans, bad - nans


@reduction
def gradient_squares(first, second, passed, out):
    # One layer's backward measurements in one call (the simulator's sweep pays about 1 us of
    # dispatch per call): out = (sum first^2, sum second^2, NaN/inf count of passed), flat
    # arrays; an empty array stands for a missing one. The sums are sum_of_squares' own, so
    # they equal what stepping measures array by array, bit for bit.
    out[0] = sum_of_squares(first)
    out[1] = sum_of_squares(second)
    nans, infs = count_nonfinite(passed)
    out[2] = nans + infs
