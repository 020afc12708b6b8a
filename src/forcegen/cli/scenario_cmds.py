"""Scenario commands: ``validate``, ``schema``, ``scenarios`` and ``evidence``.

Thin wrappers over :mod:`forcegen.scenario`: invalid input raises
:class:`~forcegen.errors.ScenarioError`, which :func:`forcegen.cli.main` prints as one
``FILE:LINE:COL: field: message`` line per problem with exit code 2.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from forcegen.cli import SafeConsole, app, err_console
from forcegen.errors import ScenarioError
from forcegen.safetext import terminal_text
from forcegen.scenario.evidence import CLAIM_STATUSES, EvidenceTable, evidence_table
from forcegen.scenario.load import (
    LoadedScenario,
    builtin_title,
    list_builtin,
    load_scenario_with_warnings,
)
from forcegen.scenario.model import Scenario
from forcegen.scenario.walk import iter_params

__all__ = ["evidence", "scenarios", "schema", "validate"]

Source = Annotated[
    str, typer.Argument(metavar="PATH|NAME", help="Scenario file, or name of a built-in scenario.")
]
Strict = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict",
        help="Treat parameters without evidence or assumption as errors "
        "(default: on for built-in scenarios, off for files).",
        show_default=False,
    ),
]
_STATEMENT_WIDTH = 90


@app.command()
def validate(source: Source, strict: Strict = None) -> None:
    """Check a scenario; print a summary, and warnings on stderr. Exit 2 if invalid."""
    loaded = load_scenario_with_warnings(source, strict=strict)
    for warning in loaded.warnings:
        err_console.print(warning.format(), markup=False)
    # Not through Rich, but the name is still the file's text: no control characters.
    typer.echo(terminal_text(summary(loaded)))


def summary(loaded: LoadedScenario) -> str:
    """One line describing a loaded scenario: name, sizes and horizon."""
    s = loaded.scenario
    n_params = sum(1 for _ in iter_params(s))
    line = (
        f"{s.name}: ok: {len(s.channels)} channels, {len(s.pools)} pools, "
        f"{len(s.claims)} claims, {n_params} parameters, "
        f"{s.start_date} to {s.end_date} ({s.horizon_days} days)"
    )
    if loaded.warnings:
        line += f", {len(loaded.warnings)} warning(s)"
    return line


@app.command()
def schema() -> None:
    """Print the JSON Schema of a scenario file."""
    typer.echo(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@app.command()
def scenarios() -> None:
    """List the built-in scenarios with their titles."""
    names = list_builtin()
    if not names:
        err_console.print("no built-in scenarios installed", markup=False)
        return
    width = max(len(n) for n in names)
    for name in names:
        try:
            title = builtin_title(name)
        except ScenarioError:
            title = "(cannot be read; run `forcegen validate` on it)"
        typer.echo(terminal_text(f"{name:<{width}}  {title}".rstrip()))


@app.command()
def evidence(source: Source) -> None:
    """Show the claims and assumptions a scenario rests on, and what rests on each."""
    loaded = load_scenario_with_warnings(source)
    table = evidence_table(loaded.scenario)
    console = SafeConsole()
    console.print(_claims_table(table))
    console.print(_assumptions_table(table))
    console.print(_counts_table(table))
    if table.unsourced:
        names = ", ".join(table.unsourced)
        console.print(Text(f"Parameters without evidence or assumption: {names}"))


def _shorten(text: str, width: int = _STATEMENT_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _claims_table(table: EvidenceTable) -> Table:
    # Three columns fit an 80-column terminal: the claim (id, who, what), its status,
    # and the parameters resting on it.
    out = Table(title="Claims", show_lines=True, title_justify="left", expand=True)
    out.add_column("claim", overflow="fold", ratio=3)
    out.add_column("status", no_wrap=True)
    out.add_column("used by", overflow="fold", ratio=2)
    for use in table.claims:
        used_by = "\n".join(use.parameters + use.events) or "(not cited)"
        claim = use.claim
        # Text cells: statements may hold brackets that Rich would read as markup.
        described = Text(claim.id, style="bold")
        described.append(f"\n{claim.claimant}; {claim.publication}, {claim.published}")
        described.append(f"\n{_shorten(claim.statement)}", style="italic")
        out.add_row(described, Text(claim.status), Text(used_by))
    return out


def _assumptions_table(table: EvidenceTable) -> Table:
    out = Table(title="Assumptions", show_lines=True, title_justify="left", expand=True)
    for column in ("assumption", "used by"):
        out.add_column(column, overflow="fold")
    for use in table.assumptions:
        rationale = use.rationale + (" (model default)" if use.default else "")
        out.add_row(Text(rationale), Text("\n".join(use.parameters + use.events)))
    return out


def _counts_table(table: EvidenceTable) -> Table:
    out = Table(title="Counts by status", title_justify="left")
    out.add_column("status")
    out.add_column("claims", justify="right")
    out.add_column("parameters", justify="right")
    for status in CLAIM_STATUSES:
        claims = str(table.claims_by_status.get(status, 0))
        out.add_row(status, claims, str(table.parameters_by_status.get(status, 0)))
    for status in ("assumption", "unsourced"):
        out.add_row(status, "", str(table.parameters_by_status.get(status, 0)))
    return out
