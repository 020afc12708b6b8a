"""The digest a stored run keeps for reports (daily.parquet, monthly.parquet) and the
lazily read series of a loaded run: the same numbers as the replicates, folders saved
without a digest still answered, and no replicate block read for what was stored."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from store_support import assert_same_result, tiny_result

from forcegen.engine.simulate import Mode
from forcegen.errors import StoreError
from forcegen.results.digest import (
    ALL,
    DAILY_FILE,
    MONTHLY_FILE,
    DigestCollector,
    digest_of,
    key_name,
    month_index,
    monthly_keys,
    summary_totals,
)
from forcegen.results.reduce import SummaryTotals
from forcegen.results.result import Result
from forcegen.results.store import Store
from forcegen.results.stored import StoredSeries


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "runs.duckdb", timeout=5)


def _assert_same_digest(got: Result, want: Result) -> None:
    a, b = digest_of(got), digest_of(want)
    assert a.deployed.dtype == np.float64
    np.testing.assert_array_equal(a.deployed, b.deployed)
    assert list(a.months) == list(b.months)
    np.testing.assert_array_equal(a.days_in_month, b.days_in_month)
    for series, entity, category in monthly_keys(want.channels):
        np.testing.assert_array_equal(
            a.monthly(series, entity, category),
            b.monthly(series, entity, category),
            err_msg=key_name((series, entity, category)),
        )


@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
def test_saved_digest_equals_the_replicates(store: Store, mode: Mode) -> None:
    result = tiny_result(runs=40, mode=mode)
    run_id = store.save(result)
    folder = store.folder(run_id)
    assert (folder.path / DAILY_FILE).is_file()
    assert (folder.path / MONTHLY_FILE).is_file()
    loaded = store.load(run_id)
    _assert_same_digest(loaded, result)
    digest = digest_of(loaded)
    # What each stored number means, computed the plain way from the series.
    np.testing.assert_array_equal(digest.deployed, result.total("strength", categories="deployed"))
    first, _, _ = month_index(result.dates)
    for series, entity, category in monthly_keys(result.channels):
        daily = result.total(
            series, channels=None if entity == ALL else entity, categories=category
        )
        np.testing.assert_array_equal(
            digest.monthly(series, entity, category),
            np.add.reduceat(daily, first, axis=1),
            err_msg=f"{series}/{entity}/{category}",
        )
    # No replicate block was read for any of it.
    assert isinstance(loaded.data, StoredSeries)
    assert loaded.data.loaded() == []


def test_folder_saved_without_a_digest_is_answered_from_its_replicates(store: Store) -> None:
    result = tiny_result(runs=40)
    run_id = store.save(result)
    folder = store.folder(run_id)
    # As forcegen 0.4 wrote folders before the digest existed.
    (folder.path / DAILY_FILE).unlink()
    (folder.path / MONTHLY_FILE).unlink()
    loaded = store.load(run_id)
    _assert_same_digest(loaded, result)
    np.testing.assert_array_equal(
        loaded.total("strength", categories="deployed"),
        result.total("strength", categories="deployed"),
    )
    assert (
        loaded.time_below(2000.0).first_day.tolist() == result.time_below(2000.0).first_day.tolist()
    )
    assert loaded.costs().table().equals(result.costs().table())


def test_stored_summaries_read_no_series(store: Store) -> None:
    result = tiny_result(runs=30)
    loaded = store.load(store.save(result))
    data = loaded.data
    assert isinstance(data, StoredSeries)
    assert loaded.runs == 30
    assert len(data) == 7
    assert "cost" in data
    assert loaded.summary() == result.summary()
    stored_totals, totals = summary_totals(loaded), SummaryTotals().extract(result)
    assert stored_totals.keys() == totals.keys()
    for key, values in totals.items():
        np.testing.assert_array_equal(stored_totals[key], values, err_msg=key)
    for cumulative in (False, True):
        got = loaded.quantiles("outflow", categories="killed", cumulative=cumulative)
        want = result.quantiles("outflow", categories="killed", cumulative=cumulative)
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert data.loaded() == []
    # Looking a series up reads it, and only it; the whole result is still identical.
    np.testing.assert_array_equal(data["pool"], result.data["pool"])
    assert data.loaded() == ["pool"]
    assert_same_result(loaded, result)


def test_a_changed_result_no_longer_uses_the_stored_digest(store: Store) -> None:
    result = tiny_result(runs=20)
    loaded = store.load(store.save(result))
    loaded.data["strength"] = np.zeros_like(result.data["strength"])
    assert isinstance(loaded.data, StoredSeries)
    assert not loaded.data.intact
    assert not loaded.total("strength", categories="deployed").any()
    assert not digest_of(loaded).deployed.any()
    assert loaded.summary().strength_end.median == 0


def test_a_run_deleted_before_its_series_are_read_is_a_store_error(store: Store) -> None:
    run_id = store.save(tiny_result(runs=12))
    loaded = store.load(run_id)
    store.delete(run_id)
    with pytest.raises(StoreError, match="deleted or damaged after it was opened"):
        loaded.data["strength"]


def test_a_loaded_run_pickles_as_plain_arrays(store: Store, tmp_path: Path) -> None:
    import pickle

    result = tiny_result(runs=12)
    loaded = store.load(store.save(result))
    copy = pickle.loads(pickle.dumps(loaded))
    assert type(copy.data) is dict
    shutil.rmtree(store.runs_dir)
    assert_same_result(copy, result)


def test_collector_refuses_an_incomplete_digest() -> None:
    result = tiny_result(runs=12)
    collector = DigestCollector(result.runs, result.dates, result.channels)
    with pytest.raises(StoreError, match="lacks the sums"):
        collector.digest()
