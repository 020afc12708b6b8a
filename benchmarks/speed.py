"""Wall and CPU time of the built-in ``russia-2022-covert``: a baseline engine against
this checkout, side by side and interleaved.

    python -m benchmarks.speed                       # 1,000 replicates, 3 repeats
    python -m benchmarks.speed --runs 256 --repeats 1 --skip-workers
    python -m benchmarks.speed --base ba5f8f1 --json speed.json

The baseline is the ``src`` tree of git revision ``--base`` (default ``ba5f8f1``,
forcegen 0.5.0 before the engine work of issue 16), extracted once with
``git archive <rev> src | tar -x -C <dir>`` and imported through ``PYTHONPATH``; this
checkout's ``src`` is imported the same way. Every measurement runs in a fresh Python
process, after the compiled kernels are loaded (not timed), alternating baseline and
branch so that both see the same machine load. Measured:

* ``mean-field``: one mean-field trajectory (``runs=1``, parameters at their expected
  values), ``Sim.run`` including the assembled ``Result``: median of 5 in one process;
* ``stochastic, one process``: ``Sim(sc, runs=N, seed=1).run()`` (threads as ``Sim``
  chooses: the usable cores, at most 4);
* ``stochastic, 2 workers``: the same with ``workers=2`` (Dask processes, their
  start-up included).

Times are medians over ``--repeats``; ratios are baseline / branch (above 1: the branch
is faster). On a shared, loaded machine the absolute times move with the load; the
ratios, measured interleaved, are what to read. The load average is printed with the
results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "russia-2022-covert"
BASE = "ba5f8f1"

# Run in a fresh interpreter; prints one JSON line {"wall": s, "cpu": s}.
_SNIPPET = """
import json, sys, time
from forcegen.sim import Sim, load
from forcegen.engine.kernels import compile_kernels

def main():
    kind, runs = sys.argv[1], int(sys.argv[2])
    compile_kernels()
    sc = load({scenario!r})
    if kind == "mean-field":
        walls, cpus = [], []
        for _ in range(6):
            w, c = time.perf_counter(), time.process_time()
            Sim(sc, runs=1, mode="mean-field", sample_parameters=False).run()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        walls, cpus = sorted(walls[1:]), sorted(cpus[1:])  # the first warms caches
        print(json.dumps({{"wall": walls[2], "cpu": cpus[2]}}))
        return
    Sim(sc, runs=2, seed=1, threads=1).run()  # warm: imports, scenario, kernels
    workers = 2 if kind == "workers" else None
    w, c = time.perf_counter(), time.process_time()
    Sim(sc, runs=runs, seed=1, workers=workers).run()
    print(json.dumps({{"wall": time.perf_counter() - w, "cpu": time.process_time() - c}}))

if __name__ == "__main__":
    main()
"""


def baseline_source(rev: str) -> Path:
    """The ``src`` folder of git revision ``rev``, extracted once into the temporary
    directory (``git archive``; nothing is downloaded)."""
    target = Path(tempfile.gettempdir()) / f"forcegen-speed-base-{rev}"
    if not (target / "src" / "forcegen").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def measure(source: Path, kind: str, runs: int) -> dict[str, float]:
    """One measurement of ``kind`` with the engine in ``source``, in a new process."""
    script = Path(tempfile.gettempdir()) / "forcegen_speed_snippet.py"
    script.write_text(_SNIPPET.format(scenario=SCENARIO), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(source)}
    env.pop("FORCEGEN_THREADS", None)
    done = subprocess.run(
        [sys.executable, str(script), kind, str(runs)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # neither checkout's src shadows PYTHONPATH
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load_average() -> tuple[float, float, float]:
    """The machine's 1, 5 and 15-minute load averages."""
    return os.getloadavg()


def run(kinds: list[str], runs: int, repeats: int, base: str) -> dict[str, Any]:
    """Interleaved measurements of every ``kind``; returns the raw and summary numbers."""
    sources = {"baseline": baseline_source(base), "branch": ROOT / "src"}
    report: dict[str, Any] = {
        "scenario": SCENARIO,
        "runs": runs,
        "repeats": repeats,
        "base": base,
        "load_before": load_average(),
        "cpus": len(os.sched_getaffinity(0)),
        "results": {},
    }
    for kind in kinds:
        raw: dict[str, list[dict[str, float]]] = {"baseline": [], "branch": []}
        for i in range(repeats):
            # Alternate which goes first, so neither always meets the same load.
            order = ("baseline", "branch") if i % 2 == 0 else ("branch", "baseline")
            for name in order:
                raw[name].append(measure(sources[name], kind, runs))
                print(f"{kind:>10} {name:>8}: {raw[name][-1]}", file=sys.stderr, flush=True)
        summary = {
            name: {m: median(x[m] for x in values) for m in ("wall", "cpu")}
            for name, values in raw.items()
        }
        report["results"][kind] = {
            "raw": raw,
            "median": summary,
            "ratio_wall": summary["baseline"]["wall"] / summary["branch"]["wall"],
            "ratio_cpu": summary["baseline"]["cpu"] / summary["branch"]["cpu"],
        }
    report["load_after"] = load_average()
    return report


_LABEL = {
    "mean-field": "one mean-field trajectory",
    "process": "{runs} replicates, one process",
    "workers": "{runs} replicates, 2 workers",
}


def markdown(report: dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| measurement | baseline wall (s) | branch wall (s) | wall ratio "
        "| baseline CPU (s) | branch CPU (s) | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, res in report["results"].items():
        b, n = res["median"]["baseline"], res["median"]["branch"]
        label = _LABEL[kind].format(runs=report["runs"])
        lines.append(
            f"| {label} | {b['wall']:.3f} | {n['wall']:.3f} | ×{res['ratio_wall']:.2f} "
            f"| {b['cpu']:.3f} | {n['cpu']:.3f} | ×{res['ratio_cpu']:.2f} |"
        )
    before = ", ".join(f"{x:.1f}" for x in report["load_before"])
    after = ", ".join(f"{x:.1f}" for x in report["load_after"])
    lines.append("")
    lines.append(
        f"Medians of {report['repeats']} interleaved repeats; baseline `{report['base']}`; "
        f"{report['cpus']} usable cores; load average (1, 5, 15 min) {before} before and "
        f"{after} after. CPU is the timing process's own (Dask workers' CPU is not in it)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; prints Markdown (and writes JSON with ``--json``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="replicates (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement")
    parser.add_argument("--base", default=BASE, help=f"baseline git revision (default {BASE})")
    parser.add_argument("--skip-mean-field", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="also dump raw numbers here")
    args = parser.parse_args(argv)
    kinds = [
        kind
        for kind, skip in (
            ("mean-field", args.skip_mean_field),
            ("process", args.skip_process),
            ("workers", args.skip_workers),
        )
        if not skip
    ]
    report = run(kinds, args.runs, args.repeats, args.base)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
