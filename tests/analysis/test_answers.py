"""Answer functions against cases with known answers."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from analysis_cases import mean_field_strength, single_channel
from scipy import optimize, stats

from forcegen.analysis.answers import (
    Probability,
    costs,
    prob_hold,
    prob_hold_through,
    time_below,
    wilson_interval,
)
from forcegen.errors import UsageError
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

H = 0.01


def _mean_field(scenario: Scenario, runs: int = 3) -> Result:
    return Sim(scenario, runs=runs, mode="mean-field", sample_parameters=False).run()


# ------------------------------------------------------------------------ time below
def test_time_below_is_exact_in_mean_field(tiny: Scenario) -> None:
    result = Sim(tiny, runs=3, mode="mean-field", sample_parameters=False).run()
    # 1000 * 0.99^(t+1) < 500  <=>  t + 1 > ln 0.5 / ln 0.99 = 68.97  <=>  t >= 68
    first = math.ceil(math.log(0.5) / math.log(1 - H)) - 1
    assert (
        mean_field_strength(1000, 0, H, first) < 500 <= mean_field_strength(1000, 0, H, first - 1)
    )
    tb = time_below(result, 500)
    assert float(tb.probability) == 1.0
    expected = pd.Timestamp("2022-01-01") + pd.Timedelta(days=first)
    assert (tb.first_below == expected).all()
    assert all(d == expected for d in tb.quantiles().values())
    curve = tb.curve
    assert curve.iloc[first - 1] == 0.0
    assert curve.iloc[first] == 1.0
    assert curve.iloc[-1] == 1.0


def test_time_below_never_happens(tiny: Scenario) -> None:
    result = Sim(tiny, runs=2, mode="mean-field", sample_parameters=False).run()
    tb = time_below(result, 300)  # strength ends at 1000 * 0.99^100 = 366
    assert float(tb.probability) == 0.0
    assert tb.first_below.isna().all()
    assert pd.isna(tb.median_date)
    assert tb.curve.iloc[-1] == 0.0


def test_time_below_curve_is_the_empirical_cdf() -> None:
    # Stochastic: every replicate observed to the horizon, so the Kaplan-Meier curve is
    # the share of replicates whose first day below is on or before each date.
    result = Sim(single_channel(deployed=200, killed=0.02, horizon=80), runs=256, seed=3).run()
    tb = time_below(result, 150)
    days = tb.first_day
    for k in (10, 20, 40, 79):
        share = float(((days >= 0) & (days <= k)).mean())
        assert tb.curve.iloc[k] == pytest.approx(share)
    assert tb.curve.is_monotonic_increasing
    assert float(tb.probability) == pytest.approx(tb.curve.iloc[-1])


# ------------------------------------------------------------------- hold probability
@pytest.mark.parametrize("day", [29, 59])
def test_prob_hold_matches_the_poisson_closed_form(day: int) -> None:
    lam, h, runs = 5.0, 0.05, 1024
    result = Sim(single_channel(recruits=lam, killed=h, horizon=60), runs=runs, seed=11).run()
    mu = lam * (1 - (1 - h) ** (day + 1)) / h
    target = round(mu)
    truth = float(stats.poisson.sf(target - 1, mu))  # P(S >= target)
    when = pd.Timestamp("2022-01-01") + pd.Timedelta(days=day)
    p = prob_hold(result, target, by=when.date())
    assert isinstance(p, Probability)
    assert abs(float(p) - truth) < 4 * math.sqrt(truth * (1 - truth) / runs)
    assert p.low <= float(p) <= p.high
    assert p.trials == runs


def test_prob_hold_through_is_exact_in_mean_field(tiny: Scenario) -> None:
    result = Sim(tiny, runs=2, mode="mean-field", sample_parameters=False).run()
    assert float(prob_hold_through(result, 500, until="2022-03-09")) == 1.0  # day 67
    assert float(prob_hold_through(result, 500, until="2022-03-10")) == 0.0  # day 68
    assert float(prob_hold_through(result, 500, start="2022-03-10", until="2022-03-10")) == 0.0
    assert float(prob_hold(result, 366)) == 1.0  # day 99: 366.03
    assert float(prob_hold(result, 367)) == 0.0


def test_prob_hold_rejects_dates_outside_the_horizon(tiny: Scenario) -> None:
    result = Sim(tiny, runs=1, mode="mean-field", sample_parameters=False).run()
    with pytest.raises(UsageError, match="outside the simulated horizon"):
        prob_hold(result, 10, by="2023-01-01")
    with pytest.raises(UsageError, match="cannot read"):
        prob_hold(result, 10, by="not a date")


# ------------------------------------------------------------------------ Wilson
@pytest.mark.parametrize(("k", "n"), [(8, 10), (0, 20), (20, 20), (37, 256)])
def test_wilson_interval_solves_the_score_equation(k: int, n: int) -> None:
    # Independent derivation: the Wilson bounds are the p where |k/n - p| equals
    # z * sqrt(p (1 - p) / n).
    z = stats.norm.ppf(0.975)
    p_hat = k / n

    def score(p: float) -> float:
        return abs(p_hat - p) - z * math.sqrt(p * (1 - p) / n)

    low, high = wilson_interval(k, n)
    eps = 1e-12  # the score is zero at p = p_hat itself when k is 0 or n
    expect_low = 0.0 if k == 0 else optimize.brentq(score, eps, p_hat - eps)
    expect_high = 1.0 if k == n else optimize.brentq(score, p_hat + eps, 1 - eps)
    assert low == pytest.approx(expect_low, abs=1e-9)
    assert high == pytest.approx(expect_high, abs=1e-9)


def test_probability_is_a_float_that_keeps_its_interval() -> None:
    p = Probability(8, 10)
    assert p == 0.8
    assert p > 0.5
    again = pickle.loads(pickle.dumps(p))
    assert (again.successes, again.trials, again.low, again.high) == (8, 10, p.low, p.high)
    assert "80%" in p.format()


# ---------------------------------------------------------------------------- costs
def test_costs_of_a_constant_force_are_exact() -> None:
    # 1,000 deployed, no losses, no recruits, salary 30,437.5 RUB a month (1,000 a day),
    # 80 % paid: 800,000 paid and 200,000 unpaid a day.
    sc = single_channel(
        deployed=1000,
        killed=0.0,
        horizon=60,
        channel={"pay": {"salary_per_month": 30437.5, "paid_share": 0.8}},
    )
    c = costs(_mean_field(sc))
    assert list(c.days_in_month) == [31, 28, 1]
    assert list(c.months) == list(pd.to_datetime(["2022-01-01", "2022-02-01", "2022-03-01"]))
    salary = c.monthly("salary")
    assert salary[0.5].to_numpy() == pytest.approx([800_000 * 31, 800_000 * 28, 800_000])
    assert c.total().median == pytest.approx(800_000 * 60)
    assert c.total(paid=False).median == pytest.approx(200_000 * 60)
    assert c.promised().median == pytest.approx(1_000_000 * 60)
    assert c.per_deployed_person_day.median == pytest.approx(800.0)
    assert math.isnan(c.per_recruit.median)  # no recruits
    assert c.total("death_compensation").median == 0.0


def test_costs_per_recruit_and_bonuses() -> None:
    sc = single_channel(
        recruits=2.0,
        killed=0.0,
        horizon=50,
        channel={"pay": {"sign_up_bonus_federal": 1000.0, "paid_share": 0.5}},
    )
    c = costs(_mean_field(sc))
    assert c.total("sign_up_bonus").median == pytest.approx(2.0 * 50 * 1000 * 0.5)
    assert c.per_recruit.median == pytest.approx(500.0)
    assert c.table().loc["total", "paid_median"] == pytest.approx(c.total().median)


def test_costs_convert_at_each_replicates_sampled_rate() -> None:
    # Salary set in USD and converted to RUB by the engine at the replicate's rate;
    # converting back at the same sampled rate recovers the USD amount exactly.
    sc = single_channel(
        deployed=100,
        killed=0.0,
        horizon=30,
        currency="RUB",
        exchange_rates={"USD": {"range": [50, 80]}},
        channel={"pay": {"currency": "USD", "salary_per_month": 3043.75}},
    )
    result = Sim(sc, runs=200, seed=5, mode="mean-field").run()
    rub = costs(result)
    usd = costs(result, convert_to="USD")
    rates = result.parameters["exchange_rates.USD"]
    assert np.allclose(usd.exchange_rate, rates)
    assert np.ptp(rub.per_replicate()) > 0  # RUB cost varies with the rate...
    assert np.allclose(usd.per_replicate(), 100 * 100.0 * 30)  # ...USD cost does not
    with pytest.raises(UsageError, match="no exchange rate for 'EUR'"):
        costs(result, convert_to="EUR")


def test_costs_convert_at_the_mean_rate_when_not_sampled() -> None:
    sc = single_channel(
        deployed=10,
        killed=0.0,
        horizon=10,
        exchange_rates={"USD": {"range": [50, 70]}},
        channel={"pay": {"salary_per_month": 30437.5}},
    )
    result = _mean_field(sc)
    usd = costs(result, convert_to="USD")
    assert np.allclose(usd.exchange_rate, 60.0)
    assert usd.total().median == pytest.approx(10 * 1000 * 10 / 60.0)
