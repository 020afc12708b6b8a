"""An independent reference implementation of docs/model.md: one SimPy process per soldier.

Written from the document, not from the engine. Where the engine works on counts by
age (binomial draws on numbers of people), this model follows individual people: each
soldier is a SimPy process that makes its own Bernoulli / categorical draws with
Python's :class:`random.Random`, and a daily *clock* process applies the scenario-level
phases of each day in the documented order (stop-loss switches, enlistment, records).

Scope (point-valued parameters only, no pools):

* several channels; ``series`` enlistment with ``Poisson(recruits_per_day)`` arrivals
  (generated as a Poisson process of exponential inter-arrival times); start/stop
  channel events;
* training with withdrawal at graduation;
* competing daily exit hazards of the deployed (killed, wounded, missing, deserted,
  refused; channel hazard multipliers; calendar intensity for the listed causes;
  service multipliers for killed/wounded/missing), early termination after the
  minimum service, wounded returning (geometric recovery) or discharged;
* fixed contract terms with renewal (same channel, or a transfer via ``renew_into``),
  ``on_term_end``; stop-loss on/off events (held people keep the hazards of their term
  age, and reach term end together on the first day it is off);
* an initial force spread uniformly over ages;
* dated legal rules (``contract_rules``: open-ended contracts hold people at term end
  like stop-loss; suspended voluntary termination), deserters and refusers caught and
  returned to duty after an absence (``losses.returns_to_duty``), mobilisation waves
  (no pool; size as calls or as arrivals, evasion), and combat hazards per exposure
  (``losses.exposure``: tempo, front share, rear hazard ratio).
* priced enlistment (docs/model.md, "Priced recruitment"): pools of individual people,
  each with a region and a reservation wage drawn from the pool's distribution; each
  day, each person whose wage times the region's multiplier is at most the channel's
  offer to the region enlists with probability ``uptake_per_day``; pools replenish by
  a Poisson process of new people; ``change_pay`` events move the offers;
* pay-driven retention (docs/model.md, "Pay-driven retention"): renewal and early
  termination from the pay index, with early termination varying with the age served.

Time: day ``t`` is split into phases at integer simulation times ``t * TICKS + phase``
so that events happen in the order of docs/model.md ("One day").

Soldiers are independent of each other (there are no pools), so a soldier process
draws its day-by-day fate in a tight loop and only yields to the simulation clock
when something happens to it (a return, a wound, an exit, graduation, term end),
i.e. at the exact phase of the day when the event takes effect; the clock reads the
counters at the record phase. The draws are still one Bernoulli/categorical draw per
person per day, as the document describes.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from forcegen.scenario.model import (
    EXIT_CAUSES,
    ChangePay,
    ContractRules,
    LogNormalWages,
    MobilisationWave,
    PricedEnlistment,
    Scenario,
    StartChannel,
    StopChannel,
    StopLoss,
    WidenEligibility,
)
from forcegen.scenario.params import Param

__all__ = ["RefChannel", "RefModel", "RefResult", "build_model", "run_reference"]

IntArray = NDArray[np.int64]

TRAINING, DEPLOYED, RECOVERING, ABSENT = 0, 1, 2, 3
INFLOW_RECRUITED, INFLOW_TRANSFERRED = 0, 1
TRANSITIONS = (
    "deployed",
    "wounded",
    "returned",
    "renewed",
    "evaded",
    "prosecuted",
    "rejoined",
    "called",
    "mobilised",
)

# Phases of one day (simulation time = day * TICKS + phase).
TICKS = 10
START, RETURNS, EXITS, AGEING, TERM_END, ENLIST, GRADUATE, PLACE, RECORD = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    9,
)

LONG_SERVICE = 10**9
"""Age given to initial people of indefinite contracts: 'long service'."""

_CAUSE = {c: i for i, c in enumerate(EXIT_CAUSES)}
_HAZARDS = ("killed", "wounded", "missing", "deserted", "refused")


@dataclass(frozen=True)
class RefChannel:
    """Everything the reference needs about one channel, resolved to daily values."""

    id: str
    index: int
    recruits: list[float]
    active: list[bool]
    training: int
    withdrawal: list[float]
    term: int | None
    renewal: list[float]
    renew_age: int
    renew_into: int
    on_term_end: str
    early_termination: list[float]
    min_service: int
    killed: list[float]
    wounded: list[float]
    missing: list[float]
    deserted: list[float]
    refused: list[float]
    stop_loss: list[bool]
    initial_training: int
    initial_deployed: int
    initial_recovering: int
    waves: tuple[tuple[int, float, int, float, bool], ...] = ()
    """Mobilisation waves: (first day, size, duration, evasion share, size counts
    arrivals)."""
    caught: tuple[tuple[str, list[float], float], ...] = ()
    """Per absence cause with returns to duty: (cause, daily chance a leaver is caught,
    daily chance of being back)."""
    priced: RefPriced | None = None
    service_coefficient: float = 0.0


@dataclass(frozen=True)
class RefPriced:
    """A priced channel: its pool, daily uptake and daily offer to each region
    (currency per month)."""

    pool: int
    uptake: list[float]
    offers: list[list[float]]


@dataclass(frozen=True)
class RefPool:
    """A pool of individual people with reservation wages."""

    id: str
    initial: int
    replenish: list[float]
    widen: dict[int, int]
    kind: str
    a: float
    b: float
    shares: list[float]
    wage_multipliers: list[float]

    def draw_person(self, rng: random.Random) -> tuple[int, float]:
        """A new person: (region, reservation wage in currency per month)."""
        u, region, acc = rng.random(), len(self.shares) - 1, 0.0
        for g, share in enumerate(self.shares):
            acc += share
            if u < acc:
                region = g
                break
        if self.kind == "uniform":
            base = rng.uniform(self.a, self.b)
        else:
            base = rng.lognormvariate(math.log(self.a), self.b)
        return region, base * self.wage_multipliers[region]


@dataclass(frozen=True)
class RefModel:
    """A scenario resolved for the reference model."""

    horizon: int
    channels: list[RefChannel]
    service_multipliers: list[tuple[int, float]]
    recovery_rate: float
    return_probability: list[float]
    pools: list[RefPool] | None = None

    def multiplier(self, age: int) -> float:
        """Combat hazard multiplier at service age ``age`` (1 for long service)."""
        for until, m in self.service_multipliers:
            if age < until:
                return m
        return 1.0


@dataclass(frozen=True)
class RefResult:
    """Daily series of an ensemble of reference replicates, shaped like the engine's.

    Attributes:
        strength: ``(n, T, C, 4)`` end-of-day training, deployed, recovering, absent.
        inflow: ``(n, T, C, 2)`` recruited, transferred.
        outflow: ``(n, T, C, 10)`` exits by cause, in ``EXIT_CAUSES`` order.
        transition: ``(n, T, C, 9)`` in ``TRANSITIONS`` order.
    """

    strength: IntArray
    inflow: IntArray
    outflow: IntArray
    transition: IntArray
    pool: IntArray | None = None

    @property
    def end_strength(self) -> IntArray:
        """``(n, C, 4)`` strength at the end of the last day."""
        return self.strength[:, -1]

    @property
    def exits(self) -> IntArray:
        """``(n, C, 10)`` cumulative exits by cause over the horizon."""
        exits: IntArray = self.outflow.sum(axis=1)
        return exits


# ------------------------------------------------------------------ scenario → model
def _value(param: Param, day: dt.date) -> float:
    """The point value of ``param`` in force on ``day`` (series: the last step that has
    started; before the first step, the first step's value)."""
    if param.series is None:
        if param.value is None:
            raise ValueError("the reference model takes point values only")
        return float(param.value)
    chosen = param.series[0]
    for step in param.series:
        if step.from_date <= day:
            chosen = step
    if chosen.value is None:
        raise ValueError("the reference model takes point values only")
    return float(chosen.value)


def _daily(param: Param, start: dt.date, days: int) -> list[float]:
    return [_value(param, start + dt.timedelta(days=d)) for d in range(days)]


def _whole(x: float) -> int:
    return round(x)


def _pay_days(scenario: Scenario, ch: Any, key: str) -> list[float]:
    """A pay amount of a channel on each day, with its change_pay events applied."""
    start, days = scenario.start_date, scenario.horizon_days
    values = _daily(getattr(ch.pay, key), start, days)
    for ev in sorted(scenario.events, key=lambda e: e.date):
        if isinstance(ev, ChangePay) and ev.channel == ch.id and getattr(ev, key) is not None:
            new = _value(getattr(ev, key), ev.date)
            for d in range(max((ev.date - start).days, 0), days):
                values[d] = new
    return values


def _ref_pools(scenario: Scenario) -> list[RefPool]:
    start, days = scenario.start_date, scenario.horizon_days
    pools = []
    for pool in scenario.pools:
        rw = pool.reservation_wage
        if rw is None or pool.currency not in (None, scenario.currency):
            raise ValueError("the reference model supports priced pools in the scenario currency")
        if isinstance(rw, LogNormalWages):
            kind, a, b = "lognormal", _value(rw.median_per_month, start), _value(rw.log_sd, start)
        else:
            kind = "uniform"
            a, b = _value(rw.low_per_month, start), _value(rw.high_per_month, start)
        regions = pool.regions
        shares = [_value(r.share, start) for r in regions] or [1.0]
        total = sum(shares)
        widen: dict[int, int] = {}
        for ev in scenario.events:
            if isinstance(ev, WidenEligibility) and ev.pool == pool.id:
                d = max((ev.date - start).days, 0)
                widen[d] = widen.get(d, 0) + _whole(_value(ev.add_people, start))
        pools.append(
            RefPool(
                id=pool.id,
                initial=_whole(_value(pool.initial_people, start)),
                replenish=_daily(pool.replenish_per_day, start, days),
                widen=widen,
                kind=kind,
                a=a,
                b=b,
                shares=[x / total for x in shares],
                wage_multipliers=[_value(r.wage_multiplier, start) for r in regions] or [1.0],
            )
        )
    return pools


def _retention(
    scenario: Scenario, ch: Any, term: int | None
) -> tuple[list[float], list[float], float] | None:
    """Daily renewal and early-termination probabilities of pay-driven retention (the
    latter before the service factor) and the service coefficient, from the index
    ``v = β_pay ln(salary / wage) − β_arrears (1 − paid_share) + β_service a / 365.25``."""
    ret = ch.contract.retention
    if ret is None:
        return None
    if ret.currency not in (None, scenario.currency) or ch.pay.currency not in (
        None,
        scenario.currency,
    ):
        raise ValueError("the reference model supports retention in the scenario currency")
    start, days = scenario.start_date, scenario.horizon_days
    salary = _pay_days(scenario, ch, "salary_per_month")
    paid = _pay_days(scenario, ch, "paid_share")
    wage = _daily(ret.civilian_wage_per_month, start, days)
    b_pay = _daily(ret.pay_coefficient, start, days)
    b_arr = _daily(ret.arrears_coefficient, start, days)
    b_srv = _value(ret.service_coefficient, start)
    base_renew = _daily(ch.contract.renewal_probability, start, days)
    base_early = _daily(ch.contract.early_termination_per_day, start, days)
    renew, early = [], []
    for d in range(days):
        v = b_pay[d] * math.log(salary[d] / wage[d]) - b_arr[d] * (1.0 - paid[d])
        at_term = v + (b_srv * term / 365.25 if term is not None else 0.0)
        p0 = base_renew[d]
        if p0 <= 0.0 or p0 >= 1.0:
            renew.append(p0)
        else:
            odds = p0 / (1.0 - p0) * math.exp(at_term)
            renew.append(odds / (1.0 + odds))
        early.append(min(base_early[d] * math.exp(-v), 1.0))
    return renew, early, b_srv


def build_model(scenario: Scenario) -> RefModel:
    """Resolve a scenario (point values; pools only with reservation wages) into a
    :class:`RefModel`."""
    pools = _ref_pools(scenario) if scenario.pools else None
    pool_index = {p.id: i for i, p in enumerate(scenario.pools)}
    start, days = scenario.start_date, scenario.horizon_days
    losses = scenario.losses
    intensity = _daily(losses.intensity, start, days)
    index = {c.id: i for i, c in enumerate(scenario.channels)}
    channels: list[RefChannel] = []
    for i, ch in enumerate(scenario.channels):
        priced: RefPriced | None = None
        enl = ch.enlistment
        if isinstance(enl, PricedEnlistment):
            priced = _ref_priced(scenario, ch, enl, pool_index)
        elif enl.model not in ("series", "mobilisation"):
            raise ValueError(
                "the reference model supports series, mobilisation and priced enlistment only"
            )
        elif ch.pool is not None:
            raise ValueError("the reference model supports pools for priced channels only")
        active = [ch.active] * days
        stop_loss = [False] * days
        open_ended = [False] * days
        may_terminate = [True] * days
        waves: list[tuple[int, float, int, float, bool]] = []
        for ev in sorted(scenario.events, key=lambda e: e.date):
            d = (ev.date - start).days
            if isinstance(ev, StartChannel | StopChannel) and ev.channel == ch.id:
                for k in range(max(d, 0), days):
                    active[k] = isinstance(ev, StartChannel)
            elif isinstance(ev, StopLoss) and (ev.channels is None or ch.id in ev.channels):
                for k in range(max(d, 0), days):
                    stop_loss[k] = ev.active
            elif isinstance(ev, ContractRules):
                if ev.channels is not None and ch.id not in ev.channels:
                    continue
                for k in range(max(d, 0), days):
                    if ev.open_ended is not None:
                        open_ended[k] = ev.open_ended
                    if ev.voluntary_termination is not None:
                        may_terminate[k] = ev.voluntary_termination
            elif isinstance(ev, MobilisationWave):
                if ev.channel == ch.id:
                    waves.append(
                        (
                            d,
                            _value(ev.size_people, start),
                            max(_whole(_value(ev.duration_days, start)), 1),
                            _value(ev.evasion_share, start),
                            ev.size_counts == "arrivals",
                        )
                    )
            elif not isinstance(
                ev, StartChannel | StopChannel | StopLoss | ChangePay | WidenEligibility
            ):
                raise ValueError(f"the reference model does not support {ev.type} events")
        # An open-ended contract holds people at term end exactly as stop-loss does.
        stop_loss = [a or b for a, b in zip(stop_loss, open_ended, strict=True)]
        training = _whole(_value(ch.training_days, start))
        contract = ch.contract
        term = None if contract.term_days is None else _whole(_value(contract.term_days, start))
        if term is not None and term <= training:
            raise ValueError("the reference model needs term_days > training_days")
        if term is None or contract.renewal_term_days is None:
            renew_age = training
        else:
            renew_age = max(term - _whole(_value(contract.renewal_term_days, start)), training)
        if term is not None and renew_age >= term:
            raise ValueError("the reference model needs renewal_term_days >= 1")
        # Exposure: a deployed person is at the front with the channel's front share;
        # combat hazards are per day at the front, the rear carrying a ratio of them.
        exposure = [1.0] * days
        if losses.exposure is not None:
            exp = losses.exposure
            front = _daily(ch.front_share or exp.front_share, start, days)
            tempo = _daily(exp.tempo, start, days)
            rear = _daily(exp.rear_hazard_ratio, start, days)
            exposure = [tempo[d] * (front[d] + (1 - front[d]) * rear[d]) for d in range(days)]
        hazards: dict[str, list[float]] = {}
        for cause in _HAZARDS:
            base = _daily(getattr(losses, f"{cause}_per_day"), start, days)
            mult = (
                _value(ch.hazard_multipliers[cause], start)
                if cause in ch.hazard_multipliers
                else 1.0
            )
            scaled = cause in losses.intensity_applies_to
            combat = cause in ("killed", "wounded", "missing")
            hazards[cause] = [
                b * mult * (intensity[d] if scaled else 1.0) * (exposure[d] if combat else 1.0)
                for d, b in enumerate(base)
            ]
        init = ch.initial
        renewal = _daily(contract.renewal_probability, start, days)
        early = _daily(contract.early_termination_per_day, start, days)
        service = 0.0
        retention = _retention(scenario, ch, term)
        if retention is not None:
            renewal, early, service = retention
            if service != 0.0 and term is None:
                raise ValueError("the reference model needs a fixed term for a service term")
        channels.append(
            RefChannel(
                id=ch.id,
                index=i,
                recruits=(
                    [0.0] * days
                    if priced is not None or ch.enlistment.model != "series"
                    else _daily(ch.enlistment.recruits_per_day, start, days)  # type: ignore[union-attr]
                ),
                active=active,
                training=training,
                withdrawal=_daily(ch.training_withdrawal_probability, start, days),
                term=term,
                renewal=renewal,
                renew_age=renew_age,
                renew_into=index[contract.renew_into] if contract.renew_into else i,
                on_term_end=contract.on_term_end,
                early_termination=[
                    e if ok else 0.0 for e, ok in zip(early, may_terminate, strict=True)
                ],
                min_service=_whole(_value(contract.min_service_days, start)),
                killed=hazards["killed"],
                wounded=hazards["wounded"],
                missing=hazards["missing"],
                deserted=hazards["deserted"],
                refused=hazards["refused"],
                stop_loss=stop_loss,
                initial_training=_whole(_value(init.training, start)),
                initial_deployed=_whole(_value(init.deployed, start)),
                initial_recovering=_whole(_value(init.recovering, start)),
                waves=tuple(waves),
                caught=tuple(
                    (
                        cause,
                        _daily(back.return_probability, start, days),
                        1.0 / max(_value(back.mean_days, start), 1.0),
                    )
                    for cause, back in losses.returns_to_duty.items()
                ),
                priced=priced,
                service_coefficient=service,
            )
        )
    return RefModel(
        horizon=days,
        channels=channels,
        service_multipliers=[
            (m.until_day, _value(m.multiplier, start)) for m in losses.service_multipliers
        ],
        recovery_rate=1.0 / _value(losses.recovery.mean_days, start),
        return_probability=_daily(losses.recovery.return_probability, start, days),
        pools=pools,
    )


def _ref_priced(
    scenario: Scenario, ch: Any, enl: PricedEnlistment, pool_index: dict[str, int]
) -> RefPriced:
    """The offer of a priced channel to each region on each day: ``paid_share ·
    (salary + (federal + regional bonus × region multiplier) / service months)``."""
    start, days = scenario.start_date, scenario.horizon_days
    if ch.pool is None or ch.pay.currency not in (None, scenario.currency):
        raise ValueError("the reference model needs priced channels with a pool, one currency")
    pool = scenario.pools[pool_index[ch.pool]]
    if enl.expected_service_days is not None:
        service_days = max(float(_whole(_value(enl.expected_service_days, start))), 1.0)
    elif ch.contract.term_days is not None:
        service_days = float(_whole(_value(ch.contract.term_days, start)))
    else:
        service_days = 365.25
    months = service_days / (365.25 / 12)
    bonus_mult = [_value(r.regional_bonus_multiplier, start) for r in pool.regions] or [1.0]
    salary = _pay_days(scenario, ch, "salary_per_month")
    federal = _pay_days(scenario, ch, "sign_up_bonus_federal")
    regional = _pay_days(scenario, ch, "sign_up_bonus_regional")
    paid = _pay_days(scenario, ch, "paid_share")
    offers = [
        [paid[d] * (salary[d] + (federal[d] + m * regional[d]) / months) for m in bonus_mult]
        for d in range(days)
    ]
    return RefPriced(
        pool=pool_index[ch.pool], uptake=_daily(enl.uptake_per_day, start, days), offers=offers
    )


# ----------------------------------------------------------------- one replicate
Proc = Generator[simpy.Event, Any, None]


class _Replicate:
    """One replicate: a SimPy environment with a clock and one process per soldier."""

    def __init__(self, model: RefModel, seed: int) -> None:
        self.model = model
        self.rng = random.Random(seed)
        self.env = simpy.Environment()
        n_ch, days = len(model.channels), model.horizon
        self.count = [[0, 0, 0, 0] for _ in range(n_ch)]
        self.stop_loss_now = [False] * n_ch
        self.strength = np.zeros((days, n_ch, 4), dtype=np.int64)
        self.inflow = np.zeros((days, n_ch, 2), dtype=np.int64)
        self.outflow = np.zeros((days, n_ch, len(EXIT_CAUSES)), dtype=np.int64)
        self.transition = np.zeros((days, n_ch, len(TRANSITIONS)), dtype=np.int64)
        # Priced pools: per pool and region, the reservation wages of the people in it,
        # sorted (the willing are a prefix).
        ref_pools = model.pools or []
        self.wages: list[list[list[float]]] = [[[] for _ in p.shares] for p in ref_pools]
        self.pool_size = np.zeros((days, len(ref_pools)), dtype=np.int64)
        self._mult = [model.multiplier(a) for a in range(self._mult_window())]
        # Per channel and day: combat hazards (scaled by the service multiplier) and the
        # others, summed, for the quick "does anything happen today" test.
        self._combat = [
            [k + w + s for k, w, s in zip(ch.killed, ch.wounded, ch.missing, strict=True)]
            for ch in model.channels
        ]
        self._other = [
            [d + r for d, r in zip(ch.deserted, ch.refused, strict=True)] for ch in model.channels
        ]

    def _mult_window(self) -> int:
        return max([1, *(u for u, _ in self.model.service_multipliers)])

    # -- helpers -----------------------------------------------------------------
    def _at(self, day: int, phase: int) -> Proc:
        """Wait until ``phase`` of ``day``."""
        target = day * TICKS + phase
        now = int(self.env.now)
        if target < now:  # pragma: no cover - a bug in this model
            raise AssertionError(f"event at {target} scheduled in the past ({now})")
        if target > now:
            yield self.env.timeout(target - now)

    def _move(self, c: int, old: int, new: int) -> None:
        self.count[c][old] -= 1
        self.count[c][new] += 1

    def _leave(self, c: int, status: int, cause: str, day: int) -> None:
        self.count[c][status] -= 1
        self.outflow[day, c, _CAUSE[cause]] += 1

    # -- processes ---------------------------------------------------------------
    def run(self) -> None:
        rng = self.rng
        for ch in self.model.channels:
            c = ch.index
            if ch.initial_training and ch.training == 0:
                raise ValueError("initial trainees need training_days > 0")
            spans = (
                (TRAINING, ch.initial_training, 0, ch.training),
                (DEPLOYED, ch.initial_deployed, ch.training, ch.term),
                (RECOVERING, ch.initial_recovering, ch.training, ch.term),
            )
            for status, number, lo, hi in spans:
                for _ in range(number):
                    age = LONG_SERVICE if hi is None else rng.randrange(lo, hi)
                    self.count[c][status] += 1
                    self.env.process(self._life(c, age, status, 0))
        self.env.process(self._clock())
        self.env.run()

    def _add_people(self, p: int, number: int) -> None:
        pool = (self.model.pools or [])[p]
        for _ in range(number):
            region, wage = pool.draw_person(self.rng)
            bisect.insort(self.wages[p][region], wage)

    def _poisson(self, lam: float) -> int:
        """Arrivals of a Poisson process of rate ``lam`` over one day."""
        clock, arrivals = 0.0, 0
        while lam > 0:
            clock += self.rng.expovariate(lam)
            if clock >= 1.0:
                break
            arrivals += 1
        return arrivals

    def _enlist_priced(self, ch: RefChannel, day: int) -> None:
        """Each person in the pool whose reservation wage the offer to their region
        meets enlists with probability ``uptake``."""
        priced = ch.priced
        assert priced is not None
        rnd, uptake = self.rng.random, priced.uptake[day]
        for region, wages in enumerate(self.wages[priced.pool]):
            willing = bisect.bisect_right(wages, priced.offers[day][region])
            stay = []
            for wage in wages[:willing]:
                if rnd() < uptake:
                    self.env.process(self._recruit(ch.index, day))
                else:
                    stay.append(wage)
            wages[:willing] = stay

    def _clock(self) -> Proc:
        """The day's scenario-level phases: stop-loss switches, pools, enlistment,
        records."""
        model, rng = self.model, self.rng
        pools = model.pools or []
        for p, pool in enumerate(pools):
            self._add_people(p, pool.initial)
        for day in range(model.horizon):
            yield from self._at(day, START)
            for ch in model.channels:
                self.stop_loss_now[ch.index] = ch.stop_loss[day]
            for p, pool in enumerate(pools):
                self._add_people(p, self._poisson(pool.replenish[day]) + pool.widen.get(day, 0))
            yield from self._at(day, ENLIST)
            for ch in model.channels:
                self._waves(ch, day)
                if ch.priced is not None and ch.active[day]:
                    self._enlist_priced(ch, day)
                if not ch.active[day] or ch.recruits[day] <= 0:
                    continue
                # Poisson arrivals: a Poisson process of rate λ over the day.
                lam, clock, arrivals = ch.recruits[day], 0.0, 0
                while True:
                    clock += rng.expovariate(lam)
                    if clock >= 1.0:
                        break
                    arrivals += 1
                for _ in range(arrivals):
                    self.env.process(self._recruit(ch.index, day))
            yield from self._at(day, RECORD)
            self.strength[day] = self.count
            for p in range(len(pools)):
                self.pool_size[day, p] = sum(len(w) for w in self.wages[p])

    def _waves(self, ch: RefChannel, day: int) -> None:
        """Mobilisation waves: day ``k`` of a wave of ``S`` calls over ``D`` days calls
        ``floor(S (k+1) / D) − floor(S k / D)`` people (``S = size / (1 − evasion)``
        when the size counts arrivals); each evades or joins."""
        for first, size, duration, evasion, arrivals in ch.waves:
            k = day - first
            if not 0 <= k < duration:
                continue
            calls_total = size / (1.0 - evasion) if arrivals else size
            calls = math.floor(calls_total * min((k + 1) / duration, 1.0)) - math.floor(
                calls_total * (k / duration)
            )
            for _ in range(calls):
                self.transition[day, ch.index, 7] += 1
                if self.rng.random() < evasion:
                    self.transition[day, ch.index, 4] += 1
                else:
                    self.transition[day, ch.index, 8] += 1
                    self.env.process(self._recruit(ch.index, day))

    def _absent(self, c: int, cause: str, rate: float, day: int) -> Proc:
        """A caught deserter or refuser: absent from ``day``; from the next day on back
        with daily probability ``rate``, at the renewal age (fixed terms) or in long
        service (indefinite), deployed."""
        ch = self.model.channels[c]
        self.transition[day, c, 5] += 1
        self.count[c][DEPLOYED] -= 1
        self.count[c][ABSENT] += 1
        day += 1
        while day < self.model.horizon:
            if self.rng.random() < rate:
                yield from self._at(day, PLACE)
                self.count[c][ABSENT] -= 1
                self.count[c][DEPLOYED] += 1
                self.transition[day, c, 6] += 1
                age = LONG_SERVICE if ch.term is None else ch.renew_age
                yield from self._life(c, age, DEPLOYED, day + 1)
                return
            day += 1

    def _recruit(self, c: int, day: int) -> Proc:
        """A recruit joins at age 0 (phase 5); graduates today if training is 0."""
        ch = self.model.channels[c]
        self.count[c][TRAINING] += 1
        self.inflow[day, c, INFLOW_RECRUITED] += 1
        status = TRAINING
        if ch.training == 0:
            yield from self._at(day, GRADUATE)
            if self.rng.random() < ch.withdrawal[day]:
                self._leave(c, TRAINING, "withdrawn", day)
                return
            self._move(c, TRAINING, DEPLOYED)
            self.transition[day, c, 0] += 1
            status = DEPLOYED
        yield from self._life(c, 0, status, day + 1)

    def _life(self, c: int, age: int, status: int, day: int) -> Proc:
        """A soldier's days from ``day`` on, starting the day at ``age`` and ``status``."""
        model = self.model
        rnd = self.rng.random
        ch = model.channels[c]
        horizon, term, training = model.horizon, ch.term, ch.training
        combat, other, early = self._combat[c], self._other[c], ch.early_termination
        service = ch.service_coefficient
        mult, n_mult, min_service = self._mult, len(self._mult), ch.min_service
        held = False
        while day < horizon:
            u: float | None = None
            if status == TRAINING and age < training - 1:
                # Nothing can happen to a trainee before graduation day: skip ahead.
                day += training - 1 - age
                age = training - 1
                continue
            if status == DEPLOYED and not held:
                # Quiet days: one categorical draw per day until something happens or
                # the day the term ends (handled below with the same day's draw).
                last = horizon if term is None else min(horizon, day + term - 1 - age)
                while day < last:
                    m = mult[age] if age < n_mult else 1.0
                    u = rnd()
                    hazard = combat[day] * m + other[day]
                    if age >= min_service:
                        hazard += early[day] * math.exp(-service * age / 365.25)
                    if u < hazard:
                        break
                    u = None
                    age += 1
                    day += 1
                if day >= horizon:
                    return
            # 2.1 returns: recovering at the start of the day
            if status == RECOVERING:
                if rnd() < model.recovery_rate:
                    yield from self._at(day, RETURNS)
                    self._move(c, RECOVERING, DEPLOYED)
                    self.transition[day, c, 2] += 1
                    status = DEPLOYED
            # 2.2 exits: deployed at the start of the day (not today's returners)
            elif status == DEPLOYED:
                # Held people keep the hazards of the age at which their term ended.
                a = term if held and term is not None else age
                m = mult[a] if a < n_mult else 1.0
                k, w, s = ch.killed[day] * m, ch.wounded[day] * m, ch.missing[day] * m
                d, r = ch.deserted[day], ch.refused[day]
                e = early[day] * math.exp(-service * a / 365.25) if a >= min_service else 0.0
                if u is None:
                    u = rnd()
                if u < k + w + s + d + r + e:
                    yield from self._at(day, EXITS)
                    if u < k:
                        self._leave(c, DEPLOYED, "killed", day)
                        return
                    if u < k + s:
                        self._leave(c, DEPLOYED, "missing", day)
                        return
                    if u < k + s + w:
                        self.transition[day, c, 1] += 1
                        if rnd() < model.return_probability[day]:
                            self._move(c, DEPLOYED, RECOVERING)
                            status = RECOVERING
                        else:
                            self._leave(c, DEPLOYED, "wounded_discharged", day)
                            return
                    elif u < k + s + w + d + r:
                        cause = "deserted" if u < k + s + w + d else "refused"
                        for name, chance, rate in ch.caught:
                            if name == cause and rnd() < chance[day]:
                                yield from self._absent(c, cause, rate, day)
                                return
                        self._leave(c, DEPLOYED, cause, day)
                        return
                    else:
                        self._leave(c, DEPLOYED, "terminated", day)
                        return
            # 2.3 ageing
            age += 1
            # 2.4 term end (held people reach it on the first day stop-loss is off)
            new_age: int | None = None
            if term is not None and (held or age == term):
                yield from self._at(day, TERM_END)
                if self.stop_loss_now[c]:
                    held = True
                else:
                    held = False
                    if rnd() < ch.renewal[day]:
                        if ch.renew_into == c:
                            new_age = ch.renew_age
                            self.transition[day, c, 3] += 1
                        else:
                            self._leave(c, status, "transferred", day)
                            yield from self._transfer(ch.renew_into, status, day)
                            return
                    else:
                        self._leave(c, status, ch.on_term_end, day)
                        return
            # 2.6 graduation
            if status == TRAINING and age == training:
                yield from self._at(day, GRADUATE)
                if rnd() < ch.withdrawal[day]:
                    self._leave(c, TRAINING, "withdrawn", day)
                    return
                self._move(c, TRAINING, DEPLOYED)
                self.transition[day, c, 0] += 1
                status = DEPLOYED
            # 3. renewals placed after graduation
            if new_age is not None:
                yield from self._at(day, PLACE)
                age = new_age
            day += 1

    def _transfer(self, target: int, status: int, day: int) -> Proc:
        """Join ``target`` at its training length after graduation (phase 7), keeping
        the status (a recovering person stays recovering)."""
        yield from self._at(day, PLACE)
        self.count[target][status] += 1
        self.inflow[day, target, INFLOW_TRANSFERRED] += 1
        yield from self._life(target, self.model.channels[target].training, status, day + 1)


def run_reference(scenario: Scenario | RefModel, runs: int, seed: int) -> RefResult:
    """Simulate ``runs`` independent replicates of the reference model."""
    model = scenario if isinstance(scenario, RefModel) else build_model(scenario)
    reps = []
    for k in range(runs):
        rep = _Replicate(model, seed=seed * 1_000_003 + k)
        rep.run()
        reps.append(rep)

    def stack(name: str) -> IntArray:
        return np.stack([getattr(r, name) for r in reps])

    return RefResult(
        strength=stack("strength"),
        inflow=stack("inflow"),
        outflow=stack("outflow"),
        transition=stack("transition"),
        pool=stack("pool_size"),
    )
