"""Priced recruitment (docs/model.md, "Priced recruitment"): exact results.

One priced channel, no losses, recruits counted by ``inflow: recruited``. A pool of
``N`` people with reservation wages ``F`` and a constant offer ``O``: each person is
willing with probability ``F(O)`` and, if willing, enlists on each day with
probability ``u``, so a person has enlisted by the end of day ``t`` with probability
``F(O) · (1 − (1 − u)^(t+1))``, independently of the others. Hence

* mean field: recruits on day ``t`` are ``u · N F(O) (1 − u)^t``;
* stochastic: cumulative recruits by day ``t`` are ``Binomial(N, F(O)(1 − (1 − u)^(t+1)))``.

With dated offers the bins that became willing later start their own geometric
decline; with a daily replenishment ``λ`` and no initial pool, recruits on day ``t``
are ``λ F(O) (1 − (1 − u)^(t+1))``.

Tolerances: mean-field values are compared to 1e-9 relative (floating point only);
ensemble means and variances within 4 standard errors (as in test_exact.py), and
the distribution by a chi-square test at p > 0.001.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import ensemble, mean_field, scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from forcegen.engine.compile import DAYS_PER_MONTH
from forcegen.engine.pricing import bin_masses, wage_cdf
from forcegen.scenario.model import Scenario

N = 20_000
LOW, HIGH = 40_000.0, 160_000.0
UPTAKE = 0.04
SALARY = 70_000.0
BONUS = 240_000.0
TERM = 365
Z = 4.0


def offer(salary: float, bonus: float = BONUS, term: float = TERM) -> float:
    return salary + bonus / (term / DAYS_PER_MONTH)


def uniform_share(o: float) -> float:
    return min(max((o - LOW) / (HIGH - LOW), 0.0), 1.0)


def pool(**extra: Any) -> dict[str, Any]:
    return {
        "id": "men",
        "initial_people": N,
        "reservation_wage": {
            "distribution": "uniform",
            "low_per_month": LOW,
            "high_per_month": HIGH,
        },
        **extra,
    }


def channel(**extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "id": "a",
        "pool": "men",
        "enlistment": {"model": "priced", "uptake_per_day": UPTAKE},
        "pay": {"salary_per_month": SALARY, "sign_up_bonus_federal": BONUS},
        "contract": {"term_days": TERM},
    }
    spec.update(extra)
    return spec


def priced_scenario(horizon: int = 60, **extra: Any) -> Scenario:
    return scenario([channel()], horizon=horizon, pools=[pool()], **extra)


def recruits(ens: Any) -> Any:
    return ens.inflow[..., 0, 0]


# ----------------------------------------------------------------- mean field, exact
def test_mean_field_constant_offer_is_geometric() -> None:
    t = np.arange(60)
    willing = N * uniform_share(offer(SALARY))
    expected = UPTAKE * willing * (1 - UPTAKE) ** t
    got = recruits(mean_field(priced_scenario()))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # The pool loses exactly its recruits.
    pool_left = mean_field(priced_scenario()).pool[0, :, 0]
    np.testing.assert_allclose(pool_left, N - np.cumsum(expected), rtol=1e-9)


def test_mean_field_offer_up_then_down_keeps_the_dearer_bins() -> None:
    """Salary rises on day 20 (a dearer bin becomes willing, fresh), falls below the
    first level on day 40 (only the cheapest bin stays willing, depleted since day 0)."""
    up, down = 95_000.0, 50_000.0
    events = [
        {"type": "change_pay", "date": "2023-01-21", "channel": "a", "salary_per_month": up},
        {"type": "change_pay", "date": "2023-02-10", "channel": "a", "salary_per_month": down},
    ]
    got = recruits(mean_field(priced_scenario(events=events)))[0]
    o1, o2, o3 = offer(SALARY), offer(up), offer(down)
    w1 = N * uniform_share(o1)
    dw = N * (uniform_share(o2) - uniform_share(o1))
    w3 = N * uniform_share(o3)
    q = 1 - UPTAKE
    t = np.arange(60)
    expected = np.where(
        t < 20,
        UPTAKE * w1 * q**t,
        np.where(t < 40, UPTAKE * (w1 * q**t + dw * q ** (t - 20)), UPTAKE * w3 * q**t),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_mean_field_lognormal_pool() -> None:
    median, sd = 100_000.0, 0.6
    spec = pool(
        reservation_wage={"distribution": "lognormal", "median_per_month": median, "log_sd": sd}
    )
    sc = scenario([channel()], horizon=30, pools=[spec])
    share = stats.norm.cdf((np.log(offer(SALARY)) - np.log(median)) / sd)
    t = np.arange(30)
    expected = UPTAKE * N * share * (1 - UPTAKE) ** t
    np.testing.assert_allclose(recruits(mean_field(sc))[0], expected, rtol=1e-9)


def test_mean_field_replenished_pool() -> None:
    lam = 300.0
    spec = pool(initial_people=0, replenish_per_day=lam)
    sc = scenario([channel()], horizon=80, pools=[spec])
    t = np.arange(80)
    expected = lam * uniform_share(offer(SALARY)) * (1 - (1 - UPTAKE) ** (t + 1))
    np.testing.assert_allclose(recruits(mean_field(sc))[0], expected, rtol=1e-9)


def test_mean_field_regions_offer_and_bonus_cost() -> None:
    """Two regions: the dear one (wages ×1.5, regional bonus ×3) and the rest."""
    regional = 120_000.0
    regions = [
        {"id": "capital", "share": 0.25, "wage_multiplier": 1.5, "regional_bonus_multiplier": 3},
        {"id": "rest", "share": 0.75},
    ]
    ch = channel(
        pay={
            "salary_per_month": SALARY,
            "sign_up_bonus_federal": BONUS,
            "sign_up_bonus_regional": regional,
        }
    )
    sc = scenario([ch], horizon=5, pools=[pool(regions=regions)])
    out = mean_field(sc)
    months = TERM / DAYS_PER_MONTH
    o_cap = SALARY + (BONUS + 3 * regional) / months
    o_rest = SALARY + (BONUS + regional) / months
    w_cap = 0.25 * N * uniform_share(o_cap / 1.5)
    w_rest = 0.75 * N * uniform_share(o_rest)
    np.testing.assert_allclose(recruits(out)[0, 0], UPTAKE * (w_cap + w_rest), rtol=1e-9)
    bonus_cost = UPTAKE * (w_cap * (BONUS + 3 * regional) + w_rest * (BONUS + regional))
    np.testing.assert_allclose(out.cost[0, 0, 0, 1], bonus_cost, rtol=1e-9)


def test_paid_share_lowers_the_offer() -> None:
    ch = channel(
        pay={"salary_per_month": SALARY, "sign_up_bonus_federal": BONUS, "paid_share": 0.8}
    )
    sc = scenario([ch], horizon=3, pools=[pool()])
    expected = UPTAKE * N * uniform_share(0.8 * offer(SALARY))
    np.testing.assert_allclose(recruits(mean_field(sc))[0, 0], expected, rtol=1e-9)


def test_expected_service_days_spreads_the_bonus() -> None:
    enl = {"model": "priced", "uptake_per_day": UPTAKE, "expected_service_days": 730}
    sc = scenario([channel(enlistment=enl)], horizon=3, pools=[pool()])
    expected = UPTAKE * N * uniform_share(offer(SALARY, term=730))
    np.testing.assert_allclose(recruits(mean_field(sc))[0, 0], expected, rtol=1e-9)


# --------------------------------------------------------------- stochastic, exact
@pytest.fixture(scope="module")
def stochastic_runs() -> Any:
    return ensemble(priced_scenario(horizon=40), runs=1024, seed=5)


@pytest.mark.parametrize("day", [0, 9, 39])
def test_stochastic_cumulative_recruits_are_binomial(stochastic_runs: Any, day: int) -> None:
    p = uniform_share(offer(SALARY)) * (1 - (1 - UPTAKE) ** (day + 1))
    x = recruits(stochastic_runs)[:, : day + 1].sum(axis=1)
    n = x.size
    mean, var = N * p, N * p * (1 - p)
    assert abs(x.mean() - mean) < Z * np.sqrt(var / n)
    # Var(s²) ≈ (μ4 − σ⁴)/n with the binomial's μ4 ≈ 3σ⁴ + σ²(1 − 6p(1−p)).
    mu4 = 3 * var**2 + var * (1 - 6 * p * (1 - p))
    assert abs(x.var(ddof=1) - var) < Z * np.sqrt((mu4 - var**2) / n)
    edges = stats.binom.ppf(np.linspace(0, 1, 21)[1:-1], N, p)
    observed = np.bincount(np.searchsorted(edges, x, side="left"), minlength=20)
    cdf = stats.binom.cdf(np.concatenate([edges, [N]]), N, p)
    probs = np.diff(np.concatenate([[0.0], cdf]))
    assert stats.chisquare(observed, probs / probs.sum() * n).pvalue > 1e-3


def test_stochastic_pool_conserves_people(stochastic_runs: Any) -> None:
    left = stochastic_runs.pool[:, :, 0]
    taken = np.cumsum(recruits(stochastic_runs), axis=1)
    np.testing.assert_array_equal(left + taken, N)


def test_stochastic_agrees_with_mean_field_under_changing_offers() -> None:
    events = [
        {"type": "change_pay", "date": "2023-01-11", "channel": "a", "salary_per_month": 110_000},
        {"type": "change_pay", "date": "2023-01-21", "channel": "a", "salary_per_month": 60_000},
    ]
    sc = priced_scenario(horizon=30, events=events)
    mf = recruits(mean_field(sc))[0]
    ens = recruits(ensemble(sc, runs=512, seed=9))
    # Daily recruits are sums of independent binomials: variance below their mean.
    se = np.sqrt(np.maximum(mf, 1.0) / ens.shape[0])
    assert np.all(np.abs(ens.mean(axis=0) - mf) < Z * se)


# ------------------------------------------------------------------------ properties
@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.floats(0.0, 300_000.0), min_size=0, max_size=6),
    shares=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=3),
    lognormal=st.booleans(),
)
def test_bin_masses_are_a_distribution(
    cuts: list[float], shares: list[float], lognormal: bool
) -> None:
    """Bin masses are non-negative, add up to 1, and each region's add up to its share."""
    kind = "lognormal" if lognormal else "uniform"
    a = np.array([80_000.0 if lognormal else LOW])
    b = np.array([0.5 if lognormal else HIGH])
    sh = np.array([shares])
    bounds = np.sort(np.array(cuts, dtype=np.float64))[None, None, :].repeat(len(shares), 1)
    mass = bin_masses(kind, a, b, sh, bounds)
    assert np.all(mass >= 0)
    np.testing.assert_allclose(mass.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(mass.sum(axis=-1)[0], sh[0] / sh.sum(), rtol=1e-12)
    # The mass below each cut is the CDF there.
    cdf = wage_cdf(kind, a, b, np.array(sorted(cuts)))
    np.testing.assert_allclose(np.cumsum(mass[0, 0])[:-1] / mass[0, 0].sum(), cdf, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    salary=st.floats(0.0, 200_000.0),
    uptake=st.floats(0.0, 1.0),
    people=st.integers(0, 5_000),
)
def test_recruits_never_exceed_the_willing(salary: float, uptake: float, people: int) -> None:
    ch = channel(
        enlistment={"model": "priced", "uptake_per_day": uptake},
        pay={"salary_per_month": salary},
    )
    sc = scenario([ch], horizon=8, pools=[pool(initial_people=people)])
    ens = ensemble(sc, runs=4, seed=1)
    total = recruits(ens).sum(axis=1)
    assert np.all(total <= people)
    assert np.all(ens.pool[:, -1, 0] + total == people)
    if salary <= LOW:
        assert np.all(total == 0)


def test_two_priced_channels_share_a_pool_in_scenario_order() -> None:
    """Channel a (offer O_a) draws first, then b (dearer offer O_b) from what is left:
    on day 0, a takes u_a N F(O_a) and b takes u_b (N F(O_a)(1 − u_a) + N (F(O_b) −
    F(O_a))); the bins are cut at both offers."""
    u_b, salary_b = 0.1, 110_000.0
    b = channel(
        id="b",
        enlistment={"model": "priced", "uptake_per_day": u_b},
        pay={"salary_per_month": salary_b, "sign_up_bonus_federal": BONUS},
    )
    sc = scenario([channel(), b], horizon=3, pools=[pool()])
    out = mean_field(sc)
    fa, fb = uniform_share(offer(SALARY)), uniform_share(offer(salary_b))
    first = UPTAKE * N * fa
    second = u_b * (N * fa * (1 - UPTAKE) + N * (fb - fa))
    np.testing.assert_allclose(out.inflow[0, 0, :, 0], [first, second], rtol=1e-9)
