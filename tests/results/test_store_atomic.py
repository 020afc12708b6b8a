"""Atomic saves and concurrent processes: an interrupted save (exception, Ctrl-C, a
killed process) leaves no partial run and every earlier run intact; two processes
writing one store take turns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from store_support import assert_same_result, big_result, tiny_result

import forcegen.results.store as store_mod
from forcegen.errors import StoreError
from forcegen.results.result import SERIES
from forcegen.results.store import Store

HERE = Path(__file__).resolve().parent


def _orphans(path: Path) -> dict[str, int]:
    """Rows of each table that belong to no run in ``runs`` (must all be zero)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            table: con.execute(
                f'SELECT count(*) FROM "{table}" WHERE run_id NOT IN (SELECT run_id FROM runs)'
            ).fetchall()[0][0]
            for table in ("parameters", *SERIES)
        }


def _store_with_two_runs(path: Path) -> tuple[Store, list[str]]:
    store = Store(path, timeout=10)
    ids = [store.save(tiny_result(seed=3), label="a"), store.save(tiny_result(seed=4), label="b")]
    return store, ids


def _assert_intact(store: Store, ids: list[str]) -> None:
    assert store.run_ids() == ids
    assert_same_result(store.load(ids[0]), tiny_result(seed=3))
    assert_same_result(store.load(ids[1]), tiny_result(seed=4))
    assert not any(_orphans(store.path).values())


# ------------------------------------------------------------------ exception mid-write
def _fail_after_first_chunk(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> Callable[[], int]:
    """Make saves write in many small chunks and raise ``exc`` after the first one."""
    monkeypatch.setattr(store_mod, "_CHUNK_ROWS", 5_000)
    original = store_mod._write_chunk
    calls = 0

    def failing(con: duckdb.DuckDBPyConnection, table: str, chunk: pa.Table) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise exc
        original(con, table, chunk)

    monkeypatch.setattr(store_mod, "_write_chunk", failing)
    return lambda: calls


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RuntimeError("boom"), RuntimeError),
        (KeyboardInterrupt(), KeyboardInterrupt),
        # what DuckDB raises when the disk is full: reported as a StoreError
        (duckdb.IOException("No space left on device"), StoreError),
    ],
)
def test_exception_mid_write_leaves_no_partial_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    expected: type[BaseException],
) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    calls = _fail_after_first_chunk(monkeypatch, exc)
    with pytest.raises(expected) as err:
        store.save(big_result(100), label="doomed")
    assert calls() == 2  # it did write a chunk before failing
    if expected is StoreError:
        assert "No space left on device" in str(err.value)
        assert "nothing was stored" in str(err.value)
    monkeypatch.undo()
    _assert_intact(store, ids)
    # and the store still takes new runs
    new = store.save(tiny_result(seed=5))
    assert store.run_ids() == [*ids, new]


# -------------------------------------------------------------------- SIGKILL mid-write
KILLED_CHILD = """
import sys, time
sys.path.insert(0, {here!r})
from store_support import big_result
import forcegen.results.store as store_mod

store_mod._CHUNK_ROWS = 50_000
original = store_mod._write_chunk
calls = 0

def write_then_stall(con, table, chunk):
    global calls
    original(con, table, chunk)
    calls += 1
    if calls == 60:  # ~400,000 rows written inside the transaction
        open({marker!r}, "w").write("writing")
        time.sleep(120)

store_mod._write_chunk = write_then_stall
result = big_result(400)
store_mod.Store({path!r}).save(result, label="killed")
print("finished: the test did not kill the save in time")
"""


def test_killed_process_mid_write_leaves_no_partial_run(tmp_path: Path) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    marker = tmp_path / "writing"
    code = KILLED_CHILD.format(here=str(HERE), marker=str(marker), path=str(store.path))
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if child.poll() is not None:
                pytest.fail(f"child ended before writing: {child.communicate()}")
            if time.monotonic() > deadline:
                pytest.fail("child did not start writing within 60 s")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    _assert_intact(store, ids)
    new = store.save(tiny_result(seed=5))
    assert store.run_ids() == [*ids, new]
    assert_same_result(store.load(new), tiny_result(seed=5))


COMMITTED_CHILD = """
import os, signal, sys
sys.path.insert(0, {here!r})
import duckdb
from store_support import tiny_result
from forcegen.results.store import Store

# die right after COMMIT, before closing the connection would checkpoint the file
duckdb.DuckDBPyConnection.close = lambda self: os.kill(os.getpid(), signal.SIGKILL)
Store({path!r}).save(tiny_result(seed=5), label="committed")
"""


def test_run_committed_just_before_a_kill_is_kept(tmp_path: Path) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    code = COMMITTED_CHILD.format(here=str(HERE), path=str(store.path))
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert Path(f"{store.path}.wal").exists()  # the run is only in the write-ahead log
    listed = store.list()
    assert listed["label"].tolist()[:2] == ["a", "b"]
    assert listed["label"].tolist()[2] == "committed"
    assert_same_result(store.load(listed["run_id"][2]), tiny_result(seed=5), same_run=False)
    assert_same_result(store.load(ids[0]), tiny_result(seed=3))


# ------------------------------------------------------------------ concurrent writers
WRITER_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {here!r})
from store_support import big_result, tiny_result
from forcegen.results.store import Store

Path({ready!r}).write_text("ready")
while not Path({go!r}).exists():  # start together with the other writer
    time.sleep(0.01)
store = Store({path!r}, timeout=60)
ids = []
for seed in {seeds!r}:
    result = tiny_result(runs=12, seed=seed)
    ids.append(store.save(result, label="seed-%d" % seed))
    store.list()  # readers interleave with writers too
print(json.dumps(ids))
"""


def test_two_processes_saving_into_one_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    go = tmp_path / "go"
    seeds = {"a": [21, 22], "b": [31, 32]}
    children = {}
    for name, s in seeds.items():
        code = WRITER_CHILD.format(
            here=str(HERE),
            ready=str(tmp_path / f"ready-{name}"),
            go=str(go),
            path=str(path),
            seeds=s,
        )
        children[name] = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in seeds):
            assert time.monotonic() < deadline, "writers did not start"
            time.sleep(0.02)
        go.write_text("go")
        outputs = {n: c.communicate(timeout=120) for n, c in children.items()}
    finally:
        for c in children.values():
            if c.poll() is None:
                c.kill()
                c.wait()
    saved: dict[int, str] = {}
    for name, (out, err) in outputs.items():
        assert children[name].returncode == 0, err
        for seed, run_id in zip(seeds[name], json.loads(out), strict=True):
            saved[seed] = run_id
    store = Store(path)
    assert sorted(store.run_ids()) == sorted(saved.values())
    for seed, run_id in saved.items():
        assert store.info(run_id).label == f"seed-{seed}"
        assert_same_result(store.load(run_id), tiny_result(runs=12, seed=seed), same_run=False)
    assert not any(_orphans(path).values())


LOCKER_CHILD = """
import sys, time
import duckdb
con = duckdb.connect({path!r})  # holds the store's lock, as a long save would
print("locked", flush=True)
time.sleep({hold})
con.close()
"""


def test_locked_store_waits_then_gives_a_clear_error(tmp_path: Path) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    code = LOCKER_CHILD.format(path=str(store.path), hold=2.0)
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(StoreError, match=r"runs.duckdb is in use by another forcegen process"):
            Store(store.path, timeout=0.3).save(tiny_result(seed=5))
        assert time.monotonic() - start >= 0.3  # it did wait before giving up
        # a patient writer gets in once the other process lets go
        new = Store(store.path, timeout=30).save(tiny_result(seed=5))
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert store.run_ids() == [*ids, new]
    assert_same_result(store.load(ids[1]), tiny_result(seed=4))
    assert_same_result(store.load(new), tiny_result(seed=5))
