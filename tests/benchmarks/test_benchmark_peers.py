"""The benchmark's Mesa and SimPy models simulate what forcegen simulates.

A correctness check of the benchmark itself (its speed ratios only mean something if
the three do equal work), not a timing test: at 1,000 soldiers over 180 days the
three implementations' end strength, cumulative losses and deaths agree in
distribution (two-sample Kolmogorov–Smirnov, fixed seeds, so the outcome is
deterministic). Takes a few seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.peer_mesa import run_mesa
from benchmarks.peer_simpy import run_simpy
from benchmarks.scenario import BenchParams, forcegen_scenario
from benchmarks.stats import ReplicateStats, from_block
from scipy import stats

from forcegen.engine.simulate import run_block

PARAMS = BenchParams(1_000)
KEYS = ("end_deployed", "end_in_service", "losses", "killed", "person_days")


@pytest.fixture(scope="module")
def engine() -> list[ReplicateStats]:
    return from_block(run_block(forcegen_scenario(PARAMS), seed=11, block=0))


def column(runs: list[ReplicateStats], key: str) -> np.ndarray:
    return np.array([getattr(s, key) for s in runs], dtype=float)


@pytest.mark.parametrize(
    ("peer", "replicates"), [(run_simpy, 96), (run_mesa, 24)], ids=["simpy", "mesa"]
)
def test_peer_agrees_with_forcegen(peer, replicates: int, engine: list[ReplicateStats]) -> None:
    runs = peer(PARAMS, replicates, 5)
    for key in KEYS:
        a, b = column(engine, key), column(runs, key)
        p = stats.ks_2samp(a, b).pvalue
        assert p > 1e-3, f"{key}: KS p = {p:.2g}, means {a.mean():.1f} vs {b.mean():.1f}"
        # Means within 4 standard errors as well: KS has little power on the tails.
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se, key


def test_scenario_is_near_steady_state(engine: list[ReplicateStats]) -> None:
    # The recruitment rate roughly replaces the outflow, so every size exercises the
    # same mix of events throughout the horizon.
    assert 0.95 * PARAMS.people < column(engine, "end_in_service").mean() < 1.15 * PARAMS.people
