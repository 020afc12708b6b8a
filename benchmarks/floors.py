"""Where forcegen's time goes, and how far it is from the random-number floor.

Two floors, both measured with the (n, p) the engine actually faces:

* **aggregate floor** — one binomial (or Poisson) of shape ``(replicates,)`` per
  transition per day: what a model *without* age structure would have to draw. The
  engine's draws are recorded (their per-replicate totals of ``n`` and the
  ``n``-weighted mean ``p``) and replayed alone.
* **engine's own draws** — the time spent inside the engine's drawing calls: the
  compiled exits kernel (``exits_and_ageing``: returns, exits and the split of exits
  by cause, for every age slot and replicate, by geometric skipping, plus the day's
  ageing) and NumPy's ``binomial``/``poisson`` for the per-replicate transitions.
  That is what the exact age-structured method draws, without the bookkeeping around
  it.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.compile import compile_block
from forcegen.engine.draws import Array, StochasticDraws
from forcegen.engine.sampling import sample_block
from forcegen.engine.step import simulate_block
from forcegen.scenario.model import Scenario

__all__ = ["EngineProfile", "TimedDraws", "profile_engine", "top_functions"]

FloatArray = NDArray[np.float64]


class TimedDraws(StochasticDraws):
    """The engine's own draws, timed, with their aggregate counterparts recorded."""

    def __init__(self, seed: int, block: int) -> None:
        super().__init__(seed, block)
        self.seconds = 0.0
        self.by_transition: dict[str, float] = {}
        self.calls = 0
        self.elements = 0
        # (kind, n per replicate, mean p per replicate) of every call, for the replay.
        self.aggregate: list[tuple[str, NDArray[np.int64], FloatArray]] = []

    def _account(self, name: str, seconds: float) -> None:
        self.seconds += seconds
        # "army/cause/3" → "cause": the transition, whatever the channel or split index.
        parts = name.split("/")
        key = parts[1] if len(parts) > 1 else name
        self.by_transition[key] = self.by_transition.get(key, 0.0) + seconds

    def binomial(self, name: str, n: Array, p: FloatArray) -> Array:
        start = time.process_time()
        out = super().binomial(name, n, p)
        self._account(name, time.process_time() - start)
        n_arr = np.asarray(n)
        self.calls += 1
        self.elements += int(n_arr.size)
        rows = n_arr.reshape(n_arr.shape[0], -1) if n_arr.ndim else n_arr.reshape(1, 1)
        p_arr = np.broadcast_to(np.asarray(p, dtype=np.float64), n_arr.shape)
        p_rows = p_arr.reshape(rows.shape)
        total = rows.sum(axis=1).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_p = np.where(total > 0, (rows * p_rows).sum(axis=1) / total, p_rows[:, 0])
        self.aggregate.append(("binomial", total, np.clip(mean_p, 0.0, 1.0)))
        return out

    def poisson(self, name: str, lam: FloatArray) -> Array:
        start = time.process_time()
        out = super().poisson(name, lam)
        self._account(name, time.process_time() - start)
        lam_arr = np.atleast_1d(np.asarray(lam, dtype=np.float64))
        self.calls += 1
        self.elements += int(lam_arr.size)
        self.aggregate.append(("poisson", np.zeros(lam_arr.shape[0], np.int64), lam_arr))
        return out

    def exits_and_ageing(
        self,
        name: str,
        svc: Array,
        rec: Array,
        start: int,
        segment: NDArray[np.int64],
        probs: FloatArray,
        keep: int,
        recovery: FloatArray,
    ) -> tuple[Array, Array, Array]:
        # Aggregate counterparts, from the start-of-day numbers: returns, exits, and
        # the split of exits over the K causes (K - 1 conditional binomials).
        rows = np.arange(svc.shape[0])[:, None]
        people = np.where(np.arange(svc.shape[1]) >= start, svc, 0)
        leave = np.minimum(probs.sum(axis=-1), 1.0)[rows, segment]
        exposed = people.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_p = np.where(exposed > 0, (people * leave).sum(axis=1) / exposed, 0.0)
        returning = np.where(np.arange(rec.shape[1]) >= start, rec, 0).sum(axis=1)
        start_time = time.process_time()
        out = super().exits_and_ageing(name, svc, rec, start, segment, probs, keep, recovery)
        self._account(f"{name}/exits", time.process_time() - start_time)
        self.calls += 1
        self.elements += int(svc[:, start:].size * 2)  # slots thinned: service, recovery
        causes = out[2]
        self.aggregate.append(("binomial", returning.astype(np.int64), np.clip(recovery, 0, 1)))
        self.aggregate.append(("binomial", exposed.astype(np.int64), np.clip(mean_p, 0, 1)))
        left = causes.sum(axis=1)
        share = causes / np.maximum(left, 1)[:, None]
        for k in range(causes.shape[1] - 1):
            self.aggregate.append(("binomial", left.astype(np.int64), share[:, k]))
        return out


@dataclass
class EngineProfile:
    """One block of the engine, timed and decomposed.

    Attributes:
        total_seconds: Sampling, compiling and simulating the block, uninstrumented (CPU
            seconds, which other jobs on a shared machine disturb less than wall time;
            likewise below).
        draw_seconds: Inside the engine's draws (exits kernel, NumPy binomial/poisson).
        aggregate_floor_seconds: Replaying one ``(replicates,)`` draw per engine call.
        draw_calls: Number of draw calls (transitions × days, roughly).
        draw_elements: Per-replicate binomials/Poissons drawn plus age slots thinned.
        replicates: Replicates in the block.
        by_transition: Seconds inside the draws of each transition (stream name).
    """

    total_seconds: float
    draw_seconds: float
    aggregate_floor_seconds: float
    draw_calls: int
    draw_elements: int
    replicates: int
    by_transition: dict[str, float] = field(default_factory=dict)


def profile_engine(scenario: Scenario, seed: int = 1, replay_repeats: int = 3) -> EngineProfile:
    """Run block 0 of ``scenario`` plainly (for its time) and with timed draws (for the
    time inside them), and replay the aggregate floor."""
    from benchmarks.measure import warm_up_kernel

    warm_up_kernel()
    breakpoints = [m.until_day for m in scenario.losses.service_multipliers]
    start = time.process_time()
    params = sample_block(scenario, seed=seed, block=0, sample=True)
    plan = compile_block(scenario, params)
    simulate_block(plan, StochasticDraws(seed, 0), breakpoints)
    total = time.process_time() - start
    # The timed run's own bookkeeping (recording aggregates) is outside its timers.
    draws = TimedDraws(seed, 0)
    simulate_block(compile_block(scenario, params), draws, breakpoints)
    replays = []
    for _ in range(replay_repeats):
        gen = np.random.default_rng(seed)
        t0 = time.process_time()
        for kind, n, p in draws.aggregate:
            if kind == "binomial":
                gen.binomial(n, p)
            else:
                gen.poisson(p)
        replays.append(time.process_time() - t0)
    return EngineProfile(
        total_seconds=total,
        draw_seconds=draws.seconds,
        aggregate_floor_seconds=float(np.median(replays)),
        draw_calls=draws.calls,
        draw_elements=draws.elements,
        replicates=plan.runs,
        by_transition=dict(draws.by_transition),
    )


def top_functions(
    scenario: Scenario, seed: int = 1, limit: int = 12
) -> tuple[list[tuple[str, float]], float]:
    """cProfile of one block: the ``limit`` functions with most CPU time spent in them
    (excluding sub-calls), as (name, seconds), and the block's profiled total (s)."""
    params = sample_block(scenario, seed=seed, block=0, sample=True)
    plan = compile_block(scenario, params)
    breakpoints = [m.until_day for m in scenario.losses.service_multipliers]
    # CPU time, not wall time: on a shared machine waiting for a core is not cost.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    simulate_block(plan, StochasticDraws(seed, 0), breakpoints)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{path.rsplit('/', 1)[-1]}:{line}" if line else "builtin"
        rows.append((f"{func} ({where})", float(tottime)))
    rows.sort(key=lambda r: -r[1])
    return rows[:limit], sum(sec for _, sec in rows)
