"""Upper bounds on what a scenario may ask of the engine, and why (the table in
``docs/scenarios.md``, "Bounds").

Each bound follows from how the engine counts:

* **People** are whole numbers in the stochastic mode, recorded per replicate, day and
  cell as 32-bit integers (``int32``, at most 2,147,483,647). Nobody enters a
  simulation except through an initial force, a pool (initially, replenished or
  widened), or the series recruits, mobilisation waves and conscription call-ups of a
  channel without a pool;
  so the sum of those, over the horizon, bounds every stock, pool and daily flow. It
  must not exceed :data:`MAX_PEOPLE`, under half the ``int32`` range: the rest is room
  for chance (daily arrivals are Poisson; a Poisson total of mean 1e9 has a standard
  deviation of 31,623). Totals over time (cumulative flows) are summed in 64 bits.
* **Money** per person is at most :data:`MAX_MONEY` in the scenario currency, after
  conversion. Costs are recorded in 32-bit floats (up to 3.4e38): a billion people paid
  1e15 a day stay 14 orders of magnitude below that, and sums are 64-bit.
* **Durations** are whole days of at most :data:`MAX_DAYS` (the longest horizon); a
  channel's age structure has one slot per day of service kept apart.
* **Multipliers** are at most :data:`MAX_MULTIPLIER`; a daily probability times every
  multiplier stays finite (the engine caps the sum of exit probabilities at 1).
* **Dates** lie within :data:`FIRST_DATE` … :data:`LAST_DATE`, the whole simulated
  period included.

Values are checked on the largest a replicate can draw: the distribution's support, or
for an unbounded tail its :data:`SAMPLED_QUANTILE` quantile, the most extreme quantile
the sampler uses.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from forcegen.scenario.model import (
    MobilisationWave,
    Scenario,
    SeriesEnlistment,
    WidenEligibility,
)
from forcegen.scenario.params import Distribution, Param

__all__ = [
    "COUNT_LIMIT",
    "FIRST_DATE",
    "LAST_DATE",
    "MAX_ARRIVAL_EVASION",
    "MAX_DAYS",
    "MAX_EXCHANGE_RATE",
    "MAX_MONEY",
    "MAX_MULTIPLIER",
    "MAX_PEOPLE",
    "SAMPLED_QUANTILE",
    "PeopleSource",
    "largest",
    "people_sources",
    "sampled_support",
]

COUNT_LIMIT = int(np.iinfo(np.int32).max)
"""Largest count a stored cell holds (people per replicate, day and cell)."""
MAX_PEOPLE = 1_000_000_000
"""Most people who can enter one replicate over the whole horizon (see the module)."""
MAX_MONEY = 1e15
"""Largest money amount per person (one-off or per month), in the scenario currency."""
MAX_EXCHANGE_RATE = 1e15
"""Largest exchange rate (units of the scenario currency per unit of another)."""
MAX_DAYS = 36_500
"""Longest duration (term, training, minimum service, recovery, call-up), in days."""
MAX_MULTIPLIER = 1e6
"""Largest hazard multiplier (per channel, per service interval, calendar intensity)."""
FIRST_DATE = dt.date(1900, 1, 1)
"""Earliest date a scenario may simulate or date a step of a series."""
LAST_DATE = dt.date(2200, 12, 31)
"""Latest date a scenario may simulate, date a series step or a claim's publication."""
MAX_ARRIVAL_EVASION = 0.99
"""Largest evasion share of a wave whose size counts arrivals: it calls
``size / (1 − evasion)`` people, at most a hundred times its size."""
SAMPLED_QUANTILE = 1e-9
"""The sampler draws quantiles in ``[q, 1 - q]``: an unbounded tail reaches no further."""


def sampled_support(dist: Distribution) -> tuple[float, float]:
    """Smallest and largest value a replicate can draw from ``dist``: its support, with
    an infinite bound replaced by the :data:`SAMPLED_QUANTILE` (or ``1 - q``) quantile."""
    low, high = dist.support
    if math.isinf(low) and dist.is_uncertain:
        low = float(dist.ppf(np.array([SAMPLED_QUANTILE]))[0])
    if math.isinf(high) and dist.is_uncertain:
        high = float(dist.ppf(np.array([1.0 - SAMPLED_QUANTILE]))[0])
    return low, high


def largest(param: Param) -> float:
    """The largest value any replicate can draw for ``param`` (over its series steps)."""
    return max(sampled_support(d)[1] for d in param.distributions)


@dataclass(frozen=True)
class PeopleSource:
    """One way people enter a replicate, and the most it can bring over the horizon.

    Attributes:
        path: Positional path of the parameter (``("pools", 0, "initial_people")``).
        name: Readable parameter name (``pools.men.initial_people``).
        people: Largest number of people it can bring in over the horizon.
        entity: ``("channel", i)`` or ``("pool", i)``: where those people go first.
    """

    path: tuple[str | int, ...]
    name: str
    people: float
    entity: tuple[str, int]


def people_sources(scenario: Scenario) -> list[PeopleSource]:
    """Every source of people of ``scenario`` (see the module docstring), with the most
    each can bring in over the horizon: initial forces, pools (initial, replenished
    every day, widened), and the series recruits, waves and call-ups of channels
    without a pool.
    Unknown pool references count as pools (they are reported elsewhere)."""
    days = scenario.horizon_days
    out: list[PeopleSource] = []
    for i, ch in enumerate(scenario.channels):
        for state in ("training", "deployed", "recovering"):
            param = getattr(ch.initial, state)
            out.append(
                PeopleSource(
                    ("channels", i, "initial", state),
                    f"channels.{ch.id}.initial.{state}",
                    max(largest(param), 0.0),
                    ("channel", i),
                )
            )
        if ch.pool is None and isinstance(ch.enlistment, SeriesEnlistment):
            out.append(
                PeopleSource(
                    ("channels", i, "enlistment", "recruits_per_day"),
                    f"channels.{ch.id}.enlistment.recruits_per_day",
                    max(largest(ch.enlistment.recruits_per_day), 0.0) * days,
                    ("channel", i),
                )
            )
        if ch.pool is None and ch.conscription is not None:
            for k, call in enumerate(ch.conscription.call_ups):
                out.append(
                    PeopleSource(
                        ("channels", i, "conscription", "call_ups", k, "people"),
                        f"channels.{ch.id}.conscription.call_ups.{k}.people",
                        max(largest(call.people), 0.0),
                        ("channel", i),
                    )
                )
    channel_index = {ch.id: i for i, ch in enumerate(scenario.channels)}
    pool_index = {p.id: i for i, p in enumerate(scenario.pools)}
    for i, pool in enumerate(scenario.pools):
        out.append(
            PeopleSource(
                ("pools", i, "initial_people"),
                f"pools.{pool.id}.initial_people",
                max(largest(pool.initial_people), 0.0),
                ("pool", i),
            )
        )
        out.append(
            PeopleSource(
                ("pools", i, "replenish_per_day"),
                f"pools.{pool.id}.replenish_per_day",
                max(largest(pool.replenish_per_day), 0.0) * days,
                ("pool", i),
            )
        )
    for k, ev in enumerate(scenario.events):
        if isinstance(ev, WidenEligibility) and ev.pool in pool_index:
            out.append(
                PeopleSource(
                    ("events", k, "add_people"),
                    f"events.{k}.add_people",
                    max(largest(ev.add_people), 0.0),
                    ("pool", pool_index[ev.pool]),
                )
            )
        if isinstance(ev, MobilisationWave) and ev.channel in channel_index:
            c = channel_index[ev.channel]
            if scenario.channels[c].pool is None:
                calls = 1.0
                if ev.size_counts == "arrivals":
                    # Evasion raises the calls (an evasion share over its bound is
                    # reported by the checks).
                    calls = 1.0 / (1.0 - min(largest(ev.evasion_share), MAX_ARRIVAL_EVASION))
                out.append(
                    PeopleSource(
                        ("events", k, "size_people"),
                        f"events.{k}.size_people",
                        max(largest(ev.size_people), 0.0) * calls,
                        ("channel", c),
                    )
                )
    return out
