"""Reading stores of layout 1 (forcegen ≤ 0.3.0), to migrate them.

Layout 1 kept every number of every replicate as a tidy row in one DuckDB table per
series (``strength``, ``inflow``, ...; columns ``run_id, replicate, date, <channel|pool>,
[<state|kind|cause>,] value``) and sampled parameters in ``parameters(run_id, name,
replicate, step, value)``. :func:`load_v1` rebuilds a :class:`Result` from them;
:meth:`forcegen.results.store.Store.migrate` writes it again in the current layout.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from forcegen.errors import StoreError
from forcegen.results.folder import stored_scenario
from forcegen.results.result import LATER_LABELS, SERIES, Result, SeriesSpec

__all__ = ["load_v1", "run_ids_v1"]

_READ_BATCH_ROWS = 1_000_000
_EPOCH = dt.date(1970, 1, 1)


def run_ids_v1(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Ids of the runs of a layout-1 store, oldest first."""
    rows = con.execute("SELECT run_id FROM runs ORDER BY created_at, run_id").fetchall()
    return [str(r[0]) for r in rows]


def load_v1(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Result, dict[str, Any]]:
    """The :class:`Result` of run ``run_id`` of a layout-1 store and its ``runs`` row."""
    cursor = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description or []]
    row = dict(zip(names, cursor.fetchall()[0], strict=True))
    runs, days = int(row["replicates"]), int(row["horizon_days"])
    dtypes: dict[str, str] = json.loads(row["dtypes"])
    data = {}
    for name, spec in SERIES.items():
        entities = row["channels"] if spec.entity == "channel" else row["pools"]
        data[name] = _read_series(
            con,
            run_id,
            name,
            np.dtype(dtypes[name]),
            runs,
            row["start_date"],
            days,
            [str(e) for e in entities],
        )
    result = Result(
        scenario=stored_scenario(row["scenario_json"], f"run {run_id} in the 0.3 store"),
        scenario_hash=str(row["scenario_hash"]),
        seed=int(row["seed"]),
        version=str(row["forcegen_version"]),
        mode=str(row["mode"]),
        sample_parameters=bool(row["sample_parameters"]),
        data=data,
        parameters=_read_parameters(con, run_id, runs),
        elapsed_seconds=float(row["elapsed_seconds"]),
    )
    return result, row


def _series_columns(spec: SeriesSpec) -> list[str]:
    cols = [spec.entity]
    if spec.category is not None:
        cols.append(spec.category)
    return cols


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
    held: set[int] = set()
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
        held.update(np.unique(cat).tolist() if spec.category is not None else [0])
    # Categories added after the store was written (the `absent` state, the transition
    # kinds of absence, mobilisation and conscription) have no rows: they were zero then.
    added = [k for k, label in enumerate(labels) if label in LATER_LABELS and k not in held]
    expected = out.size // n_cat * (n_cat - len(added)) if labels else out.size
    if seen != expected:
        raise StoreError(
            f"run {run_id}: series {name!r} has {seen} rows, expected {expected}; "
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
