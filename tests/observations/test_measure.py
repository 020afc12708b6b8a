"""Measurements are exact: each kind against the closed forms of the queue scenario."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from observation_cases import (
    BEFORE_PER_DAY,
    START,
    WAR_START,
    deaths_to,
    g,
    ledger_text,
    row,
    scenario,
    write,
)

from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import DAYS_PER_MONTH, QuantityMap
from forcegen.observations.measure import resolve
from forcegen.sim import Sim


@pytest.fixture(scope="module")
def result() -> object:
    """One mean-field replicate at the expected values (λ = 50, h = 0.008)."""
    return Sim(scenario(), runs=1, mode="mean-field", sample_parameters=False).run()


def test_each_measurement_kind_matches_its_closed_form(
    tmp_path: Path, mapping: QuantityMap, result: object
) -> None:
    rows = [
        # Running total since the war's start (before the scenario: 10 a day assumed).
        row(id="total", quantity="deaths_total", date="2022-07-19"),
        # A flow between two dates; month precision means the month's end.
        row(id="flow", quantity="deaths_period", period_start="2022-04-01", period_end="2022-05"),
        # Per day, per month.
        row(id="pd", quantity="deaths_per_day", period_start="2022-04-01", period_end="2022-04-30"),
        row(id="pm", quantity="deaths_per_month", period_start="2022-04-01", period_end="2022-06"),
        # A stock, a share (percent), a sum of two series.
        row(id="stock", quantity="deployed", date="2022-09-30"),
        row(
            id="share",
            quantity="deaths_share",
            period_start="2022-03-01",
            period_end="2022-12-31",
            unit="percent",
            value="20",
        ),
        row(
            id="sum",
            quantity="recruits_and_deaths",
            period_start="2022-03-01",
            period_end="2022-03-31",
        ),
    ]
    scen = scenario()
    resolved = resolve(load_ledger(write(tmp_path / "l.csv", ledger_text(rows))), scen, mapping)
    assert [m.row.id for m in resolved.measurements] == [r["id"] for r in rows]
    truth = resolved.truth()
    rates = np.full((1, len(resolved.offsets)), BEFORE_PER_DAY)
    values = dict(
        zip(
            [m.row.id for m in resolved.measurements],
            truth.finish(truth.flows(result), rates)[0],  # type: ignore[arg-type]
            strict=True,
        )
    )

    def d(date: str) -> int:
        return (dt.date.fromisoformat(date) - START).days

    before = (START - WAR_START).days * BEFORE_PER_DAY
    assert values["total"] == pytest.approx(before + deaths_to(d("2022-07-19")), rel=1e-9)
    flow = deaths_to(d("2022-05-31")) - deaths_to(d("2022-03-31"))
    assert values["flow"] == pytest.approx(flow, rel=1e-9)
    april = deaths_to(d("2022-04-30")) - deaths_to(d("2022-03-31"))
    assert values["pd"] == pytest.approx(april / 30, rel=1e-9)
    q2 = deaths_to(d("2022-06-30")) - deaths_to(d("2022-03-31"))
    assert values["pm"] == pytest.approx(q2 / (91 / DAYS_PER_MONTH), rel=1e-9)
    assert values["stock"] == pytest.approx(50 * g(0.008, d("2022-09-30")), rel=1e-9)
    t = d("2022-12-31")
    assert values["share"] == pytest.approx(deaths_to(t) / (50 * (t + 1)), rel=1e-9)
    t = d("2022-03-31")
    assert values["sum"] == pytest.approx(50 * (t + 1) + deaths_to(t), rel=1e-9)
    # The percent is read as a share.
    share = next(m for m in resolved.measurements if m.row.id == "share")
    assert share.observed == pytest.approx(0.2)


def test_a_stated_range_of_an_estimate_is_its_90_percent_interval(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    rows = [row(id="e", value="100", low="50", high="200")]
    resolved = resolve(
        load_ledger(write(tmp_path / "l.csv", ledger_text(rows))), scenario(), mapping
    )
    (m,) = resolved.measurements
    assert m.log_sd == pytest.approx(math.log(4) / (2 * 1.6448536269514722))
    assert m.model.kind == "estimate"


def test_sources_of_one_kind_and_family_share_a_factor(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    rows = [
        row(id="a", verification="independent_count"),
        row(id="b", verification="independent_count", claimant="Other counter"),
        row(id="c", verification="official_claim"),
        row(id="d", verification="estimate"),
    ]
    resolved = resolve(
        load_ledger(write(tmp_path / "l.csv", ledger_text(rows))), scenario(), mapping
    )
    groups = [m.group for m in resolved.measurements]
    assert groups[0] == groups[1] != groups[2]
    # An estimate has no factor: it is not an unknown.
    assert resolved.groups == ["independent_count:deaths", "official_claim:deaths"]
