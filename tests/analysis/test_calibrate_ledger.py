"""``forcegen calibrate`` on a public-record ledger: the command end to end on the
mobilisation built-in (a small budget), the refusal of a failed posterior, a failed
posterior written with --accept-failed and marked as such, the posterior sample's
round trip (runs draw the calibrated parameters jointly), a calibrated built-in
found by name with its sample, and ``forcegen check`` with the posterior's factors.

The ledger here is SYNTHETIC (made-up values in the public-record columns, with the
shipped quantity names): it exercises the commands, it is not data about the war.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import forcegen
from forcegen.analysis.calibration.ledger import is_ledger, posterior_draws
from forcegen.analysis.posterior_runs import (
    MARKER,
    joint_draws,
    joint_for_source,
    particles_for,
    read_header,
)
from forcegen.cli import main
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import load_mapping
from forcegen.observations.measure import resolve
from forcegen.scenario import load as scenario_load
from forcegen.scenario.load import list_builtin, load_scenario

CliResult = tuple[int, str, str]
SCENARIO = "russia-2022-mobilisation"
NAME = f"{SCENARIO}-calibrated"
KILLED = "losses.killed_per_day"
CONTRACT = "channels.contract.enlistment.base_rate_per_day"
HEADER = (
    "id,date,period_start,period_end,quantity,value,low,high,unit,category,claimant,"
    "source_title,source_url,verification,notes,role\n"
)


def _row(rid: str, date: str, start: str, quantity: str, value: int, status: str) -> str:
    return (
        f"{rid},{date},{start},,{quantity},{value},,,people,test,SYNTHETIC test source,"
        f"SYNTHETIC test row (not data),https://example.org/{rid},{status},made up,outcome\n"
    )


LEDGER = HEADER + "".join(
    [
        _row("t01", "2022-12-31", "", "confirmed_deaths_cumulative", 10000, "independent_count"),
        _row("t02", "2023-03-31", "", "confirmed_deaths_cumulative", 16000, "independent_count"),
        _row("t03", "2023-06-30", "", "confirmed_deaths_cumulative", 24000, "independent_count"),
        _row("t04", "2023-06-30", "2023-01-01", "contract_signings_ytd", 150000, "official_claim"),
        _row("t05", "2023-09-30", "", "confirmed_deaths_cumulative", 30000, "independent_count"),
    ]
)
SMALL = [
    "--params",
    f"{KILLED},{CONTRACT}",
    "--particles",
    "128",
    "--moves",
    "2",
    "--cutoff",
    "2023-06-30",
]


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic ledger file."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.csv"
    path.write_text(LEDGER, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def forced(tmp_path_factory: pytest.TempPathFactory, ledger: Path) -> Path:
    """A calibration stopped before the first stage (budget spent), written with
    --accept-failed: its folder."""
    out = tmp_path_factory.mktemp("forced")
    args = (*SMALL, "--budget", "60", "--out", str(out), "--quiet", "--accept-failed")
    assert _cli("calibrate", SCENARIO, str(ledger), *args) == 0
    return out


@pytest.fixture(scope="module")
def passed(tmp_path_factory: pytest.TempPathFactory, ledger: Path) -> Path:
    """A calibration that passes its diagnostics: its folder."""
    out = tmp_path_factory.mktemp("passed")
    args = (*SMALL, "--budget", "40000", "--out", str(out), "--quiet")
    assert _cli("calibrate", SCENARIO, str(ledger), *args) == 0
    return out


def test_the_command_line_defaults_are_the_samplers() -> None:
    """`forcegen calibrate` and `forcegen backtest` write their sampler defaults as
    literals (they import the sampler lazily); they must be the library's."""
    import inspect

    from forcegen.cli.analysis_cmds import calibrate_cmd
    from forcegen.cli.observation_cmds import backtest_cmd
    from forcegen.observations.backtest import backtest
    from forcegen.observations.smc import (
        MAX_MOVES,
        MIN_MOVES,
        PARTICLES,
        POPULATIONS,
        smc_calibrate,
    )

    options = inspect.signature(calibrate_cmd).parameters
    assert options["moves"].default == MIN_MOVES
    assert options["max_moves"].default == MAX_MOVES
    assert options["population"].default == PARTICLES
    assert options["populations"].default == POPULATIONS
    assert inspect.signature(backtest_cmd).parameters["particles"].default == PARTICLES
    assert inspect.signature(backtest).parameters["particles"].default == PARTICLES
    library = inspect.signature(smc_calibrate).parameters
    assert library["particles"].default == PARTICLES
    assert library["populations"].default == POPULATIONS


def test_the_ledger_is_told_from_the_older_format_by_its_header(ledger: Path) -> None:
    assert is_ledger(ledger)
    older = Path(__file__).resolve().parent.parent / "data" / "observed-russia-2022-covert.csv"
    assert not is_ledger(older)


def test_calibrate_a_ledger_end_to_end(
    run_cli: Callable[..., CliResult], ledger: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cal"
    args = ("calibrate", SCENARIO, str(ledger), *SMALL, "--budget", "40000", "--out", str(out))
    code, stdout, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    data = json.loads(stdout)["data"]
    assert data["format"] == "ledger"
    assert data["method"] == "smc"
    assert data["training_rows"] == 4  # t05 was published after the cut-off
    diag = data["diagnostics"]
    assert diag["passed"]
    assert diag["final_temperature"] == 1.0
    assert diag["ess_share"] >= 0.3
    assert diag["unique_share"] >= 0.3
    assert 0.0 <= data["training_coverage90"] <= 1.0
    assert {r["parameter"] for r in data["posterior"]} >= {KILLED, CONTRACT, "discrepancy"}
    assert any(r["parameter"].startswith("factor:independent_count") for r in data["posterior"])
    files = {k: Path(v) for k, v in data["files"].items()}
    assert set(files) == {"scenario", "particles", "summary", "fit"}
    assert all(p.is_file() for p in files.values())
    header = read_header(files["particles"])
    assert header["others"] == "expected"
    assert header["method"] == "smc"
    assert header["diagnostics"] == "passed"
    assert header["cutoff"] == "2023-06-30"  # read back by `report --observations`
    assert header["populations"] == "2"
    assert float(header["max_rhat"]) < 1.05
    # (scenario, seed, version) determine the sample: the seed and version are recorded.
    assert header["seed"] == str(data["seed"])
    assert header["forcegen"] == forcegen.__version__
    assert f"forcegen {forcegen.__version__}, seed {header['seed']}." in files[
        "scenario"
    ].read_text(encoding="utf-8")
    assert len(pd.read_csv(files["particles"], skiprows=1)) == 2 * 128  # both populations
    from forcegen.cli.report_cmds import calibration_cutoff

    assert calibration_cutoff(str(files["scenario"])) == dt.date(2023, 6, 30)
    sample = pd.read_csv(files["particles"], skiprows=1)
    assert {"weight", KILLED, CONTRACT, "discrepancy"} <= set(sample.columns)
    assert any(c.startswith("factor:") for c in sample.columns)
    assert any(c.startswith("before:") for c in sample.columns)
    calibrated = load_scenario(files["scenario"])
    assert calibrated.name == NAME
    assert "DIAGNOSTICS FAILED" not in (calibrated.title or "")


def test_runs_draw_the_calibrated_parameters_jointly(
    run_cli: Callable[..., CliResult], passed: Path
) -> None:
    out = passed
    yaml_path = out / f"{NAME}.yaml"
    sample = pd.read_csv(out / f"{NAME}-particles.csv", skiprows=1)
    draws = joint_draws(particles_for(yaml_path) or Path(), load_scenario(yaml_path), 4000, 3)
    # Each replicate is one whole particle, with its own factors beside it.
    pairs = {
        (round(a, 12), round(b, 12)) for a, b in zip(sample[KILLED], sample[CONTRACT], strict=True)
    }
    drawn = zip(draws.given[KILLED], draws.given[CONTRACT], strict=True)
    assert all((round(a, 12), round(b, 12)) in pairs for a, b in drawn)
    assert len(draws.nuisance) == 4000
    assert "discrepancy" in draws.nuisance.columns
    # The replicates keep the posterior's correlation (equal weights: resampling only).
    r_sample = float(np.corrcoef(sample[KILLED], sample[CONTRACT])[0, 1])
    r_runs = float(np.corrcoef(draws.given[KILLED], draws.given[CONTRACT])[0, 1])
    assert abs(r_runs - r_sample) < 0.1, (r_sample, r_runs)
    code, _, err = run_cli("run", str(yaml_path), "--runs", "4", "--no-store", "--format", "json")
    assert code == 0, err
    assert "drawn jointly from the posterior sample" in err


def test_a_failed_posterior_is_refused_and_nothing_is_written(
    run_cli: Callable[..., CliResult], ledger: Path, tmp_path: Path
) -> None:
    out = tmp_path / "refused"
    for extra in ((), ("--force",)):  # --force replaces files; it does not accept failures
        code, stdout, err = run_cli(
            "calibrate", SCENARIO, str(ledger), *SMALL, "--budget", "60", "--out", str(out),
            "--quiet", *extra,
        )  # fmt: skip
        assert code == 2
        assert "refusing to write a calibrated scenario" in err
        assert "final temperature" in err
        assert "--accept-failed" in err
        assert "diagnostics: final temperature" in stdout
        assert "FAILED" in stdout
        assert not out.exists() or not any(out.iterdir())


def test_a_failed_posterior_written_with_accept_failed_says_so(
    run_cli: Callable[..., CliResult], forced: Path, ledger: Path
) -> None:
    calibrated = load_scenario(forced / f"{NAME}.yaml")
    assert "DIAGNOSTICS FAILED: written with --accept-failed" in (calibrated.title or "")
    assert (calibrated.description or "").startswith("UNRELIABLE CALIBRATION")
    sample = forced / f"{NAME}-particles.csv"
    assert sample.read_text().startswith(MARKER)
    assert read_header(sample)["diagnostics"] == "failed"
    code, _, err = run_cli(
        "run", str(forced / f"{NAME}.yaml"), "--runs", "4", "--no-store", "--format", "json"
    )
    assert code == 0, err
    assert "FAILED its diagnostics" in err
    code, stdout, err = run_cli(
        "check", str(forced / f"{NAME}.yaml"), str(ledger), "--runs", "8", "--format", "json"
    )
    assert code == 0, err
    notes = json.loads(stdout)["data"]["notes"]
    assert any("FAILED its diagnostics" in n for n in notes), notes


def test_check_uses_the_posterior_sample_factors(
    run_cli: Callable[..., CliResult], forced: Path, ledger: Path
) -> None:
    yaml_path = forced / f"{NAME}.yaml"
    code, stdout, err = run_cli(
        "check", str(yaml_path), str(ledger), "--runs", "8", "--format", "json"
    )
    assert code == 0, err
    notes = json.loads(stdout)["data"]["notes"]
    assert any("from the posterior sample" in n for n in notes), notes
    # The factors are each replicate's particle's, mapped back onto their ranges.
    scenario = load_scenario(yaml_path)
    resolved = resolve(load_ledger(ledger), scenario, load_mapping())
    joint = joint_for_source(str(yaml_path), scenario, 8, 1)
    assert joint is not None
    draws, missing = posterior_draws(joint.nuisance, resolved, 1)
    assert not missing
    for j, group in enumerate(resolved.groups):
        first = next(m for m in resolved.measurements if m.group == group)
        values = first.model.low + (first.model.high - first.model.low) * draws.factors[:, j]
        np.testing.assert_allclose(values, joint.nuisance[f"factor:{group}"], rtol=1e-9)
    assert draws.discrepancy is not None
    np.testing.assert_allclose(draws.discrepancy, joint.nuisance["discrepancy"])


def test_a_calibrated_built_in_runs_by_name_from_its_sample(
    run_cli: Callable[..., CliResult],
    forced: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "builtin"
    folder.mkdir()
    for name in (f"{NAME}.yaml", f"{NAME}-particles.csv"):
        shutil.copy(forced / name, folder / name)
    # The hook: the folder the built-ins are read from.
    monkeypatch.setattr(scenario_load, "_builtin_dir", lambda: folder)
    assert NAME in list_builtin()
    assert particles_for(NAME) == folder / f"{NAME}-particles.csv"
    scenario = load_scenario(NAME)  # strict, as a built-in
    joint = joint_for_source(NAME, scenario, 4, 0)
    assert joint is not None
    assert KILLED in joint.given
    code, _, err = run_cli("run", NAME, "--runs", "4", "--no-store", "--format", "json")
    assert code == 0, err
    assert "drawn jointly from the posterior sample" in err
