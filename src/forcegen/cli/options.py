"""Command-line arguments and options shared by several commands (one definition each)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forcegen.cli.output import Format

DEFAULT_RUNS = 500
"""Replicates every answer command (run, ask, compare, plot, report, solve) simulates
unless given ``--runs``: the 95 % interval of a probability is then at most ±4.4
percentage points, and the built-in scenario takes about 14 s on 2 cores. ``demo``
(256, two full blocks: a first look within a minute) and ``ensemble`` (10,000: it
exists for ensembles too large to keep) keep their own defaults."""

__all__ = [
    "DEFAULT_RUNS",
    "FormatOption",
    "MaxMemoryOption",
    "ModeOption",
    "NoStoreOption",
    "QuietOption",
    "RunsOption",
    "SampleParametersOption",
    "ScenarioArgument",
    "SchedulerOption",
    "SeedOption",
    "SetOption",
    "StoreOption",
    "WorkersOption",
]

ScenarioArgument = Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")]
RunsOption = Annotated[int, typer.Option(min=1, help="Number of replicates.")]
FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        help="table: tables on a terminal, whole tab-separated lines in a pipe or file; "
        "csv; json: {forcegen, schema, data} (docs/cli.md).",
    ),
]
SeedOption = Annotated[int, typer.Option(min=0, help="Random seed.")]
ModeOption = Annotated[
    str, typer.Option(help="stochastic (integer people) or mean-field (expectations).")
]
SampleParametersOption = Annotated[
    bool,
    typer.Option(
        "--sample-parameters/--no-sample-parameters",
        help="Draw uncertain parameters per replicate (bands show parameter uncertainty).",
    ),
]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Local worker processes.")]
SchedulerOption = Annotated[
    str | None,
    typer.Option(envvar="FORCEGEN_SCHEDULER", help="Dask scheduler address tcp://host:port."),
]
QuietOption = Annotated[bool, typer.Option(help="No progress bar.")]
StoreOption = Annotated[
    Path,
    typer.Option(
        "--store",
        envvar="FORCEGEN_STORE",
        help="Results store (a DuckDB file) holding runs.",
        show_default=True,
    ),
]
NoStoreOption = Annotated[
    bool,
    typer.Option("--no-store", help="Do not save the simulated run in the results store."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a scenario value before it is validated (repeatable): "
        "PATH as parameter names are written (losses.killed_per_day, "
        "channels.contract.pay.salary_per_month, events.0.date); VALUE a number, "
        "range:LOW,HIGH, triangular:LOW,MODE,HIGH, normal:MEAN,SD[,LOW,HIGH], "
        "lognormal:MEDIAN,P95, beta:A,B, or a YAML value. Recorded in the run's label "
        "(docs/authoring.md).",
    ),
]
MaxMemoryOption = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        envvar="FORCEGEN_MAX_MEMORY",
        help="Memory the run may take (8G, 512M, 2GiB); a run estimated to need more is "
        "refused before simulating. Default: the memory available.",
    ),
]
