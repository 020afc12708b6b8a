"""What an answer rests on (analysis/basis.py, issue #15): the sampled inputs that move
it most across the replicates, their evidence status, and the marker.

Tiny scenarios (one or two channels, 120 days) and small runs keep this fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from forcegen.analysis.basis import (
    MIN_RHO,
    AnswerBasis,
    InputEvidence,
    Screen,
    below_outcomes,
    hold_outcomes,
    input_evidence,
    screen,
    summary_bases,
    threshold,
)
from forcegen.analysis.compare import compare
from forcegen.report.html import render_report
from forcegen.results.reduce import SummaryTotals
from forcegen.results.result import Result
from forcegen.scenario.load import load_scenario_text
from forcegen.sim import Sim

CliRun = Callable[..., tuple[int, str, str]]
RUNS = 128

LEDGER = """
claims:
  - id: mod-recruits
    statement: The ministry reports 40 to 60 recruits a day.
    claimant: Ministry of Defence
    publication: Briefing
    published: 2022-01-01
    status: official-claim
  - id: count-losses
    statement: Counted deaths imply a daily hazard of 0.1 to 0.3 %.
    claimant: A counting project
    publication: Its tables
    published: 2022-01-02
    status: independent-count
  - id: mod-start
    statement: About 5,000 deployed at the start.
    claimant: Ministry of Defence
    publication: Briefing
    published: 2022-01-01
    status: official-claim
"""


def _scenario(killed: str, recruits: str = "{range: [40, 60], evidence: [mod-recruits]}") -> str:
    return f"""
name: basis-test
start_date: 2022-01-01
horizon_days: 120
currency: RUB
{LEDGER}
channels:
  - id: regulars
    enlistment:
      model: series
      recruits_per_day: {recruits}
    training_days: {{value: 10, evidence: [mod-start]}}
    pay:
      salary_per_month: {{range: [50000, 70000], evidence: [mod-recruits]}}
    initial:
      deployed: {{range: [4500, 5500], evidence: [mod-start]}}
losses:
  killed_per_day: {killed}
  wounded_per_day: {{value: 0.002, evidence: [count-losses]}}
  missing_per_day: {{value: 0.0002, evidence: [count-losses]}}
  recovery:
    mean_days: {{value: 30, evidence: [count-losses]}}
    return_probability: {{value: 0.5, evidence: [count-losses]}}
"""


OFFICIAL = _scenario("{range: [0.001, 0.003], evidence: [count-losses]}")
"""Every uncertain input cites an official claim or an independent count."""
ASSUMED = _scenario(
    "{range: [0.0005, 0.02], assumption: guessed hazard}",
    recruits="{range: [49, 51], evidence: [mod-recruits]}",
)
"""A wide, assumed hazard drives strength; recruits are nearly certain and official."""


@pytest.fixture(scope="module")
def official() -> Result:
    return Sim(load_scenario_text(OFFICIAL), runs=RUNS, seed=5).run()


@pytest.fixture(scope="module")
def assumed() -> Result:
    return Sim(load_scenario_text(ASSUMED), runs=RUNS, seed=5).run()


def _answers(result: Result) -> dict[str, AnswerBasis]:
    """The basis of every summary number and of ask's questions."""
    inputs = screen(result)
    bases = summary_bases(SummaryTotals().extract(result), inputs)
    last = result.scenario.horizon_days - 1
    median_end = float(np.median(result.total("strength", categories="deployed")[:, -1]))
    bases["below"] = inputs.basis(below_outcomes(result, median_end))
    bases["hold"] = inputs.basis(hold_outcomes(result, median_end, last))
    bases["hold-through"] = inputs.basis(hold_outcomes(result, median_end, last, through=True))
    return bases


# ------------------------------------------------------------------------ the method
def test_named_inputs_follow_the_answer_with_their_status() -> None:
    rng = np.random.default_rng(1)
    n = 400
    driver, weak, noise = rng.random(n), rng.random(n), rng.random((n, 3))
    y = 10 * driver - 3 * weak + rng.normal(0, 0.5, n)
    evidence = {
        "a.driver": InputEvidence("a.driver", (("c1", "official-claim"),)),
        "a.weak": InputEvidence("a.weak", (("c2", "unverified-report"),), assumption=True),
        "a.series": InputEvidence("a.series", (("c1", "official-claim"),)),
    }
    params = {"a.driver": driver, "a.weak": weak, "a.series": noise}  # a series: 3 steps
    basis = Screen.of(params, evidence).basis(y)
    assert [w.name for w in basis.inputs] == ["a.driver", "a.weak"]
    first, second = basis.inputs
    assert first.rho > 0.9
    assert first.status == "official-claim"
    assert not first.weak
    assert second.rho < 0
    assert second.share == pytest.approx(second.rho**2)
    assert second.status == "unverified-report"  # weaker than its assumption
    assert second.statuses == ("assumption", "unverified-report")
    assert basis.marked
    assert basis.weak_statuses == ("unverified-report",)
    assert basis.threshold == pytest.approx(threshold(n, 3))
    assert basis.describe().startswith("rests mostly on: a.driver (official-claim, ρ +0.9")
    assert "a.weak (unverified-report, ρ −0." in basis.describe()


def test_threshold_grows_for_small_runs_and_many_inputs() -> None:
    assert threshold(100_000, 1) == MIN_RHO
    assert threshold(64, 90) > threshold(256, 90) > threshold(256, 5) >= MIN_RHO
    assert threshold(64, 90) == pytest.approx(0.434, abs=0.01)


@pytest.mark.parametrize(
    ("params", "answer", "reason"),
    [
        ({}, np.arange(50.0), "not-sampled"),
        ({"x": np.arange(5.0)}, np.arange(5.0), "few-replicates"),
        ({"x": np.arange(50.0)}, np.ones(50), "constant"),
        ({"x": np.arange(50.0)}, np.full(50, np.nan), "no-values"),
        ({"x": np.arange(50.0)}, np.sin(np.arange(50.0) * 7.3), "none-stands-out"),
    ],
)
def test_no_input_named_says_why(
    params: dict[str, np.ndarray[Any, Any]], answer: np.ndarray[Any, Any], reason: str
) -> None:
    basis = Screen.of(params, {}).basis(answer)
    assert basis.inputs == ()
    assert not basis.marked
    assert basis.marker() == ""
    assert basis.reason == reason
    assert basis.note
    assert basis.line().startswith("basis: ")


def test_replicates_without_a_number_are_left_out() -> None:
    x = np.linspace(0, 1, 60)
    y = np.where(x > 0.1, 2 * x, np.nan)  # e.g. cost per recruit with no recruits
    basis = Screen.of({"x": x}, {}).basis(y)
    assert basis.replicates == int(np.isfinite(y).sum())
    assert basis.inputs[0].rho == pytest.approx(1.0)
    assert basis.inputs[0].status == "unsourced"
    assert basis.marked


def test_an_event_parameter_rests_on_the_event_too() -> None:
    text = OFFICIAL.replace(
        "losses:",
        """events:
  - type: change_pay
    date: 2022-02-01
    channel: regulars
    salary_per_month: {range: [60000, 80000], evidence: [mod-recruits]}
    assumption: the raise happened
losses:""",
    )
    evidence = input_evidence(load_scenario_text(text))
    raised = evidence["events.0.salary_per_month"]
    assert raised.claims == (("mod-recruits", "official-claim"),)
    assert raised.statuses == ("official-claim", "assumption")
    assert raised.status == "assumption"
    assert raised.weak
    assert "events.0" not in evidence  # events themselves are not inputs


# --------------------------------------------------------------- the two scenarios
def test_official_inputs_alone_mark_no_answer(official: Result) -> None:
    bases = _answers(official)
    assert any(b.inputs for b in bases.values())  # something is named...
    assert not [k for k, b in bases.items() if b.marked]  # ...and nothing is marked
    named = {w.status for b in bases.values() for w in b.inputs}
    assert named <= {"official-claim", "independent-count"}
    page = render_report(official)
    headlines = page[page.index("id='headlines'") : page.index("id='figures'")]
    assert "⚠" not in headlines
    assert "href='#basis-method'" not in headlines
    assert "href='#param-losses.killed_per_day'" in headlines  # named, unmarked


def test_an_assumption_that_drives_the_answer_is_named_first(assumed: Result) -> None:
    bases = _answers(assumed)
    for key in ("strength_end", "losses/killed", "below", "hold-through"):
        first = bases[key].inputs[0]
        assert first.name == "losses.killed_per_day", key
        assert first.status == "assumption"
        assert first.weak
        assert bases[key].marked
        assert bases[key].marker() == "⚠ assumption"
    assert bases["strength_end"].inputs[0].rho < -0.8
    assert bases["losses/killed"].inputs[0].rho > 0.8
    # Recruits do not depend on losses: no marker there.
    assert not bases["recruits/regulars"].marked
    page = render_report(assumed)
    row = page[page.index("id='h-strength-end'") :]
    row = row[: row.index("</tr>")]
    assert "⚠ assumption" in row
    assert "losses.killed_per_day" in row
    row = page[page.index("id='h-recruits-regulars'") :]
    assert "⚠" not in row[: row.index("</tr>")]


def test_compare_names_what_moves_the_difference(official: Result, assumed: Result) -> None:
    other = Sim(load_scenario_text(ASSUMED), runs=RUNS, seed=5).run()
    pair = compare([official, other]).pairs[0]
    killed = next(q for q in pair.quantities if q.name == "exits, killed")
    assert killed.basis is not None
    assert killed.basis.inputs[0].name == "losses.killed_per_day"
    # Cited in the base (independent count), assumed in the other: both statuses.
    assert killed.basis.inputs[0].statuses == ("independent-count", "assumption")
    assert killed.basis.marked


# ------------------------------------------------------------------ command line
def _data(out: str, schema: str) -> dict[str, Any]:
    doc = json.loads(out)
    assert doc["schema"] == schema
    data: dict[str, Any] = doc["data"]
    return data


BASIS_KEYS = {
    "method",
    "replicates",
    "inputs_tested",
    "threshold",
    "marked",
    "inputs",
    "note",
    "reason",
}
INPUT_KEYS = {"name", "rho", "share", "status", "statuses", "claims", "weak"}


def _check_basis(basis: dict[str, Any]) -> None:
    assert set(basis) == BASIS_KEYS
    assert basis["method"] == "spearman"
    for item in basis["inputs"]:
        assert set(item) == INPUT_KEYS
        assert -1 <= item["rho"] <= 1
        assert isinstance(item["weak"], bool)


def test_json_documents_carry_the_basis(run_cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "assumed.yaml"
    path.write_text(ASSUMED, encoding="utf-8")
    store = str(tmp_path / "s.duckdb")
    common = ("--runs", "64", "--store", store, "--format", "json")

    code, out, err = run_cli("ask", str(path), "--below", "5000", "--hold", "5000", *common)
    assert code == 0, err
    data = _data(out, "ask/1")
    (below,) = data["below"]
    _check_basis(below["basis"])
    _check_basis(data["hold"]["basis"])
    assert data["hold"]["basis"]["inputs"][0]["name"] == "losses.killed_per_day"
    assert data["hold"]["basis"]["inputs"][0]["status"] == "assumption"

    code, out, err = run_cli("run", str(path), *common)
    assert code == 0, err
    fresh = _data(out, "run/1")
    rows = fresh["summary"]["rows"]
    assert [(b["quantity"], b["channel"], b["cause"]) for b in fresh["basis"]] == [
        (r["quantity"], r["channel"], r["cause"]) for r in rows
    ]
    for entry in fresh["basis"]:
        _check_basis(entry["basis"])
    # Stored: the same bases and counts as the fresh run.
    code, out, err = run_cli("show", fresh["run_id"], "--store", store, "--format", "json")
    assert code == 0, err
    shown = _data(out, "show/1")
    assert shown["basis"] == fresh["basis"]
    assert shown["evidence"] == fresh["evidence"]

    code, out, err = run_cli(
        "solve", str(path), "--hold-strength", "3000", "--prob", "0.5", *common[:2]
    )
    assert code == 0, err
    assert "rests mostly on" in out or "basis: " in out
    code, out, err = run_cli(
        "solve",
        str(path),
        "--hold-strength",
        "3000",
        "--prob",
        "0.5",
        *common[:2],
        "--format",
        "json",
    )
    assert code == 0, err
    _check_basis(_data(out, "solve/1")["basis"])

    other = tmp_path / "official.yaml"
    other.write_text(OFFICIAL.replace("basis-test", "basis-official"), encoding="utf-8")
    code, out, err = run_cli("compare", str(other), str(path), "--runs", "32", "--format", "json")
    assert code == 0, err
    for q in _data(out, "compare/1")["pairs"][0]["quantities"]:
        _check_basis(q["basis"])


def test_summary_table_names_the_basis(run_cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "assumed.yaml"
    path.write_text(ASSUMED, encoding="utf-8")
    code, out, err = run_cli("run", str(path), "--runs", "64", "--no-store")
    assert code == 0, err
    lines = [line.split("\t") for line in out.splitlines()]
    header = next(line for line in lines if line[0] == "quantity")
    assert header[-1] == "rests mostly on"
    killed = next(line for line in lines if line[0].startswith("Exits, killed"))
    assert killed[-1].startswith("⚠ losses.killed_per_day (assumption)")
