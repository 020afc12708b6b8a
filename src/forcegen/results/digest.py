"""The per-replicate sums a report needs, computed once and kept small: the *digest*.

A report (and ``forcegen ask``) asks of every replicate a few numbers that the
quantiles computed at save cannot give:

* deployed strength, all channels, on every day — for the probability of falling
  below a threshold, the first date below, hold probabilities, what an answer rests
  on (:mod:`forcegen.analysis.basis`) and deployed person-days (people);
* monthly sums of a few flows — recruits by channel and in all, exits by cause
  (all channels), payments made and promised-but-unpaid by channel and kind — for
  the monthly figures and the costs (people per month; scenario currency per month).

From the replicate files these take reading ~90 of the ~500 columns of a four-channel
scenario. A result folder therefore keeps them, computed in the same pass that computes
the quantiles (``daily.parquet``, ``monthly.parquet``; docs/store.md): for 1,000
three-year replicates about 1.1 million daily and 2 million monthly numbers.

Every digest — of an in-memory :class:`~forcegen.results.result.Result`, computed at
save, or rebuilt from the replicate files of a folder saved without it — goes through
one :class:`DigestCollector`, fed the same float64 sums in the same order, so the
three are identical to the last bit. The daily deployed strength equals
``Result.total("strength", categories="deployed")`` and each monthly sum equals
``numpy.add.reduceat`` of :meth:`Result.total` over the month's days (tested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray

from forcegen.engine.step import COST_KINDS
from forcegen.errors import StoreError
from forcegen.results.arrays import read_parquet, write_block
from forcegen.scenario.model import EXIT_CAUSES

if TYPE_CHECKING:
    from forcegen.results.result import Result

__all__ = [
    "ALL",
    "DAILY_FILE",
    "DEPLOYED",
    "MONTHLY_FILE",
    "Digest",
    "DigestCollector",
    "Key",
    "columns_needed",
    "digest_from_columns",
    "digest_of",
    "key_name",
    "month_index",
    "monthly_keys",
    "monthly_sum",
    "read_digest",
    "summary_totals",
    "write_digest",
]

FloatArray = NDArray[np.float64]
Key = tuple[str, str, str]
"""A sum: ``(series, entity, category)``; entity ``*`` is every channel summed."""

ALL = "*"
"""An entity summed over all channels (as in ``quantiles.parquet``)."""
DEPLOYED: Key = ("strength", ALL, "deployed")
"""The daily sum of the digest: deployed strength, all channels (people)."""
DAILY_FILE = "daily.parquet"
"""Rows ``(replicate, date)``, column ``strength/*/deployed`` (people)."""
MONTHLY_FILE = "monthly.parquet"
"""Rows ``(replicate, month)`` (month: its first day), one column per monthly key."""

_INT32_MAX = int(np.iinfo(np.int32).max)


def key_name(key: Key) -> str:
    """Column name of a sum: ``series/entity/category`` (``outflow/*/killed``)."""
    return "/".join(key)


def monthly_keys(channels: Sequence[str]) -> list[Key]:
    """The monthly sums of a digest, in column order: recruits per channel and in
    all, exits per cause over all channels, payments made and unpaid per channel and
    kind."""
    keys: list[Key] = [("inflow", ch, "recruited") for ch in channels]
    keys.append(("inflow", ALL, "recruited"))
    keys += [("outflow", ALL, cause) for cause in EXIT_CAUSES]
    keys += [(s, ch, kind) for s in ("cost", "unpaid") for ch in channels for kind in COST_KINDS]
    return keys


def month_index(
    dates: pd.DatetimeIndex,
) -> tuple[NDArray[np.int64], pd.DatetimeIndex, NDArray[np.int64]]:
    """Index of the first day of each calendar month in ``dates`` (consecutive days),
    the first day of each month, and the simulated days in each month."""
    period = dates.to_period("M")
    first = np.flatnonzero(np.r_[True, period[1:] != period[:-1]]).astype(np.int64)
    starts = pd.DatetimeIndex([period[int(i)].start_time for i in first])
    days = np.diff(np.r_[first, len(dates)]).astype(np.int64)
    return first, starts, days


def monthly_sum(daily: FloatArray, first: NDArray[np.int64]) -> FloatArray:
    """``(run, date)`` → ``(run, month)`` sums over each month's days (``first``: the
    index of each month's first day, as :func:`month_index` gives it)."""
    return np.asarray(np.add.reduceat(daily, first, axis=1), dtype=np.float64)


# ------------------------------------------------------------------------ the digest
class Digest:
    """The per-replicate sums of one ensemble (see the module docstring).

    Args:
        deployed: ``(runs, days)`` deployed strength, all channels (people), or a
            function computing it when first asked.
        monthly: Key name → ``(runs, months)`` sums.
        dates: The simulated days.
        source: Computes a missing monthly sum (an in-memory result's digest is
            computed only as far as it is used); None when ``monthly`` is complete.
    """

    def __init__(
        self,
        deployed: FloatArray | Callable[[], FloatArray],
        monthly: dict[str, FloatArray],
        dates: pd.DatetimeIndex,
        source: Callable[[Key], FloatArray] | None = None,
    ) -> None:
        self._deployed = deployed
        self._monthly = dict(monthly)
        self._source = source
        self.dates = dates
        first, starts, days = month_index(dates)
        self.first_days = first
        self.months = starts
        self.days_in_month = days

    @property
    def deployed(self) -> FloatArray:
        """``(runs, days)`` deployed strength, all channels (people)."""
        if callable(self._deployed):
            self._deployed = self._deployed()
        return self._deployed

    def monthly(self, series: str, entity: str, category: str) -> FloatArray:
        """``(runs, months)`` sums of ``series`` over each calendar month, for one
        channel (or :data:`ALL`) and one category (people or currency per month)."""
        name = key_name((series, entity, category))
        values = self._monthly.get(name)
        if values is None:
            if self._source is None:
                raise KeyError(f"the digest holds no monthly sum {name!r}")
            values = self._source((series, entity, category))
            self._monthly[name] = values
        return values

    @property
    def runs(self) -> int:
        """Replicates."""
        return int(self.deployed.shape[0])

    def sums(self) -> dict[str, FloatArray]:
        """The monthly sums computed so far, by key name."""
        return dict(self._monthly)


class DigestCollector:
    """Builds a :class:`Digest` from the sums it is shown, in any order.

    Every producer shows it float64 ``(runs, days)`` sums (flat or not) through
    :meth:`observe`: each channel's cell, and each category summed over the channels
    in channel order, as :func:`forcegen.results.folder.compute_quantiles` and
    :meth:`Result.total` add them. It keeps only what :meth:`wants`: one daily sum and
    the monthly sums of :func:`monthly_keys` (a few MB), so it can ride along the
    quantiles' pass over every column.
    """

    def __init__(self, runs: int, dates: pd.DatetimeIndex, channels: Sequence[str]) -> None:
        self.runs = runs
        self.dates = dates
        self.first, _, _ = month_index(dates)
        self.keys = monthly_keys(channels)
        self._wanted = {key_name(k) for k in self.keys}
        self.deployed: FloatArray | None = None
        self.monthly: dict[str, FloatArray] = {}

    def wants(self, series: str, entity: str, category: str | None) -> bool:
        """Whether the sum ``(series, entity, category)`` is part of the digest."""
        if category is None:
            return False
        key = (series, entity, category)
        return key == DEPLOYED or key_name(key) in self._wanted

    def observe(self, series: str, entity: str, category: str | None, values: FloatArray) -> None:
        """Keep what the digest needs of one sum (ignored when not :meth:`wants`)."""
        if not self.wants(series, entity, category):
            return
        daily = np.asarray(values, dtype=np.float64).reshape(self.runs, len(self.dates))
        assert category is not None  # wants() said so
        if (series, entity, category) == DEPLOYED:
            self.deployed = daily.copy()
        else:
            self.monthly[key_name((series, entity, category))] = monthly_sum(daily, self.first)

    def digest(self) -> Digest:
        """The digest, once every sum it needs has been observed.

        Raises:
            StoreError: A sum was never observed (the replicate files lack a column).
        """
        missing = [key_name(k) for k in self.keys if key_name(k) not in self.monthly]
        if self.deployed is None:
            missing.insert(0, key_name(DEPLOYED))
        if missing:
            raise StoreError(f"the digest lacks the sums {', '.join(missing[:5])}")
        assert self.deployed is not None
        return Digest(self.deployed, self.monthly, self.dates)

    def feed(
        self,
        cell: Callable[[str, str, str], FloatArray],
        channels: Sequence[str],
        keys: Iterable[Key] | None = None,
    ) -> None:
        """Observe the sums ``keys`` (every sum of the digest when None), each cell read
        by ``cell(series, channel, category)`` (a float64 ``(runs, days)`` array) and
        sums over channels added in channel order, as the quantiles' pass adds them."""
        for series, entity, category in [DEPLOYED, *self.keys] if keys is None else keys:
            if entity != ALL:
                self.observe(series, entity, category, cell(series, entity, category))
                continue
            total = np.zeros((self.runs, len(self.dates)))
            for ch in channels:
                total += cell(series, ch, category)
            self.observe(series, entity, category, total)


def digest_of(result: Result) -> Digest:
    """The digest of ``result``: read from its result folder when it was loaded from
    one (and not changed since), else computed from its series as far as it is used."""
    from forcegen.results.stored import StoredSeries

    data = result.data
    if isinstance(data, StoredSeries) and data.intact and result.first_run == 0:
        return data.digest()
    runs, dates, channels = result.runs, result.dates, result.channels

    def cell(series: str, channel: str, category: str) -> FloatArray:
        return result.total(series, channels=channel, categories=category)

    def collect(key: Key) -> DigestCollector:
        collector = DigestCollector(runs, dates, channels)
        collector.feed(cell, channels, [key])
        return collector

    def source(key: Key) -> FloatArray:
        return collect(key).monthly[key_name(key)]

    def deployed() -> FloatArray:
        values = collect(DEPLOYED).deployed
        assert values is not None
        return values

    return Digest(deployed, {}, dates, source)


def summary_totals(result: Result) -> dict[str, FloatArray]:
    """The per-replicate numbers behind the summary
    (:class:`~forcegen.results.reduce.SummaryTotals` keys: people, or the scenario
    currency for ``cost_*``): read from a stored run's ``totals.parquet``, else computed
    from the series (the same numbers)."""
    from forcegen.results.reduce import SummaryTotals
    from forcegen.results.stored import StoredSeries

    data = result.data
    if isinstance(data, StoredSeries) and data.intact and result.first_run == 0:
        return data.folder.totals()
    return SummaryTotals().extract(result)


# ------------------------------------------------------------------------ files
def write_digest(digest: Digest, folder: Path, start: dt.date) -> None:
    """Write ``daily.parquet`` and ``monthly.parquet`` into ``folder``, with the
    encodings of the replicate files (:func:`forcegen.results.arrays.write_block`). A
    column whose values are all whole numbers that fit is stored as int32 (people in
    the stochastic mode: exact, delta-encoded to a fraction of the size), any other
    as float64 (money, the mean-field mode)."""
    epoch = dt.date(1970, 1, 1)
    runs, days = digest.deployed.shape
    first_day = (start - epoch).days
    day_numbers = np.arange(first_day, first_day + days, dtype=np.int32)
    daily = pa.table(
        {
            "replicate": np.repeat(np.arange(runs, dtype=np.int32), days),
            "date": pa.array(np.tile(day_numbers, runs), pa.date32()),
            key_name(DEPLOYED): _compact(digest.deployed.reshape(-1)),
        }
    )
    write_block(daily, folder / DAILY_FILE)
    months = len(digest.months)
    month_numbers = np.array([(d.date() - epoch).days for d in digest.months], dtype=np.int32)
    columns: dict[str, object] = {
        "replicate": np.repeat(np.arange(runs, dtype=np.int32), months),
        "month": pa.array(np.tile(month_numbers, runs), pa.date32()),
    }
    for name, arr in digest.sums().items():
        columns[name] = _compact(np.ascontiguousarray(arr, dtype=np.float64).reshape(-1))
    write_block(pa.table(columns), folder / MONTHLY_FILE)


def _compact(values: FloatArray) -> NDArray[np.int32] | FloatArray:
    """``values`` as int32 when that is exact, else unchanged (float64)."""
    if values.size == 0 or (
        np.abs(values).max() <= _INT32_MAX and np.array_equal(values, np.rint(values))
    ):
        return values.astype(np.int32)
    return values


def read_digest(
    folder: Path, runs: int, dates: pd.DatetimeIndex, channels: Sequence[str]
) -> Digest | None:
    """The digest stored in ``folder``, or None when it has none (a folder written by
    forcegen 0.4 before digests were kept).

    Raises:
        StoreError: The files are there but do not hold what the run needs.
    """
    daily_path, monthly_path = folder / DAILY_FILE, folder / MONTHLY_FILE
    if not (daily_path.exists() and monthly_path.exists()):
        return None
    days = len(dates)
    try:
        column = read_parquet(daily_path, [key_name(DEPLOYED)]).column(0)
        deployed = column.to_numpy().astype(np.float64)
        wanted = [key_name(k) for k in monthly_keys(channels)]
        table = read_parquet(monthly_path, wanted)
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise StoreError(f"{folder}: cannot read its digest ({exc})") from None
    months = len(month_index(dates)[0])
    if deployed.size != runs * days or table.num_rows != runs * months:
        raise StoreError(
            f"{folder}: its digest holds {deployed.size} daily and {table.num_rows} monthly "
            f"rows, expected {runs * days} and {runs * months}; the result is damaged"
        )
    monthly = {
        name: table.column(name).to_numpy().astype(np.float64).reshape(runs, months)
        for name in wanted
    }
    return Digest(deployed.reshape(runs, days), monthly, dates)


def digest_from_columns(
    read: Callable[[str], FloatArray], runs: int, dates: pd.DatetimeIndex, channels: Sequence[str]
) -> Digest:
    """The digest rebuilt from a folder's replicate columns (``read(column)`` gives one
    cell's float64 values over all replicates and days), for folders saved without one."""
    collector = DigestCollector(runs, dates, channels)

    def cell(series: str, channel: str, category: str) -> FloatArray:
        return read(f"{series}/{channel}/{category}").reshape(runs, len(dates))

    collector.feed(cell, channels)
    return collector.digest()


def columns_needed(channels: Iterable[str]) -> list[str]:
    """The replicate columns a digest is computed from."""
    chans = list(channels)
    out: list[str] = []
    for series, entity, category in [DEPLOYED, *monthly_keys(chans)]:
        for ch in chans if entity == ALL else [entity]:
            out.append(f"{series}/{ch}/{category}")
    return list(dict.fromkeys(out))
