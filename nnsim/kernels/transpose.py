"""A matrix's transpose as a new C-contiguous array, eight rows of the source at a time.

Why not ``np.ascontiguousarray(a.T)``: NumPy walks the output in order and reads the source
down its columns, one number per cache line, and took 85 us for an LSTM's W_hh (512, 128) in
float32, where this kernel takes 22 (Zen 3): reading eight source rows at once, it writes eight
consecutive numbers of each output row, which LLVM stores as one vector. Sixteen rows at once
were no faster at (512, 128) and slower at (128, 512). A copy, so the bits are the source's.
"""

from __future__ import annotations

import numpy as np

from ._jit import kernel


@kernel
def transpose_into(a, out):
    # out (C, R) = a (R, C)^T
    rows, cols = a.shape
    eights = rows - rows % 8
    for i in range(0, eights, 8):
        a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]  # (C,) each
        a4, a5, a6, a7 = a[i + 4], a[i + 5], a[i + 6], a[i + 7]
        for j in range(cols):
            o = out[j]  # (R,)
            o[i], o[i + 1], o[i + 2], o[i + 3] = a0[j], a1[j], a2[j], a3[j]
            o[i + 4], o[i + 5], o[i + 6], o[i + 7] = a4[j], a5[j], a6[j], a7[j]
    for i in range(eights, rows):
        for j in range(cols):
            out[j, i] = a[i, j]


def transposed(a: np.ndarray) -> np.ndarray:
    """a (R, C)^T as a new C-contiguous (C, R) array; ``a`` must be a C-contiguous float32 or
    float64 matrix (what ``nnsim.functional`` passes its kernels)."""
    out = np.empty((a.shape[1], a.shape[0]), dtype=a.dtype)  # (C, R)
    transpose_into(a, out)
    return out
