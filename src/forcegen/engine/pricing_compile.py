"""Compile-time hooks for priced recruitment and pay-driven retention.

Called from :func:`forcegen.engine.compile.compile_block`: they read the scenario
through the block's resolver and return plain arrays and schedules for
:mod:`forcegen.engine.pricing` and :mod:`forcegen.engine.retention`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.compile import (
    DAYS_PER_MONTH,
    ChannelPlan,
    Schedule,
    _pay_schedules,
    _rate_to_scenario,
    _Resolver,
)
from forcegen.engine.pricing import PricedPlan, compile_priced, offers
from forcegen.engine.retention import DAYS_PER_YEAR, early_termination, pay_index, renewal
from forcegen.scenario.model import (
    ChangePay,
    Channel,
    LogNormalWages,
    PricedEnlistment,
)

__all__ = ["DEFAULT_SERVICE_DAYS", "priced_plan", "retention_schedules"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_SERVICE_DAYS = 365.25
"""Service an offer's bonuses are spread over for an indefinite contract without
``expected_service_days`` (days): a year, as the behavioural model's 12 months."""


def priced_plan(res: _Resolver, channels: list[ChannelPlan]) -> PricedPlan:
    """The priced pools (bins cut at every offer threshold) and channels of a block."""
    sc = res.scenario
    runs = res.runs
    pool_index = {p.id: i for i, p in enumerate(sc.pools)}
    specs: dict[int, tuple[str, tuple[str, ...], str, FloatArray, FloatArray, FloatArray]] = {}
    wage_mult: dict[int, FloatArray] = {}
    bonus_mult: dict[int, FloatArray] = {}
    for i, pool in enumerate(sc.pools):
        rw = pool.reservation_wage
        if rw is None:
            continue
        rate = _rate_to_scenario(res, pool.currency)
        if isinstance(rw, LogNormalWages):
            kind, a, b = "lognormal", res.scalar(rw.median_per_month) * rate, res.scalar(rw.log_sd)
        else:
            kind = "uniform"
            a, b = res.scalar(rw.low_per_month) * rate, res.scalar(rw.high_per_month) * rate
        if pool.regions:
            ids = tuple(r.id for r in pool.regions)
            shares = np.stack([res.scalar(r.share) for r in pool.regions], axis=1)
            wage_mult[i] = np.stack([res.scalar(r.wage_multiplier) for r in pool.regions], axis=1)
            bonus_mult[i] = np.stack(
                [res.scalar(r.regional_bonus_multiplier) for r in pool.regions], axis=1
            )
        else:
            ids, shares = (pool.id,), np.ones((runs, 1))
            wage_mult[i], bonus_mult[i] = np.ones((runs, 1)), np.ones((runs, 1))
        specs[i] = (pool.id, ids, kind, a, b, shares)

    channel_offers: dict[int, tuple[int, FloatArray, IntArray]] = {}
    rest: dict[int, tuple[FloatArray, IntArray, FloatArray]] = {}
    for c, ch in enumerate(sc.channels):
        enl = ch.enlistment
        if not isinstance(enl, PricedEnlistment) or ch.pool not in pool_index:
            continue
        p = pool_index[ch.pool]
        if p not in specs:
            continue  # a priced channel on a pool without wages is a validation error
        events = sorted(
            (e for e in sc.events if isinstance(e, ChangePay) and e.channel == ch.id),
            key=lambda e: e.date,
        )
        pay = _pay_schedules(res, ch, events)
        months = _service_days(res, enl, channels[c]) / DAYS_PER_MONTH
        bm = bonus_mult[p]

        def both(
            salary: FloatArray,
            federal: FloatArray,
            regional: FloatArray,
            paid: FloatArray,
            months: FloatArray = months,
            bm: FloatArray = bm,
        ) -> FloatArray:
            offer = offers(salary, federal, regional, paid, months, bm)
            bonus = federal[:, None] + bm * regional[:, None]
            return np.stack([offer, bonus], axis=-1)

        sched = Schedule.combine(
            both,
            pay["salary_per_month"],
            pay["sign_up_bonus_federal"],
            pay["sign_up_bonus_regional"],
            pay["paid_share"],
        )
        uptake = res.schedule(enl.uptake_per_day)
        channel_offers[c] = (p, sched.values[..., 0], sched.day_step)
        rest[c] = (uptake.values, uptake.day_step, sched.values[..., 1])
    return compile_priced(specs, wage_mult, channel_offers, rest)


def _service_days(res: _Resolver, enl: PricedEnlistment, plan: ChannelPlan) -> FloatArray:
    """Days the offer spreads the bonuses over, per replicate (at least one)."""
    if enl.expected_service_days is not None:
        return np.maximum(np.rint(res.scalar(enl.expected_service_days)), 1.0)
    if plan.term_days is not None:
        return plan.term_days.astype(np.float64)
    return np.full(res.runs, DEFAULT_SERVICE_DAYS)


def retention_schedules(
    res: _Resolver,
    ch: Channel,
    salary: Schedule,
    paid_share: Schedule,
    renewal_base: Schedule,
    early_base: Schedule,
    term: IntArray | None,
) -> tuple[Schedule, Schedule, FloatArray | None]:
    """Renewal and early-termination schedules of a channel with pay-driven retention.

    Args:
        res: The block's resolver.
        ch: The channel (its ``contract.retention`` is set).
        salary: Monthly salary in the scenario currency.
        paid_share: Share of pay actually paid.
        renewal_base, early_base: The contract's constants (or dated series).
        term: Contract term per replicate (days), None when indefinite.

    Returns:
        The renewal and early-termination schedules (pay and arrears folded in; the
        renewal also the service at term end), and the service coefficient per
        replicate when any is non-zero (early termination then varies with age).
    """
    ret = ch.contract.retention
    assert ret is not None
    rate = _rate_to_scenario(res, ret.currency or ch.pay.currency)
    wage_raw = res.schedule(ret.civilian_wage_per_month)
    wage = Schedule(wage_raw.values * rate[:, None], wage_raw.day_step)
    beta_pay = res.schedule(ret.pay_coefficient)
    beta_arrears = res.schedule(ret.arrears_coefficient)
    beta_service = res.scalar(ret.service_coefficient)
    served = term.astype(np.float64) if term is not None else np.zeros(res.runs)
    at_term = beta_service * served / DAYS_PER_YEAR

    def renew(base: FloatArray, *pay: FloatArray) -> FloatArray:
        return renewal(base, pay_index(*pay) + at_term)

    def leave(base: FloatArray, *pay: FloatArray) -> FloatArray:
        return early_termination(base, pay_index(*pay))

    parts = (salary, wage, paid_share, beta_pay, beta_arrears)
    renew_sched = Schedule.combine(renew, renewal_base, *parts)
    early_sched = Schedule.combine(leave, early_base, *parts)
    service = beta_service if np.any(beta_service != 0) else None
    return renew_sched, early_sched, service
