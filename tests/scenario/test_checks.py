"""Scenario-level checks: references, dates, sources, value ranges, consistency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.checks import validate_document
from forcegen.scenario.load import load_scenario_text_with_warnings
from forcegen.scenario.yamlsource import parse_yaml

LineOf = Callable[[str, str], int]


def broken(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def errors_of(text: str, *, strict: bool = False, base_dir: Path | None = None) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario_text_with_warnings(text, "s.yaml", strict=strict, base_dir=base_dir)
    assert all(p.severity == "error" for p in caught.value.problems)
    return caught.value.problems


def only(problems: list[Problem], field: str) -> Problem:
    hits = [p for p in problems if p.field == field]
    assert len(hits) == 1, problems
    return hits[0]


def test_valid_scenario_has_no_warnings_though_defaults_are_unsourced_in_yaml(
    valid_text: str,
) -> None:
    loaded = load_scenario_text_with_warnings(valid_text, strict=True)
    assert loaded.warnings == []
    # The model filled in defaults such as the desertion hazard.
    assert loaded.scenario.losses.deserted_per_day.assumption == "zero by default"


def test_unknown_pool_and_renewal_channel(valid_text: str, line_of: LineOf) -> None:
    text = broken(valid_text, "    pool: civilians\n", "    pool: civilian\n")
    text = broken(text, "      on_term_end: released\n", "      renew_into: volunter\n")
    found = errors_of(text)
    pool = only(found, "channels[0].pool")
    assert pool.message.startswith("unknown pool 'civilian'; did you mean 'civilians'?")
    assert pool.line == line_of(text, "pool: civilian\n".strip())
    renew = only(found, "channels[1].contract.renew_into")
    assert "unknown channel 'volunter'; did you mean 'volunteers'?" in renew.message


def test_events_naming_unknown_pools_and_channels(valid_text: str, line_of: LineOf) -> None:
    text = broken(
        valid_text, "    pool: prisoners\n    add_people", "    pool: jails\n    add_people"
    )
    text += (
        "  - type: stop_loss\n    date: 2022-10-01\n    active: true\n"
        "    channels: [volunteers, conscripts]\n"
    )
    found = errors_of(text)
    assert only(found, "events[1].pool").line == line_of(text, "pool: jails")
    stop_loss = only(found, "events[3].channels[1]")
    assert stop_loss.message.startswith("unknown channel 'conscripts'")


def test_event_before_start_and_unknown_event_evidence(valid_text: str, line_of: LineOf) -> None:
    text = broken(valid_text, "date: 2022-09-01", "date: 2022-07-01")
    text = broken(text, "evidence: [osechkin-applicants]\n  - type", "evidence: [nobody]\n  - type")
    found = errors_of(text)
    assert only(found, "events[0].date").message == (
        "event date 2022-07-01 is before the start date 2022-08-01"
    )
    assert only(found, "events[1].evidence[0]").line == line_of(text, "evidence: [nobody]")


def test_series_where_a_single_value_is_required(valid_text: str, line_of: LineOf) -> None:
    old = "      value: 20000\n"
    new = "      series:\n        - {from: 2022-08-01, value: 20000}\n"
    text = broken(valid_text, old + "      assumption: prisons", new + "      assumption: prisons")
    problem = only(errors_of(text), "pools[1].initial_people.series")
    assert problem.message.startswith("cannot change over time")
    assert problem.line == line_of(text, "{from: 2022-08-01, value: 20000}") - 1


def test_series_steps_outside_the_horizon_are_warnings(valid_text: str, line_of: LineOf) -> None:
    text = broken(valid_text, "- from: 2022-10-01", "- from: 2024-10-01")
    text = broken(text, "- from: 2022-08-01", "- from: 2022-06-01")
    warnings = load_scenario_text_with_warnings(text, "s.yaml").warnings
    path = "channels[1].enlistment.recruits_per_day.series"
    assert [(w.field, w.line) for w in warnings] == [
        (f"{path}[0].from", line_of(text, "2022-06-01")),
        (f"{path}[1].from", line_of(text, "2024-10-01")),
    ]
    assert "before the start date 2022-08-01" in warnings[0].message
    assert warnings[1].message.endswith("it never applies")


def test_service_multipliers_must_increase(valid_text: str, line_of: LineOf) -> None:
    extra = "    - until_day: 20\n      multiplier: {value: 1.5, assumption: x}\n"
    text = broken(valid_text, "  recovery:\n", extra + "  recovery:\n")
    problem = only(errors_of(text), "losses.service_multipliers[1].until_day")
    assert problem.message == "until_day must increase: 20 does not follow 30"
    assert problem.line == line_of(text, "until_day: 20")


def test_hazards_must_not_add_up_beyond_one(valid_text: str, line_of: LineOf) -> None:
    text = broken(valid_text, "range: [0.002, 0.006]", "range: [0.3, 0.6]")
    text = broken(text, "value: 0.0002", "value: 0.5")
    problem = only(errors_of(text), "losses")
    assert problem.message.startswith("the five daily hazards can add up to 1.2568")
    assert problem.line == line_of(text, "losses:")


def test_lognormal_probability_is_accepted_but_unbounded_normal_is_not(valid_text: str) -> None:
    # The fixture's killed_per_day is lognormal (unbounded above) and loads fine.
    text = broken(
        valid_text,
        "      value: 0.6\n      assumption: most",
        "      dist: normal\n      mean: 0.6\n      sd: 0.2\n      assumption: most",
    )
    problem = only(errors_of(text), "losses.recovery.return_probability")
    assert problem.message.startswith("must be within [0, 1] (probability), but normal(0.6")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_values_must_be_finite(valid_text: str, value: str) -> None:
    text = broken(valid_text, "value: 0.0002", f"value: {value}")
    problem = only(errors_of(text), "losses.missing_per_day")
    assert problem.message.startswith("expected a finite number")


def test_contract_term_must_exceed_training(valid_text: str) -> None:
    text = broken(valid_text, "range: [14, 30]", "range: [14, 200]")
    problem = only(errors_of(text), "channels[0].contract.term_days")
    assert problem.message.startswith(
        "the contract term (as short as 180 days) must exceed the training (up to 200 days)"
    )


def test_behavioural_enlistment_needs_a_pool_with_a_wage(valid_text: str) -> None:
    no_pool = broken(valid_text, "    pool: civilians\n", "")
    assert only(errors_of(no_pool), "channels[0].enlistment.model").message.startswith(
        "behavioural enlistment needs a pool"
    )
    wage = valid_text[valid_text.index("    reference_wage_per_month:") :]
    wage = wage[: wage.index("  - id: prisoners")]
    no_wage = broken(valid_text, wage, "")
    assert "needs reference_wage_per_month" in only(errors_of(no_wage), "channels[0].pool").message


def test_currency_needs_an_exchange_rate(valid_text: str) -> None:
    text = broken(valid_text, "      currency: USD\n", "      currency: EUR\n")
    problem = only(errors_of(text), "channels[0].pay.currency")
    assert problem.message.startswith("currency 'EUR' has no exchange rate to RUB")


# -------------------------------------------------------------------------- ledgers
LEDGER = """\
claims:
  - id: ledger-claim
    statement: A claim kept in a separate ledger file.
    claimant: Someone
    publication: Somewhere
    published: 2022-08-10
    status: unverified-report
"""


def with_ledger(text: str, cite: str = "ledger-claim") -> str:
    text = broken(text, "claims:\n", "ledger_files: [ledger.yaml]\nclaims:\n")
    return broken(text, "    value: 0.0002\n", f"    value: 0.0002\n    evidence: [{cite}]\n")


def test_ledger_claims_are_merged(valid_text: str, tmp_path: Path) -> None:
    (tmp_path / "ledger.yaml").write_text(LEDGER)
    loaded = load_scenario_text_with_warnings(with_ledger(valid_text), base_dir=tmp_path)
    assert [c.id for c in loaded.scenario.claims][-1] == "ledger-claim"
    assert loaded.warnings == []


def test_ledger_problems_are_located_in_the_ledger(valid_text: str, tmp_path: Path) -> None:
    (tmp_path / "ledger.yaml").write_text(
        LEDGER.replace("status: unverified-report", "status: rumour")
    )
    problems = errors_of(with_ledger(valid_text), base_dir=tmp_path)
    problem = only(problems, "claims[0].status")
    assert problem.file == str(tmp_path / "ledger.yaml")
    assert problem.line == 7
    assert problem.message.startswith("expected one of 'official-claim'")


def test_duplicate_claim_across_files_names_the_other_file(valid_text: str, tmp_path: Path) -> None:
    (tmp_path / "ledger.yaml").write_text(LEDGER.replace("ledger-claim", "osechkin-applicants"))
    text = with_ledger(valid_text, cite="osechkin-applicants")
    problem = only(errors_of(text, base_dir=tmp_path), "claims[0].id")
    assert problem.file == str(tmp_path / "ledger.yaml")
    assert problem.line == 2
    first = text.splitlines().index("  - id: osechkin-applicants") + 1
    assert problem.message == (
        f"duplicate claim id 'osechkin-applicants' (first at claims[1].id, s.yaml line {first})"
    )


def test_missing_ledger_file_is_located_in_the_scenario(valid_text: str, tmp_path: Path) -> None:
    text = with_ledger(valid_text)
    problem = only(errors_of(text, base_dir=tmp_path), "ledger_files[0]")
    assert problem.file == "s.yaml"
    assert problem.line == text.splitlines().index("ledger_files: [ledger.yaml]") + 1
    assert "cannot read ledger file" in problem.message


def test_strict_makes_unsourced_parameters_errors(valid_text: str, line_of: LineOf) -> None:
    text = broken(valid_text, "value: 0.0002\n    assumption: small\n", "value: 0.0002\n")
    assert len(load_scenario_text_with_warnings(text).warnings) == 1
    problem = only(errors_of(text, strict=True), "losses.missing_per_day")
    assert problem.line == line_of(text, "value: 0.0002")


# ---------------------------------------------------------------- pydantic unions
class _Inner(BaseModel):
    a: int


class _Unions(BaseModel):
    when: int | dt.date
    what: _Inner | list[int]


def test_plain_union_errors_collapse_to_one_message_per_field() -> None:
    doc = parse_yaml("when: soon\nwhat:\n  a: many\n", "u.yaml")
    with pytest.raises(ScenarioError) as caught:
        validate_document(doc, _Unions)
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (1, "when", "expected a whole number or a date (YYYY-MM-DD), got 'soon'"),
        (3, "what", "expected a list, got a mapping"),
        (3, "what.a", "expected a whole number, got 'many'"),
    ]
