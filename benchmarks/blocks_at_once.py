"""Two blocks of ``russia-2022-covert`` three ways: one thread, the exits kernel split
over two threads, and two blocks at once in two threads (what ``Sim`` does for a run
of several blocks; :mod:`forcegen.engine.local_blocks`).

    python -m benchmarks.blocks_at_once [--repeats 2]

Wall seconds per way, the ways interleaved in each repeat; medians printed as a
Markdown table. The compiled kernels are loaded first (not timed). Not part of
``make bench``; docs/benchmarks.md (*On a quiet machine*) keeps the results by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from forcegen.engine.kernels import compile_kernels
from forcegen.engine.simulate import run_block
from forcegen.scenario.load import load_scenario


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scenario", default="russia-2022-covert")
    args = parser.parse_args()
    compile_kernels()
    sc = load_scenario(args.scenario)
    run_block(sc, seed=1, block=0, rows=2)  # first-use costs outside the clock

    def one_after_another(threads: int) -> Callable[[], object]:
        return lambda: [run_block(sc, seed=1, block=b, threads=threads) for b in (0, 1)]

    def at_once() -> object:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lambda b: run_block(sc, seed=1, block=b, threads=1), (0, 1)))

    ways: dict[str, Callable[[], object]] = {
        "two blocks, one thread": one_after_another(1),
        "two blocks, the kernel split over two threads": one_after_another(2),
        "two blocks at once, one thread each": at_once,
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeats):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            times[name].append(time.perf_counter() - start)
    print(f"{args.scenario}, 2 blocks of 128 replicates; load {os.getloadavg()}")
    print("| way | wall s (median) | runs |")
    print("|---|---:|---|")
    for name, seen in times.items():
        runs = ", ".join(f"{t:.2f}" for t in seen)
        print(f"| {name} | {statistics.median(seen):.2f} | {runs} |")


if __name__ == "__main__":
    main()
