"""One measurement in a fresh interpreter, printed as one JSON line.

Each measurement runs in its own process so that its peak resident memory
(``ru_maxrss``) is its own and one tool's garbage does not slow the next. Wall and CPU
time cover the simulation only (not interpreter start-up or imports); CPU time is
the robust one when the machine is shared.

Usage (what ``python -m benchmarks`` runs)::

    python -m benchmarks.measure peer TOOL FORCE REPLICATES SEED [HORIZON]
    python -m benchmarks.measure sim SCENARIO RUNS WORKERS SEED
    python -m benchmarks.measure stream FORCE RUNS HORIZON WORKERS
    python -m benchmarks.measure memory FORCE RUNS HORIZON
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import time
from typing import Any

import psutil

__all__ = ["main", "peak_rss_mb", "rss_mb"]


def load() -> float:
    """One-minute load average (other jobs on a shared machine)."""
    return os.getloadavg()[0]


def rss_mb() -> float:
    """Current resident memory of this process (MB)."""
    return psutil.Process().memory_info().rss / 1e6


def reset_peak() -> None:
    """Reset this process's peak RSS to its current RSS (Linux ≥ 4.0), so that the peak
    read later is that of the measured run, not of imports and set-up before it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:  # not Linux, or not permitted: the peak then includes set-up
        pass


def peak_rss_mb() -> float:
    """Peak resident memory of this process since start or :func:`reset_peak` (MB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _record(seconds: float, cpu_start: float, base: float, **extra: Any) -> dict[str, Any]:
    """A measurement's record: wall seconds, CPU seconds since ``cpu_start`` (up to now),
    load, RSS before and at peak (MB), and the measurement's own fields."""
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu_start,
        "load": load(),
        "baseline_rss_mb": base,
        "peak_rss_mb": peak_rss_mb(),
        **extra,
    }


def warm_up_kernel() -> None:
    """Load (or compile) the engine's Numba kernels, so that timings measure the work
    and not the one-off start-up every process pays once (about 0.3 s from the on-disk
    cache; a few seconds the very first time). The peers' imports are likewise done
    before their timings start."""
    from forcegen.engine.kernels import compile_kernels

    compile_kernels()


def _peer(tool: str, force: int, replicates: int, seed: int, horizon: int) -> dict[str, Any]:
    from benchmarks.scenario import BenchParams, forcegen_scenario

    p = BenchParams(force, horizon_days=horizon)
    if tool == "forcegen":
        from benchmarks.stats import from_block
        from forcegen.engine.simulate import run_block

        scenario = forcegen_scenario(p)
        warm_up_kernel()
        base = rss_mb()
        reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        stats = from_block(run_block(scenario, seed=seed, block=0), replicates)
    elif tool == "simpy":
        from benchmarks.peer_simpy import run_simpy

        base = rss_mb()
        reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        stats = run_simpy(p, replicates, seed)
    elif tool == "mesa":
        from benchmarks.peer_mesa import run_mesa

        base = rss_mb()
        reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        stats = run_mesa(p, replicates, seed)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    return _record(
        time.perf_counter() - start, cpu, base, stats=[dataclasses.asdict(s) for s in stats]
    )


def _sim(scenario: str, runs: int, workers: int, seed: int, threads: int) -> dict[str, Any]:
    from forcegen.sim import Sim

    sim = Sim(
        scenario,
        runs=runs,
        seed=seed,
        workers=workers if workers > 1 else None,
        threads=threads if threads > 0 else None,  # 0: Sim's default
    )
    base = rss_mb()
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = sim.run()
    seconds = time.perf_counter() - start
    # Worker processes are reaped when the cluster closes: their CPU shows up here.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return _record(
        seconds,
        cpu,
        base,
        worker_cpu_seconds=(after.ru_utime + after.ru_stime)
        - (children.ru_utime + children.ru_stime),
        end_deployed_median=float(
            sorted(result.total("strength", categories="deployed")[:, -1])[runs // 2]
        ),
    )


def _stream(force: int, runs: int, horizon: int, workers: int) -> dict[str, Any]:
    from benchmarks.scenario import BenchParams, forcegen_scenario
    from forcegen.distributed import local_cluster, run_reduced
    from forcegen.results.reduce import StrengthQuantiles, SummaryTotals
    from forcegen.sim import Sim

    sim = Sim(forcegen_scenario(BenchParams(force, horizon_days=horizon)), runs=runs, seed=1)
    base = rss_mb()
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    worker_peaks: list[float] = []
    if workers > 1:
        with local_cluster(workers) as client:
            summary, strength = run_reduced(
                sim, [SummaryTotals(), StrengthQuantiles()], client=client
            )
            worker_peaks = sorted(client.run(peak_rss_mb).values())
    else:
        summary, strength = run_reduced(sim, [SummaryTotals(), StrengthQuantiles()])
    seconds = time.perf_counter() - start
    strength.quantiles()  # the quantile pass is part of the bounded-memory claim
    return _record(
        seconds,
        cpu,
        base,
        worker_peak_rss_mb=worker_peaks,
        kept_mb=(summary.nbytes + strength.nbytes) / 1e6,
    )


def _memory(force: int, runs: int, horizon: int) -> dict[str, Any]:
    from benchmarks.scenario import BenchParams, forcegen_scenario
    from forcegen.sim import Sim

    sim = Sim(forcegen_scenario(BenchParams(force, horizon_days=horizon)), runs=runs, seed=1)
    base = rss_mb()
    reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    result = sim.run()
    seconds = time.perf_counter() - start
    result.quantiles(categories="deployed")
    return _record(seconds, cpu, base, result_mb=sum(a.nbytes for a in result.data.values()) / 1e6)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the measurement named by ``argv`` and return its record."""
    kind, *args = argv
    if kind == "peer":
        tool, force, reps, seed, *rest = args
        return _peer(tool, int(force), int(reps), int(seed), int(rest[0]) if rest else 180)
    if kind == "sim":
        scenario, runs, workers, seed, *rest = args
        return _sim(scenario, int(runs), int(workers), int(seed), int(rest[0]) if rest else 0)
    if kind == "stream":
        force, runs, horizon, workers = args
        return _stream(int(force), int(runs), int(horizon), int(workers))
    if kind == "memory":
        force, runs, horizon = args
        return _memory(int(force), int(runs), int(horizon))
    raise SystemExit(f"unknown measurement {kind!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
