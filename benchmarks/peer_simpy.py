"""The benchmark scenario as a SimPy discrete-event model: one process per soldier.

Written as a discrete-event modeller would: a soldier's process does not wake every
day; it samples the day of its next event and sleeps until then. With constant daily
probabilities the wait until the first "success" of a daily Bernoulli trial is
geometric, so this is the same stochastic process as docs/model.md's day-by-day
draws, exactly (the same competing risks, returns, term ends and renewals):

* deployed at the start of day ``d``: the exit day is ``d + G − 1`` with
  ``G ~ Geometric(k + w + s)``; the cause is categorical in proportion to the hazards;
  a wounded person returns later with probability ``r``;
* recovering at the start of day ``d``: returns on day ``d + G − 1`` with
  ``G ~ Geometric(1 / mean_days)``, and is exposed from the next day on;
* term end on the day the age after ageing reaches the term, after that day's exits
  and returns; renewal restarts the contract at the training length, status kept;
* trainees graduate on the day their age reaches the training length (withdrawing
  with probability ``withdrawal``).

Within a day, SimPy times ``day * TICKS + phase`` keep the documented order of phases.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from benchmarks.scenario import BenchParams
from benchmarks.stats import ReplicateStats

__all__ = ["run_simpy"]

TICKS = 10
RETURNS, EXITS, TERM_END, ENLIST, GRADUATE, RECORD = 1, 2, 4, 5, 6, 9
TRAINING, DEPLOYED, RECOVERING = 0, 1, 2

Proc = Generator[simpy.Event, Any, None]


class _Replicate:
    def __init__(self, p: BenchParams, seed: int) -> None:
        self.p = p
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.env = simpy.Environment()
        self.count = [0, 0, 0]
        self.in_service = np.zeros(p.horizon_days, dtype=np.int64)
        self.deployed_end = 0
        self.exits = 0
        self.killed = 0
        self.p_exit = p.killed + p.wounded + p.deserted
        # log(1 − p) once: geometric draws by inversion, G = ceil(log U / log(1 − p)).
        self.log_stay = math.log1p(-self.p_exit)
        self.log_unrecovered = math.log1p(-p.recovery_rate)

    def geometric(self, log_q: float) -> int:
        """Trials until the first success (>= 1) when failure has log-probability log_q."""
        return max(1, math.ceil(math.log(1.0 - self.rng.random()) / log_q))

    def run(self) -> ReplicateStats:
        p, rng = self.p, self.rng
        for _ in range(p.initial_training):
            self._start(TRAINING, rng.randrange(0, p.training_days), 0)
        for _ in range(p.initial_deployed):
            self._start(DEPLOYED, rng.randrange(p.training_days, p.term_days), 0)
        for _ in range(p.initial_recovering):
            self._start(RECOVERING, rng.randrange(p.training_days, p.term_days), 0)
        self.env.process(self._clock())
        self.env.run()
        return ReplicateStats(
            end_deployed=self.deployed_end,
            end_in_service=int(self.in_service[-1]),
            losses=self.exits,
            killed=self.killed,
            person_days=int(self.in_service.sum()),
        )

    def _start(self, status: int, age: int, day: int) -> None:
        self.count[status] += 1
        self.env.process(self._life(status, age, day))

    def _at(self, day: int, phase: int) -> simpy.Event:
        return self.env.timeout(day * TICKS + phase - self.env.now)

    def _clock(self) -> Proc:
        """Recruits (Poisson, at the enlistment phase) and end-of-day records."""
        p = self.p
        for day in range(p.horizon_days):
            yield self._at(day, ENLIST)
            for _ in range(int(self.np_rng.poisson(p.recruits_per_day))):
                # Joins at age 0 today; from tomorrow on a trainee of age 0.
                self._start(TRAINING, 0, day + 1)
            yield self._at(day, RECORD)
            self.in_service[day] = sum(self.count)
        self.deployed_end = self.count[DEPLOYED]

    def _leave(self, status: int, day: int, killed: bool = False) -> None:
        self.count[status] -= 1
        if day < self.p.horizon_days:
            self.exits += 1
            self.killed += killed

    def _life(self, status: int, age: int, day: int) -> Proc:
        """A soldier who is ``status`` with service age ``age`` at the start of ``day``."""
        p, rng, horizon = self.p, self.rng, self.p.horizon_days
        while day < horizon:
            term_day = day + p.term_days - age - 1  # the day ageing reaches the term
            if status == TRAINING:
                grad = day + p.training_days - age - 1
                if grad >= horizon:
                    return
                yield self._at(grad, GRADUATE)
                self.count[TRAINING] -= 1
                if rng.random() < p.withdrawal:
                    self.exits += 1
                    return
                self.count[DEPLOYED] += 1
                status, age, day = DEPLOYED, p.training_days, grad + 1
                continue
            if status == DEPLOYED:
                exit_day = day + self.geometric(self.log_stay) - 1
                if exit_day <= term_day:
                    if exit_day >= horizon:
                        return
                    yield self._at(exit_day, EXITS)
                    u = rng.random() * self.p_exit
                    if u < p.killed:
                        self._leave(DEPLOYED, exit_day, killed=True)
                        return
                    if u >= p.killed + p.wounded or rng.random() >= p.return_probability:
                        self._leave(DEPLOYED, exit_day)  # deserted or wounded_discharged
                        return
                    self.count[DEPLOYED] -= 1
                    self.count[RECOVERING] += 1
                    status = RECOVERING
                    if exit_day < term_day:
                        age, day = age + exit_day - day + 1, exit_day + 1
                        continue
                    # Wounded on the day the term ends: term end still comes today.
            else:  # RECOVERING
                back_day = day + self.geometric(self.log_unrecovered) - 1
                if back_day <= term_day:
                    if back_day >= horizon:
                        return
                    yield self._at(back_day, RETURNS)
                    self.count[RECOVERING] -= 1
                    self.count[DEPLOYED] += 1
                    status = DEPLOYED
                    if back_day < term_day:
                        # Not exposed on the day of return: exits start tomorrow.
                        age, day = age + back_day - day + 1, back_day + 1
                        continue
            # Term end (status kept, whatever happened earlier today).
            if term_day >= horizon:
                return
            yield self._at(term_day, TERM_END)
            if rng.random() < p.renewal:
                age, day = p.renew_age, term_day + 1
            else:
                self._leave(status, term_day)
                return


def run_simpy(p: BenchParams, replicates: int, seed: int) -> list[ReplicateStats]:
    """Simulate ``replicates`` independent replicates."""
    return [_Replicate(p, seed * 1_000_003 + k).run() for k in range(replicates)]
