"""What ``forcegen export`` writes: headline numbers, quantile bands or replicates of a
stored run, filtered and resampled, as CSV, Parquet, netCDF or JSON.

Three things can be exported (``what``):

* ``quantiles`` — the CLI's default, because it is what most readers want: quantiles
  across replicates (5, 25, 50, 75 and 95 %) of each series, per channel (or pool) and
  category (state, kind or cause), and summed over them (:data:`ALL`, ``"*"``), one row
  per period (:func:`quantile_frame`): about 200,000 rows for three years of the
  built-in scenario by day (7,000 by month), whatever the number of replicates.
* ``summary`` — the headline numbers of :meth:`forcegen.results.result.Result.summary`
  as tidy rows (:meth:`forcegen.results.summary.Summary.to_frame`).
* ``replicates`` — every replicate's numbers, the tidy rows of
  :meth:`~forcegen.results.result.Result.to_pandas` (or, in netCDF, labelled arrays),
  filtered and resampled (:func:`replicate_blocks`); refused above a row bound, since
  1,000 replicates of three years of the built-in scenario are 136 million rows.

Filters (:class:`Filters`) pick series, channels or pools, and a date range; ``every``
resamples days into weeks (Monday to Sunday) or calendar months (:func:`resample`):
stocks (``strength``, ``pool``, in people) are taken on the last day of each period,
flows (``inflow``, ``outflow``, ``transition`` in people per period; ``cost``,
``unpaid`` in currency per period) are summed over it, and periods are labelled by
their last simulated date.

Every file is written through :func:`forcegen.results.outputs.atomic_file`: under a
temporary name, renamed when complete, never replacing a file forcegen did not write
unless ``force``. Each file carries the run's provenance (scenario, seed, forcegen
version, and what was exported): Parquet in its schema metadata under ``b"forcegen"``,
netCDF in the global attribute ``forcegen`` (JSON text), JSON as the ``"forcegen"``
member of ``{"forcegen": provenance, "rows": [...]}``; a CSV has no room for it (its
first line, the header, is how forcegen recognises its own CSV files).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from forcegen.errors import UsageError
from forcegen.results.outputs import atomic_file, check_file_target, looks_like_forcegen
from forcegen.results.result import (
    DEFAULT_MAX_ROWS,
    SERIES,
    TIDY_COLUMNS,
    Result,
    Selection,
    TidyBlock,
    check_date,
    check_names,
    check_rows,
    tidy_frame,
)
from forcegen.results.summary import ALL, SUMMARY_COLUMNS
from forcegen.safetext import csv_safe

if TYPE_CHECKING:
    import xarray as xr

    from forcegen.results.store import RunInfo, Store

__all__ = [
    "ALL",
    "EVERY",
    "FORMATS",
    "QUANTILES",
    "STOCKS",
    "WHATS",
    "Filters",
    "export_run",
    "format_of",
    "period_ends",
    "quantile_columns",
    "quantile_frame",
    "recognise_csv",
    "replicate_blocks",
    "replicates_dataset",
    "replicates_frame",
    "resample",
    "stored_quantile_frame",
    "unit_of",
    "write_frame",
    "write_replicates",
]

WHATS = ("quantiles", "summary", "replicates")
"""What can be exported; the first is the CLI's default."""

FORMATS = ("csv", "parquet", "netcdf", "json")
"""File formats of exports."""

EVERY = ("day", "week", "month")
"""Periods a series can be resampled to: days, weeks (Monday to Sunday), months."""

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels of ``quantiles`` exports (those of :meth:`Result.quantiles`)."""

STOCKS = frozenset(name for name, spec in SERIES.items() if spec.unit == "people")
"""Series that are stocks (end-of-day people): resampled by their last day, not summed."""

_SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".nc": "netcdf",
    ".netcdf": "netcdf",
    ".json": "json",
}
_QUANTILE_KEYS = ("series", "channel", "category", "date", "unit")
# Rows per chunk when streaming replicates into a file: ~30 MB of tidy frame at a time.
_CHUNK_ROWS = 1_000_000
_CLI_FILTERS = (
    "--series, --channel, --from/--to, --every week|month, "
    "or --what quantiles (bands across replicates); --max-rows 0 lifts the bound"
)


# --------------------------------------------------------------------------- choices
def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the suffix of ``path`` (``.csv``,
    ``.parquet``, ``.nc``/``.netcdf``, ``.json``); :class:`UsageError` otherwise."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return fmt
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise UsageError(
            f"cannot tell the export format from {Path(path).name!r}; give --format "
            f"{'|'.join(FORMATS)} or a name ending in {', '.join(_SUFFIXES)}"
        )
    return found


def quantile_columns(q: Sequence[float] = QUANTILES) -> list[str]:
    """Column names of quantile levels: ``q0.05``, ``q0.5``… (as the store names them)."""
    return [f"q{float(x):g}" for x in q]


@dataclass(frozen=True)
class Filters:
    """What part of a run to export.

    Attributes:
        series: Series names (all when None).
        channels: Channel or pool ids (all when None); each series keeps the ids it has.
        start: First day kept (inclusive): a date or ISO string; the run's first day
            when None.
        end: Last day kept (inclusive); the run's last day when None.
        every: ``day``, ``week`` or ``month``: the period days are resampled to
            (:func:`resample`), after the date range is applied.
        runs: Replicate indices (all when None); replicates exports only.
    """

    series: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    start: dt.date | str | None = None
    end: dt.date | str | None = None
    every: str = "day"
    runs: tuple[int, ...] | None = None

    @property
    def whole_run(self) -> bool:
        """Whether nothing is filtered or resampled."""
        return self == Filters()

    def check(
        self,
        *,
        channels: Sequence[str],
        pools: Sequence[str],
        start_date: dt.date,
        horizon_days: int,
    ) -> None:
        """Raise :class:`UsageError` for unknown series, channels or ``every``, dates
        outside the run or in the wrong order, and a series named explicitly that has
        none of the channels (or pools) named. Needs only the run's labels, so it runs
        before any data is read."""
        if self.every not in EVERY:
            raise UsageError(f"unknown period {self.every!r}; expected one of {', '.join(EVERY)}")
        names = (
            list(SERIES)
            if self.series is None
            else check_names(self.series, list(SERIES), "series")
        )
        last = start_date + dt.timedelta(days=horizon_days - 1)
        lo = check_date(self.start, start_date, last, "start")
        hi = check_date(self.end, start_date, last, "end")
        if lo is not None and hi is not None and lo > hi:
            raise UsageError(f"the start date {lo} is after the end date {hi}")
        if self.channels is None:
            return
        ids = set(check_names(self.channels, [*channels, *pools], "channel or pool"))
        if self.series is None:
            return
        for name in names:
            own = channels if SERIES[name].entity == "channel" else pools
            if not ids.intersection(own):
                what = SERIES[name].entity
                raise UsageError(
                    f"series {name!r} has none of the channels or pools given "
                    f"({', '.join(sorted(ids))}); its {what}s are {', '.join(own) or 'none'}"
                )

    def rows(
        self,
        *,
        channels: Sequence[str],
        pools: Sequence[str],
        start_date: dt.date,
        horizon_days: int,
        replicates: int,
    ) -> int:
        """Tidy rows a replicates export of these filters makes (replicates × periods ×
        channels × categories, summed over series): counted from the run's labels
        alone, so a too large export is refused before any data is read."""
        self.check(channels=channels, pools=pools, start_date=start_date, horizon_days=horizon_days)
        last = start_date + dt.timedelta(days=horizon_days - 1)
        lo = check_date(self.start, start_date, last, "start") or start_date
        hi = check_date(self.end, start_date, last, "end") or last
        periods = len(period_ends(pd.date_range(lo, hi), self.every))
        runs = replicates if self.runs is None else len(self.runs)
        total = 0
        for name in SERIES if self.series is None else self.series:
            spec = SERIES[name]
            own = channels if spec.entity == "channel" else pools
            kept = [x for x in own if self.channels is None or x in self.channels]
            total += runs * periods * len(kept) * max(len(spec.labels), 1)
        return total

    def select(self, result: Result) -> Selection:
        """Check the filters against ``result`` and return what they select."""
        self.check(
            channels=result.channels,
            pools=result.pools,
            start_date=result.scenario.start_date,
            horizon_days=result.scenario.horizon_days,
        )
        return result.selection(
            self.series, self.runs, channels=self.channels, start=self.start, end=self.end
        )

    def describe(self) -> dict[str, Any]:
        """The filters as JSON-ready values (recorded in each file's provenance)."""
        return {
            "series": None if self.series is None else list(self.series),
            "channels": None if self.channels is None else list(self.channels),
            "from": None if self.start is None else str(self.start),
            "to": None if self.end is None else str(self.end),
            "every": self.every,
            "runs": None if self.runs is None else list(self.runs),
        }


# ------------------------------------------------------------------------- resampling
def period_ends(dates: pd.DatetimeIndex, every: str) -> NDArray[np.intp]:
    """Index of the last of ``dates`` (consecutive days) in each period: every day, each
    week (Monday to Sunday) or each calendar month. A first or last period cut by the
    range of ``dates`` ends where the dates end."""
    days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    if every == "day":
        return np.arange(len(days), dtype=np.intp)
    if every == "week":
        # Day 0 (1970-01-01) was a Thursday: shifting by 3 makes weeks start on Monday.
        key = (days + 3) // 7
    elif every == "month":
        key = dates.year.to_numpy() * 12 + dates.month.to_numpy()
    else:
        raise UsageError(f"unknown period {every!r}; expected one of {', '.join(EVERY)}")
    last = np.flatnonzero(key[1:] != key[:-1])
    return np.append(last, len(days) - 1).astype(np.intp)


def resample(
    values: NDArray[Any], dates: pd.DatetimeIndex, series: str, every: str, *, axis: int = 1
) -> tuple[NDArray[Any], pd.DatetimeIndex]:
    """Values of ``series`` per day → per period (:func:`period_ends`).

    Args:
        values: Daily values along ``axis`` (e.g. ``(run, date, ...)``), in the
            series' unit.
        dates: The consecutive days along ``axis``.
        series: Series name: a stock (:data:`STOCKS`: ``strength``, ``pool``, people)
            is taken on the last day of each period; a flow (``inflow``, ``outflow``,
            ``transition``: people per day; ``cost``, ``unpaid``: currency per day) is
            summed over the period's days, giving people (or currency) per period
            (integer counts in int64, money in float64).
        every: ``day`` (``values`` returned as they are), ``week`` or ``month``.
        axis: The date axis.

    Returns:
        The values per period and each period's label: its last simulated date.
    """
    if every == "day":
        return values, dates
    ends = period_ends(dates, every)
    if series in STOCKS:
        return np.take(values, ends, axis=axis), dates[ends]
    starts = np.concatenate([[0], ends[:-1] + 1])
    acc = np.int64 if np.issubdtype(values.dtype, np.integer) else np.float64
    return np.add.reduceat(values, starts, axis=axis, dtype=acc), dates[ends]


def unit_of(series: str, every: str = "day", currency: str | None = None) -> str:
    """Unit of ``series`` resampled to ``every``: ``people`` for stocks, ``people per
    week`` for a weekly flow, ``RUB per month`` for monthly cost with ``currency``
    ``RUB`` (``currency per …`` without one)."""
    unit = SERIES[series].unit
    if series not in STOCKS:
        unit = unit.replace("per day", f"per {every}")
    return unit.replace("currency", currency) if currency else unit


def _resampled_dtype(dtype: np.dtype[Any], series: str, every: str) -> np.dtype[Any]:
    if every == "day" or series in STOCKS:
        return dtype
    return np.dtype(np.int64 if np.issubdtype(dtype, np.integer) else np.float64)


# -------------------------------------------------------------------------- quantiles
def stored_quantile_frame(
    stored: pd.DataFrame, info: RunInfo, filters: Filters, currency: str | None = None
) -> pd.DataFrame:
    """The rows :func:`quantile_frame` gives for daily, whole-channel selections, read
    from the quantiles the store computed at save (``Store.stored_quantiles``; the same
    numbers, tested), filtered by series and dates."""
    names = list(SERIES) if filters.series is None else list(filters.series)
    first = pd.Timestamp(filters.start or info.start_date)
    last = pd.Timestamp(filters.end or info.start_date + dt.timedelta(days=info.horizon_days - 1))
    rows = stored[~stored["cumulative"] & stored["series"].isin(names)].copy()
    rows["date"] = pd.to_datetime(rows["date"])
    rows = rows[(rows["date"] >= first) & (rows["date"] <= last)]
    groups = {
        key: part
        for key, part in rows.groupby(["series", "entity", "category"], sort=False, observed=True)
    }
    frames = []
    for name in names:
        spec = SERIES[name]
        entities = list(info.channels if spec.entity == "channel" else info.pools)
        for entity in (ALL, *entities) if entities else ():
            for category in (ALL, *spec.labels):
                part = groups.get((name, entity, category))
                if part is None:
                    continue
                frame = part[["series", "entity", "category", "date", *quantile_columns()]]
                frame = frame.rename(columns={"entity": "channel"})
                frame.insert(4, "unit", unit_of(name, "day", currency))
                frames.append(frame)
    if not frames:
        columns = [*_QUANTILE_KEYS, *quantile_columns()]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out: pd.DataFrame = pd.concat(frames, ignore_index=True)
    # Few distinct labels on many rows: categoricals are cheap to write and to make
    # spreadsheet-safe (per label, not per cell).
    for col in ("series", "channel", "category", "unit"):
        out[col] = out[col].astype("category")
    return out


def quantile_frame(
    result: Result,
    filters: Filters | None = None,
    q: Sequence[float] = QUANTILES,
    *,
    currency: str | None = None,
) -> pd.DataFrame:
    """Quantiles across replicates, as tidy rows ``series, channel, category, date, unit,
    q0.05 … q0.95`` (one column per level of ``q``).

    For each selected series, rows for every channel (``channel`` holds the pool id
    for the ``pool`` series) and category (state, kind or cause), each alone and summed
    (:data:`ALL`, ``"*"``: over the selected channels — all of them unless
    ``filters.channels`` — or over all categories; the ``pool`` series has no
    categories, so its ``category`` is always ``"*"``). Values are the quantiles of the
    per-replicate sums, resampled per ``filters.every`` (:func:`resample`) in ``unit``
    (``currency`` names the money unit). With no filters, the rows of one channel and
    category equal :meth:`Result.quantiles` for them.
    """
    filters = filters or Filters()
    if filters.runs is not None:
        raise UsageError("quantiles are taken across all replicates; runs= is for replicates")
    sel = filters.select(result)
    levels = [float(x) for x in q]
    dates = result.dates[sel.days]
    frames: list[pd.DataFrame] = []
    for name in sel.series:
        entities = [result.labels(name)[0][i] for i in sel.entities[name]]
        if not entities:
            continue
        arr = result.data[name][:, sel.days]  # a view: nothing copied yet
        tables = _series_quantiles(arr, sel.entities[name], entities, name, levels, dates, filters)
        order = [(e, c) for e in (ALL, *entities) for c in (ALL, *SERIES[name].labels)]
        for key in order:
            periods, table = tables[key]
            frame = pd.DataFrame(table, columns=quantile_columns(levels))
            frame.insert(0, "unit", unit_of(name, filters.every, currency))
            frame.insert(0, "date", periods)
            frame.insert(0, "category", key[1])
            frame.insert(0, "channel", key[0])
            frame.insert(0, "series", name)
            frames.append(frame)
    if not frames:
        columns = [*_QUANTILE_KEYS, *quantile_columns(levels)]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)


def _series_quantiles(
    arr: NDArray[Any],
    entity_idx: list[int],
    entities: list[str],
    name: str,
    levels: list[float],
    dates: pd.DatetimeIndex,
    filters: Filters,
) -> dict[tuple[str, str], tuple[pd.DatetimeIndex, NDArray[np.float64]]]:
    """Per-period quantile tables ``(period, level)`` of one series ``arr`` ``(run,
    date, entity[, category])`` for every (channel, category) pair, each channel over
    all categories, each category over the channels, and all (keys use :data:`ALL`).

    Sums run in the order of :meth:`Result.total` (categories within a channel, then
    channels one after another), so they equal its sums: exactly for counts, and for
    money as long as a channel has fewer than 8 kinds (numpy sums 8 or more pairwise).
    One channel is converted at a time, laid out ``(category, date, run)`` so each
    quantile runs over contiguous replicates: memory is about three ``(run, date,
    category)`` float64 arrays however many channels there are."""
    has_categories = SERIES[name].category is not None
    labels = list(SERIES[name].labels) if has_categories else [ALL]
    out: dict[tuple[str, str], tuple[pd.DatetimeIndex, NDArray[np.float64]]] = {}

    def add(key: tuple[str, str], values: NDArray[np.float64]) -> None:
        per, periods = resample(values, dates, name, filters.every, axis=0)
        out[key] = (periods, np.quantile(per, levels, axis=1).T)

    grand: NDArray[np.float64] | None = None
    by_cat: NDArray[np.float64] | None = None
    for e, label in zip(entity_idx, entities, strict=True):
        one = arr[:, :, e] if has_categories else arr[:, :, e, None]  # (run, date, category)
        sub = np.ascontiguousarray(one.transpose(2, 1, 0), dtype=np.float64)
        total = sub.sum(axis=0)
        if has_categories:
            for c, cat in enumerate(labels):
                add((label, cat), sub[c])
            if by_cat is None:
                by_cat = sub
            else:
                by_cat += sub
        add((label, ALL), total)
        if grand is None:
            grand = total
        else:
            grand += total
    if by_cat is not None:
        for c, cat in enumerate(labels):
            add((ALL, cat), by_cat[c])
    if grand is not None:
        add((ALL, ALL), grand)
    return out


# ------------------------------------------------------------------------- replicates
def _rows(result: Result, filters: Filters) -> int:
    return filters.rows(
        channels=result.channels,
        pools=result.pools,
        start_date=result.scenario.start_date,
        horizon_days=result.scenario.horizon_days,
        replicates=result.runs,
    )


def _value_dtype(result: Result, sel: Selection, every: str) -> np.dtype[Any]:
    kept = [n for n in sel.series if sel.entities[n]]
    if not kept:
        return np.dtype(np.float64)
    return np.result_type(*[_resampled_dtype(result.data[n].dtype, n, every) for n in kept])


def replicate_blocks(
    result: Result, filters: Filters | None = None, *, chunk_rows: int | None = None
) -> Iterator[TidyBlock]:
    """The selected values of each replicate, resampled per ``filters.every``
    (:func:`resample`), series by series in the order asked, in blocks of whole
    replicates of at most ``chunk_rows`` values (one block per series when None).

    Each block's values are a copy of only its replicates, so streaming the blocks into
    a file takes memory for one block at a time."""
    filters = filters or Filters()
    sel = filters.select(result)
    dates = result.dates[sel.days]
    for name in sel.series:
        ent = sel.entities[name]
        if not ent:
            continue
        labels = [result.labels(name)[0][i] for i in ent]
        per_run = max(sel.rows_of(name) // max(len(sel.runs), 1), 1)
        step = len(sel.runs) if chunk_rows is None else max(1, chunk_rows // per_run)
        for lo in range(0, len(sel.runs), step):
            runs = sel.runs[lo : lo + step]
            values = result.data[name][runs][:, sel.days][:, :, ent]
            values, periods = resample(values, dates, name, filters.every)
            yield TidyBlock(name, values, runs, periods, labels)


def replicates_frame(
    result: Result, filters: Filters | None = None, *, max_rows: int | None = DEFAULT_MAX_ROWS
) -> pd.DataFrame:
    """Tidy rows of :meth:`Result.to_pandas` (same columns and dtypes) for the
    ``filters``, resampled per ``filters.every``: ``date`` is each period's last
    simulated date and ``value`` is in people (stocks), people per period or currency
    per period (flows). Refused (:class:`UsageError`) above ``max_rows`` rows, counted
    before anything is allocated; None lifts the bound."""
    filters = filters or Filters()
    sel = filters.select(result)
    rows = _rows(result, filters)
    check_rows(rows, max_rows, "this export of replicates", _PY_FILTERS)
    dtype = _value_dtype(result, sel, filters.every)
    return tidy_frame(replicate_blocks(result, filters), rows, result.channels, result.pools, dtype)


_PY_FILTERS = "Filters(series=, channels=, start=, end=, every=, runs=), or max_rows=None"


def replicates_dataset(
    result: Result, filters: Filters | None = None, *, currency: str | None = None
) -> xr.Dataset:
    """The selected replicates as labelled arrays, like :meth:`Result.to_xarray` (dims
    ``run``, ``date``, ``channel`` or ``pool_id``, and ``state``/``cause``/``<series>_kind``)
    but only the selected series, replicates, channels and dates, resampled per
    ``filters.every``; each variable's ``units`` attribute gives its unit."""
    import xarray as xr

    filters = filters or Filters()
    sel = filters.select(result)
    variables: dict[str, Any] = {}
    coords: dict[str, Any] = {"run": sel.runs}
    for block in replicate_blocks(result, filters):
        spec = SERIES[block.name]
        entity = "channel" if spec.entity == "channel" else "pool_id"
        dims = ["run", "date", entity]
        coords["date"] = block.dates
        coords[entity] = list(block.entities)
        if spec.category is not None:
            dim = spec.category if spec.category != "kind" else f"{block.name}_kind"
            dims.append(dim)
            coords[dim] = list(spec.labels)
        attrs = {"units": unit_of(block.name, filters.every, currency)}
        variables[block.name] = (dims, block.values, attrs)
    return xr.Dataset(variables, coords=coords)


# ---------------------------------------------------------------------------- writers
def write_frame(
    frame: pd.DataFrame,
    path: str | Path,
    fmt: str,
    provenance: dict[str, Any],
    *,
    force: bool = False,
) -> Path:
    """Write a table (a summary, quantiles, replicates in memory) to ``path`` in ``fmt``
    (:data:`FORMATS`) with ``provenance``; returns the path. Replaces an existing
    file only if forcegen wrote it, or with ``force``."""
    return _write_chunks(iter([frame]), list(frame.columns), path, fmt, provenance, force=force)


def write_replicates(
    result: Result,
    filters: Filters,
    path: str | Path,
    fmt: str,
    provenance: dict[str, Any],
    *,
    force: bool = False,
    max_rows: int | None = DEFAULT_MAX_ROWS,
    currency: str | None = None,
) -> Path:
    """Write the selected replicates (:func:`replicates_frame` rows; in netCDF the
    arrays of :func:`replicates_dataset`) to ``path``, streaming blocks of about a
    million rows into CSV, Parquet or JSON so memory does not grow with the export.
    Refused (:class:`UsageError`) above ``max_rows`` rows (values, in netCDF) before
    anything is read or written; None lifts the bound."""
    rows = _rows(result, filters)
    check_rows(rows, max_rows, "this export", _CLI_FILTERS, in_memory=False)
    sel = filters.select(result)
    if fmt == "netcdf":
        dataset = replicates_dataset(result, filters, currency=currency)
        return _write_netcdf(dataset, Path(path), provenance, force=force)
    dtype = _value_dtype(result, sel, filters.every)
    frames: Iterator[pd.DataFrame] = (
        tidy_frame([block], block.values.size, result.channels, result.pools, dtype)
        for block in replicate_blocks(result, filters, chunk_rows=_CHUNK_ROWS)
    )
    if rows == 0:
        frames = iter([tidy_frame([], 0, result.channels, result.pools, dtype)])
    return _write_chunks(frames, list(TIDY_COLUMNS), path, fmt, provenance, force=force)


def recognise_csv(*headers: Sequence[str]) -> Callable[[Path], bool]:
    """Whether an existing file's first line is the header of one of forcegen's CSV
    exports (column names ``headers``): a CSV has no room for a marker, and a user's
    table with exactly these columns is most likely an earlier export."""
    expected = {_csv_header(h).encode() for h in headers}
    longest = max(len(h) for h in expected)

    def recognise(path: Path) -> bool:
        try:
            with path.open("rb") as handle:
                first = handle.readline(longest + 2)
        except OSError:
            return False
        return first.endswith(b"\n") and first.rstrip(b"\r\n") in expected

    return recognise


def _csv_header(columns: Sequence[str]) -> str:
    # Exactly the first line pyarrow's CSV writer makes (names quoted, comma-separated).
    return ",".join(f'"{c}"' for c in columns)


def _export_headers() -> list[list[str]]:
    return [
        [*_QUANTILE_KEYS, *quantile_columns(QUANTILES)],
        list(SUMMARY_COLUMNS),
        list(TIDY_COLUMNS),
    ]


def _recognise(fmt: str, columns: Sequence[str] = ()) -> Callable[[Path], bool]:
    if fmt == "csv":
        # Any of forcegen's export tables (a re-export may change --what), and this one.
        return recognise_csv(*_export_headers(), *([columns] if columns else []))
    # Parquet, netCDF and JSON files name forcegen in their provenance metadata.
    return looks_like_forcegen


def _arrow(frame: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if "date" in frame.columns:
        i = table.schema.get_field_index("date")
        table = table.set_column(i, "date", table.column("date").cast(pa.date32()))
    # pandas' own metadata would describe the dtypes before the cast; provenance only.
    return table.replace_schema_metadata(None)


def _write_chunks(
    frames: Iterator[pd.DataFrame],
    columns: list[str],
    path: str | Path,
    fmt: str,
    provenance: dict[str, Any],
    *,
    force: bool,
) -> Path:
    target = Path(path)
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "netcdf":
        frame = pd.concat(list(frames), ignore_index=True)
        return _write_netcdf(_table_dataset(frame), target, provenance, force=force)
    recognise = _recognise(fmt, columns)
    with atomic_file(target, force=force, recognise=recognise) as tmp:
        if fmt == "json":
            _write_json(frames, tmp, provenance)
        else:
            _write_arrow(frames, tmp, fmt, provenance)
    return target


def _write_arrow(
    frames: Iterator[pd.DataFrame], tmp: Path, fmt: str, provenance: dict[str, Any]
) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    writer: Any = None
    schema: pa.Schema | None = None
    try:
        for frame in frames:
            # A spreadsheet opening the CSV must not run a label as a formula.
            table = _arrow(csv_safe(frame) if fmt == "csv" else frame)
            if schema is None:
                meta = {b"forcegen": json.dumps(provenance).encode()}
                schema = table.schema.with_metadata(meta)
                if fmt == "parquet":
                    writer = pq.ParquetWriter(tmp, schema, compression="zstd")
                else:
                    writer = pacsv.CSVWriter(tmp, table.schema)
            writer.write_table(table.cast(schema) if fmt == "parquet" else table)
    finally:
        if writer is not None:
            writer.close()


def _write_json(frames: Iterator[pd.DataFrame], tmp: Path, provenance: dict[str, Any]) -> None:
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write('{"forcegen": ' + json.dumps(provenance) + ', "rows": [')
        first = True
        for frame in frames:
            if frame.empty:
                continue
            text = ",\n".join(map(json.dumps, _records(frame)))  # one row per line
            handle.write(("\n" if first else ",\n") + text)
            first = False
        handle.write("\n]}\n")


def _records(frame: pd.DataFrame) -> Iterable[dict[str, Any]]:
    # Column-wise conversion to Python values (labels as str or None, dates as ISO
    # strings, numbers as int or float, which json writes in their shortest exact form).
    columns: list[list[Any]] = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            columns.append(np.datetime_as_string(col.to_numpy(), unit="D").tolist())
        elif col.hasnans or not pd.api.types.is_numeric_dtype(col.dtype):
            columns.append(col.astype(object).where(col.notna(), None).tolist())
        else:
            columns.append(col.tolist())
    keys = [str(c) for c in frame.columns]
    return (dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True))


def _table_dataset(frame: pd.DataFrame) -> xr.Dataset:
    import xarray as xr

    data: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            values: Any = col.to_numpy()
        elif pd.api.types.is_numeric_dtype(col.dtype) and not isinstance(
            col.dtype, pd.CategoricalDtype
        ):
            values = col.to_numpy()
        else:
            # netCDF strings have no missing value: "" stands for "does not apply".
            values = np.asarray(col.astype(object).where(col.notna(), "").tolist(), dtype=object)
        data[str(name)] = ("row", values)
    return xr.Dataset(data)


def _write_netcdf(
    dataset: xr.Dataset, target: Path, provenance: dict[str, Any], *, force: bool
) -> Path:
    dataset = dataset.copy()
    dataset.attrs["forcegen"] = json.dumps(provenance)
    for key in ("scenario", "seed", "forcegen_version", "run_id"):
        if provenance.get(key) is not None:
            dataset.attrs[key] = provenance[key]
    with atomic_file(target, force=force, recognise=looks_like_forcegen) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")
    return target


# -------------------------------------------------------------------------------- CLI
def export_run(
    store: Store,
    run_id: str,
    path: str | Path,
    *,
    what: str = "quantiles",
    filters: Filters | None = None,
    fmt: str | None = None,
    force: bool = False,
    max_rows: int | None = DEFAULT_MAX_ROWS,
) -> Path:
    """Export a stored run (what ``forcegen export`` does); returns the path written.

    Checks everything that can be checked cheaply — the format, the target (a file
    forcegen did not write is refused unless ``force``), the run, the filters against
    its labels — before reading any data; then reads only what ``what`` needs: the
    summary for ``summary``, the whole run otherwise.
    """
    filters = filters or Filters()
    if what not in WHATS:
        raise UsageError(f"unknown export {what!r}; expected one of {', '.join(WHATS)}")
    fmt = format_of(path, fmt)
    target = Path(path)
    check_file_target(target, force=force, recognise=_recognise(fmt))
    info = store.info(run_id)
    if what == "summary" and not filters.whole_run:
        raise UsageError(
            "a summary covers the whole run and every channel: --series, --channel, "
            "--from/--to and --every apply to --what quantiles and replicates"
        )
    filters.check(
        channels=info.channels,
        pools=info.pools,
        start_date=info.start_date,
        horizon_days=info.horizon_days,
    )
    export: dict[str, Any] = {"what": what, **filters.describe()}
    if what == "summary":
        summary = store.summary(info.run_id)
        export["quantiles"] = list(summary.q)
        provenance = {**info.provenance(), "export": export}
        return write_frame(summary.to_frame(), target, fmt, provenance, force=force)
    if what == "replicates":
        # Refuse a too large export before the run is read (seconds for a big run).
        rows = filters.rows(
            channels=info.channels,
            pools=info.pools,
            start_date=info.start_date,
            horizon_days=info.horizon_days,
            replicates=info.replicates,
        )
        check_rows(rows, max_rows, "this export", _CLI_FILTERS, in_memory=False)
    names = list(SERIES) if filters.series is None else list(filters.series)
    export["units"] = {n: unit_of(n, filters.every, info.currency) for n in names}
    if what == "quantiles":
        export["quantiles"] = list(QUANTILES)
        provenance = {**info.provenance(), "export": export}
        if filters.every == "day" and filters.channels is None:
            # Daily sums over whole channels and categories are what the store computed
            # at save: no need to read the replicates.
            frame = stored_quantile_frame(
                store.stored_quantiles(info.run_id), info, filters, info.currency
            )
        else:
            frame = quantile_frame(
                store.load(info.run_id, series=names), filters, currency=info.currency
            )
        return write_frame(frame, target, fmt, provenance, force=force)
    result = store.load(info.run_id, series=names)
    provenance = {**info.provenance(), "export": export}
    return write_replicates(
        result,
        filters,
        target,
        fmt,
        provenance,
        force=force,
        max_rows=max_rows,
        currency=info.currency,
    )
