"""Which random numbers a decision uses, and how one uniform becomes a count.

Every random decision of the stochastic mode reads uniforms from
:func:`forcegen.engine.philox.philox` at a counter that names the decision::

    key     = SeedSequence(seed, spawn_key=(COUNTER_DOMAIN,)).generate_state(2, uint64)
    counter = (family << 56 | sub << 32 | index,   # what, within the draw (slot, …)
               day + 1,                            # 0: before the first day
               replicate,                          # global: block * BLOCK_SIZE + row
               crc32(stream name) | call << 32)    # call: earlier uses of the name today

so a draw's numbers depend on nothing drawn before it: not on other replicates, other
days, other streams, or how many numbers an earlier draw of the same stream consumed.
Two scenarios run with the same seed therefore share the numbers of every decision they
have in common (common random numbers), whatever their counts.

Counts are drawn by inversion — one uniform per count, through the inverse distribution
function — so that the count is a non-decreasing function of its parameter at a fixed
uniform: a slightly higher probability gives the same or a slightly higher count, never
an unrelated one. Exactly (sequential search of the distribution function) while the
variance is below :data:`APPROX_VARIANCE`; above it, the moment-matched second-order
Cornish–Fisher normal approximation :func:`approx_binomial` at ``z = Φ⁻¹(u)``, so still
one uniform and still monotone.

Functions here are plain Python and also compile with Numba (``register_jitable``).
"""

from __future__ import annotations

import math
import zlib
from functools import cache
from typing import Any

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from forcegen.engine.philox import philox, unit

__all__ = [
    "APPROX_VARIANCE",
    "COUNTER_DOMAIN",
    "Z_LIMIT",
    "approx_binomial",
    "approx_poisson",
    "binomial_inv",
    "binomials",
    "compile_counters",
    "counter_key",
    "multinomial",
    "ndtri",
    "poisson_inv",
    "poissons",
    "stream_id",
    "uniforms",
]

COUNTER_DOMAIN = 3
"""Spawn key of the Philox key, apart from the parameter and transition domains of
:mod:`forcegen.engine.streams`."""

APPROX_VARIANCE = 10.0
"""Variance (people²) from which :func:`binomial_inv` draws from a moment-matched normal
approximation instead of exactly; at and above it the approximation's distribution
function is within 4e-4 of the binomial's (tested over the whole ``p`` range)."""

Z_LIMIT = 7.0
"""Normal deviates beyond ±7 (probability 2.6e-12) are clipped, which keeps the
Cornish–Fisher polynomial increasing wherever it is used."""


@register_jitable(inline="always")
def approx_binomial(n: float, p: float, z: float) -> float:
    """The binomial count (people, as a float) that the normal approximation of
    :func:`binomial_inv` gives ``n`` people moving with probability ``p`` each, for the
    standard normal deviate ``z``.

    Meant for ``n p (1 - p) >= APPROX_VARIANCE``; smaller variances are raised to that
    level, so the function can run branch-free over slots whose result is then unused.
    """
    q = 1.0 - p
    var = max(n * p * q, APPROX_VARIANCE)
    sd = math.sqrt(var)
    u = 1.0 / sd
    u2 = u * u
    # The expansion as (1 + c) Z + b Z³ + a (Z² - 1), with a = γ/6, b = κ/24 - γ²/18,
    # c = 5γ²/36 - κ/8, γ = A u, κ = K u²: A and K depend on p only (hoisted out of
    # loops over slots), so a = a1 u, b = b2 u², c = c2 u².
    a1 = (1.0 - 2.0 * p) / 6.0
    k = 1.0 - 6.0 * p * q
    b2 = k / 24.0 - 2.0 * a1 * a1
    c2 = 5.0 * a1 * a1 - k / 8.0
    # Its variance is 1 + e u⁴ (the u² terms cancel), and rounding adds ~1/12
    # (Sheppard's correction): the scale s = sd sqrt((1 - u²/12) / (1 + e u⁴)), expanded
    # to second order in u² (relative error < 1e-7 from variance 10 up).
    e = c2 * c2 + 6.0 * b2 * c2 + 15.0 * b2 * b2
    s = sd * (1.0 - u2 * (1.0 / 24.0 + u2 * (1.0 / 1152.0 + e / 2.0)))
    z = min(max(z, -Z_LIMIT), Z_LIMIT)
    z2 = z * z
    poly = ((1.0 + c2 * u2) + b2 * u2 * z2) * z + a1 * u * (z2 - 1.0)
    x = math.floor(n * p + 0.5 + s * poly)
    return min(max(x, 0.0), n)


def counter_key(seed: int) -> tuple[int, int]:
    """The two 64-bit words of the Philox key of a run seeded with ``seed``, as int64
    (the bits of the unsigned words), ready for the compiled kernels."""
    words = np.random.SeedSequence(entropy=seed, spawn_key=(COUNTER_DOMAIN,)).generate_state(
        2, np.uint64
    )
    k0, k1 = words.view(np.int64)
    return int(k0), int(k1)


@cache
def stream_id(name: str, call: int = 0) -> int:
    """The counter word naming stream ``name`` on its ``call``-th use of a day:
    ``crc32(name) | call << 32`` (crc32 is stable across processes and Python
    versions, unlike ``hash()``)."""
    return zlib.crc32(name.encode("utf-8")) | (call << 32)


# Acklam's rational approximation of Φ⁻¹: central region, then the tails.
_A = (-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690)
_A4, _A5 = -30.66479806614716, 2.506628277459239
_B = (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972)
_B4 = -13.28068155288572
_C = (-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734)
_C4, _C5 = 4.374664141464968, 2.938163982698783
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_TAIL = 0.02425


@register_jitable
def ndtri(u: float) -> float:
    """Φ⁻¹(u), the standard normal quantile, for ``u`` in (0, 1): P. J. Acklam's
    rational approximation (relative error below 1.2e-9, absolute below 1e-8; tested
    against SciPy's ``ndtri``), rational functions only away from the tails. The
    upper tail is the mirror of the lower one (``1 - u`` is exact there)."""
    if _TAIL <= u <= 1.0 - _TAIL:
        q = u - 0.5
        r = q * q
        num = ((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A4) * r + _A5
        den = ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B4) * r + 1.0
        return num * q / den
    lower = u < _TAIL
    t = math.sqrt(-2.0 * math.log(u if lower else 1.0 - u))
    num = ((((_C[0] * t + _C[1]) * t + _C[2]) * t + _C[3]) * t + _C4) * t + _C5
    den = (((_D[0] * t + _D[1]) * t + _D[2]) * t + _D[3]) * t + 1.0
    return num / den if lower else -num / den


@register_jitable(inline="always")
def uniforms(
    k0: int, k1: int, stream: int, day: int, rep: int, family: int, sub: int, index: int
) -> tuple[float, float, float, float]:
    """The four uniforms in (0, 1) at one counter (see the module docstring)."""
    w0, w1, w2, w3 = philox((family << 56) | (sub << 32) | index, day, rep, stream, k0, k1)
    return unit(w0), unit(w1), unit(w2), unit(w3)


@register_jitable
def _binomial_search(n: int, p: float, u: float) -> int:
    """The smallest ``k`` with P(Binomial(n, p) <= k) >= u, ``0 < p <= 1/2``, by
    sequential search from 0 (the mean is below 2·APPROX_VARIANCE here)."""
    q = 1.0 - p
    pk = math.exp(n * math.log1p(-p))
    cdf = pk
    k = 0
    ratio = p / q
    while cdf < u and k < n:
        pk *= (n - k) / (k + 1.0) * ratio
        k += 1
        cdf += pk
        if pk == 0.0 and k > n * p:  # rounding left the sum just below u: the tail is empty
            break
    return k


@register_jitable
def binomial_inv(n: int, p: float, u: float) -> int:
    """How many of ``n`` people move when each does with probability ``p`` (people),
    from one uniform ``u`` in (0, 1): the binomial's inverse distribution function at
    ``u`` while its variance ``σ² = n p (1 - p)`` is below :data:`APPROX_VARIANCE`.

    At and above it (the dense age slots of large forces, where an exact draw would
    make the cost grow with headcount) the count is the second-order Cornish–Fisher
    expansion of the binomial quantile at ``Z = Φ⁻¹(u)``, rounded:
    ``floor(np + 1/2 + s (Z + γ (Z² - 1)/6 + κ (Z³ - 3Z)/24 - γ² (2Z³ - 5Z)/36))`` with
    the binomial's skewness ``γ`` and excess kurtosis ``κ``, and ``s`` chosen so that
    the variance matches (:func:`approx_binomial`). Mean and variance agree with the
    binomial's to ~1e-5, the distribution function to within 3.5e-4 at σ² = 10, falling
    as 1/σ³; ``tests/engine/test_kernels.py`` computes these bounds exactly.
    Non-decreasing in ``u``, and in ``p`` at a fixed ``u``."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n * p * (1.0 - p) >= APPROX_VARIANCE:
        return int(approx_binomial(float(n), p, ndtri(u)))
    if p > 0.5:  # search the shorter side: n - Binomial(n, 1 - p) at 1 - u
        return n - _binomial_search(n, 1.0 - p, 1.0 - u)
    return _binomial_search(n, p, u)


@register_jitable
def approx_poisson(lam: float, z: float) -> float:
    """Second-order Cornish–Fisher Poisson count at normal deviate ``z``: the binomial
    expansion of :func:`approx_binomial` in its limit ``p → 0`` (skewness
    ``1/√λ``, excess kurtosis ``1/λ``), meant for ``λ >= APPROX_VARIANCE``."""
    var = max(lam, APPROX_VARIANCE)
    sd = math.sqrt(var)
    u = 1.0 / sd
    u2 = u * u
    a1 = 1.0 / 6.0
    b2 = 1.0 / 24.0 - 2.0 * a1 * a1
    c2 = 5.0 * a1 * a1 - 1.0 / 8.0
    e = c2 * c2 + 6.0 * b2 * c2 + 15.0 * b2 * b2
    s = sd * (1.0 - u2 * (1.0 / 24.0 + u2 * (1.0 / 1152.0 + e / 2.0)))
    z = min(max(z, -Z_LIMIT), Z_LIMIT)
    z2 = z * z
    poly = ((1.0 + c2 * u2) + b2 * u2 * z2) * z + a1 * u * (z2 - 1.0)
    return max(math.floor(lam + 0.5 + s * poly), 0.0)


@register_jitable
def poisson_inv(lam: float, u: float) -> int:
    """Arrivals when ``lam`` are expected (people), from one uniform ``u``: the Poisson
    inverse distribution function below :data:`APPROX_VARIANCE`, the Cornish–Fisher
    approximation at ``Φ⁻¹(u)`` from there. Non-decreasing in ``u`` and ``lam``."""
    if not lam > 0.0:
        return 0
    if lam >= APPROX_VARIANCE:
        return int(approx_poisson(lam, ndtri(u)))
    pk = math.exp(-lam)
    cdf = pk
    k = 0
    while cdf < u:
        k += 1
        pk *= lam / k
        cdf += pk
        if pk == 0.0 and k > lam:
            break
    return k


# ------------------------------------------------------------------ vector draws
def binomials_python(
    k0: int,
    k1: int,
    stream: int,
    day: int,
    rep0: int,
    n: NDArray[np.int64],
    p: NDArray[np.float64],
    out: NDArray[np.int64],
    cols: int = 1,
) -> None:
    """``out[i] = binomial_inv(n[i], p[i], u_i)`` for the flattened ``(rows, cols)``
    counts: ``u_i`` is the first uniform at index ``i % cols`` of replicate
    ``rep0 + i // cols`` (uncompiled reference of :func:`binomials`)."""
    for i in range(n.size):
        u = uniforms(k0, k1, stream, day, rep0 + i // cols, 0, 0, i % cols)[0]
        out[i] = binomial_inv(n[i], p[i], u)


def poissons_python(
    k0: int,
    k1: int,
    stream: int,
    day: int,
    rep0: int,
    lam: NDArray[np.float64],
    out: NDArray[np.int64],
    cols: int = 1,
) -> None:
    """``out[i] = poisson_inv(lam[i], u_i)``, keyed as in :func:`binomials_python`
    (uncompiled reference of :func:`poissons`)."""
    for i in range(lam.size):
        u = uniforms(k0, k1, stream, day, rep0 + i // cols, 0, 0, i % cols)[0]
        out[i] = poisson_inv(lam[i], u)


def multinomial_python(
    k0: int,
    k1: int,
    stream: int,
    day: int,
    rep: int,
    n: int,
    shares: NDArray[np.float64],
    out: NDArray[np.int64],
) -> None:
    """``n`` people over ``shares.size`` slots, slot ``k`` with probability
    ``shares[k]`` (summing to 1): conditional binomials in slot order, slot ``k``'s
    from the uniform at index ``k`` (uncompiled reference of :func:`multinomial`)."""
    left = n
    mass = 1.0
    last = shares.size - 1
    for k in range(shares.size):
        if left <= 0:
            out[k] = 0
            continue
        if k == last:
            out[k] = left
            break
        share = shares[k] / mass if mass > 0.0 else 1.0
        u = uniforms(k0, k1, stream, day, rep, 0, 0, k)[0]
        x = binomial_inv(left, min(max(share, 0.0), 1.0), u)
        out[k] = x
        left -= x
        mass -= shares[k]


@cache
def _compiled(name: str) -> Any:
    import numba

    source = {
        "binomials": binomials_python,
        "poissons": poissons_python,
        "multinomial": multinomial_python,
    }[name]
    return numba.njit(cache=True, nogil=True, error_model="numpy")(source)


def binomials(
    key: tuple[int, int],
    stream: int,
    day: int,
    rep0: int,
    n: NDArray[Any],
    p: NDArray[Any] | float,
    *,
    compiled: bool = True,
) -> NDArray[np.int64]:
    """Binomial counts (broadcast ``n`` and ``p``), each from its own counter: the first
    axis is the replicate row, the others (e.g. age slots) the index within it, so that
    element ``[r, j]`` reads the same uniform whatever the other elements hold (see
    :func:`binomials_python`). Keeps the broadcast shape."""
    nn, pp = np.asarray(n), np.asarray(p, dtype=np.float64)
    if nn.shape == pp.shape:  # the daily step's draws mostly have equal shapes already
        n64, p64 = _flat(nn, np.int64), _flat(pp, np.float64)
    else:  # copies: broadcast views are read-only
        nn, pp = np.broadcast_arrays(nn, pp)
        n64, p64 = np.array(nn, dtype=np.int64).ravel(), np.array(pp, dtype=np.float64).ravel()
    shape = nn.shape
    out = np.empty(n64.size, dtype=np.int64)  # every element is written
    fn = _compiled("binomials") if compiled else binomials_python
    fn(key[0], key[1], stream, day, rep0, n64, p64, out, _columns(shape))
    return out.reshape(shape)


def _flat(values: NDArray[Any], dtype: type[np.int64] | type[np.float64]) -> NDArray[Any]:
    """``values`` as a flat, contiguous, writeable array of ``dtype``: the array itself
    where it already is one (the kernels only read it), else a copy (Numba would
    compile another version for read-only arrays)."""
    flat = np.ascontiguousarray(values, dtype=dtype)
    return (flat if flat.flags.writeable else flat.copy()).ravel()


def _columns(shape: tuple[int, ...]) -> int:
    """Elements per replicate row of an array of ``shape`` (1 for a vector)."""
    return max(math.prod(shape[1:]), 1) if len(shape) > 1 else 1


def poissons(
    key: tuple[int, int],
    stream: int,
    day: int,
    rep0: int,
    lam: NDArray[Any] | float,
    *,
    compiled: bool = True,
) -> NDArray[np.int64]:
    """Poisson counts, each from its own counter, keyed by replicate row and index
    within it as in :func:`binomials`."""
    arr = np.asarray(lam, dtype=np.float64)
    flat = _flat(arr, np.float64)
    out = np.empty(flat.size, dtype=np.int64)  # every element is written
    fn = _compiled("poissons") if compiled else poissons_python
    fn(key[0], key[1], stream, day, rep0, flat, out, _columns(arr.shape))
    return out.reshape(arr.shape)


def multinomial(
    key: tuple[int, int],
    stream: int,
    day: int,
    rep: int,
    n: int,
    shares: NDArray[np.float64],
    *,
    compiled: bool = True,
) -> NDArray[np.int64]:
    """``n`` people over slots in proportion to ``shares`` for replicate ``rep``."""
    out = np.zeros(shares.size, dtype=np.int64)
    if shares.size == 0:
        return out
    fn = _compiled("multinomial") if compiled else multinomial_python
    fn(key[0], key[1], stream, day, rep, int(n), np.ascontiguousarray(shares, np.float64), out)
    return out


def compile_counters() -> None:
    """Compile (or load from the on-disk cache) the vector draws now."""
    key = counter_key(0)
    binomials(key, 0, 0, 0, np.ones(1, dtype=np.int64), 0.5)
    poissons(key, 0, 0, 0, np.ones(1))
    multinomial(key, 0, 0, 0, 1, np.ones(2) / 2)
