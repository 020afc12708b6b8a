"""Counter-based random numbers: Philox4x64-10, the same function as NumPy's ``Philox``.

Why counter-based: a stream generator hands out numbers in order, so when one draw
consumes a different amount of randomness (a count changed because a policy did), every
later draw of that stream shifts, and two scenarios run with the same seed stop sharing
their noise. Philox is instead a keyed bijection of a 256-bit *counter*: the numbers of a
decision are a pure function of (key, counter), where the counter names the decision
(stream, replicate, day, slot, …, see :mod:`forcegen.engine.counters`). Nothing drawn
elsewhere can move them.

:func:`philox` is plain Python on integers (the reference, and what the uncompiled
kernels run); inside Numba-compiled code the same name compiles to 64-bit unsigned
arithmetic with one 128-bit machine multiplication per product (registered with
``numba.extending.overload``; ~20 ns per call, i.e. per four numbers, as fast as
NumPy's C implementation on the development machine). Both are tested bit for bit
against ``numpy.random.Philox``: with ``Philox(counter=c, key=k)``, ``random_raw(4)``
returns ``philox(c + 1, k)`` (NumPy increments the counter before each block of four).

The algorithm (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
ten rounds of two 64×64→128-bit multiplications, each round's key bumped by the Weyl
constants. Counters and keys are passed as non-negative Python/NumPy integers below
2**64, or as int64 whose bits are the unsigned value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba.core import types
from numba.extending import intrinsic, overload

__all__ = ["philox", "unit"]

_MASK = (1 << 64) - 1
_M0, _M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157  # round multipliers
_W0, _W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B  # key increments (Weyl)
_ROUNDS = 10


def philox(c0: int, c1: int, c2: int, c3: int, k0: int, k1: int) -> tuple[int, int, int, int]:
    """Philox4x64-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``: four
    64-bit words (as non-negative integers; ``uint64`` when compiled)."""
    x0, x1, x2, x3 = (int(c) & _MASK for c in (c0, c1, c2, c3))
    key0, key1 = int(k0) & _MASK, int(k1) & _MASK
    for i in range(_ROUNDS):
        if i > 0:
            key0 = (key0 + _W0) & _MASK
            key1 = (key1 + _W1) & _MASK
        p0 = _M0 * x0
        p1 = _M1 * x2
        x0, x1, x2, x3 = (
            (p1 >> 64) ^ x1 ^ key0,
            p1 & _MASK,
            (p0 >> 64) ^ x3 ^ key1,
            p0 & _MASK,
        )
    return x0, x1, x2, x3


_U_M0, _U_M1 = np.uint64(_M0), np.uint64(_M1)
_U_W0, _U_W1 = np.uint64(_W0), np.uint64(_W1)


def _mulhilo_typer(typingctx: Any, a: Any, b: Any) -> Any:  # pragma: no cover
    """High and low 64 bits of the 128-bit product of two uint64: one machine
    multiplication (LLVM ``i128``), as the C implementation does."""
    pair: Any = types.UniTuple
    sig = pair(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        wide = ir.IntType(128)
        prod = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(prod, ir.Constant(wide, 64)), ir.IntType(64))
        lo = builder.trunc(prod, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


_mulhilo: Any = intrinsic(_mulhilo_typer)


@overload(philox, jit_options={"inline": "always"})
def _philox_compiled(c0: Any, c1: Any, c2: Any, c3: Any, k0: Any, k1: Any) -> Any:
    def impl(c0: Any, c1: Any, c2: Any, c3: Any, k0: Any, k1: Any) -> Any:  # pragma: no cover
        x0, x1, x2, x3 = np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3)
        key0, key1 = np.uint64(k0), np.uint64(k1)
        for i in range(_ROUNDS):
            if i > 0:
                key0 = key0 + _U_W0
                key1 = key1 + _U_W1
            hi0, lo0 = _mulhilo(_U_M0, x0)
            hi1, lo1 = _mulhilo(_U_M1, x2)
            x0, x1, x2, x3 = hi1 ^ x1 ^ key0, lo1, hi0 ^ x3 ^ key1, lo0
        return x0, x1, x2, x3

    return impl


def unit(x: int) -> float:
    """A 64-bit word as a uniform number in (0, 1): its top 52 bits plus one half,
    over 2**52 — exactly representable, never 0 or 1 (so inverse distribution
    functions stay finite), and the same in Python and compiled code."""
    return ((int(x) >> 12) + 0.5) * (1.0 / 4503599627370496.0)


_S12 = np.uint64(12)


@overload(unit, jit_options={"inline": "always"})
def _unit_compiled(x: Any) -> Any:
    def impl(x: Any) -> Any:  # pragma: no cover
        return (float(x >> _S12) + 0.5) * (1.0 / 4503599627370496.0)

    return impl
