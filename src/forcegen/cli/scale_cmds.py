"""``forcegen ensemble``: huge ensembles in bounded memory.

Like ``forcegen run``, but blocks of replicates are reduced as they finish (see
:mod:`forcegen.results.reduce`) instead of being kept, so 100,000 replicates of a
three-year scenario fit in a few hundred megabytes. ``--keep summary`` keeps only the
per-replicate numbers of the summary table; ``--keep strength`` also keeps deployed
strength per replicate and date (4 bytes each) for quantile bands.
"""

from __future__ import annotations

import resource
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole
from forcegen.cli.options import (
    FormatOption,
    MaxMemoryOption,
    ModeOption,
    QuietOption,
    RunsOption,
    SampleParametersOption,
    ScenarioArgument,
    SchedulerOption,
    SeedOption,
    WorkersOption,
)
from forcegen.cli.output import Format, Printer
from forcegen.cli.progress import progress_bar
from forcegen.cli.report_cmds import ForceOption
from forcegen.cli.run_cmds import estimate_label, summary_csv_rows, summary_json, summary_rows
from forcegen.engine.simulate import Mode
from forcegen.errors import UsageError
from forcegen.results.outputs import atomic_file, check_file_target, csv_header, csv_header_is
from forcegen.results.reduce import Reducer, StrengthQuantiles, SummaryTotals
from forcegen.safetext import csv_safe
from forcegen.sim import Sim

__all__ = ["QUANTILES", "Keep", "ensemble"]

console = SafeConsole()

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles written by ``--quantiles-out`` (columns after ``date``)."""

# The first line of a --quantiles-out file: how an earlier one is recognised (a CSV
# has no other mark of being forcegen's).
_QUANTILES_HEADER = csv_header(
    pd.DataFrame(columns=[float(q) for q in QUANTILES]).rename_axis("date"), index=True
)


class Keep(StrEnum):
    """What a streamed ensemble keeps per replicate."""

    summary = "summary"
    strength = "strength"


@app.command()
def ensemble(
    scenario: ScenarioArgument,
    runs: RunsOption = 10_000,
    seed: SeedOption = 1,
    mode: ModeOption = "stochastic",
    sample_parameters: SampleParametersOption = True,
    keep: Annotated[
        Keep,
        typer.Option(
            help="summary: the summary's numbers per replicate; strength: also deployed "
            "strength per replicate and date (runs × days × 4 bytes)."
        ),
    ] = Keep.summary,
    quantiles_out: Annotated[
        Path | None,
        typer.Option(
            help="Write quantiles of deployed strength by date to this CSV (needs --keep strength)."
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    chunk: Annotated[int, typer.Option(min=1, help="Blocks of 128 replicates per Dask task.")] = 1,
    quiet: QuietOption = False,
    force: ForceOption = False,
    fmt: FormatOption = Format.table,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Simulate a large ensemble in bounded memory and print its summary.

    The default of 10,000 replicates is larger than other commands' 500: this command
    exists for ensembles too large to keep."""
    from forcegen.distributed import run_reduced

    if mode not in ("stochastic", "mean-field"):
        raise typer.BadParameter("expected 'stochastic' or 'mean-field'", param_hint="--mode")
    if quantiles_out is not None and keep is not Keep.strength:
        raise UsageError("--quantiles-out needs --keep strength")
    recognise = csv_header_is(_QUANTILES_HEADER)
    if quantiles_out is not None:
        # Before simulating: a refusal after a long ensemble would waste it.
        check_file_target(quantiles_out, force=force, recognise=recognise)
    chosen: Mode = "stochastic" if mode == "stochastic" else "mean-field"
    sim = Sim(
        scenario,
        runs=runs,
        seed=seed,
        mode=chosen,
        sample_parameters=sample_parameters,
        workers=workers,
        scheduler=scheduler,
        max_memory=max_memory,
    )
    totals = SummaryTotals()
    strength = StrengthQuantiles()
    reducers: list[Reducer] = [totals] + ([strength] if keep is Keep.strength else [])
    bar_label = estimate_label(sim.check_resources("reduced", reducers), quiet)
    start = time.perf_counter()
    with progress_bar(bar_label, quiet, unit="blocks", total=sim.blocks) as progress:
        run_reduced(sim, reducers, progress, chunk=chunk)
    elapsed = time.perf_counter() - start
    summary = totals.summary()
    printer = Printer("ensemble", fmt, console=console)
    printer.table(summary_rows(summary))
    kept = totals.nbytes + (strength.nbytes if keep is Keep.strength else 0)
    peak = _peak_rss_mb()
    printer.line(
        f"simulated in {elapsed:.1f} s; kept {kept / 1e6:,.1f} MB of per-replicate values; "
        f"peak memory of this process {peak:,.0f} MB"
    )
    if quantiles_out is not None:
        table = strength.quantiles(QUANTILES)
        table.index.name = "date"
        with atomic_file(quantiles_out, force=force, recognise=recognise) as tmp:
            csv_safe(table).to_csv(tmp)
        printer.line(f"wrote {quantiles_out}")
    data = {
        "summary": summary_json(summary),
        "elapsed_seconds": elapsed,
        "kept_bytes": int(kept),
        "peak_memory_mb": peak,
        "quantiles_out": None if quantiles_out is None else str(quantiles_out),
    }
    printer.done(data, csv_rows=summary_csv_rows(summary))


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (MB); ru_maxrss is KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6
