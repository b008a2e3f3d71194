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
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0 and pw == 0 and inside:
        for plane in range(n * channels):
            _max_pool_2x2(x[plane // channels, plane % channels], y, argmax, plane, channels)
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
def _max_pool_2x2(src, y, argmax, plane, channels):
    # the common 2x2 stride-2 unpadded window: four cells, unrolled, 6x faster than the loops;
    # src (H, W) is one plane. Same rules: row-major order, first maximum, a NaN wins.
    i, c = plane // channels, plane % channels
    width = src.shape[1]
    for oh in range(y.shape[2]):
        h = 2 * oh
        for ow in range(y.shape[3]):
            w = 2 * ow
            best = src[h, w]
            index = h * width + w
            for dh, dw in ((0, 1), (1, 0), (1, 1)):
                v = src[h + dh, w + dw]
                if v > best or np.isnan(v):
                    best = v
                    index = (h + dh) * width + w + dw
            y[i, c, oh, ow] = best
            argmax[i, c, oh, ow] = index


@kernel
def max_pool2d_backward(dy, argmax, dx):
    # dx (N, C, H, W) is written whole here; overlapping windows add.
    if not _max_pool_blocks_backward(dy, argmax, dx):
        _max_pool_scatter_backward(dy, argmax, dx)


@kernel
def _max_pool_scatter_backward(dy, argmax, dx):
    # any geometry: zero each plane, then add every output's gradient at its maximum
    n, channels, out_h, out_w = dy.shape
    width = dx.shape[3]
    for plane in range(n * channels):
        i, c = plane // channels, plane % channels
        dx[i, c] = 0
        for oh in range(out_h):
            for ow in range(out_w):
                index = argmax[i, c, oh, ow]
                dx[i, c, index // width, index % width] += dy[i, c, oh, ow]


@kernel
def _max_pool_blocks_backward(dy, argmax, dx):
    # The common 2x2 stride-2 case in one pass, twice as fast as zeroing then scattering:
    # output (oh, ow) owns the disjoint input block (2oh..2oh+1, 2ow..2ow+1), so each cell is
    # written once, with dy or 0. The geometry is not passed in, so this returns False when a
    # maximum lies outside its block (other window shapes), and the caller scatters instead.
    # Flat unsigned offsets keep Numba's negative-index checks out of the loop, and every
    # comparison is unsigned to unsigned (uint64 against int64 goes through float64); this
    # exact form measured 2 to 3 times faster than equivalent rewrites.
    n, channels, out_h, out_w = dy.shape
    height, width = dx.shape[2], dx.shape[3]
    if 2 * out_h > height or 2 * out_w > width:
        return False
    flat_dy, flat_argmax, flat_dx = dy.reshape(-1), argmax.reshape(-1), dx.reshape(-1)
    zero = dx.dtype.type(0)
    plane_size = height * width
    covers_plane = 2 * out_h == height and 2 * out_w == width
    misses = 0
    for plane in range(n * channels):
        base = np.uintp(plane * plane_size)
        if not covers_plane:  # an odd last row or column that no window reads
            for q in range(plane_size):
                flat_dx[base + np.uintp(q)] = zero
        first_output = np.uintp(plane * out_h * out_w)
        for oh in range(out_h):
            top = np.uintp(2 * oh * width)
            for ow in range(out_w):
                cell = top + np.uintp(2 * ow)
                o = first_output + np.uintp(oh * out_w + ow)
                grad = flat_dy[o]
                index = np.uintp(flat_argmax[o])  # a negative index wraps and never hits
                hits = 0
                for offset in (np.uintp(0), np.uintp(1), np.uintp(width), np.uintp(width + 1)):
                    hit = cell + offset == index
                    hits += hit
                    flat_dx[base + cell + offset] = grad if hit else zero
                misses += 1 - hits
    return misses == 0


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
