"""Observed-data files are data (issue #12): read as real CSV, reported in bounded
time and length, and what forcegen writes from them cannot run in a spreadsheet."""

from __future__ import annotations

import csv
import dataclasses
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from inference_cases import LAMBDA, queue_scenario, scenario_text

from forcegen.analysis.calibration import CalibrationResult, calibrate, load_observed
from forcegen.errors import MAX_PROBLEMS

Cli = Callable[..., tuple[int, str, str]]

HEADER = "date,series,channel,cause,value,low,high,source,model\n"
FORMULAS = ("=cmd|' /C calc'!A0", "+SUM(1,2)", "@SUM(A1)", "-2+3", "\t=1+1")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[CalibrationResult, Path]:
    """A small calibration to observations whose sources are spreadsheet formulas, and
    the folder its files were written to."""
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "obs.csv"
    rows = [
        f'2022-01-{10 + 10 * i:02d},strength,,deployed,{300 + 50 * i},,,"{source}",\n'
        for i, source in enumerate(FORMULAS[:3])
    ]
    path.write_text(HEADER + "".join(rows))
    result = calibrate(
        queue_scenario(60), path, params=[LAMBDA], budget=300, population_size=50, seed=1
    )
    # Small on purpose (a tempered posterior): written anyway, these tests are about text.
    result.write(folder / "out", allow_failed=True)
    return result, folder / "out"


def test_formulas_in_observation_sources_are_neutralised_in_the_fit_csv(
    hostile: tuple[CalibrationResult, Path],
) -> None:
    result, out = hostile
    assert list(result.fit["source"]) == list(FORMULAS[:3])  # the data keep them as read
    (fit,) = out.glob("*-fit.csv")
    with fit.open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["source"] for r in written] == ["'" + s for s in FORMULAS[:3]]
    # numbers stay numbers: nothing else got a quote
    assert all(not r["observed"].startswith("'") for r in written)


def test_calibration_figures_draw_a_dollar_as_a_dollar(
    hostile: tuple[CalibrationResult, Path], tmp_path: Path
) -> None:
    result, _ = hostile
    # The fit figure's title names the observed file, whose name is the user's.
    observed = dataclasses.replace(result.observed, path=str(tmp_path / "obs $_$.csv"))
    renamed = dataclasses.replace(result, observed=observed)
    renamed.fit_figure(path=tmp_path / "fit.svg")  # mathtext would fail on "$_$"
    assert "obs $_$.csv" in (tmp_path / "fit.svg").read_text()


def test_a_quoted_line_break_in_a_field_is_read(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        HEADER
        + '# a comment with a "quote\n'
        + '2022-01-10,strength,,deployed,300,,,"Report, page 2\n""second"" line",\n'
        + "\n"
        + "2022-01-20,strength,,deployed,310,,,x,\n"
    )
    data = load_observed(path)
    assert [r.source for r in data.rows] == ['Report, page 2\n"second" line', "x"]
    assert [r.line for r in data.rows] == [3, 6]  # the line each record starts on


def test_an_unclosed_quote_is_located(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        HEADER
        + '2022-01-10,strength,,deployed,300,,,"unclosed,\n'
        + "2022-01-20,strength,,deployed,310,,,x,\n"
    )
    with pytest.raises(Exception, match=r"obs.csv:2:0: .*runs over 2 lines.*closing quote"):
        load_observed(path)


_PROBLEM = re.compile(r"^.*:\d+:\d+: \S+: .*$")


def test_a_million_bad_rows_are_reported_quickly_and_briefly(run_cli: Cli, tmp_path: Path) -> None:
    scenario = tmp_path / "queue.yaml"
    scenario.write_text(scenario_text(60))
    path = tmp_path / "huge.csv"
    # Every row has three problems, one of them an unknown series (a "did you mean"
    # hint, the costliest to compute).
    path.write_text(HEADER + "2022-13-01,strenght,,deployed,-5,,,src,\n" * 1_000_000)
    start = time.perf_counter()
    code, _, err = run_cli("calibrate", str(scenario), str(path), "--out", str(tmp_path))
    elapsed = time.perf_counter() - start
    assert code == 2
    lines = err.splitlines()
    assert len(lines) <= MAX_PROBLEMS + 1
    assert all(_PROBLEM.match(line) for line in lines), lines[:3]
    assert lines[-1] == f"{path}:0:0: <document>: … and {3_000_000 - MAX_PROBLEMS:,} more problems"
    assert elapsed < 60, f"{elapsed:.1f} s"  # ~10 s; it took over 300 s
