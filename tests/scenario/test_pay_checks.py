"""Located validation of priced recruitment and pay-driven retention (docs/scenarios.md,
Bounds): every problem names its file, line, field and what was expected."""

from __future__ import annotations

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario_text

HEAD = """\
name: bad
start_date: 2023-01-01
horizon_days: 30
"""
LOSSES = """\
losses:
  killed_per_day: 0.001
  wounded_per_day: 0.001
  missing_per_day: 0.0
  recovery: {mean_days: 10, return_probability: 0.5}
"""


def problems(body: str) -> dict[str, tuple[int, str]]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(HEAD + body + LOSSES, "bad.yaml")
    found = {p.field: (p.line, p.message) for p in info.value.problems if p.severity == "error"}
    assert all(p.file == "bad.yaml" for p in info.value.problems)
    return found


def test_wage_distribution_regions_and_pool_users() -> None:
    found = problems(
        """\
pools:
  - id: men
    initial_people: 1000
    reservation_wage:
      distribution: uniform
      low_per_month: 100
      high_per_month: 50
    regions:
      - {id: a, share: 0.5}
      - {id: a, share: 0.4}
  - id: women
    initial_people: 10
    regions:
      - {id: x, share: 1}
channels:
  - id: a
    pool: men
    enlistment: {model: priced, uptake_per_day: 0.1}
  - id: b
    pool: men
    enlistment: {model: series, recruits_per_day: 1}
  - id: c
    pool: women
    enlistment: {model: priced, uptake_per_day: 0.1}
  - id: d
    enlistment: {model: priced, uptake_per_day: 0.1}
"""
    )
    line, message = found["pools[0].reservation_wage.high_per_month"]
    assert line == 10
    assert "must exceed low_per_month" in message
    assert "add up to 1, got 0.9" in found["pools[0].regions"][1]
    assert found["pools[0].regions[1].id"][1].startswith("duplicate region id 'a'")
    assert "add reservation_wage" in found["pools[1].regions"][1]
    assert "only priced channels" in found["channels[1].pool"][1]
    assert found["channels[1].pool"][0] == 23
    assert "needs reservation_wage" in found["channels[2].pool"][1]
    assert "needs a pool" in found["channels[3].enlistment.model"][1]


def test_lognormal_and_retention() -> None:
    found = problems(
        """\
pools:
  - id: men
    initial_people: 1000
    reservation_wage: {distribution: lognormal, median_per_month: 0, log_sd: 0}
channels:
  - id: a
    pool: men
    enlistment: {model: priced, uptake_per_day: 1.5}
    contract:
      retention: {civilian_wage_per_month: 0, currency: EUR}
events:
  - {type: mobilisation_wave, date: 2023-01-05, channel: a, size_people: 10,
     duration_days: 2}
"""
    )
    assert "must be positive" in found["pools[0].reservation_wage.log_sd"][1]
    assert "must be positive" in found["pools[0].reservation_wage.median_per_month"][1]
    assert "within [0, 1]" in found["channels[0].enlistment.uptake_per_day"][1]
    line, message = found["channels[0].contract.retention.civilian_wage_per_month"]
    assert line == 13
    assert "must be positive" in message
    assert "no exchange rate" in found["channels[0].contract.retention.currency"][1]
    assert "cannot call up" in found["events[0].channel"][1]


def test_unknown_distribution_is_located() -> None:
    found = problems(
        """\
pools:
  - id: men
    initial_people: 1000
    reservation_wage: {distribution: pareto, low_per_month: 1}
channels:
  - id: a
    pool: men
    enlistment: {model: priced, uptake_per_day: 0.1}
"""
    )
    (field,) = [f for f in found if f.startswith("pools[0].reservation_wage")]
    assert "lognormal" in found[field][1]
    assert found[field][0] == 7
