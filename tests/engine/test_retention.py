"""Pay-driven retention (docs/model.md, "Pay-driven retention"): exact results.

With ``v = β_pay ln(salary / wage) − β_arrears (1 − paid_share) + β_service · a/365.25``
the renewal odds are the base odds times ``e^v`` and early termination is the base
probability times ``e^−v``.

* A step change in pay on day ``d``, an indefinite contract, ``N`` people deployed and
  nothing but early termination: the deployed at the end of day ``t`` are
  ``N (1 − h₁)^(t+1)`` before ``d`` and ``N (1 − h₁)^d (1 − h₂)^(t+1−d)`` after
  (mean field), each survivor independently (stochastic: binomial).
* A fixed term ``T`` with ``N`` deployed spread evenly over ages ``0 … T−1`` and
  renewals into the same channel: on each day ``t < T``, ``N/T`` people reach their
  term and ``N/T · p(t)`` renew.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from engine_helpers import ensemble, mean_field, scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from forcegen.engine.retention import early_termination, pay_index, renewal
from forcegen.scenario.model import EXIT_CAUSES, Scenario

N = 10_000
WAGE = 60_000.0
S1, S2 = 90_000.0, 180_000.0
H0 = 0.004
BETA = 1.3
STEP_DAY = 15
Z = 4.0


def pay_change(day_date: str, **pay: float) -> dict[str, Any]:
    return {"type": "change_pay", "date": day_date, "channel": "a", **pay}


def channel(contract: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": "a",
        "enlistment": {"model": "series", "recruits_per_day": 0},
        "pay": {"salary_per_month": S1},
        "contract": contract,
        "initial": {"deployed": N},
        **extra,
    }


def termination_scenario(horizon: int = 40, **retention: Any) -> Scenario:
    ret = {"civilian_wage_per_month": WAGE, "pay_coefficient": BETA, **retention}
    contract = {"early_termination_per_day": H0, "retention": ret}
    return scenario(
        [channel(contract)],
        horizon=horizon,
        events=[pay_change("2023-01-16", salary_per_month=S2)],
    )


def survival(t: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    h1 = H0 * (S1 / WAGE) ** -BETA
    h2 = H0 * (S2 / WAGE) ** -BETA
    return np.where(
        t < STEP_DAY,
        (1 - h1) ** (t + 1),
        (1 - h1) ** STEP_DAY * (1 - h2) ** (t + 1 - STEP_DAY),
    )


def test_mean_field_termination_after_a_pay_rise() -> None:
    out = mean_field(termination_scenario())
    t = np.arange(40)
    np.testing.assert_allclose(out.strength[0, :, 0, 1], N * survival(t), rtol=1e-9)


def test_stochastic_termination_after_a_pay_rise_is_binomial() -> None:
    ens = ensemble(termination_scenario(), runs=512, seed=4)
    for day in (5, 14, 15, 39):
        s = float(survival(np.array(day)))
        x = ens.strength[:, day, 0, 1]
        assert abs(x.mean() - N * s) < Z * np.sqrt(N * s * (1 - s) / x.size)
        # Sample variance within 4 SE of the binomial's (normal fourth moment).
        var = N * s * (1 - s)
        assert abs(x.var(ddof=1) - var) < Z * var * np.sqrt(2 / (x.size - 1))


def test_arrears_raise_termination() -> None:
    """paid_share 0.7 from day 15 instead of a pay rise."""
    beta_a = 2.0
    ret = {"civilian_wage_per_month": WAGE, "pay_coefficient": BETA, "arrears_coefficient": beta_a}
    sc = scenario(
        [channel({"early_termination_per_day": H0, "retention": ret})],
        horizon=30,
        events=[pay_change("2023-01-16", paid_share=0.7)],
    )
    h1 = H0 * (S1 / WAGE) ** -BETA
    h2 = h1 * np.exp(beta_a * 0.3)
    t = np.arange(30)
    expected = N * np.where(
        t < STEP_DAY, (1 - h1) ** (t + 1), (1 - h1) ** STEP_DAY * (1 - h2) ** (t + 1 - STEP_DAY)
    )
    np.testing.assert_allclose(mean_field(sc).strength[0, :, 0, 1], expected, rtol=1e-9)


TERM = 50
P0 = 0.4
BETA_S = 0.8


def renewal_scenario(**retention: Any) -> Scenario:
    ret = {"civilian_wage_per_month": WAGE, "pay_coefficient": BETA, **retention}
    contract = {"term_days": TERM, "renewal_probability": P0, "retention": ret}
    return scenario(
        [channel(contract)],
        horizon=45,
        events=[pay_change("2023-01-16", salary_per_month=S2)],
    )


def renew_p(salary: float, service: float = 0.0) -> float:
    v = BETA * np.log(salary / WAGE) + service * TERM / 365.25
    odds = P0 / (1 - P0) * np.exp(v)
    return float(odds / (1 + odds))


def test_mean_field_renewal_after_a_pay_rise() -> None:
    out = mean_field(renewal_scenario())
    t = np.arange(45)
    p = np.where(t < STEP_DAY, renew_p(S1), renew_p(S2))
    renewed = out.transition[0, :, 0, 3]
    expired = out.outflow[0, :, 0, EXIT_CAUSES.index("expired")]
    np.testing.assert_allclose(renewed, N / TERM * p, rtol=1e-9)
    np.testing.assert_allclose(expired, N / TERM * (1 - p), rtol=1e-9)


def test_renewal_counts_service_at_term_end() -> None:
    out = mean_field(renewal_scenario(service_coefficient=BETA_S))
    np.testing.assert_allclose(
        out.transition[0, :5, 0, 3], N / TERM * renew_p(S1, BETA_S), rtol=1e-9
    )


def test_service_term_varies_early_termination_by_age() -> None:
    """Ages 0 … T−1 hold N/T people each (mean field); those at or past the minimum
    service terminate on day 0 with h0·(s/w)^−β·exp(−β_s·a/365.25)."""
    min_service = 10
    ret = {"civilian_wage_per_month": WAGE, "pay_coefficient": BETA, "service_coefficient": BETA_S}
    contract = {
        "term_days": TERM,
        "early_termination_per_day": H0,
        "min_service_days": min_service,
        "retention": ret,
    }
    out = mean_field(scenario([channel(contract)], horizon=2))
    ages = np.arange(min_service, TERM)
    h = H0 * (S1 / WAGE) ** -BETA * np.exp(-BETA_S * ages / 365.25)
    expected = N / TERM * h.sum()
    got = out.outflow[0, 0, 0, EXIT_CAUSES.index("terminated")]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_zero_coefficients_give_the_constants() -> None:
    with_ret = mean_field(renewal_scenario(pay_coefficient=0.0))
    contract = {"term_days": TERM, "renewal_probability": P0}
    plain = mean_field(scenario([channel(contract)], horizon=45))
    np.testing.assert_allclose(with_ret.strength, plain.strength, rtol=1e-12)
    np.testing.assert_allclose(with_ret.transition, plain.transition, rtol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(0.0, 1.0),
    v1=st.floats(-30.0, 30.0),
    v2=st.floats(-30.0, 30.0),
)
def test_renewal_and_termination_are_monotone_in_the_index(
    base: float, v1: float, v2: float
) -> None:
    b = np.array([base])
    lo, hi = sorted((v1, v2))
    assert renewal(b, np.array([lo]))[0] <= renewal(b, np.array([hi]))[0] + 1e-15
    assert (
        early_termination(b, np.array([lo]))[0] + 1e-15 >= early_termination(b, np.array([hi]))[0]
    )
    np.testing.assert_allclose(renewal(b, np.array([0.0])), b, atol=1e-15)
    np.testing.assert_allclose(early_termination(b, np.array([0.0])), b, atol=1e-15)


def test_pay_index_special_values() -> None:
    zero = np.array([0.0])
    # A zero coefficient ignores even a zero salary.
    assert pay_index(zero, np.array([1.0]), np.array([1.0]), zero, zero)[0] == 0.0
    assert pay_index(zero, np.array([1.0]), np.array([1.0]), np.array([1.0]), zero)[0] == -np.inf
    assert renewal(np.array([0.5]), np.array([-np.inf]))[0] == 0.0
    assert early_termination(np.array([0.01]), np.array([-np.inf]))[0] == 1.0
