"""The embedded results store: every saved run in one DuckDB file.

A :class:`Store` keeps, for each saved run, its provenance (scenario, seed, forcegen
version: what determines the result, plus how it was run), the sampled parameter values
per replicate and every daily series in tidy form. Tables (see ``docs/store.md``):

* ``meta(key, value)`` — ``schema_version`` of the store layout, ``created_with``;
* ``runs`` — one row per run: id, creation time (UTC), label, scenario name, hash,
  canonical JSON and source text, seed, version, mode, replicates, sampling switch,
  wall time, dates, channel and pool ids, the numpy dtype of each series;
* ``parameters(run_id, name, replicate, step, value)`` — sampled values; ``step`` is
  NULL for a single value and 0, 1, … for the steps of a dated series;
* one table per series (``strength``, ``inflow``, ``outflow``, ``transition``,
  ``pool``, ``cost``, ``unpaid``): ``run_id, replicate, date, <channel|pool>,
  [<state|kind|cause>,] value``, with the column names of :meth:`Result.to_pandas`;
* the view ``series`` — all of them in the layout of :meth:`Result.to_pandas`.

Guarantees: a run is written in a single transaction, so an interrupted or failed save
leaves no trace of the run and every earlier run intact; the file is opened only for
the duration of one operation, and an operation that finds it locked by another process
retries with backoff for ``timeout`` seconds before raising :class:`StoreError`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from forcegen.errors import StoreError, UsageError
from forcegen.results.files import tidy_schema
from forcegen.results.result import SERIES, Result, SeriesSpec
from forcegen.results.summary import Summary
from forcegen.scenario.load import scenario_hash
from forcegen.scenario.model import Scenario

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_PATH",
    "DEFAULT_TIMEOUT",
    "SCHEMA_VERSION",
    "ExportFormat",
    "RunInfo",
    "Store",
]

SCHEMA_VERSION = 1
"""Version of the table layout written by this forcegen; bump on any incompatible change."""

DEFAULT_PATH = Path("forcegen.duckdb")
"""Store used when none is named: ``forcegen.duckdb`` in the current directory."""

DEFAULT_TIMEOUT = 30.0
"""Seconds an operation waits for a store locked by another process."""

DEFAULT_MEMORY_LIMIT = "512MB"
"""DuckDB's memory limit while the store is open. Without one DuckDB keeps every block a
save writes in its cache (up to 80% of RAM), so memory would grow with the ensemble;
with it a save of any size stays at the Result plus a few hundred MB."""

ExportFormat = Literal["parquet", "csv", "netcdf"]
EXPORT_FORMATS: tuple[str, ...] = ("parquet", "csv", "netcdf")
_SUFFIX_FORMATS = {".parquet": "parquet", ".csv": "csv", ".nc": "netcdf", ".netcdf": "netcdf"}

# Most rows handed to DuckDB in one append to one series table while saving (at least
# one replicate's worth): DuckDB's row-group size. Larger appends are written to the
# file ahead of COMMIT and partly rewritten at COMMIT, which left ~25% of a new store
# as free blocks and compressed worse (measured: 1.5x the file size, for ~20% less
# CPU). Chunks this small also keep the Arrow buffers of a chunk at a few MB.
_CHUNK_ROWS = 122_880
# Rows per Arrow record batch when reading series back (load, export).
_READ_BATCH_ROWS = 1_000_000
_EPOCH = dt.date(1970, 1, 1)


# ------------------------------------------------------------------------------ layout
def _entity_column(spec: SeriesSpec) -> str:
    return spec.entity  # "channel" or "pool"


def _series_columns(spec: SeriesSpec) -> list[str]:
    cols = [_entity_column(spec)]
    if spec.category is not None:
        cols.append(spec.category)
    return cols


def _schema_ddl() -> list[str]:
    """Statements creating an empty store of :data:`SCHEMA_VERSION`."""
    ddl = [
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
            dtypes VARCHAR NOT NULL
        )""",
        # No key or index on the big tables: DuckDB's zone maps already skip row groups
        # of other runs (a run's rows are contiguous), and an index over ~1e8 rows
        # would cost more than the data.
        """CREATE TABLE parameters (
            run_id VARCHAR NOT NULL,
            name VARCHAR NOT NULL,
            replicate INTEGER NOT NULL,
            step INTEGER,
            value DOUBLE NOT NULL
        )""",
    ]
    selects = []
    for name, spec in SERIES.items():
        labels = "".join(f'"{c}" VARCHAR NOT NULL, ' for c in _series_columns(spec))
        ddl.append(
            f'CREATE TABLE "{name}" (run_id VARCHAR NOT NULL, replicate INTEGER NOT NULL, '
            f"date DATE NOT NULL, {labels}value DOUBLE NOT NULL)"
        )
        own = set(_series_columns(spec))
        cols = ", ".join(
            f'"{c}"' if c in own else f'NULL::VARCHAR AS "{c}"'
            for c in ("channel", "pool", "state", "cause", "kind")
        )
        selects.append(
            f"SELECT run_id, replicate, date, '{name}' AS series, {cols}, value FROM \"{name}\""
        )
    ddl.append("CREATE VIEW series AS\n" + "\nUNION ALL\n".join(selects))
    return ddl


_TABLES = frozenset({"meta", "runs", "parameters", *SERIES})


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
    """A results store: one DuckDB file holding any number of runs.

    Args:
        path: The store file; ``forcegen.duckdb`` in the current directory by default.
            It is created on the first save.
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

    # -- writing ------------------------------------------------------------------------
    def save(
        self, result: Result, label: str | None = None, *, scenario_text: str | None = None
    ) -> str:
        """Store ``result`` atomically and return its new run id.

        Args:
            result: The result to store.
            label: Free text to find the run by (``forcegen runs`` shows it).
            scenario_text: The YAML text the scenario was loaded from, kept verbatim
                next to the canonical JSON (which is what :meth:`load` uses).

        Either everything is stored or nothing: an exception, Ctrl-C or a killed
        process during the save leaves the store as it was.
        """
        scenario_json = _scenario_json(result)
        _check_shapes(result)
        with self._connect(write=True, create=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                run_id = _new_run_id(con)
                _write_run_row(con, run_id, result, label, scenario_json, scenario_text)
                _write_parameters(con, run_id, result)
                for table, chunk in _series_chunks(result, run_id):
                    _write_chunk(con, table, chunk)
                con.execute("COMMIT")
            except BaseException as exc:
                _rollback(con)
                if isinstance(exc, duckdb.InterruptException):
                    raise KeyboardInterrupt from exc
                if isinstance(exc, duckdb.Error):
                    raise StoreError(
                        f"could not save the run to store {self.path}: {exc}; "
                        "nothing was stored and earlier runs are unchanged"
                    ) from exc
                raise
        return run_id

    def delete(self, run_id: str) -> str:
        """Remove a run (its series, parameters and provenance); returns its full id.

        The file does not shrink: DuckDB reuses the freed space for later runs.
        """
        with self._connect(write=True) as con:
            full = _resolve(con, self.path, run_id)
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("parameters", *SERIES, "runs"):
                    con.execute(f'DELETE FROM "{table}" WHERE run_id = ?', [full])
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
        return full

    # -- reading ------------------------------------------------------------------------
    def info(self, run_id: str) -> RunInfo:
        """Provenance of a run (a unique prefix of its id is enough)."""
        with self._connect(write=False) as con:
            return _run_info(con, _resolve(con, self.path, run_id))

    def load(self, run_id: str) -> Result:
        """Rebuild the :class:`Result` of a stored run: the scenario from its canonical
        JSON, arrays with their original dtypes, parameters and provenance."""
        with self._connect(write=False) as con:
            full = _resolve(con, self.path, run_id)
            row = _fetch_dict(con, "SELECT * FROM runs WHERE run_id = ?", [full])
            runs, days = int(row["replicates"]), int(row["horizon_days"])
            dtypes: dict[str, str] = json.loads(row["dtypes"])
            data = {}
            for name, spec in SERIES.items():
                entities = row["channels"] if spec.entity == "channel" else row["pools"]
                data[name] = _read_series(
                    con,
                    full,
                    name,
                    np.dtype(dtypes[name]),
                    runs,
                    row["start_date"],
                    days,
                    [str(e) for e in entities],
                )
            parameters = _read_parameters(con, full, runs)
        return Result(
            scenario=Scenario.model_validate_json(row["scenario_json"]),
            scenario_hash=str(row["scenario_hash"]),
            seed=int(row["seed"]),
            version=str(row["forcegen_version"]),
            mode=str(row["mode"]),
            sample_parameters=bool(row["sample_parameters"]),
            data=data,
            parameters=parameters,
            elapsed_seconds=float(row["elapsed_seconds"]),
        )

    def summary(self, run_id: str, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """Headline numbers of a stored run (loads it; see :meth:`Result.summary`)."""
        return self.load(run_id).summary(q)

    def quantiles(
        self,
        run_id: str,
        series: str = "strength",
        q: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        cumulative: bool = False,
    ) -> pd.DataFrame:
        """Quantiles across replicates of a series summed over the chosen channels (or
        pools) and categories — computed inside DuckDB, without loading the run.

        Same meaning and layout as :meth:`Result.quantiles`: one row per date, one
        column per quantile, values in the unit of the series (people, people per day,
        currency per day); ``cumulative=True`` sums daily values over time first.
        """
        spec = _series_spec(series)
        qs = [float(x) for x in q]
        if not qs or any(not 0.0 <= x <= 1.0 for x in qs):
            raise UsageError(f"quantiles must be between 0 and 1, got {list(q)}")
        with self._connect(write=False) as con:
            full = _resolve(con, self.path, run_id)
            info = _run_info(con, full)
            entities = list(info.channels if spec.entity == "channel" else info.pools)
            where = ["run_id = $run_id"]
            params: dict[str, object] = {"run_id": full}
            chosen = _choose(entities, channels, spec.entity)
            if chosen is not None:
                where.append(f'list_contains($entities, "{_entity_column(spec)}")')
                params["entities"] = chosen
            if spec.category is not None:
                picked = _choose(list(spec.labels), categories, spec.category)
                if picked is not None:
                    where.append(f'list_contains($categories, "{spec.category}")')
                    params["categories"] = picked
            elif categories is not None:
                raise UsageError(f"series {series!r} has no categories")
            # Quantile levels are inlined (they must be constants for quantile_cont);
            # repr() of a float round-trips exactly.
            levels = "[" + ", ".join(repr(x) for x in qs) + "]"
            acc = (
                "SELECT replicate, date, SUM(v) OVER (PARTITION BY replicate ORDER BY date "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS v FROM per"
                if cumulative
                else "SELECT replicate, date, v FROM per"
            )
            sql = (
                f'WITH per AS (SELECT replicate, date, SUM(value) AS v FROM "{series}" '
                f"WHERE {' AND '.join(where)} GROUP BY replicate, date), acc AS ({acc}) "
                f"SELECT date, quantile_cont(v, {levels}) AS q FROM acc GROUP BY date "
                "ORDER BY date"
            )
            rows = con.execute(sql, params).fetchall()
        dates = pd.date_range(info.start_date, periods=info.horizon_days)
        table = pd.DataFrame(
            [list(r[1]) for r in rows],
            index=pd.DatetimeIndex([pd.Timestamp(r[0]) for r in rows]),
            columns=qs,
            dtype=np.float64,
        )
        # An empty selection (e.g. the pools of a scenario without pools) sums to zero,
        # as in Result.quantiles.
        return table.reindex(dates, fill_value=0.0)

    def export(self, run_id: str, path: str | os.PathLike[str], format: str | None = None) -> Path:
        """Write a run to a file and return its path.

        Formats: ``parquet`` and ``csv`` — tidy rows ``run, date, series, channel,
        pool, state, cause, kind, value`` as :meth:`Result.to_pandas` (Parquet also
        carries the provenance as JSON under the key ``forcegen``), streamed from the
        store in bounded memory; ``netcdf`` — :meth:`Result.to_xarray` written with
        h5netcdf (the run is loaded into memory). With ``format=None`` the suffix
        decides (``.parquet``, ``.csv``, ``.nc``). The file is written under a temporary
        name and renamed, so an interrupted export leaves no partial file.
        """
        target = Path(path)
        fmt = _export_format(target, format)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            if fmt == "netcdf":
                _require_h5py()
                self.load(run_id).to_xarray().to_netcdf(tmp, engine="h5netcdf")
            else:
                with self._connect(write=False) as con:
                    full = _resolve(con, self.path, run_id)
                    info = _run_info(con, full)
                    _export_tidy(con, info, tmp, fmt)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    def list(self) -> pd.DataFrame:
        """One row per stored run, oldest first: ``run_id, created_at`` (UTC), ``label,
        scenario, replicates, horizon_days, seed, mode, sample_parameters,
        forcegen_version, elapsed_seconds`` (seconds) ``, scenario_hash``."""
        if not self.path.exists():
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
    def _connect(self, *, write: bool, create: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the store for one operation; only ``create=True`` (a save) may create
        the file."""
        if not create and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist (no run has been saved there)")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._open(write)
        try:
            _prepare(con, self.path, write)
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
def _prepare(con: duckdb.DuckDBPyConnection, path: Path, write: bool) -> None:
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
    names = con.execute(
        "SELECT DISTINCT name FROM parameters WHERE run_id = ? ORDER BY name", [run_id]
    ).fetchall()
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
        parameters=tuple(str(r[0]) for r in names),
    )


def _series_spec(name: str) -> SeriesSpec:
    if name not in SERIES:
        raise UsageError(f"unknown series {name!r}; expected one of {', '.join(SERIES)}")
    return SERIES[name]


def _choose(
    labels: builtins.list[str], chosen: Iterable[str] | str | None, what: str
) -> builtins.list[str] | None:
    """The chosen labels (checked), or None for all of them."""
    if chosen is None:
        return None
    names = [chosen] if isinstance(chosen, str) else [str(c) for c in chosen]
    missing = [n for n in names if n not in labels]
    if missing:
        raise UsageError(f"unknown {what}(s) {missing}; expected one of {labels}")
    return names


def _random_run_id() -> str:
    """8 hex digits: short to type, 32 random bits."""
    return secrets.token_hex(4)


def _new_run_id(con: duckdb.DuckDBPyConnection) -> str:
    # Collisions are rare and checked here; no other process can insert meanwhile, as
    # this one holds the store's write lock.
    while True:
        run_id = _random_run_id()
        if _first(con, "SELECT 1 FROM runs WHERE run_id = ?", [run_id]) is None:
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
    result: Result,
    label: str | None,
    scenario_json: str,
    scenario_text: str | None,
) -> None:
    if not -(2**127) <= result.seed < 2**127:
        raise StoreError(f"seed {result.seed} does not fit the store (128-bit integers)")
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sc = result.scenario
    dtypes = {name: str(result.data[name].dtype) for name in SERIES}
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?::HUGEINT, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            created,
            label,
            sc.name,
            result.scenario_hash,
            scenario_json,
            scenario_text,
            # Bound as text: a Python int beyond 64 bits has no direct DuckDB binding.
            str(result.seed),
            result.version,
            result.mode,
            result.runs,
            bool(result.sample_parameters),
            float(result.elapsed_seconds),
            sc.start_date,
            sc.horizon_days,
            sc.currency,
            result.channels,
            result.pools,
            json.dumps(dtypes),
        ],
    )


def _write_parameters(con: duckdb.DuckDBPyConnection, run_id: str, result: Result) -> None:
    names: builtins.list[NDArray[np.int32]] = []
    reps: builtins.list[NDArray[np.int32]] = []
    steps: builtins.list[pa.Array] = []
    values: builtins.list[NDArray[np.float64]] = []
    labels = sorted(result.parameters)
    for code, name in enumerate(labels):
        arr = np.asarray(result.parameters[name], dtype=np.float64)
        if arr.ndim == 1:
            n, step = arr.shape[0], pa.nulls(arr.shape[0], pa.int32())
        elif arr.ndim == 2:
            n = arr.size
            step = pa.array(np.tile(np.arange(arr.shape[1], dtype=np.int32), arr.shape[0]))
        else:
            raise StoreError(f"parameter {name!r} has {arr.ndim} dimensions; expected 1 or 2")
        per = n // max(arr.shape[0], 1)
        names.append(np.full(n, code, dtype=np.int32))
        reps.append(np.repeat(np.arange(arr.shape[0], dtype=np.int32), per))
        steps.append(step)
        values.append(arr.reshape(-1))
    if not labels:
        return
    table = pa.table(
        {
            "run_id": _constant(run_id, sum(len(v) for v in values)),
            "name": pa.DictionaryArray.from_arrays(
                pa.array(np.concatenate(names)), pa.array(labels, pa.string())
            ),
            "replicate": pa.array(np.concatenate(reps)),
            "step": pa.concat_arrays(steps),
            "value": pa.array(np.concatenate(values)),
        }
    )
    con.from_arrow(table).insert_into("parameters")


def _constant(text: str, n: int) -> pa.DictionaryArray:
    """A column repeating ``text``: one dictionary entry and one byte per row."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int8)), pa.array([text], pa.string())
    )


def _labels(values: Sequence[str], codes: NDArray[np.int32]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(list(values), pa.string()))


def _series_chunks(result: Result, run_id: str) -> Iterator[tuple[str, pa.Table]]:
    """(table name, Arrow table) for every series, one chunk of replicates at a time,
    rows in the order of :meth:`Result.to_pandas` (run, date, entity, category)."""
    days = result.scenario.horizon_days
    start = (result.scenario.start_date - _EPOCH).days
    dates = np.arange(start, start + days, dtype=np.int32)
    per_replicate = max(result.data[name][0].size for name in SERIES)
    step = max(1, _CHUNK_ROWS // max(per_replicate, 1))
    for lo in range(0, result.runs, step):
        hi = min(lo + step, result.runs)
        for name, spec in SERIES.items():
            arr = result.data[name][lo:hi]
            if arr.size == 0:
                continue  # e.g. pools of a scenario without pools
            entities, labels = result.labels(name)
            n_ent = len(entities)
            n_cat = len(labels) if spec.category is not None else 1
            inner = n_ent * n_cat
            n = arr.size
            columns: dict[str, pa.Array] = {
                "run_id": _constant(run_id, n),
                "replicate": pa.array(np.repeat(np.arange(lo, hi, dtype=np.int32), days * inner)),
                "date": pa.array(np.tile(np.repeat(dates, inner), hi - lo), pa.date32()),
                _entity_column(spec): _labels(
                    entities,
                    np.tile(np.repeat(np.arange(n_ent, dtype=np.int32), n_cat), n // inner),
                ),
            }
            if spec.category is not None:
                columns[spec.category] = _labels(
                    labels, np.tile(np.arange(n_cat, dtype=np.int32), n // n_cat)
                )
            columns["value"] = pa.array(arr.reshape(-1).astype(np.float64))
            yield name, pa.table(columns)


def _write_chunk(con: duckdb.DuckDBPyConnection, table: str, chunk: pa.Table) -> None:
    """Append one chunk of rows to a series table (tests replace this to interrupt a
    save part-way)."""
    # A relation insert rather than a registered view: a view registered inside a
    # transaction keeps its Arrow table alive until COMMIT, so memory would grow with
    # the ensemble instead of staying at one chunk.
    con.from_arrow(chunk).insert_into(table)


# ---------------------------------------------------------------------------- loading
def _read_series(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    name: str,
    dtype: np.dtype[Any],
    runs: int,
    start: dt.date,
    days: int,
    entities: builtins.list[str],
) -> NDArray[Any]:
    """The ``(run, date, entity[, category])`` array of one series of a run."""
    spec = SERIES[name]
    labels = list(spec.labels) if spec.category is not None else []
    shape = (runs, days, len(entities)) + ((len(labels),) if spec.category is not None else ())
    out = np.zeros(shape, dtype=dtype)
    flat = out.reshape(-1)
    if out.size == 0:
        return out
    cols = ", ".join(f'"{c}"' for c in _series_columns(spec))
    reader = con.sql(
        f'SELECT replicate, date, {cols}, value FROM "{name}" WHERE run_id = ?', params=[run_id]
    ).to_arrow_reader(_READ_BATCH_ROWS)
    first_day = (start - _EPOCH).days
    n_ent, n_cat = len(entities), max(len(labels), 1)
    seen = 0
    for batch in reader or ():
        rep = batch.column(0).to_numpy().astype(np.int64)
        day = batch.column(1).cast(pa.int32()).to_numpy().astype(np.int64) - first_day
        ent = _codes(batch.column(2), entities, name)
        cat = _codes(batch.column(3), labels, name) if spec.category is not None else 0
        value = batch.column(batch.num_columns - 1).to_numpy()
        if rep.min() < 0 or rep.max() >= runs or day.min() < 0 or day.max() >= days:
            raise StoreError(f"run {run_id}: series {name!r} has rows outside the run")
        flat[((rep * days + day) * n_ent + ent) * n_cat + cat] = value.astype(dtype)
        seen += len(rep)
    if seen != out.size:
        raise StoreError(
            f"run {run_id}: series {name!r} has {seen} rows, expected {out.size}; "
            "the store is damaged"
        )
    return out


def _codes(column: pa.Array, labels: builtins.list[str], series: str) -> NDArray[np.int64]:
    idx = pc.index_in(column, value_set=pa.array(labels, pa.string()))
    if idx.null_count:
        unknown = sorted(set(pc.filter(column, pc.is_null(idx)).to_pylist()))
        raise StoreError(
            f"series {series!r} holds labels {unknown} unknown to this forcegen (expected {labels})"
        )
    return np.asarray(idx.to_numpy(), dtype=np.int64)


def _read_parameters(
    con: duckdb.DuckDBPyConnection, run_id: str, runs: int
) -> dict[str, NDArray[np.float64]]:
    table = con.sql(
        "SELECT name, replicate, step, value FROM parameters WHERE run_id = ? "
        "ORDER BY name, replicate, step",
        params=[run_id],
    ).to_arrow_table()
    out: dict[str, NDArray[np.float64]] = {}
    if table is None or table.num_rows == 0:
        return out
    frame = table.to_pandas()
    for name, rows in frame.groupby("name", sort=True):
        values = rows["value"].to_numpy(dtype=np.float64)
        if rows["step"].isna().all():
            arr = np.zeros(runs)
            arr[rows["replicate"].to_numpy(dtype=np.int64)] = values
        else:
            n_steps = int(rows["step"].max()) + 1
            arr = np.zeros((runs, n_steps))
            arr[
                rows["replicate"].to_numpy(dtype=np.int64), rows["step"].to_numpy(dtype=np.int64)
            ] = values
        out[str(name)] = arr
    return out


# ---------------------------------------------------------------------------- export
def _export_format(target: Path, format: str | None) -> str:
    if format is None:
        fmt = _SUFFIX_FORMATS.get(target.suffix.lower())
        if fmt is None:
            raise UsageError(
                f"cannot tell the export format from {target.name!r}; "
                f"give one of {', '.join(EXPORT_FORMATS)}"
            )
        return fmt
    if format not in EXPORT_FORMATS:
        raise UsageError(
            f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    return format


def _tidy_batches(
    con: duckdb.DuckDBPyConnection, run_id: str, schema: pa.Schema
) -> Iterator[pa.RecordBatch]:
    """The run's rows, series by series in :data:`SERIES` order, each in stored order
    (replicate, date, entity, category)."""
    for name, spec in SERIES.items():
        own = set(_series_columns(spec))
        cols = ", ".join(
            f'"{c}"' if c in own else f'NULL::VARCHAR AS "{c}"'
            for c in ("channel", "pool", "state", "cause", "kind")
        )
        reader = con.sql(
            f"SELECT replicate AS run, date, '{name}' AS series, {cols}, value "
            f'FROM "{name}" WHERE run_id = ?',
            params=[run_id],
        ).to_arrow_reader(_READ_BATCH_ROWS)
        for batch in reader or ():
            yield pa.RecordBatch.from_arrays(
                [col.cast(field.type) for col, field in zip(batch.columns, schema, strict=True)],
                schema=schema,
            )


def _export_tidy(con: duckdb.DuckDBPyConnection, info: RunInfo, out: Path, fmt: str) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        meta = {b"forcegen": json.dumps(info.provenance()).encode()}
        schema = tidy_schema(dictionary=True).with_metadata(meta)
        with pq.ParquetWriter(out, schema, compression="zstd") as writer:
            for batch in _tidy_batches(con, info.run_id, schema):
                writer.write_batch(batch)
    else:
        import pyarrow.csv as pacsv

        schema = tidy_schema(dictionary=False)
        with pacsv.CSVWriter(out, schema) as writer:
            for batch in _tidy_batches(con, info.run_id, schema):
                writer.write_batch(batch)


def _require_h5py() -> None:
    # h5netcdf writes through h5py, which it does not install by itself; say so before
    # loading the run rather than fail deep inside xarray.
    import importlib.util

    if importlib.util.find_spec("h5py") is None:
        raise StoreError(
            "netCDF export needs the h5py package (pip install 'h5netcdf[h5py]'); "
            "parquet and csv exports work without it"
        )
