"""The report of a stored run is drawn from what the store computed at save (quantiles,
summary totals, the digest) and is the same, byte for byte, as the report drawn from the
replicates in memory; without the digest files (a folder of an earlier 0.4 store) it is
answered from the replicates and is the same again. Also: the pieces that let a report
start without importing scipy.stats give scipy's numbers exactly."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forcegen.analysis import answers, basis
from forcegen.report.html import render_report
from forcegen.results.digest import DAILY_FILE, MONTHLY_FILE
from forcegen.results.result import Result
from forcegen.results.store import Store
from forcegen.results.stored import StoredSeries
from forcegen.scenario import params


def _stored(result: Result, tmp_path: Path) -> tuple[Store, str]:
    store = Store(tmp_path / "runs.duckdb", timeout=5)
    return store, store.save(result)


def test_report_from_stored_summaries_equals_report_from_replicates(
    small_result: Result, tmp_path: Path
) -> None:
    store, run_id = _stored(small_result, tmp_path)
    loaded = store.load(run_id)
    from_store = render_report(loaded, questions=None)
    # Figures included: every number and every pixel is the same.
    assert from_store == render_report(small_result, questions=None)
    assert isinstance(loaded.data, StoredSeries)
    assert loaded.data.loaded() == []  # not one replicate block was read


@pytest.mark.slow
def test_report_of_a_folder_without_digest_equals_report_from_replicates(
    small_result: Result, tmp_path: Path
) -> None:
    store, run_id = _stored(small_result, tmp_path)
    folder = store.folder(run_id).path
    (folder / DAILY_FILE).unlink()
    (folder / MONTHLY_FILE).unlink()
    assert render_report(store.load(run_id)) == render_report(small_result)


def test_answers_of_a_folder_without_digest_equal_the_replicates(
    small_result: Result, tmp_path: Path
) -> None:
    store, run_id = _stored(small_result, tmp_path)
    folder = store.folder(run_id).path
    (folder / DAILY_FILE).unlink()
    (folder / MONTHLY_FILE).unlink()
    loaded = store.load(run_id)
    level = 0.75 * float(small_result.total("strength", categories="deployed")[:, 0].mean())
    a, b = loaded.time_below(level), small_result.time_below(level)
    np.testing.assert_array_equal(a.first_day, b.first_day)
    assert loaded.prob_hold(level, through=True) == small_result.prob_hold(level, through=True)
    c, d = loaded.costs(convert_to="USD"), small_result.costs(convert_to="USD")
    np.testing.assert_array_equal(c.paid, d.paid)
    np.testing.assert_array_equal(c.unpaid, d.unpaid)
    np.testing.assert_array_equal(c.deployed_person_days, d.deployed_person_days)


def test_normal_quantiles_equal_scipy() -> None:
    from scipy import special, stats

    assert answers._Z975 == float(special.ndtri(0.975)) == float(stats.norm.ppf(0.975))
    assert float(stats.norm.ppf(0.95)) == params._Z95
    for p in (0.9, 0.975, 0.995, 1 - 0.05 / 206):
        assert answers.normal_quantile(p) == float(stats.norm.ppf(p))
    # The Wilson interval as it was computed with scipy.stats, to the last bit.
    for confidence in (0.9, 0.95):
        z = float(stats.norm.ppf(0.5 + confidence / 2.0))
        n, p = 100, 0.3
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
        assert answers.wilson_interval(30, n, confidence) == (centre - half, centre + half)


@pytest.mark.parametrize("inputs", [1, 7, 60, 103])
@pytest.mark.parametrize("replicates", [10, 40, 97, 128, 400, 1000, 100_000])
def test_threshold_equals_the_scipy_formula(replicates: int, inputs: int) -> None:
    from scipy import stats

    z = float(stats.norm.ppf(1.0 - basis.ALPHA / (2.0 * inputs)))
    assert basis.threshold(replicates, inputs) == max(basis.MIN_RHO, z / math.sqrt(replicates - 1))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
        max_size=60,
    )
)
def test_average_ranks_equal_scipy_rankdata(values: list[float]) -> None:
    from scipy import stats

    x = np.asarray(values)
    np.testing.assert_array_equal(basis.average_ranks(x), stats.rankdata(x))


def test_average_ranks_of_nan_are_nan() -> None:
    assert np.isnan(basis.average_ranks(np.array([1.0, np.nan, 2.0]))).all()
