"""The numbers the explorer shows, from results: bands, monthly flows, answers.

Pure functions of :class:`~forcegen.results.result.Result` objects (a mean-field
trajectory, an ensemble, a pinned baseline); the page (:mod:`forcegen.explore.app`)
only draws them. Units: people, people per month, the scenario's currency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.analysis.answers import Probability, day_index
from forcegen.analysis.basis import AnswerBasis, below_outcomes, hold_outcomes, screen
from forcegen.results.result import Result

__all__ = [
    "BAND_QUANTILES",
    "Answer",
    "Bands",
    "answer",
    "bands",
    "deployed",
    "monthly",
    "paired_difference",
]

FloatArray = NDArray[np.float64]

BAND_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The fan: 90 % band (5–95 %), 50 % band (25–75 %) and the median."""


@dataclass(frozen=True)
class Bands:
    """Quantiles across replicates by date.

    Attributes:
        dates: The days.
        q: Quantile → one value per day (:data:`BAND_QUANTILES`).
    """

    dates: pd.DatetimeIndex
    q: dict[float, FloatArray]


def deployed(result: Result, channel: str | None = None) -> FloatArray:
    """Deployed strength ``(run, date)`` of one channel, or all when None (people)."""
    return result.total("strength", channels=channel, categories="deployed")


def bands(values: FloatArray, dates: pd.DatetimeIndex) -> Bands:
    """The fan of ``values`` ``(run, date)``."""
    table = np.quantile(values, BAND_QUANTILES, axis=0)
    return Bands(dates, {q: table[i] for i, q in enumerate(BAND_QUANTILES)})


def paired_difference(current: Result, baseline: Result, channel: str | None = None) -> Bands:
    """The fan of ``current − baseline`` deployed strength, replicate by replicate:
    with common random numbers (same seed), replicate *k* of both saw the same chance,
    so the spread is what the change does, not sampling noise between two runs.

    Raises:
        ValueError: The two differ in replicates or days (not pairable).
    """
    a, b = deployed(current, channel), deployed(baseline, channel)
    if a.shape != b.shape:
        raise ValueError(
            f"cannot pair {a.shape[0]} replicates × {a.shape[1]} days with "
            f"{b.shape[0]} × {b.shape[1]}"
        )
    return bands(a - b, current.dates)


def monthly(result: Result, series: str, by: str) -> pd.DataFrame:
    """Mean across replicates of a flow summed by calendar month: rows are months
    (their first day), columns the channels (``by="channel"``) or the categories
    (``by="category"``); ``series`` is ``inflow`` (recruited only) or ``outflow``
    (people per month)."""
    kinds = "recruited" if series == "inflow" else None
    entities, cats = result.labels(series)
    names = entities if by == "channel" else [c for c in cats if series != "inflow" or c == kinds]
    columns: dict[str, FloatArray] = {}
    for name in names:
        if by == "channel":
            values = result.total(series, channels=name, categories=kinds)
        else:
            values = result.total(series, categories=name)
        columns[name] = values.mean(axis=0)
    # Summed by month with numpy (a pandas group-by took ~30 ms a chart).
    dates = result.dates
    month = (dates.year.to_numpy() - dates.year[0]) * 12 + dates.month.to_numpy()
    codes, inverse = np.unique(month, return_inverse=True)
    firsts = np.searchsorted(month, codes)  # days are in order: a month's first day
    index = pd.DatetimeIndex(dates[firsts].to_period("M").to_timestamp())
    sums = {
        name: np.bincount(inverse, weights=values, minlength=len(codes))
        for name, values in columns.items()
    }
    return pd.DataFrame(sums, index=index, columns=list(columns))


def cumulative_cost(result: Result) -> FloatArray:
    """Paid cost from the start through each day ``(run, date)`` (scenario currency)."""
    return np.cumsum(result.total("cost"), axis=1)


@dataclass(frozen=True)
class Answer:
    """One question answered over an ensemble.

    Attributes:
        text: The question (``deployed strength falls below 100,000 people``).
        probability: Share of replicates where it happens, with its Wilson interval.
        basis: The inputs the answer rests on (:mod:`forcegen.analysis.basis`).
    """

    text: str
    probability: Probability
    basis: AnswerBasis


def answer(
    result: Result, *, below: float | None = None, hold: float | None = None, by: dt.date | None
) -> Answer:
    """``below``: probability that deployed strength falls below ``below`` people
    within the horizon; ``hold``: that it is at least ``hold`` people on ``by`` (the
    last day when None). Exactly one of ``below`` and ``hold`` is given.

    Raises:
        UsageError: ``by`` outside the simulated days.
        ValueError: Neither or both of ``below`` and ``hold``.
    """
    if (below is None) == (hold is None):
        raise ValueError("give exactly one of below and hold")
    if below is not None:
        outcomes = below_outcomes(result, below)
        text = f"deployed strength falls below {below:,.0f} people by {result.end_date}"
    else:
        assert hold is not None
        day = day_index(result, by)
        outcomes = hold_outcomes(result, hold, day)
        text = f"at least {hold:,.0f} people deployed on {result.dates[day].date()}"
    hits = int(outcomes.sum())
    return Answer(text, Probability(hits, result.runs), screen(result).basis(outcomes))


def first_below(result: Result, threshold: float) -> dt.date | None:
    """First day the mean trajectory (replicate 0) is below ``threshold``, or None."""
    values = deployed(result)[0]
    below = np.flatnonzero(values < threshold)
    return None if below.size == 0 else result.dates[int(below[0])].date()
