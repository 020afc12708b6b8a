"""The scenario commands of the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from forcegen.scenario.load import list_builtin, load_scenario_text
from forcegen.scenario.walk import iter_params

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]


def test_validate_prints_a_one_line_summary(valid_text: str, write: Write, run_cli: Run) -> None:
    code, out, err = run_cli("validate", str(write(valid_text)))
    assert code == 0
    assert err == ""
    n_params = sum(1 for _ in iter_params(load_scenario_text(valid_text)))
    assert out.splitlines() == [
        f"test-covert: ok: 2 channels, 2 pools, 2 claims, {n_params} parameters, "
        "2022-08-01 to 2023-07-31 (365 days)"
    ]


def test_validate_builtin_by_name(run_cli: Run) -> None:
    for name in list_builtin():
        code, out, err = run_cli("validate", name)
        assert code == 0, err
        assert out.startswith(f"{name}: ok: ")


def test_missing_file_exits_2_without_traceback(tmp_path: Path, run_cli: Run) -> None:
    code, _, err = run_cli("validate", str(tmp_path / "x.yaml"))
    assert code == 2
    assert err.startswith(f"{tmp_path / 'x.yaml'}:0:0: <document>: cannot read file")


def test_usage_errors_exit_2(run_cli: Run) -> None:
    for args in (("validate",), ("valdate", "x"), ("validate", "--bogus", "x")):
        code, _, err = run_cli(*args)
        assert code == 2, args
        assert "Error:" in err
        assert "Traceback" not in err


def test_help_exits_0(run_cli: Run) -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("validate", "schema", "scenarios", "evidence"):
        assert command in out


def test_every_command_module_is_registered() -> None:
    """Each ``cli/*_cmds.py`` module registers its commands when imported; the app must
    import them all. Checked in a fresh interpreter, so that no test's own import of a
    command module can hide a missing one (``ensemble`` was missing once)."""
    import subprocess
    import sys

    import forcegen.cli

    folder = Path(forcegen.cli.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*_cmds.py"))
    assert "scale_cmds" in modules
    code = (
        "import sys; from forcegen.cli import app, main\n"
        "import forcegen.cli.commands\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('forcegen.cli.'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = done.stdout.split()
    for module in modules:
        assert f"forcegen.cli.{module}" in loaded, module


def test_ensemble_command_is_listed(run_cli: Run) -> None:
    code, out, _ = run_cli("--help")
    assert code == 0
    assert "ensemble" in out


def test_schema_is_the_scenario_json_schema(run_cli: Run) -> None:
    code, out, _ = run_cli("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "Scenario"
    assert {"channels", "losses", "start_date"} <= set(schema["properties"])
    term = schema["$defs"]["Contract"]["properties"]["term_days"]
    assert term["x-unit"] == "days"


def test_scenarios_lists_builtins_with_titles(run_cli: Run) -> None:
    code, out, _ = run_cli("scenarios")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list_builtin()


def test_evidence_shows_claims_assumptions_and_counts(
    valid_text: str, write: Write, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    text = valid_text.replace("plus bonuses.", "plus bonuses [bold]sic[/bold].")
    code, out, _ = run_cli("evidence", str(write(text)))
    assert code == 0
    for text in ("Claims", "kommersant-salaries", "Assumptions", "six-month contracts"):
        assert text in out
    assert "plus bonuses [bold]sic[/bold]." in out  # user text is never markup
    assert "Counts by status" in out
    assert "independent-count" in out


def test_problem_text_is_printed_verbatim(write: Write, run_cli: Run) -> None:
    code, _, err = run_cli("validate", str(write('name: x\n":thumbs_up: [b]": 1\n')))
    assert code == 2
    assert "unknown key ':thumbs_up: [b]'" in err
