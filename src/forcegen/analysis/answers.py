"""Answers to users' questions, computed from a :class:`~forcegen.results.result.Result`.

Pure functions, no simulation:

* :func:`time_below` — when does strength first fall below a threshold, and with what
  probability within the horizon?
* :func:`prob_hold` / :func:`prob_hold_through` — the probability that strength is at
  or above a target on a date, or on every day up to a date, with a Wilson interval
  for the Monte-Carlo error (:class:`Probability`);
* :func:`costs` — what the force costs, by kind of payment, per month, per recruit and
  per person-day in theatre, in the scenario currency or converted (:class:`Costs`).

"Strength" is the end-of-day stock summed over the chosen channels and states
(``deployed`` by default: the people in theatre). Probabilities are shares of
replicates, so with sampled parameters they include parameter uncertainty as well as
chance.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.engine.step import COST_KINDS
from forcegen.errors import UsageError
from forcegen.results.digest import digest_of
from forcegen.results.result import Result
from forcegen.results.summary import Band

__all__ = [
    "Costs",
    "DateLike",
    "Probability",
    "TimeBelow",
    "costs",
    "day_index",
    "exchange_rate",
    "normal_quantile",
    "prob_hold",
    "prob_hold_through",
    "strength_series",
    "time_below",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]
DateLike = dt.date | str | pd.Timestamp | np.datetime64
"""A day: a :class:`datetime.date`, an ISO string (``"2023-03-01"``) or a timestamp."""


# ------------------------------------------------------------------------- helpers
def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Used for the Monte-Carlo error of a probability estimated from ``trials``
    replicates; unlike the normal approximation it stays inside [0, 1] and is not
    degenerate when every replicate (or none) succeeds.

    Args:
        successes: Replicates where the event happens.
        trials: Replicates in all (> 0).
        confidence: Coverage of the interval, e.g. 0.95.

    Returns:
        ``(low, high)`` probabilities.
    """
    if trials <= 0:
        raise UsageError("a probability needs at least one replicate")
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence must be in (0, 1), got {confidence}")
    z = normal_quantile(0.5 + confidence / 2.0)
    p = successes / trials
    denom = 1.0 + z * z / trials
    centre = (p + z * z / (2.0 * trials)) / denom
    half = z * math.sqrt(p * (1.0 - p) / trials + z * z / (4.0 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


# z of the usual 95 % interval: scipy.special.ndtri(0.975) to the last bit (tested).
_Z975 = 1.959963984540054


def normal_quantile(p: float) -> float:
    """The standard normal quantile at ``p``: ``scipy.stats.norm.ppf(p)`` to the last
    bit (both are ``scipy.special.ndtri``), without importing ``scipy.stats`` (~0.6 s
    of every report's start-up) nor, for ``p = 0.975``, ``scipy.special``."""
    if p == 0.975:
        return _Z975
    from scipy.special import ndtri

    return float(ndtri(p))


class Probability(float):
    """A probability estimated as ``successes / trials`` replicates, with its Wilson
    interval for the Monte-Carlo error.

    It *is* a float (``prob_hold(...) >= 0.8`` works); the interval and counts are
    attributes.

    Attributes:
        successes: Replicates where the event happens.
        trials: Replicates in all.
        confidence: Coverage of ``low``–``high``.
        low: Lower end of the Wilson interval (probability).
        high: Upper end of the Wilson interval (probability).
    """

    successes: int
    trials: int
    confidence: float
    low: float
    high: float

    def __new__(cls, successes: int, trials: int, confidence: float = 0.95) -> Probability:
        low, high = wilson_interval(successes, trials, confidence)
        self = super().__new__(cls, successes / trials)
        self.successes = int(successes)
        self.trials = int(trials)
        self.confidence = float(confidence)
        self.low = low
        self.high = high
        return self

    def __getnewargs__(self) -> tuple[int, int, float]:  # type: ignore[override]
        # float's own __getnewargs__ returns (value,); ours must rebuild the counts.
        return (self.successes, self.trials, self.confidence)

    def __repr__(self) -> str:
        return (
            f"Probability({float(self):.3f}, {self.confidence:.0%} CI "
            f"[{self.low:.3f}, {self.high:.3f}], {self.successes}/{self.trials})"
        )

    def format(self) -> str:
        """``82 % [77–86 %]`` — the estimate and its interval, in percent."""
        return f"{float(self):.0%} [{self.low:.0%}–{self.high:.0%}]"


def day_index(result: Result, when: DateLike | None) -> int:
    """Index of the day ``when`` in the result's dates (the last day when None).

    Raises:
        UsageError: The day is not parseable or lies outside the simulated horizon.
    """
    if when is None:
        return result.scenario.horizon_days - 1
    try:
        stamp = pd.Timestamp(when).normalize()
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot read {when!r} as a date (expected YYYY-MM-DD)") from exc
    offset = (stamp.date() - result.scenario.start_date).days
    if not 0 <= offset < result.scenario.horizon_days:
        raise UsageError(
            f"{stamp.date()} is outside the simulated horizon "
            f"{result.scenario.start_date} – {result.end_date}"
        )
    return offset


def strength_series(
    result: Result,
    *,
    channels: Iterable[str] | str | None = None,
    states: Iterable[str] | str = ("deployed",),
) -> FloatArray:
    """``(run, date)`` end-of-day strength summed over ``channels`` (all when None) and
    ``states`` (people).

    Raises:
        UsageError: An unknown channel or state.
    """
    try:
        return result.total("strength", channels=channels, categories=states)
    except KeyError as exc:
        raise UsageError(str(exc.args[0]) if exc.args else str(exc)) from None


# ------------------------------------------------------------------------ time below
@dataclass(frozen=True, eq=False)
class TimeBelow:
    """When strength first falls below a threshold, replicate by replicate.

    Attributes:
        threshold: The threshold (people); "below" means strictly less.
        channels: Channels summed.
        states: States summed.
        dates: The simulated days.
        first_day: Per replicate, index of the first day strength is below the
            threshold, or -1 if it never is within the horizon.
        confidence: Coverage of :attr:`probability`'s interval.
    """

    threshold: float
    channels: tuple[str, ...]
    states: tuple[str, ...]
    dates: pd.DatetimeIndex
    first_day: NDArray[np.int64]
    confidence: float = 0.95

    @property
    def runs(self) -> int:
        """Replicates."""
        return int(self.first_day.size)

    @property
    def happens(self) -> NDArray[np.bool_]:
        """Per replicate: falls below within the horizon."""
        return self.first_day >= 0

    @property
    def first_below(self) -> pd.DatetimeIndex:
        """Per replicate, the first date below the threshold (``NaT`` if never)."""
        values = np.full(self.runs, np.datetime64("NaT"), dtype="datetime64[ns]")
        hit = self.happens
        values[hit] = self.dates.values[self.first_day[hit]]
        return pd.DatetimeIndex(values)

    @property
    def probability(self) -> Probability:
        """Probability of falling below within the horizon, with its Wilson interval."""
        return Probability(int(self.happens.sum()), self.runs, self.confidence)

    def quantiles(self, q: Sequence[float] = (0.05, 0.5, 0.95)) -> dict[float, pd.Timestamp]:
        """Quantiles of the first date below, among the replicates where it happens
        (conditional on falling below within the horizon); ``NaT`` when none does.

        Quantiles are taken on day numbers and rounded to the nearest day.
        """
        hit = self.first_day[self.happens]
        if hit.size == 0:
            return {float(x): pd.Timestamp("NaT") for x in q}
        days = np.quantile(hit.astype(np.float64), list(q))
        return {float(x): self.dates[int(np.rint(d))] for x, d in zip(q, days, strict=True)}

    @property
    def median_date(self) -> pd.Timestamp:
        """Median first date below among replicates where it happens (``NaT`` if none)."""
        return self.quantiles((0.5,))[0.5]

    @property
    def curve(self) -> pd.Series:
        """Cumulative probability of having fallen below, by date (a Kaplan–Meier
        estimate of ``1 − S(t)``).

        Every replicate is observed to the same horizon, so the only censoring is the
        common end of the horizon; the Kaplan–Meier product then reduces to the share
        of replicates whose first day below is on or before each date.
        """
        counts = np.bincount(self.first_day[self.happens], minlength=len(self.dates))
        return pd.Series(np.cumsum(counts) / self.runs, index=self.dates, name="probability below")


def time_below(
    result: Result,
    threshold: float,
    *,
    channels: Iterable[str] | str | None = None,
    states: Iterable[str] | str = ("deployed",),
    confidence: float = 0.95,
) -> TimeBelow:
    """When strength first falls below ``threshold`` people, in each replicate.

    Args:
        result: A simulated ensemble.
        threshold: Strength threshold (people); below means strictly less than it.
        channels: Channels whose strength is summed (all when None).
        states: States summed (default: deployed, i.e. in theatre).
        confidence: Coverage of the probability's Wilson interval.

    Returns:
        A :class:`TimeBelow` with the first date per replicate, the probability within
        the horizon, quantiles of the date and the cumulative probability curve.
    """
    values = strength_series(result, channels=channels, states=states)
    below = values < threshold
    first = np.where(below.any(axis=1), below.argmax(axis=1), -1).astype(np.int64)
    chosen = result.channels if channels is None else _names(channels)
    return TimeBelow(
        threshold=float(threshold),
        channels=tuple(chosen),
        states=tuple(_names(states)),
        dates=result.dates,
        first_day=first,
        confidence=confidence,
    )


# ----------------------------------------------------------------- hold probability
def prob_hold(
    result: Result,
    target: float,
    by: DateLike | None = None,
    *,
    channels: Iterable[str] | str | None = None,
    states: Iterable[str] | str = ("deployed",),
    confidence: float = 0.95,
) -> Probability:
    """Probability that strength is at least ``target`` people at the end of day ``by``
    (the last simulated day when None), with a Wilson interval for the Monte-Carlo
    error of the share of replicates.
    """
    day = day_index(result, by)
    values = strength_series(result, channels=channels, states=states)[:, day]
    return Probability(int((values >= target).sum()), result.runs, confidence)


def prob_hold_through(
    result: Result,
    target: float,
    until: DateLike | None = None,
    *,
    start: DateLike | None = None,
    channels: Iterable[str] | str | None = None,
    states: Iterable[str] | str = ("deployed",),
    confidence: float = 0.95,
) -> Probability:
    """Probability that strength is at least ``target`` people on *every* day from
    ``start`` (the first simulated day when None) through ``until`` (the last when
    None), with its Wilson interval.
    """
    first = 0 if start is None else day_index(result, start)
    last = day_index(result, until)
    if first > last:
        raise UsageError(f"start {start} is after until {until}")
    values = strength_series(result, channels=channels, states=states)[:, first : last + 1]
    held = (values >= target).all(axis=1)
    return Probability(int(held.sum()), result.runs, confidence)


# ---------------------------------------------------------------------------- costs
@dataclass(frozen=True, eq=False)
class Costs:
    """Costs of an ensemble, by month, channel and kind, in one currency.

    Monthly arrays have shape ``(run, month, channel, kind)`` and hold the sum of the
    daily amounts over the simulated days of each calendar month (the first and last
    months may be partial: see :attr:`days_in_month`).

    Attributes:
        currency: Currency of every amount here.
        scenario_currency: The scenario's currency (the engine's unit of account).
        exchange_rate: Per replicate, units of the scenario currency per unit of
            ``currency`` (all ones without conversion).
        months: First day of each calendar month simulated.
        days_in_month: Simulated days in each month.
        channels: Channel ids.
        kinds: Kinds of payment (``salary``, ``sign_up_bonus``, ``deployment_bonus``,
            ``death_compensation``, ``wound_compensation``).
        paid: Payments made ``(run, month, channel, kind)`` (currency).
        unpaid: Promised but not paid, same shape (currency).
        recruits: Per replicate, people recruited over the horizon, all channels.
        deployed_person_days: Per replicate, the sum over days of deployed strength
            (person-days in theatre).
        q: Quantiles of the bands reported.
    """

    currency: str
    scenario_currency: str
    exchange_rate: FloatArray
    months: pd.DatetimeIndex
    days_in_month: NDArray[np.int64]
    channels: tuple[str, ...]
    kinds: tuple[str, ...]
    paid: FloatArray
    unpaid: FloatArray
    recruits: FloatArray
    deployed_person_days: FloatArray
    q: tuple[float, float] = (0.05, 0.95)

    def _select(self, paid: bool, kind: str | None, channel: str | None) -> FloatArray:
        arr = self.paid if paid else self.unpaid
        if channel is not None:
            if channel not in self.channels:
                raise UsageError(f"unknown channel {channel!r}; expected one of {self.channels}")
            arr = arr[:, :, [self.channels.index(channel)]]
        if kind is not None:
            if kind not in self.kinds:
                raise UsageError(f"unknown cost kind {kind!r}; expected one of {self.kinds}")
            arr = arr[..., [self.kinds.index(kind)]]
        return np.asarray(arr.sum(axis=(2, 3)))

    def per_replicate(
        self, kind: str | None = None, *, paid: bool = True, channel: str | None = None
    ) -> FloatArray:
        """``(run,)`` totals over the horizon of one kind (all when None), paid or
        unpaid, of one channel (all when None) (currency)."""
        return np.asarray(self._select(paid, kind, channel).sum(axis=1))

    def total(
        self, kind: str | None = None, *, paid: bool = True, channel: str | None = None
    ) -> Band:
        """Band across replicates of the total over the horizon (currency)."""
        return Band.of(self.per_replicate(kind, paid=paid, channel=channel), self.q)

    def promised(self) -> Band:
        """Band of everything promised (paid plus unpaid) over the horizon (currency)."""
        return Band.of(self.per_replicate(paid=True) + self.per_replicate(paid=False), self.q)

    def by_kind(self, *, paid: bool = True) -> dict[str, Band]:
        """Kind → band of its total over the horizon (currency)."""
        return {k: self.total(k, paid=paid) for k in self.kinds}

    @property
    def per_recruit(self) -> Band:
        """Payments made per person recruited over the horizon (currency per
        recruit). Everything paid counts, including pay of the initial force, so this
        is the average cost of the force per recruit, not a marginal cost."""
        return Band.of(_ratio(self.per_replicate(), self.recruits), self.q)

    @property
    def per_deployed_person_day(self) -> Band:
        """Payments made per person-day in theatre (currency per deployed
        person-day): all payments, including those for people in training or
        recovering, divided by deployed person-days."""
        return Band.of(_ratio(self.per_replicate(), self.deployed_person_days), self.q)

    def monthly(
        self,
        kind: str | None = None,
        *,
        paid: bool = True,
        channel: str | None = None,
        q: Sequence[float] = (0.05, 0.5, 0.95),
    ) -> pd.DataFrame:
        """Quantiles across replicates of the monthly sums (currency per month), one
        row per month, one column per quantile, plus ``days`` (simulated days in the
        month)."""
        arr = self._select(paid, kind, channel)
        table = np.quantile(arr, list(q), axis=0).T
        frame = pd.DataFrame(table, index=self.months, columns=[float(x) for x in q])
        frame["days"] = self.days_in_month
        return frame

    def table(self) -> pd.DataFrame:
        """One row per kind plus ``total``: median and band of paid and unpaid totals
        (currency)."""
        rows: dict[str, dict[str, float]] = {}
        for kind in (*self.kinds, None):
            p, u = self.total(kind, paid=True), self.total(kind, paid=False)
            rows[kind or "total"] = {
                "paid_median": p.median,
                "paid_low": p.low,
                "paid_high": p.high,
                "unpaid_median": u.median,
                "unpaid_low": u.low,
                "unpaid_high": u.high,
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def exchange_rate(result: Result, currency: str) -> FloatArray:
    """Per replicate, units of the scenario currency per unit of ``currency``.

    Uses the replicate's sampled rate when the result recorded it (as the engine
    converted pay with it), else the rate parameter's mean. A series rate uses its
    first step, as the engine does.

    Raises:
        UsageError: The scenario has no rate for ``currency``.
    """
    scenario = result.scenario
    if currency == scenario.currency:
        return np.ones(result.runs)
    if currency not in scenario.exchange_rates:
        known = ", ".join(sorted(scenario.exchange_rates)) or "none"
        raise UsageError(
            f"no exchange rate for {currency!r} in scenario {scenario.name!r} "
            f"(its currency is {scenario.currency}; rates given for: {known})"
        )
    sampled = result.parameters.get(f"exchange_rates.{currency}")
    if sampled is not None:
        values = np.asarray(sampled, dtype=np.float64)
        return values if values.ndim == 1 else values[:, 0]
    mean = float(scenario.exchange_rates[currency].expected()[0])
    return np.full(result.runs, mean)


def costs(
    result: Result,
    *,
    convert_to: str | None = None,
    q: tuple[float, float] = (0.05, 0.95),
) -> Costs:
    """Costs by kind and month, per recruit and per deployed person-day.

    Args:
        result: A simulated ensemble (costs are recorded in the scenario currency).
        convert_to: Currency to report in; must be the scenario currency or one of
            ``scenario.exchange_rates`` (converted per replicate at its sampled rate,
            or at the rate's mean when it was not sampled).
        q: Quantiles of the bands.
    """
    currency = convert_to or result.scenario.currency
    rate = exchange_rate(result, currency)
    # Monthly sums per channel and kind, from the result's digest: computed from its
    # series (in memory) or read from what a stored run kept at save — the same numbers
    # (forcegen.results.digest).
    digest = digest_of(result)
    channels = result.channels

    def monthly(name: str) -> FloatArray:
        out = np.stack(
            [
                np.stack([digest.monthly(name, ch, kind) for kind in COST_KINDS], axis=-1)
                for ch in channels
            ],
            axis=2,
        )  # (run, month, channel, kind)
        return np.asarray(out / rate[:, None, None, None])

    return Costs(
        currency=currency,
        scenario_currency=result.scenario.currency,
        exchange_rate=rate,
        months=digest.months,
        days_in_month=digest.days_in_month,
        channels=tuple(channels),
        kinds=tuple(COST_KINDS),
        paid=monthly("cost"),
        unpaid=monthly("unpaid"),
        recruits=digest.monthly("inflow", "*", "recruited").sum(axis=1),
        deployed_person_days=digest.deployed.sum(axis=1),
        q=q,
    )


def _names(chosen: Iterable[str] | str) -> list[str]:
    return [chosen] if isinstance(chosen, str) else list(chosen)
