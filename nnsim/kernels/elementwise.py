"""Small element-wise helpers over flat (size,) arrays."""

from __future__ import annotations

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
