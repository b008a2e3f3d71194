"""Slow, obviously correct NumPy versions of every nnsim kernel.

Each function follows the textbook definition with explicit loops over output positions and
padded copies of the input, trading speed for being easy to check by eye. They compute in
float64 whatever the input dtype.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- dense


def linear(x, W, b):
    y = x @ W.T
    return y if b is None else y + b


def linear_backward(dy, x, W):
    return dy @ W, dy.T @ x, dy.sum(axis=0)


# ---------------------------------------------------------------- convolution


def _pad(x, ph, pw, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def im2col(x, kh, kw, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """(C*KH*KW, N*OH*OW): rows (channel, ki, kj), columns (example, oh, ow)."""
    n, c, h, w = x.shape
    xp = _pad(x, *padding)
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = np.empty((c, kh, kw, n, oh, ow), dtype=x.dtype)
    for ki in range(kh):
        for kj in range(kw):
            rows = ki * dilation[0] + stride[0] * np.arange(oh)
            columns = kj * dilation[1] + stride[1] * np.arange(ow)
            cols[:, ki, kj] = xp[:, :, rows][:, :, :, columns].transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * oh * ow)


def conv2d(x, W, b, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    x = x.astype(np.float64)
    W = W.astype(np.float64)
    n, c, _, _ = x.shape
    f, cg, kh, kw = W.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = _pad(x, ph, pw)
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    fg = f // groups
    y = np.zeros((n, f, oh, ow))
    for i in range(n):
        for filt in range(f):
            g = filt // fg
            chans = slice(g * cg, (g + 1) * cg)
            for r in range(oh):
                for s in range(ow):
                    window = xp[
                        i,
                        chans,
                        r * sh : r * sh + dh * (kh - 1) + 1 : dh,
                        s * sw : s * sw + dw * (kw - 1) + 1 : dw,
                    ]
                    y[i, filt, r, s] = np.sum(window * W[filt])
            if b is not None:
                y[i, filt] += b[filt]
    return y


def conv2d_backward(dy, x, W, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    x = x.astype(np.float64)
    W = W.astype(np.float64)
    dy = dy.astype(np.float64)
    n, c, h, w = x.shape
    f, cg, kh, kw = W.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = _pad(x, ph, pw)
    dxp = np.zeros_like(xp)
    dW = np.zeros_like(W)
    fg = f // groups
    _, _, oh, ow = dy.shape
    for i in range(n):
        for filt in range(f):
            g = filt // fg
            chans = slice(g * cg, (g + 1) * cg)
            for r in range(oh):
                for s in range(ow):
                    rows = slice(r * sh, r * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(s * sw, s * sw + dw * (kw - 1) + 1, dw)
                    dW[filt] += dy[i, filt, r, s] * xp[i, chans, rows, cols]
                    dxp[i, chans, rows, cols] += dy[i, filt, r, s] * W[filt]
    dx = dxp[:, :, ph : ph + h, pw : pw + w]
    return dx, dW, dy.sum(axis=(0, 2, 3))


# ---------------------------------------------------------------- pooling


def pool_out(size, k, s, p, ceil_mode):
    span = size + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def max_pool2d(x, k, s, p, ceil_mode=False):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    oh, ow = pool_out(h, kh, sh, ph, ceil_mode), pool_out(w, kw, sw, pw, ceil_mode)
    y = np.empty((n, c, oh, ow))
    argmax = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(n):
        for ch in range(c):
            for r in range(oh):
                for q in range(ow):
                    best, best_at = -np.inf, None
                    for a in range(r * sh - ph, r * sh - ph + kh):
                        for bcol in range(q * sw - pw, q * sw - pw + kw):
                            if 0 <= a < h and 0 <= bcol < w:
                                if best_at is None:
                                    best_at = a * w + bcol
                                if x[i, ch, a, bcol] > best:  # strict: first maximum wins
                                    best, best_at = x[i, ch, a, bcol], a * w + bcol
                    y[i, ch, r, q] = best
                    argmax[i, ch, r, q] = best_at
    return y, argmax


def max_pool2d_backward(dy, argmax, x_shape):
    dx = np.zeros(x_shape)
    w = x_shape[3]
    for idx in np.ndindex(*dy.shape):
        i, ch = idx[0], idx[1]
        flat = argmax[idx]
        dx[i, ch, flat // w, flat % w] += dy[idx]
    return dx


def _avg_windows(h, w, k, s, p, ceil_mode, count_include_pad):
    """Yield (r, q, cells, divisor) with PyTorch's avg_pool2d divisor rule."""
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    oh, ow = pool_out(h, kh, sh, ph, ceil_mode), pool_out(w, kw, sw, pw, ceil_mode)
    for r in range(oh):
        for q in range(ow):
            # the window clipped to the padded input (counts padding) ...
            rows_pad = [a for a in range(r * sh - ph, r * sh - ph + kh) if a < h + ph]
            cols_pad = [c for c in range(q * sw - pw, q * sw - pw + kw) if c < w + pw]
            # ... and to the input itself (the cells that hold values)
            rows = [a for a in rows_pad if 0 <= a < h]
            cols = [c for c in cols_pad if 0 <= c < w]
            divisor = (
                (len(rows_pad) * len(cols_pad)) if count_include_pad else len(rows) * len(cols)
            )
            yield r, q, (rows, cols), divisor


def avg_pool2d(x, k, s, p, ceil_mode=False, count_include_pad=True):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    oh, ow = pool_out(h, kh, sh, ph, ceil_mode), pool_out(w, kw, sw, pw, ceil_mode)
    y = np.empty((n, c, oh, ow))
    for r, q, (rows, cols), divisor in _avg_windows(h, w, k, s, p, ceil_mode, count_include_pad):
        y[:, :, r, q] = x[:, :, rows][:, :, :, cols].astype(np.float64).sum(axis=(2, 3)) / divisor
    return y


def avg_pool2d_backward(dy, x_shape, k, s, p, ceil_mode=False, count_include_pad=True):
    dx = np.zeros(x_shape)
    h, w = x_shape[2], x_shape[3]
    for r, q, (rows, cols), divisor in _avg_windows(h, w, k, s, p, ceil_mode, count_include_pad):
        for a in rows:
            for c in cols:
                dx[:, :, a, c] += dy[:, :, r, q] / divisor
    return dx


# ---------------------------------------------------------------- activations


def activation(name, x, alpha=None):
    x = x.astype(np.float64)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    if name == "softplus":
        return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))
    if name == "leaky_relu":
        return np.where(x > 0, x, (0.01 if alpha is None else alpha) * x)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, x, a * (np.exp(np.minimum(x, 0)) - 1.0))
    raise KeyError(name)


def activation_derivative(name, x, alpha=None):
    """f'(x) from the textbook formula of each function."""
    x = x.astype(np.float64)
    if name == "sigmoid":
        s = activation("sigmoid", x)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(np.float64)
    if name == "softsign":
        return 1.0 / (1.0 + np.abs(x)) ** 2
    if name == "softplus":
        return np.where(x > 20, 1.0, activation("sigmoid", x))
    if name == "leaky_relu":
        return np.where(x > 0, 1.0, 0.01 if alpha is None else alpha)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0)))
    raise KeyError(name)


def softmax(x, axis=-1):
    z = x.astype(np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    return np.log(softmax(x, axis))


def maxout(x, pieces):
    n, d = x.shape
    return x.reshape(n, d // pieces, pieces).max(axis=2)


def maxout_backward(dy, x, pieces):
    n, d = x.shape
    groups = x.reshape(n, d // pieces, pieces)
    arg = groups.argmax(axis=2)  # numpy's argmax returns the first maximum
    dx = np.zeros_like(groups, dtype=np.float64)
    for i in range(n):
        for u in range(d // pieces):
            dx[i, u, arg[i, u]] = dy[i, u]
    return dx.reshape(n, d)


# ---------------------------------------------------------------- losses


def mse_loss(pred, target):
    d = pred.astype(np.float64) - target
    return np.mean(d**2), 2 * d / d.size


def mae_loss(pred, target):
    d = pred.astype(np.float64) - target
    return np.mean(np.abs(d)), np.sign(d) / d.size


def cross_entropy(logits, labels, weight=None):
    n, c = logits.shape
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    p = softmax(logits)
    wi = w[labels]
    loss = -np.sum(wi * np.log(p[np.arange(n), labels])) / wi.sum()
    onehot = np.eye(c)[labels]
    return loss, wi[:, None] * (p - onehot) / wi.sum()


def binary_cross_entropy(p, t):
    p = p.astype(np.float64)
    loss = -np.mean(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return loss, (p - t) / np.maximum(p * (1 - p), 1e-12) / p.size


def hinge_loss(scores, labels, margin=1.0):
    n, c = scores.shape
    s = scores.astype(np.float64)
    correct = s[np.arange(n), labels][:, None]
    slack = s - correct + margin
    slack[np.arange(n), labels] = 0
    positive = slack > 0
    loss = np.sum(np.where(positive, slack, 0)) / n
    grad = positive.astype(np.float64)
    grad[np.arange(n), labels] = -positive.sum(axis=1)
    return loss, grad / n


# ---------------------------------------------------------------- normalisation


def batch_norm_train(x, gamma, beta, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    x = x.astype(np.float64)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), mean, var


# ------------------------------------------------------- recurrent cells (torch equations)


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def rnn(x, h0, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    f = np.tanh if nonlinearity == "tanh" else (lambda v: np.maximum(v, 0.0))
    h, out = h0.astype(np.float64), []
    for t in range(x.shape[1]):
        h = f(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        out.append(h)
    return np.stack(out, axis=1)


def lstm(x, h0, c0, W_ih, W_hh, b_ih, b_hh):
    h, c, hs, cs = h0.astype(np.float64), c0.astype(np.float64), [], []
    for t in range(x.shape[1]):
        i, f, g, o = np.split(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4, axis=1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        h = _sig(o) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=1), np.stack(cs, axis=1)


def gru(x, h0, W_ih, W_hh, b_ih, b_hh):
    h, out = h0.astype(np.float64), []
    for t in range(x.shape[1]):
        xr, xz, xn = np.split(x[:, t] @ W_ih.T + b_ih, 3, axis=1)
        hr, hz, hn = np.split(h @ W_hh.T + b_hh, 3, axis=1)
        r, z = _sig(xr + hr), _sig(xz + hz)
        n = np.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        out.append(h)
    return np.stack(out, axis=1)
