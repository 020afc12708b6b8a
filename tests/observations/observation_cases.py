"""A scenario with closed-form answers, a test mapping and ledgers for the observation
tests.

One channel ``only``, Poisson(λ) recruits a day, one daily hazard ``h`` (killed), no
training, nobody at the start; in the mean-field mode at expected values (λ = 50,
h = 0.008) the deployed strength at the end of day ``t`` is ``λ g(h)`` with
``g(h) = (1 − (1 − h)^(t+1)) / h``, cumulative deaths to day ``t`` are
``λ (t + 1) − λ g(h)`` and cumulative recruits ``λ (t + 1)`` (docs/model.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from forcegen.observations.ledger import LEDGER_COLUMNS
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario

START = dt.date(2022, 3, 1)
WAR_START = dt.date(2022, 1, 1)
LAMBDA = "channels.only.enlistment.recruits_per_day"
HAZARD = "losses.killed_per_day"
BEFORE_PER_DAY = 10.0
PUBLIC_RECORD = Path(__file__).resolve().parents[3] / "shared/data/public-record/observations.csv"

SCENARIO = """\
schema_version: 1
name: queue-obs
start_date: 2022-03-01
horizon_days: {horizon}
currency: RUB
channels:
  - id: only
    enlistment:
      model: series
      recruits_per_day:
        range: [20, 80]
        assumption: test range
    pay:
      salary_per_month: 1000
losses:
  killed_per_day:
    range: [0.004, 0.012]
    assumption: test hazard range
  wounded_per_day: 0
  missing_per_day: 0
  recovery:
    mean_days: 30
    return_probability: 0.5
"""

MAPPING = """\
schema: 1
war_start: 2022-01-01
models:
  independent_count: {kind: count, range: [0.5, 0.9], log_sd: 0.05}
  official_claim: {kind: claim, range: [0.8, 2.0], log_sd: 0.1}
  estimate: {kind: estimate, log_sd: 0.3}
  unverified_report: {kind: report, range: [0.7, 2.5], log_sd: 0.5}
before_start:
  "outflow[killed]": {per_day: [10, 10], why: test}
quantities:
  deaths_total: {measure: flow, of: ["outflow[killed]"], running_total: true, family: deaths}
  deaths_period: {measure: flow, of: ["outflow[killed]"], family: deaths}
  deaths_per_day: {measure: rate, per: day, of: ["outflow[killed]"], family: deaths}
  deaths_per_month: {measure: rate, per: month, of: ["outflow[killed]"], family: deaths}
  deployed: {measure: stock, of: ["strength[deployed]"], family: strength}
  deaths_share:
    {measure: share, of: ["outflow[only:killed]"], over: ["inflow[recruited]"], family: share}
  recruits_and_deaths: {measure: flow, of: ["inflow[recruited]", "outflow[killed]"], family: sums}
  recruits_year: {measure: flow, of: ["inflow[recruited]"], family: recruits}
  not_modelled: {unusable: not a model quantity}
  ghost_deaths: {measure: flow, of: ["outflow[ghost*:killed]"], family: deaths}
"""


def scenario(horizon: int = 400) -> Scenario:
    """The closed-form scenario, ``horizon`` days from 2022-03-01."""
    return load_scenario_text(SCENARIO.format(horizon=horizon), "<queue-obs>")


def day(k: int) -> dt.date:
    """Date of simulated day ``k``."""
    return START + dt.timedelta(days=k)


def g(h: float, t: int) -> float:
    """``(1 − (1 − h)^(t+1)) / h``."""
    return (1 - (1 - h) ** (t + 1)) / h


def deaths_to(t: int, lam: float = 50.0, h: float = 0.008) -> float:
    """Mean-field cumulative deaths from the start through day ``t``."""
    return lam * (t + 1) - lam * g(h, t)


def row(**cells: object) -> dict[str, str]:
    """A ledger row with defaults for every column not given."""
    base = {
        "id": "r1",
        "date": "2022-06-01",
        "period_start": "",
        "period_end": "",
        "quantity": "deaths_total",
        "value": "100",
        "low": "",
        "high": "",
        "unit": "people",
        "category": "losses",
        "claimant": "Test counter",
        "source_title": "Test source",
        "source_url": "https://example.org/x",
        "verification": "estimate",
        "notes": "",
        "role": "outcome",
    }
    base.update({k: str(v) for k, v in cells.items()})
    return base


def ledger_text(rows: Sequence[Mapping[str, str]], columns: Sequence[str] = LEDGER_COLUMNS) -> str:
    """CSV text of ``rows`` with the public-record columns."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: r.get(c, "") for c in columns})
    return buffer.getvalue()


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``; returns it."""
    path.write_text(text, encoding="utf-8")
    return path
