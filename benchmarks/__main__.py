"""Run every benchmark and write ``docs/benchmarks.md``.

    python -m benchmarks            # everything (about 20 minutes on 2 cores)
    python -m benchmarks --quick    # a few minutes: small sizes, one repeat
    python -m benchmarks --skip-memory --skip-workers
    python -m benchmarks --render-only dump.json   # rewrite the document, measure nothing

Sections, in order: forcegen vs Mesa vs SimPy at 1,000 / 10,000 / 100,000 soldiers
(time, person-days per second, memory, agreement in distribution), random-number
floors and the engine's profile, headcount independence, the speed-up of two Dask
workers, and peak memory of a streamed versus an in-memory ensemble.

The machine may be shared, so tools are run interleaved (repeat 1 of every tool, then
repeat 2, ...) and medians reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from benchmarks.floors import profile_engine, top_functions
from benchmarks.scenario import BenchParams, forcegen_scenario

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("forcegen", "simpy", "mesa")
# Replicates per measurement: forcegen always simulates one full block; the peers run
# as many as is affordable (their cost grows with the number of soldiers).
FULL_PLAN: dict[int, dict[str, int]] = {
    1_000: {"forcegen": 128, "simpy": 64, "mesa": 32},
    10_000: {"forcegen": 128, "simpy": 8, "mesa": 4},
    100_000: {"forcegen": 128, "simpy": 2, "mesa": 1},
}
QUICK_PLAN: dict[int, dict[str, int]] = {
    1_000: {"forcegen": 128, "simpy": 32, "mesa": 16},
    10_000: {"forcegen": 128, "simpy": 2, "mesa": 1},
}
COMPARED = ("end_deployed", "losses")
BUILTIN = "russia-2022-covert"  # the built-in scenario timed on its own


@dataclass
class Report:
    """Everything measured, for the Markdown report and the JSON dump."""

    command: str
    facts: dict[str, str]
    horizon: int
    peers: list[dict[str, Any]] = field(default_factory=list)
    floors: dict[int, dict[str, float]] = field(default_factory=dict)
    by_transition: dict[int, dict[str, float]] = field(default_factory=dict)
    top: list[tuple[str, float]] = field(default_factory=list)
    top_builtin: list[tuple[str, float]] = field(default_factory=list)
    builtin_profiled: float = 0.0
    headcount: list[dict[str, Any]] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    memory: list[dict[str, Any]] = field(default_factory=list)


# ------------------------------------------------------------------- measurements
class MeasurementError(RuntimeError):
    """A measurement process failed (its stderr tail is the message)."""


def measure(*args: object) -> dict[str, Any]:
    """Run ``python -m benchmarks.measure ARGS`` and parse its JSON line."""
    cmd = [sys.executable, "-m", "benchmarks.measure", *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        tail = "\n".join(out.stderr.strip().splitlines()[-5:])
        raise MeasurementError(f"{' '.join(cmd[2:])} exited with {out.returncode}: {tail}")
    record: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return record


def machine_facts() -> dict[str, str]:
    """nproc, CPU model, memory, Python and library versions."""
    import dask
    import mesa
    import simpy

    import forcegen

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1e6:.0f} GB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "forcegen": forcegen.__version__ if hasattr(forcegen, "__version__") else "?",
        "mesa": mesa.__version__,
        "simpy": simpy.__version__,
        "dask": dask.__version__,
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def compare_peers(report: Report, plan: dict[int, dict[str, int]], repeats: int) -> None:
    """forcegen vs SimPy vs Mesa, interleaved repeats, one fresh process each."""
    for force, reps in plan.items():
        for r in range(repeats):
            for tool in TOOLS:
                rec = measure("peer", tool, force, reps[tool], r + 1, report.horizon)
                at_once = reps[tool] if tool == "forcegen" else 1
                rec.update(tool=tool, force=force, replicates=reps[tool], repeat=r, at_once=at_once)
                report.peers.append(rec)
                print(
                    f"  {tool:9s} {force:>7,} soldiers, {reps[tool]:>3} replicates: "
                    f"{rec['seconds']:7.2f} s",
                    flush=True,
                )


def floors(report: Report, sizes: list[int], repeats: int) -> None:
    """Engine time vs the random-number floors, per size (medians of ``repeats``)."""
    for force in sizes:
        scenario = forcegen_scenario(BenchParams(force, horizon_days=report.horizon))
        runs = [profile_engine(scenario, seed=r + 1) for r in range(repeats)]
        report.floors[force] = {
            "total": statistics.median(p.total_seconds for p in runs),
            "draws": statistics.median(p.draw_seconds for p in runs),
            "aggregate": statistics.median(p.aggregate_floor_seconds for p in runs),
            "calls": float(runs[0].draw_calls),
            "elements": float(runs[0].draw_elements),
            "replicates": float(runs[0].replicates),
        }
        report.by_transition[force] = {
            key: statistics.median(p.by_transition.get(key, 0.0) for p in runs)
            for key in runs[0].by_transition
        }
        f = report.floors[force]
        print(
            f"  floors {force:>7,}: engine {f['total']:.2f} s, in draws {f['draws']:.2f} s, "
            f"aggregate floor {f['aggregate']:.3f} s",
            flush=True,
        )
    biggest = forcegen_scenario(BenchParams(max(sizes), horizon_days=report.horizon))
    report.top, _ = top_functions(biggest)
    import forcegen as fg

    report.top_builtin, report.builtin_profiled = top_functions(fg.load(BUILTIN))


def headcount(report: Report, sizes: list[int], repeats: int, factor: int = 1000) -> None:
    """Same scenario with every stock and rate × ``factor``: engine time ratio."""
    from forcegen.engine.simulate import run_block

    for force in sizes:
        base = BenchParams(force, horizon_days=report.horizon)
        times: dict[int, list[float]] = {1: [], factor: []}
        for r in range(repeats):
            for k in (1, factor):
                scenario = forcegen_scenario(base.scaled(k))
                start = time.process_time()
                run_block(scenario, seed=r + 1, block=0)
                times[k].append(time.process_time() - start)
        _headcount_entry(report, "benchmark", force, report.horizon, factor, times)


def headcount_builtin(report: Report, name: str, repeats: int, factor: int = 1000) -> None:
    """The built-in scenario with every parameter counted in people (pools, their
    replenishment and widening, initial forces, dated recruitment) × ``factor``, each
    replicate keeping its other sampled parameters: engine time ratio per block."""
    import forcegen as fg
    from forcegen.engine.sampling import sample_block
    from forcegen.engine.simulate import run_block
    from forcegen.scenario.walk import iter_params

    scenario = fg.load(name)
    people = {ref.name for ref in iter_params(scenario) if ref.unit.startswith("people")}
    times: dict[int, list[float]] = {1: [], factor: []}
    force, days = 0.0, 0
    for r in range(repeats):
        values = sample_block(scenario, seed=r + 1, block=0, sample=True).values
        for k in (1, factor):
            given = {key: v * k for key, v in values.items() if key in people}
            start = time.process_time()
            block = run_block(scenario, seed=r + 1, block=0, given=given)
            times[k].append(time.process_time() - start)
            if k == 1:
                force = float(block.output.strength[:, 0].sum(axis=(1, 2)).mean())
                days = block.output.strength.shape[1]
    _headcount_entry(report, name, force, days, factor, times)


def _headcount_entry(
    report: Report,
    label: str,
    force: float,
    days: int,
    factor: int,
    times: dict[int, list[float]],
) -> None:
    one, many = statistics.median(times[1]), statistics.median(times[factor])
    report.headcount.append(
        {
            "label": label,
            "force": force,
            "days": days,
            "factor": factor,
            "seconds": one,
            "scaled_seconds": many,
            "repeats": len(times[1]),
        }
    )
    print(f"  headcount {label} ×{factor}: {one:.2f} s vs {many:.2f} s", flush=True)


# (label, worker processes, threads per process; 0 = Sim's default) of the workers section
CONFIGS = (
    ("one process, one thread", 1, 1),
    ("one process, default threads", 1, 0),
    ("two worker processes", 2, 0),
)


def workers(report: Report, scenario: str, runs: int, repeats: int) -> None:
    """``Sim.run()`` in this process (one thread, then the default threads for the
    channels) vs on a 2-worker local cluster."""
    from forcegen.distributed import local_cluster

    times: dict[str, list[float]] = {label: [] for label, _, _ in CONFIGS}
    loads: dict[str, list[float]] = {label: [] for label, _, _ in CONFIGS}
    for r in range(repeats):
        for label, n, threads in CONFIGS:
            loads[label].append(os.getloadavg()[0])
            rec = measure("sim", scenario, runs, n, r + 1, threads)
            times[label].append(rec["seconds"])
            print(f"  {scenario} {runs} runs, {label}: {rec['seconds']:.1f} s", flush=True)
    start = time.perf_counter()
    with local_cluster(2):
        started = time.perf_counter() - start
    entry = {
        "scenario": scenario,
        "runs": runs,
        "configs": [
            {
                "label": label,
                "workers": n,
                "threads": threads,
                "median": statistics.median(times[label]),
                "all": times[label],
                "loads": loads[label],
            }
            for label, n, threads in CONFIGS
        ],
        "startup": started,
    }
    # One entry per ensemble size: a re-run of the same size replaces the old one.
    report.workers = [w for w in report.workers if w["runs"] != runs] + [entry]


def memory(report: Report, big: int, medium: int, horizon: int) -> None:
    """Peak RSS: streamed (bounded) vs in-memory ensembles of the benchmark scenario."""
    force = 1_000
    for kind, runs, n in (
        ("in memory", medium, 1),
        ("streamed", medium, 1),
        ("streamed", big, 2),
    ):
        try:
            if kind == "streamed":
                rec = measure("stream", force, runs, horizon, n)
            else:
                rec = measure("memory", force, runs, horizon)
        except MeasurementError as exc:
            print(f"  FAILED: {exc}", flush=True)
            continue
        rec.update(kind=kind, runs=runs, horizon=horizon, workers=n, force=force)
        report.memory.append(rec)
        print(
            f"  {kind} {runs:,} × {horizon} days, workers={n}: peak {rec['peak_rss_mb']:,.0f} MB, "
            f"{rec['seconds']:.0f} s",
            flush=True,
        )


# ------------------------------------------------------------------------ report
def _median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def peer_table(report: Report) -> tuple[list[str], dict[int, dict[str, dict[str, float]]]]:
    """Markdown rows of the forcegen / SimPy / Mesa comparison, and the numbers."""
    numbers: dict[int, dict[str, dict[str, float]]] = {}
    lines = [
        "| soldiers | tool | replicates × repeats | CPU s / replicate | wall s / replicate "
        "| forcegen ÷ tool (CPU) | speed-up (CPU) | speed-up (wall) | person-days / CPU s "
        "| peak MB / replicate | KS p: end deployed | KS p: cumulative losses |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    forces = sorted({r["force"] for r in report.peers})
    for force in forces:
        numbers[force] = {}
        pooled: dict[str, dict[str, np.ndarray[Any, Any]]] = {}
        for tool in TOOLS:
            rows = [r for r in report.peers if r["force"] == force and r["tool"] == tool]
            if not rows:
                continue
            for r in rows:
                r["per_replicate"] = r["seconds"] / r["replicates"]
                r["cpu_per_replicate"] = r["cpu_seconds"] / r["replicates"]
                person_days = sum(s["person_days"] for s in r["stats"])
                r["person_days_per_cpu_s"] = person_days / r["cpu_seconds"]
                r["mb_per_replicate"] = (
                    max(r["peak_rss_mb"] - r["baseline_rss_mb"], 0.0) / r["at_once"]
                )
            numbers[force][tool] = {
                key: _median(rows, key)
                for key in (
                    "per_replicate",
                    "cpu_per_replicate",
                    "person_days_per_cpu_s",
                    "mb_per_replicate",
                )
            }
            numbers[force][tool].update(replicates=rows[0]["replicates"], repeats=len(rows))
            pooled[tool] = {
                key: np.array([s[key] for r in rows for s in r["stats"]]) for key in COMPARED
            }
        fg = numbers[force]["forcegen"]
        for tool in TOOLS:
            if tool not in numbers[force]:
                continue
            n = numbers[force][tool]
            if tool == "forcegen":
                ks = ["—", "—"]
            else:
                ks = [
                    f"{sps.ks_2samp(pooled['forcegen'][k], pooled[tool][k]).pvalue:.2f}"
                    for k in COMPARED
                ]
            cpu_ratio = fg["cpu_per_replicate"] / n["cpu_per_replicate"]
            wall_ratio = fg["per_replicate"] / n["per_replicate"]
            lines.append(
                f"| {force:,} | {tool} | {int(n['replicates'])} × {int(n['repeats'])} | "
                f"{n['cpu_per_replicate']:.3g} | {n['per_replicate']:.3g} | {cpu_ratio:.3g} | "
                f"{1 / cpu_ratio:,.0f}× | {1 / wall_ratio:,.0f}× | "
                f"{n['person_days_per_cpu_s']:.3g} | {n['mb_per_replicate']:.3g} | "
                f"{ks[0]} | {ks[1]} |"
            )
    return lines, numbers


def agreement_table(report: Report) -> list[str]:
    """Means of the compared outcomes per tool (a readable check of equal work)."""
    lines = [
        "| soldiers | tool | replicates | end deployed: mean (sd) | cumulative losses: mean (sd) |",
        "|---:|---|---:|---:|---:|",
    ]
    for force in sorted({r["force"] for r in report.peers}):
        for tool in TOOLS:
            stats = [
                s
                for r in report.peers
                if r["force"] == force and r["tool"] == tool
                for s in r["stats"]
            ]
            if not stats:
                continue
            cells = []
            for key in COMPARED:
                v = np.array([s[key] for s in stats], dtype=float)
                sd = v.std(ddof=1) if v.size > 1 else float("nan")
                cells.append(f"{v.mean():,.1f} ({sd:,.1f})")
            lines.append(f"| {force:,} | {tool} | {len(stats)} | {cells[0]} | {cells[1]} |")
    return lines


def render(report: Report) -> str:
    """The Markdown report."""
    peers, numbers = peer_table(report)
    out = [
        "# Benchmarks",
        "",
        "Sections are generated by `python -m benchmarks` (`make bench`), except those"
        " recorded by hand with their commands (results at ensemble scale, common random"
        " numbers, the explorer), which a new run keeps, after the generated ones.",
        "",
        "## Command and machine",
        "",
        f"    {report.command}",
        "",
        "| fact | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in report.facts.items()),
        "",
        "The machine is shared (other jobs were running): tools were run interleaved, "
        "each measurement in a fresh process, and medians are reported. Treat ratios as "
        "good to a factor of ~1.5.",
        "",
        "## The scenario",
        "",
        "`benchmarks/scenario.py`: one channel; `Poisson(0.003·N)` recruits a day; 14 days of "
        "training, 5% withdraw at graduation; deployed people meet competing daily hazards "
        "killed 0.0005, wounded 0.002, deserted 0.0003; the wounded return (70%) after a "
        "geometric recovery of mean 30 days or are discharged; a 365-day term from signing, "
        "renewed with probability 0.5 (the contract restarts at the training length). "
        f"{report.horizon} days; the initial force of N is spread uniformly over ages as "
        "docs/model.md says. Point values only, so the three implementations simulate "
        "the same stochastic process:",
        "",
        "* **forcegen** — the engine (`forcegen.engine.simulate.run_block`): counts per "
        "age slot (one slot per day of service); returns and exits drawn by the compiled "
        "kernel (geometric skipping, exact binomials by inversion for dense slots, the "
        "normal approximation of docs/model.md where a binomial's variance reaches 10), the "
        "other transitions by compiled binomial/Poisson inversion per replicate, all from "
        "counter-based random numbers (docs/model.md, Random numbers); one block of 128 "
        "replicates per run. Its Numba kernel is loaded before timing (about 0.3 s once "
        "per process from the on-disk cache), as the peers' imports are.",
        "* **SimPy** (`benchmarks/peer_simpy.py`) — one process per soldier that sleeps "
        "until its next event; waiting times are geometric (exactly the day-by-day "
        "Bernoulli trials of constant daily probabilities).",
        "* **Mesa 3** (`benchmarks/peer_mesa.py`) — one agent per soldier, "
        "`model.agents.do('step')` once a day, one `random()` per agent per day.",
        "",
        "## forcegen vs SimPy vs Mesa",
        "",
        "Time per replicate: CPU (and wall) time of a run ÷ replicates in it (forcegen "
        "simulates 128 replicates at once, vectorised). *Peak MB / replicate*: peak RSS above the "
        "process's RSS before the run, ÷ replicates held at once (128 for forcegen, 1 for "
        "the peers, which run replicates one after another). *Person-days / s*: the sum "
        "over days and replicates of people in service, ÷ CPU time. KS: two-sample "
        "Kolmogorov–Smirnov p-values of the tool's replicates against forcegen's (all "
        "repeats pooled; with few peer replicates the test has little power, and the "
        "1,000-soldier row is the real check).",
        "",
        *peers,
        "",
        *agreement_table(report),
        "",
    ]
    if report.floors:
        out += [
            "## Random-number floors and where the time goes",
            "",
            "*Aggregate floor*: one binomial (or Poisson) of shape (replicates,) per "
            "transition per day, with the engine's own total `n` and mean `p` — what a model "
            "without age structure must draw (per channel and day: returns, exits, the split "
            "of exits over causes, enlistment, renewals, withdrawals). *Engine's draws*: the "
            "time inside the engine's drawing calls — the compiled exits kernel (returns, "
            "exits and their causes for every age slot and replicate by geometric skipping, "
            "plus the day's ageing) and the compiled binomial/Poisson inversions for the "
            "per-replicate transitions. One block of 128 replicates, CPU seconds "
            "including the block's parameter sampling and compilation, medians of 3; the "
            "engine's total from a plain run, the time in its draws from a second, "
            "instrumented run.",
            "",
            "| soldiers | engine CPU s / block | engine's draws s | share of engine time in "
            "draws | engine ÷ its draws | aggregate floor s | engine ÷ aggregate floor "
            "| draw calls | draws + slots thinned |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for force, f in report.floors.items():
            out.append(
                f"| {force:,} | {f['total']:.2f} | {f['draws']:.2f} | "
                f"{f['draws'] / f['total']:.0%} | {f['total'] / f['draws']:.2f}× | "
                f"{f['aggregate']:.3f} | {f['total'] / f['aggregate']:.0f}× | "
                f"{int(f['calls']):,} | {int(f['elements']):,} |"
            )
        if report.by_transition:
            keys = sorted(
                {k for v in report.by_transition.values() for k in v},
                key=lambda k: -max(v.get(k, 0.0) for v in report.by_transition.values()),
            )
            out += [
                "",
                "CPU seconds inside the draws of each transition (one block; `exits` is "
                "the compiled kernel: returns, exits and causes per age slot, and "
                "ageing; the rest are NumPy draws per replicate):",
                "",
                "| soldiers | " + " | ".join(f"`{k}`" for k in keys) + " |",
                "|---:|" + "---:|" * len(keys),
                *(
                    f"| {force:,} | " + " | ".join(f"{v.get(k, 0.0):.3f}" for k in keys) + " |"
                    for force, v in report.by_transition.items()
                ),
            ]
        out += [
            "",
            f"cProfile of one block at {max(report.floors):,} soldiers (CPU time inside "
            "each function, excluding sub-calls):",
            "",
            "| function | s |",
            "|---|---:|",
            *(f"| `{name}` | {sec:.3f} |" for name, sec in report.top),
            "",
        ]
    if report.top_builtin:
        kernel = sum(sec for name, sec in report.top_builtin if name.startswith("exits_python"))
        total = report.builtin_profiled
        out += [
            f"cProfile of one block of the built-in scenario `{BUILTIN}` (128 replicates "
            f"× 1,095 days, four channels): {total:.2f} CPU s profiled, of which "
            f"{kernel / total:.0%} in the compiled exits kernel (`exits_python`: about "
            "600 people leaving, wounded or returning per replicate and day, and ~1,000 "
            "age slots per replicate) and the rest in the NumPy work of the day "
            "(`simulate_block` itself: per-replicate arithmetic for probabilities, term "
            "ends, enlistment, graduation and costs; NumPy binomial and Poisson draws; "
            "stocks):",
            "",
            "| function | s |",
            "|---|---:|",
            *(f"| `{name}` | {sec:.3f} |" for name, sec in report.top_builtin),
            "",
        ]
    if report.headcount:
        out += [
            "## Headcount independence",
            "",
            "The same scenario with every stock and rate counted in people ×1000 (one block "
            "of 128 replicates, in process, CPU time, medians over the repeats; runs "
            "×1 and ×1000 interleaved). The benchmark scenario scales its force and "
            "recruitment; the built-in scenario scales every parameter whose unit is "
            "people or people per day (pools, replenishment, widening, initial forces, "
            "dated recruitment), each replicate keeping its other sampled parameters.",
            "",
            "| scenario | soldiers at start | ×1000 | days | CPU s / block | "
            "CPU s / block ×1000 | ratio | repeats |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {h.get('label', 'benchmark')} | {h['force']:,.0f} | "
                f"{h['force'] * h['factor']:,.0f} | {h.get('days', report.horizon)} | "
                f"{h['seconds']:.2f} | {h['scaled_seconds']:.2f} | "
                f"{h['scaled_seconds'] / h['seconds']:.2f} | {h.get('repeats', 3)} |"
                for h in report.headcount
            ),
            "",
        ]
    if report.workers:
        cores = report.facts.get("nproc", "?")
        out += [
            "## Threads and Dask workers",
            "",
            "`Sim('russia-2022-covert', runs=N, seed=r).run()` in one process with one "
            "thread; in one process with the default threads (the channels' returns and "
            f"exits drawn in parallel: as many threads as usable cores, here {cores}, at "
            "most 4); and with `workers=2` (a loopback `LocalCluster` of two "
            "single-threaded processes, started and closed inside the timing; the block "
            "results, ~67 MB each, travel back to the calling process and are assembled "
            "into one `Result`). Results are identical in all three. Wall time, fresh "
            "process per run, runs interleaved; medians.",
            "",
            "| replicates (blocks) | configuration | wall s (median) | all runs | load "
            "before each run | speed-up |",
            "|---:|---|---:|---|---|---:|",
        ]
        for w in sorted(report.workers, key=lambda w: w["runs"]):
            blocks = -(-w["runs"] // 128)
            configs = (
                w.get("configs")
                or [  # dumps from before the threads existed
                    {
                        "label": "one process",
                        "median": w["one"],
                        "all": w["all_one"],
                        "loads": w.get("loads", [])[0::2],
                    },
                    {
                        "label": "two worker processes",
                        "median": w["two"],
                        "all": w["all_two"],
                        "loads": w.get("loads", [])[1::2],
                    },
                ]
            )
            base = configs[0]["median"]
            out += [
                f"| {w['runs']:,} ({blocks}) | {c['label']} | {c['median']:.1f} | "
                f"{', '.join(f'{x:.1f}' for x in c['all'])} | "
                f"{', '.join(f'{x:.1f}' for x in c['loads'])} | {base / c['median']:.2f}× |"
                for c in configs
            ]
        startup = statistics.median(w["startup"] for w in report.workers)
        out += [
            "",
            f"Starting and closing a 2-worker cluster alone takes {startup:.1f} s, and each "
            "worker imports forcegen and loads the Numba kernel on its first task; with "
            "few blocks per worker these fixed costs weigh on the speed-up, which grows "
            "toward 2× with the ensemble (blocks are independent). Threads speed up only "
            "the compiled kernel (the NumPy rest of the day holds the GIL), and only as "
            "far as the channels' kernels balance over the threads. The load average "
            "shows other jobs on the machine.",
            "",
        ]
    if report.memory:
        out += [
            "## Memory: streamed vs in-memory ensembles",
            "",
            "The benchmark scenario (1,000 soldiers) over the given horizon. *In memory*: "
            "`Sim(...).run()` keeps every series (a `Result`). *Streamed*: "
            "`forcegen.distributed.run_reduced(sim, [SummaryTotals(), StrengthQuantiles()])` "
            "keeps the summary's per-replicate numbers and deployed strength per replicate "
            "and date (int32), then computes the quantile bands. Peak RSS of the process "
            "that holds the results (and of each worker, when there are workers). Every "
            "forcegen process starts at about 320 MB before simulating anything: Python, "
            "NumPy, pandas, pyarrow and the rest (~180 MB) and Numba/LLVM with the compiled "
            "exits kernel (~140 MB).",
            "",
            "| ensemble | replicates × days | workers | wall s | peak RSS MB | worker peak "
            "RSS MB | kept MB |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for m in report.memory:
            kept = m.get("kept_mb", m.get("result_mb", 0.0))
            wk = ", ".join(f"{x:,.0f}" for x in m.get("worker_peak_rss_mb", [])) or "—"
            out.append(
                f"| {m['kind']} | {m['runs']:,} × {m['horizon']:,} | {m['workers']} | "
                f"{m['seconds']:,.0f} | {m['peak_rss_mb']:,.0f} | {wk} | {kept:,.0f} |"
            )
        out.append("")
    out += reading(report, numbers)
    return "\n".join(out)


def reading(report: Report, numbers: dict[int, dict[str, dict[str, float]]]) -> list[str]:
    """How to read the tables, and what would make the engine faster."""
    out = ["## Reading the numbers", ""]
    if numbers:
        big = max(numbers)
        fg = numbers[big]["forcegen"]
        for tool in ("mesa", "simpy"):
            if tool in numbers[big]:
                n = numbers[big][tool]
                out.append(
                    f"* At {big:,} soldiers forcegen needs {fg['cpu_per_replicate']:.3g} CPU s "
                    f"per replicate, {tool} {n['cpu_per_replicate']:.3g} s: "
                    f"{n['cpu_per_replicate'] / fg['cpu_per_replicate']:,.0f}× less."
                )
        rates = ", ".join(
            f"{numbers[f]['forcegen']['person_days_per_cpu_s']:.1e} ({f:,} soldiers)"
            for f in sorted(numbers)
        )
        out.append(
            f"* Person-days simulated per CPU second by forcegen: {rates}. For scale, the "
            "published figures of agent-based simulators (their documentation, not measured "
            "here): Covasim 5–10 million person-days per second; Starsim 3.7 running an SIR "
            "model 1.5–4 million agent-days per second on this kind of machine. A count-based "
            "engine does not touch each person each day, so this compares what a user gets "
            "for the same question, not equal algorithms."
        )
        small = min(numbers)
        simpy_small = numbers[small].get("simpy")
        fg_small = numbers[small]["forcegen"]["cpu_per_replicate"]
        out.append(
            "* The peers' cost grows with the number of soldiers (Mesa: every soldier every "
            "day; SimPy: every event of every soldier); forcegen's grows with age slots × "
            "days × replicates plus the people who move, so the gap widens with the force."
            + (
                f" At {small:,} soldiers the event-driven SimPy model needs "
                f"{simpy_small['cpu_per_replicate'] / fg_small:,.0f}"
                "× forcegen's time."
                if simpy_small
                else ""
            )
        )
    if report.floors:
        big = max(report.floors)
        f = report.floors[big]
        out.append(
            f"* Draws are {f['draws'] / f['total']:.0%} of the engine's CPU time at {big:,} "
            "soldiers; the rest is the NumPy bookkeeping of the daily step around them "
            "(probabilities per segment, term ends, enlistment, graduation, costs, "
            "records) and the block's set-up. The engine "
            f"is {f['total'] / f['draws']:.1f}× its own draws and "
            f"{f['total'] / f['aggregate']:.0f}× the aggregate floor (from "
            f"{min(g['total'] / g['aggregate'] for g in report.floors.values()):.0f}× at "
            "the smallest force): the age-structured engine touches every age slot of "
            "every replicate every day (hundreds per channel), the aggregate floor one "
            "number per transition."
        )
    if report.headcount:
        out.append(
            "* Headcount: the exits kernel's work per age slot and day is a few ns where "
            "nobody moves, ~15 ns per person who moves in sparse slots, exact binomials "
            "(60–80 ns each) where 4 or more are expected to move, and — once a slot's "
            "binomial variance reaches 10 — three normal deviates and a vectorised "
            "Cornish–Fisher correction (~25–35 ns per slot in all; docs/model.md gives "
            "the approximation and its error bound). So the cost per slot is bounded and "
            "stops growing once slots are dense: from 100,000 soldiers up, ×1000 costs "
            "about the same. Forces small enough that nobody moves in most slots are "
            "cheaper still, which is why the ratio is larger from 1,000 or 10,000 "
            "soldiers (the ×1000 force then sits in the exact-binomial or approximated "
            "regime). For the built-in scenario, whose day also includes the NumPy work "
            "of four channels, the ratio is the one in the table."
        )
    out += [
        "",
        "What has been done, and what would make the engine faster still:",
        "",
        "1. **Done — a compiled exits kernel** (Numba, `forcegen/engine/kernels.py`): "
        "returns, exits and their causes per age slot by geometric skipping (exact; "
        "binomials for dense slots), the day's ageing in the same pass. It replaced three "
        "NumPy binomials per (age slot, replicate) and cut the built-in scenario's block "
        "from ~14 s to ~5 s.",
        "2. **Done — dense slots from a normal approximation** (0.3.0): binomials with "
        "variance ≥ 10 come from a moment-matched second-order Cornish–Fisher normal, "
        "all dense slots of a replicate in one vectorised pass: 3.5–4.5× faster kernel "
        "on dense slots, which brought the built-in scenario ×1000 from ~4.6× the "
        "time of ×1 to about 1.5×. Distribution error per draw ≤ 4e-4, computed exactly "
        "in the tests.",
        "3. **Done — processes for blocks** (`--workers`, Dask): blocks are independent, so "
        "wall time divides by the cores available, minus cluster start-up.",
        "4. **The rest of the daily step in compiled code**: the NumPy work around the "
        "kernel (about 0.4 ms per channel and day for 128 replicates: per-replicate "
        "draws and arithmetic) is about half of the built-in scenario's time (profile "
        "above) and less than a fifth of the benchmark scenario's. Compiling the whole "
        "day (pools, term ends, enlistment, graduation, costs) into one kernel per "
        "block would remove most of it; the mean-field mode would need the same kernel "
        "on floats to keep one semantics. Simulating 1,024 replicates in one block "
        "instead of 128 saves only ~10%: the work is per element, not per call. A "
        "faster day at small forces also raises the ×1000 ratio above: that work is "
        "the same at every headcount, so removing it leaves the difference between "
        "sparse and dense slots to the ratio.",
        "5. **Done — counter-based random numbers**: every decision reads Philox numbers "
        "at a counter keyed by (seed, stream, replicate, day, slot), and counts are drawn "
        "by inversion; common random numbers then survive policy changes (see *Common "
        "random numbers* above). The exits kernel is ~1.2× its former time on the "
        "built-in scenario (dense slots are inverted one by one instead of in one "
        "vectorised pass, and the split by cause reads its own numbers).",
        "",
    ]
    return out


def load_report(
    path: Path, command: str | None = None, facts: dict[str, str] | None = None
) -> Report:
    """A report from an earlier ``--json`` dump; with ``command`` and ``facts``, those of
    a run that continues it (the sections it re-measures replace the old ones)."""
    raw = json.loads(path.read_text())
    if command is not None and facts is not None:
        raw["command"] = f"{raw['command']}  +  {command}"
        raw["facts"] = {
            **raw["facts"],
            "load average at start (second run)": facts["load average at start"],
        }
    for key in ("floors", "by_transition"):
        raw[key] = {int(k): v for k, v in raw.get(key, {}).items()}
    for key in ("top", "top_builtin"):
        raw[key] = [tuple(x) for x in raw.get(key, [])]
    if isinstance(raw.get("workers"), dict):  # older dumps kept a single entry
        raw["workers"] = [raw["workers"]] if raw["workers"] else []
    return Report(**raw)


def _sections(text: str) -> list[tuple[str, str]]:
    """``(heading, text)`` of each ``## `` section of a Markdown document, the text
    before the first one under the heading ``""``."""
    parts: list[tuple[str, list[str]]] = [("", [])]
    fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            parts.append((line[3:].strip(), []))
        parts[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in parts]


def keep_written_by_hand(old: str, rendered: str) -> str:
    """``rendered`` followed by the sections of ``old`` that ``rendered`` does not
    have, in their order: measurements recorded by hand (results at scale, common
    random numbers, the explorer) survive a new run of the generated ones."""
    produced = {heading for heading, _ in _sections(rendered)}
    kept = [body for heading, body in _sections(old) if heading and heading not in produced]
    return "\n\n".join([rendered.rstrip("\n"), *(body.strip("\n") for body in kept)])


def write_document(path: Path, rendered: str) -> None:
    """Write ``rendered`` to ``path`` (temporary file, then rename), keeping the
    sections of the existing document that were written by hand."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(keep_written_by_hand(old, rendered) + "\n", encoding="utf-8")
    tmp.replace(path)


# -------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Run every benchmark; write docs/benchmarks.md."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per measurement")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--skip-floors", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--workers-runs",
        type=int,
        default=None,
        help="replicates of russia-2022-covert for the workers speed-up (default 512)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=None, help="also dump raw numbers here")
    parser.add_argument(
        "--render-only",
        type=Path,
        default=None,
        help="measure nothing: write the document from an earlier --json dump as it is",
    )
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="start from the numbers of an earlier --json dump; skipped sections keep them",
    )
    args = parser.parse_args(argv)
    if args.render_only is not None:
        write_document(args.out, render(load_report(args.render_only)))
        print(f"wrote {args.out}")
        return 0
    quick = args.quick
    repeats = args.repeats or (1 if quick else 3)
    command = "python -m benchmarks" + (" " + " ".join(argv) if argv else "")
    if argv is None and len(sys.argv) > 1:
        command = "python -m benchmarks " + " ".join(sys.argv[1:])
    report = Report(command=command, facts=machine_facts(), horizon=180)
    if args.reuse is not None:
        report = load_report(args.reuse, command, report.facts)
    plan = QUICK_PLAN if quick else FULL_PLAN
    sizes = sorted(plan)
    # Checkpoint after every section (a long run on a shared machine may be
    # interrupted); `--reuse` continues from the file.
    checkpoint = args.json or Path(tempfile.gettempdir()) / "forcegen-benchmarks.json"
    print(f"raw numbers: {checkpoint}", flush=True)

    def save() -> None:
        checkpoint.write_text(json.dumps(asdict(report), indent=1, default=str))

    if not args.skip_peers:
        print("forcegen vs SimPy vs Mesa", flush=True)
        report.peers = []
        _guard(compare_peers, report, plan, repeats)
        save()
    if not args.skip_floors:
        print("floors and headcount", flush=True)
        report.floors, report.by_transition, report.headcount = {}, {}, []
        _guard(floors, report, sizes, 3)
        _guard(headcount, report, sizes, 3)
        _guard(headcount_builtin, report, BUILTIN, 1 if quick else 5)
        save()
    if not args.skip_workers:
        print("workers", flush=True)
        if quick:
            _guard(workers, report, BUILTIN, args.workers_runs or 256, 1)
        else:
            _guard(workers, report, BUILTIN, args.workers_runs or 512, 3)
        save()
    if not args.skip_memory:
        print("memory", flush=True)
        report.memory = []
        if quick:
            _guard(memory, report, big=2_000, medium=1_000, horizon=365)
        else:
            _guard(memory, report, big=100_000, medium=10_000, horizon=1095)
        save()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_document(args.out, render(report))
    print(f"wrote {args.out}")
    save()
    return 0


def _guard(section: Any, *args: Any, **kwargs: Any) -> None:
    """Run a section; a failed measurement is reported and the run goes on."""
    try:
        section(*args, **kwargs)
    except MeasurementError as exc:
        print(f"  FAILED: {exc}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
