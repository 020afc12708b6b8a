"""Compiled inner loop of the stochastic mode: daily exits and returns by age slot.

Why this exists: the engine keeps one slot per day of service, and every day each
slot's people may leave. Drawing one NumPy binomial per (slot, replicate) costs
25–45 ns even when nobody moves, which made the engine ~30× slower than drawing one
binomial per transition. Here each replicate's slots are walked once and the people who
move are found by *geometric skipping*: among people who each move independently with
the same daily probability ``p``, the number passed over before the next mover is
Geometric(``p``). Work is then ~1 ns per slot plus ~15 ns per person who moves.

Exactness: the skip drawn at a mover covers the following people whatever slot they sit
in; when ``p`` changes (a new hazard segment) or a slot is drawn densely, the residual
skip is discarded and a fresh one drawn, which is exact because the geometric law is
memoryless. Where many people in one slot move (expected movers ≥ :data:`DENSE`), the
slot is drawn with exact binomials instead. Where a slot's binomials reach a variance
of :data:`APPROX_VARIANCE` (10 people²) — large forces — they are drawn from a
moment-matched normal approximation (:func:`binomial`, distribution function within
4e-4 of the binomial's), all such slots of a replicate in one vectorised pass; this is
what keeps the cost per slot bounded, and small, whatever the headcount. Whether a
mover's cause is the one that keeps their age slot (wounded who will return) is drawn
per mover; the other causes are split per segment by a multinomial draw, since only
their totals are recorded.

:func:`exits_python` is plain, typed Python; :func:`exits` compiles it with Numba on
first use (cached on disk), and the tests also run the uncompiled version. This module
imports Numba, so :mod:`forcegen.engine.draws` imports it only when drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

__all__ = [
    "APPROX_VARIANCE",
    "DENSE",
    "Z_LIMIT",
    "approx_binomial",
    "binomial",
    "compile_kernels",
    "exits",
    "exits_python",
    "skip_scale",
    "stocks",
    "stocks_python",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

DENSE = 4.0
"""Expected movers (people) in one slot from which the slot is drawn with binomials."""


APPROX_VARIANCE = 10.0
"""Variance (people²) from which :func:`binomial` draws from a moment-matched normal
approximation instead of exactly; at and above it the approximation's distribution
function is within 4e-4 of the binomial's (tested over the whole ``p`` range)."""

Z_LIMIT = 7.0
"""Normal deviates beyond ±7 (probability 2.6e-12) are clipped, which keeps the
Cornish–Fisher polynomial increasing wherever it is used."""


@register_jitable(inline="always")
def approx_binomial(n: float, p: float, z: float) -> float:
    """The binomial count (people, as a float) that the normal approximation of
    :func:`binomial` gives ``n`` people moving with probability ``p`` each, for the
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


@register_jitable(inline="always")
def binomial(gen: np.random.Generator, n: int, p: float) -> int:
    """How many of ``n`` people move when each does with probability ``p`` (people).

    Exact (``Generator.binomial``) while the variance ``σ² = n p (1 - p)`` is below
    :data:`APPROX_VARIANCE`. At and above it — the dense age slots of large forces — an
    exact draw costs 60–80 ns against ~3 ns for a normal deviate, and would make the
    engine's cost grow with headcount. There the count is the second-order
    Cornish–Fisher expansion of the binomial quantile at a standard normal ``Z``,
    rounded: ``floor(np + 1/2 + s (Z + γ (Z² - 1)/6 + κ (Z³ - 3Z)/24 - γ² (2Z³ - 5Z)/36))``
    with the binomial's skewness ``γ`` and excess kurtosis ``κ``, and ``s`` chosen so
    that the variance matches (:func:`approx_binomial`). Mean and variance agree with
    the binomial's to ~1e-5, the distribution function to within 3.5e-4 at σ² = 10,
    falling as 1/σ³ (8.6e-5 at 25, 1.1e-5 at 100); ``tests/engine/test_kernels.py``
    computes these bounds exactly.
    """
    if n * p * (1.0 - p) < APPROX_VARIANCE:
        return gen.binomial(n, p)
    return int(approx_binomial(float(n), p, gen.standard_normal()))


@register_jitable
def dense_from(p: float) -> float:
    """People from whom a Binomial(people, ``p``) has variance :data:`APPROX_VARIANCE`
    or more (infinite where ``p`` is 0 or 1)."""
    var = p * (1.0 - p)
    return APPROX_VARIANCE / var if var > 0.0 else math.inf


@register_jitable
def skip_scale(p: float) -> float:
    """``c`` such that ``floor(c * E)``, ``E ~ Exp(1)``, is Geometric(``p``): how many
    people are passed over before the next one who moves; infinite where ``p <= 0``
    (nobody moves) and 0 where ``p >= 1`` (everybody does)."""
    if p <= 0.0:
        return math.inf
    if p >= 1.0:
        return 0.0
    return -1.0 / math.log1p(-p)


def exits_python(
    gen_back: np.random.Generator,
    gen_exit: np.random.Generator,
    svc: IntArray,
    rec: IntArray,
    start: int,
    segment: IntArray,
    probs: FloatArray,
    keep: int,
    recovery: FloatArray,
    back_total: IntArray,
    kept_total: IntArray,
    by_cause: IntArray,
) -> None:
    """Returns from recovery and exits from service for one day, then a day of ageing,
    applied in place (uncompiled reference of :func:`exits`).

    Both are drawn from the start-of-day numbers in slots ``start`` and above: each of
    the ``rec[r, a]`` recovering people returns to ``svc[r, a]`` with probability
    ``recovery[r]``; each of the ``svc[r, a]`` people leaves with probability
    ``min(sum_k probs[r, g, k], 1)``, ``g = segment[r, a]``, for cause ``k`` in
    proportion to ``probs[r, g, k]``. Those leaving for cause ``keep`` move to
    ``rec[r, a]`` (they keep their age); the others leave the channel. Then everyone
    moves one slot up; the last slot keeps its people and gains the next-to-last's.

    Args:
        gen_back: Random stream of returns.
        gen_exit: Random stream of exits.
        svc: People in service per age slot ``(R, S)``; updated.
        rec: People recovering per age slot ``(R, S)``; updated.
        start: First slot where anyone can leave or return.
        segment: Hazard segment of each slot ``(R, S)``, indexing ``probs``' axis 1.
        probs: Daily probability of leaving by cause ``(R, G, K)``.
        keep: The cause whose leavers go to recovery.
        recovery: Daily probability of returning ``(R,)``, in [0, 1].
        back_total: Output ``(R,)``: people returning.
        kept_total: Output ``(R,)``: people leaving for cause ``keep``.
        by_cause: Output ``(R, K)``, zeros: people leaving, by cause (``keep`` included).
    """
    runs, slots = svc.shape
    groups, causes = probs.shape[1], probs.shape[2]
    rest = np.zeros(groups, dtype=np.int64)  # leavers for causes other than keep
    leave = np.zeros(groups)  # daily probability of leaving, min(sum_k probs, 1)
    keep_share = np.zeros(groups)  # of those leaving, the share for cause keep
    p_keep = np.zeros(groups)  # leaving for cause keep
    p_other = np.zeros(groups)  # leaving for another cause, given not for keep
    # skip_scale() of p_keep and p_other.
    scale_keep = np.zeros(groups)
    scale_other = np.zeros(groups)
    dense_exit_from = np.zeros(groups)  # people in a slot from which exits are dense
    # Per slot, reused for every replicate: whether its returns (exits) are drawn from
    # the normal approximation, the normal deviates, and the approximate counts.
    dense_back = np.zeros(slots, dtype=np.bool_)
    dense_exit = np.zeros(slots, dtype=np.bool_)
    m_back = np.zeros(slots)
    m_exit = np.zeros(slots)
    z_back = np.zeros(slots)
    z_keep = np.zeros(slots)
    z_other = np.zeros(slots)
    back_of = np.zeros(slots)
    kept_of = np.zeros(slots)
    other_of = np.zeros(slots)
    for r in range(runs):
        p_back = recovery[r]
        scale_back = skip_scale(p_back)
        for g in range(groups):
            rest[g] = 0
            total = 0.0
            for k in range(causes):
                total += probs[r, g, k]
            leave[g] = min(total, 1.0)
            keep_share[g] = min(probs[r, g, keep] / total, 1.0) if total > 0.0 else 0.0
            p_keep[g] = keep_share[g] * leave[g]
            p_other[g] = (leave[g] - p_keep[g]) / (1.0 - p_keep[g]) if p_keep[g] < 1.0 else 0.0
            scale_keep[g] = skip_scale(p_keep[g])
            scale_other[g] = skip_scale(p_other[g])
            # Both thinnings' expected variances reach the threshold from this many.
            dense_exit_from[g] = max(
                dense_from(p_keep[g]),
                dense_from(p_other[g]) / (1.0 - p_keep[g]) if p_keep[g] < 1.0 else math.inf,
            )

        dense_back_from = dense_from(p_back)
        any_dense = False
        # People still to pass over before the next mover, kept unrounded: its floor
        # is the Geometric(p) count, and comparisons with whole numbers of people
        # give the same answers on the unrounded value (no overflow for tiny p).
        skip_back = gen_back.standard_exponential() * scale_back
        current = -1  # segment of the pending exit skips; -1: none drawn yet
        skip_keep = 0.0
        skip_other = 0.0
        returned = 0
        kept_sum = 0
        for a in range(start, slots):
            # Returns: each recovering person with probability p_back.
            m = rec[r, a]
            back = 0
            # Slots where a binomial's variance reaches APPROX_VARIANCE are only marked
            # here, with their start-of-day numbers, and drawn after this loop.
            dense_back[a] = m >= dense_back_from
            if dense_back[a]:
                m_back[a] = m
                any_dense = True
            elif m > 0 and p_back > 0.0:
                if m * p_back >= DENSE or p_back >= 1.0:
                    back = binomial(gen_back, m, p_back)
                else:
                    while skip_back < m:
                        m -= int(skip_back) + 1
                        back += 1
                        skip_back = gen_back.standard_exponential() * scale_back
                    skip_back -= m
            # Exits: a person leaves for cause keep with probability p_keep, else for
            # another cause with probability p_other: two thinnings in sequence. Dense
            # when both thinnings' expected variances reach the threshold.
            m = svc[r, a]
            out = 0
            kept = 0
            g = segment[r, a]
            p = leave[g]
            dense_exit[a] = m >= dense_exit_from[g]
            if dense_exit[a]:
                m_exit[a] = m
                any_dense = True
                current = -1
            elif m > 0 and p > 0.0:
                if m * p >= DENSE or p >= 1.0:
                    # Binomials for the leavers and the kept cause.
                    out = binomial(gen_exit, m, p)
                    if out > 0:
                        kept = binomial(gen_exit, out, keep_share[g])
                    current = -1
                else:
                    # Geometric skipping over the people of sparse slots.
                    if current != g:
                        current = g
                        skip_keep = gen_exit.standard_exponential() * scale_keep[g]
                        skip_other = gen_exit.standard_exponential() * scale_other[g]
                    stay = m
                    while skip_keep < stay:
                        stay -= int(skip_keep) + 1
                        kept += 1
                        skip_keep = gen_exit.standard_exponential() * scale_keep[g]
                    skip_keep -= stay
                    stay = m - kept
                    while skip_other < stay:
                        stay -= int(skip_other) + 1
                        out += 1
                        skip_other = gen_exit.standard_exponential() * scale_other[g]
                    skip_other -= stay
                    out += kept
            if back > 0 or out > 0:  # usually nobody moves in a sparse slot
                rest[g] += out - kept
                kept_sum += kept
                returned += back
                svc[r, a] += back - out
                rec[r, a] += kept - back

        if any_dense:
            # The dense slots: normal deviates first, then the approximate counts in
            # loops without branches (which the compiler vectorises), then applied.
            for a in range(start, slots):
                if dense_back[a]:
                    z_back[a] = gen_back.standard_normal()
                if dense_exit[a]:
                    z_keep[a] = gen_exit.standard_normal()
                    z_other[a] = gen_exit.standard_normal()
            for a in range(start, slots):
                back_of[a] = approx_binomial(m_back[a], p_back, z_back[a])
            # Run by run of slots in one segment, so that the inner loop vectorises.
            a = start
            while a < slots:
                g = segment[r, a]
                end = a + 1
                while end < slots and segment[r, end] == g:
                    end += 1
                pk, po = p_keep[g], p_other[g]
                for i in range(a, end):
                    kept_f = approx_binomial(m_exit[i], pk, z_keep[i])
                    kept_of[i] = kept_f
                    other_of[i] = approx_binomial(m_exit[i] - kept_f, po, z_other[i])
                a = end
            for a in range(start, slots):
                back = 0
                if dense_back[a]:
                    back = int(back_of[a])
                out = 0
                kept = 0
                if dense_exit[a]:
                    g = segment[r, a]
                    kept = int(kept_of[a])
                    remaining = int(m_exit[a]) - kept
                    if remaining * p_other[g] * (1.0 - p_other[g]) >= APPROX_VARIANCE:
                        out = kept + int(other_of[a])
                    else:  # rare: the draw of kept left too few for the approximation
                        out = kept + gen_exit.binomial(remaining, p_other[g])
                    rest[g] += out - kept
                kept_sum += kept
                returned += back
                svc[r, a] += back - out
                rec[r, a] += kept - back
        back_total[r] = returned
        # Ageing: everyone is a day older; the last slot (the tail) accumulates.
        if slots >= 2:
            svc[r, slots - 1] += svc[r, slots - 2]
            rec[r, slots - 1] += rec[r, slots - 2]
            for a in range(slots - 2, 0, -1):
                svc[r, a] = svc[r, a - 1]
                rec[r, a] = rec[r, a - 1]
            svc[r, 0] = 0
            rec[r, 0] = 0
        kept_total[r] = kept_sum
        by_cause[r, keep] += kept_sum
        # Leavers for the other causes, split by conditional binomials (a multinomial
        # draw per segment).
        for g in range(groups):
            left_people = rest[g]
            if left_people <= 0:
                continue
            left_p = -probs[r, g, keep]
            for k in range(causes):
                left_p += probs[r, g, k]
            last = causes - 1 if keep != causes - 1 else causes - 2
            for k in range(causes):
                if k == keep:
                    continue
                if k == last or left_p <= 0.0:
                    by_cause[r, k] += left_people
                    break
                x = binomial(gen_exit, left_people, min(max(probs[r, g, k] / left_p, 0.0), 1.0))
                by_cause[r, k] += x
                left_people -= x
                left_p -= probs[r, g, k]


def stocks_python(
    svc: NDArray[Any],
    rec: NDArray[Any],
    training_days: IntArray,
    training: NDArray[Any],
    deployed: NDArray[Any],
    recovering: NDArray[Any],
) -> None:
    """End-of-day stocks per replicate, people (uncompiled reference of :func:`stocks`).

    Args:
        svc: People in service per age slot ``(R, S)``.
        rec: People recovering per age slot ``(R, S)``.
        training_days: Training length per replicate ``(R,)``: slots below it train.
        training: Output ``(R,)``: people in training.
        deployed: Output ``(R,)``: people in service past their training.
        recovering: Output ``(R,)``: people recovering.
    """
    runs, slots = svc.shape
    for r in range(runs):
        in_training = svc[r, 0] * 0
        in_service = svc[r, 0] * 0
        in_recovery = rec[r, 0] * 0
        cut = min(training_days[r], slots)
        for a in range(slots):
            if a < cut:
                in_training += svc[r, a]
            else:
                in_service += svc[r, a]
            in_recovery += rec[r, a]
        training[r] = in_training
        deployed[r] = in_service
        recovering[r] = in_recovery


def stocks(
    svc: NDArray[Any], rec: NDArray[Any], training_days: IntArray
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any]]:
    """End-of-day stocks per replicate: in training, deployed, recovering (people; the
    arrays' element type). One compiled pass instead of three NumPy reductions."""
    out = tuple(np.zeros(svc.shape[0], dtype=svc.dtype) for _ in range(3))
    _compiled_stocks()(svc, rec, np.ascontiguousarray(training_days, dtype=np.int64), *out)
    return out[0], out[1], out[2]


@cache
def _compiled_stocks() -> Callable[..., None]:
    import numba

    compiled: Callable[..., None] = numba.njit(cache=True, nogil=True)(stocks_python)
    return compiled


@cache
def _compiled() -> Callable[..., None]:
    # Compiled on first use (then cached on disk), not at import.
    import numba

    compiled: Callable[..., None] = numba.njit(cache=True, nogil=True, error_model="numpy")(
        exits_python
    )
    return compiled


def exits(
    gen_back: np.random.Generator,
    gen_exit: np.random.Generator,
    svc: IntArray,
    rec: IntArray,
    start: int,
    segment: IntArray,
    probs: FloatArray,
    keep: int,
    recovery: FloatArray,
    *,
    compiled: bool = True,
) -> tuple[IntArray, IntArray, IntArray]:
    """Returns from recovery and exits from service for one day, then a day of ageing,
    applied to ``svc`` and ``rec`` in place (compiled; see :func:`exits_python`).

    ``compiled=False`` runs the same code uncompiled (slow; for tests).

    Returns:
        ``(returned, kept, by_cause)``: people returning ``(R,)``, people leaving for
        cause ``keep`` (into recovery) ``(R,)``, and people leaving by cause ``(R, K)``.
    """
    runs = svc.shape[0]
    returned = np.zeros(runs, dtype=np.int64)
    kept = np.zeros(runs, dtype=np.int64)
    by_cause = np.zeros((runs, probs.shape[2]), dtype=np.int64)
    args: tuple[Any, ...] = (
        gen_back,
        gen_exit,
        svc,
        rec,
        start,
        np.ascontiguousarray(segment, dtype=np.int64),
        np.ascontiguousarray(probs, dtype=np.float64),
        keep,
        np.clip(np.asarray(recovery, dtype=np.float64), 0.0, 1.0),
        returned,
        kept,
        by_cause,
    )
    (_compiled() if compiled else exits_python)(*args)
    return returned, kept, by_cause


def compile_kernels() -> None:
    """Compile (or load from the on-disk cache) every kernel for the element types the
    engine uses, now rather than on first use: a few seconds the first time on a
    machine, ~0.3 s afterwards. Useful before timing, or before starting processes
    that would otherwise each compile on their first simulation."""
    one = np.ones((1, 2), dtype=np.int64)
    gen = np.random.default_rng(0)
    exits(gen, gen, one, one.copy(), 0, np.zeros_like(one), np.zeros((1, 1, 2)), 1, np.zeros(1))
    for dtype in (np.int64, np.float64):
        stocks(one.astype(dtype), one.astype(dtype), np.ones(1, dtype=np.int64))
