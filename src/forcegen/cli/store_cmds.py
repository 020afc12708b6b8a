"""Results-store commands: ``runs``, ``show``, ``export`` and ``delete``.

Thin wrappers over :class:`forcegen.results.store.Store`; a missing store or run, a
locked store or a bad format raises a :class:`~forcegen.errors.ForcegenError`, which
:func:`forcegen.cli.main` prints with exit code 2.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from forcegen.cli.app import app
from forcegen.cli.console import err_console
from forcegen.cli.options import FormatOption, StoreOption
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.cli.run_cmds import (
    basis_json,
    console,
    evidence_json,
    summary_basis,
    summary_csv_rows,
    summary_json,
    summary_rows,
)
from forcegen.results.export import FORMATS, Filters, export_run
from forcegen.results.result import DEFAULT_MAX_ROWS
from forcegen.results.store import DEFAULT_PATH, RunInfo, Store
from forcegen.scenario.evidence import evidence_status_line

__all__ = ["RUNS_COLUMNS", "delete", "export", "migrate", "run_json", "runs", "show"]

RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="Run id (or a unique prefix), see `forcegen runs`.")
]


RUNS_COLUMNS = (
    Column("id", whole=True),
    Column("saved", "saved (UTC)", text=lambda v: f"{v:%Y-%m-%d %H:%M}"),
    Column("scenario"),
    Column("replicates", "runs", "right", text=lambda v: f"{v:,}"),
    Column("days", justify="right"),
    Column("seed", justify="right"),
    Column("mode"),
    Column("forcegen"),
    Column("label"),
)
"""Columns of ``forcegen runs`` (keys of its CSV and JSON rows)."""


@app.command()
def runs(store: StoreOption = DEFAULT_PATH, fmt: FormatOption = Format.table) -> None:
    """List the runs saved in the results store, oldest first."""
    table = Store(store).list()
    printer = Printer("runs", fmt)
    rows = [
        {
            "id": str(row["run_id"]),
            "saved": row["created_at"],
            "scenario": str(row["scenario"]),
            "replicates": int(row["replicates"]),
            "days": int(row["horizon_days"]),
            "seed": int(row["seed"]),
            "mode": str(row["mode"]),
            "forcegen": str(row["forcegen_version"]),
            "label": row["label"] if isinstance(row["label"], str) else None,
        }
        for row in table.to_dict("records")
    ]
    if not rows and printer.format is Format.table:
        console.print(f"no runs in {store}", markup=False)
        return
    printer.table(Rows(RUNS_COLUMNS, rows, title=f"runs in {store}"))
    printer.done(rows)


@app.command()
def show(
    run: RunArgument, store: StoreOption = DEFAULT_PATH, fmt: FormatOption = Format.table
) -> None:
    """Show a stored run: its provenance and summary (strength, recruits, losses, cost)."""
    st = Store(store)
    info = st.info(run)
    folder = st.folder(info.run_id)
    summary = folder.summary()
    scenario = folder.scenario()
    bases = summary_basis(folder.totals(), folder.parameters(), scenario)
    printer = Printer("show", fmt)
    for line in provenance_lines(info):
        printer.line(line)
    printer.table(summary_rows(summary, bases))
    printer.line(evidence_status_line(scenario))
    data = {
        "run": run_json(info),
        "summary": summary_json(summary),
        "evidence": evidence_json(scenario),
        "basis": basis_json(summary, bases),
    }
    printer.done(data, csv_rows=summary_csv_rows(summary))


def run_json(info: RunInfo) -> dict[str, Any]:
    """A stored run's provenance, for JSON (docs/cli.md, ``show``)."""
    return {
        "id": info.run_id,
        "scenario": info.scenario,
        "saved": info.created_at,
        "label": info.label,
        "seed": info.seed,
        "replicates": info.replicates,
        "mode": info.mode,
        "sample_parameters": info.sample_parameters,
        "forcegen": info.version,
        "elapsed_seconds": info.elapsed_seconds,
        "start_date": info.start_date,
        "horizon_days": info.horizon_days,
        "currency": info.currency,
        "channels": list(info.channels),
        "pools": list(info.pools),
        "scenario_hash": info.scenario_hash,
    }


def provenance_lines(info: RunInfo) -> list[str]:
    """What determines a stored run (scenario, seed, version) and how it was run."""
    sampled = "parameters sampled" if info.sample_parameters else "parameters at expected values"
    label = f", label {info.label!r}" if info.label else ""
    return [
        f"run {info.run_id}: {info.scenario}, saved {info.created_at:%Y-%m-%d %H:%M} UTC{label}",
        f"seed {info.seed}, {info.replicates:,} runs, {info.mode}, {sampled}, "
        f"forcegen {info.version}, simulated in {info.elapsed_seconds:.1f} s",
        f"{info.horizon_days} days from {info.start_date}; scenario hash {info.scenario_hash[:16]}",
    ]


class What(StrEnum):
    """What ``forcegen export`` writes (see :mod:`forcegen.results.export`)."""

    quantiles = "quantiles"
    summary = "summary"
    replicates = "replicates"


class Every(StrEnum):
    """Periods ``forcegen export`` resamples days to."""

    day = "day"
    week = "week"
    month = "month"


@app.command()
def export(
    run: RunArgument,
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    what: Annotated[
        What,
        typer.Option(
            help="quantiles: bands across replicates per series, channel and category "
            "(the default: small, and what most readers want); summary: the headline "
            "numbers; replicates: every replicate's numbers (tidy rows; arrays in netCDF)."
        ),
    ] = What.quantiles,
    series: Annotated[
        list[str] | None,
        typer.Option(
            "--series",
            metavar="SERIES",
            help="Only this series (repeat for several).",
            show_default="all",
        ),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel",
            metavar="ID",
            help="Only this channel or pool (repeat for several); '*' rows sum the chosen ones.",
            show_default="all",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="First day, YYYY-MM-DD (inclusive)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Last day, YYYY-MM-DD (inclusive).")
    ] = None,
    every: Annotated[
        Every,
        typer.Option(
            help="Resample: stocks (strength, pool) at each period's last day, flows summed; "
            "periods are labelled by their last simulated day."
        ),
    ] = Every.day,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="|".join(FORMATS),
            help="File format; from the suffix of --out (.csv, .parquet, .nc, .json) if omitted.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace --out even if it is not a file forcegen wrote.")
    ] = False,
    max_rows: Annotated[
        int,
        typer.Option(min=0, help="Refuse replicates exports of more rows than this; 0: no bound."),
    ] = DEFAULT_MAX_ROWS,
    store: StoreOption = DEFAULT_PATH,
) -> None:
    """Export a stored run: quantile bands (default), the summary, or replicates, as CSV,
    Parquet, netCDF or JSON, with the run's provenance (docs/store.md)."""
    filters = Filters(
        series=None if not series else tuple(series),
        channels=None if not channel else tuple(channel),
        start=start,
        end=end,
        every=every.value,
    )
    path = export_run(
        Store(store),
        run,
        out,
        what=what.value,
        filters=filters,
        fmt=fmt,
        force=force,
        max_rows=max_rows or None,
    )
    console.print(f"wrote {path}")


@app.command()
def delete(
    run: RunArgument,
    store: StoreOption = DEFAULT_PATH,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a run from the results store."""
    st = Store(store)
    info = st.info(run)
    if not yes:
        question = (
            f"delete run {info.run_id} ({info.scenario}, {info.replicates:,} runs, seed "
            f"{info.seed}) from {store}?"
        )
        if not typer.confirm(question):
            # Declining is an answer, not a failure: nothing is deleted, exit 0.
            err_console.print(f"kept run {info.run_id}", markup=False)
            return
    console.print(f"deleted run {st.delete(info.run_id)} from {store}")


@app.command()
def migrate(store: StoreOption = DEFAULT_PATH) -> None:
    """Convert a results store written by forcegen 0.3 or earlier to this version's
    layout; the old file is kept as <store>.v1-backup."""
    ids = Store(store).migrate()
    console.print(
        f"migrated {len(ids)} run(s) in {store}; the old file is {store}.v1-backup", markup=False
    )
