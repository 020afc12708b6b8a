"""The observation ledger: loading, located problems, dates, the quantity mapping, and
the shipped public record."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from observation_cases import MAPPING, PUBLIC_RECORD, ledger_text, row, scenario, write

from forcegen.errors import ScenarioError
from forcegen.observations.dates import parse_loose_date
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import QuantityMap, load_mapping, parse_term
from forcegen.observations.measure import resolve
from forcegen.sim import load


def test_month_dates_mean_the_month_end_as_an_end_and_its_first_day_as_a_start() -> None:
    feb = parse_loose_date("2024-02")
    assert feb is not None
    assert (feb.as_start(), feb.as_end(), feb.precision) == (
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 29),
        "month",
    )
    year = parse_loose_date("2021")
    assert year is not None
    assert year.as_end() == dt.date(2021, 12, 31)
    assert parse_loose_date("2023-06-02") is not None
    for bad in ("2023-13", "2023-02-30", "June 2023", ""):
        assert parse_loose_date(bad) is None


def test_every_problem_of_a_ledger_is_reported_at_once_with_its_location(tmp_path: Path) -> None:
    rows = [
        row(id="a", date="2023-13-01"),
        row(id="b", value="-3", verification="rumour"),
        row(id="a", low="5", high=""),
        row(id="c", period_start="2023-05-01", period_end="2023-04-01", role="result"),
    ]
    path = write(tmp_path / "bad.csv", ledger_text(rows))
    with pytest.raises(ScenarioError) as info:
        load_ledger(path)
    found = {(p.line, p.field) for p in info.value.problems}
    assert (2, "date") in found
    assert (3, "value") in found
    assert (3, "verification") in found
    assert (4, "high") in found
    assert (5, "period_end") in found
    assert (5, "role") in found
    # Each is located at its column, and names the file.
    assert all(p.file == str(path) and p.column > 0 for p in info.value.problems)


def test_a_duplicate_id_and_an_unknown_column_are_located(tmp_path: Path) -> None:
    text = ledger_text([row(id="a"), row(id="a")])
    path = write(tmp_path / "dup.csv", text)
    with pytest.raises(ScenarioError) as info:
        load_ledger(path)
    assert [(p.line, p.field) for p in info.value.problems] == [(3, "id")]
    header = text.splitlines()[0].replace("claimant", "claimnt")
    path2 = write(tmp_path / "col.csv", "\n".join([header, *text.splitlines()[1:]]) + "\n")
    with pytest.raises(ScenarioError) as info2:
        load_ledger(path2)
    messages = " ".join(p.message for p in info2.value.problems)
    assert "did you mean 'claimant'" in messages


def test_terms_are_read_with_globs_and_categories() -> None:
    term = parse_term("outflow[prisoner*,wagner*:killed,missing]")
    assert not isinstance(term, str)
    assert term.entities == ("prisoner*", "wagner*")
    assert term.categories == ("killed", "missing")
    assert term.match(["contract", "prisoners", "wagner-pmc"]) == ["prisoners", "wagner-pmc"]
    assert isinstance(parse_term("outflow[kiled]"), str)
    assert isinstance(parse_term("outfow[killed]"), str)


def test_mapping_problems_are_located(tmp_path: Path) -> None:
    text = MAPPING.replace('measure: stock, of: ["strength[deployed]"]', "measure: stok, of: []")
    text = text.replace('of: ["inflow[recruited]"], family: recruits', 'of: ["inflo[x]"]')
    with pytest.raises(ScenarioError) as info:
        load_mapping(write(tmp_path / "m.yaml", text))
    fields = {p.field for p in info.value.problems}
    assert "quantities.deployed.measure" in fields
    assert "quantities.recruits_year.of.0" in fields
    assert all(p.line > 0 for p in info.value.problems)


def test_rows_are_resolved_or_listed_with_why(tmp_path: Path, mapping: QuantityMap) -> None:
    rows = [
        row(id="ok", quantity="deaths_total"),
        row(id="nm", quantity="not_modelled"),
        row(id="gh", quantity="ghost_deaths", period_start="2022-03-01"),
        row(id="uk", quantity="deaths_totl"),
        row(id="early", quantity="deployed", date="2022-02-01"),
        row(id="late", quantity="deployed", date="2030-01-01"),
        row(id="noper", quantity="deaths_period"),
        row(id="in", quantity="deaths_total", role="input"),
    ]
    resolved = resolve(
        load_ledger(write(tmp_path / "l.csv", ledger_text(rows))), scenario(), mapping
    )
    assert [m.row.id for m in resolved.measurements] == ["ok"]
    reasons = {u.row.id: u.reason for u in resolved.unusable}
    assert "not modelled" in reasons["nm"]
    assert "ghost*" in reasons["gh"]
    assert "did you mean 'deaths_total'" in reasons["uk"]
    assert "before the scenario starts" in reasons["early"]
    assert "after the scenario ends" in reasons["late"]
    assert "needs the period" in reasons["noper"]
    assert [r.id for r in resolved.inputs] == ["in"]


@pytest.mark.skipif(not PUBLIC_RECORD.exists(), reason="the shared public record is absent")
def test_the_public_record_loads_and_its_outcomes_are_mostly_usable() -> None:
    ledger = load_ledger(PUBLIC_RECORD)
    mapping = load_mapping()
    outcomes = ledger.outcomes
    assert len(ledger.rows) == 217
    assert len(outcomes) == 158
    # Every outcome quantity is in the shipped mapping; at least 90 % are modelled.
    assert all(r.quantity in mapping.quantities for r in outcomes)
    modelled = [r for r in outcomes if mapping.quantities[r.quantity].measure != "unusable"]
    assert len(modelled) / len(outcomes) >= 0.9
    # Against the mobilisation built-in (from 15 Aug 2022, no Wagner mercenary channel):
    resolved = resolve(ledger, load("russia-2022-mobilisation"), mapping)
    assert len(resolved.measurements) == 136
    assert all(u.reason for u in resolved.unusable)
    assert len(resolved.measurements) + len(resolved.unusable) == 158


def test_a_yaml_ledger_reads_like_the_csv_and_locates_its_problems(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    text = """\
observations:
  - id: y1
    date: 2022-06
    quantity: deaths_total
    value: 1200
    unit: people
    claimant: Test counter
    source_title: Test
    source_url: https://example.org
    verification: independent_count
    role: outcome
    bound: lower
  - id: y2
    date: "2022-13-01"
    quantity: deployed
    value: -5
    unit: people
    claimant: Test
    source_titel: Test
    source_url: ""
    verification: estimate
    role: outcome
"""
    good = write(tmp_path / "ok.yaml", text.split("  - id: y2")[0])
    ledger = load_ledger(good)
    (only,) = ledger.rows
    assert only.published_date == dt.date(2022, 6, 30)
    assert only.bound == "lower"
    assert resolve(ledger, scenario(), mapping).measurements[0].row.id == "y1"
    with pytest.raises(ScenarioError) as info:
        load_ledger(write(tmp_path / "bad.yaml", text))
    found = {(p.line, p.field) for p in info.value.problems}
    # Every problem of the second observation at once, each at its key's line.
    assert {(14, "date"), (16, "value"), (19, "source_titel"), (13, "source_title")} <= found
    assert any("did you mean 'source_title'" in p.message for p in info.value.problems)
