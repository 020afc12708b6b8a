"""Counter-based random numbers (forcegen.engine.philox, forcegen.engine.counters).

* Philox4x64-10 is NumPy's ``Philox`` bit for bit, in Python and compiled.
* Uniforms lie strictly inside (0, 1); Φ⁻¹ is within 1e-8 of SciPy's.
* One uniform per count: the exact inverse distribution function below the
  approximation threshold (equal to SciPy's ``ppf``), the Cornish–Fisher count above
  (Poisson: its distribution function within the stated bound, computed exactly);
  counts are non-decreasing in the uniform and in the parameter (hypothesis).
* A draw's numbers depend only on its counter: changing one replicate's count changes
  no other replicate's draw, and a name used twice on a day gets new numbers.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import special, stats

from forcegen.engine.counters import (
    APPROX_VARIANCE,
    Z_LIMIT,
    approx_poisson,
    binomial_inv,
    binomials,
    counter_key,
    multinomial,
    ndtri,
    poisson_inv,
    poissons,
    stream_id,
    uniforms,
)
from forcegen.engine.draws import StochasticDraws
from forcegen.engine.philox import philox, unit

U64 = np.uint64


@numba.njit  # type: ignore[misc]
def _philox_compiled(c: NDArray[np.uint64], k: NDArray[np.uint64]) -> NDArray[np.uint64]:
    w0, w1, w2, w3 = philox(c[0], c[1], c[2], c[3], k[0], k[1])
    return np.array([w0, w1, w2, w3], dtype=np.uint64)


@numba.njit  # type: ignore[misc]
def _units_compiled(words: NDArray[np.uint64]) -> NDArray[np.float64]:
    out = np.empty(words.size)
    for i in range(words.size):
        out[i] = unit(words[i])
    return out


@numba.njit  # type: ignore[misc]
def _ndtri_many(u: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty(u.size)
    for i in range(u.size):
        out[i] = ndtri(u[i])
    return out


@numba.njit  # type: ignore[misc]
def _poisson_many(lam: float, u: NDArray[np.float64]) -> NDArray[np.int64]:
    out = np.empty(u.size, dtype=np.int64)
    for i in range(u.size):
        out[i] = poisson_inv(lam, u[i])
    return out


@numba.njit(error_model="numpy")  # type: ignore[misc]
def _approx_poisson_many(lam: float, z: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty(z.size)
    for i in range(z.size):
        out[i] = approx_poisson(lam, z[i])
    return out


# ------------------------------------------------------------------------- Philox
def test_philox_is_numpys_philox_bit_for_bit() -> None:
    """``Philox(counter=c, key=k).random_raw(4)`` is ``philox(c + 1, k)`` (NumPy
    increments the counter first), for random counters and keys, with the carry of the
    increment crossing words too; in plain Python and compiled."""
    rng = np.random.default_rng(2026)
    cases = [
        (
            rng.integers(0, 2**64 - 1, 4, dtype=U64, endpoint=True),
            rng.integers(0, 2**64 - 1, 2, dtype=U64, endpoint=True),
        )
        for _ in range(50)
    ]
    cases.append((np.array([2**64 - 1, 2**64 - 1, 7, 0], dtype=U64), np.array([1, 2], dtype=U64)))
    for ctr, key in cases:
        want = np.random.Philox(counter=ctr, key=key).random_raw(4)
        c = [int(x) for x in ctr]
        carry = 1
        for i in range(4):  # c + 1 over 256 bits
            total = c[i] + carry
            c[i], carry = total & (2**64 - 1), total >> 64
        got = philox(*c, *(int(x) for x in key))
        np.testing.assert_array_equal(np.array(got, dtype=U64), want)
        compiled = _philox_compiled(np.array(c, dtype=U64), key)
        np.testing.assert_array_equal(compiled, want)


def test_units_are_inside_the_open_interval_and_agree_compiled() -> None:
    words = np.array([0, 1, 2**12 - 1, 2**12, 2**63, 2**64 - 1], dtype=U64)
    words = np.concatenate([words, np.random.default_rng(1).integers(0, 2**63, 1000, dtype=U64)])
    python = np.array([unit(int(w)) for w in words])
    np.testing.assert_array_equal(python, _units_compiled(words))
    assert python.min() > 0.0
    assert python.max() < 1.0
    assert python[0] == 2.0**-53
    assert python[5] == 1.0 - 2.0**-53


def test_uniforms_are_uniform_and_independent_across_counters() -> None:
    """Consecutive replicates, days and slots give uniforms that pass a χ² test of
    uniformity and have no correlation between neighbouring counters."""
    key = counter_key(5)
    u = np.array(
        [
            uniforms(key[0], key[1], stream_id("x"), day, rep, 0, 0, slot)
            for day in range(5)
            for rep in range(40)
            for slot in range(10)
        ]
    )
    flat = u.ravel()
    counts = np.histogram(flat, bins=20, range=(0, 1))[0]
    assert stats.chisquare(counts).pvalue > 1e-3
    for lane in range(4):
        r = np.corrcoef(u[:-1, lane], u[1:, lane])[0, 1]
        assert abs(r) < 4 / np.sqrt(len(u))
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 4 / np.sqrt(len(u))


def test_keys_differ_by_seed_and_are_stable() -> None:
    assert counter_key(1) != counter_key(2)
    assert counter_key(1) == counter_key(1)
    assert stream_id("a") != stream_id("b")
    assert stream_id("a", 1) == stream_id("a") | 1 << 32


# ----------------------------------------------------------------- Φ⁻¹ and counts
def test_ndtri_matches_scipy() -> None:
    u = np.concatenate(
        [
            np.linspace(1e-6, 1 - 1e-6, 100_001),
            10.0 ** -np.arange(1.0, 16.0, 0.25),
            1 - 10.0 ** -np.arange(1.0, 15.5, 0.25),
            [2.0**-53, 1 - 2.0**-53, 0.5],
        ]
    )
    got = _ndtri_many(u)
    want = special.ndtri(u)
    assert np.abs(got - want).max() < 1e-8
    nonzero = want != 0
    assert np.abs((got[nonzero] - want[nonzero]) / want[nonzero]).max() < 1.2e-9
    assert np.all(np.diff(_ndtri_many(np.sort(u))) >= 0)
    for x in (0.3, 0.01, 0.999):  # the Python source
        assert ndtri(x) == pytest.approx(special.ndtri(x), abs=1e-8)


@pytest.mark.parametrize("lam", [0.001, 0.7, 4.0, 9.99])
def test_poisson_below_the_threshold_is_the_exact_inverse(lam: float) -> None:
    u = np.random.default_rng(3).random(5_000)
    ks = np.arange(200)
    cdf = stats.poisson.cdf(ks, lam)
    away = np.abs(u[:, None] - cdf[None, :]).min(axis=1) > 1e-12
    got = _poisson_many(lam, u)
    np.testing.assert_array_equal(got[away], stats.poisson.ppf(u[away], lam).astype(np.int64))


def approx_poisson_cdf(lam: float, ks: NDArray[np.int64]) -> NDArray[np.float64]:
    """P(count <= k) for the Poisson approximation as implemented (non-decreasing in
    the deviate, checked), by bisection on the deviate to ~1e-13."""
    grid = np.linspace(-Z_LIMIT, Z_LIMIT, 20_001)
    assert (np.diff(_approx_poisson_many(lam, grid)) >= 0).all(), lam
    k = ks.astype(np.float64)
    lo, hi = np.full(k.size, -Z_LIMIT), np.full(k.size, Z_LIMIT)
    for _ in range(48):
        mid = (lo + hi) / 2
        ok = _approx_poisson_many(lam, mid) <= k
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    below = _approx_poisson_many(lam, np.full(k.size, -Z_LIMIT)) > k
    above = _approx_poisson_many(lam, np.full(k.size, Z_LIMIT)) <= k
    return np.where(below, 0.0, np.where(above, 1.0, stats.norm.cdf(lo)))


@pytest.mark.parametrize("lam", [APPROX_VARIANCE, 13.0, 30.0, 200.0, 5_000.0])
def test_poisson_approximation_error_is_bounded(lam: float) -> None:
    """As for the binomial (test_kernels): distribution function within
    min(4e-4, 0.012 / σ³) of the Poisson's, computed exactly; mean within 1e-4 people,
    variance within 1e-4 relative."""
    sd = np.sqrt(lam)
    ks = np.arange(max(0, int(lam - 9 * sd)), int(lam + 9 * sd) + 1)
    approx = approx_poisson_cdf(lam, ks)
    gap = np.abs(approx - stats.poisson.cdf(ks, lam)).max()
    assert 0 < gap <= min(4e-4, 0.012 / sd**3), (lam, gap)
    pmf = np.diff(approx, prepend=0.0)
    mean = (pmf * ks).sum()
    assert abs(mean - lam) < 1e-4
    assert abs((pmf * (ks - mean) ** 2).sum() / lam - 1) < 1e-4


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.integers(0, 10**7),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(2.0**-53, 1 - 2.0**-53),
)
def test_counts_are_monotone_in_the_uniform_and_the_parameter(
    n: int, p1: float, p2: float, u: float
) -> None:
    """What makes common random numbers work through a changed parameter: at a fixed
    uniform the count never decreases when the probability (or mean) increases, across
    the exact and the approximated regimes; and it stays in [0, n]."""
    lo, hi = min(p1, p2), max(p1, p2)
    a, b = binomial_inv(n, lo, u), binomial_inv(n, hi, u)
    assert 0 <= a <= b <= n, (n, lo, hi, u, a, b)
    v = min(u * 1.01, 1 - 2.0**-53)
    assert binomial_inv(n, lo, v) >= a
    lam_lo, lam_hi = lo * 1000.0, hi * 1000.0
    assert 0 <= poisson_inv(lam_lo, u) <= poisson_inv(lam_hi, u)
    assert poisson_inv(lam_lo, v) >= poisson_inv(lam_lo, u)


def test_vector_draws_compiled_equal_python_and_fit() -> None:
    key = counter_key(7)
    n = np.array([0, 5, 40, 1_000, 200_000, 3] * 50)
    p = np.array([0.3, 1.0, 0.2, 0.01, 1e-4, 0.0] * 50)
    a = binomials(key, stream_id("b"), 3, 256, n, p)
    b = binomials(key, stream_id("b"), 3, 256, n, p, compiled=False)
    np.testing.assert_array_equal(a, b)
    assert (a[1::6] == 5).all()  # p = 1
    assert (a[0::6] == 0).all()  # n = 0
    assert (a[5::6] == 0).all()  # p = 0
    lam = np.array([0.0, 0.5, 30.0, 1e5] * 50)
    np.testing.assert_array_equal(
        poissons(key, 9, 1, 0, lam), poissons(key, 9, 1, 0, lam, compiled=False)
    )
    shares = np.array([0.1, 0.0, 0.6, 0.3])
    m = multinomial(key, 4, 0, 12, 10_000, shares)
    np.testing.assert_array_equal(m, multinomial(key, 4, 0, 12, 10_000, shares, compiled=False))
    assert m.sum() == 10_000
    assert m[1] == 0


def test_multinomial_split_has_the_multinomial_law() -> None:
    """Counts over three slots from conditional binomials: χ² of the first slot's
    count and the multinomial covariance, over 4,000 replicates."""
    key = counter_key(11)
    shares = np.array([0.2, 0.5, 0.3])
    got = np.array([multinomial(key, 1, 0, r, 30, shares) for r in range(4_000)])
    assert (got.sum(axis=1) == 30).all()
    pmf = stats.binom.pmf(np.arange(31), 30, 0.2)
    counts = np.bincount(got[:, 0], minlength=31).astype(float)
    keep = pmf * 4_000 >= 5
    expected = np.append(pmf[keep] * 4_000, pmf[~keep].sum() * 4_000)
    observed = np.append(counts[keep], counts[~keep].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    cov = np.cov(got[:, 0], got[:, 1])[0, 1]
    assert abs(cov - (-30 * 0.2 * 0.5)) < 4 * 30 * 0.2 * 0.5 * np.sqrt(2 / 4_000) * 2


def test_one_replicates_count_moves_no_other_replicate() -> None:
    """The counter-based contract: replicate r's draw depends on its own n, p and
    counter only — raising one replicate's n leaves every other replicate's count
    unchanged, and that replicate's count does not fall."""
    key = counter_key(3)
    n = np.full(128, 500)
    p = np.full(128, 0.02)
    base = binomials(key, stream_id("enlist"), 10, 128, n, p)
    n2 = n.copy()
    n2[17] += 60
    changed = binomials(key, stream_id("enlist"), 10, 128, n2, p)
    others = np.arange(128) != 17
    np.testing.assert_array_equal(base[others], changed[others])
    assert changed[17] >= base[17]
    # Another day, another name, or a second use of the name that day: new numbers.
    for other in (
        binomials(key, stream_id("enlist"), 11, 128, n, p),
        binomials(key, stream_id("withdraw"), 10, 128, n, p),
        binomials(key, stream_id("enlist", 1), 10, 128, n, p),
    ):
        assert (other != base).mean() > 0.5


def test_stochastic_draws_number_repeated_names_per_day() -> None:
    draws = StochasticDraws(1, 0)
    n, p = np.full(64, 1_000), np.full(64, 0.05)
    draws.start_day(4)
    first = draws.binomial("x", n, p)
    second = draws.binomial("x", n, p)
    assert (first != second).mean() > 0.5
    draws.start_day(4)  # the day again: the same numbers again
    np.testing.assert_array_equal(draws.binomial("x", n, p), first)


def test_a_grid_is_keyed_by_replicate_row_and_index_within_it() -> None:
    """A (replicates, slots) draw reads, for element [r, j], the uniform of replicate
    ``rep0 + r`` at index ``j``: so a vector draw is its first column, another row's
    contents never move a row's counts, and no two replicates share numbers."""
    key = counter_key(5)
    n = np.full((64, 7), 400)
    p = np.full((64, 7), 0.05)
    grid = binomials(key, stream_id("convert"), 4, 128, n, p)
    np.testing.assert_array_equal(
        grid, binomials(key, stream_id("convert"), 4, 128, n, p, compiled=False)
    )
    np.testing.assert_array_equal(
        grid[:, 0], binomials(key, stream_id("convert"), 4, 128, n[:, 0], p[:, 0])
    )
    # Replicate 1's slot 0 is not replicate 0's slot 1 (as a flattened key would make it).
    assert (grid[1:, 0] != grid[:-1, 1]).mean() > 0.5
    n2 = n.copy()
    n2[3] = 0
    n2[10, 4] += 100
    moved = binomials(key, stream_id("convert"), 4, 128, n2, p)
    same = np.ones(n.shape, dtype=bool)
    same[3] = False
    same[10, 4] = False
    np.testing.assert_array_equal(moved[same], grid[same])
    assert moved[10, 4] >= grid[10, 4]
    lam = np.full((64, 3), 20.0)
    pois = poissons(key, 9, 1, 0, lam)
    np.testing.assert_array_equal(pois, poissons(key, 9, 1, 0, lam, compiled=False))
    np.testing.assert_array_equal(pois[:, 0], poissons(key, 9, 1, 0, lam[:, 0]))
