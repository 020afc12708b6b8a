"""Start-up warnings: initial forces whose first days in the output are an artefact of
the start (docs/scenarios.md, Start-up warnings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import Problem
from forcegen.scenario.load import list_builtin, load_scenario_text_with_warnings

LineOf = Callable[[str, str], int]
Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]

_END_OF_PRISONERS = "      on_term_end: released\nlosses:\n"


def with_prisoners(text: str, extra: str) -> str:
    """The valid scenario with ``extra`` (channel keys, 4-space indent) added to its
    second channel, a series channel recruiting 50 a day from the start date."""
    assert text.count(_END_OF_PRISONERS) == 1
    return text.replace(_END_OF_PRISONERS, f"      on_term_end: released\n{extra}losses:\n")


def warnings_of(text: str) -> list[Problem]:
    loaded = load_scenario_text_with_warnings(text, "s.yaml", strict=True)
    assert all(w.severity == "warning" for w in loaded.warnings)
    return loaded.warnings


def only(problems: list[Problem], field: str) -> Problem:
    hits = [p for p in problems if p.field == field]
    assert len(hits) == 1, problems
    return hits[0]


TRAINING = "    training_days: {value: 30, assumption: a month}\n"
DEPLOYED = "    initial:\n      deployed: {value: 5000, assumption: already serving}\n"


def test_empty_training_pipeline_is_located_at_initial_training(
    valid_text: str, line_of: LineOf
) -> None:
    text = with_prisoners(
        valid_text, TRAINING + DEPLOYED + "      training: {value: 0, assumption: none}\n"
    )
    warning = only(warnings_of(text), "channels[1].initial.training")
    assert warning.line == line_of(text, "training: {value: 0")
    assert warning.column == line_of_col(text, "{value: 0")
    assert "nobody is in training on the start date" in warning.message
    assert "here about 1,500 (50 a day × 30 days)" in warning.message
    assert "Start-up warnings" in warning.message


def line_of_col(text: str, needle: str) -> int:
    line = next(x for x in text.splitlines() if needle in x)
    return line.index(needle) + 1


def test_empty_training_pipeline_without_initial_training_key(
    valid_text: str, line_of: LineOf
) -> None:
    warnings = warnings_of(with_prisoners(valid_text, TRAINING + DEPLOYED))
    warning = only(warnings, "channels[1].initial.training")
    assert "gap" in warning.message


@pytest.mark.parametrize(
    "extra",
    [
        # trainees already in the pipeline
        TRAINING + DEPLOYED + "      training: {value: 1500, assumption: pipeline}\n",
        # a channel opening on the start date: the gap is real
        TRAINING,
        # a channel that does not recruit from day 0
        TRAINING + DEPLOYED + "    active: false\n",
        # no training: no pipeline to fill
        DEPLOYED,
    ],
)
def test_no_warning_when_the_start_is_consistent(valid_text: str, extra: str) -> None:
    assert warnings_of(with_prisoners(valid_text, extra)) == []


def test_trainees_without_training(valid_text: str, line_of: LineOf) -> None:
    text = with_prisoners(
        valid_text, "    initial:\n      training: {value: 700, assumption: in training}\n"
    )
    warning = only(warnings_of(text), "channels[1].initial.training")
    assert warning.line == line_of(text, "training: {value: 700")
    assert "training_days is 0" in warning.message
    assert "counts them as deployed from day 0" in warning.message


def test_trainees_with_training_that_can_be_zero(valid_text: str) -> None:
    extra = (
        "    training_days: {range: [0, 20], assumption: maybe none}\n"
        "    initial:\n      training: {value: 700, assumption: in training}\n"
        "      deployed: {value: 100, assumption: serving}\n"
    )
    warning = only(warnings_of(with_prisoners(valid_text, extra)), "channels[1].initial.training")
    assert "training_days can be 0" in warning.message


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (
            "      value: 0.6\n      assumption: most return to duty\n",
            "      value: 0\n      assumption: nobody returns\n",
            "return_probability is 0",
        ),
        (
            "",
            "    hazard_multipliers:\n      wounded: {value: 0, assumption: rear}\n",
            "hazard is 0",
        ),
    ],
)
def test_recovering_without_a_way_into_recovery(
    valid_text: str, line_of: LineOf, old: str, new: str, why: str
) -> None:
    recovering = "    initial:\n      recovering: {value: 300, assumption: in hospital}\n"
    if old:
        assert valid_text.count(old) == 1
        text = with_prisoners(valid_text.replace(old, new), recovering)
    else:
        text = with_prisoners(valid_text, new + recovering)
    warning = only(warnings_of(text), "channels[1].initial.recovering")
    assert warning.line == line_of(text, "recovering: {value: 300")
    assert why in warning.message
    assert "drains to 0" in warning.message


def test_recovering_with_a_way_into_recovery_is_fine(valid_text: str) -> None:
    recovering = "    initial:\n      recovering: {value: 300, assumption: in hospital}\n"
    assert warnings_of(with_prisoners(valid_text, recovering)) == []


def test_builtins_have_no_start_warnings() -> None:
    from forcegen.scenario.load import load_scenario_with_warnings

    for name in list_builtin():
        loaded = load_scenario_with_warnings(name)
        assert [w for w in loaded.warnings if "Start-up warnings" in w.message] == []


def test_validate_exits_0_and_prints_the_warning(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = with_prisoners(valid_text, TRAINING + DEPLOYED)
    path = write(text)
    code, out, err = run_cli("validate", str(path))
    assert code == 0
    assert "test-covert: ok:" in out
    assert f"{path}:" in err
    assert "channels[1].initial.training: warning: nobody is in training" in err
    code, _, err = run_cli("validate", "--strict", str(path))
    assert code == 0, err
