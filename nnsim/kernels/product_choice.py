"""Who computes nnsim's matrix products on this machine: BLAS, or nnsim's own kernels
(``products``, whose text gives the measurements behind each rule).

- every product of a size the kernels take: where the BLAS runs narrower vector instructions
  than the processor has (``use_own_products``);
- products of at most ``products.FEW_ROWS`` rows with a C-contiguous right operand: also
  wherever the BLAS is OpenBLAS, which packs that operand on every call
  (``use_own_few_row_products``).

Made once per process from the machine and ``NNSIM_PRODUCTS`` (``auto``, ``blas`` or ``numba``),
never from timings, so a run is bit-identical to any other on the same machine and settings.
"""

from __future__ import annotations

import os
import warnings

ENV_PRODUCTS = "NNSIM_PRODUCTS"
CHOICES = ("auto", "blas", "numba")

#: OpenBLAS core types whose single-precision kernels use AVX-512 (threadpoolctl's names)
AVX512_BLAS_CORES = frozenset({"skylakex", "cooperlake", "sapphirerapids"})


def _blas_has_avx512_kernels() -> bool | None:
    """True/False for an OpenBLAS whose kernels do/don't use AVX-512; None for another BLAS
    (MKL, Accelerate, BLIS: left alone) or when threadpoolctl cannot tell."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for library in threadpool_info():
        if library.get("user_api") != "blas":
            continue
        if library.get("internal_api") != "openblas":
            return None
        core = str(library.get("architecture") or "").lower()
        return core in AVX512_BLAS_CORES if core else None
    return None


def _host_has_avx512() -> bool:
    """Whether Numba compiles for a processor with AVX-512 (not when NUMBA_CPU_NAME asks for a
    portable target)."""
    import llvmlite.binding as llvm
    import numba

    if (numba.config.CPU_NAME or "host") != "host":
        return False
    return bool(llvm.get_host_cpu_features().get("avx512f", False))


def _normalised(raw: str) -> str:
    return raw.strip().lower() or "auto"


def choose_products(setting: str | None = None) -> bool:
    """Whether nnsim's kernels take the products (see the module's text); ``setting`` is
    ``NNSIM_PRODUCTS``'s value. An unknown value warns, naming the accepted ones, and counts
    as ``auto``."""
    raw = os.environ.get(ENV_PRODUCTS, "") if setting is None else setting
    choice = _normalised(raw)
    if choice not in CHOICES:
        warnings.warn(
            f"{ENV_PRODUCTS}={raw!r} is not one of {', '.join(CHOICES)}; nnsim uses auto "
            "(its own kernels where the BLAS runs narrower vectors than the processor has)",
            RuntimeWarning,
            stacklevel=2,
        )
        choice = "auto"
    if choice != "auto":
        return choice == "numba"
    return _blas_has_avx512_kernels() is False and _host_has_avx512()


def describe() -> str:
    """One line on who computes the products here, and why: for benchmarks' headers."""
    blas = _blas_has_avx512_kernels()
    blas_text = {True: "AVX-512", False: "AVX2 or narrower", None: "unknown (not OpenBLAS)"}[blas]
    processor = "AVX-512" if _host_has_avx512() else "no AVX-512"
    who = "nnsim's Numba kernels" if use_own_products() else "BLAS"
    if not use_own_products() and use_own_few_row_products():
        from .products import FEW_ROWS  # (products imports this module)

        who += f", nnsim's kernels for at most {FEW_ROWS} rows"
    setting = os.environ.get(ENV_PRODUCTS, "").strip() or "auto"
    return (
        f"products: {who} ({ENV_PRODUCTS}={setting}; BLAS kernels {blas_text}, "
        f"processor {processor})"
    )


_own: bool | None = None
_own_few_rows: bool | None = None


def use_own_products() -> bool:
    """The process's choice, made on first use."""
    global _own
    if _own is None:
        _own = choose_products()
    return _own


def use_own_few_row_products() -> bool:
    """Whether products of at most ``products.FEW_ROWS`` rows go to ``products.product_nn``
    (see there): where the kernels take every product, or where the BLAS is OpenBLAS and
    ``NNSIM_PRODUCTS`` is not ``blas``. Made on first use."""
    global _own_few_rows
    if _own_few_rows is None:
        forced_blas = _normalised(os.environ.get(ENV_PRODUCTS, "")) == "blas"
        openblas = _blas_has_avx512_kernels() is not None
        _own_few_rows = use_own_products() or (openblas and not forced_blas)
    return _own_few_rows
