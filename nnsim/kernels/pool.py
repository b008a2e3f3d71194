"""Max and average pooling over (N, C, H, W), with PyTorch's window and divisor rules.

The functional layer computes the output size (ceil_mode included) and guarantees that every
window starts inside the input or its left/top padding, so no window is empty.

The kernels are serial on purpose: parallel versions (prange over the independent planes) were
faster alone, but on 2 cores their threads fought OpenBLAS's threads in the convolution next
to them, and a LeNet training step got no faster (measured 25.4 against 23.2 ms).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def max_pool2d_forward(x, kh, kw, sh, sw, ph, pw, y, argmax):
    # x (N, C, H, W) -> y, argmax (N, C, OH, OW); argmax is the flat index h * W + w in the
    # input plane, as PyTorch returns it. Padding counts as -inf; the first maximum in row-major
    # window order wins ties; a NaN wins over any number (PyTorch: val > max || isnan(val)).
    n, channels, height, width = x.shape
    out_h, out_w = y.shape[2], y.shape[3]
    inside = 2 * out_h <= height and 2 * out_w <= width  # ceil_mode may hang a window over
    common = kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0 and inside
    if common and _max_pool_2x2(x, y, argmax):
        return
    for plane in range(n * channels):
        i, c = plane // channels, plane % channels
        for oh in range(out_h):
            h0 = oh * sh - ph
            h1 = min(h0 + kh, height)
            h0 = max(h0, 0)
            for ow in range(out_w):
                w0 = ow * sw - pw
                w1 = min(w0 + kw, width)
                w0 = max(w0, 0)
                best = -np.inf
                best_index = h0 * width + w0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        v = x[i, c, h, w]
                        if v > best or np.isnan(v):
                            best = v
                            best_index = h * width + w
                y[i, c, oh, ow] = best
                argmax[i, c, oh, ow] = best_index


@kernel
def _max_pool_2x2(x, y, argmax):
    # The common 2x2 stride-2 unpadded window, in one flat pass; False if a window held a NaN,
    # and the caller redoes the call with the general loops' NaN rule.
    # Branch-free on purpose: the maximum m of the four cells, then the first cell equal to m
    # (the first maximum in row-major order), chosen by integer selects and read back by index.
    # Selecting the float itself made x86 without AVX-512 branch on every comparison, and on
    # random data those branches mispredicted: 1.15 ms against 0.18 here (64x6x28x28, Zen 3).
    # Flat unsigned offsets keep Numba's negative-index checks out of the loop.
    n, channels, height, width = x.shape
    out_h, out_w = y.shape[2], y.shape[3]
    flat_x, flat_y, flat_argmax = x.reshape(-1), y.reshape(-1), argmax.reshape(-1)
    one, below = np.uintp(1), np.uintp(width)
    unordered = False
    o = np.uintp(0)
    for plane in range(n * channels):
        base = np.uintp(plane * height * width)
        for oh in range(out_h):
            top = np.uintp(2 * oh * width)
            for ow in range(out_w):
                cell = top + np.uintp(2 * ow)
                a, b = flat_x[base + cell], flat_x[base + cell + one]
                c, d = flat_x[base + cell + below], flat_x[base + cell + below + one]
                m = max(max(a, b), max(c, d))
                unordered |= (a != a) | (b != b) | (c != c) | (d != d)
                offset = below + one
                offset = below if c == m else offset
                offset = one if b == m else offset
                offset = np.uintp(0) if a == m else offset
                index = cell + offset
                flat_y[o] = flat_x[base + index]
                flat_argmax[o] = index
                o += one
    return not unordered


@kernel
def max_pool2d_backward(dy, argmax, dx):
    # dx (N, C, H, W) is zeroed, then every output's gradient is added at its maximum, so
    # overlapping windows add, as in PyTorch. The caller has checked that argmax lies in the
    # plane. One flat pass: 0.12 ms at 64x6x28x28 against 0.82 for writing each 2x2 block once
    # with a select per cell, which x86 without AVX-512 compiled to mispredicted branches.
    n, channels, out_h, out_w = dy.shape
    plane_size = np.uintp(dx.shape[2] * dx.shape[3])
    outputs = out_h * out_w
    flat_dy, flat_argmax, flat_dx = dy.reshape(-1), argmax.reshape(-1), dx.reshape(-1)
    flat_dx[:] = 0
    for plane in range(n * channels):
        base = np.uintp(plane) * plane_size
        first = plane * outputs
        for o in range(first, first + outputs):
            flat_dx[base + np.uintp(flat_argmax[o])] += flat_dy[o]


@kernel
def avg_pool2d_forward(x, kh, kw, sh, sw, ph, pw, count_include_pad, y):
    n, channels, height, width = x.shape
    out_h, out_w = y.shape[2], y.shape[3]
    for plane in range(n * channels):
        i, c = plane // channels, plane % channels
        for oh in range(out_h):
            for ow in range(out_w):
                h0, h1, w0, w1, divisor = _avg_window(
                    oh, ow, kh, kw, sh, sw, ph, pw, height, width, count_include_pad
                )
                total = x.dtype.type(0)
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[i, c, h, w]
                y[i, c, oh, ow] = total / divisor


@kernel
def avg_pool2d_backward(dy, kh, kw, sh, sw, ph, pw, count_include_pad, dx):
    # dx (N, C, H, W) is zeroed here; each output's gradient is spread evenly over its window.
    n, channels, out_h, out_w = dy.shape
    height, width = dx.shape[2], dx.shape[3]
    for plane in range(n * channels):
        i, c = plane // channels, plane % channels
        dx[i, c] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                h0, h1, w0, w1, divisor = _avg_window(
                    oh, ow, kh, kw, sh, sw, ph, pw, height, width, count_include_pad
                )
                share = dy[i, c, oh, ow] / divisor
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        dx[i, c, h, w] += share


@kernel
def _avg_window(oh, ow, kh, kw, sh, sw, ph, pw, height, width, count_include_pad):
    # PyTorch: the padded window is clipped to the padded input for the divisor with padding,
    # then to the input itself for the cells summed (and for the divisor without padding).
    h0 = oh * sh - ph
    w0 = ow * sw - pw
    h1 = min(h0 + kh, height + ph)
    w1 = min(w0 + kw, width + pw)
    padded_size = (h1 - h0) * (w1 - w0)
    h0 = max(h0, 0)
    w0 = max(w0, 0)
    h1 = min(h1, height)
    w1 = min(w1, width)
    divisor = padded_size if count_include_pad else (h1 - h0) * (w1 - w0)
    return h0, h1, w0, w1, divisor
