"""Turn a scenario and one block's parameter values into plain numeric plans.

Everything the daily step needs is resolved here, once per block: parameters become
:class:`Schedule` objects (piecewise-constant in time, one value per replicate),
events are folded into those schedules, money is converted to the scenario currency
and to amounts per day, and ages (days of service) become integer arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.conscription import (
    ConscriptionPlan,
    conscription_plan,
    effective_channel,
    service_training_days,
)
from forcegen.engine.pricing import PricedPlan
from forcegen.engine.sampling import ParameterSet
from forcegen.scenario.model import (
    ABSENCE_CAUSES,
    HAZARD_CAUSES,
    ChangePay,
    Channel,
    Contract,
    ContractRules,
    MobilisationWave,
    PayPackage,
    Scenario,
    StartChannel,
    StopChannel,
    StopLoss,
    WidenEligibility,
)
from forcegen.scenario.params import Param

__all__ = [
    "DAYS_PER_MONTH",
    "ChannelPlan",
    "Plan",
    "PoolPlan",
    "Schedule",
    "compile_block",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAYS_PER_MONTH = 365.25 / 12
"""Days in an average month: converts monthly salaries and wages to daily amounts."""

COMBAT = np.array([c in ("killed", "wounded", "missing") for c in HAZARD_CAUSES])


@dataclass(frozen=True)
class Schedule:
    """A quantity that is piecewise constant in time and varies by replicate.

    Attributes:
        values: ``(R, S, ...)`` — one column per distinct segment.
        day_step: ``(T,)`` — the segment in force on each day.
    """

    values: FloatArray
    day_step: IntArray

    def at(self, day: int) -> FloatArray:
        """Values on ``day`` for every replicate, shape ``(R, ...)`` (a view)."""
        return self.values[:, self.day_step[day]]

    def daily(self) -> FloatArray:
        """Dense ``(R, T, ...)`` array; for tests and small runs only."""
        return self.values[:, self.day_step]

    @staticmethod
    def constant(values: FloatArray, days: int) -> Schedule:
        """The same per-replicate values on every day."""
        return Schedule(values[:, None, ...], np.zeros(days, dtype=np.int64))

    def with_change(self, day: int, new: FloatArray) -> Schedule:
        """These values until ``day``, then ``new`` from ``day`` on (an event)."""
        values = np.concatenate([self.values, new[:, None, ...]], axis=1)
        day_step = self.day_step.copy()
        day_step[day:] = values.shape[1] - 1
        return Schedule(values, day_step)

    @staticmethod
    def combine(fn: Callable[..., FloatArray], *parts: Schedule) -> Schedule:
        """``fn`` applied segment by segment to several schedules (union of breakpoints)."""
        keys = np.stack([p.day_step for p in parts], axis=1)
        combos, day_step = np.unique(keys, axis=0, return_inverse=True)
        columns = [
            fn(*(p.values[:, k] for p, k in zip(parts, combo, strict=True))) for combo in combos
        ]
        return Schedule(np.stack(columns, axis=1), day_step.reshape(-1).astype(np.int64))


@dataclass(frozen=True)
class PoolPlan:
    """A pool's numbers for one block (people, people per day, currency per day)."""

    index: int
    id: str
    initial: FloatArray
    replenish: Schedule
    widen: list[tuple[int, FloatArray]]
    wage_per_month: Schedule | None


@dataclass(frozen=True)
class Wave:
    """A mobilisation wave: ``size`` people called evenly over ``duration`` days."""

    start_day: int
    size: FloatArray
    duration: IntArray
    evasion: FloatArray
    arrivals: bool = False
    """True when ``size`` counts arrivals: ``size / (1 - evasion)`` are called."""


@dataclass(frozen=True)
class ChannelPlan:
    """A channel's numbers for one block of ``R`` replicates.

    Ages are days since signing. Array slots ``0 … n_ages-2`` are single ages; the last
    slot is the *tail*: for a fixed-term channel, people held past their term by
    stop-loss; for an indefinite one, everyone older than the explicit window.
    ``interval_multipliers[:, k]`` multiplies combat hazards for ages in the k-th interval
    of the scenario's service-multiplier breakpoints (the last interval: 1).

    A term longer than the horizon needs no slot for most of its ages: past the *young*
    ages (``0 … young``: training, minimum service, service multipliers), every age
    faces the same hazards, and only people within ``horizon`` days of the term can
    reach it. So slot ``s`` holds age ``s`` up to ``young``, and age ``s + age_offset``
    above: slot ``young + 1`` stands for every age from ``young + 1`` to
    ``term - horizon - 1`` (nobody there reaches the term within the horizon, whichever
    of these ages they have), and the slots above it for the last ``horizon + 1`` days
    of the term. The age structure then has at most ``young + horizon + 4`` slots,
    whatever the term (:func:`age_slots`); ``age_offset`` is 0 for terms that fit.
    """

    index: int
    id: str
    pool: int
    model: str
    recruits_per_day: Schedule | None
    base_rate: Schedule | None
    pay_elasticity: FloatArray
    depletion_exponent: FloatArray
    reputation_elasticity: FloatArray
    active: NDArray[np.bool_]
    waves: list[Wave]
    training_days: IntArray
    term_days: IntArray | None
    renew_age: IntArray
    renew_slot: IntArray
    renew_into: int
    renewal_probability: Schedule
    early_termination: Schedule
    min_service_days: IntArray
    term_end_cause: str
    withdrawal: Schedule
    hazards: Schedule
    interval_multipliers: FloatArray
    return_probability: Schedule
    recovery_rate: FloatArray
    stop_loss: NDArray[np.bool_]
    salary_per_day: Schedule
    sign_up_bonus: Schedule
    deployment_bonus: Schedule
    death_compensation: Schedule
    wound_compensation: Schedule
    paid_share: Schedule
    monthly_pay: Schedule
    wage_per_month: Schedule | None
    initial_training: FloatArray
    initial_deployed: FloatArray
    initial_recovering: FloatArray
    n_ages: int
    young: int = 0
    age_offset: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    term_slot: IntArray | None = None
    absence_return: dict[str, Schedule] = field(default_factory=dict)
    """Per absence cause (``deserted``, ``refused``) with returns to duty: the chance a
    leaver is caught and returned (the rest leave for good)."""
    absence_rate: dict[str, FloatArray] = field(default_factory=dict)
    """Per absence cause: daily probability of being back on duty (1 / mean days)."""
    absence_slot: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """``(R,)`` slot where people back from absence resume: the renewal age (fixed
    terms) or the tail (indefinite contracts)."""
    front_share: Schedule | None = None
    """With ``losses.exposure``: the channel's share of the deployed at the front."""
    retention_service: FloatArray | None = None
    """``(R,)`` service coefficient of pay-driven retention (per year), when any
    replicate's is non-zero: early termination then varies with age
    (:mod:`forcegen.engine.retention`)."""
    conscription: ConscriptionPlan | None = None

    @property
    def tail(self) -> int:
        """Index of the tail slot."""
        return self.n_ages - 1

    def slot_of(self, age: IntArray) -> IntArray:
        """The slot of each replicate's ``age`` (below the term)."""
        if not self.age_offset.any():
            return age
        return np.where(age <= self.young, age, np.maximum(age - self.age_offset, self.young + 1))

    def ages_of_slots(self) -> IntArray:
        """``(R, n_ages - 1)``: the age each slot below the tail stands for (the
        youngest: slot ``young + 1`` of a compressed term stands for all ages up to
        its own)."""
        shape = (len(self.training_days), self.n_ages - 1)
        age = np.broadcast_to(np.arange(self.n_ages - 1), shape)
        if not self.age_offset.any():
            return age
        return np.where(age > self.young, age + self.age_offset[:, None], age)

    def slot_widths(self, r: int, start: int, stop: int) -> IntArray | None:
        """How many ages each slot ``start … stop - 1`` of replicate ``r`` stands for,
        or None when each stands for one."""
        off = int(self.age_offset[r]) if self.age_offset.size else 0
        if off == 0 or not start <= self.young + 1 < stop:
            return None
        widths = np.ones(stop - start, dtype=np.int64)
        widths[self.young + 1 - start] += off
        return widths


def term_slots(term: IntArray, young: int, days: int) -> IntArray:
    """The slot where each replicate's term ends: the term itself, or for a term that
    outlasts ``young + days + 2`` days, that many (see :class:`ChannelPlan`)."""
    return np.minimum(term, young + days + 2)


def age_slots(term: int | None, young: int, days: int) -> int:
    """Slots of a channel's age structure (the tail included) for its longest term
    (None: indefinite, where ``young`` is its window), its young ages and the
    horizon: never more than ``young + days + 4``."""
    if term is None:
        return young + 1
    return int(term_slots(np.array([term]), young, days)[0]) + 2


@dataclass(frozen=True)
class Plan:
    """Everything the step function needs for one block."""

    days: int
    runs: int
    start_date: dt.date
    channels: list[ChannelPlan]
    pools: list[PoolPlan]
    channel_ids: list[str] = field(default_factory=list)
    pool_ids: list[str] = field(default_factory=list)
    front_exponent: FloatArray | None = None
    """``(R,)`` exponent of the people at the front in the losses per day (None: 1)."""
    front_reference: FloatArray | None = None
    """``(R,)`` people at the front at which the combat hazards are as given."""
    priced: PricedPlan = field(default_factory=PricedPlan.empty)
    """Priced pools and channels (:mod:`forcegen.engine.pricing`)."""


class _Resolver:
    """Looks up parameter values by path and turns them into schedules."""

    def __init__(self, scenario: Scenario, params: ParameterSet) -> None:
        self.scenario = scenario
        self.params = params
        self.days = scenario.horizon_days
        self.runs = next(iter(params.values.values())).shape[0]
        self._names: dict[int, str] = {}
        from forcegen.scenario.walk import iter_params

        for ref in iter_params(scenario):
            self._names[id(ref.param)] = ref.name

    def values(self, param: Param) -> FloatArray:
        return self.params.values[self._names[id(param)]]

    def scalar(self, param: Param) -> FloatArray:
        """``(R,)`` values of a parameter that cannot be a series."""
        v = self.values(param)
        return v if v.ndim == 1 else v[:, 0]

    def schedule(self, param: Param) -> Schedule:
        v = self.values(param)
        if not param.is_series:
            return Schedule.constant(v, self.days)
        offsets = np.array([(d - self.scenario.start_date).days for d in param.step_dates()])
        step = np.searchsorted(offsets, np.arange(self.days), side="right") - 1
        return Schedule(v, np.clip(step, 0, None).astype(np.int64))

    def day_of(self, date: dt.date) -> int:
        """Day index of ``date``; an event dated before the start applies from day 0
        (the loader rejects such dates; scenarios built in code may hold them)."""
        return max(0, (date - self.scenario.start_date).days)

    def offset_of(self, date: dt.date) -> int:
        """Signed day index of ``date`` (negative before the start)."""
        return (date - self.scenario.start_date).days


def _as_days(values: FloatArray) -> IntArray:
    return np.maximum(np.rint(values), 0).astype(np.int64)


def _rate_to_scenario(res: _Resolver, currency: str | None) -> FloatArray:
    if currency is None or currency == res.scenario.currency:
        return np.ones(res.runs)
    return res.scalar(res.scenario.exchange_rates[currency])


def _service_retention(res: _Resolver, contract: Contract) -> bool:
    """Whether pay-driven retention makes early termination depend on service age."""
    ret = contract.retention
    return ret is not None and bool(np.any(res.scalar(ret.service_coefficient) != 0))


def compile_block(scenario: Scenario, params: ParameterSet) -> Plan:
    """Resolve ``scenario`` with one block's parameter values into a :class:`Plan`."""
    res = _Resolver(scenario, params)
    pools = [_pool_plan(res, i, p) for i, p in enumerate(scenario.pools)]
    pool_index = {p.id: i for i, p in enumerate(scenario.pools)}
    channel_index = {c.id: i for i, c in enumerate(scenario.channels)}
    intensity = res.schedule(scenario.losses.intensity)
    channels = [
        _channel_plan(res, i, ch, pool_index, channel_index, intensity, pools)
        for i, ch in enumerate(scenario.channels)
    ]
    from forcegen.engine.pricing_compile import priced_plan

    exposure = scenario.losses.exposure
    lanchester = exposure is not None and exposure.front_exponent is not None
    return Plan(
        days=res.days,
        runs=res.runs,
        start_date=scenario.start_date,
        channels=channels,
        pools=pools,
        channel_ids=[c.id for c in scenario.channels],
        pool_ids=[p.id for p in scenario.pools],
        front_exponent=(
            res.scalar(exposure.front_exponent)  # type: ignore[union-attr,arg-type]
            if lanchester
            else None
        ),
        front_reference=(
            res.scalar(exposure.reference_front_people)  # type: ignore[union-attr,arg-type]
            if lanchester
            else None
        ),
        priced=priced_plan(res, channels),
    )


def _pool_plan(res: _Resolver, index: int, pool: object) -> PoolPlan:
    from forcegen.scenario.model import Pool

    assert isinstance(pool, Pool)
    widen = [
        (res.day_of(ev.date), res.scalar(ev.add_people))
        for ev in res.scenario.events
        if isinstance(ev, WidenEligibility) and ev.pool == pool.id
    ]
    wage: Schedule | None = None
    if pool.reference_wage_per_month is not None:
        rate = _rate_to_scenario(res, pool.currency)
        sched = res.schedule(pool.reference_wage_per_month)
        wage = Schedule(sched.values * rate[:, None], sched.day_step)
    return PoolPlan(
        index=index,
        id=pool.id,
        initial=res.scalar(pool.initial_people),
        replenish=res.schedule(pool.replenish_per_day),
        widen=widen,
        wage_per_month=wage,
    )


def _pay_schedules(res: _Resolver, ch: Channel, events: Sequence[ChangePay]) -> dict[str, Schedule]:
    pay: PayPackage = ch.pay
    rate = _rate_to_scenario(res, pay.currency)
    out: dict[str, Schedule] = {}
    for key in (
        "salary_per_month",
        "sign_up_bonus_federal",
        "sign_up_bonus_regional",
        "deployment_bonus",
        "death_compensation",
        "wound_compensation",
        "paid_share",
    ):
        sched = res.schedule(getattr(pay, key))
        for ev in events:
            new = getattr(ev, key, None)
            if new is not None:
                sched = sched.with_change(res.day_of(ev.date), res.scalar(new))
        if key != "paid_share":
            sched = Schedule(
                sched.values * rate.reshape((-1,) + (1,) * (sched.values.ndim - 1)),
                sched.day_step,
            )
        out[key] = sched
    return out


def _channel_plan(
    res: _Resolver,
    index: int,
    ch: Channel,
    pool_index: dict[str, int],
    channel_index: dict[str, int],
    intensity: Schedule,
    pools: list[PoolPlan],
) -> ChannelPlan:
    scenario = res.scenario
    days, runs = res.days, res.runs
    losses = scenario.losses
    events = scenario.events
    written = ch
    ch = effective_channel(ch)  # a conscription channel as a fixed-term one

    # -- recruiting on/off and stop-loss, as daily flags
    active = np.full(days, ch.active)
    stop_loss = np.zeros(days, dtype=bool)
    for ev in sorted(events, key=lambda e: e.date):
        day = res.day_of(ev.date)
        if isinstance(ev, StartChannel | StopChannel) and ev.channel == ch.id:
            active[day:] = isinstance(ev, StartChannel)
        if isinstance(ev, StopLoss) and (ev.channels is None or ch.id in ev.channels):
            stop_loss[day:] = ev.active and ch.conscription is None
    # Dated legal rules: an open-ended contract holds people at term end as stop-loss
    # does (the two switch independently); suspended termination zeroes its hazard.
    open_ended, termination_allowed = contract_rule_flags(res, ch.id)
    stop_loss = stop_loss | open_ended

    # -- pay, converted to the scenario currency; salaries per day
    pay = _pay_schedules(
        res,
        ch,
        sorted(
            (e for e in events if isinstance(e, ChangePay) and e.channel == ch.id),
            key=lambda e: e.date,
        ),
    )
    salary = pay["salary_per_month"]
    salary_per_day = Schedule(salary.values / DAYS_PER_MONTH, salary.day_step)
    sign_up = Schedule.combine(
        lambda a, b: a + b, pay["sign_up_bonus_federal"], pay["sign_up_bonus_regional"]
    )

    # -- ages
    training = _as_days(res.scalar(ch.training_days))
    term: IntArray | None = None
    contract = ch.contract
    if contract.term_days is not None:
        term = np.maximum(_as_days(res.scalar(contract.term_days)), training + 1)
    training = service_training_days(ch, training, term)
    min_service = _as_days(res.scalar(contract.min_service_days))
    breakpoints = [m.until_day for m in losses.service_multipliers]
    age_offset = np.zeros(runs, dtype=np.int64)
    term_slot: IntArray | None = None
    if term is not None:
        # Ages 0..term (compressed past the young ages when the term outlasts the
        # horizon; see ChannelPlan), then the stop-loss tail.
        young = max([int(training.max()), int(min_service.max()), *breakpoints])
        if _service_retention(res, contract):
            young = max(young, int(term.max()))  # every age its own hazard: no compression
        term_slot = term_slots(term, young, days)
        age_offset = term - term_slot
        n_ages = int(term_slot.max()) + 2
        renew_term = (
            term - training
            if contract.renewal_term_days is None
            else _as_days(res.scalar(contract.renewal_term_days))
        )
        renew_age = np.clip(term - renew_term, training, term - 1)
    else:
        window = max([int(training.max()) + 1, int(min_service.max()) + 1, *breakpoints])
        young = window
        n_ages = age_slots(None, window, days)
        renew_age = training.copy()
    # Combat hazards are multiplied early in service: one factor per interval between
    # the `until_day` breakpoints, and 1 after the last.
    interval_multipliers = np.ones((runs, len(losses.service_multipliers) + 1))
    for k, m in enumerate(losses.service_multipliers):
        interval_multipliers[:, k] = res.scalar(m.multiplier)

    # -- hazards: (R, S, 5) per cause, with intensity and the channel's multipliers
    scaled = np.array([c in losses.intensity_applies_to for c in HAZARD_CAUSES])
    base = [res.schedule(getattr(losses, f"{c}_per_day")) for c in HAZARD_CAUSES]
    mult = np.stack(
        [
            res.scalar(ch.hazard_multipliers[c]) if c in ch.hazard_multipliers else np.ones(runs)
            for c in HAZARD_CAUSES
        ],
        axis=1,
    )

    def _hazards(inten: FloatArray, *causes: FloatArray) -> FloatArray:
        h = np.stack(causes, axis=-1) * mult
        return np.where(scaled, h * inten[:, None], h)

    hazards = Schedule.combine(_hazards, intensity, *base)
    if losses.exposure is not None:
        hazards = _exposed(res, ch, hazards)

    # -- enlistment
    model = ch.enlistment.model
    recruits: Schedule | None = None
    base_rate: Schedule | None = None
    zeros = np.zeros(runs)
    elasticity, depletion, reputation = zeros, zeros, zeros
    if model == "series":
        recruits = res.schedule(ch.enlistment.recruits_per_day)  # type: ignore[union-attr]
    elif model == "behavioural":
        enl = ch.enlistment
        base_rate = res.schedule(enl.base_rate_per_day)  # type: ignore[union-attr]
        elasticity = res.scalar(enl.pay_elasticity)  # type: ignore[union-attr]
        depletion = res.scalar(enl.depletion_exponent)  # type: ignore[union-attr]
        reputation = res.scalar(enl.reputation_elasticity)  # type: ignore[union-attr]
    waves = [
        Wave(
            start_day=res.offset_of(ev.date),  # a wave begun earlier continues
            size=res.scalar(ev.size_people),
            duration=np.maximum(_as_days(res.scalar(ev.duration_days)), 1),
            evasion=res.scalar(ev.evasion_share),
            arrivals=ev.size_counts == "arrivals",
        )
        for ev in events
        if isinstance(ev, MobilisationWave) and ev.channel == ch.id
    ]
    # Monthly pay the behavioural model compares with the civilian wage: salary plus
    # sign-up bonuses spread over the term (12 months when the term is indefinite).
    term_months = term / DAYS_PER_MONTH if term is not None else np.full(runs, 12.0)
    monthly_pay = Schedule.combine(lambda s, b: s + b / term_months, salary, sign_up)

    renewal = res.schedule(contract.renewal_probability)
    early = res.schedule(contract.early_termination_per_day)
    retention_service: FloatArray | None = None
    if contract.retention is not None:
        from forcegen.engine.pricing_compile import retention_schedules

        renewal, early, retention_service = retention_schedules(
            res, ch, salary, pay["paid_share"], renewal, early, term
        )

    recovery = losses.recovery
    return ChannelPlan(
        index=index,
        id=ch.id,
        pool=pool_index[ch.pool] if ch.pool is not None else -1,
        model=model,
        recruits_per_day=recruits,
        base_rate=base_rate,
        pay_elasticity=elasticity,
        depletion_exponent=depletion,
        reputation_elasticity=reputation,
        active=active,
        waves=waves,
        training_days=training,
        term_days=term,
        renew_age=renew_age.astype(np.int64),
        renew_slot=np.where(
            renew_age <= young, renew_age, np.maximum(renew_age - age_offset, young + 1)
        ).astype(np.int64),
        renew_into=channel_index[contract.renew_into] if contract.renew_into else index,
        renewal_probability=renewal,
        early_termination=_allowed(early, termination_allowed),
        min_service_days=min_service,
        term_end_cause=contract.on_term_end,
        withdrawal=res.schedule(ch.training_withdrawal_probability),
        hazards=hazards,
        interval_multipliers=interval_multipliers,
        return_probability=res.schedule(recovery.return_probability),
        recovery_rate=1.0 / np.maximum(res.scalar(recovery.mean_days), 1.0),
        stop_loss=stop_loss,
        salary_per_day=salary_per_day,
        sign_up_bonus=sign_up,
        deployment_bonus=pay["deployment_bonus"],
        death_compensation=pay["death_compensation"],
        wound_compensation=pay["wound_compensation"],
        paid_share=pay["paid_share"],
        monthly_pay=monthly_pay,
        wage_per_month=pools[pool_index[ch.pool]].wage_per_month if ch.pool else None,
        initial_training=res.scalar(ch.initial.training),
        initial_deployed=res.scalar(ch.initial.deployed),
        initial_recovering=res.scalar(ch.initial.recovering),
        n_ages=n_ages,
        young=young,
        age_offset=age_offset,
        term_slot=term_slot,
        absence_return={
            cause: res.schedule(losses.returns_to_duty[cause].return_probability)
            for cause in ABSENCE_CAUSES
            if cause in losses.returns_to_duty
        },
        absence_rate={
            cause: 1.0 / np.maximum(res.scalar(losses.returns_to_duty[cause].mean_days), 1.0)
            for cause in ABSENCE_CAUSES
            if cause in losses.returns_to_duty
        },
        absence_slot=(
            np.where(renew_age <= young, renew_age, np.maximum(renew_age - age_offset, young + 1))
            if term is not None
            else np.full(runs, n_ages - 1)
        ).astype(np.int64),
        front_share=_front_share(res, ch),
        retention_service=retention_service,
        conscription=conscription_plan(
            written,
            scalar=res.scalar,
            schedule=res.schedule,
            offset_of=res.offset_of,
            channel_index=channel_index,
        ),
    )


def contract_rule_flags(
    res: _Resolver, channel_id: str
) -> tuple[NDArray[np.bool_], NDArray[np.bool_] | None]:
    """Daily flags of the ``contract_rules`` events for one channel: whether contracts
    are open-ended, and whether early termination is allowed (None when no event
    touches it, so that the schedule is kept as it is)."""
    days = res.days
    open_ended = np.zeros(days, dtype=bool)
    allowed: NDArray[np.bool_] | None = None
    for ev in sorted(res.scenario.events, key=lambda e: e.date):
        if not isinstance(ev, ContractRules):
            continue
        if ev.channels is not None and channel_id not in ev.channels:
            continue
        day = res.day_of(ev.date)
        if ev.open_ended is not None:
            open_ended[day:] = ev.open_ended
        if ev.voluntary_termination is not None:
            if allowed is None:
                allowed = np.ones(days, dtype=bool)
            allowed[day:] = ev.voluntary_termination
    return open_ended, allowed


def _allowed(schedule: Schedule, allowed: NDArray[np.bool_] | None) -> Schedule:
    """``schedule`` on the days ``allowed``, 0 on the others."""
    if allowed is None:
        return schedule
    runs = schedule.values.shape[0]
    gate = Schedule(np.tile(np.array([0.0, 1.0]), (runs, 1)), allowed.astype(np.int64))
    return Schedule.combine(lambda v, g: v * g, schedule, gate)


def _front_share(res: _Resolver, ch: Channel) -> Schedule | None:
    """The channel's front share with ``losses.exposure`` (its own, else the
    scenario's), None without exposure."""
    exposure = res.scenario.losses.exposure
    if exposure is None:
        return None
    return res.schedule(ch.front_share if ch.front_share is not None else exposure.front_share)


def _exposed(res: _Resolver, ch: Channel, hazards: Schedule) -> Schedule:
    """Combat hazards (killed, wounded, missing) per deployed person-day when the
    scenario's hazards are per day at the front: times ``tempo · (f + (1 − f) ρ)``,
    ``f`` the channel's front share and ``ρ`` the rear hazard ratio (all dated)."""
    exposure = res.scenario.losses.exposure
    assert exposure is not None
    front = ch.front_share if ch.front_share is not None else exposure.front_share
    factor = Schedule.combine(
        lambda tempo, f, rho: tempo * (f + (1.0 - f) * rho),
        res.schedule(exposure.tempo),
        res.schedule(front),
        res.schedule(exposure.rear_hazard_ratio),
    )
    return Schedule.combine(lambda h, e: np.where(COMBAT, h * e[:, None], h), hazards, factor)
