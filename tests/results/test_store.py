"""The results store: round trip, stored quantiles and summary, list, info, delete,
leftovers, migration from layout 1 and schema checks. Atomicity and concurrency are
in ``test_store_atomic.py``."""

from __future__ import annotations

import dataclasses
import gzip
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from store_support import TINY_YAML, assert_same_result, tiny_result

import forcegen.results.store as store_mod
from forcegen.engine.simulate import Mode
from forcegen.errors import OutputError, StoreError, UsageError
from forcegen.results.folder import ResultFolder, write_result_dir
from forcegen.results.result import SERIES
from forcegen.results.store import SCHEMA_VERSION, Store
from forcegen.scenario.load import scenario_hash

V1_STORE = Path(__file__).resolve().parents[1] / "data" / "store-v1-forcegen-0.3.duckdb.gz"
"""A store written by forcegen 0.3.0 (layout 1), gzipped, holding tiny_result(seed=3), label "a",
and tiny_result(seed=4), label "b"."""


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


def test_replicates_are_dense_parquet_queryable_with_sql(store: Store) -> None:
    result = tiny_result()
    run_id = store.save(result)
    files = f"{store.runs_dir / run_id}/replicates/*.parquet"
    with duckdb.connect() as con:
        deployed = con.execute(
            f'SELECT replicate, date, "strength/contract/deployed" AS v '
            f"FROM read_parquet('{files}') ORDER BY replicate, date"
        ).fetchnumpy()
    with duckdb.connect(str(store.path), read_only=True) as con:
        version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    want = result.data["strength"][:, :, 0, 1]
    np.testing.assert_array_equal(deployed["v"].reshape(want.shape), want)
    np.testing.assert_array_equal(deployed["replicate"].reshape(want.shape)[:, 0], np.arange(12))
    assert version == [(str(SCHEMA_VERSION),)]
    assert tables == {"meta", "runs"}  # the arrays are not in the DuckDB file


def test_stored_quantiles_equal_the_results_own(store: Store) -> None:
    result = tiny_result()
    run_id = store.save(result)
    table = store.stored_quantiles(run_id)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    checked = 0
    for (series, entity, category, cumulative), rows in table.groupby(
        ["series", "entity", "category", "cumulative"]
    ):
        want = result.quantiles(
            series,
            levels,
            channels=None if entity == "*" else entity,
            categories=None if category == "*" else category,
            cumulative=cumulative,
        )
        got = rows[[f"q{q:g}" for q in levels]].to_numpy()
        np.testing.assert_array_equal(got, want.to_numpy())
        mean = result.total(
            series,
            channels=None if entity == "*" else entity,
            categories=None if category == "*" else category,
        )
        if cumulative:
            mean = np.cumsum(mean, axis=1)
        np.testing.assert_allclose(rows["mean"].to_numpy(), mean.mean(axis=0), rtol=1e-12)
        checked += 1
    # every series, totals by channel and by category, strength cell by cell, flows
    # also cumulative: 2 channels, 1 pool
    assert checked > 60
    assert set(table["series"]) == set(SERIES)


def test_summary_of_a_stored_run_equals_the_results(store: Store) -> None:
    result = tiny_result()
    run_id = store.save(result)
    assert store.summary(run_id) == result.summary()
    assert store.summary(run_id, (0.1, 0.9)) == result.summary((0.1, 0.9))


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
        left = con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [b])
        assert left.fetchall() == [(0,)]
    assert not (store.runs_dir / b).exists()
    assert_same_result(store.load(a), tiny_result(seed=3))
    with pytest.raises(StoreError, match="no run"):
        store.delete(b)


def test_reading_a_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "nowhere.duckdb")
    for action in (store.load, store.info, store.delete, store.quantiles):
        with pytest.raises(StoreError, match=r"nowhere.duckdb does not exist"):
            action("abc")
    assert not store.path.exists()


# ------------------------------------------------------------------------ schema checks
def test_delete_frees_the_space_of_the_run(store: Store) -> None:
    keep, gone = store.save(tiny_result(seed=3)), store.save(tiny_result(seed=4))
    assert (store.runs_dir / gone / "replicates").is_dir()
    store.delete(gone)
    assert sorted(p.name for p in store.runs_dir.iterdir()) == [keep]
    assert_same_result(store.load(keep), tiny_result(seed=3))


def test_leftovers_of_killed_saves_are_removed_by_the_next_write(store: Store) -> None:
    keep = store.save(tiny_result(seed=3))
    # a folder renamed but never committed, and a staging folder of a dead process
    orphan = store.runs_dir / "0badc0de"
    orphan.mkdir()
    (orphan / "run.json").write_text("{}")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    staging = store.runs_dir / f".staging-{dead.stdout.strip()}-x1"
    staging.mkdir()
    # a staging folder of a live process (this one) is left alone
    live = store.runs_dir / f".staging-{os.getpid()}-x2"
    live.mkdir()
    assert store.run_ids() == [keep]  # reading sees none of them as runs
    new = store.save(tiny_result(seed=4))
    assert sorted(p.name for p in store.runs_dir.iterdir()) == sorted([keep, new, live.name])


def test_store_of_forcegen_0_3_is_migrated_with_its_runs(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    old.write_bytes(gzip.decompress(V1_STORE.read_bytes()))
    original = old.read_bytes()
    store = Store(old)
    with pytest.raises(StoreError, match=r"forcegen 0.3 or earlier.*forcegen migrate"):
        store.list()
    with duckdb.connect(str(old), read_only=True) as con:
        before = con.execute(
            "SELECT run_id, label, created_at FROM runs ORDER BY run_id"
        ).fetchall()
    ids = store.migrate()
    assert sorted(ids) == [r[0] for r in before]
    listed = store.list().sort_values("run_id")
    assert listed["label"].tolist() == [r[1] for r in before]
    assert [t.to_pydatetime() for t in listed["created_at"]] == [r[2] for r in before]
    # the v1 store was written from tiny_result(seed=3) and tiny_result(seed=4)
    loaded = sorted((store.load(i) for i in ids), key=lambda r: r.seed)
    # They keep the version that simulated them. Since the counter-based random numbers
    # the engine draws other replicates from the same seed, so the migrated arrays are
    # compared with the v1 store's own rows (their totals per series), and provenance,
    # shapes and the sampled parameters (sampled as in 0.3) with a fresh simulation.
    assert {r.version for r in loaded} == {"0.3.0"}
    with duckdb.connect(str(tmp_path / "old.duckdb.v1-backup"), read_only=True) as con:
        for got, seed in zip(loaded, (3, 4), strict=True):
            want = dataclasses.replace(tiny_result(seed=seed), version="0.3.0")
            assert (got.scenario, got.scenario_hash) == (want.scenario, want.scenario_hash)
            assert (got.seed, got.version, got.mode) == (want.seed, want.version, want.mode)
            run_id = con.execute("SELECT run_id FROM runs WHERE seed = ?", [seed]).fetchone()
            assert run_id is not None
            for name in SERIES:
                assert got.data[name].shape == want.data[name].shape, name
                row = con.execute(
                    f"SELECT SUM(value) FROM {name} WHERE run_id = ?", [run_id[0]]
                ).fetchone()
                assert row is not None
                total = float(got.data[name].sum(dtype=np.float64))
                assert total == pytest.approx(float(row[0]), rel=1e-6), name
            for name, values in want.parameters.items():
                np.testing.assert_array_equal(got.parameters[name], values, err_msg=name)
    assert (tmp_path / "old.duckdb.v1-backup").read_bytes() == original


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


def test_write_result_dir_writes_a_folder_and_never_a_users(tmp_path: Path) -> None:
    result = tiny_result()
    out = write_result_dir(result, tmp_path / "res")
    assert_same_result(ResultFolder(out).load(), result)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    with pytest.raises(OutputError, match="refusing to write into"):
        write_result_dir(result, mine)
    assert (mine / "notes.txt").read_text() == "keep\n"
