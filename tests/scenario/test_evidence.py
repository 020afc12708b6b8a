"""The evidence table and the weak-input query."""

from __future__ import annotations

import re

import pytest

from forcegen.errors import UsageError
from forcegen.scenario.evidence import EvidenceTable, evidence_status_line, evidence_table
from forcegen.scenario.load import load_scenario_text


def table_for(text: str) -> EvidenceTable:
    return evidence_table(load_scenario_text(text))


def test_claims_list_what_rests_on_them(valid_text: str) -> None:
    table = table_for(valid_text)
    uses = {use.claim.id: use for use in table.claims}
    assert uses["kommersant-salaries"].parameters == ("channels.volunteers.pay.salary_per_month",)
    assert uses["osechkin-applicants"].parameters == (
        "channels.prisoners.enlistment.recruits_per_day",
    )
    assert uses["osechkin-applicants"].events == ("events.1",)


def test_assumptions_are_grouped_and_defaults_marked(valid_text: str) -> None:
    table = table_for(valid_text)
    by_rationale = {(a.rationale, a.default): a for a in table.assumptions}
    assert by_rationale[("six-month contracts", False)].parameters == (
        "channels.volunteers.contract.term_days",
    )
    assert by_rationale[("prisoner recruitment ends in spring", False)].events == ("events.2",)
    defaults = by_rationale[("zero by default", True)].parameters
    assert "losses.deserted_per_day" in defaults
    assert "channels.prisoners.training_days" in defaults
    # A value the scenario sets is never counted as a default.
    assert "channels.volunteers.training_days" not in defaults
    assert table.unsourced == ()


def test_counts_by_status(valid_text: str) -> None:
    table = table_for(valid_text)
    assert dict(table.claims_by_status) == {
        "official-claim": 0,
        "independent-count": 1,
        "estimate": 1,
        "unverified-report": 0,
        "denied": 0,
    }
    assert table.parameters_by_status["independent-count"] == 1
    assert table.parameters_by_status["estimate"] == 1
    assert table.parameters_by_status["unsourced"] == 0


def test_rests_on_weak_flags_unverified_claims_and_assumptions(valid_text: str) -> None:
    text = valid_text.replace("status: estimate", "status: unverified-report")
    table = table_for(text)
    weak = table.rests_on_weak(["channels.prisoners.enlistment.recruits_per_day"])
    assert weak
    assert [c.id for c in weak.claims] == ["osechkin-applicants"]
    assert weak.reasons["channels.prisoners.enlistment.recruits_per_day"] == (
        "unverified-report: osechkin-applicants",
    )
    # A parameter inside an event also rests on the event's own evidence.
    inside = table.rests_on_weak(["events.1.add_people"])
    assert [c.id for c in inside.claims] == ["osechkin-applicants"]
    assert inside.assumptions == ("prisoners without military experience become eligible",)


def test_rests_on_weak_is_false_for_independent_counts(valid_text: str) -> None:
    weak = table_for(valid_text).rests_on_weak(["channels.volunteers.pay.salary_per_month"])
    assert not weak
    assert weak.parameters == ()


def test_rests_on_weak_selects_by_prefix_and_reports_defaults(valid_text: str) -> None:
    weak = table_for(valid_text).rests_on_weak(["losses"])
    assert "losses.deserted_per_day" in weak.defaults
    assert "order of magnitude of reported losses" in weak.assumptions


def test_rests_on_weak_rejects_unknown_names(valid_text: str) -> None:
    with pytest.raises(UsageError, match=re.escape("did you mean 'losses.killed_per_day'?")):
        table_for(valid_text).rests_on_weak(["losses.kiled_per_day"])


def test_status_line(valid_text: str) -> None:
    line = evidence_status_line(load_scenario_text(valid_text))
    assert line.startswith("evidence: 2 claims (1 independent-count, 1 estimate); ")
    assert line.endswith("0 without a source")
