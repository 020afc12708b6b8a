"""What each ledger row measures in a scenario, and its simulated truth.

:func:`resolve` turns ledger rows into :class:`Measurement` objects for one scenario —
days, resolved channels, offsets before the scenario's start, the observation model —
or lists why a row cannot be used (:class:`Unusable`). :class:`Truth` computes the
simulated truth of every measurement from a result: picklable, so that it can reduce
blocks on Dask workers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.observations.ledger import Ledger, LedgerRow
from forcegen.observations.mapping import (
    DAYS_PER_MONTH,
    RATE_WINDOW_DAYS,
    QuantityMap,
    QuantitySpec,
    SourceModel,
    Term,
)
from forcegen.results.result import SERIES, Result
from forcegen.scenario.model import Scenario

__all__ = [
    "DAYS_PER_YEAR",
    "DRIFT_SUFFIX",
    "Measurement",
    "Resolved",
    "ResolvedTerm",
    "Truth",
    "Unusable",
    "resolve",
]

FloatArray = NDArray[np.float64]
_Z95 = 1.6448536269514722
"""Standard normal 95 % quantile: a stated range is read as a 90 % interval."""
MIN_LOG_SD = 0.02
"""Smallest log-scale error sd, even for a tight stated range (rounding of figures)."""
DRIFT_SUFFIX = "~drift"
"""Suffix of a factor group's drift in :attr:`Resolved.groups`."""
DAYS_PER_YEAR = 365.25
"""Days of a year, for a drifting factor's years since its reference."""


@dataclass(frozen=True)
class ResolvedTerm:
    """A :class:`~forcegen.observations.mapping.Term` with ids of one scenario.

    Attributes:
        series: Output series.
        entities: Channel (pool) ids, or None for all.
        categories: Categories, or None for all.
        text: The term as written in the mapping.
    """

    series: str
    entities: tuple[str, ...] | None
    categories: tuple[str, ...] | None
    text: str


@dataclass(frozen=True)
class Measurement:
    """One usable observation: what it measures in a scenario and how it was observed.

    Attributes:
        row: The ledger row.
        spec: Its quantity's mapping.
        model: Its source model (the kind's, with the quantity's range if set).
        group: Observations with the same group share one factor: ``status:family``.
        of: Terms summed (numerator of a share).
        over: Denominator terms of a share.
        first_day: First simulated day of the period (index from the scenario start).
        last_day: Last day of the period (a stock's day).
        divisor: A rate's divisor (days, or months of 30.4375 days); 1 otherwise.
        before: ``(term, days)``: truth before the scenario's start added to a flow.
        observed: The figure in model units (a percent as a fraction).
        log_sd: Log-scale error sd (a stated range of an estimate is its 90 % interval).
        notes: What the reader should know (terms left out, assumptions used).
        years: Years (of 365.25 days) from the mapping's drift reference to the last
            day of the period: where a drifting factor is evaluated.
    """

    row: LedgerRow
    spec: QuantitySpec
    model: SourceModel
    group: str
    of: tuple[ResolvedTerm, ...]
    over: tuple[ResolvedTerm, ...]
    first_day: int
    last_day: int
    divisor: float
    before: tuple[tuple[str, int], ...]
    observed: float
    log_sd: float
    notes: tuple[str, ...] = ()
    years: float = 0.0

    @property
    def series_label(self) -> str:
        """The observed series in summaries: the row's quantity."""
        return self.row.quantity

    @property
    def factor_uncertain(self) -> bool:
        """Whether the factor is an unknown (a range, not a point)."""
        return self.model.high > self.model.low

    @property
    def drift_uncertain(self) -> bool:
        """Whether the factor's drift is an unknown (a range, not a point)."""
        return self.model.drift_high > self.model.drift_low

    @property
    def drift_group(self) -> str:
        """The unknown of the group's drift: ``status:family~drift``."""
        return self.group + DRIFT_SUFFIX


@dataclass(frozen=True)
class Unusable:
    """A ledger row that cannot be compared with the scenario, and why."""

    row: LedgerRow
    reason: str


@dataclass(frozen=True)
class Resolved:
    """A ledger resolved against one scenario.

    Attributes:
        scenario: The scenario.
        mapping: The quantity mapping used.
        ledger: The ledger.
        measurements: Usable outcome rows, in ledger order.
        unusable: Outcome rows that cannot be used, each with why.
        inputs: Rows with ``role = input`` (conditions, not observations).
    """

    scenario: Scenario
    mapping: QuantityMap
    ledger: Ledger
    measurements: tuple[Measurement, ...]
    unusable: tuple[Unusable, ...]
    inputs: tuple[LedgerRow, ...] = field(default=())

    @property
    def usable_share(self) -> float:
        """Usable outcome rows over all outcome rows."""
        total = len(self.measurements) + len(self.unusable)
        return len(self.measurements) / total if total else 0.0

    @property
    def groups(self) -> list[str]:
        """The observation model's unknowns, in order of first appearance: each factor
        group with an uncertain factor (``status:family``), and after its first row's
        factor, each group with an uncertain drift (``status:family~drift``). With no
        drift range (the default) these are the factor groups alone."""
        names: list[str] = []
        for m in self.measurements:
            if m.factor_uncertain:
                names.append(m.group)
            if m.drift_uncertain:
                names.append(m.drift_group)
        return list(dict.fromkeys(names))

    @property
    def offsets(self) -> list[str]:
        """Before-start terms used, in order of first appearance."""
        return list(dict.fromkeys(t for m in self.measurements for t, _ in m.before))

    @property
    def last_day(self) -> int:
        """Last simulated day any measurement needs."""
        return max((m.last_day for m in self.measurements), default=0)

    def subset(self, keep: Sequence[bool]) -> Resolved:
        """The same resolution with only the measurements where ``keep`` is true."""
        chosen = tuple(m for m, k in zip(self.measurements, keep, strict=True) if k)
        return Resolved(
            self.scenario, self.mapping, self.ledger, chosen, self.unusable, self.inputs
        )

    def truth(self) -> Truth:
        """The picklable reducer of these measurements' simulated truth."""
        return Truth.of(self)


def resolve(ledger: Ledger, scenario: Scenario, mapping: QuantityMap) -> Resolved:
    """What each outcome row of ``ledger`` measures in ``scenario``, or why it cannot."""
    measurements: list[Measurement] = []
    unusable: list[Unusable] = []
    for row in ledger.rows:
        if row.role != "outcome":
            continue
        result = _resolve_row(row, scenario, mapping)
        if isinstance(result, str):
            unusable.append(Unusable(row, result))
        else:
            measurements.append(result)
    return Resolved(
        scenario,
        mapping,
        ledger,
        tuple(measurements),
        tuple(unusable),
        tuple(r for r in ledger.rows if r.role == "input"),
    )


def _resolve_terms(
    terms: Sequence[Term], scenario: Scenario
) -> tuple[list[ResolvedTerm], list[str]]:
    channels = [c.id for c in scenario.channels]
    pools = [p.id for p in scenario.pools]
    out: list[ResolvedTerm] = []
    missing: list[str] = []
    for term in terms:
        ids = pools if SERIES[term.series].entity == "pool" else channels
        matched = term.match(ids)
        if matched is not None and not matched:
            missing.append(term.text)
            continue
        out.append(
            ResolvedTerm(
                term.series,
                None if matched is None else tuple(matched),
                term.categories or None,
                term.text,
            )
        )
    return out, missing


def _resolve_row(row: LedgerRow, scenario: Scenario, mapping: QuantityMap) -> Measurement | str:
    spec = mapping.quantities.get(row.quantity)
    if spec is None:
        close = difflib.get_close_matches(row.quantity, list(mapping.quantities), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"quantity {row.quantity!r} is not in the mapping {mapping.path}{hint}"
    if spec.measure == "unusable":
        return f"not modelled: {spec.why}"
    start_day, end_day = scenario.start_date, scenario.end_date
    end = row.period_end.as_end() if row.period_end is not None else row.published_date
    if spec.measure == "stock":
        first = end
    elif row.period_start is not None:
        first = row.period_start.as_start()
    elif spec.running_total:
        first = mapping.war_start
    elif spec.measure == "rate":
        first = end - dt.timedelta(days=RATE_WINDOW_DAYS - 1)
    else:
        return "a flow needs the period it covers (period_start), and this one has none"
    if end < start_day:
        return f"covers days before the scenario starts ({end} < {start_day})"
    if end > end_day:
        return f"covers days after the scenario ends ({end} > {end_day})"
    of, missing = _resolve_terms(spec.of, scenario)
    over, missing_over = _resolve_terms(spec.over, scenario)
    if not of:
        return f"{scenario.name} has no channel or pool matching {', '.join(missing)}"
    if spec.measure == "share" and not over:
        return f"{scenario.name} has no channel or pool matching {', '.join(missing_over)}"
    notes: list[str] = []
    if missing:
        notes.append(f"left out (no match in {scenario.name}): {', '.join(missing)}")
    # No war flow before the war: a period from 1 January 2022 counts from its start.
    first = max(first, mapping.war_start) if spec.measure != "stock" else first
    before: list[tuple[str, int]] = []
    if first < start_day and spec.measure in ("flow", "rate"):
        days_before = (start_day - first).days
        lacking = [t.text for t in of if t.text not in mapping.before_start]
        if lacking:
            return (
                f"starts {first}, before the scenario ({start_day}), and the mapping states "
                f"no truth before the start for {', '.join(lacking)}"
            )
        before = [(t.text, days_before) for t in of]
        notes.append(
            f"adds an assumed {days_before} days before the scenario's start "
            f"({', '.join(t.text for t in of)})"
        )
    elif first < start_day:
        notes.append(f"share over the simulated part of the period only (from {start_day})")
    period_days = (end - first).days + 1
    divisor = 1.0
    if spec.measure == "rate":
        divisor = period_days if spec.per == "day" else period_days / DAYS_PER_MONTH
    scale = 0.01 if row.unit.lower() in ("percent", "%") else 1.0
    model = mapping.model_for(row.verification, spec)
    log_sd = model.log_sd
    if model.kind == "estimate" and row.low is not None and row.high is not None:
        log_sd = max(math.log(row.high / row.low) / (2 * _Z95), MIN_LOG_SD)
    return Measurement(
        row=row,
        spec=spec,
        model=model,
        group=f"{row.verification}:{spec.family}",
        of=tuple(of),
        over=tuple(over),
        first_day=max((first - start_day).days, 0),
        last_day=(end - start_day).days,
        divisor=divisor,
        before=tuple(before),
        observed=row.value * scale,
        log_sd=log_sd,
        notes=tuple(notes),
        years=(end - mapping.drift_from).days / DAYS_PER_YEAR,
    )


@dataclass(frozen=True)
class Truth:
    """Simulated truth of measurements: a picklable reducer of results.

    Call :meth:`flows` on a result (or a block's view) for the part that the simulation
    gives, then :meth:`finish` with the before-start rates to get the truth.
    """

    terms: tuple[ResolvedTerm, ...]
    kinds: tuple[str, ...]  # per measurement: stock, flow, rate, share
    of_index: tuple[tuple[int, ...], ...]
    over_index: tuple[tuple[int, ...], ...]
    first: NDArray[np.int64]
    last: NDArray[np.int64]
    divisor: FloatArray
    before_days: FloatArray  # (n, offsets): days before the start per offset term
    offsets: tuple[str, ...]

    @classmethod
    def of(cls, resolved: Resolved) -> Truth:
        """The reducer of ``resolved``'s measurements."""
        terms: list[ResolvedTerm] = []
        for m in resolved.measurements:
            for t in (*m.of, *m.over):
                if t not in terms:
                    terms.append(t)
        offsets = resolved.offsets
        before = np.zeros((len(resolved.measurements), len(offsets)))
        for i, m in enumerate(resolved.measurements):
            for text, days in m.before:
                before[i, offsets.index(text)] = days
        ms = resolved.measurements
        return cls(
            terms=tuple(terms),
            kinds=tuple(m.spec.measure for m in ms),
            of_index=tuple(tuple(terms.index(t) for t in m.of) for m in ms),
            over_index=tuple(tuple(terms.index(t) for t in m.over) for m in ms),
            first=np.array([m.first_day for m in ms], dtype=np.int64),
            last=np.array([m.last_day for m in ms], dtype=np.int64),
            divisor=np.array([m.divisor for m in ms], dtype=np.float64),
            before_days=before,
            offsets=tuple(offsets),
        )

    @property
    def n(self) -> int:
        """Number of measurements."""
        return len(self.kinds)

    def flows(self, result: Result) -> FloatArray:
        """``(runs, n, 2)``: the simulated numerator and denominator of each
        measurement (flows summed over the period, or stocks on the day; the
        denominator is 1 except for shares)."""
        runs = result.runs
        out = np.zeros((runs, self.n, 2))
        out[:, :, 1] = 1.0
        cumulative: dict[int, FloatArray] = {}
        stocks: dict[int, FloatArray] = {}
        for k, term in enumerate(self.terms):
            daily = result.total(term.series, channels=term.entities, categories=term.categories)
            if SERIES[term.series].unit.endswith("per day"):
                cumulative[k] = np.concatenate([np.zeros((runs, 1)), np.cumsum(daily, axis=1)], 1)
            else:
                stocks[k] = daily
        for i, kind in enumerate(self.kinds):
            a, b = int(self.first[i]), int(self.last[i])

            def total(indices: tuple[int, ...], a: int = a, b: int = b) -> FloatArray:
                s = np.zeros(runs)
                for k in indices:
                    if k in stocks:
                        s = s + stocks[k][:, b]
                    else:
                        s = s + cumulative[k][:, b + 1] - cumulative[k][:, a]
                return s

            out[:, i, 0] = total(self.of_index[i])
            if kind == "share":
                out[:, i, 1] = total(self.over_index[i])
        return out

    def finish(self, flows: FloatArray, rates: FloatArray | None = None) -> FloatArray:
        """``(runs, n)`` truth from :meth:`flows` and the before-start daily rates
        ``(runs, offsets)`` (people a day; None when there are no offsets)."""
        num = flows[:, :, 0].copy()
        if rates is not None and self.offsets:
            num = num + rates @ self.before_days.T
        truth = num / self.divisor
        share = np.array([k == "share" for k in self.kinds])
        if share.any():
            den = flows[:, share, 1]
            with np.errstate(divide="ignore", invalid="ignore"):
                truth[:, share] = np.where(den > 0, num[:, share] / den, 0.0)
        return np.asarray(truth, dtype=np.float64)
