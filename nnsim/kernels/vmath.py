"""exp, sigmoid and tanh that LLVM can vectorise in float32: branch-free, no libm calls.

Why: Numba turns ``np.exp``/``np.tanh`` inside a loop into one call of glibc's scalar function
per element (LLVM vectorises them only with Intel's SVML, which nnsim does not depend on), and
those calls dominated the LSTM and GRU cells (five transcendental functions per hidden unit)
and the sigmoid and tanh layers. Written as a polynomial and an exponent built from integer
bits, the float32 loop runs 8 lanes at a time: 0.63 ns per exp against libm's 4.7 ns (Zen 3).
The functions' own multiplications and additions may fuse into multiply-adds
(``_jit.FUSED_MULTIPLY_ADD_OPTIONS``): the polynomial's chain of dependent steps halves, which
took exp from 0.96 to 0.63 ns and an LSTM cell's step at H = 128 from 1.26 to 1.04 us, within
the same error bounds.

How (float32): exp(x) = 2^n e^r with n = round(x / ln 2) and |r| <= ln 2 / 2 (Cody and Waite's
two-part ln 2 keeps r exact to the last bit). e^r is its degree-7 Taylor polynomial, whose first
omitted term is below 6e-9 relative. 2^n is the product of two powers of two built from
exponent bits, so every n from underflow to overflow stays representable: results below the
smallest normal number come out subnormal or 0, and above the largest finite one inf, as
libm's do. NaN in gives NaN out. Measured error: exp under 1 ulp, sigmoid and tanh under 2 ulp
(``tests/test_vmath.py``).

float64 keeps libm's functions: it is the precision of gradient checks and reference runs, where
the last ulp matters more than speed (tanh' = 1 - tanh^2 magnifies a 2-ulp tanh error 10^5-fold
near |x| = 7).

The functions are inlined into kernels' loops (``@overload``, one implementation per type).
Numba's on-disk cache checks only the file of the kernel it compiled, so
``_jit.forget_stale_cache`` discards every cached kernel when any kernel source changes.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from ._jit import FUSED_MULTIPLY_ADD_OPTIONS

_OVERLOAD_OPTIONS = {"cache": True, **FUSED_MULTIPLY_ADD_OPTIONS}


@intrinsic
def _pow2(typingctx, n):
    """2.0 ** n for an integral float n inside the normal exponent range: its exponent bits."""
    if n != types.float32:
        return None
    int_type, bias, mantissa_bits = ir.IntType(32), 127, 23

    def codegen(context, builder, signature, args):
        exponent = builder.fptosi(args[0], int_type)
        biased = builder.add(exponent, ir.Constant(int_type, bias))
        bits = builder.shl(biased, ir.Constant(int_type, mantissa_bits))
        return builder.bitcast(bits, context.get_value_type(n))

    return n(n), codegen


_ONE, _TWO, _HALF, _ZERO = np.float32(1), np.float32(2), np.float32(0.5), np.float32(0)
#: e^r's Taylor series to r^7, highest power first
_EXP_SERIES = tuple(np.float32(1 / math.factorial(k)) for k in range(7, -1, -1))
_LOG2E = np.float32(1 / math.log(2))
#: adding and subtracting 1.5 * 2^23 rounds a float32 to the nearest integer
_SHIFTER = np.float32(1.5 * 2.0**23)
#: ln 2 = _LN2_HI + _LN2_LO, _LN2_HI with trailing zero bits so that n * _LN2_HI is exact
_LN2_HI, _LN2_LO = np.float32(0.693145751953125), np.float32(1.428606765330187e-06)
#: exp is 0 below _LOWEST (2^-150) and inf above _HIGHEST: the clamp keeps n in range
_LOWEST, _HIGHEST = np.float32(-104.0), np.float32(89.8)


def _exp_float32(x):
    clamped = _LOWEST if not x > _LOWEST else (_HIGHEST if x > _HIGHEST else x)  # NaN: lowest
    n = (clamped * _LOG2E + _SHIFTER) - _SHIFTER  # round(x / ln 2), as a float
    r = (clamped - n * _LN2_HI) - n * _LN2_LO  # |r| <= ln 2 / 2, exact to the last bit
    p = _EXP_SERIES[0]
    for a in _EXP_SERIES[1:]:
        p = p * r + a
    low_half = np.floor(n * _HALF)  # 2^n = 2^low_half * 2^(n - low_half), both normal
    y = p * _pow2(low_half) * _pow2(n - low_half)
    return x if x != x else y


def vexp(x):
    """e^x, vectorisable in float32 (see the module docstring); libm's in float64."""
    return np.exp(x)


def _make_sigmoid(one):
    def sigmoid(x):
        # e^-|x| never overflows: 1 / (1 + e) for x >= 0 (PyTorch's formula), e / (1 + e)
        # below, which keeps the tail's relative precision; NaN: e is NaN, so is the result
        e = vexp(-abs(x))
        return one / (one + e) if x >= 0 else e / (one + e)

    return sigmoid


def vsigmoid(x):
    """1 / (1 + e^-x), vectorisable, without overflow for any x."""
    return 1 / (1 + np.exp(-x))


#: e^y - 1 is -1 to the last bit for y below this; the clamp keeps 2^n normal
_TANH_LOWEST = np.float32(-25 * math.log(2))
#: below this |x|, tanh x rounds to x (x^3 / 3 is under half an ulp); returning x keeps the
#: sign of -0 and NaN
_TANH_TINY = np.float32(2.0**-13)


def _tanh_float32(x):
    # tanh |x| = -m / (2 + m) with m = e^(-2|x|) - 1 <= 0, without cancellation near 0 because
    # m is computed as expm1 is: m = (2^n - 1) + 2^n (e^r - 1), with e^r - 1 = r q(r)
    a = abs(x)
    y = -_TWO * a
    clamped = _TANH_LOWEST if not y > _TANH_LOWEST else y
    n = (clamped * _LOG2E + _SHIFTER) - _SHIFTER
    r = (clamped - n * _LN2_HI) - n * _LN2_LO
    q = _EXP_SERIES[0]
    for c in _EXP_SERIES[1:-1]:
        q = q * r + c
    scale = _pow2(n)
    m = (scale - _ONE) + scale * (r * q)
    t = -m / (_TWO + m)
    signed = t if x > _ZERO else -t
    return x if not a >= _TANH_TINY else signed


def vtanh(x):
    """tanh x, vectorisable in float32 (under 2 ulp for every x); libm's in float64."""
    return np.tanh(x)


def _implement(stub, float32_version, float64_version) -> None:
    """Give ``stub`` its Numba implementations, one per float type (others: no match)."""

    @overload(stub, jit_options=_OVERLOAD_OPTIONS)
    def _by_type(x):
        if x == types.float32:
            return float32_version
        if x == types.float64:
            return float64_version
        return None


_implement(vexp, _exp_float32, lambda x: np.exp(x))
_implement(vsigmoid, _make_sigmoid(np.float32(1)), _make_sigmoid(np.float64(1)))
_implement(vtanh, _tanh_float32, lambda x: np.tanh(x))
