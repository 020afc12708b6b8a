"""The ``questions:`` block of a scenario: what it holds, and located problems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario_text, load_scenario_with_warnings

QUESTIONS = """questions:
  below: [150000, 100000]
  hold: 120000
  by: 2023-01-01
"""


def test_a_scenario_states_its_questions(valid_text: str) -> None:
    sc = load_scenario_text(valid_text + QUESTIONS)
    assert sc.questions is not None
    assert sc.questions.below == [150000, 100000]
    assert sc.questions.hold == 120000
    assert sc.questions.by == dt.date(2023, 1, 1)
    assert load_scenario_text(valid_text).questions is None


@pytest.mark.parametrize(
    ("block", "needle", "field", "words"),
    [
        ("questions:\n  below: [1000, -5]\n", "below:", "questions.below[1]", "must be > 0"),
        ("questions:\n  hold: 0\n", "hold:", "questions.hold", "must be > 0"),
        ("questions:\n  hold: 10\n  by: 2030-01-01\n", "by:", "questions.by", "outside"),
        ("questions:\n  below: [10]\n  by: 2022-09-01\n", "by:", "questions.by", "give hold"),
        ("questions:\n  belw: [10]\n", "belw:", "questions.belw", "did you mean 'below'?"),
    ],
)
def test_bad_questions_are_located(
    valid_text: str,
    write: Callable[..., Path],
    line_of: Callable[[str, str], int],
    block: str,
    needle: str,
    field: str,
    words: str,
) -> None:
    text = valid_text + block
    path = write(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario_with_warnings(path)
    (problem,) = info.value.problems
    assert problem.field == field
    assert words in problem.message
    assert problem.line == line_of(text, needle)


def test_questions_that_ask_nothing_are_a_warning(
    valid_text: str, write: Callable[..., Path]
) -> None:
    loaded = load_scenario_with_warnings(write(valid_text + "questions: {}\n"))
    assert [w.field for w in loaded.warnings] == ["questions"]
