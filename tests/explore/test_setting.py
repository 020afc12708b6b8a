"""Controls → scenario: edits as ``--set`` overrides, assumptions, located problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forcegen.errors import ScenarioError, UsageError
from forcegen.explore.app import open_source, parse_question, setting_from_page
from forcegen.explore.levers import Lever, format_value
from forcegen.explore.setting import (
    BY_HAND,
    Base,
    Edit,
    Setting,
    base_from_scenario,
    build,
    problem_controls,
    scenario_yaml,
)
from forcegen.scenario.load import load_scenario, load_scenario_text, scenario_hash


@pytest.fixture(scope="module")
def small(small_path: Path) -> Base:
    return open_source(str(small_path), seed=1)


@pytest.fixture(scope="module")
def mobilisation() -> Base:
    return open_source("russia-2022-mobilisation", seed=1)


def _problems(base: Base, setting: Setting) -> dict[str, list[str]]:
    with pytest.raises(ScenarioError) as info:
        build(base, setting)
    return problem_controls(setting, info.value.problems)


def test_no_edit_is_the_scenario_itself(small: Base, small_path: Path) -> None:
    assert scenario_hash(build(small, Setting())) == scenario_hash(small.scenario)
    assert scenario_hash(build(small, Setting())) == scenario_hash(load_scenario(small_path))


def test_a_set_value_is_an_assumption_with_the_previous_value(small: Base) -> None:
    setting = Setting((Edit("lever:k", "losses.killed_per_day", "0.0004"),))
    killed = build(small, setting).losses.killed_per_day
    assert killed.value == pytest.approx(0.0004)
    assert killed.assumption is not None
    assert killed.assumption.startswith(BY_HAND)
    assert "previous value: uniform(0.0001, 0.003)" in killed.assumption


def test_downloaded_yaml_loads_strictly_to_the_same_scenario(mobilisation: Base) -> None:
    setting = Setting(
        (
            Edit("lever:k", "losses.killed_per_day", "0.0005"),
            Edit("event-date:1", "events.1.date", "2022-10-15"),
            Edit("event-size:1", "events.1.size_people", "150000"),
        ),
        frozenset({0}),
    )
    scenario = build(mobilisation, setting)
    text = scenario_yaml(scenario, mobilisation, setting)
    again = load_scenario_text(text, "explored.yaml", strict=True)
    assert scenario_hash(again) == scenario_hash(scenario)
    assert "events.0 (widen_eligibility on 2022-08-15) switched off" in text
    # Event 0 is gone, so the call-up is now event 0, with its date and size changed
    # and an assumption saying by whom and from what.
    wave = again.events[0]
    assert wave.type == "mobilisation_wave"
    assert str(wave.date) == "2022-10-15"
    assert wave.assumption is not None
    assert "date 2022-10-15 (was 2022-09-21)" in wave.assumption
    assert "size_people 150000 (was uniform(300000, 318000))" in wave.assumption
    assert "switched off by hand" in again.description


def test_edits_of_a_switched_off_event_are_dropped(mobilisation: Base) -> None:
    setting = Setting((Edit("event-date:0", "events.0.date", "2030-01-01"),), frozenset({0}))
    assert len(build(mobilisation, setting).events) == 2


def test_a_value_outside_its_support_is_located_at_its_control(small: Base) -> None:
    setting = Setting(
        (
            Edit("lever:w", "losses.wounded_per_day", "0.0005"),
            Edit("search", "losses.killed_per_day", "range:-0.1,0.2"),
        )
    )
    problems = _problems(small, setting)
    assert list(problems) == ["search"]
    assert problems["search"][0].startswith("--set:2:")
    assert "losses.killed_per_day" in problems["search"][0]


def test_an_event_after_the_horizon_is_located(small: Base) -> None:
    setting = Setting((Edit("event-date:0", "events.0.date", "2030-01-01"),))
    (message,) = _problems(small, setting)["event-date:0"]
    assert message.startswith("--set:1:")
    assert "after the last simulated day 2024-08-27" in message


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("losses.killed_per_day", "0.0.1"),
        ("losses.killed_per_day", "range:1"),
        ("events.0.date", "2024-13-01"),
        ("channels.contract.pay.sign_up_bonus_federal", "lots"),
    ],
)
def test_the_message_is_the_command_line_s(
    small: Base, small_path: Path, path: str, value: str
) -> None:
    """A malformed value gets, beside its control, what ``--set`` prints."""
    setting = Setting((Edit("c", path, value),))
    (message,) = _problems(small, setting)["c"]
    with pytest.raises(ScenarioError) as cli:
        load_scenario(small_path, overrides=[f"{path}={value}"])
    assert message == cli.value.problems[0].format()


def test_the_page_s_controls_make_the_setting(small: Base) -> None:
    lever = Lever(
        "losses.killed_per_day",
        "probability per day",
        0.0001,
        0.003,
        0.00155,
        "uniform(0.0001, 0.003)",
        "assumption",
        (),
        -0.5,
        False,
    )
    untouched = setting_from_page(small, [lever], [0.00155], [["on"]], ["2024-05-01"], ["3000"], [])
    assert untouched == Setting()
    moved = setting_from_page(
        small,
        [lever],
        [0.002],
        [[]],
        ["2024-06-01"],
        ["5000"],
        [{"name": "losses.wounded_per_day", "value": "range:0.0004,0.0006"}],
    )
    assert moved.switched_off == frozenset({0})
    assert [(e.control, e.path, e.value) for e in moved.edits] == [
        ("lever:losses.killed_per_day", "losses.killed_per_day", "0.002"),
        ("event-date:0", "events.0.date", "2024-06-01"),
        ("event-size:0", "events.0.sign_up_bonus_federal", "5000"),
        ("search", "losses.wounded_per_day", "range:0.0004,0.0006"),
    ]


@settings(max_examples=15, deadline=None)
@given(u=st.floats(0.0, 1.0))
def test_any_slider_position_builds_that_value(small: Base, u: float) -> None:
    low, high = 0.0001, 0.003
    text = format_value(low + u * (high - low))
    setting = Setting((Edit("lever", "losses.killed_per_day", text),))
    assert build(small, setting).losses.killed_per_day.value == pytest.approx(float(text))


@pytest.mark.parametrize(
    ("kind", "number", "by", "expected"),
    [
        ("below", "abc", None, "--below: expected a number of people, got 'abc'"),
        ("below", "-5", None, "--below: expected a positive number of people"),
        ("hold", "9000", "2024-02-30", "--by: expected a date YYYY-MM-DD"),
        ("hold", "9000", "2030-01-01", "outside the simulated days"),
    ],
)
def test_bad_questions(small: Base, kind: str, number: str, by: str | None, expected: str) -> None:
    with pytest.raises(UsageError, match=expected.replace("(", r"\(")):
        parse_question(kind, number, by, small.scenario)


def test_a_question(small: Base) -> None:
    assert parse_question("below", "9,000", None, small.scenario) == {"below": 9000.0}
    asked = parse_question("hold", "8000", "2024-06-01", small.scenario)
    assert asked["hold"] == 8000.0
    assert str(asked["by"]) == "2024-06-01"


def test_base_from_scenario_is_standalone(tmp_path: Path) -> None:
    """The base text names no ledger file: it loads from any folder."""
    base = base_from_scenario(load_scenario("russia-2022-covert"), "russia-2022-covert", 0)
    target = tmp_path / "elsewhere.yaml"
    target.write_text(base.text, encoding="utf-8")
    again = load_scenario(target)
    assert again.ledger_files == []
    assert scenario_hash(again) == scenario_hash(base.scenario)
    # Equal to the built-in but for the ledger file names (their claims are inline).
    builtin = load_scenario("russia-2022-covert")
    assert scenario_hash(again.model_copy(update={"ledger_files": builtin.ledger_files})) == (
        scenario_hash(builtin)
    )


@pytest.mark.parametrize(
    ("edits", "off"),
    [
        ((), ()),
        ((("lever:r", "channels.contract.enlistment.base_rate_per_day", "0.0002"),), ()),
        ((("search", "losses.killed_per_day", "range:0.0002,0.0004"),), ()),
        ((("event-date:1", "events.1.date", "2022-10-01"),), ()),
        ((("event-size:1", "events.1.size_people", "150000"),), ()),
        ((("lever:k", "losses.killed_per_day", "0.0004"),), (0,)),
    ],
)
def test_the_quick_build_is_the_loader_s(
    mobilisation: Base, edits: tuple[tuple[str, str, str], ...], off: tuple[int, ...]
) -> None:
    """The kept-parse path of build() gives the scenario the full loader gives."""
    from forcegen.explore.setting import _quick_build, _text_without, edit_texts

    setting = Setting(tuple(Edit(*e) for e in edits), frozenset(off))
    text = _text_without(mobilisation, setting.switched_off)
    overrides = edit_texts(mobilisation, setting)
    quick = _quick_build(text, mobilisation.label, overrides)
    assert quick is not None
    slow = load_scenario_text(text, mobilisation.label, overrides=overrides)
    assert scenario_hash(quick) == scenario_hash(slow)
    assert quick == slow


def test_the_quick_build_leaves_problems_to_the_loader(small: Base) -> None:
    from forcegen.explore.setting import _quick_build, edit_texts

    setting = Setting((Edit("lever:k", "losses.killed_per_day", "-1"),))
    assert _quick_build(small.text, small.label, edit_texts(small, setting)) is None
