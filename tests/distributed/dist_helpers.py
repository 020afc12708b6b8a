"""Helpers for the Dask tests that worker processes must be able to import.

Worker processes are spawned with the test process's ``sys.path`` (pytest puts this
folder on it), so the simulation subclasses below, shipped to workers by pickle
reference, resolve there too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from forcegen.engine.simulate import BlockRun
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

RUNS = 300  # three blocks, the last one partly discarded
SEED = 7

# Two channels (one behavioural from a pool, one series), training, a fixed term with
# renewal, wounded with recovery, a service multiplier and several uncertain
# parameters: every stream of the engine is exercised, in a fraction of a second.
TINY: dict[str, Any] = {
    "name": "tiny-distributed",
    "start_date": "2022-08-01",
    "horizon_days": 60,
    "pools": [
        {
            "id": "men",
            "initial_people": {"range": [5000, 8000]},
            "replenish_per_day": 5,
            "reference_wage_per_month": 50000,
        }
    ],
    "channels": [
        {
            "id": "contract",
            "pool": "men",
            "enlistment": {
                "model": "behavioural",
                "base_rate_per_day": {"range": [0.0005, 0.002]},
                "pay_elasticity": 1.0,
            },
            "training_days": {"range": [5, 10]},
            "pay": {"salary_per_month": 60000, "paid_share": {"range": [0.7, 1.0]}},
            "contract": {"term_days": 40, "renewal_probability": 0.3},
            "initial": {"deployed": 300, "training": 20},
        },
        {
            "id": "volunteers",
            "enlistment": {"model": "series", "recruits_per_day": {"range": [2, 6]}},
            "training_days": 3,
            "initial": {"deployed": 100},
        },
    ],
    "losses": {
        "killed_per_day": {"range": [0.001, 0.003]},
        "wounded_per_day": 0.004,
        "missing_per_day": 0.0005,
        "service_multipliers": [{"until_day": 20, "multiplier": 2}],
        "recovery": {"mean_days": 10, "return_probability": 0.6},
    },
}


def tiny_scenario() -> Scenario:
    """The tiny scenario above, validated."""
    return Scenario.model_validate(TINY)


class _MarkedSim(Sim):
    """A Sim that misbehaves on the first attempt at ``bad_block`` (a marker file,
    shared by all processes, records that the attempt happened)."""

    marker: str = ""
    bad_block: int = 1

    def _first_attempt(self, block: int) -> bool:
        if block != self.bad_block or Path(self.marker).exists():
            return False
        Path(self.marker).write_text(str(os.getpid()))
        return True


class KillOnceSim(_MarkedSim):
    """Kills its own worker process (no exception, no clean-up) on the first attempt."""

    def run_one_block(self, block: int) -> BlockRun:
        if self._first_attempt(block):
            os._exit(1)
        return super().run_one_block(block)


class FailOnceSim(_MarkedSim):
    """Raises on the first attempt at ``bad_block``."""

    def run_one_block(self, block: int) -> BlockRun:
        if self._first_attempt(block):
            raise RuntimeError("transient failure")
        return super().run_one_block(block)


class AlwaysFailSim(Sim):
    """Raises on every attempt at block 1."""

    def run_one_block(self, block: int) -> BlockRun:
        if block == 1:
            raise RuntimeError("permanent failure")
        return super().run_one_block(block)
