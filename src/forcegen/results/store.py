"""The results store: every saved run, its provenance in one DuckDB file and its
arrays in a folder beside it.

A :class:`Store` at ``forcegen.duckdb`` keeps

* in the DuckDB file, tables ``meta(key, value)`` (``schema_version`` of the layout,
  ``created_with``) and ``runs`` — one row per run: id, creation time (UTC), label,
  scenario name, hash, canonical JSON and source text, seed, version, mode,
  replicates, sampling switch, wall time, dates, channel, pool and parameter names,
  the numpy dtype of each series;
* in ``forcegen.duckdb.runs/<run id>/``, the run's result folder
  (:mod:`forcegen.results.folder`): every series of every replicate as dense Parquet
  written block by block, sampled parameters, per-replicate summary totals and daily
  quantiles computed once at save.

Why the arrays live outside the DuckDB file: a run of 1,000 replicates holds ~10⁸
numbers; as tidy rows in DuckDB they took 575 MB and minutes to write, and the file
never shrank after a delete. As compressed Parquet they take ~120 MB, are written in
seconds, any Parquet reader (DuckDB included) queries them, and deleting a run frees
its space.

Guarantees (tested, see ``docs/store.md``): a run appears in the store only once its
folder is complete — the folder is written under a staging name, renamed to the run id
and the ``runs`` row committed while the store's write lock is held, so an interrupted
or failed save leaves no run and every earlier run intact; leftovers of killed saves
and deletes are removed by the next write. The file is opened only for the duration of
one operation, and an operation that finds it locked by another process retries with
backoff for ``timeout`` seconds before raising :class:`StoreError`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from forcegen.errors import StoreError, UsageError
from forcegen.results.folder import (
    QUANTILE_LEVELS,
    ResultFolder,
    write_result_folder,
)
from forcegen.results.result import SERIES, Result
from forcegen.results.summary import Summary
from forcegen.scenario.load import scenario_hash
from forcegen.scenario.model import Scenario

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_PATH",
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "RunInfo",
    "Store",
]

SCHEMA_VERSION = 2
"""Version of the store layout written by this forcegen (1: forcegen ≤ 0.3.0, tidy
rows in DuckDB tables; 2: dense Parquet result folders beside the file)."""

DEFAULT_PATH = Path("forcegen.duckdb")
"""Store used when none is named: ``forcegen.duckdb`` in the current directory."""

DEFAULT_TIMEOUT = 30.0
"""Seconds an operation waits for a store locked by another process."""

DEFAULT_MEMORY_LIMIT = "256MB"
"""DuckDB's memory limit while the store is open: the file holds only run metadata."""

Progress = Callable[[int, int], None]

_RUN_ID = re.compile(r"^[0-9a-f]{8}$")
_STAGING = re.compile(r"^\.staging-(\d+)-")


def _schema_ddl() -> list[str]:
    """Statements creating an empty store of :data:`SCHEMA_VERSION`."""
    return [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        """CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            created_at TIMESTAMP NOT NULL,
            label VARCHAR,
            scenario VARCHAR NOT NULL,
            scenario_hash VARCHAR NOT NULL,
            scenario_json VARCHAR NOT NULL,
            scenario_text VARCHAR,
            seed HUGEINT NOT NULL,
            forcegen_version VARCHAR NOT NULL,
            mode VARCHAR NOT NULL,
            replicates INTEGER NOT NULL,
            sample_parameters BOOLEAN NOT NULL,
            elapsed_seconds DOUBLE NOT NULL,
            start_date DATE NOT NULL,
            horizon_days INTEGER NOT NULL,
            currency VARCHAR NOT NULL,
            channels VARCHAR[] NOT NULL,
            pools VARCHAR[] NOT NULL,
            parameters VARCHAR[] NOT NULL,
            dtypes VARCHAR NOT NULL
        )""",
    ]


_TABLES = frozenset({"meta", "runs"})


# ---------------------------------------------------------------------------- run info
@dataclass(frozen=True)
class RunInfo:
    """Provenance and shape of one stored run.

    Attributes:
        run_id: Id of the run in the store (8 hex digits).
        created_at: When it was saved (UTC, naive).
        label: Free text given when saving, or None.
        scenario: Scenario name.
        scenario_hash: SHA-256 (hex) of the validated scenario.
        scenario_text: YAML text the scenario was loaded from, when known.
        seed: Seed of the run.
        version: forcegen version that produced it.
        mode: ``"stochastic"`` or ``"mean-field"``.
        replicates: Number of replicates.
        sample_parameters: Whether uncertain parameters were sampled per replicate.
        elapsed_seconds: Wall time of the simulation (seconds).
        start_date: First simulated day.
        horizon_days: Number of simulated days.
        currency: Scenario currency (unit of ``cost`` and ``unpaid``).
        channels: Channel ids, in scenario order.
        pools: Pool ids, in scenario order.
        parameters: Names of the sampled parameters.
    """

    run_id: str
    created_at: dt.datetime
    label: str | None
    scenario: str
    scenario_hash: str
    scenario_text: str | None
    seed: int
    version: str
    mode: str
    replicates: int
    sample_parameters: bool
    elapsed_seconds: float
    start_date: dt.date
    horizon_days: int
    currency: str
    channels: tuple[str, ...]
    pools: tuple[str, ...]
    parameters: tuple[str, ...]

    def provenance(self) -> dict[str, Any]:
        """What determines the run (scenario, seed, version) and how it was run, as
        JSON-ready values."""
        return {
            "run_id": self.run_id,
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "label": self.label,
            "scenario": self.scenario,
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "forcegen_version": self.version,
            "mode": self.mode,
            "runs": self.replicates,
            "sample_parameters": self.sample_parameters,
            "start_date": str(self.start_date),
            "horizon_days": self.horizon_days,
            "currency": self.currency,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


_LIST_COLUMNS = [
    "run_id",
    "created_at",
    "label",
    "scenario",
    "replicates",
    "horizon_days",
    "seed",
    "mode",
    "sample_parameters",
    "forcegen_version",
    "elapsed_seconds",
    "scenario_hash",
]


# -------------------------------------------------------------------------------- store
class Store:
    """A results store: one DuckDB file of run metadata and a folder of run arrays.

    Args:
        path: The store file; ``forcegen.duckdb`` in the current directory by default.
            It is created on the first save, with ``<path>.runs/`` beside it.
        timeout: Seconds to wait, retrying with backoff, while another process holds
            the file, before raising :class:`~forcegen.errors.StoreError`.
        memory_limit: DuckDB's memory limit while the file is open (e.g. ``"2GB"``);
            None for DuckDB's default (80% of RAM).

    Every method opens the file, does its work and closes it again, so processes take
    turns: DuckDB lets one process write a file (or several read it) at a time.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        if timeout < 0:
            raise UsageError(f"timeout must be non-negative, got {timeout}")
        self.path = Path(path)
        self.timeout = float(timeout)
        self.memory_limit = memory_limit

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @property
    def runs_dir(self) -> Path:
        """The folder holding one result folder per stored run: ``<path>.runs``."""
        return self.path.with_name(self.path.name + ".runs")

    # -- writing ------------------------------------------------------------------------
    def save(
        self,
        result: Result,
        label: str | None = None,
        *,
        scenario_text: str | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Store ``result`` atomically and return its new run id.

        Args:
            result: The result to store.
            label: Free text to find the run by (``forcegen runs`` shows it).
            scenario_text: The YAML text the scenario was loaded from, kept verbatim
                next to the canonical JSON (which is what :meth:`load` uses).
            progress: Called with (steps done, total) while the quantiles are computed.

        Either everything is stored or nothing: an exception, Ctrl-C or a killed
        process during the save leaves the store as it was.
        """
        _scenario_json(result)
        _check_shapes(result)
        with self.staging() as folder:
            try:
                write_result_folder(result, folder, scenario_text=scenario_text, progress=progress)
            except OSError as exc:
                raise StoreError(
                    f"could not save the run to store {self.path}: {exc.strerror or exc}; "
                    "nothing was stored and earlier runs are unchanged"
                ) from exc
            return self.register(folder, label)

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A new, empty folder beside the stored runs to write a result folder into
        (see :func:`forcegen.results.folder.finish_folder`) before :meth:`register`;
        removed on leaving unless registered. Being on the store's file system, it
        becomes a stored run by one rename."""
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=self.runs_dir))
        except OSError as exc:
            raise StoreError(f"cannot write to store {self.path}: {exc.strerror or exc}") from None
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def register(self, folder: Path, label: str | None = None) -> str:
        """Make a finished result folder (written in :meth:`staging`) a stored run and
        return its id: the folder is renamed to the id and the ``runs`` row committed
        while the write lock is held, so the run appears whole or not at all."""
        meta = ResultFolder(folder).meta
        with self._connect(write=True, create=True) as con:
            _collect_garbage(con, self.runs_dir)
            con.execute("BEGIN TRANSACTION")
            moved: Path | None = None
            try:
                run_id = _new_run_id(con, self.runs_dir)
                _write_run_row(con, run_id, meta, label)
                moved = self.runs_dir / run_id
                os.replace(folder, moved)
                con.execute("COMMIT")
            except BaseException as exc:
                _rollback(con)
                if moved is not None and moved.exists():
                    shutil.rmtree(moved, ignore_errors=True)
                if isinstance(exc, duckdb.InterruptException):
                    raise KeyboardInterrupt from exc
                if isinstance(exc, duckdb.Error | OSError):
                    raise StoreError(
                        f"could not save the run to store {self.path}: {exc}; "
                        "nothing was stored and earlier runs are unchanged"
                    ) from exc
                raise
        return run_id

    def delete(self, run_id: str) -> str:
        """Remove a run (its row and its folder, freeing the space); returns its full id."""
        with self._connect(write=True) as con:
            full = _resolve(con, self.path, run_id)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute("DELETE FROM runs WHERE run_id = ?", [full])
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
            # After COMMIT: a process killed here leaves a folder no row points to,
            # which the next write removes.
            shutil.rmtree(self.runs_dir / full, ignore_errors=True)
        return full

    def migrate(self) -> builtins.list[str]:
        """Convert a store of layout 1 (forcegen ≤ 0.3.0) to this layout; returns the
        ids of the runs converted (they keep their ids, labels and creation times).

        The converted store is built beside the old one and renamed into place; the old
        file is kept as ``<path>.v1-backup`` (remove it yourself once satisfied).
        """
        from forcegen.results.store_v1 import load_v1, run_ids_v1

        backup = self.path.with_name(self.path.name + ".v1-backup")
        if backup.exists():
            raise StoreError(f"{backup} exists: move it away before migrating {self.path}")
        new = Store(self.path.with_name(f".{self.path.name}.migrating"), timeout=self.timeout)
        shutil.rmtree(new.runs_dir, ignore_errors=True)
        new.path.unlink(missing_ok=True)
        with self._connect(write=True, legacy=True) as con:
            ids = run_ids_v1(con)
            for run_id in ids:
                result, row = load_v1(con, run_id)
                with new.staging() as folder:
                    write_result_folder(result, folder, scenario_text=row["scenario_text"])
                    meta = ResultFolder(folder).meta
                    with new._connect(write=True, create=True) as out:
                        _write_run_row(out, run_id, meta, row["label"], row["created_at"])
                        os.replace(folder, new.runs_dir / run_id)
            if not ids:
                with new._connect(write=True, create=True):
                    pass
            os.replace(self.path, backup)
            os.replace(new.path, self.path)
            if self.runs_dir.exists():
                raise StoreError(f"{self.runs_dir} exists; the migrated runs are in {new.runs_dir}")
            os.replace(new.runs_dir, self.runs_dir)
        return ids

    # -- reading ------------------------------------------------------------------------
    def info(self, run_id: str) -> RunInfo:
        """Provenance of a run (a unique prefix of its id is enough)."""
        with self._connect(write=False) as con:
            return _run_info(con, _resolve(con, self.path, run_id))

    def folder(self, run_id: str) -> ResultFolder:
        """The result folder of a stored run, for reading parts of it lazily."""
        with self._connect(write=False) as con:
            return ResultFolder(self.runs_dir / _resolve(con, self.path, run_id))

    def load(self, run_id: str, series: Iterable[str] | None = None) -> Result:
        """Rebuild the :class:`Result` of a stored run: the scenario from its canonical
        JSON, arrays with their original dtypes, parameters and provenance; with
        ``series``, only those series are read."""
        with self._connect(write=False) as con:
            # Read while holding the file: a delete (which needs the write lock) cannot
            # remove the folder meanwhile.
            full = _resolve(con, self.path, run_id)
            return ResultFolder(self.runs_dir / full).load(series)

    def summary(self, run_id: str, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """Headline numbers of a stored run, from its per-replicate totals (fast: no
        series is read; equal to :meth:`Result.summary`)."""
        with self._connect(write=False) as con:
            return ResultFolder(self.runs_dir / _resolve(con, self.path, run_id)).summary(q)

    def quantiles(
        self,
        run_id: str,
        series: str = "strength",
        q: Sequence[float] = QUANTILE_LEVELS,
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        cumulative: bool = False,
    ) -> pd.DataFrame:
        """Quantiles across replicates of a series summed over the chosen channels (or
        pools) and categories, without loading the run.

        Same meaning and layout as :meth:`Result.quantiles`: one row per date, one
        column per quantile, values in the unit of the series (people, people per day,
        currency per day); ``cumulative=True`` sums daily values over time first. Read
        from the quantiles computed at save when they hold the selection.
        """
        with self._connect(write=False) as con:
            folder = ResultFolder(self.runs_dir / _resolve(con, self.path, run_id))
            return folder.quantiles(
                series, q, channels=channels, categories=categories, cumulative=cumulative
            )

    def stored_quantiles(self, run_id: str) -> pd.DataFrame:
        """Every quantile computed at save, as one tidy table (see
        :meth:`ResultFolder.stored_quantiles`)."""
        with self._connect(write=False) as con:
            return ResultFolder(self.runs_dir / _resolve(con, self.path, run_id)).stored_quantiles()

    def list(self) -> pd.DataFrame:
        """One row per stored run, oldest first: ``run_id, created_at`` (UTC), ``label,
        scenario, replicates, horizon_days, seed, mode, sample_parameters,
        forcegen_version, elapsed_seconds`` (seconds) ``, scenario_hash``."""
        if not _store_exists(self.path):
            return pd.DataFrame(columns=_LIST_COLUMNS)
        with self._connect(write=False) as con:
            if not _has_schema(con, self.path):
                return pd.DataFrame(columns=_LIST_COLUMNS)
            cols = ", ".join(_LIST_COLUMNS)
            rows = con.execute(f"SELECT {cols} FROM runs ORDER BY created_at, run_id").fetchall()
        # Built from Python values so that a HUGEINT seed stays an exact integer.
        return pd.DataFrame(rows, columns=_LIST_COLUMNS)

    def run_ids(self) -> builtins.list[str]:
        """Ids of the stored runs, oldest first."""
        return [str(x) for x in self.list()["run_id"]]

    # -- connection ---------------------------------------------------------------------
    @contextmanager
    def _connect(
        self, *, write: bool, create: bool = False, legacy: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the store for one operation; only ``create=True`` (a save) may create
        the file, and only ``legacy=True`` (a migration) opens a layout-1 store."""
        if not create and not _store_exists(self.path):
            raise StoreError(f"store {self.path} does not exist (no run has been saved there)")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(write)
        try:
            _prepare(con, self.path, write, legacy)
            yield con
        except BaseException as exc:
            _close_quietly(con)
            if isinstance(exc, duckdb.InterruptException):
                raise KeyboardInterrupt from exc
            if isinstance(exc, duckdb.Error):
                raise StoreError(f"store {self.path}: {exc}") from exc
            raise
        try:
            # Closing the last connection checkpoints: committed runs move from the
            # write-ahead log into the file.
            con.close()
        except duckdb.Error as exc:
            raise StoreError(f"could not close store {self.path}: {exc}") from exc

    def _open(self, write: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            try:
                config: dict[str, str | bool | int | float | list[str]] = {}
                if self.memory_limit is not None:
                    config["memory_limit"] = self.memory_limit
                return duckdb.connect(str(self.path), read_only=not write, config=config)
            except duckdb.Error as exc:
                message = str(exc)
                if "not a valid DuckDB database file" in message:
                    raise StoreError(
                        f"{self.path} is not a forcegen store (not a DuckDB database file)"
                    ) from None
                if "Could not set lock" not in message and "Conflicting lock" not in message:
                    raise StoreError(f"cannot open store {self.path}: {message}") from None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreError(
                        f"store {self.path} is in use by another forcegen process "
                        f"(waited {self.timeout:g} s); try again when it has finished, "
                        "or use another store"
                    ) from None
                # Exponential backoff with jitter, so waiting processes do not retry in
                # lockstep; capped at 1 s to notice a released lock quickly.
                time.sleep(min(left, delay * random.uniform(0.5, 1.0)))
                delay = min(delay * 2.0, 1.0)


# ----------------------------------------------------------------------------- helpers
def _store_exists(path: Path) -> bool:
    """Whether the store file exists. Only a missing file means "no store": a path
    that cannot be followed (a symlink loop, a file where a folder should be, no
    permission) is a :class:`StoreError`, not an empty store."""
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot open store {path}: {exc.strerror or exc}") from None
    return True


def _prepare(con: duckdb.DuckDBPyConnection, path: Path, write: bool, legacy: bool) -> None:
    """Check the store's schema version, creating the schema in a new (writable) store."""
    if not _has_schema(con, path):
        if not write:
            return
        con.execute("BEGIN TRANSACTION")
        try:
            for stmt in _schema_ddl():
                con.execute(stmt)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?), ('created_with', ?)",
                [str(SCHEMA_VERSION), _package_version()],
            )
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        return
    row = _first(con, "SELECT value FROM meta WHERE key = 'schema_version'")
    found = None if row is None else str(row[0])
    if found == "1":
        if legacy:
            return
        raise StoreError(
            f"store {path} was written by forcegen 0.3 or earlier (schema version 1); "
            f"convert it with `forcegen migrate --store {path}` (the old file is kept "
            f"as {path.name}.v1-backup)"
        )
    if legacy:
        raise StoreError(f"store {path} has schema version {found}: nothing to migrate")
    if found != str(SCHEMA_VERSION):
        newer = found is not None and found.isdigit() and int(found) > SCHEMA_VERSION
        why = (
            "it was written by a newer forcegen; upgrade forcegen to read it"
            if newer
            else "this version is unknown to this forcegen"
        )
        raise StoreError(
            f"store {path} has schema version {found or '(none)'}, but this forcegen "
            f"(version {_package_version()}) expects schema version {SCHEMA_VERSION}: {why}"
        )
    missing = _TABLES - _table_names(con)
    if missing:
        raise StoreError(f"store {path} is damaged: missing tables {sorted(missing)}")


def _collect_garbage(con: duckdb.DuckDBPyConnection, runs_dir: Path) -> None:
    """Remove what killed saves and deletes left in ``runs_dir``: run folders no row
    points to, and staging folders of processes that no longer run. Called with the
    write lock held, when no save of another process can be between its rename and
    its COMMIT."""
    if not runs_dir.is_dir():
        return
    known = {str(r[0]) for r in con.execute("SELECT run_id FROM runs").fetchall()}
    for entry in runs_dir.iterdir():
        staging = _STAGING.match(entry.name)
        orphan = _RUN_ID.match(entry.name) is not None and entry.name not in known
        if orphan or (staging is not None and not _alive(int(staging.group(1)))):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _table_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT temporary"
    ).fetchall()
    return {str(r[0]) for r in rows}


def _has_schema(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """True for a forcegen store, False for an empty database; raises for another
    database."""
    tables = _table_names(con)
    if "meta" in tables:
        return True
    if tables:
        # Someone else's DuckDB file: refuse rather than add our tables to it.
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(
            f"{path} is a DuckDB database but not a forcegen store "
            f"(it has tables {shown} and no 'meta' table)"
        )
    return False


def _package_version() -> str:
    from forcegen._version import __version__

    return __version__


def _close_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):
        con.close()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    # Best effort: after a failed COMMIT DuckDB may already have rolled back, and the
    # original exception is what the caller needs to see.
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _resolve(con: duckdb.DuckDBPyConnection, path: Path, run_id: str) -> str:
    """The full id of the run ``run_id`` names (exactly, or as a unique prefix)."""
    if not _has_schema(con, path):
        raise StoreError(f"no run {run_id!r} in store {path}: the store is empty")
    key = run_id.strip()
    exact = _first(con, "SELECT run_id FROM runs WHERE run_id = ?", [key])
    if exact is not None:
        return str(exact[0])
    prefixed = con.execute(
        "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id", [key]
    ).fetchall()
    hits = [str(r[0]) for r in prefixed] if key else []
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise StoreError(f"run id {run_id!r} is ambiguous in store {path}: {', '.join(hits)}")
    known = [
        str(r[0])
        for r in con.execute(
            "SELECT run_id FROM runs ORDER BY created_at DESC, run_id LIMIT 6"
        ).fetchall()
    ]
    total = _first(con, "SELECT count(*) FROM runs")
    n = int(total[0]) if total else 0
    if not known:
        raise StoreError(f"no run {run_id!r} in store {path}: the store is empty")
    more = f" and {n - len(known)} more" if n > len(known) else ""
    raise StoreError(
        f"no run {run_id!r} in store {path}; latest runs: {', '.join(known)}{more} "
        "(see `forcegen runs`)"
    )


def _fetch_dict(
    con: duckdb.DuckDBPyConnection, sql: str, params: builtins.list[object]
) -> dict[str, Any]:
    """The first row of a query as column name → value (StoreError when none)."""
    cursor = con.execute(sql, params)
    rows = cursor.fetchall()
    if not rows:
        raise StoreError("the run disappeared from the store while it was being read")
    names = [d[0] for d in cursor.description or []]
    return dict(zip(names, rows[0], strict=True))


def _first(
    con: duckdb.DuckDBPyConnection, sql: str, params: builtins.list[object] | None = None
) -> tuple[Any, ...] | None:
    """The first row of a query, or None. Fetches every row: DuckDB refuses further
    statements on a connection while a result is only partly fetched."""
    rows = con.execute(sql, params).fetchall()
    return rows[0] if rows else None


def _run_info(con: duckdb.DuckDBPyConnection, run_id: str) -> RunInfo:
    row = _fetch_dict(con, "SELECT * FROM runs WHERE run_id = ?", [run_id])
    return RunInfo(
        run_id=str(row["run_id"]),
        created_at=row["created_at"],
        label=row["label"],
        scenario=str(row["scenario"]),
        scenario_hash=str(row["scenario_hash"]),
        scenario_text=row["scenario_text"],
        seed=int(row["seed"]),
        version=str(row["forcegen_version"]),
        mode=str(row["mode"]),
        replicates=int(row["replicates"]),
        sample_parameters=bool(row["sample_parameters"]),
        elapsed_seconds=float(row["elapsed_seconds"]),
        start_date=row["start_date"],
        horizon_days=int(row["horizon_days"]),
        currency=str(row["currency"]),
        channels=tuple(str(c) for c in row["channels"]),
        pools=tuple(str(p) for p in row["pools"]),
        parameters=tuple(str(p) for p in row["parameters"]),
    )


def _random_run_id() -> str:
    """8 hex digits: short to type, 32 random bits."""
    return secrets.token_hex(4)


def _new_run_id(con: duckdb.DuckDBPyConnection, runs_dir: Path) -> str:
    # Collisions are rare and checked here; no other process can insert meanwhile, as
    # this one holds the store's write lock.
    while True:
        run_id = _random_run_id()
        taken = _first(con, "SELECT 1 FROM runs WHERE run_id = ?", [run_id]) is not None
        if not taken and not (runs_dir / run_id).exists():
            return run_id


# ----------------------------------------------------------------------------- saving
def _scenario_json(result: Result) -> str:
    """Canonical JSON of the scenario, checked to load back to the same scenario.

    ``exclude_none``: a Param dumped with ``series: null`` would not validate again.
    """
    text = result.scenario.model_dump_json(by_alias=True, exclude_none=True)
    again = Scenario.model_validate_json(text)
    if again != result.scenario or scenario_hash(again) != scenario_hash(result.scenario):
        raise StoreError(  # pragma: no cover - a bug in the scenario model, not user input
            f"scenario {result.scenario.name!r} does not survive a JSON round trip; "
            "it cannot be stored reproducibly"
        )
    return text


def _check_shapes(result: Result) -> None:
    runs, days = result.runs, result.scenario.horizon_days
    for name, spec in SERIES.items():
        entities, labels = result.labels(name)
        expected = (runs, days, len(entities)) + ((len(labels),) if spec.category else ())
        arr = result.data[name]
        if arr.shape != expected:
            raise StoreError(
                f"series {name!r} has shape {arr.shape}, expected {expected} from the scenario"
            )
        if arr.dtype.kind not in "iuf" or arr.dtype.itemsize > 8:
            raise StoreError(f"series {name!r} has unsupported dtype {arr.dtype}")


def _write_run_row(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    meta: dict[str, Any],
    label: str | None,
    created: dt.datetime | None = None,
) -> None:
    """Insert the ``runs`` row of a result folder whose ``run.json`` is ``meta``."""
    seed = int(meta["seed"])
    if not -(2**127) <= seed < 2**127:
        raise StoreError(f"seed {seed} does not fit the store (128-bit integers)")
    if created is None:
        created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?::HUGEINT, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            created,
            label,
            meta["scenario"],
            meta["scenario_hash"],
            meta["scenario_json"],
            meta.get("scenario_text"),
            # Bound as text: a Python int beyond 64 bits has no direct DuckDB binding.
            str(seed),
            meta["forcegen_version"],
            meta["mode"],
            int(meta["runs"]),
            bool(meta["sample_parameters"]),
            float(meta["elapsed_seconds"]),
            dt.date.fromisoformat(meta["start_date"]),
            int(meta["horizon_days"]),
            meta["currency"],
            list(meta["channels"]),
            list(meta["pools"]),
            list(meta["parameters"]),
            json.dumps(meta["dtypes"]),
        ],
    )
