"""``forcegen sensitivity`` and ``forcegen calibrate`` end to end through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from inference_cases import HAZARD, LAMBDA, queue_scenario, scenario_text, write_synthetic

from forcegen.scenario.load import load_scenario

CliResult = tuple[int, str, str]

DATA = Path(__file__).resolve().parent.parent / "data" / "observed-russia-2022-covert.csv"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables are drawn to the terminal's width; make it wide so cells are not wrapped.
    from rich.console import Console

    from forcegen.cli import analysis_cmds

    monkeypatch.setattr(analysis_cmds, "console", Console(highlight=False, width=300))


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue.yaml"
    path.write_text(scenario_text(120))
    return path


def test_sensitivity_command(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "sa"
    code, out, err = run_cli(
        "sensitivity",
        str(scenario_file),
        "--output",
        "strength@2022-04-30",
        "--samples",
        "64",
        "--out",
        str(out_dir),
        "--quiet",
    )
    assert code == 0, err
    assert LAMBDA in out
    assert "ST ±" in out
    assert "unverified-report" in out
    assert "hinges on weak evidence" in out
    pngs = list(out_dir.glob("*.png"))
    csvs = list(out_dir.glob("*.csv"))
    assert len(pngs) == 1
    assert len(csvs) == 1
    assert "unverified-report: rumour-recruits" in csvs[0].read_text()
    assert "strength-2022-04-30-sobol" in pngs[0].name


def test_sensitivity_morris_with_params(
    run_cli: Callable[..., CliResult], scenario_file: Path
) -> None:
    code, out, err = run_cli(
        "sensitivity",
        str(scenario_file),
        "--output",
        "losses[killed]@2022-04-30",
        "--method",
        "morris",
        "--samples",
        "10",
        "--params",
        f"{LAMBDA},{HAZARD}",
        "--quiet",
    )
    assert code == 0, err
    assert "mu* ±" in out
    assert "--out DIR" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "strength@2030-01-01"], "outside the simulated days"),
        (["--output", "strenth@2022-04-30"], "did you mean 'strength'"),
        (["--output", "strength@2022-04-30", "--method", "fast"], "--method must be"),
        (["--output", "strength@2022-04-30", "--mode", "exact"], "--mode must be"),
        (["--output", "strength@2022-04-30", "--params", "nope"], "no uncertain parameter"),
    ],
)
def test_sensitivity_usage_errors(
    run_cli: Callable[..., CliResult], scenario_file: Path, args: list[str], message: str
) -> None:
    code, _, err = run_cli("sensitivity", str(scenario_file), *args, "--quiet")
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_calibrate_command(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path
) -> None:
    obs = write_synthetic(
        tmp_path / "obs.csv",
        queue_scenario(120),
        u_lambda=0.4,
        u_hazard=0.5,
        fraction=0.7,
        log_sd=0.2,
        seed=3,
    )
    out_dir = tmp_path / "cal"
    args = (
        "calibrate",
        str(scenario_file),
        str(obs),
        "--params",
        f"{LAMBDA},{HAZARD}",
        "--budget",
        "500",
        "--population",
        "60",
        "--out",
        str(out_dir),
        "--quiet",
    )
    code, out, err = run_cli(*args)
    # This small budget ends tempered: refused, nothing written, unless --accept-failed.
    assert code == 2
    assert "refusing to write a calibrated scenario" in err
    assert "final temperature" in err
    assert "--accept-failed" in err
    assert not (out_dir / "queue-calibrated.yaml").exists()
    code, out, err = run_cli(*args, "--accept-failed")
    assert code == 0, err
    assert "deprecated" not in err
    assert "written with --accept-failed" in (
        load_scenario(out_dir / "queue-calibrated.yaml").title or ""
    )
    # 0.5.0's --force also wrote a failed posterior: kept for this format, with a warning.
    code, out, err = run_cli(*args, "--force")
    assert code == 0, err
    assert "deprecated" in err
    assert "posterior mean" in out
    assert "factor:outflow[killed]" in out
    assert "diagnostics failed: final temperature" in out
    written = out_dir / "queue-calibrated.yaml"
    assert f"wrote scenario: {written}" in out
    calibrated = load_scenario(written)
    assert calibrated.name == "queue-calibrated"
    # Every report made from it says so: title and description.
    assert "DIAGNOSTICS FAILED: written with --force" in (calibrated.title or "")
    assert (calibrated.description or "").startswith("UNRELIABLE CALIBRATION")
    for name in ("posterior.csv", "fit.csv", "posterior.png", "fit.png", "particles.csv"):
        assert (out_dir / f"queue-calibrated-{name}").is_file(), name
    particles = (out_dir / "queue-calibrated-particles.csv").read_text().splitlines()
    assert particles[0] == (
        "# forcegen posterior sample; others=expected; mode=mean-field; diagnostics=failed"
    )
    assert particles[1] == f"weight,{LAMBDA},{HAZARD},factor:outflow[killed]"
    assert len(particles) == 62


def test_calibrate_bad_csv_exits_2_with_located_problems(
    run_cli: Callable[..., CliResult], scenario_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,series,channel,cause,value,source\n"
        "2022-02-01,strength,,,100,x\n"
        "2022-02-02,strength,nope,,100,x\n"
    )
    code, _, err = run_cli("calibrate", str(scenario_file), str(bad), "--quiet")
    assert code == 2
    assert f"{bad}:3:0: channel: no channel 'nope'" in err
    bad.write_text("date,series,channel,cause,value,source\n2022-02-01,strength,,,zero,x\n")
    code, _, err = run_cli("calibrate", str(scenario_file), str(bad), "--quiet")
    assert code == 2
    assert f"{bad}:2:23: value:" in err


@pytest.mark.slow
def test_both_commands_on_the_builtin_scenario(
    run_cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    code, out, err = run_cli(
        "sensitivity",
        "russia-2022-covert",
        "--method",
        "morris",
        "--samples",
        "10",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert code == 0, err
    assert "deployed strength on 2023-12-31" in out
    code, out, err = run_cli(
        "calibrate",
        "russia-2022-covert",
        str(DATA),
        "--params",
        "losses.killed_per_day,channels.prisoners.enlistment.recruits_per_day",
        "--budget",
        "1024",
        "--population",
        "128",
        "--out",
        str(tmp_path),
        "--quiet",
        "--force",  # a small budget may end tempered; this test is about the commands
    )
    assert code == 0, err
    calibrated = load_scenario(tmp_path / "russia-2022-covert-calibrated.yaml")
    assert calibrated.losses.killed_per_day.distribution.name == "normal"


def test_sensitivity_second_order_table(
    run_cli: Callable[..., CliResult], scenario_file: Path
) -> None:
    code, out, err = run_cli(
        "sensitivity",
        str(scenario_file),
        "--output",
        "strength@2022-04-30",
        "--samples",
        "16",
        "--second-order",
        "--quiet",
    )
    assert code == 0, err
    assert "largest interactions" in out
    assert "S2 ±" in out
