"""Variance reduction from common random numbers (CRN) for two policy changes.

    python -m benchmarks.crn                 # 512 replicates, prints Markdown + JSON
    python -m benchmarks.crn --runs 256 --json crn.json
    python -m benchmarks.crn --speed         # CPU time of the built-in scenario instead

Definition (issue 16): the scenario of ``tests/engine/test_reproducibility.py`` (a
series channel ``contract`` and a behavioural channel ``volunteers``, 150 days, every
parameter at its expected value), run as a base and with one change — salary +10 % in
the behavioural channel, or the killed hazard +10 % — each 512 replicates. For the
paired difference ``D = changed − base`` of the people **deployed** at the horizon,
per channel::

    factor = Var(D | changed run with another seed) / Var(D | changed run, same seed)

the variance of the difference with independent streams (seed 1 vs seed 2) over its
variance with common random numbers (seed 1 vs seed 1). A factor of 1 means CRN do not
help. Its sampling error: the ratio of two sample variances on 511 degrees of freedom
each has a relative standard error of about sqrt(4/511) ≈ 9 % (more where the CRN
differences have heavy tails); the bootstrap interval printed is over replicates.

Also reported: the same with the total strength (training + deployed + recovering),
and the wall time of the five ensembles.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from forcegen import __version__
from forcegen.engine.simulate import run_block
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.scenario.model import Scenario

FloatArray = NDArray[np.float64]
CHANNELS = ("contract", "volunteers")


def crn_scenario(*, killed: float = 0.004, salary: float = 100_000.0) -> Scenario:
    """The CRN scenario of the tests (two channels, 150 days), with one change."""
    spec: dict[str, Any] = {
        "name": "crn",
        "start_date": "2023-01-01",
        "horizon_days": 150,
        "channels": [
            {
                "id": "contract",
                "enlistment": {"model": "series", "recruits_per_day": {"range": [20, 40]}},
                "training_days": {"dist": "triangular", "low": 5, "mode": 10, "high": 20},
                "training_withdrawal_probability": {"dist": "beta", "alpha": 2, "beta": 30},
                "contract": {"term_days": 90, "renewal_probability": 0.5},
            },
            {
                "id": "volunteers",
                "pool": "men",
                "enlistment": {
                    "model": "behavioural",
                    "base_rate_per_day": 1e-4,
                    "pay_elasticity": {"range": [0.5, 1.5]},
                },
                "pay": {"salary_per_month": salary},
                "training_days": 10,
            },
        ],
        "losses": {
            "killed_per_day": {"range": [0.8 * killed, 1.2 * killed]},
            "wounded_per_day": 0.006,
            "missing_per_day": 0.0,
            "recovery": {"mean_days": {"range": [10, 20]}, "return_probability": 0.6},
        },
        "pools": [{"id": "men", "initial_people": 200_000, "reference_wage_per_month": 60_000}],
    }
    return Scenario.model_validate(spec)


def end_strength(scn: Scenario, runs: int, seed: int, sample: bool) -> FloatArray:
    """``(runs, C, 3)`` training, deployed, recovering on the last day."""
    blocks = -(-runs // BLOCK_SIZE)
    parts = [
        run_block(scn, seed=seed, block=b, sample_parameters=sample).output.strength[:, -1]
        for b in range(blocks)
    ]
    return np.concatenate(parts)[:runs].astype(np.float64)


def factor(base: FloatArray, crn: FloatArray, ind: FloatArray) -> float:
    """Var(ind − base) / Var(crn − base)."""
    v_crn = float(np.var(crn - base, ddof=1))
    v_ind = float(np.var(ind - base, ddof=1))
    return v_ind / v_crn if v_crn > 0 else float("inf")


def bootstrap(
    base: FloatArray, crn: FloatArray, ind: FloatArray, draws: int = 400
) -> tuple[float, float]:
    """5 % and 95 % bootstrap quantiles of :func:`factor`, resampling replicates."""
    rng = np.random.default_rng(0)
    n = base.size
    got = []
    for _ in range(draws):
        i = rng.integers(0, n, n)
        j = rng.integers(0, n, n)  # the independent pair resampled on its own
        v_crn = np.var(crn[i] - base[i], ddof=1)
        v_ind = np.var(ind[j] - base[j], ddof=1)
        got.append(v_ind / v_crn if v_crn > 0 else np.inf)
    lo, hi = np.quantile(got, [0.05, 0.95])
    return float(lo), float(hi)


def measure(runs: int, sample: bool) -> dict[str, Any]:
    """Factors for both changes and both channels (deployed and total strength)."""
    t0 = time.perf_counter()
    base = end_strength(crn_scenario(), runs, 1, sample)
    changes = {
        "salary +10%": crn_scenario(salary=110_000.0),
        "killed +10%": crn_scenario(killed=0.0044),
    }
    rows: list[dict[str, Any]] = []
    for change, scn in changes.items():
        crn = end_strength(scn, runs, 1, sample)
        ind = end_strength(scn, runs, 2, sample)
        for c, channel in enumerate(CHANNELS):
            for what, pick in (("deployed", [1]), ("total", [0, 1, 2])):
                b, x, y = (a[:, c, pick].sum(axis=-1) for a in (base, crn, ind))
                same = bool(np.array_equal(b, x))  # the change cannot reach this channel
                lo, hi = (np.inf, np.inf) if same else bootstrap(b, x, y)
                rows.append(
                    {
                        "change": change,
                        "channel": channel,
                        "strength": what,
                        "factor": factor(b, x, y),
                        "boot90": [lo, hi],
                        "mean_diff_crn": float((x - b).mean()),
                        "mean_diff_ind": float((y - b).mean()),
                        "sd_diff_crn": float((x - b).std(ddof=1)),
                        "sd_diff_ind": float((y - b).std(ddof=1)),
                    }
                )
    return {
        "version": __version__,
        "runs": runs,
        "sampled_parameters": sample,
        "seconds": time.perf_counter() - t0,
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    """One table of the factors."""
    out = [
        f"forcegen {result['version']}, {result['runs']} replicates, parameters "
        f"{'sampled' if result['sampled_parameters'] else 'at expected values'} "
        f"({result['seconds']:.1f} s for five ensembles)",
        "",
        "| change | channel | strength | factor | 90 % bootstrap | mean D (CRN / ind.) "
        "| sd D (CRN / ind.) |",
        "|---|---|---|---:|---|---|---|",
    ]
    for r in result["rows"]:
        lo, hi = r["boot90"]
        if np.isinf(r["factor"]):  # D = 0 in every replicate: identical under CRN
            shown, interval = "identical", "—"
        else:
            shown, interval = f"×{r['factor']:.2f}", f"{lo:.2f}–{hi:.2f}"
        out.append(
            f"| {r['change']} | {r['channel']} | {r['strength']} | {shown} "
            f"| {interval} | {r['mean_diff_crn']:.1f} / {r['mean_diff_ind']:.1f} "
            f"| {r['sd_diff_crn']:.1f} / {r['sd_diff_ind']:.1f} |"
        )
    return "\n".join(out)


def speed(blocks: int = 2, repeats: int = 5) -> dict[str, Any]:
    """CPU seconds of ``blocks`` blocks (128 replicates each) of ``russia-2022-covert``
    and the median of ``repeats`` mean-field trajectories, after compiling the kernels
    (CPU time: on a shared machine, waiting for a core is not cost)."""
    import os

    import forcegen as fg
    from forcegen.engine.kernels import compile_kernels

    compile_kernels()
    scn = fg.load("russia-2022-covert")
    run_block(scn, seed=1, block=0, mode="mean-field", rows=1)
    block_cpu = []
    for b in range(blocks):
        start = time.process_time()
        run_block(scn, seed=1, block=b)
        block_cpu.append(time.process_time() - start)
    mean_field = []
    for _ in range(repeats):
        start = time.process_time()
        run_block(scn, seed=1, block=0, mode="mean-field", rows=1)
        mean_field.append(time.process_time() - start)
    return {
        "version": __version__,
        "load": os.getloadavg()[0],
        "block_cpu": block_cpu,
        "mean_field_cpu": float(np.median(mean_field)),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.crn", description=__doc__)
    parser.add_argument("--runs", type=int, default=512)
    parser.add_argument("--sample", action="store_true", help="sample uncertain parameters")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--speed", action="store_true", help="time the built-in scenario")
    args = parser.parse_args(argv)
    if args.speed:
        print(json.dumps(speed()))
        return 0
    result = measure(args.runs, args.sample)
    print(markdown(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
