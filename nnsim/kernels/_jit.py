"""The one place that sets Numba's compilation options for every nnsim kernel.

Why these options:
- ``nogil=True``: the TUI runs training in a worker thread; a kernel holding the GIL would
  freeze the interface for the whole call.
- ``cache=True``: cold compilation of the full kernel set costs tens of seconds; the on-disk
  cache turns that into a fraction of a second on every later start. It is discarded whenever
  any kernel source changes (:func:`forget_stale_cache`).
- ``error_model="numpy"``: division by zero gives inf/NaN as in NumPy instead of raising, so
  non-finite values reach the simulator's detectors rather than becoming exceptions.
- No ``fastmath``: its ``nnan``/``ninf`` flags let LLVM assume finite values and delete the very
  NaN/inf checks the simulator exists for. The exceptions are :func:`reduction` and
  :func:`product`, which may reorder sums (and fuse multiply-adds) but never assume finiteness.

Kernels are compiled lazily for the dtypes they meet (float32, float64; C-contiguous arrays
only, because ``nnsim.functional`` makes every input contiguous), so the number of compiled
signatures stays deliberate: at most two per kernel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numba
import numpy as np
from numba.core import caching
from numba.core.runtime import rtsys
from numba.extending import register_jitable

F = TypeVar("F", bound=Callable)

#: the dtypes kernels are compiled for, and so the ones ``nnsim.functional`` accepts (dtype
#: objects, not scalar types: ``in`` then compares by identity first, 70 against 200 ns)
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

KERNEL_OPTIONS: dict[str, object] = {"nogil": True, "cache": True, "error_model": "numpy"}

#: Every kernel compiled through :func:`kernel`, for warm-up progress and for audits.
REGISTRY: list[numba.core.registry.CPUDispatcher] = []


#: ``reduction`` kernels may also reassociate floating-point sums (and nothing else: no
#: ``nnan``/``ninf``, so NaN and inf still propagate and are still detected).
REDUCTION_OPTIONS: dict[str, object] = {**KERNEL_OPTIONS, "fastmath": {"reassoc"}}

#: for functions inlined into kernels (``vmath``): their multiplications and additions may fuse
#: into multiply-adds, and nothing else of fast-math applies
FUSED_MULTIPLY_ADD_OPTIONS: dict[str, object] = {"fastmath": {"contract"}}


class _LoadWithRuntimeOnly(caching.FunctionCache):
    """Numba's cache of one kernel, loading machine code without first loading every
    compiler registry. Why: before each load, Numba's own cache refreshes the target context
    (``numba.core.caching.Cache.load_overload``), which imports some forty modules of
    implementations (numba.np.arraymath, numba.cpython.unicode, ...) that only a compilation
    reads: 0.12 of the 0.23 CPU-s that loading the first lesson's kernels took on a warm start
    (Zen 3). Loaded code needs only the runtime (NRT) that it allocates through, so that is
    what is initialised here. A kernel that must compile still gets the full refresh: Numba's
    compiler makes it itself (``numba.core.compiler.CompilerBase``)."""

    def load_overload(self, sig, target_context):  # noqa: ANN001, ANN201 (Numba's signature)
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


#: whether this Numba's cache has the two methods :class:`_LoadWithRuntimeOnly` calls
_LEAN_LOADS_POSSIBLE = all(
    hasattr(caching.Cache, name) for name in ("_guard_against_spurious_io_errors", "_load_overload")
)


def _lean_cache_loads(dispatcher: numba.core.registry.CPUDispatcher) -> None:
    """Give ``dispatcher`` the cache of :class:`_LoadWithRuntimeOnly`; a Numba whose cache is
    built otherwise keeps its own (slower to load, same machine code)."""
    cache = getattr(dispatcher, "_cache", None)
    if _LEAN_LOADS_POSSIBLE and type(cache) is caching.FunctionCache:
        cache.__class__ = _LoadWithRuntimeOnly


def _compile(fn: F, options: dict[str, object]) -> F:
    dispatcher = numba.njit(**options)(fn)
    _lean_cache_loads(dispatcher)
    if not REGISTRY:
        forget_stale_cache(dispatcher)
    REGISTRY.append(dispatcher)
    return dispatcher  # type: ignore[return-value]


#: written next to the kernels' cached machine code: the fingerprint of the sources it came from
STAMP_NAME = "nnsim-kernels.sha256"


def sources_fingerprint() -> str:
    """SHA-256 of every source file of ``nnsim.kernels``."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_directory(dispatcher: numba.core.registry.CPUDispatcher) -> Path | None:
    """Where Numba caches the machine code of ``dispatcher``'s module (one directory per
    source directory: every nnsim kernel's), or None for a Numba without this layout."""
    try:
        return Path(dispatcher._cache._cache_path)
    except AttributeError:
        return None


def forget_stale_cache(dispatcher: numba.core.registry.CPUDispatcher) -> bool:
    """Delete the kernels' cached machine code if any kernel source changed since it was
    written; True if it did. Why: Numba checks a cached kernel against its own source file
    only, but kernels inline functions from other files (``vmath``, ``_jit``), so after an
    update that changed only those (``git pull`` on an editable install), the others would
    keep running the old code. Every cache file of the directory is nnsim's: Numba keeps one
    directory per source directory."""
    directory = cache_directory(dispatcher)
    if directory is None:  # nothing to compare against
        return False
    stamp, fingerprint = directory / STAMP_NAME, sources_fingerprint()
    try:
        if stamp.read_text() == fingerprint:
            return False
    except OSError:
        pass  # no stamp yet: whatever is cached may predate this guard
    stale = [*directory.glob("*.nbi"), *directory.glob("*.nbc")]
    try:
        for path in stale:
            path.unlink(missing_ok=True)
        directory.mkdir(parents=True, exist_ok=True)
        stamp.write_text(fingerprint)
    except OSError:  # a read-only cache directory: Numba will not write there either
        return False
    return bool(stale)


def kernel(fn: F) -> F:
    """Compile ``fn`` as a serial nnsim kernel."""
    return _compile(fn, KERNEL_OPTIONS)


def reduction(fn: F) -> F:
    """Compile ``fn``, a sum over arrays (a norm, a mean, a count), as a kernel whose sums LLVM
    may split into SIMD lanes: 6-20x faster than one serial chain of float64 additions, which
    waits four cycles per element. The order of the additions is fixed by the compiled code
    and the array's length, so a repeated call gives the same bits on the same machine (what
    bit-identical replays need); it differs from a serial sum by rounding only."""
    return _compile(fn, REDUCTION_OPTIONS)


#: matrix-product kernels (``nnsim.kernels.products``) may reassociate their dot products and
#: fuse each multiplication with its addition, as BLAS kernels do; still no ``nnan``/``ninf``
PRODUCT_OPTIONS: dict[str, object] = {**KERNEL_OPTIONS, "fastmath": {"reassoc", "contract"}}


def product(fn: F) -> F:
    """Compile ``fn``, a matrix product, with :data:`PRODUCT_OPTIONS`: its sums split into SIMD
    lanes and its multiply-adds fused. The order is fixed by the compiled code and the shapes,
    so a repeated call gives the same bits on the same machine."""
    return _compile(fn, PRODUCT_OPTIONS)


def product_helper(fn: F) -> F:
    """Make ``fn`` a helper inlined into :func:`product` kernels, with their arithmetic flags."""
    return register_jitable(fastmath=PRODUCT_OPTIONS["fastmath"], inline="always")(fn)


def product_block(fn: F) -> F:
    """Make ``fn`` a helper of :func:`product` kernels, with their arithmetic flags, that LLVM
    inlines or calls as it sees fit. Why not :func:`product_helper`: forced into its caller's
    Numba IR, the 4 x 4 dot-product block made LLVM take 11 CPU-s instead of 4 to compile
    ``product_nt``, and 5 instead of 1 for ``product_nt_summed`` (Zen 3, AVX2), for the same
    bits at the same speed."""
    return register_jitable(fastmath=PRODUCT_OPTIONS["fastmath"])(fn)


def summing_helper(fn: F) -> F:
    """Make ``fn`` a helper inlined into kernels whose own additions LLVM may reassociate:
    an accumulation step (``total + x * x``) inside a loop that must otherwise stay exact. The
    flag is per instruction and survives inlining, so the calling kernel's arithmetic is
    untouched while its running sums may be split into SIMD lanes."""
    return register_jitable(fastmath=REDUCTION_OPTIONS["fastmath"])(fn)
