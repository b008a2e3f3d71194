"""im2col and col2im between (N, C, H, W) arrays and the per-example column matrices
(N, C*KH*KW, OH*OW) of ``nnsim.kernels.conv`` (see its docstring for the layout), in one stage or,
for vertical stride and dilation 1, in two through a row-shifted copy of one example.

Every kernel indexes flat arrays with unsigned offsets: a signed index makes Numba emit a
negative-index wraparound test on every element, which stops vectorisation (twice as slow at
LeNet and VGG sizes).
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def _valid_range(base, step, size, count):
    # The outputs o in [0, count) whose input index base + o * step lies in [0, size).
    lo = 0
    if base < 0:
        lo = min((-base + step - 1) // step, count)
    hi = count
    last = base + (count - 1) * step
    if last >= size:
        hi = (size - 1 - base) // step + 1 if size - 1 - base >= 0 else 0
    if hi < lo:
        hi = lo
    return lo, hi


@kernel
def im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, cols):
    # x (N, C, H, W) -> cols (N, C*KH*KW, OH*OW); zero padding. Flat unsigned offsets: a
    # signed index makes Numba emit a negative-index wraparound test on every element, which
    # stops vectorisation (twice as slow at LeNet and VGG sizes). Each example's block is
    # written front to back.
    n, channels, height, width = x.shape
    flat_x, flat_cols = x.reshape(-1), cols.reshape(-1)  # views
    zero = x.dtype.type(0)
    positions = out_h * out_w
    rows = channels * kh * kw
    for i in range(n):
        for c in range(channels):
            plane = (i * channels + c) * height
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    w_base = kj * dw - pw
                    w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                    for oh in range(out_h):
                        dst = np.uintp((i * rows + row) * positions + oh * out_w)
                        ih = oh * sh - ph + ki * dh
                        if ih < 0 or ih >= height:
                            for ow in range(out_w):
                                flat_cols[dst + np.uintp(ow)] = zero
                            continue
                        for ow in range(w_lo):
                            flat_cols[dst + np.uintp(ow)] = zero
                        src = (plane + ih) * width + w_base
                        if sw == 1:
                            first = np.uintp(src + w_lo)
                            out = dst + np.uintp(w_lo)
                            for t in range(w_hi - w_lo):
                                flat_cols[out + np.uintp(t)] = flat_x[first + np.uintp(t)]
                        else:
                            for ow in range(w_lo, w_hi):
                                flat_cols[dst + np.uintp(ow)] = flat_x[np.uintp(src + ow * sw)]
                        for ow in range(w_hi, out_w):
                            flat_cols[dst + np.uintp(ow)] = zero


@kernel
def im2col_unfolded(x, kh, kw, sw, ph, pw, dw, out_h, out_w, u, cols):
    # im2col for vertical stride and dilation 1, one example at a time in two stages: first
    # u (C, KW, H + 2 ph, OW) with u[c, kj, hp, ow] = x[i, c, hp - ph, ow * sw + kj * dw - pw]
    # (every input row shifted for each kernel column, zero outside), then
    # cols[i, (c, ki, kj)] = u[c, kj, ki : ki + OH] copied as one contiguous (OH * OW) block
    # instead of OW values at a time. u is one example's worth, so it stays in cache. The row
    # copy is im2col's, written out again on purpose: as a shared helper (register_jitable,
    # even inline="always") both kernels ran 1.1-9x slower.
    n, channels, height, width = x.shape
    padded = height + 2 * ph
    positions = out_h * out_w
    rows = channels * kh * kw
    flat_x, flat_u, flat_cols = x.reshape(-1), u.reshape(-1), cols.reshape(-1)  # views
    zero = x.dtype.type(0)
    for i in range(n):
        for c in range(channels):
            for kj in range(kw):
                base = kj * dw - pw
                lo, hi = _valid_range(base, sw, width, out_w)
                block = (c * kw + kj) * padded * out_w
                for hp in range(padded):
                    dst = np.uintp(block + hp * out_w)
                    h = hp - ph
                    if h < 0 or h >= height:
                        for t in range(out_w):
                            flat_u[dst + np.uintp(t)] = zero
                        continue
                    for t in range(lo):
                        flat_u[dst + np.uintp(t)] = zero
                    src = ((i * channels + c) * height + h) * width + base
                    if sw == 1:
                        first = np.uintp(src + lo)
                        out = dst + np.uintp(lo)
                        for t in range(hi - lo):
                            flat_u[out + np.uintp(t)] = flat_x[first + np.uintp(t)]
                    else:
                        for t in range(lo, hi):
                            flat_u[dst + np.uintp(t)] = flat_x[np.uintp(src + t * sw)]
                    for t in range(hi, out_w):
                        flat_u[dst + np.uintp(t)] = zero
        for c in range(channels):
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    src = np.uintp(((c * kw + kj) * padded + ki) * out_w)
                    dst = np.uintp((i * rows + row) * positions)
                    for t in range(positions):
                        flat_cols[dst + np.uintp(t)] = flat_u[src + np.uintp(t)]


@kernel
def col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, out_h, out_w, dx):
    # cols (N, C*KH*KW, OH*OW) -> dx (N, C, H, W), which must be zeroed; the adjoint of
    # im2col, with its unsigned flat offsets, reading cols front to back. Each dx element
    # receives its terms in (ki, kj) order.
    n, channels, height, width = dx.shape
    flat_cols, flat_dx = cols.reshape(-1), dx.reshape(-1)  # views
    positions = out_h * out_w
    rows = channels * kh * kw
    for i in range(n):
        for c in range(channels):
            plane = (i * channels + c) * height
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    w_base = kj * dw - pw
                    w_lo, w_hi = _valid_range(w_base, sw, width, out_w)
                    for oh in range(out_h):
                        ih = oh * sh - ph + ki * dh
                        if ih < 0 or ih >= height:
                            continue
                        src = np.uintp((i * rows + row) * positions + oh * out_w)
                        dst = (plane + ih) * width + w_base
                        if sw == 1:
                            first = np.uintp(dst + w_lo)
                            start = src + np.uintp(w_lo)
                            for t in range(w_hi - w_lo):
                                flat_dx[first + np.uintp(t)] += flat_cols[start + np.uintp(t)]
                        else:
                            for ow in range(w_lo, w_hi):
                                flat_dx[np.uintp(dst + ow * sw)] += flat_cols[src + np.uintp(ow)]


@kernel
def col2im_unfolded(cols, kh, kw, sw, ph, pw, dw, out_h, out_w, u, dx):
    # col2im for vertical stride and dilation 1, the adjoint of im2col_unfolded, one example at
    # a time: the (OH * OW) blocks of cols are added into u (C, KW, H + 2 ph, OW) as whole
    # contiguous blocks (summing over ki), then u is folded into dx (summing over kj): a
    # quarter of col2im's short row-by-row additions at the second LeNet layer. dx must be
    # zeroed. Each dx element receives its terms summed over ki within each kj, in order.
    n, channels, height, width = dx.shape
    padded = height + 2 * ph
    positions = out_h * out_w
    rows = channels * kh * kw
    flat_cols, flat_u, flat_dx = cols.reshape(-1), u.reshape(-1), dx.reshape(-1)  # views
    zero = dx.dtype.type(0)
    for i in range(n):
        for q in range(u.size):
            flat_u[np.uintp(q)] = zero
        for c in range(channels):
            for ki in range(kh):
                for kj in range(kw):
                    row = (c * kh + ki) * kw + kj
                    dst = np.uintp(((c * kw + kj) * padded + ki) * out_w)
                    src = np.uintp((i * rows + row) * positions)
                    for t in range(positions):
                        flat_u[dst + np.uintp(t)] += flat_cols[src + np.uintp(t)]
        for c in range(channels):
            for kj in range(kw):
                base = kj * dw - pw
                lo, hi = _valid_range(base, sw, width, out_w)
                block = (c * kw + kj) * padded * out_w
                for h in range(height):
                    src = np.uintp(block + (h + ph) * out_w)
                    dst = ((i * channels + c) * height + h) * width + base
                    if sw == 1:
                        first = np.uintp(dst + lo)
                        start = src + np.uintp(lo)
                        for t in range(hi - lo):
                            flat_dx[first + np.uintp(t)] += flat_u[start + np.uintp(t)]
                    else:
                        for t in range(lo, hi):
                            flat_dx[np.uintp(dst + t * sw)] += flat_u[src + np.uintp(t)]
