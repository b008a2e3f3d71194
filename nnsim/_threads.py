"""One BLAS thread per process by default: ``NNSIM_THREADS`` chooses another count.

Why: nnsim's matrix products (dense layers, convolution columns, recurrent input products) are
small, a few microseconds to a millisecond each. OpenBLAS's default starts one thread per core
and lets idle threads spin waiting for the next product; on a machine where other work holds
the cores (a classroom server running many sessions, a second training run) the spinning and the
hand-offs cost far more than the product. Measured on the shared 2-core machine with
benchmarks/contention.py, a 31-layer MLP used 11-12 CPU-ms per iteration with one thread
against 142-154 with OpenBLAS's default, and took 8 s instead of 101 s on the clock while two
busy processes held the cores.

Start-up: when nnsim is imported before NumPy (as the ``nnsim`` command does), NumPy's OpenBLAS
is loaded with ``OPENBLAS_NUM_THREADS`` set to the count for the moment of loading, so it never
starts the threads it would otherwise start and keep spinning for a while: that cost 0.12 of
the 0.25 CPU-s of importing NumPy (Zen 3, 2 cores). The variable is removed again at once, so
processes that nnsim starts inherit the environment they were given; one the user set is left
alone (threadpoolctl then applies the count once OpenBLAS is loaded, as it does when NumPy came
first).

``NNSIM_THREADS``: unset or empty gives 1; a positive integer gives that many BLAS threads;
``0`` leaves the BLAS library's own default (one per core) alone. The setting is applied by
``import nnsim`` (and by :func:`limit_blas_threads` at any time) through threadpoolctl, which
works whether or not NumPy was loaded first, and reaches every BLAS loaded at that moment.

Results: for the products the curriculum uses, OpenBLAS gives the same bits for every thread
count; for large ones (measured: 1000x3000 @ 3000x800) it splits the work differently and the
last bits differ. A trace is bit-identical between runs with the same ``NNSIM_THREADS``, so
compare traces made with the same setting.

Numba: every nnsim kernel is serial (no ``parallel=True``, no ``prange``; see
``nnsim.kernels.pool`` for why), so Numba never starts its thread pool and
``NUMBA_NUM_THREADS`` has no effect on nnsim.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

ENV_THREADS = "NNSIM_THREADS"
DEFAULT_THREADS = 1


def configured_threads() -> int | None:
    """The BLAS thread count ``NNSIM_THREADS`` asks for; None for the library's own default.
    A value that is not a whole number >= 0 warns once and gives the default of 1."""
    raw = os.environ.get(ENV_THREADS, "").strip()
    if raw == "":
        return DEFAULT_THREADS
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if count < 0:
        warnings.warn(
            f"{ENV_THREADS}={raw!r} is not a whole number of threads (0 keeps the BLAS "
            f"library's default); nnsim uses {DEFAULT_THREADS}",
            RuntimeWarning,
            stacklevel=2,
        )
        return DEFAULT_THREADS
    return count or None


def limit_blas_threads(count: int | None) -> int | None:
    """Give every loaded BLAS library ``count`` threads (None: leave them alone); returns the
    count applied, or None if nothing was changed (no count, or threadpoolctl missing)."""
    if count is None:
        return None
    try:
        with _openblas_loading_with(count):
            import numpy  # noqa: F401  (loads NumPy's BLAS so that the limit reaches it)
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl is a dependency; a stripped install keeps BLAS's default
        return None
    threadpool_limits(limits=count, user_api="blas")
    return count


OPENBLAS_VARIABLE = "OPENBLAS_NUM_THREADS"


@contextmanager
def _openblas_loading_with(count: int) -> Iterator[None]:
    """While NumPy loads for the first time: OpenBLAS reads its thread count from the
    environment (see the module's docstring); a value the user set is kept."""
    if "numpy" in sys.modules or OPENBLAS_VARIABLE in os.environ:
        yield
        return
    os.environ[OPENBLAS_VARIABLE] = str(count)
    try:
        yield
    finally:
        os.environ.pop(OPENBLAS_VARIABLE, None)


BLAS_THREADS = limit_blas_threads(configured_threads())
