"""The results store: round trip, quantiles in DuckDB, list/info/delete, exports and
schema checks. Atomicity and concurrency are in ``test_store_atomic.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from store_support import TINY_YAML, assert_same_result, tiny_result

import forcegen.results.store as store_mod
from forcegen.engine.simulate import Mode
from forcegen.errors import StoreError, UsageError
from forcegen.results.result import SERIES
from forcegen.results.store import SCHEMA_VERSION, Store
from forcegen.scenario.load import scenario_hash


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "runs.duckdb", timeout=5)


# ---------------------------------------------------------------------------- round trip
@pytest.mark.parametrize(
    ("mode", "sample"), [("stochastic", True), ("mean-field", True), ("stochastic", False)]
)
def test_save_then_load_gives_the_same_result(store: Store, mode: Mode, sample: bool) -> None:
    result = tiny_result(mode=mode, sample=sample)
    run_id = store.save(result, label="first try", scenario_text=TINY_YAML)
    loaded = store.load(run_id)
    assert_same_result(loaded, result)
    assert scenario_hash(loaded.scenario) == result.scenario_hash
    # the views of the loaded result work as on the original
    pd.testing.assert_frame_equal(loaded.quantiles("outflow"), result.quantiles("outflow"))


def test_info_records_the_reproducibility_contract(store: Store) -> None:
    result = tiny_result()
    run_id = store.save(result, label="baseline", scenario_text=TINY_YAML)
    info = store.info(run_id)
    assert len(run_id) == 8
    assert info.run_id == run_id
    assert (info.scenario, info.seed, info.version) == ("tiny-store", 3, result.version)
    assert info.scenario_hash == result.scenario_hash
    assert info.scenario_text == TINY_YAML
    assert info.label == "baseline"
    assert (info.mode, info.replicates, info.sample_parameters) == ("stochastic", 12, True)
    assert info.channels == ("contract", "prisoners")
    assert info.pools == ("civilians",)
    assert info.horizon_days == 90
    assert str(info.start_date) == "2022-08-01"
    assert set(info.parameters) == set(result.parameters)
    assert info.provenance()["seed"] == 3


def test_large_seed_is_kept_exactly(store: Store) -> None:
    result = tiny_result()
    result.seed = 2**100 + 7  # SeedSequence accepts any non-negative integer
    run_id = store.save(result)
    assert store.load(run_id).seed == 2**100 + 7
    assert store.list()["seed"].tolist() == [2**100 + 7]


def test_tables_are_tidy_and_queryable_with_sql(store: Store) -> None:
    result = tiny_result()
    run_id = store.save(result)
    with duckdb.connect(str(store.path), read_only=True) as con:
        deployed = con.execute(
            "SELECT replicate, date, value FROM strength WHERE run_id = ? AND "
            "channel = 'contract' AND state = 'deployed' ORDER BY replicate, date",
            [run_id],
        ).fetchnumpy()
        n_series = con.execute("SELECT count(*) FROM series WHERE run_id = ?", [run_id]).fetchall()[
            0
        ][0]
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    want = result.data["strength"][:, :, 0, 1]
    np.testing.assert_array_equal(deployed["value"].reshape(want.shape), want)
    assert n_series == sum(a.size for a in result.data.values())
    assert version == [(str(SCHEMA_VERSION),)]


# ----------------------------------------------------------------------------- quantiles
@pytest.mark.parametrize(
    ("series", "channels", "categories", "cumulative"),
    [
        ("strength", None, None, False),
        ("strength", "contract", "deployed", False),
        ("strength", ["contract", "prisoners"], ["training", "deployed"], False),
        ("outflow", None, ["killed", "wounded_discharged"], True),
        ("inflow", "prisoners", "recruited", True),
        ("cost", None, None, False),
        ("unpaid", "contract", "salary", True),
        ("pool", None, None, False),
        ("transition", "contract", "deployed", False),
    ],
)
def test_quantiles_in_duckdb_equal_numpy(
    store: Store,
    series: str,
    channels: str | list[str] | None,
    categories: str | list[str] | None,
    cumulative: bool,
) -> None:
    result = tiny_result()
    run_id = store.save(result)
    q = (0.05, 0.25, 0.5, 0.75, 0.95)
    got = store.quantiles(
        run_id, series, q, channels=channels, categories=categories, cumulative=cumulative
    )
    want = result.quantiles(
        series, q, channels=channels, categories=categories, cumulative=cumulative
    )
    assert got.index.equals(want.index)
    assert list(got.columns) == list(want.columns)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9)


def test_quantiles_reject_unknown_names(store: Store) -> None:
    run_id = store.save(tiny_result())
    with pytest.raises(UsageError, match="unknown series 'strenght'"):
        store.quantiles(run_id, "strenght")
    with pytest.raises(UsageError, match=r"unknown channel.*'navy'.*contract"):
        store.quantiles(run_id, "strength", channels="navy")
    with pytest.raises(UsageError, match=r"unknown state.*'asleep'"):
        store.quantiles(run_id, "strength", categories="asleep")
    with pytest.raises(UsageError, match="no categories"):
        store.quantiles(run_id, "pool", categories="x")
    with pytest.raises(UsageError, match="between 0 and 1"):
        store.quantiles(run_id, "strength", q=(5,))


# ------------------------------------------------------------------ list, info, delete
def test_list_info_delete(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert store.list().empty
    assert not store.path.exists()  # reading never creates the store
    ids = iter(["abc00001", "abc00001", "abc00002", "ffff0003"])  # one collision
    monkeypatch.setattr(store_mod, "_random_run_id", lambda: next(ids))
    a = store.save(tiny_result(seed=3), label="a")
    b = store.save(tiny_result(seed=4), label="b")
    c = store.save(tiny_result(seed=5))
    assert (a, b, c) == ("abc00001", "abc00002", "ffff0003")
    listed = store.list()
    assert listed["run_id"].tolist() == [a, b, c]
    assert listed["label"].fillna("-").tolist() == ["a", "b", "-"]
    assert listed["seed"].tolist() == [3, 4, 5]
    assert store.run_ids() == [a, b, c]

    assert store.info("ffff").run_id == c  # a unique prefix is enough
    with pytest.raises(StoreError, match=r"ambiguous.*abc00001, abc00002"):
        store.info("abc")
    with pytest.raises(StoreError, match=r"no run 'zzz' in store .*runs.duckdb.*abc00002"):
        store.load("zzz")

    assert store.delete(b) == b
    assert store.run_ids() == [a, c]
    with duckdb.connect(str(store.path), read_only=True) as con:
        for table in ("parameters", "runs", *SERIES):
            left = con.execute(f'SELECT count(*) FROM "{table}" WHERE run_id = ?', [b])
            assert left.fetchall() == [(0,)], table
    assert_same_result(store.load(a), tiny_result(seed=3))
    with pytest.raises(StoreError, match="no run"):
        store.delete(b)


def test_reading_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "nowhere.duckdb")
    for action in (store.load, store.info, store.delete, store.quantiles):
        with pytest.raises(StoreError, match=r"nowhere.duckdb does not exist"):
            action("abc")
    assert not store.path.exists()


# ------------------------------------------------------------------------------- export
def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Comparable tidy rows: labels as plain strings ('' when empty), values as float."""
    out = frame.copy()
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[s]")
    for col in ("series", "channel", "pool", "state", "cause", "kind"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    out["run"] = out["run"].astype(np.int64)
    out["value"] = out["value"].astype(np.float64)
    return out.reset_index(drop=True)


def test_export_parquet_and_csv_match_to_pandas(store: Store, tmp_path: Path) -> None:
    result = tiny_result(runs=4)
    run_id = store.save(result)
    want = _tidy(result.to_pandas())

    parquet = store.export(run_id, tmp_path / "out" / "run.parquet")
    table = pq.read_table(parquet)
    assert table.schema.metadata is not None
    assert b'"seed": 3' in table.schema.metadata[b"forcegen"]
    pd.testing.assert_frame_equal(_tidy(table.to_pandas()), want)

    csv = store.export(run_id, tmp_path / "run.txt", "csv")
    pd.testing.assert_frame_equal(_tidy(pd.read_csv(csv, low_memory=False)), want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run.txt", "runs.duckdb"]


@pytest.mark.skipif(importlib.util.find_spec("h5py") is None, reason="h5netcdf needs h5py")
def test_export_netcdf_reads_back_with_xarray(store: Store, tmp_path: Path) -> None:
    import xarray as xr

    result = tiny_result(runs=4)
    run_id = store.save(result)
    path = store.export(run_id, tmp_path / "run.nc")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        for name in SERIES:
            np.testing.assert_array_equal(ds[name].to_numpy(), result.data[name])
        assert ds.attrs["seed"] == 3
        assert list(ds["channel"].to_numpy()) == ["contract", "prisoners"]


def test_export_needs_a_known_format(store: Store, tmp_path: Path) -> None:
    run_id = store.save(tiny_result(runs=2))
    with pytest.raises(UsageError, match="cannot tell the export format"):
        store.export(run_id, tmp_path / "run.xlsx")
    with pytest.raises(UsageError, match="unknown export format 'xlsx'"):
        store.export(run_id, tmp_path / "run.parquet", "xlsx")
    with pytest.raises(StoreError, match="no run"):
        store.export("nope", tmp_path / "run.parquet")
    # no partial or temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.duckdb"]


# ------------------------------------------------------------------------ schema checks
def test_store_with_newer_schema_version_is_refused(store: Store) -> None:
    store.save(tiny_result(runs=2))
    with duckdb.connect(str(store.path)) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as err:
        store.list()
    message = str(err.value)
    assert str(store.path) in message
    assert "schema version 99" in message
    assert f"expects schema version {SCHEMA_VERSION}" in message
    assert "newer forcegen" in message
    with pytest.raises(StoreError, match="schema version 99"):
        store.save(tiny_result(runs=2))


def test_store_with_unknown_schema_version_is_refused(store: Store) -> None:
    store.save(tiny_result(runs=2))
    with duckdb.connect(str(store.path)) as con:
        con.execute("UPDATE meta SET value = 'banana' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"schema version banana.*unknown"):
        store.load("x")


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.duckdb"
    garbage.write_text("these are my notes, not a database\n" * 200)
    for action in (Store(garbage).list, lambda: Store(garbage).save(tiny_result(runs=2))):
        with pytest.raises(StoreError, match=r"notes.duckdb is not a forcegen store"):
            action()
    assert garbage.read_text().startswith("these are my notes")

    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match=r"other.duckdb is a DuckDB database but not a forcegen"):
        Store(other).save(tiny_result(runs=2))
