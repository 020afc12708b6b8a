"""Conscription channels: call-ups, undeployed service, conversion to contract.

A ``kind: conscription`` channel is compiled as a fixed-term channel whose term is
``conscription.service_days`` and whose "renewal" at term end is conversion into the
contract channel ``convert_into`` with probability ``conversion_at_term_end``
(:func:`effective_channel`): term end, transfers and their records are the general
machinery's. This module adds what is particular to conscripts:

* **call-ups** (:func:`call_up`): ``people`` inducted evenly over ``duration_days``,
  no voluntary enlistment;
* **undeployed service** (:func:`service_training_days`): conscripts who may not be
  deployed serve their whole term in the non-deployed part of the age structure (the
  ``training`` state: in service, no exit hazards, never graduating);
* **conversion during service** (:func:`convert_in_service`): each conscript in
  service (not recovering) whose service age is at least ``conversion_from_day``
  signs a contract with daily probability ``conversion_per_day``, and joins
  ``convert_into`` as a transfer;
* conscripts are never held by stop-loss (their term is fixed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.draws import Array, Draws
from forcegen.scenario.model import Channel
from forcegen.scenario.params import Param

if TYPE_CHECKING:
    from forcegen.engine.compile import ChannelPlan, Schedule

__all__ = [
    "CallUpPlan",
    "ConscriptionPlan",
    "call_up",
    "conscription_plan",
    "convert_in_service",
    "effective_channel",
    "service_training_days",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CallUpPlan:
    """One call-up for a block: ``people`` inducted evenly over ``duration`` days from
    ``start_day`` (negative: begun before the start, continuing)."""

    start_day: int
    people: FloatArray
    duration: IntArray


@dataclass(frozen=True)
class ConscriptionPlan:
    """A conscription channel's own numbers for one block.

    Attributes:
        call_ups: The dated call-ups.
        deployable: Whether conscripts deploy after training.
        conversion_per_day: Daily probability of signing a contract while in service.
        conversion_from_day: ``(R,)`` service age (days) from which that applies.
        target: Index of the contract channel converted into (-1: none).
    """

    call_ups: list[CallUpPlan]
    deployable: bool
    conversion_per_day: Schedule
    conversion_from_day: IntArray
    target: int


def effective_channel(ch: Channel) -> Channel:
    """The channel as the general compiler sees it: for a conscription channel, the
    service term as the contract term, and conversion at term end as a renewal into
    ``convert_into``; other channels unchanged. The parameters are the scenario's own
    objects, so their sampled values are found by identity."""
    cons = ch.conscription
    if cons is None:
        return ch
    contract = ch.contract.model_copy(
        update={
            "term_days": cons.service_days,
            "renewal_term_days": None,
            "renewal_probability": cons.conversion_at_term_end,
            "renew_into": cons.convert_into,
        }
    )
    return ch.model_copy(update={"contract": contract})


def service_training_days(ch: Channel, training: IntArray, term: IntArray | None) -> IntArray:
    """Days before deployment: the training, or for conscripts who may not be deployed
    the whole term (they never graduate, so they serve undeployed and unexposed)."""
    cons = ch.conscription
    if cons is None or cons.deployable or term is None:
        return training
    return term.copy()


def conscription_plan(
    ch: Channel,
    *,
    scalar: Callable[[Param], FloatArray],
    schedule: Callable[[Param], Schedule],
    offset_of: Callable[[dt.date], int],
    channel_index: dict[str, int],
) -> ConscriptionPlan | None:
    """The conscription numbers of ``ch`` for one block (None for other channels).

    Args:
        ch: The channel as written in the scenario.
        scalar: ``(R,)`` values of a parameter that cannot be a series.
        schedule: A parameter as a schedule over the horizon.
        offset_of: Signed day index of a date.
        channel_index: Channel id → index.
    """
    cons = ch.conscription
    if cons is None:
        return None
    call_ups = [
        CallUpPlan(
            start_day=offset_of(c.date),
            people=np.maximum(scalar(c.people), 0.0),
            duration=np.maximum(np.rint(scalar(c.duration_days)), 1).astype(np.int64),
        )
        for c in cons.call_ups
    ]
    return ConscriptionPlan(
        call_ups=call_ups,
        deployable=cons.deployable,
        conversion_per_day=schedule(cons.conversion_per_day),
        conversion_from_day=np.maximum(np.rint(scalar(cons.conversion_from_day)), 0).astype(
            np.int64
        ),
        target=channel_index[cons.convert_into] if cons.convert_into else -1,
    )


def call_up(draws: Draws, ch: ChannelPlan, t: int, pool: Array) -> Array:
    """Conscripts inducted on day ``t`` (people), removed from the channel's pool.

    A call-up of ``people`` over ``duration`` days inducts the same number each day:
    in the stochastic mode whole people, ``floor(N (s+1)/d) − floor(N s/d)`` on its
    ``s``-th day with ``N`` the rounded size (so the days sum to ``N``); in the
    mean-field mode ``people / duration``. At most the pool's people are inducted."""
    runs = pool.shape[0]
    total = np.zeros(runs, dtype=draws.dtype)
    cons = ch.conscription
    if cons is None:
        return total
    whole = draws.dtype is np.int64
    for c in cons.call_ups:
        step = t - c.start_day
        if step < 0 or np.all(step >= c.duration):
            continue
        share_now = np.clip((step + 1) / c.duration, 0.0, 1.0)
        share_before = np.clip(step / c.duration, 0.0, 1.0)
        if whole:
            size = np.rint(c.people)
            today: Array = (np.floor(size * share_now) - np.floor(size * share_before)).astype(
                np.int64
            )
        else:
            today = c.people * (share_now - share_before)
        if ch.pool >= 0:
            today = np.minimum(today, pool[:, ch.pool])
            pool[:, ch.pool] -= today
        total = total + today
    return total


def convert_in_service(draws: Draws, ch: ChannelPlan, svc: Array, t: int) -> Array:
    """Conscripts signing a contract during service on day ``t`` (people), removed from
    their age slots in ``svc`` (in place).

    Each person in service (training or deployed; not recovering) at a service age of
    at least ``conversion_from_day`` converts with probability ``conversion_per_day``:
    one binomial draw per replicate and age slot (the stream ``<channel>/convert``)."""
    runs = svc.shape[0]
    cons = ch.conscription
    if cons is None:
        return np.zeros(runs, dtype=draws.dtype)
    p = cons.conversion_per_day.at(t)
    if not np.any(p > 0):
        return np.zeros(runs, dtype=draws.dtype)
    # The tail slot (held by stop-loss) is always empty: conscripts are never held.
    ages = ch.ages_of_slots()
    eligible = (ages >= cons.conversion_from_day[:, None]) & (svc[:, :-1] > 0)
    # One (replicates, slots) draw: each replicate and age slot reads its own random
    # number (common random numbers), whatever the other slots hold.
    moved = draws.binomial(
        f"{ch.id}/convert", np.where(eligible, svc[:, :-1], 0), np.where(eligible, p[:, None], 0.0)
    )
    svc[:, :-1] -= moved.astype(svc.dtype)
    converted: Array = moved.sum(axis=1).astype(draws.dtype)
    return converted
