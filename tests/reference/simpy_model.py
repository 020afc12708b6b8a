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
    ContractRules,
    MobilisationWave,
    Scenario,
    StartChannel,
    StopChannel,
    StopLoss,
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


@dataclass(frozen=True)
class RefModel:
    """A scenario resolved for the reference model."""

    horizon: int
    channels: list[RefChannel]
    service_multipliers: list[tuple[int, float]]
    recovery_rate: float
    return_probability: list[float]

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


def build_model(scenario: Scenario) -> RefModel:
    """Resolve a scenario (point values, no pools) into a :class:`RefModel`."""
    if scenario.pools:
        raise ValueError("the reference model does not support pools")
    start, days = scenario.start_date, scenario.horizon_days
    losses = scenario.losses
    intensity = _daily(losses.intensity, start, days)
    index = {c.id: i for i, c in enumerate(scenario.channels)}
    channels: list[RefChannel] = []
    for i, ch in enumerate(scenario.channels):
        if ch.enlistment.model not in ("series", "mobilisation"):
            raise ValueError("the reference model supports series and mobilisation only")
        if ch.pool is not None:
            raise ValueError("the reference model does not support pools")
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
            elif not isinstance(ev, StartChannel | StopChannel | StopLoss):
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
        channels.append(
            RefChannel(
                id=ch.id,
                index=i,
                recruits=(
                    _daily(ch.enlistment.recruits_per_day, start, days)
                    if ch.enlistment.model == "series"
                    else [0.0] * days
                ),
                active=active,
                training=training,
                withdrawal=_daily(ch.training_withdrawal_probability, start, days),
                term=term,
                renewal=_daily(contract.renewal_probability, start, days),
                renew_age=renew_age,
                renew_into=index[contract.renew_into] if contract.renew_into else i,
                on_term_end=contract.on_term_end,
                early_termination=[
                    e if ok else 0.0
                    for e, ok in zip(
                        _daily(contract.early_termination_per_day, start, days),
                        may_terminate,
                        strict=True,
                    )
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

    def _clock(self) -> Proc:
        """The day's scenario-level phases: stop-loss switches, enlistment, records."""
        model, rng = self.model, self.rng
        for day in range(model.horizon):
            yield from self._at(day, START)
            for ch in model.channels:
                self.stop_loss_now[ch.index] = ch.stop_loss[day]
            yield from self._at(day, ENLIST)
            for ch in model.channels:
                self._waves(ch, day)
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
                        hazard += early[day]
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
                e = early[day] if a >= min_service else 0.0
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
    )
