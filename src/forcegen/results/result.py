"""The Result of a simulation: labelled daily series for every replicate.

Series and their dimensions are listed in :data:`SERIES` (and in
``docs/architecture.md``); names are stable. Views: :meth:`Result.to_xarray`
(labelled arrays), :meth:`Result.to_pandas` (tidy rows), :meth:`Result.total` and
:meth:`Result.quantiles` (aggregates across replicates), :meth:`Result.summary`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.engine.step import COST_KINDS, INFLOW_KINDS, TRANSITION_KINDS, BlockOutput
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

if TYPE_CHECKING:
    import xarray as xr

    from forcegen.results.summary import Summary

__all__ = ["SERIES", "Result", "SeriesSpec"]

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
        return int(self.data["strength"].shape[0])

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
        """
        spec = SERIES[name]
        arr = self.data[name]
        entities, cats = self.labels(name)
        ent_idx = _select(entities, channels, spec.entity)
        arr = arr[:, :, ent_idx]
        if spec.category is not None:
            cat_idx = _select(cats, categories, spec.category)
            arr = arr[..., cat_idx].sum(axis=-1, dtype=np.float64)
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
        """
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
        self, series: Iterable[str] | None = None, runs: Iterable[int] | None = None
    ) -> pd.DataFrame:
        """Tidy rows ``run, date, series, channel, pool, state, cause, kind, value``.

        Only the column that applies to a series is filled (``state`` for strength,
        ``cause`` for outflow, ``kind`` for inflow/transition/cost/unpaid, ``pool`` for
        pool). Large ensembles make many rows: select ``series`` and ``runs``.
        """
        names = list(series) if series is not None else list(SERIES)
        run_idx = np.arange(self.runs) if runs is None else np.asarray(list(runs))
        frames = [self._tidy(name, run_idx) for name in names]
        return pd.concat(frames, ignore_index=True)

    def _tidy(self, name: str, run_idx: NDArray[np.int64]) -> pd.DataFrame:
        spec = SERIES[name]
        arr = self.data[name][run_idx]
        entities, cats = self.labels(name)
        shape = arr.shape
        n = arr.size
        grids = np.unravel_index(np.arange(n), shape)
        frame: dict[str, Any] = {
            "run": run_idx[grids[0]],
            "date": self.dates[grids[1]],
            "series": pd.Categorical.from_codes(np.zeros(n, dtype=np.int64), pd.Index([name])),
        }
        ent = pd.Categorical.from_codes(grids[2], pd.Index(entities))
        empty = pd.Categorical.from_codes(np.full(n, -1), pd.Index([""]))
        frame["channel"] = ent if spec.entity == "channel" else empty
        frame["pool"] = ent if spec.entity == "pool" else empty
        for col in ("state", "cause", "kind"):
            if spec.category == col:
                frame[col] = pd.Categorical.from_codes(grids[3], pd.Index(cats))
            else:
                frame[col] = empty
        frame["value"] = arr.reshape(-1)
        return pd.DataFrame(frame)

    def summary(self, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """Headline numbers: see :class:`forcegen.results.summary.Summary`."""
        from forcegen.results.summary import summarise

        return summarise(self, q)

    def _repr_html_(self) -> str:
        return self.summary().to_html()

    @property
    def end_date(self) -> dt.date:
        """Last simulated day."""
        return self.scenario.end_date


def _select(labels: list[str], chosen: Iterable[str] | str | None, what: str) -> list[int]:
    if chosen is None:
        return list(range(len(labels)))
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    missing = [n for n in names if n not in labels]
    if missing:
        raise KeyError(f"unknown {what}(s) {missing}; expected one of {labels}")
    return [labels.index(n) for n in names]
