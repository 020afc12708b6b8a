"""solve_hold recovers required recruitment and bonuses known in closed form."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from analysis_cases import mean_field_strength, single_channel
from scipy import special

from forcegen.analysis.answers import prob_hold_through
from forcegen.analysis.solve import solve_hold
from forcegen.engine.compile import DAYS_PER_MONTH
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

H = 0.01
T = 100  # days


def _c(h: float = H, days: int = T) -> float:
    """Mean strength per unit of λ on the last day: (1 − (1 − h)^T) / h."""
    return (1 - (1 - h) ** days) / h


def test_recovers_the_poisson_rate_for_the_last_day() -> None:
    # No initial force, no recruits in the scenario: strength on the last day (t = 99)
    # is Poisson(λ c) with c = (1 − 0.99^100) / 0.01, so P(S ≥ N) = P(Gamma(N) ≤ λ c)
    # = gammainc(N, λ c), and the λ that makes it equal `prob` is
    # gammaincinv(N, prob) / c.
    n, prob = 100, 0.8
    exact = special.gammaincinv(n, prob) / _c()
    answer = solve_hold(single_channel(), n, prob=prob, runs=256, seed=1, start="2022-04-10")
    assert answer.lever == "recruits"
    assert answer.parameters == ("channels.a.enlistment.recruits_per_day",)
    assert answer.value == pytest.approx(exact, rel=0.05)
    lo, hi = answer.interval
    assert lo - 0.02 * exact <= exact <= hi + 0.02 * exact
    assert float(answer.probability) >= prob - 0.05
    assert float(answer.baseline_probability) == 0.0
    assert answer.simulations == len(answer.evaluations) >= 3
    assert answer.replicates_simulated == answer.simulations * 256
    per_month = answer.per_month
    assert per_month is not None
    assert per_month[0] == pytest.approx(answer.value * DAYS_PER_MONTH)


def test_recovers_the_mean_field_rate_through_the_horizon() -> None:
    # 1,000 deployed decaying at h = 0.01 toward λ / h: strength falls monotonically, so
    # the binding day is the last: 1000 * 0.99^100 + λ c = 800.
    sc = single_channel(deployed=1000)
    exact = (800 - 1000 * (1 - H) ** T) / _c()
    answer = solve_hold(sc, 800, runs=1, mode="mean-field", sample_parameters=False)
    assert answer.value == pytest.approx(exact, rel=1e-3)
    assert answer.value >= exact  # the reported value was simulated and holds
    assert mean_field_strength(1000, answer.value, H, T - 1) >= 800 - 1e-6
    assert not answer.already_holds
    assert any("per day" in line for line in answer.describe())


def test_recovers_the_bonus_through_the_pay_elasticity() -> None:
    # Behavioural channel, huge pool (depletion negligible), mean-field: recruits a day
    # = pool * base * ((salary + bonus / term_months) / wage)^e with e = 1 and an
    # indefinite contract (bonus spread over 12 months of 30.4375 days = 365.25 days,
    # i.e. term_months = 365 / 30.4375). At no bonus that is 1e9 * 3e-9 * 1 = 3 a day.
    pool, base, wage = 1e9, 3e-9, 50_000.0
    sc = single_channel(
        deployed=1000,
        pools=[
            {"id": "p", "initial_people": pool, "reference_wage_per_month": wage},
        ],
        channel={
            "pool": "p",
            "enlistment": {"model": "behavioural", "base_rate_per_day": base, "pay_elasticity": 1},
            "pay": {"salary_per_month": wage},
        },
    )
    lam = (800 - 1000 * (1 - H) ** T) / _c()
    term_months = 365 / DAYS_PER_MONTH
    exact = term_months * (wage * lam / (pool * base) - wage)
    answer = solve_hold(sc, 800, lever="bonus", runs=1, mode="mean-field", sample_parameters=False)
    assert answer.channel == "a"
    assert answer.parameters == ("channels.a.pay.sign_up_bonus_federal",)
    assert answer.value == pytest.approx(exact, rel=2e-3)


def test_already_holding_needs_nothing(tiny: Scenario) -> None:
    answer = solve_hold(tiny, 300, runs=1, mode="mean-field", sample_parameters=False)
    assert answer.already_holds
    assert answer.value == 0.0
    assert answer.simulations == 1


def test_unreachable_targets_say_so() -> None:
    # Recruits come from a pool of 50 people: no rate can hold 500.
    sc = single_channel(pools=[{"id": "p", "initial_people": 50}], channel={"pool": "p"})
    with pytest.raises(UsageError, match="not reachable"):
        solve_hold(sc, 500, runs=1, mode="mean-field", sample_parameters=False, max_doublings=3)


def test_channel_and_lever_are_checked() -> None:
    sc = single_channel()
    with pytest.raises(UsageError, match="needs a behavioural or priced channel"):
        solve_hold(sc, 10, lever="bonus", channel="a", runs=1)
    with pytest.raises(UsageError, match="choose a channel"):
        solve_hold(sc, 10, lever="bonus", runs=1)
    with pytest.raises(UsageError, match="no channel 'b'"):
        solve_hold(sc, 10, channel="b", runs=1)
    with pytest.raises(UsageError, match="prob must be"):
        solve_hold(sc, 10, prob=1.0, runs=1)
    with pytest.raises(UsageError, match="unknown channel"):
        solve_hold(sc, 10, strength_channels=["z"], runs=1)
    with pytest.raises(UsageError, match="never recruits"):
        solve_hold(single_channel(channel={"active": False}), 10, runs=1)


def test_common_random_numbers_make_the_answer_reproducible() -> None:
    sc = single_channel(killed=0.02, horizon=60)
    a = solve_hold(sc, 60, runs=128, seed=4, start="2022-03-01")
    b = solve_hold(sc, 60, runs=128, seed=4, start="2022-03-01")
    assert (a.value, a.interval) == (b.value, b.interval)
    # The stated hold probability is the one a fresh run at the answer gives (the
    # scenario's own rate is 0, so the answer is the whole rate).
    rate = {"channels.a.enlistment.recruits_per_day": np.full(128, a.value)}
    result = Sim(sc, runs=128, seed=4, given=rate).run()
    p = prob_hold_through(result, 60, start="2022-03-01")
    assert p.successes == a.probability.successes
    assert float(p) >= 0.8


def _raised_bonus(**extra: object) -> Scenario:
    """Behavioural channel whose federal sign-up bonus is raised from 1,000 to 3,000
    on day 100 of 200 by a change_pay event."""
    return single_channel(
        deployed=1000,
        horizon=200,
        pools=[{"id": "p", "initial_people": 1e9, "reference_wage_per_month": 50_000.0}],
        channel={
            "pool": "p",
            "enlistment": {"model": "behavioural", "base_rate_per_day": 3e-9, "pay_elasticity": 1},
            "pay": {"salary_per_month": 50_000.0, "sign_up_bonus_federal": 1000},
        },
        events=[
            {
                "type": "change_pay",
                "date": "2022-04-11",
                "channel": "a",
                "sign_up_bonus_federal": 3000,
            }
        ],
        **extra,
    )


def test_the_bonus_baseline_follows_a_dated_raise() -> None:
    sc = _raised_bonus()
    answer = solve_hold(sc, 800, lever="bonus", runs=1, mode="mean-field", sample_parameters=False)
    assert answer.parameters == (
        "channels.a.pay.sign_up_bonus_federal",
        "events.0.sign_up_bonus_federal",
    )
    # 100 days at 1,000 and 100 days at 3,000, not the first bonus alone.
    assert answer.baseline == pytest.approx(2000)
    assert answer.baseline_steps == (
        (dt.date(2022, 1, 1), 1000.0),
        (dt.date(2022, 4, 11), 3000.0),
    )
    text = " ".join(answer.describe())
    assert "1,000 RUB from 2022-01-01, then 3,000 RUB from 2022-04-11" in text
    assert "2,000 RUB on average over the window" in text
    # A window that starts after the raise sees only the raised bonus.
    later = solve_hold(
        sc, 300, lever="bonus", runs=1, mode="mean-field", sample_parameters=False,
        start="2022-05-01",
    )  # fmt: skip
    assert later.baseline == pytest.approx(3000)
    assert later.baseline_steps == ((dt.date(2022, 5, 1), 3000.0),)


def test_a_dated_series_of_recruits_is_weighted_by_days() -> None:
    series = {"series": [{"from": "2022-01-01", "value": 10}, {"from": "2022-03-12", "value": 40}]}
    sc = single_channel(
        recruits=0,
        deployed=0,
        channel={"enlistment": {"model": "series", "recruits_per_day": series}},
    )
    answer = solve_hold(sc, 3000, runs=1, mode="mean-field", sample_parameters=False)
    # 70 days at 10 and 30 days at 40 (the old mean of the steps was 25).
    assert answer.baseline == pytest.approx((70 * 10 + 30 * 40) / 100)
