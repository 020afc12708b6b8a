"""Sensitivity analysis against closed-form Sobol indices, Morris ranking, output specs,
parameter selection, evidence statuses and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inference_cases import HAZARD, LAMBDA, SALARY, analytic_sobol, queue_scenario

from forcegen.analysis.sensitivity import (
    SensitivityResult,
    default_samples,
    parse_output,
    sensitivity,
)
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario

OUTPUT = "strength@2022-12-31"  # day 364 of the 365-day scenario


@pytest.fixture(scope="module")
def queue() -> Scenario:
    return queue_scenario(365)


@pytest.fixture(scope="module")
def sobol(queue: Scenario) -> SensitivityResult:
    return sensitivity(queue, OUTPUT, method="sobol", samples=512, seed=3)


def test_sobol_indices_match_closed_form(sobol: SensitivityResult) -> None:
    exact = analytic_sobol(364)
    table = sobol.table.set_index("parameter")
    assert sobol.runs == 512 * (3 + 2)
    for name, (s1, st) in exact.items():
        row = table.loc[name]
        # Within the bootstrap CI, plus a small tolerance for the CI's own error.
        assert abs(row["S1"] - s1) <= row["S1_conf"] + 0.02, (name, row["S1"], s1)
        assert abs(row["ST"] - st) <= row["ST_conf"] + 0.02, (name, row["ST"], st)
        assert row["S1_conf"] < 0.15  # the check above must not be vacuous
    # The salary does not touch strength: its indices are zero (exactly, in mean-field).
    assert abs(table.loc[SALARY, "S1"]) < 1e-9
    assert abs(table.loc[SALARY, "ST"]) < 1e-9
    assert list(sobol.table["parameter"]) == [LAMBDA, HAZARD, SALARY]
    assert list(sobol.table["rank"]) == [1, 2, 3]


def test_table_shows_values_and_evidence(sobol: SensitivityResult) -> None:
    table = sobol.table.set_index("parameter")
    assert table.loc[LAMBDA, "low"] >= 20
    assert table.loc[LAMBDA, "high"] <= 80
    assert table.loc[LAMBDA, "high"] - table.loc[LAMBDA, "low"] > 55  # explored the range
    assert table.loc[LAMBDA, "distribution"] == "uniform(20, 80)"
    assert table.loc[LAMBDA, "weakest"] == "unverified-report"
    assert "unverified-report: rumour-recruits" in table.loc[LAMBDA, "evidence"]
    assert table.loc[HAZARD, "weakest"] == "assumption"
    assert table.loc[SALARY, "weakest"] == "independent-count"
    assert not table.loc[SALARY, "weak"]
    assert sobol.weak_among_top(2) == [LAMBDA, HAZARD]
    assert "rumour-recruits" in sobol.headline()
    assert sobol.mode == "mean-field"
    assert sobol.noise_share is None


def test_figure_is_written_with_status_legend(sobol: SensitivityResult, tmp_path: Path) -> None:
    path = tmp_path / "sa.png"
    fig = sobol.figure(path=path)
    assert path.stat().st_size > 5000
    legend = fig.axes[0].get_legend()
    labels = {t.get_text() for t in legend.get_texts()}
    assert labels == {"unverified-report", "assumption", "independent-count"}
    sobol.to_csv(tmp_path / "sa.csv")
    assert (tmp_path / "sa.csv").read_text().startswith("rank,parameter")


def test_morris_ranks_like_the_exact_indices(queue: Scenario) -> None:
    result = sensitivity(queue, OUTPUT, method="morris", samples=20, seed=1)
    exact = analytic_sobol(364)
    expected = [*sorted(exact, key=lambda n: -exact[n][1]), SALARY]
    assert list(result.table["parameter"]) == expected
    table = result.table.set_index("parameter")
    assert table.loc[SALARY, "mu_star"] == 0.0
    assert table.loc[LAMBDA, "mu_star"] > table.loc[HAZARD, "mu_star"] > 0
    assert result.runs == 20 * 4


def test_cost_output_depends_on_salary(queue: Scenario) -> None:
    result = sensitivity(queue, "cost@2022-12-31", method="morris", samples=10, seed=1)
    table = result.table.set_index("parameter")
    assert table.loc[SALARY, "mu_star"] > 0
    assert result.output.unit == "RUB"


def test_stochastic_mode_estimates_chance_noise(queue: Scenario) -> None:
    result = sensitivity(queue, OUTPUT, samples=16, seed=2, mode="stochastic")
    assert result.noise_share is not None
    assert 0 < result.noise_share < 0.05
    assert any("chance" in n for n in result.notes)


def test_same_seed_same_answer(queue: Scenario) -> None:
    a = sensitivity(queue, OUTPUT, method="morris", samples=10, seed=7)
    b = sensitivity(queue, OUTPUT, method="morris", samples=10, seed=7)
    assert a.table.equals(b.table)


def test_parameter_subset(queue: Scenario) -> None:
    result = sensitivity(queue, OUTPUT, samples=64, params=[HAZARD, SALARY], seed=1)
    assert set(result.table["parameter"]) == {HAZARD, SALARY}
    # λ is held at its mean: h now explains (almost) everything.
    assert result.table.set_index("parameter").loc[HAZARD, "ST"] > 0.9
    assert any("expected values" in n for n in result.notes)


def test_samples_rounded_to_power_of_two(queue: Scenario) -> None:
    result = sensitivity(queue, OUTPUT, samples=20, seed=1)
    assert result.samples == 32
    assert result.runs == 32 * 5
    assert any("rounded up" in n for n in result.notes)


def test_default_samples() -> None:
    assert default_samples("sobol", 90) == 64  # 64 · 92 = 5888 runs
    assert default_samples("sobol", 3) == 1024
    assert default_samples("morris", 90) == 22  # 22 · 91 = 2002 runs
    assert default_samples("morris", 300) == 10


@pytest.mark.parametrize(
    ("text", "quantity", "selector", "day"),
    [
        ("strength@2022-12-31", "strength", None, 364),
        ("strength[only]@2022-01-01", "strength", "only", 0),
        (" recruits[only] @ 2022-06-30 ", "recruits", "only", 180),
        ("losses[killed]@2022-03-01", "losses", "killed", 59),
        ("losses@2022-03-01", "losses", None, 59),
        ("cost@2022-12-31", "cost", None, 364),
    ],
)
def test_parse_output(queue: Scenario, text: str, quantity: str, selector: str, day: int) -> None:
    spec = parse_output(text, queue)
    assert (spec.quantity, spec.selector, spec.day) == (quantity, selector, day)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("strenght@2022-12-31", "did you mean 'strength'"),
        ("strength", "has no date"),
        ("strength@2022-13-01", "is not a date"),
        ("strength@2023-06-01", "outside the simulated days"),
        ("strength[nope]@2022-06-01", "unknown channel 'nope'"),
        ("losses[kiled]@2022-06-01", "did you mean 'killed'"),
        ("strength[]@2022-06-01", "empty brackets"),
        ("strength{x}@2022-01-01", "cannot read output"),
    ],
)
def test_parse_output_errors(queue: Scenario, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_output(text, queue)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": ["losses.kiled_per_day"]}, "did you mean 'losses.killed_per_day'"),
        ({"params": ["losses.wounded_per_day"]}, "point value"),
        ({"params": [HAZARD, HAZARD]}, "named twice"),
        ({"params": [HAZARD]}, "at least two parameters"),
        ({"method": "fast"}, "method must be"),
        ({"mode": "exact"}, "mode must be"),
        ({"samples": 1}, "at least 2"),
    ],
)
def test_bad_arguments(queue: Scenario, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        sensitivity(queue, OUTPUT, **kwargs)  # type: ignore[arg-type]


def test_constant_output_gives_zero_indices(queue: Scenario) -> None:
    # Strength does not depend on the salary: with only the salary varied, the output
    # is the same at every design point.
    result = sensitivity(queue, OUTPUT, method="morris", samples=4, params=[SALARY], seed=1)
    assert np.all(result.table["mu_star"] == 0)
    assert any("does not vary" in n for n in result.notes)


@pytest.mark.parametrize(
    ("source", "mode", "day"),
    [("queue", "stochastic", 100), ("russia-2022-covert", "mean-field", 400)],
)
def test_shortened_horizon_changes_nothing_before_it(source: str, mode: str, day: int) -> None:
    # Sensitivity and calibration simulate only up to the last day they need; this
    # relies on the daily step never looking ahead.
    from forcegen.analysis.sensitivity import through_day
    from forcegen.sim import Sim, load

    full = queue_scenario(365) if source == "queue" else load(source)
    short = through_day(full, day)
    assert short.horizon_days == day + 1
    a = Sim(full, runs=4, seed=5, mode=mode).run()  # type: ignore[arg-type]
    b = Sim(short, runs=4, seed=5, mode=mode).run()  # type: ignore[arg-type]
    for name, values in a.data.items():
        np.testing.assert_array_equal(values[:, : day + 1], b.data[name], err_msg=name)
    with pytest.raises(ValueError, match="outside the horizon"):
        through_day(full, full.horizon_days)


def test_second_order_interaction_matches_closed_form(queue: Scenario) -> None:
    # Y = λ·g(h): the interaction share is what the two first-order shares leave over.
    exact = analytic_sobol(364)
    s2_exact = 1 - exact[LAMBDA][0] - exact[HAZARD][0]
    result = sensitivity(queue, OUTPUT, samples=256, seed=4, second_order=True)
    assert result.runs == 256 * (2 * 3 + 2)
    pairs = result.second_order
    assert pairs is not None
    top = pairs.iloc[0]
    assert {top["parameter_a"], top["parameter_b"]} == {LAMBDA, HAZARD}
    assert abs(top["S2"] - s2_exact) <= top["S2_conf"] + 0.03
    salary_pairs = pairs[(pairs["parameter_a"] == SALARY) | (pairs["parameter_b"] == SALARY)]
    # The S2 estimator mixes in other inputs' effects: ~0 within its interval, not exactly.
    assert (salary_pairs["S2"].abs() <= salary_pairs["S2_conf"] + 0.01).all()
    with pytest.raises(UsageError, match="method='sobol'"):
        sensitivity(queue, OUTPUT, method="morris", second_order=True)


@pytest.mark.slow
def test_dask_workers_give_the_same_indices(queue: Scenario) -> None:
    here = sensitivity(queue, OUTPUT, method="morris", samples=40, seed=2)
    there = sensitivity(queue, OUTPUT, method="morris", samples=40, seed=2, workers=2)
    assert here.table.equals(there.table)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_design_progress_counts_design_points(
    queue: Scenario, threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`simulate_design` reports design points done out of all of them: steadily, never
    past the total, ending at it (it once multiplied them by the block size, so the bar
    jumped to the end). Three blocks, one after another or two at once."""
    from forcegen.analysis.sensitivity import simulate_design

    monkeypatch.setenv("FORCEGEN_THREADS", threads)
    seen: list[tuple[int, int]] = []
    simulate_design(
        queue,
        300,
        {LAMBDA: np.linspace(0.01, 0.99, 300)},
        parse_output(OUTPUT, queue).evaluate,
        seed=1,
        mode="mean-field",
        progress=lambda done, total: seen.append((done, total)),
    )
    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {300}
    assert done == sorted(done)
    assert done[-1] == 300
    assert len({d for d in done if 0 < d < 300}) > 10  # in steps, not one jump
