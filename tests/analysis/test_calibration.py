"""Calibration: observed-data validation, recovery of known parameters, the calibrated
scenario, simulation-based calibration (coverage) and the shipped synthetic data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from inference_cases import (
    HAZARD,
    LAMBDA,
    SALARY,
    binomial_tail,
    queue_scenario,
    rng_quantiles,
    scenario_text,
    value_of,
    write_synthetic,
)
from scipy import stats

from forcegen.analysis.calibration import (
    CalibrationResult,
    calibrate,
    fit_truncated_normal,
    load_observed,
)
from forcegen.errors import ScenarioError, UsageError
from forcegen.scenario.load import load_scenario
from forcegen.sim import Sim, load

DATA = Path(__file__).resolve().parent.parent / "data" / "observed-russia-2022-covert.csv"
HEADER = "date,series,channel,cause,value,low,high,source,model\n"

# SBC settings: small but complete runs (temperature 1 is reached).
SBC_HORIZON, SBC_LOG_SD, SBC_POP, SBC_BUDGET = 120, 0.2, 100, 2000


# ------------------------------------------------------------------ observed data
def test_load_observed_reads_models_comments_and_optional_columns(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        "# SYNTHETIC\n"
        "date,series,channel,cause,value,source,model\n"
        "\n"
        "2022-02-01,outflow,,killed,100,count A,count:0.2..0.6\n"
        "2022-03-01,outflow,,killed,150,count A,\n"
        '2022-03-01,strength,only,,1500,"estimate B, page 2",\n'
    )
    data = load_observed(path, queue_scenario(120))
    assert [r.line for r in data.rows] == [4, 5, 6]
    assert data.groups == ["outflow[killed]", "strength[only]"]
    assert data.models["outflow[killed]"].kind == "count"
    assert (data.models["outflow[killed]"].low, data.models["outflow[killed]"].high) == (0.2, 0.6)
    assert data.models["strength[only]"].kind == "exact"
    assert data.rows[0].low is None
    assert data.rows[0].log_sd(0.1) == 0.1
    assert data.sources == ["count A", "estimate B, page 2"]


def test_interval_sets_log_sd(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + "2022-02-01,strength,,,100,50,200,x,\n")
    row = load_observed(path).rows[0]
    assert math.isclose(row.log_sd(0.1), math.log(4) / (2 * stats.norm.ppf(0.975)))


def test_load_observed_reports_every_problem_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    lines = [
        HEADER.strip(),
        "2022-13-01,strength,,,100,,,x,",  # 2: bad date
        "2022-02-01,strenght,,,100,,,x,",  # 3: unknown series
        "2022-02-01,strength,,,-5,,,x,",  # 4: non-positive value
        "2022-02-01,outflow,,killed,100,120,200,x,",  # 5: value below low
        "2022-02-02,outflow,,killed,100,,,,",  # 6: no source
        "2022-02-03,outflow,,killed,100,,,x,count:0.5..1.5",  # 7: count above 1
        "2022-02-04,outflow,,killed,100,,,x,count:0.2..0.4",  # 8: ok, declares model
        "2022-02-05,outflow,,killed,100,,,x,claim:1..2",  # 9: conflicting model
        "2022-02-04,outflow,,killed,110,,,y,",  # 10: duplicate of line 8
        "2022-02-06,pool,,killed,100,,,x,",  # 11: pool has no categories
        "2022-02-06,outflow,,kiled,100,,,x,",  # 12: unknown cause
        "2022-02-07,outflow,,killed,100,x",  # 13: wrong field count
        "2022-02-08,inflow,,recruited,100,50,,x,",  # 14: low without high
    ]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError) as info:
        load_observed(path)
    found = {(p.line, p.field) for p in info.value.problems}
    assert found == {
        (2, "date"),
        (3, "series"),
        (4, "value"),
        (5, "low"),
        (6, "source"),
        (7, "model"),
        (9, "model"),
        (10, "date"),
        (11, "cause"),
        (12, "cause"),
        (13, ""),
        (14, "high"),
    }
    assert all(p.file == str(path) for p in info.value.problems)
    by_line = {p.line: p for p in info.value.problems}
    assert by_line[3].column == 12  # where "strenght" starts
    assert "did you mean 'strength'" in by_line[3].message
    assert "line 8" in by_line[10].message
    assert by_line[2].format().startswith(f"{path}:2:1: date: ")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("# only a comment\n", "empty file"),
        (HEADER, "no observations"),
        ("date,series,value,source\n", r"missing column\(s\) channel, cause"),
        ("date,series,channel,cause,value,source,colour\n", "unknown column 'colour'"),
        ("date,series,channel,cause,value,low,source\n", "both low and high"),
    ],
)
def test_bad_headers(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(content)
    with pytest.raises(ScenarioError, match=message):
        load_observed(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_observed(tmp_path / "missing.csv")


def test_ids_and_dates_checked_against_scenario(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        HEADER + "2023-06-01,strength,only,,100,,,x,\n2022-02-01,strength,onyl,,100,,,x,\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_observed(path, queue_scenario(120))
    problems = {(p.line, p.field): p.message for p in info.value.problems}
    assert "outside the simulated days" in problems[(2, "date")]
    assert "did you mean 'only'" in problems[(3, "channel")]


# ------------------------------------------------------------------- the method
def test_fit_truncated_normal_recovers_parameters() -> None:
    rng = np.random.default_rng(1)
    dist = stats.truncnorm((0 - 0.8) / 0.3, (1 - 0.8) / 0.3, loc=0.8, scale=0.3)
    x = dist.rvs(size=20000, random_state=rng)
    w = np.ones_like(x)
    mean, sd, ks = fit_truncated_normal(x, w, 0.0, 1.0)
    assert abs(mean - 0.8) < 0.03
    assert abs(sd - 0.3) < 0.03
    assert ks < 0.02
    # Weights count: upweighting the lower half moves the fit down.
    mean_w, _, _ = fit_truncated_normal(x, np.where(x < 0.7, 3.0, 1.0), 0.0, 1.0)
    assert mean_w < mean - 0.05


@pytest.fixture(scope="module")
def recovered(tmp_path_factory: pytest.TempPathFactory) -> CalibrationResult:
    """Calibrate λ and h to noisy observations (10 % log-scale error) made at λ = 50,
    h = 0.008 and a count fraction of 0.7."""
    scenario = queue_scenario(SBC_HORIZON)
    path = write_synthetic(
        tmp_path_factory.mktemp("obs") / "known.csv",
        scenario,
        u_lambda=0.5,
        u_hazard=0.5,
        fraction=0.7,
        log_sd=0.1,
        seed=11,
    )
    return calibrate(
        scenario, path, params=[LAMBDA, HAZARD], budget=4000, population_size=100, seed=4
    )


def test_recovers_known_parameters(recovered: CalibrationResult) -> None:
    table = recovered.summary.set_index("parameter")
    assert recovered.final_temperature == 1.0  # the exact posterior, not a tempered one
    truths = {LAMBDA: 50.0, HAZARD: 0.008, "factor:outflow[killed]": 0.7}
    for name, truth in truths.items():
        assert table.loc[name, "post_q05"] <= truth <= table.loc[name, "post_q95"], name
    # Strength observed to ±20 % pins λ down: the posterior median is close to the
    # truth and most of the prior range is ruled out. h is confounded with the unknown
    # count fraction, so only its interval is checked (above).
    assert abs(table.loc[LAMBDA, "post_median"] / 50.0 - 1) < 0.08
    assert table.loc[LAMBDA, "shrinkage"] > 0.6
    assert table.loc[HAZARD, "shrinkage"] > 0.2
    assert recovered.fit["inside"].all()
    assert recovered.simulations <= 4000
    assert recovered.ess > 30


def test_calibrated_scenario_validates_and_runs(
    recovered: CalibrationResult, tmp_path: Path
) -> None:
    paths = recovered.write(tmp_path)
    assert paths["scenario"].name == "queue-calibrated.yaml"
    for key in ("summary", "fit", "posterior_figure", "fit_figure"):
        assert paths[key].stat().st_size > 200, key
    scenario = load_scenario(paths["scenario"])
    assert scenario.name == "queue-calibrated"
    lam = scenario.channel("only").enlistment.recruits_per_day  # type: ignore[union-attr]
    dist = lam.distribution
    assert dist.name == "normal"
    assert dist.support == (20.0, 80.0)  # truncated to the prior's support
    row = recovered.summary.set_index("parameter").loc[LAMBDA]
    assert abs(dist.mean - row["post_mean"]) < 0.02 * row["post_mean"]
    assert lam.evidence == ["rumour-recruits"]  # evidence kept
    assert lam.note is not None
    assert "Calibrated to known.csv" in lam.note
    assert scenario.losses.killed_per_day.assumption == "test hazard range"
    # Uncalibrated parameters are unchanged; the claims travel with the file.
    assert scenario.channel("only").pay.salary_per_month.describe() == "uniform(1000, 5000)"
    assert {c.id for c in scenario.claims} == {"rumour-recruits", "count-salary"}
    result = Sim(scenario, runs=64, seed=1, mode="mean-field").run()
    values = result.parameters[LAMBDA]
    assert row["post_q05"] - 3 < np.median(values) < row["post_q95"] + 3
    assert recovered.calibrated_scenario().name == "queue-calibrated"


def test_same_seed_same_posterior(tmp_path: Path) -> None:
    scenario = queue_scenario(60)
    path = write_synthetic(
        tmp_path / "o.csv", scenario, u_lambda=0.3, u_hazard=0.6, fraction=0.6, log_sd=0.2, seed=1
    )
    runs = [
        calibrate(scenario, path, params=[LAMBDA], budget=300, population_size=50, seed=9)
        for _ in range(2)
    ]
    assert runs[0].particles.equals(runs[1].particles)
    assert np.array_equal(runs[0].weights, runs[1].weights)
    assert runs[0].simulations == runs[1].simulations


def test_bad_calibration_arguments(tmp_path: Path) -> None:
    scenario = queue_scenario(60)
    path = write_synthetic(
        tmp_path / "o.csv", scenario, u_lambda=0.3, u_hazard=0.6, fraction=0.6, log_sd=0.2, seed=1
    )
    with pytest.raises(UsageError, match="budget"):
        calibrate(scenario, path, params=[LAMBDA], budget=100, population_size=50)
    with pytest.raises(UsageError, match="did you mean"):
        calibrate(scenario, path, params=["losses.kiled_per_day"], budget=300, population_size=50)
    with pytest.raises(UsageError, match="others"):
        calibrate(scenario, path, params=[LAMBDA], others="fixed")  # type: ignore[arg-type]


def test_screening_picks_the_parameters_the_data_see(tmp_path: Path) -> None:
    from forcegen.analysis.calibration import screen_parameters

    scenario = queue_scenario(SBC_HORIZON)
    path = write_synthetic(
        tmp_path / "o.csv", scenario, u_lambda=0.5, u_hazard=0.5, fraction=0.7, log_sd=0.1, seed=2
    )
    chosen, table = screen_parameters(scenario, load_observed(path), k=3)
    assert set(chosen) == {LAMBDA, HAZARD}  # the salary moves no observation
    assert table.set_index("parameter").loc[SALARY, "influence"] == 0


# ------------------------------------------------------ simulation-based calibration
def _sbc(repeats: int, tmp_path: Path) -> dict[str, int]:
    """Draw (λ, h, fraction) from the prior, make observations, calibrate, and count
    how often the truth lies in the 5–95 % posterior interval."""
    scenario = queue_scenario(SBC_HORIZON)
    hits = {LAMBDA: 0, HAZARD: 0, "fraction": 0}
    for rep in range(repeats):
        u = rng_quantiles(rep)
        fraction = 0.5 + 0.4 * u[2]
        path = write_synthetic(
            tmp_path / f"sbc{rep}.csv",
            scenario,
            u_lambda=float(u[0]),
            u_hazard=float(u[1]),
            fraction=fraction,
            log_sd=SBC_LOG_SD,
            seed=rep,
        )
        result = calibrate(
            scenario,
            path,
            params=[LAMBDA, HAZARD],
            budget=SBC_BUDGET,
            population_size=SBC_POP,
            seed=rep,
        )
        table = result.summary.set_index("parameter")
        truth = {
            LAMBDA: value_of(LAMBDA, float(u[0])),
            HAZARD: value_of(HAZARD, float(u[1])),
            "fraction": fraction,
        }
        for key, row in (
            (LAMBDA, LAMBDA),
            (HAZARD, HAZARD),
            ("fraction", "factor:outflow[killed]"),
        ):
            hits[key] += int(table.loc[row, "post_q05"] <= truth[key] <= table.loc[row, "post_q95"])
    return hits


def test_sbc_coverage_small(tmp_path: Path) -> None:
    # With exact 90 % intervals, coverage in 10 repeats is Binomial(10, 0.9):
    # P(X <= 5) = 0.16 %, so ">= 6 of 10" fails a correct method about once in 600
    # runs, while a method with intervals half as wide as they should be (coverage
    # about 60 %) fails it about 37 % of the time. The seeds are fixed, so the verdict
    # is the same on every run.
    assert binomial_tail(10, 5, 0.9) < 0.002
    hits = _sbc(10, tmp_path)
    for key, count in hits.items():
        assert count >= 6, (key, hits)


@pytest.mark.slow
def test_sbc_coverage_100(tmp_path: Path) -> None:
    # Binomial(100, 0.9): P(X <= 81) = 0.55 %, P(X >= 98) = 0.21 %; the band [82, 97]
    # holds a correct method with probability 99.2 % per parameter.
    assert binomial_tail(100, 81, 0.9) < 0.006
    assert 1 - binomial_tail(100, 97, 0.9) < 0.003
    hits = _sbc(100, tmp_path)
    for key, count in hits.items():
        assert 82 <= count <= 97, (key, hits)


# -------------------------------------------------------------- shipped synthetic data
def test_shipped_observations_are_synthetic_and_valid() -> None:
    text = DATA.read_text()
    assert text.startswith("# SYNTHETIC DATA - NOT REAL OBSERVATIONS")
    data = load_observed(DATA, load("russia-2022-covert"))
    assert data.groups == [
        "outflow[killed]",
        "inflow[prisoners,recruited]",
        "inflow[contract,recruited]",
        "strength[deployed]",
    ]
    assert {m.kind for m in data.models.values()} == {"count", "claim", "exact"}
    assert all(r.source.startswith("SYNTHETIC") for r in data.rows)


@pytest.mark.slow
def test_shipped_observations_are_reproducible(tmp_path: Path) -> None:
    import importlib.util

    script = DATA.parent.parent.parent / "scripts" / "make_synthetic_observations.py"
    spec = importlib.util.spec_from_file_location("make_synthetic_observations", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.main(tmp_path / "again.csv")
    assert out.read_text() == DATA.read_text()


@pytest.mark.slow
def test_calibrate_builtin_scenario(tmp_path: Path) -> None:
    result = calibrate(
        "russia-2022-covert",
        DATA,
        params=["losses.killed_per_day", "channels.prisoners.enlistment.recruits_per_day"],
        budget=1536,
        population_size=128,
        seed=1,
    )
    table = result.summary.set_index("parameter")
    # Known values (scripts/make_synthetic_observations.py) inside the 90 % interval.
    for name, truth in (
        ("losses.killed_per_day", 4.0e-4),
        ("channels.prisoners.enlistment.recruits_per_day", 60.0),
    ):
        assert table.loc[name, "post_q05"] <= truth <= table.loc[name, "post_q95"], name
    # A small budget may end tempered: written anyway, this test is about the file.
    scenario = load_scenario(result.write(tmp_path, allow_failed=True)["scenario"])
    assert scenario.name == "russia-2022-covert-calibrated"


def test_scenario_text_helper_is_valid() -> None:
    # Guards the fixture the other tests rely on.
    assert "range: [20, 80]" in scenario_text()
    assert queue_scenario(10).horizon_days == 10


def test_documented_example_is_valid(tmp_path: Path) -> None:
    doc = (DATA.parent.parent.parent / "docs" / "calibration.md").read_text()
    example = doc.split("```text\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.csv"
    path.write_text(example)
    data = load_observed(path, load("russia-2022-covert"))
    assert len(data.rows) == 4
    assert data.models["outflow[killed]"].kind == "count"
