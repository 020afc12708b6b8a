"""Streaming reductions: summarise huge ensembles block by block, in bounded memory.

A :class:`~forcegen.results.result.Result` keeps every series for every replicate:
about 120 bytes per channel, replicate and day (a 4-channel, 3-year ensemble of
10,000 replicates is ~5 GB). To run 100,000 replicates, blocks are instead *reduced*
as they finish and then dropped (see :func:`forcegen.distributed.run_reduced`).

A reducer works in two halves, so that only small parts cross the network when blocks
run on Dask workers:

* :meth:`Reducer.extract` runs where the block was simulated (a worker, or this
  process) and turns the block's replicates into a small, picklable *part*;
* :meth:`Reducer.add` runs in the calling process and stores the part at the
  replicates' positions.

Parts are stored **per replicate** (never summed in arrival order), so the reduced
numbers do not depend on which block finishes first, on the number of workers or on
chunking — and they equal what the in-memory :class:`Result` gives for the same seed,
bit for bit (tested).

Reducers here:

* :class:`DailyTotals` — one ``(run, date)`` total of a series (e.g. deployed strength),
  stored as ``int32`` for people in the stochastic mode: 100,000 replicates × 1,095
  days = 438 MB. Gives :meth:`DailyTotals.quantiles`, equal to :meth:`Result.quantiles`.
* :class:`StrengthQuantiles` — :class:`DailyTotals` of deployed strength.
* :class:`SummaryTotals` — the per-replicate scalars behind :class:`Summary`
  (~20 numbers per replicate); :meth:`SummaryTotals.summary` equals
  :meth:`Result.summary`.
* :class:`ParameterValues` — the sampled parameter values per replicate, as
  :attr:`Result.parameters` holds them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.engine.simulate import BlockRun
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import UsageError
from forcegen.results.result import SERIES, Result
from forcegen.results.summary import Band, Summary
from forcegen.scenario.model import EXIT_CAUSES, Scenario

__all__ = [
    "DailyTotals",
    "ParameterValues",
    "Reducer",
    "RunInfo",
    "StrengthQuantiles",
    "SummaryTotals",
    "block_view",
    "summary_of",
]

FloatArray = NDArray[np.float64]

_INT32_MAX = int(np.iinfo(np.int32).max)
# Dates per slice when computing quantiles: bounds the float64 temporary to
# runs × 64 × 8 bytes (51 MB for 100,000 replicates) instead of runs × days × 8.
_DATE_SLICE = 64


@dataclass(frozen=True)
class RunInfo:
    """What a reducer needs to know about the ensemble it reduces.

    Attributes:
        scenario: The scenario simulated.
        scenario_hash: Its hash (see :func:`forcegen.scenario.load.scenario_hash`).
        runs: Number of replicates kept (the last block may be partly discarded).
        seed: Seed of the run.
        mode: ``"stochastic"`` or ``"mean-field"``.
        sample_parameters: Whether uncertain parameters were sampled.
        version: forcegen version.
        parameter_names: Parameters recorded per replicate (those
            :attr:`Result.parameters` would hold), sorted.
    """

    scenario: Scenario
    scenario_hash: str
    runs: int
    seed: int
    mode: str
    sample_parameters: bool
    version: str
    parameter_names: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        """Simulated days."""
        return self.scenario.horizon_days

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Simulated dates, as :attr:`Result.dates`."""
        return pd.date_range(self.scenario.start_date, periods=self.scenario.horizon_days)


def block_view(info: RunInfo, run: BlockRun) -> Result:
    """The replicates of ``run`` that belong to the ensemble, as a :class:`Result`.

    The arrays are views of the block's (no copy); the last block of an ensemble whose
    size is not a multiple of ``BLOCK_SIZE`` is cut to the replicates kept.
    """
    keep = min(BLOCK_SIZE, info.runs - run.block * BLOCK_SIZE)
    if keep <= 0:
        raise ValueError(f"block {run.block} is beyond the {info.runs} replicates")
    data = {name: getattr(run.output, name)[:keep] for name in SERIES}
    parameters = {
        name: run.parameters.values[name][:keep]
        for name in info.parameter_names
        if name in run.parameters.values
    }
    return Result(
        scenario=info.scenario,
        scenario_hash=info.scenario_hash,
        seed=info.seed,
        version=info.version,
        mode=info.mode,
        sample_parameters=info.sample_parameters,
        data=data,
        parameters=parameters,
        first_run=run.block * BLOCK_SIZE,
    )


class Reducer(ABC):
    """Folds replicate blocks into per-replicate summaries, in any order.

    Lifecycle: :meth:`begin` once (allocates storage for ``info.runs`` replicates),
    then for each block :meth:`extract` (possibly in another process, on a copy of the
    reducer made before :meth:`begin`) and :meth:`add` here. A reducer is picklable
    while empty, which is how it is shipped to workers.
    """

    info: RunInfo | None = None

    def begin(self, info: RunInfo) -> None:
        """Prepare to receive ``info.runs`` replicates; subclasses allocate here."""
        self.info = info

    @abstractmethod
    def extract(self, view: Result) -> Any:
        """The small part of one block this reducer keeps (runs where the block ran).

        Args:
            view: The block's replicates (see :func:`block_view`).
        """

    @abstractmethod
    def add(self, first_run: int, part: Any) -> None:
        """Store a part whose first replicate is ``first_run``."""

    def _info(self) -> RunInfo:
        if self.info is None:
            raise RuntimeError(f"{type(self).__name__} has not been started (begin)")
        return self.info


class DailyTotals(Reducer):
    """Per-replicate daily totals of one series, as :meth:`Result.total` gives them.

    Stored as ``int32`` when the series counts people in the stochastic mode (exact;
    storage widens to ``int64`` if a total ever exceeds 2**31 − 1), else ``float64``.

    Args:
        name: Series name (``strength``, ``inflow``, ``outflow``, ...).
        channels: Channels (or pools) summed; all when None.
        categories: States, kinds or causes summed; all when None.
    """

    def __init__(
        self,
        name: str = "strength",
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
    ) -> None:
        if name not in SERIES:
            raise UsageError(f"unknown series {name!r}; expected one of {sorted(SERIES)}")
        self.name = name
        self.channels = _frozen(channels)
        self.categories = _frozen(categories)
        self.values: NDArray[Any] = np.zeros((0, 0), dtype=np.int32)

    def begin(self, info: RunInfo) -> None:
        """Allocate ``(runs, days)`` storage."""
        super().begin(info)
        integer = info.mode == "stochastic" and SERIES[self.name].unit.startswith("people")
        self.values = np.zeros((info.runs, info.days), dtype=np.int32 if integer else np.float64)

    def extract(self, view: Result) -> NDArray[Any]:
        """``(replicates, days)`` totals; ``int32`` for people when they fit."""
        total = view.total(self.name, channels=self.channels, categories=self.categories)
        if view.mode == "stochastic" and SERIES[self.name].unit.startswith("people"):
            # Integers stored in float64 are exact; ship them at half the size.
            dtype = np.int32 if total.size == 0 or total.max() <= _INT32_MAX else np.int64
            return total.astype(dtype)
        return total

    def add(self, first_run: int, part: NDArray[Any]) -> None:
        """Place the block's rows."""
        if part.dtype.itemsize > self.values.dtype.itemsize and part.dtype.kind == "i":
            self.values = self.values.astype(part.dtype)
        self.values[first_run : first_run + part.shape[0]] = part

    def total(self) -> FloatArray:
        """``(runs, days)`` totals as float64, exactly as :meth:`Result.total`."""
        return self.values.astype(np.float64)

    def quantiles(
        self,
        q: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
        *,
        cumulative: bool = False,
    ) -> pd.DataFrame:
        """Quantiles across replicates by date, equal to :meth:`Result.quantiles` with
        the same series, channels and categories (``cumulative`` sums over time first).

        Computed a slice of dates at a time so the float64 temporary stays small.
        """
        info = self._info()
        runs, days = self.values.shape
        table = np.empty((days, len(q)))
        carry = np.zeros(runs)
        for lo in range(0, days, _DATE_SLICE):
            part = self.values[:, lo : lo + _DATE_SLICE].astype(np.float64)
            if cumulative:
                # cumsum adds day by day, so carrying the running total over slices
                # gives the very same float64 sums as one cumsum over all days.
                part[:, 0] += carry
                part = np.cumsum(part, axis=1)
                carry = part[:, -1].copy()
            table[lo : lo + part.shape[1]] = np.quantile(part, q, axis=0).T
        return pd.DataFrame(table, index=info.dates, columns=[float(x) for x in q])

    @property
    def nbytes(self) -> int:
        """Memory held (bytes)."""
        return int(self.values.nbytes)


class StrengthQuantiles(DailyTotals):
    """Deployed strength per replicate and date (all channels unless given): the input
    of strength bands, time-below-threshold and hold probabilities.

    100,000 replicates × 1,095 days take 438 MB (``int32``).
    """

    def __init__(self, *, channels: Iterable[str] | str | None = None) -> None:
        super().__init__("strength", channels=channels, categories="deployed")


class SummaryTotals(Reducer):
    """The per-replicate numbers behind :class:`~forcegen.results.summary.Summary`.

    Keeps about ``5 + 2·channels + 10`` float64 per replicate (1.6 MB per 10,000
    replicates of a 4-channel scenario). Mirrors
    :func:`forcegen.results.summary.summarise`; a test checks they agree exactly.
    """

    def __init__(self) -> None:
        self.values: dict[str, FloatArray] = {}

    def begin(self, info: RunInfo) -> None:
        """Allocate one vector per quantity."""
        super().begin(info)
        self.values = {key: np.zeros(info.runs) for key in self._keys(info.scenario)}

    @staticmethod
    def _keys(scenario: Scenario) -> list[str]:
        channels = [c.id for c in scenario.channels]
        return [
            "strength_start",
            "strength_end",
            "in_service_end",
            *(f"strength_end/{ch}" for ch in channels),
            *(f"recruits/{ch}" for ch in channels),
            *(f"losses/{cause}" for cause in EXIT_CAUSES),
            "cost_paid",
            "cost_unpaid",
        ]

    def extract(self, view: Result) -> dict[str, FloatArray]:
        """Per-replicate quantities of one block (same arithmetic as ``summarise``)."""
        deployed = view.total("strength", categories="deployed")
        part = {
            "strength_start": deployed[:, 0],
            "strength_end": deployed[:, -1],
            "in_service_end": view.total("strength")[:, -1],
        }
        for ch in view.channels:
            deployed_ch = view.total("strength", channels=ch, categories="deployed")
            part[f"strength_end/{ch}"] = deployed_ch[:, -1]
            recruited = view.total("inflow", channels=ch, categories="recruited")
            part[f"recruits/{ch}"] = recruited.sum(axis=1)
        for cause in EXIT_CAUSES:
            part[f"losses/{cause}"] = view.total("outflow", categories=cause).sum(axis=1)
        part["cost_paid"] = view.total("cost").sum(axis=1)
        part["cost_unpaid"] = view.total("unpaid").sum(axis=1)
        return {key: np.ascontiguousarray(v) for key, v in part.items()}

    def add(self, first_run: int, part: dict[str, FloatArray]) -> None:
        """Place the block's values."""
        for key, v in part.items():
            self.values[key][first_run : first_run + v.shape[0]] = v

    def summary(self, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """The :class:`Summary`, equal to :meth:`Result.summary` for the same run."""
        info = self._info()
        return summary_of(self.values, info.scenario, info.runs, info.mode, info.seed, q)

    @property
    def nbytes(self) -> int:
        """Memory held (bytes)."""
        return sum(int(v.nbytes) for v in self.values.values())


class ParameterValues(Reducer):
    """Sampled parameter values per replicate, as :attr:`Result.parameters` holds them
    (the inputs of sensitivity analysis on a streamed ensemble)."""

    def __init__(self) -> None:
        self.values: dict[str, FloatArray] = {}

    def extract(self, view: Result) -> dict[str, FloatArray]:
        """The block's parameter values."""
        return {name: np.ascontiguousarray(v) for name, v in view.parameters.items()}

    def add(self, first_run: int, part: dict[str, FloatArray]) -> None:
        """Place the block's values (storage is allocated on the first part)."""
        runs = self._info().runs
        for name, v in part.items():
            if name not in self.values:
                self.values[name] = np.zeros((runs, *v.shape[1:]), dtype=v.dtype)
            self.values[name][first_run : first_run + v.shape[0]] = v


def summary_of(
    values: dict[str, FloatArray],
    scenario: Scenario,
    runs: int,
    mode: str,
    seed: int,
    q: tuple[float, float] = (0.05, 0.95),
) -> Summary:
    """The :class:`Summary` of per-replicate totals keyed as :class:`SummaryTotals`
    keeps them (people, or scenario currency for ``cost_*``)."""
    v = values
    channels = [c.id for c in scenario.channels]
    return Summary(
        scenario=scenario.name,
        runs=runs,
        mode=mode,
        seed=seed,
        end_date=str(scenario.end_date),
        q=q,
        strength_start=Band.of(v["strength_start"], q),
        strength_end=Band.of(v["strength_end"], q),
        in_service_end=Band.of(v["in_service_end"], q),
        strength_end_by_channel={ch: Band.of(v[f"strength_end/{ch}"], q) for ch in channels},
        recruits_by_channel={ch: Band.of(v[f"recruits/{ch}"], q) for ch in channels},
        losses_by_cause={c: Band.of(v[f"losses/{c}"], q) for c in EXIT_CAUSES},
        cost_paid=Band.of(v["cost_paid"], q),
        cost_unpaid=Band.of(v["cost_unpaid"], q),
        currency=scenario.currency,
    )


def _frozen(value: Iterable[str] | str | None) -> tuple[str, ...] | str | None:
    # A tuple, not the caller's iterable: a generator would be used up after one block.
    if value is None or isinstance(value, str):
        return value
    return tuple(value)
