"""Located errors and warnings of conscription channels, on the example scenario
``docs/examples/conscription.yaml`` (which itself validates without warnings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.load import load_scenario_text_with_warnings, load_scenario_with_warnings

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "conscription.yaml"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text_with_warnings(text, "c.yaml", strict=True)
    return info.value.problems


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def only(problems: list[Problem], field: str) -> Problem:
    hits = [p for p in problems if p.field == field]
    assert len(hits) == 1, [p.format() for p in problems]
    return hits[0]


def replaced(old: str, new: str) -> str:
    text = example_text()
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_example_validates_without_warnings() -> None:
    loaded = load_scenario_with_warnings(str(EXAMPLE))
    assert loaded.warnings == []
    assert loaded.scenario.channel("conscripts").conscription is not None


def test_kind_without_block() -> None:
    text = example_text()
    start = text.index("    conscription:\n")
    end = text.index("    initial:\n      training: {value: 260000")
    text = text[:start] + text[end:]
    problem = only(problems_of(text), "channels[0].kind")
    assert "needs a `conscription:` block" in problem.message
    assert problem.line == line_of(text, "kind: conscription")


def test_block_on_another_kind() -> None:
    text = replaced("    kind: conscription\n", "    kind: other\n")
    problems = problems_of(text)
    block = only(problems, "channels[0].conscription")
    assert "only a `kind: conscription` channel" in block.message
    assert block.line == line_of(text, "    conscription:")
    model = only(problems, "channels[0].enlistment.model")
    assert "needs `kind: conscription`" in model.message


def test_contract_term_on_a_conscription_channel() -> None:
    text = replaced(
        "    enlistment: {model: conscription}\n",
        "    enlistment: {model: conscription}\n"
        "    contract: {term_days: {value: 365, assumption: x}}\n",
    )
    problem = only(problems_of(text), "channels[0].contract.term_days")
    assert "use conscription.service_days instead of contract.term_days" in problem.message
    assert problem.line == line_of(text, "contract: {term_days")


@pytest.mark.parametrize(
    ("old", "new", "field", "needle", "at"),
    [
        (
            "      convert_into: contract\n",
            "      convert_into: contracts\n",
            "channels[0].conscription.convert_into",
            "unknown channel 'contracts' (contract channels: contract)",
            "convert_into: contracts",
        ),
        (
            "      convert_into: contract\n",
            "      convert_into: conscripts\n",
            "channels[0].conscription.convert_into",
            "not the conscription channel 'conscripts'",
            "convert_into: conscripts",
        ),
        (
            "      convert_into: contract\n",
            "",
            "channels[0].conscription.conversion_per_day",
            "give conscription.convert_into",
            "conversion_per_day:",
        ),
        (
            "service_days: {value: 365,",
            "service_days: {value: 0,",
            "channels[0].conscription.service_days",
            "at least 1 day",
            "service_days: {value: 0,",
        ),
        (
            "- {date: 2023-04-01, people",
            "- {date: 2022-04-01, people",
            "channels[0].conscription.call_ups[0].date",
            "outside the simulated days",
            "date: 2022-04-01",
        ),
        (
            "      training: {value: 260000, assumption: illustrative conscripts in service on "
            "the start date}\n",
            "      deployed: {value: 1000, assumption: x}\n",
            "channels[0].initial.deployed",
            "may not be deployed",
            "deployed: {value: 1000",
        ),
    ],
)
def test_located_conscription_errors(old: str, new: str, field: str, needle: str, at: str) -> None:
    text = replaced(old, new)
    problem = only(problems_of(text), field)
    assert needle in problem.message
    assert problem.file == "c.yaml"
    assert problem.line == line_of(text, at)


def test_service_shorter_than_training_for_deployable_conscripts() -> None:
    text = replaced(
        "      deployable: false\n",
        "      deployable: true\n",
    ).replace(
        "    initial:\n      training: {value: 260000",
        "    training_days: {value: 400, assumption: x}\n"
        "    initial:\n      training: {value: 260000",
    )
    problem = only(problems_of(text), "channels[0].conscription.service_days")
    assert "must exceed the training" in problem.message


def test_training_days_of_undeployable_conscripts_is_a_warning() -> None:
    text = replaced(
        "    initial:\n      training: {value: 260000",
        "    training_days: {value: 30, assumption: x}\n"
        "    initial:\n      training: {value: 260000",
    )
    loaded = load_scenario_text_with_warnings(text, "c.yaml", strict=True)
    warning = only(loaded.warnings, "channels[0].training_days")
    assert "training_days is not used" in warning.message
    assert warning.severity == "warning"
