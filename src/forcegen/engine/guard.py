"""Runtime guards: a simulated block never leaves what the engine can represent.

The scenario checks bound every input (:mod:`forcegen.scenario.bounds`), but values
given in code (``Sim(given=...)``: solvers, sensitivity analysis) are not checked, and
a guard costs little. So:

* every day, before the day's counts are recorded in 32 bits, each stock, pool and
  flow is checked to be a count from 0 to 2**31 − 1 (:func:`check_day`, called by the
  step; ~1 % of its time);
* after the block, every money figure is checked to be finite and not negative, and in
  the mean-field mode every count too (:func:`check_block`).

A breach raises :class:`OutOfRangeError` inside the engine; :func:`explain` turns it into a
:class:`SimulationError` (a user error: exit 2, nothing stored) that names the
scenario fields the figure comes from, largest first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.sampling import ParameterSet
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import ForcegenError
from forcegen.scenario.bounds import COUNT_LIMIT, people_sources
from forcegen.scenario.model import EXIT_CAUSES, STATES, TRANSITION_KINDS, ChangePay, Scenario

__all__ = ["OutOfRangeError", "SimulationError", "check_block", "check_day", "explain"]

# Day scratch layout of the people counts of one channel (see step.simulate_block).
COUNT_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("strength", STATES),
    ("inflow", ("recruited", "transferred")),
    ("outflow", EXIT_CAUSES),
    ("transition", TRANSITION_KINDS),
)
_PAY_FIELDS = {
    "salary": ("salary_per_month",),
    "sign_up_bonus": ("sign_up_bonus_federal", "sign_up_bonus_regional"),
    "deployment_bonus": ("deployment_bonus",),
    "death_compensation": ("death_compensation",),
    "wound_compensation": ("wound_compensation",),
}
_MEAN_FIELD_SLACK = 1e-6
"""Mean-field counts are real numbers: rounding may leave -1e-12, not -1e-6 × scale."""


class SimulationError(ForcegenError):
    """A simulation went outside what forcegen can count or price; nothing is kept."""


@dataclass
class OutOfRangeError(Exception):
    """Where a block first left the representable range.

    Attributes:
        series: Output series (``strength``, ``pool``, ``cost``, ...).
        entity: Channel or pool index.
        category: Category index within the series (-1 for pools).
        day: Day index.
        replicate: Replicate within the block.
        value: The offending value.
    """

    series: str
    entity: int
    category: int
    day: int
    replicate: int
    value: float


def check_day(counts: NDArray[Any], pools: NDArray[Any], day: int) -> None:
    """Raise :class:`OutOfRangeError` unless every count of the day ``(R, C, 26)`` and every
    pool ``(R, P)`` is a whole number from 0 to :data:`COUNT_LIMIT`."""
    for name, arr in (("counts", counts), ("pool", pools)):
        if arr.size and (arr.min() < 0 or arr.max() > COUNT_LIMIT):
            where = np.argwhere((arr < 0) | (arr > COUNT_LIMIT))[0]
            value = float(arr[tuple(where)])
            if name == "pool":
                raise OutOfRangeError("pool", int(where[1]), -1, day, int(where[0]), value)
            series, category = _count_column(int(where[2]))
            raise OutOfRangeError(series, int(where[1]), category, day, int(where[0]), value)


def _count_column(column: int) -> tuple[str, int]:
    for series, labels in COUNT_COLUMNS:
        if column < len(labels):
            return series, column
        column -= len(labels)
    raise AssertionError(column)  # pragma: no cover


def check_block(arrays: dict[str, NDArray[Any]], *, integer: bool) -> None:
    """Raise :class:`OutOfRangeError` at the first money figure that is not finite or is
    negative, and (mean-field mode) at the first count that is; ``arrays`` maps series
    names to ``(R, T, entity[, category])`` arrays."""
    names = ["cost", "unpaid"] if integer else list(arrays)
    for name in names:
        arr = arrays[name]
        scale = float(np.abs(arr).max(initial=0.0)) if np.isfinite(arr).all() else 0.0
        floor = -_MEAN_FIELD_SLACK * max(scale, 1.0) if name not in ("cost", "unpaid") else 0.0
        bad = ~np.isfinite(arr) | (arr < floor)
        if bad.any():
            where = np.argwhere(bad)[0]
            category = int(where[3]) if arr.ndim == 4 else -1
            value = float(arr[tuple(where)])
            raise OutOfRangeError(
                name, int(where[2]), category, int(where[1]), int(where[0]), value
            )


def explain(
    breach: OutOfRangeError, scenario: Scenario, params: ParameterSet, block: int
) -> SimulationError:
    """The user's error for ``breach``: what went wrong, where, and which scenario
    fields (with the largest values this block drew for them) it comes from."""
    date = scenario.start_date + dt.timedelta(days=breach.day)
    replicate = block * BLOCK_SIZE + breach.replicate
    if not np.isfinite(breach.value):
        state = f"is {breach.value} on {date} (replicate {replicate})"
    elif breach.value < 0:
        state = f"became negative ({breach.value:,.0f}) on {date} (replicate {replicate})"
    else:
        state = (
            f"reached {breach.value:,.0f} on {date} (replicate {replicate}), beyond the "
            f"{COUNT_LIMIT:,} a 32-bit count holds"
        )
    fields = _fields(breach, scenario, params)
    listed = "; ".join(f"{name} (up to {_num(value)} in this block)" for name, value in fields)
    message = (
        f"the simulation left what forcegen can count: {_describe(breach, scenario)} "
        f"{state}. It comes from {listed or 'the scenario'}; lower "
        f"{'it' if len(fields) == 1 else 'them'} (docs/scenarios.md, Bounds). Nothing was kept."
    )
    return SimulationError(message)


def _num(value: float) -> str:
    return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:.3g}"


def _describe(breach: OutOfRangeError, scenario: Scenario) -> str:
    if breach.series == "pool":
        return f"pool '{scenario.pools[breach.entity].id}'"
    channel = scenario.channels[breach.entity].id
    if breach.series in ("cost", "unpaid"):
        kind = list(_PAY_FIELDS)[breach.category]
        paid = "paid" if breach.series == "cost" else "unpaid"
        return f"the {paid} {kind.replace('_', ' ')} cost of channel '{channel}'"
    labels = dict(COUNT_COLUMNS)[breach.series]
    category = labels[breach.category] if breach.category >= 0 else ""
    return f"the {breach.series} '{category}' of channel '{channel}'"


def _fields(
    breach: OutOfRangeError, scenario: Scenario, params: ParameterSet
) -> list[tuple[str, float]]:
    """Parameter names behind the breached figure, largest (drawn) value first."""
    days = scenario.horizon_days
    if breach.series in ("cost", "unpaid"):
        ch = scenario.channels[breach.entity]
        kind = list(_PAY_FIELDS)[breach.category]
        names = [f"channels.{ch.id}.pay.{f}" for f in _PAY_FIELDS[kind]]
        names += [
            f"events.{k}.{f}"
            for k, ev in enumerate(scenario.events)
            if isinstance(ev, ChangePay) and ev.channel == ch.id
            for f in _PAY_FIELDS[kind]
            if getattr(ev, f, None) is not None
        ]
        if ch.pay.currency not in (None, scenario.currency):
            names.append(f"exchange_rates.{ch.pay.currency}")
        return _ranked(names, params, per_day=set(), days=days)
    sources = people_sources(scenario)
    if breach.series == "pool":
        chosen = [s for s in sources if s.entity == ("pool", breach.entity)]
    else:
        ch = scenario.channels[breach.entity]
        pools = {p.id: i for i, p in enumerate(scenario.pools)}
        chosen = [
            s
            for s in sources
            if s.entity == ("channel", breach.entity)
            or (ch.pool in pools and s.entity == ("pool", pools[ch.pool]))
        ]
    per_day = {s.name for s in sources if s.name.endswith("_per_day")}
    ranked = _ranked([s.name for s in chosen], params, per_day=per_day, days=days)
    return [r for r in ranked if r[1] > 0] or _ranked(
        [s.name for s in sources], params, per_day=per_day, days=days
    )[:3]


def _ranked(
    names: list[str], params: ParameterSet, *, per_day: set[str], days: int
) -> list[tuple[str, float]]:
    """``(name, largest value drawn)`` by contribution (per-day values over the
    horizon), largest first; those under 1 % of the largest are left out."""
    found = [(n, float(np.max(params.values[n]))) for n in names if n in params.values]

    def weight(nv: tuple[str, float]) -> float:
        return abs(nv[1]) * (days if nv[0] in per_day else 1)

    found.sort(key=weight, reverse=True)
    return [nv for nv in found if weight(nv) >= 0.01 * weight(found[0])] if found else []
