"""The Result of a simulation: labelled daily series for every replicate.

Series and their dimensions are listed in :data:`SERIES` (and in
``docs/architecture.md``); names are stable. Views: :meth:`Result.to_xarray`
(labelled arrays), :meth:`Result.to_pandas` (tidy rows), :meth:`Result.total` and
:meth:`Result.quantiles` (aggregates across replicates), :meth:`Result.summary`.
Answers, figures and reports, as the command line gives them: :meth:`Result.time_below`,
:meth:`Result.prob_hold`, :meth:`Result.costs`, :meth:`Result.plot` and
:meth:`Result.report` (they delegate to :mod:`forcegen.analysis` and
:mod:`forcegen.report`, imported when called: results sit below them).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.engine.step import COST_KINDS, INFLOW_KINDS, TRANSITION_KINDS, BlockOutput
from forcegen.errors import UsageError
from forcegen.results.stored import StoredSeries
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

if TYPE_CHECKING:
    from pathlib import Path

    import xarray as xr
    from matplotlib.figure import Figure

    from forcegen.analysis.answers import Costs, Probability, TimeBelow
    from forcegen.results.summary import Summary

__all__ = [
    "DEFAULT_MAX_ROWS",
    "LATER_LABELS",
    "SERIES",
    "TIDY_COLUMNS",
    "Result",
    "Selection",
    "SeriesSpec",
    "TidyBlock",
    "check_date",
    "check_names",
    "check_rows",
    "tidy_frame",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SeriesSpec:
    """Dimensions of one output series after ``run`` and ``date``.

    Attributes:
        unit: Unit of the values (``people``, ``people per day``, ``currency per day``).
        entity: ``"channel"`` or ``"pool"`` — what the third dimension indexes.
        category: Name of the fourth dimension (``state``, ``kind``, ``cause``) or None.
        labels: Labels along the fourth dimension.
        description: One line for docs and reports.
    """

    unit: str
    entity: str
    category: str | None
    labels: tuple[str, ...]
    description: str


SERIES: dict[str, SeriesSpec] = {
    "strength": SeriesSpec(
        "people", "channel", "state", STATES, "End-of-day stock by channel and state"
    ),
    "inflow": SeriesSpec(
        "people per day", "channel", "kind", INFLOW_KINDS, "People joining each channel"
    ),
    "outflow": SeriesSpec(
        "people per day", "channel", "cause", EXIT_CAUSES, "People leaving, by cause"
    ),
    "transition": SeriesSpec(
        "people per day",
        "channel",
        "kind",
        TRANSITION_KINDS,
        "Moves inside a channel (deployed, wounded, returned, renewed) and evaders",
    ),
    "pool": SeriesSpec("people", "pool", None, (), "End-of-day eligible people per pool"),
    "cost": SeriesSpec("currency per day", "channel", "kind", COST_KINDS, "Payments actually made"),
    "unpaid": SeriesSpec(
        "currency per day", "channel", "kind", COST_KINDS, "Promised but not paid"
    ),
}


LATER_LABELS: frozenset[str] = frozenset(
    {"absent", "prosecuted", "rejoined", "called", "mobilised", "converted"}
)
"""Category labels added after stores of earlier versions were written (the ``absent``
state; the transition kinds of absence, mobilisation and conscription): such stores have no data for
them, which were zero then, and read them as zeros."""


DEFAULT_MAX_ROWS = 20_000_000
"""Most rows :meth:`Result.to_pandas` (and exports of replicates) make unless told
otherwise. A tidy row has 9 columns: ``run`` (int64), ``date`` (datetime64), six
Categorical label columns of one-byte codes and ``value`` (float64 when series are
mixed): 30.0 bytes per row measured for the built-in scenario, with a peak of 32.8
bytes per row while building (the frame plus one series' selected values). The bound
is therefore about 0.6 GB of frame: comfortable on a laptop, while the whole
1,000-replicate, three-year ensemble of the built-in scenario (162.1 million rows since
0.5.0 added the `absent` state and five transition kinds; about 4.9 GB) is refused with
a message naming the filters to use."""

_PANDAS_FILTERS = "series=, runs=, channels=, start=/end=, or pass max_rows=None to lift the bound"

# Every label a tidy column can hold, in a fixed order: the categories of the label
# columns, so that frames of different selections have the same dtypes.
_KINDS = tuple(dict.fromkeys((*INFLOW_KINDS, *TRANSITION_KINDS, *COST_KINDS)))
_CATEGORY_LABELS = {"state": STATES, "cause": EXIT_CAUSES, "kind": _KINDS}
TIDY_COLUMNS = ("run", "date", "series", "channel", "pool", "state", "cause", "kind", "value")
"""Columns of the tidy rows of :meth:`Result.to_pandas`, in order."""


@dataclass(frozen=True)
class Selection:
    """What :meth:`Result.to_pandas` filters select, as indices (see
    :meth:`Result.selection`).

    Attributes:
        series: Series names, in the order asked.
        runs: Replicate indices.
        days: Day indices (0 is the start date), a contiguous range.
        entities: Series → indices of its selected channels (or pools); may be empty.
        categories: Series → length of its category dimension (1 when it has none).
    """

    series: tuple[str, ...]
    runs: NDArray[np.int64]
    days: slice
    entities: dict[str, list[int]]
    categories: dict[str, int]

    @property
    def n_days(self) -> int:
        """Number of selected days."""
        return int(self.days.stop - self.days.start)

    def rows_of(self, name: str, periods: int | None = None) -> int:
        """Tidy rows of one series: replicates × days (or ``periods``) × entities ×
        categories."""
        days = self.n_days if periods is None else periods
        return len(self.runs) * days * len(self.entities[name]) * self.categories[name]

    @property
    def rows(self) -> int:
        """Tidy rows the selection makes (daily)."""
        return sum(self.rows_of(name) for name in self.series)


@dataclass(frozen=True)
class TidyBlock:
    """One series' values to turn into tidy rows.

    Attributes:
        name: Series name.
        values: Array ``(run, date, entity[, category])`` in the series' unit.
        runs: Replicate index of each row of ``values``.
        dates: Date label of each column of ``values``.
        entities: Channel (or pool) id along the third axis.
    """

    name: str
    values: NDArray[Any]
    runs: NDArray[np.int64]
    dates: pd.DatetimeIndex
    entities: Sequence[str]


def check_rows(
    rows: int, max_rows: int | None, what: str, filters: str, *, in_memory: bool = True
) -> None:
    """Refuse with :class:`UsageError` when ``rows`` exceeds ``max_rows`` (None: no
    bound); the message gives the count, the memory it would take when the rows are
    built ``in_memory`` (a file streamed in blocks does not), and the ``filters`` to use."""
    if max_rows is not None and rows > max_rows:
        size = rows * _BYTES_PER_ROW
        memory = f"{size / 1e9:,.1f} GB" if size >= 1e9 else f"{size / 1e6:,.0f} MB"
        held = f" (about {memory} in memory)" if in_memory else ""
        raise UsageError(
            f"{what} would make {rows:,} rows{held}, more than the "
            f"{max_rows:,} allowed; select fewer with {filters}"
        )


# Bytes of one tidy row in memory (see DEFAULT_MAX_ROWS), for the refusal's message.
_BYTES_PER_ROW = 30


def tidy_frame(
    blocks: Iterable[TidyBlock],
    rows: int,
    channels: Sequence[str],
    pools: Sequence[str],
    dtype: np.dtype[Any] | type[Any] = np.float64,
) -> pd.DataFrame:
    """Tidy rows (:data:`TIDY_COLUMNS`) of ``blocks``, which must hold ``rows`` values in
    all, with values of ``dtype``; row order is block, run, date, entity, category.

    Every column is allocated once at its final size and filled block by block through
    broadcasting, so building costs the frame itself plus one block (no index grids,
    no concatenation).
    """
    cats: dict[str, list[str]] = {
        "series": list(SERIES),
        "channel": list(channels),
        "pool": list(pools),
        **{k: list(v) for k, v in _CATEGORY_LABELS.items()},
    }
    run = np.empty(rows, dtype=np.int64)
    date: NDArray[Any] | None = None
    codes = {col: np.full(rows, -1, dtype=_code_dtype(len(c))) for col, c in cats.items()}
    values = np.empty(rows, dtype=dtype)
    at = 0
    for block in blocks:
        spec = SERIES[block.name]
        arr = block.values
        nr, nd, ne = arr.shape[:3]
        nc = arr.shape[3] if arr.ndim == 4 else 1
        n = arr.size
        if at + n > rows:
            raise ValueError(f"blocks hold more than the {rows} values announced")
        part = slice(at, at + n)
        dates = block.dates.to_numpy()
        if date is None:
            date = np.empty(rows, dtype=dates.dtype)
        run[part].reshape(nr, nd * ne * nc)[:] = block.runs[:, None]
        date[part].reshape(nr, nd, ne * nc)[:] = dates[None, :, None]
        codes["series"][part] = cats["series"].index(block.name)
        ent_codes = np.array([cats[spec.entity].index(e) for e in block.entities])
        codes[spec.entity][part].reshape(nr * nd, ne, nc)[:] = ent_codes[None, :, None]
        if spec.category is not None:
            col = spec.category
            cat_codes = np.array([cats[col].index(c) for c in spec.labels])
            codes[col][part].reshape(nr * nd * ne, nc)[:] = cat_codes[None, :]
        values[part] = arr.reshape(-1)
        at += n
    if at != rows:
        raise ValueError(f"blocks hold {at} values, expected {rows}")
    frame: dict[str, Any] = {
        "run": run,
        "date": date if date is not None else np.empty(0, dtype="datetime64[s]"),
    }
    for col, labels in cats.items():
        frame[col] = pd.Categorical.from_codes(codes[col], pd.Index(labels), validate=False)
    frame["value"] = values
    return pd.DataFrame(frame, columns=list(TIDY_COLUMNS), copy=False)


def _code_dtype(n: int) -> type[np.signedinteger[Any]]:
    # The code width pandas itself picks for n categories, so from_codes keeps ours.
    if n < np.iinfo(np.int8).max:
        return np.int8
    if n < np.iinfo(np.int16).max:
        return np.int16
    return np.int32


def check_names(chosen: Iterable[str] | str, labels: Sequence[str], what: str) -> list[str]:
    """``chosen`` (one name or several) as a list, or :class:`UsageError` naming the
    unknown ones and the valid ``labels``."""
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    missing = [n for n in names if n not in labels]
    if missing:
        raise UsageError(
            f"unknown {what} {', '.join(map(repr, missing))}; expected one of {', '.join(labels)}"
        )
    return names


def check_date(
    value: dt.date | str | None, first: dt.date, last: dt.date, what: str
) -> dt.date | None:
    """``value`` (a date, datetime or ISO string) as a date within ``first`` … ``last``
    (inclusive), None for None; :class:`UsageError` otherwise, saying why. ``what``
    names the value in the message (``start``, ``--from``)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            raise UsageError(f"{what} date {value!r} is not a date like 2022-08-31") from None
    if not first <= day <= last:
        raise UsageError(f"{what} date {day} is outside the run, which covers {first} to {last}")
    return day


@dataclass
class Result:
    """Daily series of a simulated ensemble, with everything needed to reproduce it.

    Attributes:
        scenario: The scenario simulated.
        scenario_hash: Hash of the validated scenario (sha256 hex).
        seed: Seed of the run.
        version: forcegen version that produced it.
        mode: ``"stochastic"`` or ``"mean-field"``.
        sample_parameters: Whether uncertain parameters were sampled per replicate.
        data: Series name → array ``(run, date, entity[, category])``.
        parameters: Parameter name → values per replicate ``(run,)`` or ``(run, steps)``,
            for every uncertain parameter.
        elapsed_seconds: Wall time of the simulation.
        first_run: Index in the ensemble of this result's first replicate: 0, except
            for the view of one block that reducers see (see ``results.reduce``).
    """

    scenario: Scenario
    scenario_hash: str
    seed: int
    version: str
    mode: str
    sample_parameters: bool
    data: dict[str, NDArray[Any]]
    parameters: dict[str, FloatArray] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    first_run: int = 0

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_blocks(cls, outputs: Sequence[BlockOutput], runs: int, **meta: Any) -> Result:
        """Concatenate block outputs (in block order) and keep the first ``runs``."""
        data = {
            name: np.concatenate([getattr(o, name) for o in outputs], axis=0)[:runs]
            for name in SERIES
        }
        return cls(data=data, **meta)

    # -- labels --------------------------------------------------------------------------
    @property
    def runs(self) -> int:
        """Number of replicates."""
        if isinstance(self.data, StoredSeries):
            return self.data.runs  # without reading a series
        # Any series will do: a result loaded with only some series (Store.load(...,
        # series=...)) may lack strength.
        return int(next(iter(self.data.values())).shape[0])

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Simulated days (each value is that day's end-of-day state)."""
        return pd.date_range(self.scenario.start_date, periods=self.scenario.horizon_days)

    @property
    def channels(self) -> list[str]:
        """Channel ids, in scenario order."""
        return [c.id for c in self.scenario.channels]

    @property
    def pools(self) -> list[str]:
        """Pool ids, in scenario order."""
        return [p.id for p in self.scenario.pools]

    def labels(self, name: str) -> tuple[list[str], list[str]]:
        """Labels of the entity and category dimensions of a series."""
        spec = SERIES[name]
        entities = self.channels if spec.entity == "channel" else self.pools
        return entities, list(spec.labels)

    # -- selections and aggregates ------------------------------------------------------
    def total(
        self,
        name: str = "strength",
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
    ) -> NDArray[np.float64]:
        """``(run, date)`` sums of a series over the chosen channels (or pools) and
        categories (states, kinds or causes); all of them when None.

        Example: deployed strength of two channels:
        ``result.total("strength", channels=["contract", "prisoners"], categories="deployed")``.

        Deployed strength of all channels of a stored run comes from its digest
        (:mod:`forcegen.results.digest`; the same numbers), without reading a series.
        """
        stored = self._stored()
        if stored is not None and _is_deployed_total(name, channels, categories, self.channels):
            deployed: NDArray[np.float64] = stored.digest().deployed.copy()
            return deployed
        spec = SERIES[name]
        arr = self.data[name]
        entities, cats = self.labels(name)
        ent_idx = _select(entities, channels, spec.entity)
        # Views, not copies, for the common selections (all, or one label): fancy
        # indexing copied the whole series before summing. Same sums, same order.
        arr = arr[:, :, _as_index(ent_idx)]
        if spec.category is not None:
            cat_idx = _select(cats, categories, spec.category)
            arr = arr[..., _as_index(cat_idx)].sum(axis=-1, dtype=np.float64)
        elif categories is not None:
            raise KeyError(f"series {name!r} has no categories")
        return np.asarray(arr.sum(axis=2, dtype=np.float64))

    def quantiles(
        self,
        name: str = "strength",
        q: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        cumulative: bool = False,
    ) -> pd.DataFrame:
        """Quantiles across replicates of :meth:`total`, one row per date, one column per q.

        With ``cumulative=True`` the daily values are summed over time first (for flows).
        For a stored run, read from the quantiles computed at save when they hold the
        selection (:meth:`ResultFolder.quantiles
        <forcegen.results.folder.ResultFolder.quantiles>`; the same numbers).
        """
        stored = self._stored()
        if stored is not None:
            frame = stored.folder.quantiles(
                name, q, channels=channels, categories=categories, cumulative=cumulative
            )
            frame.index = self.dates  # the same days, in this method's index type
            return frame
        values = self.total(name, channels=channels, categories=categories)
        if cumulative:
            values = np.cumsum(values, axis=1)
        table = np.quantile(values, q, axis=0).T
        return pd.DataFrame(table, index=self.dates, columns=[float(x) for x in q])

    # -- views --------------------------------------------------------------------------
    def to_xarray(self) -> xr.Dataset:
        """All series as one labelled :class:`xarray.Dataset` (dims ``run``, ``date``,
        ``channel`` or ``pool_id``, and ``state``/``cause``/``<series>_kind``).

        The pools' dimension is ``pool_id`` because ``pool`` names the series itself.
        """
        import xarray as xr

        variables: dict[str, Any] = {}
        coords: dict[str, Any] = {
            "run": np.arange(self.runs),
            "date": self.dates,
            "channel": self.channels,
            "pool_id": self.pools,
        }
        for name, spec in SERIES.items():
            dims = ["run", "date", "channel" if spec.entity == "channel" else "pool_id"]
            if spec.category is not None:
                dim = spec.category if spec.category != "kind" else f"{name}_kind"
                dims.append(dim)
                coords[dim] = list(spec.labels)
            variables[name] = (dims, self.data[name], {"units": spec.unit})
        attrs = {
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario_hash,
            "seed": self.seed,
            "forcegen_version": self.version,
            "mode": self.mode,
            "sample_parameters": int(self.sample_parameters),
        }
        return xr.Dataset(variables, coords=coords, attrs=attrs)

    def to_pandas(
        self,
        series: Iterable[str] | str | None = None,
        runs: Iterable[int] | None = None,
        *,
        channels: Iterable[str] | str | None = None,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        max_rows: int | None = DEFAULT_MAX_ROWS,
    ) -> pd.DataFrame:
        """Tidy rows ``run, date, series, channel, pool, state, cause, kind, value``.

        Only the column that applies to a series is filled (``state`` for strength,
        ``cause`` for outflow, ``kind`` for inflow/transition/cost/unpaid, ``pool`` for
        pool); the others are missing. Label columns are pandas Categoricals whose
        categories are every label of the run (so frames of several calls concatenate
        without turning into strings; group with ``observed=True``). Values are in the
        unit of each series (:data:`SERIES`: people, people per day, currency per day).

        Args:
            series: Series names (all of :data:`SERIES` when None).
            runs: Replicate indices, ``0 … runs − 1`` (all when None).
            channels: Channel or pool ids (all when None); a series keeps the ids it has,
                so ``channels="contract"`` gives no ``pool`` rows.
            start: First date kept (inclusive), a :class:`datetime.date` or ISO string.
            end: Last date kept (inclusive).
            max_rows: Refuse (:class:`~forcegen.errors.UsageError`) to make more rows
                than this, before allocating anything; None lifts the bound. See
                :data:`DEFAULT_MAX_ROWS`.
        """
        sel = self.selection(series, runs, channels=channels, start=start, end=end)
        check_rows(sel.rows, max_rows, "to_pandas", _PANDAS_FILTERS)
        # The dtype pd.concat of the series' frames would give (int32 counts stay int32).
        kept = [n for n in sel.series if sel.entities[n]]
        dtype = np.result_type(*[self.data[n].dtype for n in kept]) if kept else np.float64
        return tidy_frame(self._blocks(sel), sel.rows, self.channels, self.pools, dtype)

    def selection(
        self,
        series: Iterable[str] | str | None = None,
        runs: Iterable[int] | None = None,
        *,
        channels: Iterable[str] | str | None = None,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
    ) -> Selection:
        """Check filters as :meth:`to_pandas` takes them and return the indices they
        select (nothing is copied). Bad names, replicates or dates raise
        :class:`~forcegen.errors.UsageError` with the valid choices."""
        names = list(SERIES) if series is None else check_names(series, list(SERIES), "series")
        if runs is None:
            run_idx = np.arange(self.runs, dtype=np.int64)
        else:
            run_idx = np.asarray(list(runs), dtype=np.int64).reshape(-1)
            bad = run_idx[(run_idx < 0) | (run_idx >= self.runs)]
            if bad.size:
                raise UsageError(
                    f"no replicate {int(bad[0])}: this result has replicates 0 to {self.runs - 1}"
                )
        known = [*self.channels, *self.pools]
        ids = None if channels is None else set(check_names(channels, known, "channel or pool"))
        entities = {}
        for name in names:
            labels = self.labels(name)[0]
            entities[name] = [i for i, e in enumerate(labels) if ids is None or e in ids]
        first = self.scenario.start_date
        lo = check_date(start, first, self.end_date, "start")
        hi = check_date(end, first, self.end_date, "end")
        lo_day = 0 if lo is None else (lo - first).days
        hi_day = self.scenario.horizon_days - 1 if hi is None else (hi - first).days
        if lo_day > hi_day:
            raise UsageError(f"the start date {lo} is after the end date {hi}")
        return Selection(
            series=tuple(names),
            runs=run_idx,
            days=slice(lo_day, hi_day + 1),
            entities=entities,
            categories={n: len(SERIES[n].labels) or 1 for n in names},
        )

    def _blocks(self, sel: Selection) -> Iterator[TidyBlock]:
        # One series at a time: the copy of its selected values lives only while its
        # rows are filled in.
        dates = self.dates[sel.days]
        for name in sel.series:
            ent = sel.entities[name]
            if not ent:
                continue
            values = self.data[name][sel.runs][:, sel.days][:, :, ent]
            labels = [self.labels(name)[0][i] for i in ent]
            yield TidyBlock(name, values, sel.runs, dates, labels)

    def summary(self, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """Headline numbers: see :class:`forcegen.results.summary.Summary` (for a stored
        run, from the per-replicate totals computed at save)."""
        from forcegen.results.summary import summarise

        stored = self._stored()
        if stored is not None:
            return stored.folder.summary(q)

        return summarise(self, q)

    def _repr_html_(self) -> str:
        return self.summary().to_html()

    # -- answers, figures, report (imported when called: they sit above results) --------
    def time_below(
        self,
        threshold: float,
        *,
        channels: Iterable[str] | str | None = None,
        states: Iterable[str] | str = ("deployed",),
        confidence: float = 0.95,
    ) -> TimeBelow:
        """When strength first falls below ``threshold`` people, replicate by replicate
        (``forcegen ask --below N``).

        Args:
            threshold: Strength threshold (people); below means strictly less.
            channels: Channels summed (all when None).
            states: States summed (default: deployed, the people in theatre).
            confidence: Coverage of the probability's Wilson interval.

        Returns:
            A :class:`~forcegen.analysis.answers.TimeBelow`: ``.probability`` of falling
            below within the horizon, ``.quantiles()`` of the first date, ``.curve``.
        """
        from forcegen.analysis.answers import time_below

        return time_below(self, threshold, channels=channels, states=states, confidence=confidence)

    def prob_hold(
        self,
        target: float,
        by: dt.date | str | None = None,
        *,
        through: bool = False,
        start: dt.date | str | None = None,
        channels: Iterable[str] | str | None = None,
        states: Iterable[str] | str = ("deployed",),
        confidence: float = 0.95,
    ) -> Probability:
        """Probability that strength is at least ``target`` people on ``by`` (the last
        simulated day when None), or with ``through=True`` on every day from ``start``
        (the first day when None) through ``by`` (``forcegen ask --hold N --by DATE
        [--through]``).

        Returns:
            A :class:`~forcegen.analysis.answers.Probability`: a float (share of
            replicates) with ``.low``/``.high`` (Wilson interval) and counts.
        """
        from forcegen.analysis.answers import prob_hold, prob_hold_through

        if through:
            return prob_hold_through(
                self,
                target,
                until=by,
                start=start,
                channels=channels,
                states=states,
                confidence=confidence,
            )
        if start is not None:
            raise UsageError("start applies with through=True (every day from start to by)")
        return prob_hold(
            self, target, by=by, channels=channels, states=states, confidence=confidence
        )

    def costs(
        self, *, convert_to: str | None = None, q: tuple[float, float] = (0.05, 0.95)
    ) -> Costs:
        """Costs by kind and month, per recruit and per deployed person-day, in the
        scenario currency or ``convert_to`` (one of its exchange rates).

        Returns:
            A :class:`~forcegen.analysis.answers.Costs` (``.total()``, ``.by_kind()``,
            ``.monthly()``, ``.table()``; currency).
        """
        from forcegen.analysis.answers import costs

        return costs(self, convert_to=convert_to, q=q)

    def plot(self, kind: str = "fan", *, currency: str | None = None) -> Figure:
        """One figure of the result as a matplotlib :class:`~matplotlib.figure.Figure`
        (``forcegen plot --kind KIND``); save it with ``fig.savefig(path)``.

        Args:
            kind: ``fan`` (strength bands), ``inflows``, ``outflows``, ``losses``,
                ``cost`` or ``pools`` (see ``forcegen.report.figures.FIGURES``).
            currency: For ``kind="cost"``: report in this currency (one of the
                scenario's exchange rates).

        Raises:
            UsageError: An unknown kind, or a currency for another kind.
        """
        from forcegen.report import figures

        if kind not in figures.FIGURES:
            close = difflib.get_close_matches(kind, list(figures.FIGURES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"unknown figure kind {kind!r}{hint} (kinds: {', '.join(figures.FIGURES)})"
            )
        if currency is not None:
            if kind != "cost":
                raise UsageError("currency applies to kind='cost' only")
            return figures.cost_chart(self, convert_to=currency)
        return figures.FIGURES[kind](self)

    def report(
        self,
        path: str | Path,
        *,
        below: Sequence[float] | None = None,
        hold: float | None = None,
        by: dt.date | str | None = None,
        force: bool = False,
    ) -> Path:
        """Write the self-contained HTML report (``forcegen report``) and return its
        path. ``below``, ``hold`` and ``by`` are the headline questions (people, a
        date), as ``--below``/``--hold``/``--by``; by default the scenario's own
        ``questions:``, else 75 % and 50 % of the initial deployed strength.
        An existing file is replaced only when it is a forcegen report, or ``force``.
        """
        from forcegen.report.html import questions_for, write_report

        asked = questions_for(self.scenario, below=below, hold=hold, by=by)
        return write_report(self, path, questions=asked, force=force)

    @property
    def end_date(self) -> dt.date:
        """Last simulated day."""
        return self.scenario.end_date

    def _stored(self) -> StoredSeries | None:
        """The stored series this result reads from, while the stored summaries still
        describe it (a whole run, unchanged); else None."""
        data = self.data
        if isinstance(data, StoredSeries) and data.intact and self.first_run == 0:
            return data
        return None


def _is_deployed_total(
    name: str,
    channels: Iterable[str] | str | None,
    categories: Iterable[str] | str | None,
    all_channels: list[str],
) -> bool:
    """Whether a :meth:`Result.total` selection is deployed strength of every channel
    (summed in scenario order), the daily sum a digest keeps."""
    # Only lists and tuples are looked into: a generator must reach total() unused.
    if name != "strength" or not isinstance(categories, str | list | tuple):
        return False
    if ([categories] if isinstance(categories, str) else list(categories)) != ["deployed"]:
        return False
    return channels is None or (
        isinstance(channels, list | tuple) and list(channels) == all_channels
    )


def _as_index(idx: list[int]) -> slice | list[int]:
    """``idx`` as a slice when it is a contiguous increasing run (a view), else as is."""
    if idx and idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def _select(labels: list[str], chosen: Iterable[str] | str | None, what: str) -> list[int]:
    if chosen is None:
        return list(range(len(labels)))
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    missing = [n for n in names if n not in labels]
    if missing:
        raise KeyError(f"unknown {what}(s) {missing}; expected one of {labels}")
    return [labels.index(n) for n in names]
