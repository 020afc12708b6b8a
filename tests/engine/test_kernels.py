"""The compiled exits kernel (forcegen.engine.kernels): the same numbers as its Python
source, and the exact laws of the daily step.

Each person in a slot of ``m`` leaves independently with probability ``p`` (for the
kept cause with probability ``p·share``), and each recovering person returns with
probability ``q``: per slot, (kept, other, stay) is Multinomial(m; p·share,
p·(1−share), 1−p), returns are Binomial(m, q), and different slots are independent —
whether a slot is drawn by geometric skipping (sparse), by exact inversion of the
binomial (dense) or, where a binomial's variance reaches ``APPROX_VARIANCE``, by the
normal approximation (approximated), whose distance from the binomial is bounded
exactly below. Random numbers are counter-based (forcegen.engine.counters): here each
test's "seed" is the replicate offset and key of the counters.
Statistical checks: chi-square goodness of fit on thousands of replicates with fixed
seeds, ``p > 0.001``; correlations within 4 standard errors of their value.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

from forcegen.engine.counters import binomial_inv, counter_key, stream_id
from forcegen.engine.kernels import (
    APPROX_VARIANCE,
    DENSE,
    Z_LIMIT,
    approx_binomial,
    exits,
    stocks,
)

IntArray = NDArray[np.int64]
KEEP = 2  # cause index going to recovery in these tests (of K = 4)


def run(
    svc: IntArray,
    rec: IntArray,
    probs: NDArray[np.float64],
    recovery: NDArray[np.float64],
    *,
    segment: IntArray | None = None,
    start: int = 0,
    seed: int = 0,
    compiled: bool = True,
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Run the kernel on copies; return (svc, rec after the exits, returned, kept,
    by_cause). The kernel also ages everyone by a day: an empty tail slot is appended
    to the inputs, so that the state before ageing is the aged state shifted back."""
    tail = np.zeros((svc.shape[0], 1), dtype=np.int64)
    svc, rec = np.hstack([svc, tail]), np.hstack([rec, tail])
    seg = np.zeros(svc.shape, dtype=np.int64) if segment is None else np.hstack([segment, tail])
    back, kept, causes = exits(
        counter_key(seed),
        stream_id("test/returned"),
        stream_id("test/exits"),
        1,
        0,
        svc,
        rec,
        start,
        seg,
        probs,
        KEEP,
        recovery,
        compiled=compiled,
    )
    assert (svc[:, 0] == 0).all()
    assert (rec[:, 0] == 0).all()
    return svc[:, 1:], rec[:, 1:], back, kept, causes


def uniform_probs(runs: int, p: float, share: float) -> NDArray[np.float64]:
    """One segment: total daily probability ``p``, a share ``share`` for KEEP, the rest
    spread 1:2:3 over the other three causes."""
    probs = np.zeros((runs, 1, 4))
    probs[:, 0, KEEP] = p * share
    probs[:, 0, [0, 1, 3]] = p * (1 - share) * np.array([1, 2, 3]) / 6
    return probs


def chi2_counts(observed: IntArray, n: int, pmf: NDArray[np.float64]) -> float:
    """Chi-square p-value of integer outcomes 0..n against ``pmf``, pooling sparse tails."""
    counts = np.bincount(observed, minlength=n + 1).astype(float)
    expected = pmf * observed.size
    order = np.argsort(-expected)
    obs_bins, exp_bins, o_acc, e_acc = [], [], 0.0, 0.0
    for i in order:  # pool the least likely outcomes until each bin expects >= 5
        o_acc += counts[i]
        e_acc += expected[i]
        if e_acc >= 5:
            obs_bins.append(o_acc)
            exp_bins.append(e_acc)
            o_acc = e_acc = 0.0
    if e_acc > 0:
        obs_bins[-1] += o_acc
        exp_bins[-1] += e_acc
    return float(stats.chisquare(obs_bins, exp_bins).pvalue)


def test_compiled_equals_python_source() -> None:
    """Bit-identical results compiled and uncompiled, on a mix of sparse and dense slots,
    several segments, a start offset, and probabilities 0 and 1."""
    rng = np.random.default_rng(11)
    runs, slots, groups = 5, 60, 4
    svc = rng.integers(0, 400, size=(runs, slots))
    svc[:, ::7] = 0
    rec = rng.integers(0, 60, size=(runs, slots))
    segment = np.sort(rng.integers(0, groups, size=(runs, slots)), axis=1)
    probs = rng.uniform(0, 0.01, size=(runs, groups, 4))
    probs[:, 1] *= 10  # dense slots
    svc[:, 45:] *= 100  # approximated slots
    rec[:, 50:] *= 100
    probs[0, 2] = 0.0
    probs[1, 3] = [0.5, 0.2, 0.2, 0.3]  # sums above 1: everybody leaves
    recovery = np.array([0.0, 0.03, 0.5, 1.0, 0.2])
    a = run(svc, rec, probs, recovery, segment=segment, start=3, seed=5)
    b = run(svc, rec, probs, recovery, segment=segment, start=3, seed=5, compiled=False)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a[4].sum() > 0
    assert a[2].sum() > 0


@pytest.mark.parametrize(
    ("people", "p"),
    [((5, 0, 7, 3), 0.1), ((120, 80), 0.06)],
    ids=["sparse", "dense"],
)
def test_each_slot_is_an_independent_multinomial(people: tuple[int, ...], p: float) -> None:
    runs, share = 20_000, 0.3
    svc0 = np.tile(np.array(people, dtype=np.int64), (runs, 1))
    dense = [m * p >= DENSE for m in people]
    assert all(dense) if p == 0.06 else not any(dense)
    svc, rec, back, kept_total, causes = run(
        svc0, np.zeros_like(svc0), uniform_probs(runs, p, share), np.zeros(runs), seed=1
    )
    assert back.sum() == 0
    kept = rec  # nobody was recovering, so the recovering are today's kept
    left = svc0 - svc
    other = left - kept
    for a, m in enumerate(people):
        if m == 0:
            assert (left[:, a] == 0).all()
            continue
        # (kept, other) in the slot: multinomial; tested through kept + (m+1)*other
        ks, os_ = np.meshgrid(np.arange(m + 1), np.arange(m + 1), indexing="ij")
        valid = ks + os_ <= m
        pmf = np.zeros((m + 1) * (m + 1))
        pmf[(ks + (m + 1) * os_)[valid]] = stats.multinomial.pmf(
            np.stack([ks[valid], os_[valid], m - ks[valid] - os_[valid]], axis=-1),
            m,
            [p * share, p * (1 - share), 1 - p],
        )
        code = kept[:, a] + (m + 1) * other[:, a]
        assert chi2_counts(code, (m + 1) * (m + 1) - 1, pmf) > 1e-3, a
    # different slots independent
    filled = [a for a, m in enumerate(people) if m > 0]
    for a, b in itertools.pairwise(filled):
        r = np.corrcoef(left[:, a], left[:, b])[0, 1]
        assert abs(r) < 4 / np.sqrt(runs), (a, b, r)
    np.testing.assert_array_equal(kept_total, kept.sum(axis=1))
    np.testing.assert_array_equal(causes.sum(axis=1), left.sum(axis=1))


def test_approximated_slots_have_multinomial_moments() -> None:
    """Slots whose binomials reach ``APPROX_VARIANCE`` are drawn as two thinnings from
    the normal approximation: kept and other have the multinomial's marginals (χ²
    against the binomial, which the approximation matches to within 4e-4 in
    distribution, far below what 20,000 replicates can detect), the multinomial's
    negative correlation, and are independent of other slots."""
    runs, p, share = 20_000, 0.06, 0.3
    people = (3_000, 2_500, 0)
    assert all(m * p * share * (1 - p * share) >= APPROX_VARIANCE for m in people[:2])
    svc0 = np.tile(np.array(people, dtype=np.int64), (runs, 1))
    svc, rec, _, kept_total, causes = run(
        svc0, np.zeros_like(svc0), uniform_probs(runs, p, share), np.zeros(runs), seed=4
    )
    kept, left = rec, svc0 - svc
    other = left - kept
    assert (left[:, 2] == 0).all()
    pk, po = p * share, p * (1 - share)
    for a, m in enumerate(people[:2]):
        for got, q in ((kept[:, a], pk), (other[:, a], po)):
            pmf = stats.binom.pmf(np.arange(m + 1), m, q)
            assert chi2_counts(got, m, pmf) > 1e-3, (a, q)
        r = np.corrcoef(kept[:, a], other[:, a])[0, 1]
        expected = -np.sqrt(pk * po / ((1 - pk) * (1 - po)))
        assert abs(r - expected) < 4 / np.sqrt(runs), (a, r, expected)
    r = np.corrcoef(left[:, 0], left[:, 1])[0, 1]
    assert abs(r) < 4 / np.sqrt(runs)
    np.testing.assert_array_equal(kept_total, kept.sum(axis=1))
    np.testing.assert_array_equal(causes.sum(axis=1), left.sum(axis=1))


def test_other_causes_split_in_proportion() -> None:
    runs = 4_000
    svc0 = np.full((runs, 30), 50, dtype=np.int64)
    probs = uniform_probs(runs, 0.05, 0.25)
    *_, causes = run(svc0, np.zeros_like(svc0), probs, np.zeros(runs), seed=2)
    others = causes[:, [0, 1, 3]].sum(axis=0)
    expected = others.sum() * np.array([1, 2, 3]) / 6
    assert stats.chisquare(others, expected).pvalue > 1e-3
    # kept share of all leavers
    share = causes[:, KEEP].sum() / causes.sum()
    assert abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / causes.sum())


@pytest.mark.parametrize("recovering", [4, 200, 2_000], ids=["sparse", "dense", "approximated"])
def test_returns_are_binomial_per_slot(recovering: int) -> None:
    runs, q = 20_000, 0.04
    rec0 = np.zeros((runs, 3), dtype=np.int64)
    rec0[:, 1:] = recovering
    svc0 = np.zeros_like(rec0)
    svc, rec, back, *_ = run(svc0, rec0, uniform_probs(runs, 0.0, 0.0), np.full(runs, q), seed=3)
    returned = rec0 - rec
    np.testing.assert_array_equal(returned, svc)
    np.testing.assert_array_equal(back, returned.sum(axis=1))
    assert (returned[:, 0] == 0).all()
    for a in (1, 2):
        pmf = stats.binom.pmf(np.arange(recovering + 1), recovering, q)
        assert chi2_counts(returned[:, a], recovering, pmf) > 1e-3
    r = np.corrcoef(returned[:, 1], returned[:, 2])[0, 1]
    assert abs(r) < 4 / np.sqrt(runs)


def test_nobody_below_start_and_edge_probabilities() -> None:
    svc0 = np.full((3, 5), 10, dtype=np.int64)
    rec0 = np.full((3, 5), 4, dtype=np.int64)
    probs = np.zeros((3, 1, 4))
    probs[1, 0, 0] = 1.0  # everybody leaves for cause 0
    probs[2, 0, KEEP] = 1.0  # everybody goes to recovery
    svc, rec, back, kept, causes = run(svc0, rec0, probs, np.array([0.0, 1.0, 0.0]), start=2)
    np.testing.assert_array_equal(svc[:, :2], svc0[:, :2])
    np.testing.assert_array_equal(rec[:, :2], rec0[:, :2])
    np.testing.assert_array_equal(svc[0], svc0[0])  # p = 0, q = 0
    np.testing.assert_array_equal(svc[1, 2:], 4)  # all left, the recovering returned
    np.testing.assert_array_equal(rec[1, 2:], 0)
    assert causes[1, 0] == 30
    assert back[1] == 12
    np.testing.assert_array_equal(svc[2, 2:], 0)
    np.testing.assert_array_equal(rec[2, 2:], 14)
    assert kept[2] == 30 == causes[2, KEEP]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.integers(1, 4),
    st.integers(1, 40),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
    st.floats(0.0, 0.2),
    st.floats(0.0, 1.0),
)
def test_people_are_conserved(
    runs: int, slots: int, groups: int, seed: int, scale: float, recovery: float
) -> None:
    """Whatever the counts and probabilities: nobody negative, everybody accounted for
    (service + recovery loses exactly the leavers for causes other than KEEP)."""
    rng = np.random.default_rng(seed)
    svc0 = rng.integers(0, 2_000, size=(runs, slots)) * (rng.random((runs, slots)) < 0.8)
    rec0 = rng.integers(0, 300, size=(runs, slots))
    segment = rng.integers(0, groups, size=(runs, slots))
    probs = rng.random((runs, groups, 4)) * scale * rng.integers(0, 2, size=(runs, groups, 1))
    svc, rec, back, kept, causes = run(
        svc0, rec0, probs, np.full(runs, recovery), segment=segment, seed=seed
    )
    assert (svc >= 0).all()
    assert (rec >= 0).all()
    assert (causes >= 0).all()
    gone = causes.sum(axis=1) - causes[:, KEEP]
    np.testing.assert_array_equal((svc0 + rec0 - svc - rec).sum(axis=1), gone)
    np.testing.assert_array_equal(kept, causes[:, KEEP])
    assert (back <= rec0.sum(axis=1)).all()


@pytest.mark.parametrize("dtype", [np.int64, np.float64], ids=["stochastic", "mean-field"])
def test_stocks_are_the_sums_by_state(dtype: type) -> None:
    """Training = slots below each replicate's training length; deployed = the other
    slots in service; recovering = all recovery slots — as NumPy sums them."""
    rng = np.random.default_rng(3)
    svc = rng.integers(0, 1_000, size=(6, 40)).astype(dtype)
    rec = rng.integers(0, 50, size=(6, 40)).astype(dtype)
    training_days = np.array([0, 1, 14, 39, 40, 60])
    got = stocks(svc, rec, training_days)
    below = np.arange(40)[None, :] < training_days[:, None]
    np.testing.assert_array_equal(got[0], np.where(below, svc, 0).sum(axis=1))
    np.testing.assert_array_equal(got[1], np.where(below, 0, svc).sum(axis=1))
    np.testing.assert_array_equal(got[2], rec.sum(axis=1))
    assert all(x.dtype == dtype for x in got)


@numba.njit(error_model="numpy")  # type: ignore[misc]
def _approx_many(n: float, p: float, z: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty(z.size)
    for i in range(z.size):
        out[i] = approx_binomial(n, p, z[i])
    return out


@numba.njit  # type: ignore[misc]
def _invert_many(n: int, p: float, u: NDArray[np.float64]) -> IntArray:
    out = np.empty(u.size, dtype=np.int64)
    for i in range(u.size):
        out[i] = binomial_inv(n, p, u[i])
    return out


def approximation_cdf(n: int, p: float, ks: IntArray) -> NDArray[np.float64]:
    """P(count <= k) for the approximation as implemented: the count is a
    non-decreasing function of the normal deviate (checked), so P(count <= k) is Φ at
    the largest deviate giving at most k, found by bisection to ~1e-13."""
    grid = np.linspace(-Z_LIMIT, Z_LIMIT, 20_001)
    assert (np.diff(_approx_many(float(n), p, grid)) >= 0).all(), (n, p)
    k = ks.astype(np.float64)
    lo, hi = np.full(k.size, -Z_LIMIT), np.full(k.size, Z_LIMIT)
    for _ in range(48):
        mid = (lo + hi) / 2
        ok = _approx_many(float(n), p, mid) <= k
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    # Deviates beyond ±Z_LIMIT are clipped: their mass goes with the ends.
    below = _approx_many(float(n), p, np.full(k.size, -Z_LIMIT)) > k
    above = _approx_many(float(n), p, np.full(k.size, Z_LIMIT)) <= k
    return np.where(below, 0.0, np.where(above, 1.0, stats.norm.cdf(lo)))


@pytest.mark.parametrize("variance", [APPROX_VARIANCE, 13.0, 30.0, 200.0, 5_000.0])
def test_approximation_error_is_bounded(variance: float) -> None:
    """The bound the documentation states, computed exactly (no sampling) from the
    implemented function over the whole range of p: distribution functions within
    min(4e-4, 0.012 / σ³) of the binomial's; mean within 1e-4 people, variance within
    1e-4 relative."""
    worst = 0.0
    for p in (1e-7, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-5):
        n = int(np.ceil(variance / (p * (1 - p))))
        mean, sd = n * p, np.sqrt(n * p * (1 - p))
        ks = np.arange(max(0, int(mean - 9 * sd)), min(n, int(mean + 9 * sd)) + 1)
        approx = approximation_cdf(n, p, ks)
        gap = np.abs(approx - stats.binom.cdf(ks, n, p)).max()
        worst = max(worst, gap)
        assert gap <= min(4e-4, 0.012 / sd**3), (n, p, gap)
        pmf = np.diff(approx, prepend=0.0)
        got_mean = (pmf * ks).sum()
        assert abs(got_mean - mean) < 1e-4, (n, p, got_mean - mean)
        assert abs((pmf * (ks - got_mean) ** 2).sum() / sd**2 - 1) < 1e-4, (n, p)
    assert worst > 0  # the approximation is not the binomial: the check has teeth


@pytest.mark.parametrize(
    ("n", "p"), [(60, 0.25), (10_000_000, 3e-6), (400, 0.97)], ids=["small", "rare", "common"]
)
def test_compiled_draws_follow_the_approximation(n: int, p: float) -> None:
    """Draws of the compiled :func:`binomial_inv` above the threshold fit the binomial
    (χ², 200,000 uniforms) and never leave [0, n]."""
    assert n * p * (1 - p) >= APPROX_VARIANCE
    draws = _invert_many(n, p, np.random.default_rng(8).random(200_000))
    assert draws.min() >= 0
    assert draws.max() <= n
    lo, hi = int(draws.min()), int(draws.max())
    support = np.arange(lo, hi + 1)
    pmf = stats.binom.pmf(support, n, p)
    pmf[0] += stats.binom.cdf(lo - 1, n, p)
    pmf[-1] += stats.binom.sf(hi, n, p)
    assert chi2_counts(draws - lo, hi - lo, pmf) > 1e-3


@pytest.mark.parametrize(("n", "p"), [(30, 0.2), (5, 0.9), (2_000, 0.001), (1, 0.5)])
def test_below_the_threshold_draws_are_the_exact_inverse(n: int, p: float) -> None:
    """Below the threshold a count is the binomial's inverse distribution function at
    its uniform: the same numbers as SciPy's ``binom.ppf`` (away from the knots of the
    distribution function, where the two roundings of the sum may differ)."""
    assert n * p * (1 - p) < APPROX_VARIANCE
    u = np.random.default_rng(9).random(5_000)
    cdf = stats.binom.cdf(np.arange(n + 1), n, p)
    away = np.abs(u[:, None] - cdf[None, :]).min(axis=1) > 1e-12
    got = _invert_many(n, p, u)
    np.testing.assert_array_equal(got[away], stats.binom.ppf(u[away], n, p).astype(np.int64))
