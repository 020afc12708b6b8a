"""Shared fixtures for the scenario-language tests: a small, complete, valid scenario
and helpers to run the command line and find lines in a text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

VALID_SCENARIO = """\
# A small but complete scenario: two pools, a behavioural and a series channel,
# losses with recovery, three events and a two-claim ledger. Every parameter is
# sourced and every claim is cited, so it loads without warnings.
schema_version: 1
name: test-covert
title: Test scenario
description: Small but complete scenario used by the tests.
start_date: 2022-08-01
horizon_days: 365
currency: RUB
exchange_rates:
  USD:
    range: [55, 75]
    assumption: rouble rate range in 2022
claims:
  - id: kommersant-salaries
    statement: Monthly salaries from about $2,150 to nearly $5,500, plus bonuses.
    range: [2150, 5500]
    unit: USD per month
    claimant: Kommersant
    publication: AP
    published: 2022-08-07
    status: independent-count
  - id: osechkin-applicants
    statement: About 1,500 prisoners might have applied by late July.
    value: 1500
    unit: people
    claimant: Vladimir Osechkin
    publication: AP
    published: 2022-08-07
    status: estimate
pools:
  - id: civilians
    label: Men up to 50
    initial_people:
      range: [1000000, 3000000]
      assumption: wide guess of the eligible population
    reference_wage_per_month:
      value: 60000
      assumption: typical regional civilian wage
  - id: prisoners
    label: Prison population
    initial_people:
      value: 20000
      assumption: prisons in regions with recruitment
channels:
  - id: volunteers
    label: Regional volunteer battalions
    kind: volunteer_battalion
    pool: civilians
    enlistment:
      model: behavioural
      base_rate_per_day:
        dist: lognormal
        median: 0.00002
        p95: 0.00008
        assumption: a few hundred recruits a day
      pay_elasticity:
        range: [0.5, 2.0]
        assumption: literature range for pay elasticities
    training_days:
      range: [14, 30]
      assumption: short training reported for volunteer battalions
    pay:
      currency: USD
      salary_per_month:
        range: [2150, 5500]
        evidence: [kommersant-salaries]
      paid_share:
        value: 0.9
        assumption: some recruits are not paid in full
    contract:
      term_days:
        value: 180
        assumption: six-month contracts
      renewal_probability:
        range: [0.2, 0.5]
        assumption: few renew
  - id: prisoners
    label: Prisoner recruitment
    kind: prisoner
    pool: prisoners
    enlistment:
      model: series
      recruits_per_day:
        series:
          - from: 2022-08-01
            value: 50
          - from: 2022-10-01
            range: [20, 80]
        evidence: [osechkin-applicants]
    contract:
      term_days:
        value: 180
        assumption: six months, then a pardon
      on_term_end: released
losses:
  killed_per_day:
    dist: lognormal
    median: 0.001
    p95: 0.004
    assumption: order of magnitude of reported losses
  wounded_per_day:
    range: [0.002, 0.006]
    assumption: about three wounded per death
  missing_per_day:
    value: 0.0002
    assumption: small
  service_multipliers:
    - until_day: 30
      multiplier:
        value: 2
        assumption: untrained recruits die more often early on
  recovery:
    mean_days:
      range: [30, 90]
      assumption: weeks to months
    return_probability:
      value: 0.6
      assumption: most return to duty
events:
  - type: change_pay
    date: 2022-09-01
    channel: volunteers
    sign_up_bonus_regional:
      value: 2000
      assumption: regional bonuses rise in autumn
    assumption: bonus increase
  - type: widen_eligibility
    date: 2022-09-15
    pool: prisoners
    add_people:
      value: 10000
      assumption: prisoners without military experience become eligible
    evidence: [osechkin-applicants]
  - type: stop_channel
    date: 2023-03-01
    channel: prisoners
    assumption: prisoner recruitment ends in spring
"""


@pytest.fixture
def valid_text() -> str:
    """YAML text of a small, complete scenario that loads without warnings."""
    return VALID_SCENARIO


@pytest.fixture
def line_of() -> Callable[[str, str], int]:
    """``line_of(text, needle)``: 1-based line of the only line containing ``needle``."""

    def find(text: str, needle: str) -> int:
        hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
        assert len(hits) == 1, f"{needle!r} is on lines {hits}"
        return hits[0]

    return find


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """``write(text, name="scenario.yaml")``: write a file in a fresh folder."""

    def put(content: str | bytes, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return put
