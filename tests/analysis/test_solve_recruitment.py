"""solve_recruitment: the bonus that keeps priced recruitment at N a day, in closed form.

A pool of ``P`` people with reservation wages uniform on ``[a, b]``, a constant offer
``O = salary + bonus / months`` and uptake ``u``: recruits on day ``t`` are
``u P F(O) (1 − u)^t`` (mean field; test_pricing.py). So

* on average over days ``0 … T−1``: ``P F(O) (1 − (1 − u)^T) / T = N``;
* on every day (the last is the lowest): ``u P F(O) (1 − u)^(T−1) = N``;

each gives ``F(O)``, hence ``O = a + (b − a) F`` and the bonus ``(O − salary) · months``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from forcegen.analysis.solve import solve_hold
from forcegen.analysis.solve_recruitment import solve_recruitment
from forcegen.engine.compile import DAYS_PER_MONTH
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

CliResult = tuple[int, str, str]
POOL = 20_000
LOW, HIGH = 40_000.0, 160_000.0
UPTAKE = 0.04
SALARY = 50_000.0
BONUS = 60_000.0
TERM = 365
DAYS = 60
MONTHS = TERM / DAYS_PER_MONTH


def priced(**enlistment: Any) -> Scenario:
    spec: dict[str, Any] = {
        "name": "priced",
        "start_date": "2023-01-01",
        "horizon_days": DAYS,
        "pools": [
            {
                "id": "men",
                "initial_people": POOL,
                "reservation_wage": {
                    "distribution": "uniform",
                    "low_per_month": LOW,
                    "high_per_month": HIGH,
                },
            }
        ],
        "channels": [
            {
                "id": "a",
                "pool": "men",
                "enlistment": {"model": "priced", "uptake_per_day": UPTAKE, **enlistment},
                "pay": {"salary_per_month": SALARY, "sign_up_bonus_federal": BONUS},
                "contract": {"term_days": TERM},
            }
        ],
        "losses": {
            "killed_per_day": 0.0,
            "wounded_per_day": 0.0,
            "missing_per_day": 0.0,
            "recovery": {"mean_days": 10, "return_probability": 0.5},
        },
    }
    return Scenario.model_validate(spec)


def extra_for_share(share: float) -> float:
    offer = LOW + (HIGH - LOW) * share
    return (offer - SALARY) * MONTHS - BONUS


def test_average_target_matches_the_closed_form() -> None:
    target = 80.0
    share = target * DAYS / (POOL * (1 - (1 - UPTAKE) ** DAYS))
    answer = solve_recruitment(priced(), target, mode="mean-field", runs=1)
    assert answer.value == pytest.approx(extra_for_share(share), rel=1e-6)
    assert answer.reached == pytest.approx(target, rel=1e-6)
    assert not answer.already_reached
    assert answer.baseline == pytest.approx(BONUS)
    assert answer.parameters == ("channels.a.pay.sign_up_bonus_federal",)
    # The bonus found reproduces the target when simulated on its own.
    given = {"channels.a.pay.sign_up_bonus_federal": np.array([BONUS + answer.value])}
    result = Sim(priced(), runs=1, mode="mean-field", sample_parameters=False, given=given).run()
    recruits = result.total("inflow", channels="a", categories="recruited")
    assert recruits.mean() == pytest.approx(target, rel=1e-6)
    assert any("Extra federal sign-up bonus" in line for line in answer.describe())


def test_every_day_target_matches_the_closed_form() -> None:
    target = 20.0
    share = target / (UPTAKE * POOL * (1 - UPTAKE) ** (DAYS - 1))
    answer = solve_recruitment(priced(), target, every_day=True, mode="mean-field", runs=1)
    assert answer.value == pytest.approx(extra_for_share(share), rel=1e-6)
    assert answer.evaluations[-1].daily.min() == pytest.approx(target, rel=1e-6)


def test_stochastic_answer_agrees_with_the_mean_field_one() -> None:
    """The stochastic statistic is a mean of binomial counts, unbiased for the
    mean-field value: the roots differ by a few standard errors over the slope."""
    target = 80.0
    mf = solve_recruitment(priced(), target, mode="mean-field", runs=1)
    st = solve_recruitment(priced(), target, mode="stochastic", runs=128, seed=3)
    slope = POOL * (1 - (1 - UPTAKE) ** DAYS) / DAYS / ((HIGH - LOW) * MONTHS)  # per currency
    assert abs(st.value - mf.value) < 5 * st.standard_error / slope + 1e-3 * st.evaluations[1].value
    assert st.standard_error > 0


def test_already_reached_and_unreachable() -> None:
    low = solve_recruitment(priced(), 1.0, mode="mean-field", runs=1)
    assert low.already_reached
    assert low.value == 0.0
    # Everyone willing enlisting at once is at most P (1 − (1 − u)^T) / T a day.
    with pytest.raises(UsageError, match="not reached"):
        solve_recruitment(priced(), POOL / DAYS, mode="mean-field", runs=1, max_doublings=3)
    with pytest.raises(UsageError, match="positive"):
        solve_recruitment(priced(), 0.0)


def test_hold_solve_accepts_a_priced_channel() -> None:
    """The bonus lever of solve_hold moves a priced channel's offer: deployed strength
    on the last day is every recruit so far, ``P F(O) (1 − (1 − u)^T)``."""
    target = 3000.0
    share = target / (POOL * (1 - (1 - UPTAKE) ** DAYS))
    answer = solve_hold(
        priced(),
        target,
        lever="bonus",
        start="2023-03-01",
        runs=1,
        mode="mean-field",
        sample_parameters=False,
    )
    assert answer.channel == "a"
    assert answer.value == pytest.approx(extra_for_share(share), rel=1e-4)


PRICED_YAML = """\
name: priced
start_date: 2023-01-01
horizon_days: 60
pools:
  - id: men
    initial_people: {value: 20000, assumption: test}
    reservation_wage:
      distribution: uniform
      low_per_month: {value: 40000, assumption: test}
      high_per_month: {value: 160000, assumption: test}
channels:
  - id: a
    pool: men
    enlistment: {model: priced, uptake_per_day: {value: 0.04, assumption: test}}
    pay:
      salary_per_month: {value: 50000, assumption: test}
      sign_up_bonus_federal: {value: 60000, assumption: test}
    contract: {term_days: {value: 365, assumption: test}}
losses:
  killed_per_day: {value: 0, assumption: test}
  wounded_per_day: {value: 0, assumption: test}
  missing_per_day: {value: 0, assumption: test}
  recovery:
    mean_days: {value: 10, assumption: test}
    return_probability: {value: 0.5, assumption: test}
"""


def test_solve_command_with_a_recruitment_target(
    run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    path = tmp_path / "priced.yaml"
    path.write_text(PRICED_YAML, encoding="utf-8")
    code, out, err = run_cli(
        "solve", str(path), "--recruits-per-day", "80", "--runs", "2", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)["data"]
    share = 80.0 * DAYS / (POOL * (1 - (1 - UPTAKE) ** DAYS))
    assert data["value"] == pytest.approx(extra_for_share(share), rel=1e-5)
    assert data["reached"] == pytest.approx(80.0, rel=1e-5)
    code, _, err = run_cli("solve", str(path), "--recruits-per-day", "80", "--hold-strength", "5")
    assert code == 2
    assert "exactly one target" in err
