"""Compiled inner loop of the stochastic mode: daily exits and returns by age slot.

Why this exists: the engine keeps one slot per day of service, and every day each
slot's people may leave. Drawing one NumPy binomial per (slot, replicate) costs
25–45 ns even when nobody moves, which made the engine ~30× slower than drawing one
binomial per transition. Here each replicate's slots are walked once and the people who
move are found by *geometric skipping*: among people who each move independently with
the same daily probability ``p``, the number passed over before the next mover is
Geometric(``p``). Work is then ~1 ns per slot plus one exponential per person who moves.

Random numbers are counter-based (:mod:`forcegen.engine.counters`): each replicate and
day has its own numbers, so that a count changed by a policy cannot shift the numbers of
any other replicate or day (common random numbers). Within a replicate and day:

* the sparse slots of one hazard segment form one *line* of people, walked with its
  own sequence of exponentials (the ``j``-th skip is the ``j``-th number of that
  sequence); a slot with one more person shifts later movers of the line by one
  person, not onto other numbers. Slots of other segments and dense slots are not on
  the line: skipping over a line that omits them is exact, because the people of a
  line are independent Bernoulli trials with the line's probability;
* a dense slot (expected movers ≥ :data:`DENSE`) is drawn by inversion from the
  uniforms at its own slot index — two thinnings (kept cause, then the other causes)
  of one uniform each, exact below :data:`APPROX_VARIANCE` and Cornish–Fisher above
  (:func:`forcegen.engine.counters.binomial_inv`);
* leavers for causes other than the kept one are split per segment by conditional
  binomials, each from the uniform at its (segment, cause).

:func:`exits_python` is plain, typed Python; :func:`exits` compiles it with Numba on
first use (cached on disk), and the tests also run the uncompiled version. This module
imports Numba, so :mod:`forcegen.engine.draws` imports it only when drawing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Executor
from functools import cache
from typing import Any, NamedTuple

import numpy as np
from numba.extending import register_jitable
from numpy.typing import NDArray

from forcegen.engine.counters import (
    APPROX_VARIANCE,
    Z_LIMIT,
    approx_binomial,
    binomial_inv,
    uniforms,
)

__all__ = [
    "APPROX_VARIANCE",
    "DENSE",
    "Z_LIMIT",
    "ExpectedRates",
    "approx_binomial",
    "compile_kernels",
    "exits",
    "exits_python",
    "expected_exits",
    "expected_exits_python",
    "expected_exits_with",
    "expected_rates",
    "skip_scale",
    "stocks",
    "stocks_python",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

DENSE = 4.0
"""Expected movers (people) in one slot from which the slot is drawn with binomials."""


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


# Sequences of a replicate-day whose numbers the kernel reads in order (geometric
# skips), and the counter families of each kind of draw (the top byte of counter word 0).
_RETURNS, _KEEP, _OTHER, _SLOT, _CAUSE = 1, 2, 3, 4, 5


@register_jitable
def _age_row(svc: Any, rec: Any, r: int) -> None:
    """Age replicate ``r`` by one day in place: every slot moves up one, the last slot
    (the tail) accumulates, slot 0 empties; people (counts or expected values)."""
    slots = svc.shape[1]
    if slots >= 2:
        svc[r, slots - 1] += svc[r, slots - 2]
        rec[r, slots - 1] += rec[r, slots - 2]
        for a in range(slots - 2, 0, -1):
            svc[r, a] = svc[r, a - 1]
            rec[r, a] = rec[r, a - 1]
        svc[r, 0] = 0
        rec[r, 0] = 0


@register_jitable(inline="always")
def _exponential(
    buf: FloatArray,
    block: IntArray,
    used: IntArray,
    s: int,
    k0: int,
    k1: int,
    stream: int,
    day: int,
    rep: int,
    family: int,
    sub: int,
) -> float:
    """The next Exp(1) number of sequence ``s`` of this replicate and day: its ``j``-th
    number is ``-log`` of lane ``j % 4`` of the uniforms at index ``j // 4`` (four per
    Philox call, kept in ``buf[s]`` while they last)."""
    j = used[s]
    used[s] = j + 1
    b = j >> 2
    if block[s] != b:
        u0, u1, u2, u3 = uniforms(k0, k1, stream, day, rep, family, sub, b)
        buf[s, 0] = u0
        buf[s, 1] = u1
        buf[s, 2] = u2
        buf[s, 3] = u3
        block[s] = b
    return -math.log(buf[s, j & 3])


def exits_python(
    k0: int,
    k1: int,
    stream_back: int,
    stream_exit: int,
    day: int,
    rep0: int,
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
        k0, k1: Philox key of the run (:func:`forcegen.engine.counters.counter_key`).
        stream_back: Counter word of the returns' stream.
        stream_exit: Counter word of the exits' stream.
        day: Counter word of the day (day + 1).
        rep0: Global replicate number of row 0.
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
    p_keep = np.zeros(groups)  # leaving for cause keep
    p_other = np.zeros(groups)  # leaving for another cause, given not for keep
    # skip_scale() of p_keep and p_other.
    scale_keep = np.zeros(groups)
    scale_other = np.zeros(groups)
    # Pending skips of each segment's lines (keep, other); started: drawn today.
    skip_keep = np.zeros(groups)
    skip_other = np.zeros(groups)
    started = np.zeros(groups, dtype=np.bool_)
    # The line sequences: 0 returns, 1 + 2 g keep of segment g, 2 + 2 g other of g.
    n_seq = 1 + 2 * groups
    buf = np.zeros((n_seq, 4))
    block = np.zeros(n_seq, dtype=np.int64)
    used = np.zeros(n_seq, dtype=np.int64)
    split = np.zeros(4)  # uniforms of one segment's split by cause
    for r in range(runs):
        rep = rep0 + r
        for s in range(n_seq):
            used[s] = 0
            block[s] = -1
        p_back = recovery[r]
        scale_back = skip_scale(p_back)
        for g in range(groups):
            rest[g] = 0
            started[g] = False
            total = 0.0
            for k in range(causes):
                total += probs[r, g, k]
            leave[g] = min(total, 1.0)
            share = min(probs[r, g, keep] / total, 1.0) if total > 0.0 else 0.0
            p_keep[g] = share * leave[g]
            p_other[g] = (leave[g] - p_keep[g]) / (1.0 - p_keep[g]) if p_keep[g] < 1.0 else 0.0
            scale_keep[g] = skip_scale(p_keep[g])
            scale_other[g] = skip_scale(p_other[g])

        # People still to pass over before the next mover, kept unrounded: its floor
        # is the Geometric(p) count, and comparisons with whole numbers of people
        # give the same answers on the unrounded value (no overflow for tiny p).
        skip_back = 0.0
        started_back = False
        returned = 0
        kept_sum = 0
        for a in range(start, slots):
            # Returns: each recovering person with probability p_back.
            m = rec[r, a]
            back = 0
            if m > 0 and p_back > 0.0:
                if m * p_back >= DENSE or p_back >= 1.0:
                    u = uniforms(k0, k1, stream_back, day, rep, _SLOT, 0, a)[0]
                    back = binomial_inv(m, p_back, u)
                else:
                    if not started_back:
                        started_back = True
                        skip_back = scale_back * _exponential(
                            buf, block, used, 0, k0, k1, stream_back, day, rep, _RETURNS, 0
                        )
                    while skip_back < m:
                        m -= int(skip_back) + 1
                        back += 1
                        skip_back = scale_back * _exponential(
                            buf, block, used, 0, k0, k1, stream_back, day, rep, _RETURNS, 0
                        )
                    skip_back -= m
            # Exits: a person leaves for cause keep with probability p_keep, else for
            # another cause with probability p_other: two thinnings in sequence.
            m = svc[r, a]
            out = 0
            kept = 0
            g = segment[r, a]
            p = leave[g]
            if m > 0 and p > 0.0:
                if m * p >= DENSE or p >= 1.0:
                    u0, u1, _, _ = uniforms(k0, k1, stream_exit, day, rep, _SLOT, 0, a)
                    kept = binomial_inv(m, p_keep[g], u0)
                    out = kept + binomial_inv(m - kept, p_other[g], u1)
                else:
                    # Geometric skipping along the segment's lines.
                    s_keep, s_other = 1 + 2 * g, 2 + 2 * g
                    if not started[g]:
                        started[g] = True
                        skip_keep[g] = scale_keep[g] * _exponential(
                            buf, block, used, s_keep, k0, k1, stream_exit, day, rep, _KEEP, g
                        )
                        skip_other[g] = scale_other[g] * _exponential(
                            buf, block, used, s_other, k0, k1, stream_exit, day, rep, _OTHER, g
                        )
                    stay = m
                    while skip_keep[g] < stay:
                        stay -= int(skip_keep[g]) + 1
                        kept += 1
                        skip_keep[g] = scale_keep[g] * _exponential(
                            buf, block, used, s_keep, k0, k1, stream_exit, day, rep, _KEEP, g
                        )
                    skip_keep[g] -= stay
                    stay = m - kept
                    while skip_other[g] < stay:
                        stay -= int(skip_other[g]) + 1
                        out += 1
                        skip_other[g] = scale_other[g] * _exponential(
                            buf, block, used, s_other, k0, k1, stream_exit, day, rep, _OTHER, g
                        )
                    skip_other[g] -= stay
                    out += kept
            if back > 0 or out > 0:  # usually nobody moves in a sparse slot
                rest[g] += out - kept
                kept_sum += kept
                returned += back
                svc[r, a] += back - out
                rec[r, a] += kept - back
        back_total[r] = returned
        # Ageing: everyone is a day older; the last slot (the tail) accumulates.
        _age_row(svc, rec, r)
        kept_total[r] = kept_sum
        by_cause[r, keep] += kept_sum
        # Leavers for the other causes, split by conditional binomials (a multinomial
        # draw per segment), cause k's from lane k % 4 of the uniforms at (g, k // 4).
        for g in range(groups):
            left_people = rest[g]
            if left_people <= 0:
                continue
            have = -1  # uniforms of block `have` are in split[0:4]
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
                if k >> 2 != have:  # four causes per Philox call, drawn when reached
                    have = k >> 2
                    u0, u1, u2, u3 = uniforms(k0, k1, stream_exit, day, rep, _CAUSE, g, have)
                    split[0] = u0
                    split[1] = u1
                    split[2] = u2
                    split[3] = u3
                q = min(max(probs[r, g, k] / left_p, 0.0), 1.0)
                x = binomial_inv(left_people, q, split[k & 3])
                by_cause[r, k] += x
                left_people -= x
                left_p -= probs[r, g, k]


def expected_exits_python(
    svc: FloatArray,
    rec: FloatArray,
    start: int,
    segment: IntArray,
    leave: FloatArray,
    keep_p: FloatArray,
    recovery: FloatArray,
    back: FloatArray,
    kept: FloatArray,
    per_segment: FloatArray,
) -> None:
    """The mean-field mode's returns, exits and ageing for one day, applied in place
    (uncompiled reference of :func:`expected_exits`).

    Expected people, slot by slot, with the same floating-point operations in the same
    order as the NumPy expressions it replaces (so results are bit for bit the same):
    ``people = svc[r, a]`` and ``back[r, a] = rec[r, a] * recovery[r]`` from slot
    ``start`` on (0 below it), ``kept[r, a] = people * keep_p[r, g]``,
    ``svc += back - people * leave[r, g]``, ``rec += kept - back`` with
    ``g = segment[r, a]``; ``per_segment[r, g]`` sums the exposed people of segment
    ``g`` in slot order. Then everyone moves one slot up (the last slot accumulates).

    Args:
        svc: Expected people in service per age slot ``(R, S)``; updated.
        rec: Expected people recovering per age slot ``(R, S)``; updated.
        start: First slot where anyone can leave or return.
        segment: Hazard segment of each slot ``(R, S)``.
        leave: Daily probability of leaving per (replicate, segment) ``(R, G)``.
        keep_p: Daily probability of leaving into recovery ``(R, G)``.
        recovery: Daily probability of returning ``(R,)``.
        back: Output ``(R, S)``: people returning, per slot.
        kept: Output ``(R, S)``: people leaving into recovery, per slot.
        per_segment: Output ``(R, G)``, zeros: exposed people per segment.
    """
    runs, slots = svc.shape
    for r in range(runs):
        p_back = recovery[r]
        for a in range(slots):
            g = segment[r, a]
            people = svc[r, a] if a >= start else 0.0
            returning = (rec[r, a] if a >= start else 0.0) * p_back
            into_recovery = people * keep_p[r, g]
            back[r, a] = returning
            kept[r, a] = into_recovery
            svc[r, a] += returning - people * leave[r, g]
            rec[r, a] += into_recovery - returning
            per_segment[r, g] += people
        _age_row(svc, rec, r)


class ExpectedRates(NamedTuple):
    """One day's exit probabilities prepared for :func:`expected_exits_with`: they
    change only when the schedules they come from step, so the mean-field mode keeps
    them from one day to the next (:class:`forcegen.engine.draws.ExpectedDraws`)."""

    segment: IntArray  # (R, N) segment of each age slot, contiguous
    leave: FloatArray  # (R, G) daily probability of leaving, capped at 1
    keep: FloatArray  # (R, G) of which, into recovery in the same slot
    recovery: FloatArray  # (R,) daily probability of returning from recovery
    effective: FloatArray  # (R, G, K) by cause; rows sum to ``leave``


def expected_rates(
    segment: IntArray, probs: FloatArray, keep: int, recovery: FloatArray
) -> ExpectedRates:
    """Prepare the arguments of :func:`expected_exits` that do not change from day to
    day: where a segment's probabilities sum above 1 they are scaled to sum to 1."""
    total = probs.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, np.minimum(total, 1.0) / total, 0.0)
    effective = probs * scale[..., None]  # (R, G, K); rows sum to min(total, 1)
    return ExpectedRates(
        np.ascontiguousarray(segment, dtype=np.int64),
        np.ascontiguousarray(effective.sum(axis=-1)),
        np.ascontiguousarray(effective[..., keep]),
        np.ascontiguousarray(recovery, dtype=np.float64),
        effective,
    )


def expected_exits(
    svc: FloatArray,
    rec: FloatArray,
    start: int,
    segment: IntArray,
    probs: FloatArray,
    keep: int,
    recovery: FloatArray,
    *,
    compiled: bool = True,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The mean-field mode's returns from recovery and exits from service for one day,
    then a day of ageing, applied to ``svc`` and ``rec`` in place: the expectations of
    :func:`exits` (same arguments, expected people instead of counts).

    Where the probabilities of a segment sum above 1 they are scaled to sum to 1. The
    small per-segment arithmetic and the sums stay in NumPy (their rounding is
    NumPy's); the walk over slots is compiled. ``compiled=False`` runs it uncompiled.

    Returns:
        Expected people returning ``(R,)``, leaving into recovery (cause ``keep``)
        ``(R,)``, and leaving by cause ``(R, K)``.
    """
    rates = expected_rates(segment, probs, keep, recovery)
    return expected_exits_with(svc, rec, start, rates, compiled=compiled)


def expected_exits_with(
    svc: FloatArray, rec: FloatArray, start: int, rates: ExpectedRates, *, compiled: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """:func:`expected_exits` from rates prepared by :func:`expected_rates` (the same
    numbers, bit for bit)."""
    back = np.empty(svc.shape)
    kept = np.empty(svc.shape)
    per_segment = np.zeros(rates.leave.shape)
    kernel = _compiled_expected() if compiled else expected_exits_python
    kernel(
        svc,
        rec,
        start,
        rates.segment,
        rates.leave,
        rates.keep,
        rates.recovery,
        back,
        kept,
        per_segment,
    )
    by_cause = np.einsum("rg,rgk->rk", per_segment, rates.effective)
    return back.sum(axis=1), kept.sum(axis=1), by_cause


@cache
def _compiled_expected() -> Callable[..., None]:
    import numba

    compiled: Callable[..., None] = numba.njit(cache=True, nogil=True)(expected_exits_python)
    return compiled


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
    key: tuple[int, int],
    stream_back: int,
    stream_exit: int,
    day: int,
    rep0: int,
    svc: IntArray,
    rec: IntArray,
    start: int,
    segment: IntArray,
    probs: FloatArray,
    keep: int,
    recovery: FloatArray,
    *,
    compiled: bool = True,
    pool: Executor | None = None,
    parts: int = 1,
) -> tuple[IntArray, IntArray, IntArray]:
    """Returns from recovery and exits from service for one day, then a day of ageing,
    applied to ``svc`` and ``rec`` in place (compiled; see :func:`exits_python` for the
    arguments; ``key`` is the run's Philox key).

    ``compiled=False`` runs the same code uncompiled (slow; for tests).

    ``pool`` and ``parts`` split the replicates into ``parts`` contiguous groups of
    rows, drawn at the same time: all but the first in ``pool``'s threads, the first
    in the calling thread (the compiled kernel releases the GIL). Each replicate's
    numbers are keyed by its own row and every row is walked independently, so the
    result does not depend on the split.

    Returns:
        ``(returned, kept, by_cause)``: people returning ``(R,)``, people leaving for
        cause ``keep`` (into recovery) ``(R,)``, and people leaving by cause ``(R, K)``.
    """
    runs = svc.shape[0]
    returned = np.zeros(runs, dtype=np.int64)
    kept = np.zeros(runs, dtype=np.int64)
    by_cause = np.zeros((runs, probs.shape[2]), dtype=np.int64)
    segment = np.ascontiguousarray(segment, dtype=np.int64)
    probs = np.ascontiguousarray(probs, dtype=np.float64)
    recovery = np.clip(np.asarray(recovery, dtype=np.float64), 0.0, 1.0)
    kernel = _compiled() if compiled else exits_python

    def rows(lo: int, hi: int) -> None:
        # Slices of C-ordered arrays along their first axis are contiguous views:
        # the kernel updates svc and rec and fills the outputs in place.
        kernel(
            key[0],
            key[1],
            stream_back,
            stream_exit,
            day,
            rep0 + lo,
            svc[lo:hi],
            rec[lo:hi],
            start,
            segment[lo:hi],
            probs[lo:hi],
            keep,
            recovery[lo:hi],
            returned[lo:hi],
            kept[lo:hi],
            by_cause[lo:hi],
        )

    parts = max(1, min(parts, runs)) if pool is not None else 1
    bounds = [runs * i // parts for i in range(parts + 1)]
    pending = [pool.submit(rows, bounds[i], bounds[i + 1]) for i in range(1, parts)] if pool else []
    rows(bounds[0], bounds[1])
    for future in pending:
        future.result()
    return returned, kept, by_cause


def compile_kernels() -> None:
    """Compile (or load from the on-disk cache) every kernel for the element types the
    engine uses, now rather than on first use: a few seconds the first time on a
    machine, ~0.3 s afterwards. Useful before timing, or before starting processes
    that would otherwise each compile on their first simulation."""
    from forcegen.engine.counters import compile_counters

    one = np.ones((1, 2), dtype=np.int64)
    exits(
        (0, 0),
        0,
        0,
        0,
        0,
        one,
        one.copy(),
        0,
        np.zeros_like(one),
        np.zeros((1, 1, 2)),
        1,
        np.zeros(1),
    )
    expected_exits(
        np.ones((1, 2)),
        np.ones((1, 2)),
        0,
        np.zeros((1, 2), dtype=np.int64),
        np.zeros((1, 1, 2)),
        1,
        np.zeros(1),
    )
    compile_counters()
    for dtype in (np.int64, np.float64):
        stocks(one.astype(dtype), one.astype(dtype), np.ones(1, dtype=np.int64))
