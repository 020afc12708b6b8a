"""The dense on-disk layout of an ensemble: one Parquet row per replicate and day.

A :class:`~forcegen.results.result.Result` holds each series as an array
``(run, date, entity[, category])``. On disk a block of replicates becomes one Parquet
file whose rows are ``(replicate, date)`` and whose columns are the cells of every
series, named ``<series>/<entity>[/<category>]`` — e.g. ``strength/contract/deployed``,
``outflow/prisoners/killed``, ``pool/prisons``. Why this layout rather than one tidy
row per number: labels are in the column names instead of repeated on ~10⁸ rows, a
column is one cell's time series replicate after replicate (counts change little from
day to day, so delta encoding and zstd shrink them to a few bits per value), and any
Parquet reader — DuckDB, pandas, polars — can select just the cells it needs.

Encodings, measured on the built-in scenario (docs/benchmarks.md): integer counts use
``DELTA_BINARY_PACKED``; a money (float) column whose values repeat — a bonus or a
compensation is a small count times a per-replicate rate — keeps dictionary encoding,
and one whose values rarely repeat (salaries: everyone deployed times a daily rate)
uses ``BYTE_STREAM_SPLIT``, which groups the bytes of each value so that zstd finds
the slowly changing exponents and leading digits; zstd on top of all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from forcegen.results.result import LATER_LABELS, SERIES

__all__ = [
    "Cell",
    "block_table",
    "cells",
    "read_parquet",
    "read_series",
    "write_block",
]

_EPOCH = dt.date(1970, 1, 1)
_SAMPLE = 8192  # values of a column inspected to choose its encoding
ZSTD_LEVEL = 3
"""zstd level of the replicate files: level 9 saved 2 % more space for 50 % more time."""


@dataclass(frozen=True)
class Cell:
    """One column of the dense layout: a series at one entity and category.

    Attributes:
        series: Series name (``strength``, ``inflow``, ...).
        entity: Channel or pool id.
        category: State, kind or cause; None for ``pool``.
    """

    series: str
    entity: str
    category: str | None

    @property
    def column(self) -> str:
        """Column name: ``series/entity[/category]``."""
        tail = "" if self.category is None else f"/{self.category}"
        return f"{self.series}/{self.entity}{tail}"


def cells(series: str, channels: Sequence[str], pools: Sequence[str]) -> list[Cell]:
    """The cells of ``series`` in array order (entity-major, then category)."""
    spec = SERIES[series]
    entities = channels if spec.entity == "channel" else pools
    if spec.category is None:
        return [Cell(series, e, None) for e in entities]
    return [Cell(series, e, c) for e in entities for c in spec.labels]


def block_table(
    data: dict[str, NDArray[Any]],
    first_run: int,
    start_date: dt.date,
    channels: Sequence[str],
    pools: Sequence[str],
) -> pa.Table:
    """The Arrow table of a block: ``replicate`` (int32), ``date`` (date32) and one
    column per cell of every series, in the dtype of the array (people as integers,
    money in the scenario currency per day as floats)."""
    runs, days = data["strength"].shape[:2]
    first_day = (start_date - _EPOCH).days
    columns: dict[str, Any] = {
        "replicate": pa.array(
            np.repeat(np.arange(first_run, first_run + runs, dtype=np.int32), days)
        ),
        "date": pa.array(
            np.tile(np.arange(first_day, first_day + days, dtype=np.int32), runs), pa.date32()
        ),
    }
    for name in SERIES:
        arr = data[name]
        flat = arr.reshape(runs * days, -1)
        for j, cell in enumerate(cells(name, channels, pools)):
            columns[cell.column] = np.ascontiguousarray(flat[:, j])
    return pa.table(columns)


def read_parquet(path: str | Path, columns: Sequence[str] | None = None) -> pa.Table:
    """One Parquet file of a result (all columns, or ``columns``). Read through
    :class:`pyarrow.parquet.ParquetFile` rather than ``pq.read_table``, whose first call
    imports ``pyarrow.dataset`` (~0.5 s) to read what is always a single file."""
    with pq.ParquetFile(path) as handle:
        return handle.read(columns=None if columns is None else list(columns))


def write_block(table: pa.Table, path: str | Path | pa.NativeFile) -> None:
    """Write one block's table as Parquet with the layout's encodings."""
    encoding: dict[str, str] = {}
    dictionary: list[str] = []
    for f in table.schema:
        if pa.types.is_integer(f.type):
            encoding[f.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(f.type):
            if _mostly_distinct(table.column(f.name).to_numpy()):
                encoding[f.name] = "BYTE_STREAM_SPLIT"
            else:
                dictionary.append(f.name)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=dictionary,
        column_encoding=encoding,
        # One row group per block: a reader selecting a few cells reads a few column
        # chunks, and dictionaries of money columns are built over the whole block.
        row_group_size=max(table.num_rows, 1),
        dictionary_pagesize_limit=8 << 20,
        write_statistics=["replicate", "date"],
    )


def _mostly_distinct(values: NDArray[Any]) -> bool:
    """Whether at least 30 % of a sample of the column's values are distinct (measured:
    above that, byte-stream-split beats a dictionary for this model's money columns)."""
    sample = values[:_SAMPLE]
    return sample.size > 0 and np.unique(sample).size >= 0.3 * sample.size


def read_series(
    files: Sequence[Path],
    name: str,
    runs: int,
    days: int,
    channels: Sequence[str],
    pools: Sequence[str],
    dtype: np.dtype[Any],
) -> NDArray[Any]:
    """One series as its ``(run, date, entity[, category])`` array, read from the
    block files of a run."""
    spec = SERIES[name]
    chosen = cells(name, channels, pools)
    entities = channels if spec.entity == "channel" else pools
    shape: tuple[int, ...] = (runs, days, len(entities))
    if spec.category is not None:
        shape += (len(spec.labels),)
    out = np.empty((runs * days, len(chosen)), dtype=dtype)
    row = 0
    for path in files:
        # A block written before a category existed (LATER_LABELS) has no column for
        # it: those values were zero.
        with pq.ParquetFile(path) as handle:
            present = set(handle.schema_arrow.names)
            later = {
                c.column for c in chosen if c.column not in present and c.category in LATER_LABELS
            }
            table = handle.read(columns=[c.column for c in chosen if c.column not in later])
        n = table.num_rows
        for j, cell in enumerate(chosen):
            if cell.column in later:
                out[row : row + n, j] = 0
            else:
                out[row : row + n, j] = table.column(cell.column).to_numpy()
        row += n
    if row != runs * days:
        raise ValueError(f"series {name!r}: {row} rows on disk, expected {runs * days}")
    return out.reshape(shape)
