"""What each implementation reports per replicate, and how they are compared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.simulate import BlockRun

__all__ = ["ReplicateStats", "from_block"]


@dataclass(frozen=True)
class ReplicateStats:
    """Per-replicate outcomes compared across implementations.

    Attributes:
        end_deployed: Deployed at the end of the last day.
        end_in_service: Training + deployed + recovering at the end of the last day.
        losses: Cumulative exits over the horizon, every cause.
        killed: Cumulative killed.
        person_days: Sum over days of end-of-day people in service (the work done).
    """

    end_deployed: int
    end_in_service: int
    losses: int
    killed: int
    person_days: int


def from_block(run: BlockRun, replicates: int | None = None) -> list[ReplicateStats]:
    """The stats of a forcegen block (one channel)."""
    out = run.output
    strength: NDArray[np.int64] = out.strength[:, :, 0, :].astype(np.int64)  # (R, T, 3)
    in_service = strength.sum(axis=2)
    exits = out.outflow[:, :, 0, :].astype(np.int64).sum(axis=1)  # (R, causes)
    n = strength.shape[0] if replicates is None else replicates
    return [
        ReplicateStats(
            end_deployed=int(strength[r, -1, 1]),
            end_in_service=int(in_service[r, -1]),
            losses=int(exits[r].sum()),
            killed=int(exits[r, 0]),
            person_days=int(in_service[r].sum()),
        )
        for r in range(n)
    ]
