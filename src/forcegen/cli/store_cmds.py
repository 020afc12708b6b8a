"""Results-store commands: ``runs``, ``show``, ``export`` and ``delete``.

Thin wrappers over :class:`forcegen.results.store.Store`; a missing store or run, a
locked store or a bad format raises a :class:`~forcegen.errors.ForcegenError`, which
:func:`forcegen.cli.main` prints with exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forcegen.cli import app
from forcegen.cli.options import StoreOption
from forcegen.cli.run_cmds import console, summary_table
from forcegen.results.store import DEFAULT_PATH, EXPORT_FORMATS, RunInfo, Store
from forcegen.scenario.evidence import evidence_status_line

__all__ = ["delete", "export", "runs", "show"]

RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="Run id (or a unique prefix), see `forcegen runs`.")
]


@app.command()
def runs(store: StoreOption = DEFAULT_PATH) -> None:
    """List the runs saved in the results store, oldest first."""
    table = Store(store).list()
    if table.empty:
        console.print(f"no runs in {store}")
        return
    out = Table(title=f"runs in {store}", title_justify="left")
    for col in ("id", "saved (UTC)", "scenario"):
        out.add_column(col)
    for col in ("runs", "days", "seed"):
        out.add_column(col, justify="right")
    for col in ("mode", "forcegen", "label"):
        out.add_column(col)
    for row in table.itertuples(index=False):
        out.add_row(
            str(row.run_id),
            f"{row.created_at:%Y-%m-%d %H:%M}",
            str(row.scenario),
            f"{row.replicates:,}",
            str(row.horizon_days),
            str(row.seed),
            str(row.mode),
            str(row.forcegen_version),
            row.label if isinstance(row.label, str) else "",
        )
    console.print(out)


@app.command()
def show(run: RunArgument, store: StoreOption = DEFAULT_PATH) -> None:
    """Show a stored run: its provenance and summary (strength, recruits, losses, cost)."""
    st = Store(store)
    info = st.info(run)
    result = st.load(info.run_id)
    for line in provenance_lines(info):
        console.print(line, markup=False)
    console.print(summary_table(result.summary()))
    console.print(evidence_status_line(result.scenario), markup=False)


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


@app.command()
def export(
    run: RunArgument,
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="|".join(EXPORT_FORMATS),
            help="File format; taken from the suffix of --out (.parquet, .csv, .nc) if omitted.",
        ),
    ] = None,
    store: StoreOption = DEFAULT_PATH,
) -> None:
    """Export a stored run: tidy rows (parquet, csv) or labelled arrays (netcdf)."""
    path = Store(store).export(run, out, fmt)
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
            raise typer.Abort()
    console.print(f"deleted run {st.delete(info.run_id)} from {store}")
