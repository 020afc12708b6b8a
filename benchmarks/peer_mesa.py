"""The benchmark scenario as a Mesa 3 agent-based model: one agent per soldier.

Written as an agent-based modeller would: every day the model activates every agent
(``model.agents.do("step")``) and each agent draws its own fate for the day with the
model's ``random.Random``; the model then enlists ``Poisson(λ)`` new agents and
records the counts. The phases follow docs/model.md within each agent's day (soldiers
do not interact, so activation order does not matter):

1. a recovering agent returns with probability ``1 / mean_days`` (not exposed today);
   a deployed agent meets at most one of killed / wounded / deserted (competing
   daily probabilities); the wounded return later with probability ``r``;
2. ageing; at the term, renewal (the contract restarts at the training length,
   status kept) or exit;
3. graduation when the age reaches the training length (or withdrawal).
"""

from __future__ import annotations

import mesa
import numpy as np

from benchmarks.scenario import BenchParams
from benchmarks.stats import ReplicateStats

__all__ = ["ForceModel", "Soldier", "run_mesa"]

TRAINING, DEPLOYED, RECOVERING = 0, 1, 2


class Soldier(mesa.Agent):
    """One soldier: a status and a service age (completed days since signing)."""

    def __init__(self, model: ForceModel, status: int, age: int) -> None:
        super().__init__(model)
        self.status = status
        self.age = age
        model.count[status] += 1

    def _leave(self, killed: bool = False) -> None:
        m = self.model
        m.count[self.status] -= 1
        m.exits += 1
        m.killed += killed
        self.remove()

    def step(self) -> None:
        """One day of this soldier's life."""
        m: ForceModel = self.model
        p = m.p
        rnd = m.random.random
        if self.status == RECOVERING:
            if rnd() < p.recovery_rate:
                self._move(DEPLOYED)
        elif self.status == DEPLOYED:
            u = rnd()
            if u < m.p_exit:
                if u < p.killed:
                    self._leave(killed=True)
                    return
                if u >= p.killed + p.wounded or rnd() >= p.return_probability:
                    self._leave()  # deserted, or wounded and discharged
                    return
                self._move(RECOVERING)
        self.age += 1
        if self.age == p.term_days:
            if rnd() < p.renewal:
                self.age = p.renew_age  # placed after graduation: not a graduate
            else:
                self._leave()
                return
        elif self.status == TRAINING and self.age == p.training_days:
            if rnd() < p.withdrawal:
                self._leave()
                return
            self._move(DEPLOYED)

    def _move(self, status: int) -> None:
        count = self.model.count
        count[self.status] -= 1
        count[status] += 1
        self.status = status


class ForceModel(mesa.Model):
    """The force: soldiers, daily Poisson enlistment and end-of-day records."""

    def __init__(self, p: BenchParams, seed: int) -> None:
        super().__init__(seed=seed)
        self.p = p
        self.p_exit = p.killed + p.wounded + p.deserted
        self.count = [0, 0, 0]
        self.exits = 0
        self.killed = 0
        self.day = 0
        self.in_service = np.zeros(p.horizon_days, dtype=np.int64)
        self.np_rng = np.random.default_rng(seed)
        rand = self.random.randrange
        for _ in range(p.initial_training):
            Soldier(self, TRAINING, rand(0, p.training_days))
        for _ in range(p.initial_deployed):
            Soldier(self, DEPLOYED, rand(p.training_days, p.term_days))
        for _ in range(p.initial_recovering):
            Soldier(self, RECOVERING, rand(p.training_days, p.term_days))

    def step(self) -> None:
        """One day."""
        self.agents.do("step")
        for _ in range(int(self.np_rng.poisson(self.p.recruits_per_day))):
            Soldier(self, TRAINING, 0)
        self.in_service[self.day] = sum(self.count)
        self.day += 1

    def stats(self) -> ReplicateStats:
        """Outcomes of the finished replicate."""
        return ReplicateStats(
            end_deployed=self.count[DEPLOYED],
            end_in_service=int(self.in_service[-1]),
            losses=self.exits,
            killed=self.killed,
            person_days=int(self.in_service.sum()),
        )


def run_mesa(p: BenchParams, replicates: int, seed: int) -> list[ReplicateStats]:
    """Simulate ``replicates`` independent replicates."""
    out: list[ReplicateStats] = []
    for k in range(replicates):
        model = ForceModel(p, seed * 1_000_003 + k)
        for _ in range(p.horizon_days):
            model.step()
        out.append(model.stats())
    return out
