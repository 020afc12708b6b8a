"""The benchmark scenario: the essential semantics of docs/model.md, one channel.

Poisson recruits scaled to the force size, training with withdrawal at graduation,
three hazards while deployed (killed, wounded, deserted), wounded who return after a
geometric recovery or are discharged, and a fixed term with renewal. Point values
only (no parameter uncertainty), no pools and no events, so forcegen, the Mesa model
and the SimPy model simulate exactly the same stochastic process.

Rates are chosen so the force is near steady state: the daily outflow of a force of
``N`` (hazard exits ≈ 0.0014·N, term-end exits ≈ 0.0014·N, withdrawals) is about
matched by ``0.003·N`` recruits a day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from forcegen.scenario.model import Scenario

__all__ = ["BenchParams", "forcegen_scenario"]


@dataclass(frozen=True)
class BenchParams:
    """Parameters of the benchmark scenario (days, probabilities per day, people).

    ``force`` is the number of people in service on the start date; ``scale``
    multiplies every stock and the recruitment rate (the headcount-independence check).
    """

    force: int
    horizon_days: int = 180
    training_days: int = 14
    withdrawal: float = 0.05
    term_days: int = 365
    renewal: float = 0.5
    killed: float = 0.0005
    wounded: float = 0.002
    deserted: float = 0.0003
    recovery_days: float = 30.0
    return_probability: float = 0.7
    recruits_share_per_day: float = 0.003
    scale: int = 1

    @property
    def people(self) -> int:
        """Initial people in service, after scaling."""
        return self.force * self.scale

    @property
    def recruits_per_day(self) -> float:
        """Expected recruits per day (Poisson)."""
        return self.recruits_share_per_day * self.people

    @property
    def initial_training(self) -> int:
        """Initial trainees: about 14 days of recruits."""
        return round(0.04 * self.people)

    @property
    def initial_recovering(self) -> int:
        """Initial recovering: about 30 days of wounded who will return."""
        return round(0.04 * self.people)

    @property
    def initial_deployed(self) -> int:
        """Everyone else."""
        return self.people - self.initial_training - self.initial_recovering

    @property
    def renew_age(self) -> int:
        """Age a renewed contract restarts at (docs/model.md: the training length when
        no ``renewal_term_days`` is given)."""
        return self.training_days

    @property
    def recovery_rate(self) -> float:
        """Daily probability a recovering person returns."""
        return 1.0 / self.recovery_days

    def scaled(self, factor: int) -> BenchParams:
        """The same scenario with every stock and rate × ``factor``."""
        return replace(self, scale=self.scale * factor)


def _point(value: float, why: str) -> dict[str, Any]:
    return {"value": value, "assumption": why}


def forcegen_scenario(p: BenchParams) -> Scenario:
    """The benchmark scenario in forcegen's language."""
    bench = "benchmark value"
    return Scenario.model_validate(
        {
            "name": f"benchmark-{p.people}",
            "title": "Benchmark: one channel, three hazards, recovery, renewal",
            "start_date": "2024-01-01",
            "horizon_days": p.horizon_days,
            "channels": [
                {
                    "id": "army",
                    "enlistment": {
                        "model": "series",
                        "recruits_per_day": _point(p.recruits_per_day, bench),
                    },
                    "training_days": _point(p.training_days, bench),
                    "training_withdrawal_probability": _point(p.withdrawal, bench),
                    "contract": {
                        "term_days": _point(p.term_days, bench),
                        "renewal_probability": _point(p.renewal, bench),
                    },
                    "initial": {
                        "training": _point(p.initial_training, bench),
                        "deployed": _point(p.initial_deployed, bench),
                        "recovering": _point(p.initial_recovering, bench),
                    },
                }
            ],
            "losses": {
                "killed_per_day": _point(p.killed, bench),
                "wounded_per_day": _point(p.wounded, bench),
                "missing_per_day": _point(0.0, bench),
                "deserted_per_day": _point(p.deserted, bench),
                "recovery": {
                    "mean_days": _point(p.recovery_days, bench),
                    "return_probability": _point(p.return_probability, bench),
                },
            },
        }
    )
