"""Every kind of bad scenario input gives exit code 2 and located, readable problems.

Each test breaks the valid fixture scenario in one way, runs ``forcegen validate`` on
it and checks the exit code, the field, the line and the message.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario
from forcegen.scenario.yamlsource import MAX_BYTES, parse_yaml

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]
LineOf = Callable[[str, str], int]

_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<field>\S+): (?P<msg>.*)$")


def problems(stderr: str) -> list[dict[str, str]]:
    """Parse ``FILE:LINE:COL: field: message`` lines; fail on any other line."""
    parsed = []
    for text in stderr.splitlines():
        match = _LINE.match(text)
        assert match is not None, f"not a problem line: {text!r}"
        parsed.append(match.groupdict())
    return parsed


def expect_error(
    run_cli: Run, path: Path, line: int, field: str, fragment: str
) -> list[dict[str, str]]:
    """Validate ``path``: exit 2, and a problem at ``line`` on ``field`` saying ``fragment``."""
    code, out, err = run_cli("validate", str(path))
    assert code == 2, (out, err)
    assert "Traceback" not in err
    found = problems(err)
    hits = [p for p in found if p["field"] == field and fragment in p["msg"]]
    assert hits, f"no problem on {field} containing {fragment!r} in:\n{err}"
    assert all(p["file"] == str(path) for p in hits)
    assert int(hits[0]["line"]) == line, err
    return found


def broken(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


# --------------------------------------------------------------------------- syntax
def test_yaml_syntax_error(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "title: Test scenario", "title: Test: scenario")
    found = expect_error(
        run_cli, write(text), line_of(text, "title: Test:"), "<document>", "YAML syntax error"
    )
    assert "mapping values are not allowed" in found[0]["msg"]


def test_duplicate_yaml_key(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "currency: RUB\n", "currency: RUB\nhorizon_days: 400\n")
    first = line_of(text, "horizon_days: 365")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "horizon_days: 400"),
        "horizon_days",
        f"duplicate key 'horizon_days' (first given at line {first}",
    )


def test_empty_file(write: Write, run_cli: Run) -> None:
    expect_error(run_cli, write("# only a comment\n\n"), 0, "<document>", "file is empty")


def test_binary_file_is_not_yaml(write: Write, run_cli: Run) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"
    expect_error(run_cli, write(png), 1, "<document>", "not UTF-8 text: byte 0x89")


def test_control_characters_are_not_yaml(write: Write, run_cli: Run) -> None:
    expect_error(run_cli, write("name: x\nstart\x00: 1\n"), 2, "<document>", "U+0000")


def test_non_utf8_bytes(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    raw = valid_text.replace("title: Test scenario", "title: Test sc\xe9nario").encode("latin-1")
    line = line_of(valid_text, "title: Test scenario")
    found = expect_error(run_cli, write(raw), line, "<document>", "not UTF-8 text: byte 0xe9")
    assert found[0]["col"] == str(len("title: Test sc") + 1)


def test_bare_string_is_not_a_scenario(write: Write, run_cli: Run) -> None:
    expect_error(
        run_cli,
        write("\nrussia-2022-covert\n"),
        2,
        "<document>",
        "not a scenario: expected a mapping of keys such as name, start_date, channels; "
        "got a text string",
    )


def test_bare_list_is_not_a_scenario(write: Write, run_cli: Run) -> None:
    expect_error(run_cli, write("- name: x\n- name: y\n"), 1, "<document>", "got a list")


def test_two_documents(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = valid_text + "---\nname: second\n"
    expect_error(run_cli, write(text), line_of(text, "---"), "<document>", "one YAML document")


# ------------------------------------------------------------------- size and depth
def _validate_in_subprocess(path: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed command line; a generous timeout stands in for "fast"."""
    return subprocess.run(
        [sys.executable, "-m", "forcegen", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _peak_bytes(action: Callable[[], object]) -> int:
    """Peak Python memory allocated while ``action`` runs (it must raise ScenarioError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ScenarioError):
            action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_huge_file_is_rejected_before_parsing(write: Write, run_cli: Run) -> None:
    path = write("description: " + "x" * (10 * 1024 * 1024) + "\n")
    expect_error(run_cli, path, 0, "<document>", "larger than 5 MB")
    done = _validate_in_subprocess(path)
    assert done.returncode == 2
    assert "larger than 5 MB" in done.stderr
    # Reading stops one byte past the limit: never the whole file.
    assert _peak_bytes(lambda: load_scenario(path)) < 3 * MAX_BYTES


def test_deeply_nested_file_is_rejected(write: Write, run_cli: Run) -> None:
    deep = "name: " + "[" * 10_000 + "]" * 10_000 + "\n"
    found = expect_error(run_cli, write(deep), 1, "<document>", "nested deeper than 64 levels")
    assert found[0]["msg"].endswith("a scenario needs far fewer")
    done = _validate_in_subprocess(write("{a: " * 10_000 + "1" + "}" * 10_000, "map.yaml"))
    assert done.returncode == 2
    assert "nested deeper than 64 levels" in done.stderr
    assert _peak_bytes(lambda: parse_yaml(deep, "deep.yaml")) < 10 * 1024 * 1024


def test_alias_bomb_is_rejected(write: Write, run_cli: Run) -> None:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"
    line = next(n for n, text in enumerate(bomb.splitlines(), 1) if text.startswith("f:"))
    expect_error(run_cli, write(bomb), line, "f[2]", "more than 250,000 values")
    done = _validate_in_subprocess(write(bomb, "bomb.yaml"))
    assert done.returncode == 2
    assert _peak_bytes(lambda: parse_yaml(bomb, "bomb.yaml")) < 200 * 1024 * 1024


# ------------------------------------------------------------------------ structure
def test_unknown_key_suggests_the_right_one(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "  service_multipliers:", "  service_multiplier:")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "service_multiplier:"),
        "losses.service_multiplier",
        "unknown key 'service_multiplier'; did you mean 'service_multipliers'?",
    )


def test_wrong_type(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "value: 0.0002", "value: abc")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "value: abc"),
        "losses.missing_per_day.value",
        "expected a number, got 'abc'",
    )


def test_missing_required_field(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    recovery = valid_text[valid_text.index("  recovery:\n") : valid_text.index("events:\n")]
    text = broken(valid_text, recovery, "")
    expect_error(
        run_cli, write(text), line_of(text, "losses:"), "losses.recovery", "required field missing"
    )


def test_unknown_event_type(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "type: stop_channel", "type: stop_chanel")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "stop_chanel"),
        "events[2].type",
        "unknown type 'stop_chanel'; expected one of 'start_channel', 'stop_channel'",
    )


def test_horizon_must_be_positive(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "horizon_days: 365", "horizon_days: -5")
    expect_error(
        run_cli, write(text), line_of(text, "horizon_days"), "horizon_days", "must be > 0, got -5"
    )


# --------------------------------------------------------------------------- values
def test_negative_count(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "value: 20000", "value: -20000")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "value: -20000"),
        "pools[1].initial_people",
        "must not be negative (people), got -20000",
    )


def test_negative_duration(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "range: [14, 30]", "range: [-7, 30]")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "range: [-7, 30]"),
        "channels[0].training_days",
        "must not be negative (days), but uniform(-7, 30) reaches -7",
    )


def test_probability_outside_unit_interval(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "value: 0.6", "value: 1.6")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "value: 1.6"),
        "losses.recovery.return_probability",
        "must be within [0, 1] (probability), got 1.6",
    )


def test_distribution_bounds_inverted(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "range: [0.002, 0.006]", "range: [0.006, 0.002]")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "range: [0.006, 0.002]"),
        "losses.wounded_per_day",
        "low (0.006) must not exceed high (0.002)",
    )


def test_series_dates_out_of_order(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "- from: 2022-10-01", "- from: 2022-07-01")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "series:"),
        "channels[1].enlistment.recruits_per_day",
        "series dates must increase: 2022-07-01 does not follow 2022-08-01",
    )


# --------------------------------------------------------------- ids and references
def test_event_date_outside_horizon(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "date: 2023-03-01", "date: 2024-03-01")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "date: 2024-03-01"),
        "events[2].date",
        "event date 2024-03-01 is after the last simulated day 2023-07-31",
    )


def test_event_names_unknown_channel(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "    channel: prisoners\n", "    channel: prisoner\n")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "channel: prisoner\n".strip()),
        "events[2].channel",
        "unknown channel 'prisoner'; did you mean 'prisoners'?",
    )


def test_duplicate_channel_id(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(
        valid_text,
        "  - id: prisoners\n    label: Prisoner",
        "  - id: volunteers\n    label: Prisoner",
    )
    first = line_of(text, "label: Regional volunteer battalions") - 1
    expect_error(
        run_cli,
        write(text),
        line_of(text, "label: Prisoner recruitment") - 1,
        "channels[1].id",
        f"duplicate channel id 'volunteers' (first at channels[0].id, line {first})",
    )


def test_duplicate_claim_id(valid_text: str, write: Write, run_cli: Run, line_of: LineOf) -> None:
    text = broken(valid_text, "  - id: osechkin-applicants", "  - id: kommersant-salaries")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "statement: About 1,500") - 1,
        "claims[1].id",
        "duplicate claim id 'kommersant-salaries'",
    )


def test_unknown_claim_reference(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "evidence: [kommersant-salaries]", "evidence: [kommersant-salary]")
    expect_error(
        run_cli,
        write(text),
        line_of(text, "evidence: [kommersant-salary]"),
        "channels[0].pay.salary_per_month.evidence[0]",
        "unknown claim 'kommersant-salary'; did you mean 'kommersant-salaries'?",
    )


# ------------------------------------------------------------------------- warnings
def test_unused_claim_is_a_warning(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "evidence: [kommersant-salaries]", "assumption: a survey")
    code, out, err = run_cli("validate", str(write(text)))
    assert code == 0, err
    assert "test-covert: ok" in out
    assert "1 warning(s)" in out
    (warning,) = problems(err)
    assert warning["field"] == "claims[0].id"
    assert int(warning["line"]) == line_of(text, "- id: kommersant-salaries")
    assert (
        warning["msg"]
        == "warning: claim 'kommersant-salaries' is not cited by any parameter or event"
    )


def test_unsourced_parameter_is_a_warning(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    old = "      term_days:\n        value: 180\n        assumption: six-month contracts\n"
    text = broken(valid_text, old, "      term_days: 180\n")
    code, _, err = run_cli("validate", str(write(text)))
    assert code == 0, err
    (warning,) = problems(err)
    assert warning["field"] == "channels[0].contract.term_days"
    assert int(warning["line"]) == line_of(text, "term_days: 180")
    assert warning["msg"].startswith("warning: no source: cite claims")
    # --strict (the default for built-in scenarios) makes it an error.
    code, _, err = run_cli("validate", "--strict", str(write(text)))
    assert code == 2
    assert "warning" not in err


# ---------------------------------------------------------------------- all at once
def test_all_schema_errors_are_reported_at_once(
    valid_text: str, write: Write, run_cli: Run, line_of: LineOf
) -> None:
    text = broken(valid_text, "horizon_days: 365", "horizon_days: abc")
    text = broken(text, "  service_multipliers:", "  service_multiplier:")
    text = broken(text, "      model: series", "      model: serie")
    code, _, err = run_cli("validate", str(write(text)))
    assert code == 2
    found = problems(err)
    assert [int(p["line"]) for p in found] == [
        line_of(text, "horizon_days"),
        line_of(text, "model: serie"),
        line_of(text, "service_multiplier:"),
    ]


def test_all_scenario_errors_are_reported_at_once(
    valid_text: str, write: Write, run_cli: Run
) -> None:
    text = broken(valid_text, "value: 20000", "value: -20000")
    text = broken(text, "value: 0.6", "value: 1.6")
    text = broken(text, "date: 2023-03-01", "date: 2021-03-01")
    code, _, err = run_cli("validate", str(write(text)))
    assert code == 2
    assert [p["field"] for p in problems(err)] == [
        "pools[1].initial_people",
        "losses.recovery.return_probability",
        "events[2].date",
    ]
