"""Small helpers shared by the engine tests: scenarios from dicts, ensembles of blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.simulate import Mode, run_block
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.scenario.model import EXIT_CAUSES, Scenario

FloatArray = NDArray[np.float64]
SERIES = ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid")


def no_losses(**overrides: Any) -> dict[str, Any]:
    """A ``losses`` block with every hazard zero (override what a test needs)."""
    losses: dict[str, Any] = {
        "killed_per_day": 0.0,
        "wounded_per_day": 0.0,
        "missing_per_day": 0.0,
        "recovery": {"mean_days": 10, "return_probability": 0.5},
    }
    losses.update(overrides)
    return losses


def scenario(
    channels: list[dict[str, Any]],
    *,
    horizon: int,
    losses: dict[str, Any] | None = None,
    **extra: Any,
) -> Scenario:
    """A validated scenario starting 2023-01-01."""
    spec: dict[str, Any] = {
        "name": "test",
        "start_date": "2023-01-01",
        "horizon_days": horizon,
        "channels": channels,
        "losses": losses if losses is not None else no_losses(),
        **extra,
    }
    return Scenario.model_validate(spec)


@dataclass(frozen=True)
class Ensemble:
    """Every output series of ``runs`` replicates, as float64 ``(runs, T, ...)`` arrays."""

    strength: FloatArray
    inflow: FloatArray
    outflow: FloatArray
    transition: FloatArray
    pool: FloatArray
    cost: FloatArray
    unpaid: FloatArray

    def exits(self, cause: str) -> FloatArray:
        """``(runs, T, C)`` daily exits by one cause."""
        return self.outflow[..., EXIT_CAUSES.index(cause)]


def ensemble(
    scn: Scenario,
    *,
    runs: int,
    seed: int,
    mode: Mode = "stochastic",
    sample_parameters: bool = False,
) -> Ensemble:
    """Run enough blocks for ``runs`` replicates (block 0, 1, …) and keep the first ``runs``."""
    n_blocks = -(-runs // BLOCK_SIZE)
    outs = [
        run_block(scn, seed=seed, block=b, mode=mode, sample_parameters=sample_parameters).output
        for b in range(n_blocks)
    ]
    arrays = {
        name: np.concatenate([getattr(o, name) for o in outs])[:runs].astype(np.float64)
        for name in SERIES
    }
    return Ensemble(**arrays)


def mean_field(scn: Scenario, *, sample_parameters: bool = False) -> Ensemble:
    """The mean-field trajectory (replicate 0 of block 0; all replicates are equal
    when sampling is off)."""
    return ensemble(scn, runs=1, seed=0, mode="mean-field", sample_parameters=sample_parameters)
