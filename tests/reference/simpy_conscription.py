"""An independent reference for conscription (docs/model.md, "Conscription"): one SimPy
process per conscript, written from the document, not from the engine.

Scope: one ``kind: conscription`` channel (call-ups spread over their days in whole
people, a service term, deployable after training or not, conversion during service
from a service age on, conversion at term end, into a contract channel) and the
contract channel it converts into (indefinite contract, no recruits or initial force
of its own). Point values only; hazards: killed, missing and deserted (no wounded or
refused, no intensity, no service multipliers), times each channel's multipliers;
no pools, no withdrawal from training. Initial conscripts are in training (spread
uniformly over the non-deployed ages).

Each conscript makes one uniform draw per day while deployed (competing exits), one
at term end (convert or be discharged), one per day of eligible service (convert),
with Python's :class:`random.Random`; a clock process inducts each day's conscripts
and records the counters. Phases of day ``t`` are simulation times ``t * TICKS +
phase``, in the order of docs/model.md.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Param

__all__ = ["RefConscription", "RefConscriptionResult", "build", "run_conscription_reference"]

IntArray = NDArray[np.int64]
Proc = Generator[simpy.Event, Any, None]

TICKS = 10
EXITS, TERM_END, CONVERT, ENLIST, GRADUATE, PLACE, RECORD = 2, 4, 5, 6, 7, 8, 9
TRAINING, DEPLOYED = 0, 1
CONSCRIPTS, CONTRACT = 0, 1


@dataclass(frozen=True)
class RefConscription:
    """The scenario, resolved: two channels (conscripts, then the contract channel)."""

    horizon: int
    call_ups: list[tuple[int, int, int]]  # (first day, people, days)
    service: int
    deployable: bool
    training: int
    per_day: float
    from_day: int
    at_end: float
    initial: int
    hazards: tuple[tuple[float, float, float], tuple[float, float, float]]  # per channel


@dataclass(frozen=True)
class RefConscriptionResult:
    """Daily records of ``n`` replicates.

    Attributes:
        strength: ``(n, T, 2, 2)`` end-of-day training and deployed, per channel.
        called: ``(n, T)`` conscripts inducted.
        converted: ``(n, T)`` conscripts signing a contract (during service or at its end).
        expired: ``(n, T)`` conscripts discharged at term end.
        exits: ``(n, T, 2, 3)`` killed, missing, deserted per channel.
    """

    strength: IntArray
    called: IntArray
    converted: IntArray
    expired: IntArray
    exits: IntArray


def _point(param: Param) -> float:
    if param.value is None:
        raise ValueError("the conscription reference takes point values only")
    return float(param.value)


def build(scenario: Scenario) -> RefConscription:
    """Resolve a two-channel conscription scenario (see the module for its scope)."""
    if len(scenario.channels) != 2 or scenario.pools or scenario.events:
        raise ValueError("the reference takes a conscription and a contract channel only")
    cons_ch, target = scenario.channels
    cons = cons_ch.conscription
    if cons is None or cons.convert_into != target.id:
        raise ValueError("the first channel must convert into the second")
    if target.contract.term_days is not None or _point(target.training_days) != 0:
        raise ValueError("the contract channel must be indefinite, without training")
    losses = scenario.losses
    for cause in ("wounded", "refused"):
        if _point(getattr(losses, f"{cause}_per_day")) != 0:
            raise ValueError(f"the reference has no {cause} hazard")
    if losses.service_multipliers or _point(losses.intensity) != 1:
        raise ValueError("the reference has no service multipliers or intensity")

    def hazards(i: int) -> tuple[float, float, float]:
        ch = scenario.channels[i]
        out = []
        for cause in ("killed", "missing", "deserted"):
            mult = ch.hazard_multipliers.get(cause)
            out.append(
                _point(getattr(losses, f"{cause}_per_day"))
                * (1.0 if mult is None else _point(mult))
            )
        return out[0], out[1], out[2]

    start = scenario.start_date
    return RefConscription(
        horizon=scenario.horizon_days,
        call_ups=[
            ((c.date - start).days, round(_point(c.people)), round(_point(c.duration_days)))
            for c in cons.call_ups
        ],
        service=round(_point(cons.service_days)),
        deployable=cons.deployable,
        training=round(_point(cons_ch.training_days)),
        per_day=_point(cons.conversion_per_day),
        from_day=round(_point(cons.conversion_from_day)),
        at_end=_point(cons.conversion_at_term_end),
        initial=round(_point(cons_ch.initial.training)),
        hazards=(hazards(0), hazards(1)),
    )


class _Replicate:
    def __init__(self, model: RefConscription, seed: int) -> None:
        self.m = model
        self.rng = random.Random(seed)
        self.env = simpy.Environment()
        days = model.horizon
        self.count = [[0, 0], [0, 0]]
        self.strength = np.zeros((days, 2, 2), dtype=np.int64)
        self.called = np.zeros(days, dtype=np.int64)
        self.converted = np.zeros(days, dtype=np.int64)
        self.expired = np.zeros(days, dtype=np.int64)
        self.exits = np.zeros((days, 2, 3), dtype=np.int64)

    def _at(self, day: int, phase: int) -> Proc:
        target = day * TICKS + phase
        if target > self.env.now:
            yield self.env.timeout(target - self.env.now)

    def run(self) -> None:
        m = self.m
        # Undeployable conscripts serve undeployed for the whole term: their
        # "non-deployed ages" are the whole term.
        undeployed = m.training if m.deployable else m.service
        for _ in range(m.initial):
            age = self.rng.randrange(0, undeployed)
            self.count[CONSCRIPTS][TRAINING] += 1
            self.env.process(self._conscript(0, age, TRAINING))
        self.env.process(self._clock())
        self.env.run()

    def _clock(self) -> Proc:
        m = self.m
        for day in range(m.horizon):
            yield from self._at(day, ENLIST)
            for first, people, span in m.call_ups:
                s = day - first
                if 0 <= s < span:
                    today = (people * (s + 1)) // span - (people * s) // span
                    self.called[day] += today
                    for _ in range(today):
                        self.env.process(self._inducted(day))
            yield from self._at(day, RECORD)
            self.strength[day] = self.count

    def _inducted(self, day: int) -> Proc:
        self.count[CONSCRIPTS][TRAINING] += 1
        status = TRAINING
        if self.m.deployable and self.m.training == 0:
            yield from self._at(day, GRADUATE)
            self._deploy()
            status = DEPLOYED
        yield from self._conscript(day + 1, 0, status)

    def _deploy(self) -> None:
        self.count[CONSCRIPTS][TRAINING] -= 1
        self.count[CONSCRIPTS][DEPLOYED] += 1

    def _exit(self, c: int, status: int, day: int, u: float) -> Proc:
        """A deployed person leaves today, by the cause that the draw ``u`` falls in."""
        k, s, _ = self.m.hazards[c]
        cause = 0 if u < k else 1 if u < k + s else 2
        yield from self._at(day, EXITS)
        self.count[c][status] -= 1
        self.exits[day, c, cause] += 1

    def _conscript(self, day: int, age: int, status: int) -> Proc:
        """A conscript's days from ``day`` on, starting it at ``age``."""
        m, rnd = self.m, self.rng.random
        k, s, d = m.hazards[CONSCRIPTS]
        while day < m.horizon:
            if status == DEPLOYED:
                u = rnd()
                if u < k + s + d:
                    yield from self._exit(CONSCRIPTS, status, day, u)
                    return
            age += 1
            if age == m.service:
                yield from self._at(day, TERM_END)
                self.count[CONSCRIPTS][status] -= 1
                if rnd() < m.at_end:
                    self.converted[day] += 1
                    yield from self._contract(day)
                else:
                    self.expired[day] += 1
                return
            if age >= m.from_day and rnd() < m.per_day:
                yield from self._at(day, CONVERT)
                self.count[CONSCRIPTS][status] -= 1
                self.converted[day] += 1
                yield from self._contract(day)
                return
            if m.deployable and status == TRAINING and age == m.training:
                yield from self._at(day, GRADUATE)
                self._deploy()
                status = DEPLOYED
            day += 1

    def _contract(self, day: int) -> Proc:
        """A convert joins the contract channel deployed (its training is 0) after the
        day's graduations, and faces its hazards from the next day."""
        yield from self._at(day, PLACE)
        self.count[CONTRACT][DEPLOYED] += 1
        k, s, d = self.m.hazards[CONTRACT]
        day += 1
        while day < self.m.horizon:
            u = self.rng.random()
            if u < k + s + d:
                yield from self._exit(CONTRACT, DEPLOYED, day, u)
                return
            day += 1


def run_conscription_reference(
    scenario: Scenario | RefConscription, runs: int, seed: int
) -> RefConscriptionResult:
    """Simulate ``runs`` independent replicates of the conscription reference."""
    model = scenario if isinstance(scenario, RefConscription) else build(scenario)
    reps = []
    for k in range(runs):
        rep = _Replicate(model, seed * 1_000_003 + k)
        rep.run()
        reps.append(rep)
    return RefConscriptionResult(
        strength=np.stack([r.strength for r in reps]),
        called=np.stack([r.called for r in reps]),
        converted=np.stack([r.converted for r in reps]),
        expired=np.stack([r.expired for r in reps]),
        exits=np.stack([r.exits for r in reps]),
    )
