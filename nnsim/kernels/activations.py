"""Element-wise activations over flat (size,) arrays.

The callers pass ravelled C-contiguous views, so every kernel is a single loop that LLVM can
vectorise. Comparisons are written so that NaN passes through unchanged, as in PyTorch
(``relu(nan)`` is nan, not 0): the simulator must see a NaN where it appears.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import kernel

# PyTorch's softplus switches to the identity above this input (beta = 1).
SOFTPLUS_THRESHOLD = 20.0


@kernel
def _sigmoid(v, one):
    # One value, without overflow for any v. ``one`` arrives typed by the caller (float32 or
    # float64) so a float32 computation stays float32. Shared with the recurrent gates.
    if v >= 0:
        return one / (one + np.exp(-v))
    e = np.exp(v)  # also reached by NaN, which stays NaN
    return e / (one + e)


#: tanh x = x + x^3 (c3 + x^2 (c5 + ...)): the coefficients of x^17 down to x^3
_TANH_SERIES = (
    6404582 / 10854718875,
    -929569 / 638512875,
    21844 / 6081075,
    -1382 / 155925,
    62 / 2835,
    -17 / 315,
    2 / 15,
    -1 / 3,
)


def tanh(v):
    """tanh of one value inside a kernel: libm's in float64; in float32, from exp.

    Why: LLVM turns a float32 tanh into calls of glibc's tanhf, measured at 32 ns each (exp:
    4 ns), and the tanh calls dominated the LSTM and GRU steps. The float32 version is exact to
    a few ulp (see the measured bound in tests/test_activations.py): an odd Taylor polynomial
    below |v| = 0.5, where 1 - 2/(e^2|v| + 1) would cancel, and that formula above it (e^2|v|
    overflows to inf and tanh to +-1 past |v| = 44). NaN stays NaN, -0 stays -0.
    """
    return np.tanh(v)


@overload(tanh, jit_options={"cache": True})
def _tanh_overload(v):
    if v == types.float32:

        def tanh_float32(v):
            one, two = np.float32(1), np.float32(2)
            a = abs(v)
            if a < np.float32(0.5):
                if a == 0:  # keeps the sign of -0
                    return v
                s = v * v
                # tanh's odd Taylor series to x^17; the next term is below 5e-10 relative
                poly = np.float32(0)
                for c in _TANH_SERIES:
                    poly = poly * s + np.float32(c)
                return v + v * s * poly
            r = one - two / (np.exp(two * a) + one)  # NaN stays NaN
            return r if v >= 0 else -r

        return tanh_float32
    return lambda v: np.tanh(v)


@kernel
def sigmoid_forward(x, y):
    one = x.dtype.type(1)
    for i in range(x.size):
        y[i] = _sigmoid(x[i], one)


@kernel
def sigmoid_backward(dy, y, dx):
    one = y.dtype.type(1)
    for i in range(y.size):
        dx[i] = dy[i] * y[i] * (one - y[i])


@kernel
def tanh_forward(x, y):
    for i in range(x.size):
        y[i] = tanh(x[i])


@kernel
def tanh_backward(dy, y, dx):
    one = y.dtype.type(1)
    for i in range(y.size):
        dx[i] = dy[i] * (one - y[i] * y[i])


@kernel
def relu_forward(x, y):
    zero = x.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        y[i] = zero if v <= zero else v


@kernel
def relu_backward(dy, x, dx):
    zero = x.dtype.type(0)
    for i in range(x.size):
        dx[i] = zero if x[i] <= zero else dy[i]


@kernel
def leaky_relu_forward(x, alpha, y):
    a = x.dtype.type(alpha)
    for i in range(x.size):
        v = x[i]
        y[i] = v * a if v <= 0 else v


@kernel
def leaky_relu_backward(dy, x, alpha, dx):
    a = x.dtype.type(alpha)
    for i in range(x.size):
        dx[i] = dy[i] * a if x[i] <= 0 else dy[i]


@kernel
def elu_forward(x, alpha, y):
    a = x.dtype.type(alpha)
    for i in range(x.size):
        v = x[i]
        y[i] = a * np.expm1(v) if v <= 0 else v


@kernel
def elu_backward(dy, x, alpha, dx):
    # For x <= 0, d/dx alpha*(e^x - 1) = alpha*e^x. Computed from x, not as y + alpha, which
    # cancels to noise deep in the negative tail (as PyTorch does).
    a = x.dtype.type(alpha)
    for i in range(x.size):
        dx[i] = dy[i] * a * np.exp(x[i]) if x[i] <= 0 else dy[i]


@kernel
def softsign_forward(x, y):
    one = x.dtype.type(1)
    for i in range(x.size):
        y[i] = x[i] / (one + np.abs(x[i]))


@kernel
def softsign_backward(dy, x, dx):
    one = x.dtype.type(1)
    for i in range(x.size):
        d = one + np.abs(x[i])
        dx[i] = dy[i] / (d * d)


@kernel
def softplus_forward(x, y):
    threshold = x.dtype.type(SOFTPLUS_THRESHOLD)
    for i in range(x.size):
        v = x[i]
        y[i] = v if v > threshold else np.log1p(np.exp(v))


@kernel
def softplus_backward(dy, x, dx):
    # d/dx log(1 + e^x) = sigmoid(x); the identity region has slope 1, as in PyTorch.
    one = x.dtype.type(1)
    threshold = x.dtype.type(SOFTPLUS_THRESHOLD)
    for i in range(x.size):
        v = x[i]
        if v > threshold:
            dx[i] = dy[i]
        else:
            e = np.exp(v)
            dx[i] = dy[i] * e / (one + e)
