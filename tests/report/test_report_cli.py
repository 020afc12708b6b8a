"""The answer commands end to end, in-process, on tiny scenarios."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from report_cases import YAML

from forcegen.cli import run_cmds
from forcegen.results.store import Store
from forcegen.sim import Sim

CliResult = tuple[int, str, str]

DECAY = """
name: decay
start_date: 2022-01-01
horizon_days: 100
channels:
  - id: a
    enlistment: {model: series, recruits_per_day: 0}
    initial: {deployed: 1000}
losses:
  killed_per_day: 0.01
  wounded_per_day: 0
  missing_per_day: 0
  recovery: {mean_days: 30, return_probability: 0.5}
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "report-test.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def test_report_from_a_scenario_file(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    code, stdout, _ = run_cli("report", str(scenario_file), "--out", str(out), "--runs", "16")
    assert code == 0
    assert "wrote" in stdout
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_from_a_stored_run(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path
) -> None:
    store = tmp_path / "runs.duckdb"
    run_id = Store(store).save(Sim(str(scenario_file), runs=8, seed=2).run())
    out = tmp_path / "stored.html"
    code, _, err = run_cli("report", run_id, "--store", str(store), "--out", str(out))
    assert code == 0, err
    assert run_id in out.read_text(encoding="utf-8")


def test_unknown_run_without_a_store_is_a_clear_error(
    run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    code, _, err = run_cli("report", "deadbeef", "--store", str(tmp_path / "none.duckdb"))
    assert code == 2
    assert "not a scenario file or built-in name" in err


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_plot(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"f.{suffix}"
    code, _, err = run_cli(
        "plot", str(scenario_file), "--kind", "losses", "--out", str(out), "--runs", "8"
    )
    assert code == 0, err
    assert out.stat().st_size > 1000


def test_plot_rejects_unknown_kinds(run_cli: Callable[..., CliResult], scenario_file: Path) -> None:
    code, _, err = run_cli("plot", str(scenario_file), "--kind", "pie", "--runs", "8")
    assert code == 2
    assert "fan, inflows" in err


def test_compare(run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "more.yaml"
    other.write_text(
        YAML.replace("name: report-test\n", "name: more\n").replace(
            "recruits_per_day: {value: 20,", "recruits_per_day: {value: 40,"
        ),
        encoding="utf-8",
    )
    code, out, err = run_cli("compare", str(scenario_file), str(other), "--runs", "16")
    assert code == 0, err
    assert "paired differences" in out
    assert "channels.regulars.enlistment.recruits_per_day" in out
    code, _, err = run_cli("compare", str(scenario_file), "--runs", "16")
    assert code == 2


def test_solve(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    path = tmp_path / "decay.yaml"
    path.write_text(DECAY, encoding="utf-8")
    code, out, err = run_cli("solve", str(path), "--hold-strength", "800", "--runs", "64")
    assert code == 0, err
    assert "Extra recruits needed in channel a" in out
    assert "simulation 1" in err
    code, _, err = run_cli("solve", str(path), "--hold-strength", "800", "--lever", "bonus")
    assert code == 2
    assert "behavioural" in err


def test_ask(run_cli: Callable[..., CliResult], tmp_path: Path) -> None:
    path = tmp_path / "decay.yaml"
    path.write_text(DECAY, encoding="utf-8")
    code, out, err = run_cli(
        "ask", str(path), "--below", "500", "--hold", "300", "--through", "--runs", "16"
    )
    assert code == 0, err
    assert "falls below 500" in out
    assert "first date among those" in out
    assert "at least 300 on every day" in out
    code, _, _ = run_cli("ask", str(path), "--runs", "4")
    assert code == 2


def test_demo_writes_report_figures_and_store(
    run_cli: Callable[..., CliResult],
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real demo simulates three years of the built-in scenario; the same code path
    # on the small scenario keeps this test fast.
    monkeypatch.setattr(run_cmds, "DEMO_SCENARIO", str(scenario_file))
    out = tmp_path / "demo"
    code, stdout, err = run_cli("demo", "--runs", "8", "--out", str(out))
    assert code == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "forcegen.duckdb", "fan.png", "cost.png", "pools.png"} <= names
    assert "report:" in stdout
    assert len(Store(out / "forcegen.duckdb").run_ids()) == 1
