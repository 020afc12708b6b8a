"""Scenario commands: ``validate``, ``schema``, ``scenarios`` and ``evidence``.

Thin wrappers over :mod:`forcegen.scenario`: invalid input raises
:class:`~forcegen.errors.ScenarioError`, which :func:`forcegen.cli.main` prints as one
``FILE:LINE:COL: field: message`` line per problem with exit code 2.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole, err_console
from forcegen.cli.options import FormatOption
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.errors import MAX_PROBLEMS, Problem, ScenarioError
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


PROBLEM_COLUMNS = (
    Column("file"),
    Column("line", justify="right"),
    Column("column", justify="right"),
    Column("field"),
    Column("message"),
    Column("severity"),
)
"""Columns of ``forcegen validate --format csv`` (one row per error or warning)."""


@app.command()
def validate(source: Source, strict: Strict = None, fmt: FormatOption = Format.table) -> None:
    """Check a scenario; print a summary, and warnings on stderr. Exit 2 if invalid.

    With ``--format json`` or ``csv`` the problems are the document on stdout (an
    invalid scenario still exits 2)."""
    if fmt is Format.table:
        loaded = load_scenario_with_warnings(source, strict=strict)
        for warning in loaded.warnings:
            err_console.print(warning.format(), markup=False)
        # Not through Rich, but the name is still the file's text: no control characters.
        typer.echo(terminal_text(summary(loaded)))
        return
    printer = Printer("validate", fmt)
    try:
        loaded = load_scenario_with_warnings(source, strict=strict)
    except ScenarioError as exc:
        problems, omitted = _bounded(exc.problems, exc.omitted)
        data = {"source": source, "valid": False, "scenario": None}
        data |= {"problems": problems, "omitted": omitted}
        printer.done(data, csv_rows=_problem_rows(problems))
        raise typer.Exit(2) from None
    data = {"source": source, "valid": True, "scenario": scenario_json(loaded)}
    data |= {"problems": list(loaded.warnings), "omitted": {}}
    printer.done(data, csv_rows=_problem_rows(loaded.warnings))


def _bounded(
    problems: list[Problem], omitted: dict[str, int]
) -> tuple[list[Problem], dict[str, int]]:
    """At most :data:`MAX_PROBLEMS` problems per file; the others counted by file."""
    kept: list[Problem] = []
    per_file: dict[str, int] = {}
    left = dict(omitted)
    for problem in problems:
        per_file[problem.file] = per_file.get(problem.file, 0) + 1
        if per_file[problem.file] <= MAX_PROBLEMS:
            kept.append(problem)
        else:
            left[problem.file] = left.get(problem.file, 0) + 1
    return kept, left


def _problem_rows(problems: list[Problem]) -> Rows:
    return Rows(PROBLEM_COLUMNS, [dataclasses.asdict(p) for p in problems])


def scenario_json(loaded: LoadedScenario) -> dict[str, Any]:
    """What ``validate --format json`` says of a valid scenario: its name, title,
    sizes and horizon."""
    s = loaded.scenario
    return {
        "name": s.name,
        "title": s.title,
        "channels": len(s.channels),
        "pools": len(s.pools),
        "claims": len(s.claims),
        "parameters": sum(1 for _ in iter_params(s)),
        "start_date": s.start_date,
        "end_date": s.end_date,
        "horizon_days": s.horizon_days,
    }


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
def scenarios(fmt: FormatOption = Format.table) -> None:
    """List the built-in scenarios with their titles."""
    names = list_builtin()
    if not names:
        err_console.print("no built-in scenarios installed", markup=False)
    titles: dict[str, str | None] = {}
    for name in names:
        try:
            titles[name] = builtin_title(name)
        except ScenarioError:
            titles[name] = None
    if fmt is not Format.table:
        printer = Printer("scenarios", fmt)
        rows = [{"name": name, "title": title} for name, title in titles.items()]
        printer.table(Rows((Column("name"), Column("title")), rows))
        printer.done(rows)
        return
    # Whole lines on a terminal as in a pipe: a name and its title.
    width = max((len(n) for n in names), default=0)
    for name, title in titles.items():
        shown = "(cannot be read; run `forcegen validate` on it)" if title is None else title
        typer.echo(terminal_text(f"{name:<{width}}  {shown}".rstrip()))


@app.command()
def evidence(source: Source, fmt: FormatOption = Format.table) -> None:
    """Show the claims and assumptions a scenario rests on, and what rests on each."""
    loaded = load_scenario_with_warnings(source)
    table = evidence_table(loaded.scenario)
    printer = Printer("evidence", fmt, console=SafeConsole())
    claims = [
        {
            "id": use.claim.id,
            "status": use.claim.status,
            "claimant": use.claim.claimant,
            "publication": use.claim.publication,
            "published": use.claim.published,
            "statement": use.claim.statement,
            "value": use.claim.value,
            "range": None if use.claim.range is None else list(use.claim.range),
            "unit": use.claim.unit,
            "url": use.claim.url,
            "note": use.claim.note,
            "parameters": list(use.parameters),
            "events": list(use.events),
        }
        for use in table.claims
    ]
    assumptions = [
        {
            "rationale": use.rationale,
            "default": use.default,
            "parameters": list(use.parameters),
            "events": list(use.events),
        }
        for use in table.assumptions
    ]
    counts = [
        {
            "status": status,
            "claims": table.claims_by_status.get(status, 0) if status in CLAIM_STATUSES else None,
            "parameters": table.parameters_by_status.get(status, 0),
        }
        for status in (*CLAIM_STATUSES, "assumption", "unsourced")
    ]
    printer.table(Rows(_CLAIM_COLUMNS, claims, title="Claims", rich=_claims_table(table)))
    printer.table(
        Rows(
            _ASSUMPTION_COLUMNS,
            assumptions,
            title="Assumptions",
            rich=_assumptions_table(table),
        )
    )
    printer.table(Rows(_COUNT_COLUMNS, counts, title="Counts by status", rich=_counts_table(table)))
    if table.unsourced:
        names = ", ".join(table.unsourced)
        printer.line(f"Parameters without evidence or assumption: {names}")
    data = {
        "scenario": loaded.scenario.name,
        "claims": claims,
        "assumptions": assumptions,
        "counts": counts,
        "unsourced": list(table.unsourced),
    }
    basis = [{"kind": "claim", "text": c["statement"]} | c for c in claims] + [
        {"kind": "assumption", "status": "assumption", "text": a["rationale"]} | a
        for a in assumptions
    ]
    printer.done(data, csv_rows=Rows(_EVIDENCE_CSV_COLUMNS, basis))


_USED_BY = Column("parameters", "used by", text=lambda v: ", ".join(v) or "(not cited)")
_CLAIM_COLUMNS = (
    Column("id", whole=True),
    Column("status"),
    Column("claimant"),
    Column("publication"),
    Column("published"),
    Column("statement"),
    _USED_BY,
    Column("events", "events"),
)
_ASSUMPTION_COLUMNS = (
    Column("rationale", "assumption"),
    Column("default", "model default", text=lambda v: "yes" if v else ""),
    Column("parameters", "used by"),
    Column("events"),
)
_COUNT_COLUMNS = (
    Column("status"),
    Column("claims", justify="right"),
    Column("parameters", justify="right"),
)
# ``evidence --format csv``: claims and assumptions in one table, one row each.
_EVIDENCE_CSV_COLUMNS = (
    Column("kind"),
    Column("id"),
    Column("status"),
    Column("claimant"),
    Column("publication"),
    Column("published"),
    Column("text"),
    Column("default"),
    Column("parameters"),
    Column("events"),
)


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
