"""``--set PATH=VALUE`` overrides: the short parameter forms, paths by id and position,
located problems with suggestions, and the usual validation of the values set."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario_text, load_scenario_with_warnings
from forcegen.scenario.model import Scenario
from forcegen.scenario.overrides import apply_overrides, parse_param_value
from forcegen.scenario.params import Param


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0003", {"value": 0.0003}),
        ("250_000", {"value": 250000}),
        ("range:0.0002,0.0004", {"range": [0.0002, 0.0004]}),
        ("uniform:1,2", {"dist": "uniform", "low": 1, "high": 2}),
        ("triangular:1,2,4", {"dist": "triangular", "low": 1, "mode": 2, "high": 4}),
        ("normal:0,1", {"dist": "normal", "mean": 0, "sd": 1}),
        ("normal:0,1,-2,2", {"dist": "normal", "mean": 0, "sd": 1, "low": -2, "high": 2}),
        ("lognormal:0.001,0.004", {"dist": "lognormal", "median": 0.001, "p95": 0.004}),
        ("beta:2,8", {"dist": "beta", "alpha": 2, "beta": 8}),
        ("fixed:7", {"value": 7}),
        ("{range: [1, 2], note: n}", {"range": [1, 2], "note": "n"}),
    ],
)
def test_parameter_forms_read_as_the_scenario_language(
    text: str, expected: dict[str, object]
) -> None:
    value = parse_param_value(text)
    assert value == expected
    Param.model_validate(value)  # each is a valid parameter of the language


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rnage:1,2", "did you mean 'range:'"),
        ("range:1", "range takes LOW,HIGH, got 1 number"),
        ("normal:1,2,3", "normal takes MEAN,SD[,LOW,HIGH]"),
        ("range:1,x", "expected a number, got 'x'"),
        ("nan", "expected a number, range:LOW,HIGH"),
    ],
)
def test_malformed_parameter_values_say_what_is_expected(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_param_value(text)


def test_an_override_replaces_a_parameter_by_channel_id_and_keeps_the_file_intact(
    valid_text: str,
) -> None:
    from forcegen.scenario.yamlsource import parse_yaml

    doc = parse_yaml(valid_text, "s.yaml")
    data, targets = apply_overrides(
        doc.data,
        ["channels.prisoners.contract.term_days=range:90,120", "horizon_days=100"],
        Scenario,
    )
    term = data["channels"][1]["contract"]["term_days"]
    assert term == {
        "range": [90, 120],
        "assumption": "set on the command line: --set channels.prisoners.contract.term_days"
        "=range:90,120",
    }
    assert data["horizon_days"] == 100
    assert doc.data["horizon_days"] == 365  # pure: the parsed document is unchanged
    assert set(targets) == {"channels[1].contract.term_days", "horizon_days"}


def test_overridden_scenario_loads_with_the_value_as_an_assumption(
    write: Callable[..., Path], valid_text: str
) -> None:
    path = write(valid_text)
    loaded = load_scenario_with_warnings(
        path,
        overrides=[
            "losses.killed_per_day=range:0.0002,0.0004",
            "channels.volunteers.pay.sign_up_bonus_federal=1000",  # absent in the file
            "events.0.date=2022-10-01",
            "losses.intensity_applies_to=[killed]",
        ],
    )
    sc = loaded.scenario
    killed = sc.losses.killed_per_day
    assert killed.support == (0.0002, 0.0004)
    assert killed.assumption is not None
    assert "--set losses.killed_per_day=range:0.0002,0.0004" in killed.assumption
    assert float(sc.channel("volunteers").pay.sign_up_bonus_federal.expected()[0]) == 1000
    assert str(sc.events[0].date) == "2022-10-01"
    assert sc.losses.intensity_applies_to == ["killed"]
    # Without overrides the same file gives the file's values.
    plain = load_scenario_text(valid_text)
    assert plain.losses.killed_per_day.support != (0.0002, 0.0004)


def test_a_series_can_be_set_as_a_yaml_mapping(valid_text: str, write: Callable[..., Path]) -> None:
    series = "{series: [{from: 2022-08-01, value: 1}, {from: 2023-01-01, range: [1, 2]}]}"
    sc = load_scenario_with_warnings(
        write(valid_text), overrides=[f"losses.intensity={series}"]
    ).scenario
    assert sc.losses.intensity.is_series
    assert [str(d) for d in sc.losses.intensity.step_dates()] == ["2022-08-01", "2023-01-01"]


@pytest.mark.parametrize(
    ("override", "location", "words"),
    [
        ("losses.killed_per_dya=0.1", "--set:1:8:", "did you mean 'killed_per_day'?"),
        ("channels.volunteer.training_days=10", "--set:1:10:", "did you mean 'volunteers'?"),
        ("events.7.date=2022-09-01", "--set:1:8:", "numbered 0 to 2; no 7"),
        ("losses.recovery=3", "--set:1:17:", "a section, not a value"),
        ("losses.killed_per_day.range=1", "--set:1:23:", "set it whole"),
        ("channels.prisoners.hazard_multipliers.kiled=2", "--set:1:39:", "'killed'?"),
        ("horizon_days", "--set:1:1:", "expected PATH=VALUE"),
        ("losses.killed_per_day=", "--set:1:23:", "expected a value after '='"),
        ("losses.killed_per_day=rnage:1,2", "--set:1:23:", "did you mean 'range:'?"),
        # Values go through the usual validation, located at the override's value.
        ("losses.killed_per_day=2", "--set:1:23:", "must be within [0, 1]"),
        ("horizon_days=many", "--set:1:14:", "expected a whole number, got 'many'"),
        ("events.0.date=2030-01-01", "--set:1:15:", "after the last simulated day"),
    ],
)
def test_bad_overrides_are_located_problems(
    valid_text: str, write: Callable[..., Path], override: str, location: str, words: str
) -> None:
    path = write(valid_text)
    with pytest.raises(ScenarioError) as info:
        load_scenario_with_warnings(path, overrides=[override])
    text = str(info.value)
    mine = [line for line in text.splitlines() if line.startswith(location)]
    assert mine, text
    assert any(words in line for line in mine), text


def test_every_bad_override_is_reported_with_its_position(
    valid_text: str, write: Callable[..., Path]
) -> None:
    overrides = ["horizon_days=200", "losses.kiled_per_day=1", "pools.civilianz.initial_people=5"]
    with pytest.raises(ScenarioError) as info:
        load_scenario_with_warnings(write(valid_text), overrides=overrides)
    lines = str(info.value).splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "3"]
    assert "did you mean 'civilians'?" in lines[1]
