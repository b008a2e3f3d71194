"""Element-wise activations over flat (size,) arrays.

The callers pass ravelled C-contiguous views, so every kernel is a single loop that LLVM can
vectorise. Comparisons are written so that NaN passes through unchanged, as in PyTorch
(``relu(nan)`` is nan, not 0): the simulator must see a NaN where it appears. Sigmoid and tanh
come from ``vmath``, whose branch-free versions vectorise where libm's calls would not.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel
from .vmath import vsigmoid, vtanh

# PyTorch's softplus switches to the identity above this input (beta = 1).
SOFTPLUS_THRESHOLD = 20.0


@kernel
def sigmoid_forward(x, y):
    for i in range(x.size):
        y[i] = vsigmoid(x[i])


@kernel
def sigmoid_backward(dy, y, dx):
    one = y.dtype.type(1)
    for i in range(y.size):
        dx[i] = dy[i] * y[i] * (one - y[i])


@kernel
def tanh_forward(x, y):
    for i in range(x.size):
        y[i] = vtanh(x[i])


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
