"""``forcegen check`` and ``forcegen backtest``: a scenario (or a stored run) against
an observation ledger. Thin wrappers over :mod:`forcegen.observations`.

A bad ledger or mapping raises :class:`~forcegen.errors.ScenarioError` (every problem
located); :func:`forcegen.cli.main` prints them and exits with 2.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole, err_console
from forcegen.cli.options import FormatOption, QuietOption, StoreOption, WorkersOption
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.cli.report_cmds import ForceOption, Source, load_or_simulate
from forcegen.errors import UsageError
from forcegen.results.store import DEFAULT_PATH

__all__ = ["backtest_cmd", "check_cmd"]

console = SafeConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 160)

LedgerArgument = Annotated[
    Path,
    typer.Argument(help="Observation ledger CSV (public-record columns, docs/calibration.md)."),
]
MappingOption = Annotated[
    Path | None,
    typer.Option(help="Quantity mapping YAML; default: the shipped one (quantities.yaml)."),
]
OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Folder for the CSV tables and figures.")
]


def _resolve(scenario: Any, observations: Path, mapping: Path | None) -> Any:
    from forcegen.observations.ledger import load_ledger
    from forcegen.observations.mapping import load_mapping
    from forcegen.observations.measure import resolve

    return resolve(load_ledger(observations), scenario, load_mapping(mapping))


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def _posterior_factors(
    source: str, run_id: str | None, scenario: Any, resolved: Any, *, runs: int, seed: int
) -> tuple[Any, list[str]]:
    """The observation factors, before-start rates and discrepancy of a calibrated
    scenario's posterior sample, one row per replicate, and notes saying where they
    came from; ``(None, [])`` (factors from their prior ranges) without a sample.

    A scenario simulated here drew its replicates' parameters from the sample's
    particles (:func:`~forcegen.analysis.posterior_runs.joint_for_source`, from the
    same seed): each replicate gets its own particle's factors, jointly. A stored run
    does not record which particles its replicates drew, so its factors are drawn
    from the sample of the built-in of its scenario's name, independently of them.
    """
    from forcegen.analysis.calibration.ledger import posterior_draws
    from forcegen.analysis.posterior_runs import joint_draws, joint_for_source, particles_for

    notes: list[str] = []
    if run_id is None:
        joint = joint_for_source(source, scenario, runs, seed)
    else:
        path = particles_for(scenario.name)
        joint = None if path is None else joint_draws(path, scenario, runs, seed)
        if joint is not None:
            notes.append(
                f"the run does not record which particles its replicates drew: observation "
                f"factors are drawn from {path} independently of the run's parameters"
            )
    if joint is None or joint.nuisance.empty:
        return None, []
    draws, missing = posterior_draws(joint.nuisance, resolved, seed)
    if len(missing) == len(resolved.groups) + len(resolved.offsets) + 1:
        # A sample of another ledger, or of the older format (factors per series).
        return None, [
            f"the posterior sample {joint.path} holds no observation factor of this ledger: "
            "factors from their prior ranges"
        ]
    notes.insert(
        0,
        f"observation factors, before-start rates and model discrepancy from the posterior "
        f"sample {joint.path}, one particle per replicate (not the factors' prior ranges)",
    )
    if missing:
        notes.append(f"not in the posterior sample, so from their prior: {', '.join(missing)}")
    if joint.failed:
        notes.append(
            "WARNING: this posterior sample FAILED its diagnostics and was written anyway "
            "(--accept-failed): the bands are unreliable"
        )
    return draws, notes


@app.command("check")
def check_cmd(
    source: Source,
    observations: LedgerArgument,
    mapping: MappingOption = None,
    runs: Annotated[
        int, typer.Option(min=2, help="Replicates, when a scenario is simulated.")
    ] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 1,
    store: StoreOption = DEFAULT_PATH,
    workers: WorkersOption = None,
    out: OutOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Score every observation of a ledger against a scenario's predictive bands.

    A calibrated scenario with a posterior sample uses the sample's observation
    factors (one particle per replicate), not the factors' prior ranges.

    Per observation: the 5-95 % predictive band of what its source would report
    (observation model applied), the percentile it falls at, whether it is inside the
    50 % and 90 % bands, the interval score and CRPS (log scale). Then summaries by
    series and by source, and the rows that cannot be used, with why. --out writes the
    tables (CSV) and one figure per series (PNG)."""
    from forcegen.observations.check import check

    result, run_id = load_or_simulate(
        source, runs=runs, seed=seed, store=store, workers=workers, quiet=quiet
    )
    resolved = _resolve(result.scenario, observations, mapping)
    if not resolved.measurements:
        raise UsageError(
            f"no observation in {observations} can be compared with {result.scenario.name}; "
            "see the reasons with --format csv"
        )
    posterior, posterior_notes = _posterior_factors(
        source, run_id, result.scenario, resolved, runs=result.runs, seed=seed
    )
    checked = check(
        result, resolved, seed=seed, posterior=posterior, label=run_id or result.scenario.name
    )
    checked.notes[:0] = posterior_notes
    table = checked.table
    n_out = len(resolved.measurements) + len(resolved.unusable)
    title = (
        f"{checked.label} against {observations.name}: {len(resolved.measurements)} of "
        f"{n_out} outcome rows usable ({resolved.usable_share:.0%}); "
        f"{table['inside90'].mean():.0%} inside their 90 % band, "
        f"{table['inside50'].mean():.0%} inside their 50 % band ({result.runs} replicates)"
    )
    columns = (
        Column("id"),
        Column("quantity"),
        Column("date"),
        Column("verification"),
        Column("observed", justify="right"),
        Column("band", "5–95 % predictive", "right"),
        Column("percentile", justify="right"),
        Column("inside90", "in 90 %", "right"),
        Column("interval_score", "IS", "right"),
        Column("crps", "CRPS", "right"),
    )
    shown = [
        {
            "id": r["id"],
            "quantity": r["quantity"],
            "date": r["date"],
            "verification": r["verification"],
            "observed": _fmt(r["observed"]),
            "band": f"{_fmt(r['q05'])} – {_fmt(r['q95'])}",
            "percentile": f"{r['percentile']:.0%}",
            "inside90": _fmt(bool(r["inside90"])),
            "interval_score": _fmt(r["interval_score"]),
            "crps": _fmt(r["crps"]),
        }
        for r in table.to_dict("records")
    ]
    printer = Printer("check", fmt, console=console)
    printer.table(Rows(columns, shown, title=title))
    series = Rows.from_frame(checked.by_series, title="by series")
    sources = Rows.from_frame(checked.by_source, title="by source")
    printer.table(series)
    printer.table(sources)
    for u in resolved.unusable:
        printer.line(f"unusable {u.row.id} ({u.row.quantity}): {u.reason}")
    for note in checked.notes:
        printer.line(f"note: {note}")
    paths: dict[str, Path] | None = None
    if out is not None:
        paths = checked.write(out, force=force)
        printer.line(f"wrote {len(paths)} files into {out}")
    elif printer.format is Format.table:
        err_console.print("(give --out DIR to write the tables and one figure per series)")
    data = {
        "source": checked.label,
        "scenario": result.scenario.name,
        "observations": str(observations),
        "runs": result.runs,
        "usable": len(resolved.measurements),
        "outcome_rows": n_out,
        "inside50": float(table["inside50"].mean()),
        "inside90": float(table["inside90"].mean()),
        "rows": Rows.from_frame(table).records(),
        "by_series": series.records(),
        "by_source": sources.records(),
        "unusable": Rows.from_frame(checked.unusable).records(),
        "notes": list(checked.notes),
        "files": paths,
    }
    printer.done(data, csv_rows=Rows.from_frame(table))


@app.command("backtest")
def backtest_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
    observations: LedgerArgument,
    cutoff: Annotated[
        str, typer.Option(help="Cut-off date YYYY-MM-DD: calibrate on what was known by then.")
    ],
    mapping: MappingOption = None,
    params: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated parameters to calibrate; default: the most influential."
        ),
    ] = None,
    max_params: Annotated[int, typer.Option(min=1, help="Parameters chosen by default.")] = 6,
    particles: Annotated[
        int, typer.Option(min=20, help="SMC particles per population (two populations).")
    ] = 128,
    budget: Annotated[int, typer.Option(min=100, help="Most simulations.")] = 200_000,
    prior_runs: Annotated[int, typer.Option(min=10, help="Replicates of the prior.")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    out: OutOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Calibrate on the observations known at --cutoff, forecast the rest, and score the
    forecast against the prior and two naive baselines (last value carried forward;
    linear extrapolation of the last two points). Prints coverage, mean scores and the
    interval-score ratios by family of series."""
    from forcegen.cli.progress import progress_bar
    from forcegen.observations.backtest import backtest
    from forcegen.sim import load

    try:
        when = dt.date.fromisoformat(cutoff)
    except ValueError:
        raise UsageError(f"--cutoff must be a date YYYY-MM-DD, got {cutoff!r}") from None
    scen = load(scenario)
    resolved = _resolve(scen, observations, mapping)
    names = [n.strip() for n in params.split(",") if n.strip()] if params else None
    with progress_bar("calibrating (simulations)", quiet) as progress:
        result = backtest(
            resolved,
            when,
            params=names,
            max_params=max_params,
            particles=particles,
            budget=budget,
            prior_runs=prior_runs,
            seed=seed,
            progress=progress,
        )
    diag = result.posterior.diagnostics
    rhat = f", R-hat across populations {diag.max_rhat:.3f}" if diag.rhat else ""
    title = (
        f"{scen.name} backtest at {when}: {len(result.train.measurements)} training and "
        f"{len(result.test.measurements)} test rows; calibration T = "
        f"{diag.final_temperature:.3g}, ESS {diag.ess:.0f} of {particles} per population, "
        f"{diag.simulations} simulations{rhat}: "
        + ("diagnostics passed" if diag.passed else "DIAGNOSTICS FAILED")
    )
    summary = Rows.from_frame(result.summary, title=title)
    printer = Printer("backtest", fmt, console=console)
    printer.table(summary)
    printer.line(f"calibrated parameters: {', '.join(result.posterior.parameters)}")
    for note in result.notes:
        printer.line(f"note: {note}")
    paths: dict[str, Path] | None = None
    if out is not None:
        paths = result.write(out, force=force)
        printer.line(f"wrote {len(paths)} files into {out}")
    printer.line(f"backtested in {result.elapsed_seconds:.1f} s")
    data = {
        "scenario": scen.name,
        "observations": str(observations),
        "cutoff": when.isoformat(),
        "train": len(result.train.measurements),
        "test": len(result.test.measurements),
        "parameters": result.posterior.parameters,
        "diagnostics": diag.as_dict(),
        "summary": summary.records(),
        "scores": Rows.from_frame(result.scores).records(),
        "notes": list(result.notes),
        "files": paths,
    }
    printer.done(data, csv_rows=summary)
