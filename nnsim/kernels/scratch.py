"""Per-thread scratch buffers for the temporaries a kernel pass never returns.

Why: a fresh multi-megabyte ``np.empty`` is paid for again on first touch, page by page (about
4 ms for the 38 MB im2col matrix of the small VGG benchmark), and the probe of these machines
found reusing buffers several times faster than allocating them. A buffer is handed out only
for arrays the caller drops before returning, and each thread has its own (the TUI trains in a
worker thread while tests and scripts may use the main one), so nothing returned to a user ever
aliases a scratch buffer.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

_local = threading.local()

#: smaller buffers come straight from np.empty, which is faster for them than the lookup
MIN_KEPT_BYTES = 64 * 2**10
#: buffers above this size are allocated fresh and not kept (a user's one huge layer should
#: not pin its memory for the rest of the session)
MAX_KEPT_BYTES = 256 * 2**20


def _worth_keeping(size: int, dtype: np.dtype) -> bool:
    return MIN_KEPT_BYTES <= size * dtype.itemsize <= MAX_KEPT_BYTES


def _thread_buffers(kind: str) -> dict:
    """This thread's kept buffers of one kind ("buffers": scratch, "recycled"), by key."""
    buffers = getattr(_local, kind, None)
    if buffers is None:
        buffers = {}
        setattr(_local, kind, buffers)
    return buffers


def scratch(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` that is reused by the next call with
    the same ``name`` on this thread: valid only until then."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if not _worth_keeping(size, dtype):
        return np.empty(shape, dtype)
    buffers = _thread_buffers("buffers")
    key = (name, dtype)
    buffer = buffers.get(key)
    if buffer is None or buffer.size < size:
        buffer = buffers[key] = np.empty(size, dtype)
    return buffer[:size].reshape(shape)


def recycled(name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` that the caller may return to a user:
    the one handed out by the last call with the same ``name`` on this thread if nothing holds
    it (or a view of it) any more, else a fresh one, remembered for the next call.

    Why: a convolution's kept im2col matrix above glibc's largest mmap threshold (32 MB) was a
    fresh mapping on every forward pass, paid page by page (4 ms of the small VGG benchmark's
    56); a layer drops its previous matrix before asking for the next, so the same one serves
    again. An array someone still holds is never handed out twice."""
    dtype = np.dtype(dtype)
    if not _worth_keeping(math.prod(shape), dtype):
        return np.empty(shape, dtype)
    kept = _thread_buffers("recycled")
    key = (name, dtype)
    buffer = kept.get(key)
    # references: the dict's, this function's and getrefcount's own argument; any other (the
    # user's array, a view's base) means it is still in use
    if buffer is not None and buffer.shape == shape and sys.getrefcount(buffer) <= 3:
        return buffer
    buffer = kept[key] = np.empty(shape, dtype)
    return buffer
