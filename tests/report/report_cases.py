"""A small scenario for the report tests: two channels, one pool, a three-claim ledger
(an independent count, an unverified report, a denial) and hostile text to escape."""

from __future__ import annotations

from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario

HOSTILE = "<script>alert('x')</script> & <b>bold</b> \"quoted\""
"""Scenario text that must come out escaped."""

YAML = """
name: report-test
title: "Report test <i>scenario</i>"
description: "Injected: <script>alert('x')</script> & <b>bold</b> \\"quoted\\""
start_date: 2022-01-01
horizon_days: 90
currency: RUB
exchange_rates:
  USD: {range: [55, 75], assumption: rate band}
claims:
  - id: count-regulars
    statement: "Regular recruits counted at 20 a day <img src=x onerror=alert(1)>"
    value: 20
    unit: people per day
    claimant: A counter
    publication: Daily
    published: 2022-01-01
    url: https://example.org/count
    status: independent-count
  - id: rumour-prison
    statement: Prisoners recruited, reportedly.
    claimant: Anonymous
    publication: Weekly
    published: 2022-01-02
    status: unverified-report
  - id: denial
    statement: Officials deny prison recruitment.
    claimant: Ministry
    publication: Weekly
    published: 2022-01-03
    status: denied
pools:
  - id: prison
    label: "Prison <pool>"
    initial_people: {value: 5000, evidence: [rumour-prison]}
channels:
  - id: regulars
    label: Regular contracts
    enlistment:
      model: series
      recruits_per_day: {value: 20, evidence: [count-regulars]}
    pay:
      salary_per_month: {value: 60000, assumption: typical pay}
    initial:
      deployed: {value: 2000, assumption: assumed start}
  - id: prisoners
    label: "Prisoners & <others>"
    pool: prison
    enlistment:
      model: series
      recruits_per_day: {range: [5, 15], evidence: [rumour-prison, denial]}
    training_days: {value: 7, assumption: short training}
losses:
  killed_per_day: {range: [0.002, 0.004], assumption: guessed hazard}
  wounded_per_day: {value: 0.004, assumption: guessed hazard}
  missing_per_day: {value: 0.0005, assumption: guessed hazard}
  recovery:
    mean_days: {value: 30, assumption: one month}
    return_probability: {value: 0.5, assumption: half return}
"""


def report_scenario(**replace: str) -> Scenario:
    """The scenario above, with ``old=new`` text replacements applied to the YAML
    first (keyword names are looked up in :data:`EDITS`)."""
    text = YAML
    for key, new in replace.items():
        old = EDITS[key]
        assert old in text, old
        text = text.replace(old, new)
    return load_scenario_text(text)


EDITS = {
    "name": "name: report-test\n",
    "regulars_rate": "recruits_per_day: {value: 20, evidence: [count-regulars]}",
    "initial": "deployed: {value: 2000, assumption: assumed start}",
}
"""Named places of :data:`YAML` a test may replace."""
