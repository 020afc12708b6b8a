"""Atomic saves and concurrent processes: an interrupted save (exception, Ctrl-C, a
killed process) leaves no partial run and every earlier run intact; two processes
writing one store take turns."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from store_support import assert_same_result, big_result, tiny_result

import forcegen.results.folder as folder_mod
from forcegen.errors import StoreError
from forcegen.results.store import Store

HERE = Path(__file__).resolve().parent


def _orphans(store: Store) -> set[str]:
    """Run folders no ``runs`` row points to, and rows without a complete folder (after
    a write, which removes leftovers, both must be empty)."""
    with duckdb.connect(str(store.path), read_only=True) as con:
        rows = {str(r[0]) for r in con.execute("SELECT run_id FROM runs").fetchall()}
    folders = {p.name for p in store.runs_dir.iterdir()}
    complete = {f for f in folders if (store.runs_dir / f / "run.json").exists()}
    return (folders - rows) | (rows - complete)


def _store_with_two_runs(path: Path) -> tuple[Store, list[str]]:
    store = Store(path, timeout=10)
    ids = [store.save(tiny_result(seed=3), label="a"), store.save(tiny_result(seed=4), label="b")]
    return store, ids


def _assert_intact(store: Store, ids: list[str]) -> None:
    assert store.run_ids() == ids
    assert_same_result(store.load(ids[0]), tiny_result(seed=3))
    assert_same_result(store.load(ids[1]), tiny_result(seed=4))


def _assert_no_leftovers_after_a_write(store: Store, ids: list[str]) -> None:
    new = store.save(tiny_result(seed=5))
    assert store.run_ids() == [*ids, new]
    assert not _orphans(store)
    assert sorted(p.name for p in store.runs_dir.iterdir()) == sorted([*ids, new])


# ------------------------------------------------------------------ exception mid-write
def _fail_after_first_block(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> Callable[[], int]:
    """Make saves raise ``exc`` when writing their second block of replicates."""
    original = folder_mod.write_block
    calls = 0

    def failing(table: pa.Table, path: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise exc
        original(table, path)

    monkeypatch.setattr(folder_mod, "write_block", failing)
    return lambda: calls


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RuntimeError("boom"), RuntimeError),
        (KeyboardInterrupt(), KeyboardInterrupt),
        # what writing a file raises when the disk is full: reported as a StoreError
        (OSError(errno.ENOSPC, "No space left on device"), StoreError),
    ],
)
def test_exception_mid_write_leaves_no_partial_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    expected: type[BaseException],
) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    calls = _fail_after_first_block(monkeypatch, exc)
    with pytest.raises(expected) as err:
        store.save(big_result(300), label="doomed")
    assert calls() == 2  # it did write a block before failing
    if expected is StoreError:
        assert "No space left on device" in str(err.value)
        assert "nothing was stored" in str(err.value)
    monkeypatch.undo()
    _assert_intact(store, ids)
    assert not _orphans(store)
    # and the store still takes new runs
    _assert_no_leftovers_after_a_write(store, ids)


# -------------------------------------------------------------------- SIGKILL mid-write
KILLED_CHILD = """
import sys, time
sys.path.insert(0, {here!r})
from store_support import big_result
import forcegen.results.folder as folder_mod
import forcegen.results.store as store_mod

original = folder_mod.write_block
calls = 0

def write_then_stall(table, path):
    global calls
    original(table, path)
    calls += 1
    if calls == 2:  # two of four blocks written into the staging folder
        open({marker!r}, "w").write("writing")
        time.sleep(120)

folder_mod.write_block = write_then_stall
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
    # the killed save's staging folder is there, invisible to readers...
    assert any(p.name.startswith(".staging-") for p in store.runs_dir.iterdir())
    # ...and the next write removes it
    _assert_no_leftovers_after_a_write(store, ids)


BETWEEN_RENAME_AND_COMMIT_CHILD = """
import os, signal, sys
sys.path.insert(0, {here!r})
import forcegen.results.store as store_mod
from store_support import tiny_result

real_replace = os.replace

def replace_then_die(src, dst):
    real_replace(src, dst)
    if os.path.basename(os.path.dirname(str(dst))).endswith(".runs"):
        os.kill(os.getpid(), signal.SIGKILL)  # the folder is in place, COMMIT not run

store_mod.os.replace = replace_then_die
store_mod.Store({path!r}).save(tiny_result(seed=6), label="never committed")
"""


def test_killed_between_rename_and_commit_leaves_no_run(tmp_path: Path) -> None:
    store, ids = _store_with_two_runs(tmp_path / "runs.duckdb")
    code = BETWEEN_RENAME_AND_COMMIT_CHILD.format(here=str(HERE), path=str(store.path))
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    _assert_intact(store, ids)
    assert len(_orphans(store)) == 1  # a complete folder without a row...
    _assert_no_leftovers_after_a_write(store, ids)  # ...removed by the next write


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
    assert not _orphans(store)


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
