"""Loading scenarios from files, text and built-in names; the scenario hash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.load import (
    builtin_title,
    list_builtin,
    load_scenario,
    load_scenario_text,
    load_scenario_with_warnings,
    scenario_hash,
)
from forcegen.scenario.model import Scenario

Write = Callable[..., Path]


def test_file_and_text_give_the_same_scenario(valid_text: str, write: Write) -> None:
    path = write(valid_text)
    from_file = load_scenario_with_warnings(path)
    assert isinstance(from_file.scenario, Scenario)
    assert from_file.path == str(path)
    assert from_file.source_text == valid_text
    assert from_file.warnings == []
    assert load_scenario(str(path)) == from_file.scenario
    assert load_scenario_text(valid_text.encode()) == from_file.scenario


def test_builtin_ledgers_are_not_listed_as_scenarios() -> None:
    names = list_builtin()
    assert names == sorted(names)
    assert not [n for n in names if "ledger" in n]


@pytest.mark.parametrize("name", list_builtin())
def test_builtin_scenarios_load_strictly(name: str) -> None:
    loaded = load_scenario_with_warnings(name)
    assert loaded.scenario.name == name
    assert loaded.path is not None
    assert loaded.path.endswith(f"{name}.yaml")
    assert builtin_title(name) == loaded.scenario.title


def test_unknown_name_suggests_a_builtin() -> None:
    names = list_builtin()
    if not names:
        pytest.skip("no built-in scenarios installed")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(names[0][:-1] + "x")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (0, 0)
    assert f"did you mean '{names[0]}'?" in problem.message


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nope.yaml")
    assert caught.value.problems[0].message.startswith("cannot read file")


def test_strict_defaults_to_false_for_files(valid_text: str, write: Write) -> None:
    text = valid_text.replace("    value: 0.0002\n    assumption: small\n", "    value: 0.0002\n")
    path = write(text)
    assert len(load_scenario_with_warnings(path).warnings) == 1
    with pytest.raises(ScenarioError):
        load_scenario(path, strict=True)


def test_hash_ignores_layout_but_not_meaning(valid_text: str) -> None:
    base = scenario_hash(load_scenario_text(valid_text))
    assert len(base) == 64
    relaid = valid_text.replace("# A small", "# Another comment\n# A small")
    relaid = relaid.replace(
        "    training_days:\n      range: [14, 30]\n      assumption: short training",
        "    training_days: {range: [14, 30], assumption: short training",
    ).replace("volunteer battalions\n    pay:", "volunteer battalions}\n    pay:")
    relaid = relaid.replace("range: [0.002, 0.006]", "range:\n      - 0.002\n      - 0.006")
    assert "{range: [14, 30]" in relaid
    assert "- 0.006" in relaid
    assert scenario_hash(load_scenario_text(relaid)) == base
    changed = valid_text.replace("range: [14, 30]", "range: [14, 31]")
    assert scenario_hash(load_scenario_text(changed)) != base


def test_hash_covers_ledger_claims(valid_text: str, tmp_path: Path) -> None:
    ledger = (
        "claims:\n  - id: extra\n    statement: s\n    claimant: c\n    publication: p\n"
        "    published: 2022-08-10\n    status: estimate\n"
    )
    text = valid_text.replace("claims:\n", "ledger_files: [l.yaml]\nclaims:\n", 1)
    text = text.replace("    value: 0.0002\n", "    value: 0.0002\n    evidence: [extra]\n")
    (tmp_path / "l.yaml").write_text(ledger)
    first = scenario_hash(load_scenario_text(text, base_dir=tmp_path))
    (tmp_path / "l.yaml").write_text(ledger.replace("statement: s", "statement: t"))
    assert scenario_hash(load_scenario_text(text, base_dir=tmp_path)) != first
