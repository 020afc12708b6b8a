"""``forcegen sensitivity`` and ``forcegen calibrate``: thin wrappers over
:mod:`forcegen.analysis.sensitivity` and :mod:`forcegen.analysis.calibration`.

Bad arguments raise :class:`~forcegen.errors.UsageError` and an invalid observed-data
file raises :class:`~forcegen.errors.ScenarioError` (one ``FILE:LINE:COL: field:
message`` line per problem); :func:`forcegen.cli.main` prints them and exits with 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole, err_console
from forcegen.cli.options import FormatOption, QuietOption, SchedulerOption, WorkersOption
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.cli.progress import progress_bar
from forcegen.cli.report_cmds import ForceOption
from forcegen.engine.simulate import Mode
from forcegen.errors import UsageError

__all__ = ["calibrate_cmd", "sensitivity_cmd"]

# Tables of long parameter names need room: when output goes to a file or a pipe (no
# terminal width to respect), draw them 160 columns wide rather than Rich's 80.
console = SafeConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 160)


# Styles of evidence statuses in tables, weakest flagged.
_STATUS_STYLE = {
    "official-claim": "green",
    "independent-count": "green",
    "estimate": "cyan",
    "assumption": "yellow",
    "unverified-report": "bold red",
    "denied": "bold magenta",
    "unsourced": "dim",
}


def _mode(value: str) -> Mode:
    if value == "stochastic":
        return "stochastic"
    if value == "mean-field":
        return "mean-field"
    raise UsageError(f"--mode must be 'stochastic' or 'mean-field', got {value!r}")


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError("--params is empty; give comma-separated parameter names")
    return names


def _statuses(evidence: str) -> str:
    """``estimate: a; unverified-report: b; assumption`` → ``estimate, unverified-report,
    assumption`` (distinct statuses, in order)."""
    parts = [p.split(":", 1)[0].strip() for p in evidence.split(";") if p.strip()]
    return ", ".join(dict.fromkeys(parts))


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:,.4g}"


@app.command("sensitivity")
def sensitivity_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
    output: Annotated[
        str,
        typer.Option(
            help="QUANTITY[SELECTOR]@DATE: strength, strength[CHANNEL], recruits[CHANNEL], "
            "losses[CAUSE], cost[CHANNEL] (flows cumulative from the start date)."
        ),
    ] = "strength@2023-12-31",
    method: Annotated[str, typer.Option(help="sobol (variance indices) or morris (screening).")] = (
        "sobol"
    ),
    samples: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Sobol base sample N (N·(D+2) runs) or Morris trajectories r (r·(D+1) runs); "
            "default: about 8192 (Sobol) or 2048 (Morris) runs.",
        ),
    ] = None,
    params: Annotated[
        str | None, typer.Option(help="Comma-separated parameter names; default all uncertain.")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    mode: Annotated[
        str, typer.Option(help="mean-field (parameters only) or stochastic (adds chance noise).")
    ] = "mean-field",
    out: Annotated[
        Path | None, typer.Option(help="Folder for the figure (PNG) and the table (CSV).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows shown and plotted.")] = 20,
    second_order: Annotated[
        bool,
        typer.Option(
            "--second-order", help="Sobol: also pairwise interaction indices (N·(2D+2) runs)."
        ),
    ] = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Rank uncertain parameters by their influence on one output, with their evidence.

    Sobol or Morris (SALib) in quantile space; the design runs as replicates of a few
    simulations. Prints the ranked table; --out writes a figure and a CSV."""
    from forcegen.analysis.sensitivity import check_outputs, sensitivity
    from forcegen.sim import load

    if method not in ("sobol", "morris"):
        raise UsageError(f"--method must be 'sobol' or 'morris', got {method!r}")
    scen = load(scenario)
    if out is not None:
        # Before the design runs: a refusal after minutes of simulation helps nobody.
        check_outputs(out, scen.name, output, method, force=force)
    with progress_bar("simulating design", quiet) as progress:
        result = sensitivity(
            scen,
            output,
            method="sobol" if method == "sobol" else "morris",
            samples=samples,
            params=_names(params),
            seed=seed,
            mode=_mode(mode),
            workers=workers,
            scheduler=scheduler,
            second_order=second_order,
            progress=progress,
        )
    pct = f"{result.conf_level:.0%} CI"
    title = (
        f"{result.scenario.name}: sensitivity of {result.output.description}\n"
        f"{result.method}, {result.samples} samples = {result.runs} runs, {result.mode}, "
        f"seed {result.seed}; output mean {_fmt(result.output_mean)}, sd "
        f"{_fmt(result.output_sd)}"
    )
    # Text, not markup: the scenario name and output are the user's words.
    table = Table(title=Text(title), title_justify="left")
    shown: list[dict[str, Any]] = []
    table.add_column("#", justify="right")
    table.add_column("parameter", overflow="fold")
    if result.method == "sobol":
        table.add_column(f"ST ± {pct}", justify="right")
        table.add_column(f"S1 ± {pct}", justify="right")
    else:
        table.add_column(f"mu* ± {pct}", justify="right")
        table.add_column("sigma", justify="right")
    table.add_column("values explored", justify="right")
    table.add_column("evidence")
    for r in result.table.head(top).to_dict("records"):
        if result.method == "sobol":
            a = f"{r['ST']:.3f} ± {r['ST_conf']:.3f}"
            b = f"{r['S1']:.3f} ± {r['S1_conf']:.3f}"
        else:
            a = f"{_fmt(r['mu_star'])} ± {_fmt(r['mu_star_conf'])}"
            b = _fmt(r["sigma"])
        # Statuses here (weakest coloured); the claim ids are in the CSV and the figure.
        statuses = _statuses(str(r["evidence"]))
        evidence = Text(statuses, style=_STATUS_STYLE.get(str(r["weakest"]), ""))
        # Text cells: names and evidence may contain [brackets], which Rich would
        # otherwise read as markup.
        explored = f"{_fmt(r['low'])} – {_fmt(r['high'])}"
        table.add_row(
            Text(str(r["rank"])),
            Text(str(r["parameter"])),
            Text(a),
            Text(b),
            Text(explored),
            evidence,
        )
        shown.append(
            {"rank": r["rank"], "parameter": r["parameter"], "a": a, "b": b}
            | {"explored": explored, "evidence": statuses}
        )
    printer = Printer("sensitivity", fmt, console=console)
    index_headers = (
        (f"ST ± {pct}", f"S1 ± {pct}")
        if result.method == "sobol"
        else (
            f"mu* ± {pct}",
            "sigma",
        )
    )
    columns = (
        Column("rank", "#", "right"),
        Column("parameter"),
        Column("a", index_headers[0], "right"),
        Column("b", index_headers[1], "right"),
        Column("explored", "values explored", "right"),
        Column("evidence"),
    )
    printer.table(Rows(columns, shown, title=title, rich=table))
    interactions: list[dict[str, Any]] | None = None
    if result.second_order is not None:
        interactions = Rows.from_frame(result.second_order).records()
        pairs = Table(title="largest interactions (second-order Sobol)", title_justify="left")
        for col in ("parameter a", "parameter b", f"S2 ± {pct}"):
            pairs.add_column(col)
        pair_rows: list[dict[str, Any]] = []
        for r in result.second_order.head(min(top, 10)).to_dict("records"):
            s2 = f"{r['S2']:.3f} ± {r['S2_conf']:.3f}"
            pairs.add_row(Text(str(r["parameter_a"])), Text(str(r["parameter_b"])), Text(s2))
            pair_rows.append({"a": r["parameter_a"], "b": r["parameter_b"], "s2": s2})
        pair_columns = (
            Column("a", "parameter a"),
            Column("b", "parameter b"),
            Column("s2", f"S2 ± {pct}"),
        )
        printer.table(Rows(pair_columns, pair_rows, title=str(pairs.title), rich=pairs))
    k = min(5, len(result.table))
    weak = result.weak_among_top(k)
    if weak:
        printer.line(
            Text.assemble(
                ("the answer hinges on weak evidence:", "yellow"),
                f" of the {k} most influential inputs, {len(weak)} rest on an unverified "
                "report, denial or assumption: " + ", ".join(weak),
            )
        )
    for note in result.notes:
        printer.line(f"note: {note}")
    printer.line(f"analysed in {result.elapsed_seconds:.1f} s")
    paths: dict[str, Path] | None = None
    if out is not None:
        paths = result.write(out, top=top, force=force)
        printer.line(f"wrote {paths['figure']} and {paths['table']}")
    elif printer.format is Format.table:
        err_console.print("(give --out DIR to write the figure and the table)")
    parameters = Rows.from_frame(result.table)
    data = {
        "scenario": result.scenario.name,
        "output": {
            "text": result.output.text,
            "description": result.output.description,
            "unit": result.output.unit,
            "date": result.output.date,
        },
        "method": result.method,
        "mode": result.mode,
        "samples": result.samples,
        "runs": result.runs,
        "seed": result.seed,
        "conf_level": result.conf_level,
        "output_mean": result.output_mean,
        "output_sd": result.output_sd,
        "noise_share": result.noise_share,
        "parameters": parameters.records(),
        "second_order": interactions,
        "weak_among_top": {"k": k, "parameters": weak},
        "notes": list(result.notes),
        "elapsed_seconds": result.elapsed_seconds,
        "files": paths,
    }
    printer.done(data, csv_rows=parameters)


@app.command("calibrate")
def calibrate_cmd(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
    observed: Annotated[
        Path,
        typer.Argument(
            help="Observations: a public-record ledger (CSV with a 'quantity' column, or "
            "YAML) or the older observed-data CSV (a 'series' column); told apart by the "
            "header (docs/calibration.md)."
        ),
    ],
    params: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated parameters to calibrate; default: the --max-params the "
            "data inform most."
        ),
    ] = None,
    max_params: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Parameters chosen when --params is not given (default 6 for a "
            "ledger, 4 for the older format).",
        ),
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Ledger only: calibrate on the rows published, and covering periods "
            "ending, by this date YYYY-MM-DD; default: every usable row."
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="Ledger only: quantity mapping YAML; default: the shipped one."),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            min=60,
            help="Maximum model simulations (default 200000 for a ledger, 8192 "
            "for the older format).",
        ),
    ] = None,
    population: Annotated[
        int,
        typer.Option(
            "--population",
            "--particles",
            min=20,
            help="Particles (SMC for a ledger: per population; ABC per generation for "
            "the older format).",
        ),
    ] = 128,
    populations: Annotated[
        int,
        typer.Option(
            min=1,
            help="Ledger only: independent SMC populations; the posterior passes only if "
            "they agree (R-hat), so 1 never passes.",
        ),
    ] = 2,
    # Literals, not smc.MIN_MOVES/MAX_MOVES (nor PARTICLES/POPULATIONS above): the CLI
    # imports the sampler only when it runs (start-up time);
    # tests/analysis/test_calibrate_ledger.py keeps them equal.
    moves: Annotated[
        int, typer.Option(min=1, help="Ledger only: least Metropolis moves per SMC stage.")
    ] = 8,
    max_moves: Annotated[
        int,
        typer.Option(
            min=1,
            help="Ledger only: most Metropolis moves per SMC stage (a stage stops "
            "earlier once the particles stop moving further).",
        ),
    ] = 30,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    mode: Annotated[
        str, typer.Option(help="mean-field (default, fast) or stochastic simulations.")
    ] = "mean-field",
    others: Annotated[
        str,
        typer.Option(
            help="Uncertain parameters not calibrated: 'expected' (held at their means; "
            "posterior conditional on them) or 'prior' (drawn; marginal, much costlier; "
            "older format only)."
        ),
    ] = "expected",
    out: Annotated[
        Path,
        typer.Option(
            help="Folder for the calibrated scenario, its posterior sample, "
            "summaries (and figures, older format)."
        ),
    ] = Path("."),
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace existing output files forcegen did not write. (With the older "
            "format it also still writes a failed posterior, as in 0.5.0: deprecated, "
            "use --accept-failed.)",
        ),
    ] = False,
    accept_failed: Annotated[
        bool,
        typer.Option(
            "--accept-failed",
            help="Write the calibrated scenario even when the posterior fails its "
            "diagnostics; it then says so in every report made from it.",
        ),
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Calibrate parameters to observations and write a calibrated scenario.

    A public-record ledger is calibrated by tempered SMC on the mean-field trajectory;
    the older observed-data CSV by ABC-SMC (pyabc). Prints the posterior table and
    the diagnostics; writes DIR/<name>-calibrated.yaml (posteriors as distributions)
    and beside it the posterior sample (<name>-calibrated-particles.csv, drawn from
    jointly by runs of the calibrated scenario), and summaries to --out. Other files
    in DIR are left alone. When the diagnostics fail (final temperature not 1,
    effective sample size below 30 %, or, for a ledger, fewer than 30 % distinct
    particles or independent populations that disagree) nothing is written and the
    command exits with 2, unless --accept-failed (the scenario then says it is unreliable)."""
    from forcegen.analysis.calibration.ledger import is_ledger

    if others not in ("prior", "expected"):
        raise UsageError(f"--others must be 'prior' or 'expected', got {others!r}")
    if is_ledger(observed):
        _calibrate_ledger(
            scenario,
            observed,
            params=_names(params),
            max_params=6 if max_params is None else max_params,
            cutoff=cutoff,
            mapping=mapping,
            budget=200_000 if budget is None else budget,
            particles=population,
            populations=populations,
            moves=moves,
            max_moves=max_moves,
            seed=seed,
            mode=_mode(mode),
            others=others,
            out=out,
            workers=workers,
            scheduler=scheduler,
            quiet=quiet,
            force=force,
            accept_failed=accept_failed,
            fmt=fmt,
        )
        return
    for option, value in (("--cutoff", cutoff), ("--mapping", mapping)):
        if value is not None:
            raise UsageError(
                f"{option} applies to a public-record ledger; {observed} is an observed-data "
                "CSV of the older format (it has a 'series' column)"
            )
    _calibrate_observed(
        scenario,
        observed,
        params=_names(params),
        max_params=4 if max_params is None else max_params,
        budget=8192 if budget is None else budget,
        population=population,
        seed=seed,
        mode=_mode(mode),
        others=others,
        out=out,
        workers=workers,
        scheduler=scheduler,
        quiet=quiet,
        force=force,
        accept_failed=accept_failed,
        fmt=fmt,
    )


def _posterior_rows(summary: Any) -> tuple[Table, list[dict[str, Any]], tuple[str, ...]]:
    """The posterior table (Rich) and its rows, from a calibration's summary."""
    headers = ("parameter", "prior", "posterior mean", "median", "5–95 %", "shrinkage")
    return _summary_table(summary, headers), _summary_shown(summary, headers), headers


def _summary_cells(r: dict[str, Any]) -> tuple[str, ...]:
    name = str(r["parameter"]) + (f" (from {r['step']})" if r["step"] else "")
    return (
        name,
        str(r["prior"]),
        _fmt(r["post_mean"]),
        _fmt(r["post_median"]),
        f"{_fmt(r['post_q05'])} – {_fmt(r['post_q95'])}",
        f"{r['shrinkage']:.0%}" if r["shrinkage"] == r["shrinkage"] else "–",
        _statuses(str(r["evidence"])),
    )


def _summary_table(summary: Any, headers: tuple[str, ...]) -> Table:
    table = Table(title_justify="left")
    table.add_column("parameter", overflow="fold")
    table.add_column("prior")
    for col in headers[2:]:
        table.add_column(col, justify="right")
    table.add_column("evidence")
    for r in summary.to_dict("records"):
        table.add_row(*(Text(c) for c in _summary_cells(r)))
    return table


def _summary_shown(summary: Any, headers: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        dict(zip((*headers, "evidence"), _summary_cells(r), strict=True))
        for r in summary.to_dict("records")
    ]


def _print_posterior(printer: Printer, summary: Any, title: str) -> None:
    table, shown, headers = _posterior_rows(summary)
    # Text, not markup: the scenario name and file name are the user's words.
    table.title = Text(title)
    columns = tuple(
        Column(h, justify="left" if h in ("parameter", "prior") else "right") for h in headers
    )
    printer.table(Rows((*columns, Column("evidence")), shown, title=title, rich=table))


def _calibrate_ledger(
    scenario: str,
    observed: Path,
    *,
    params: list[str] | None,
    max_params: int,
    cutoff: str | None,
    mapping: Path | None,
    budget: int,
    particles: int,
    populations: int,
    moves: int,
    max_moves: int,
    seed: int,
    mode: Mode,
    others: str,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    quiet: bool,
    force: bool,
    accept_failed: bool,
    fmt: Format,
) -> None:
    """``forcegen calibrate`` on a public-record ledger (tempered SMC)."""
    import datetime as dt

    from forcegen.analysis.calibration.ledger import calibrate_ledger, check_ledger_outputs
    from forcegen.observations.ledger import load_ledger
    from forcegen.observations.mapping import load_mapping
    from forcegen.observations.measure import resolve
    from forcegen.sim import load

    if others != "expected":
        raise UsageError(
            "--others prior is not available for a ledger: its calibration holds the "
            "parameters it does not calibrate at their expected values"
        )
    when = None
    if cutoff is not None:
        try:
            when = dt.date.fromisoformat(cutoff)
        except ValueError:
            raise UsageError(f"--cutoff must be a date YYYY-MM-DD, got {cutoff!r}") from None
    scen = load(scenario)
    resolved = resolve(load_ledger(observed), scen, load_mapping(mapping))
    # Before calibrating: a refusal after minutes of simulation helps nobody.
    check_ledger_outputs(out, scen.name, force=force)
    with progress_bar("calibrating (simulations)", quiet) as progress:
        result = calibrate_ledger(
            resolved,
            observed,
            cutoff=when,
            params=params,
            max_params=max_params,
            particles=particles,
            populations=populations,
            moves=moves,
            max_moves=max_moves,
            budget=budget,
            seed=seed,
            mode=mode,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    post = result.posterior
    diag = post.diagnostics
    train = len(result.resolved.measurements)
    title = (
        f"{scen.name} calibrated to {observed.name}: {train} usable rows"
        + (f" known by {when}" if when else "")
        + f" (of {len(resolved.measurements) + len(resolved.unusable)} outcome rows), "
        f"tempered SMC, {diag.stages} stages, {diag.simulations} simulations"
    )
    printer = Printer("calibrate", fmt, console=console)
    _print_posterior(printer, result.summary, title)
    agreement = (
        f", {diag.populations} populations agree to R-hat {diag.max_rhat:.3f} (worst: {diag.worst})"
        if diag.rhat
        else f", {diag.populations} population (agreement not checked)"
    )
    printer.line(
        f"diagnostics: final temperature {diag.final_temperature:.3g}, ESS {diag.ess:.0f} of "
        f"{particles} per population ({diag.ess_share:.0%}), {diag.unique_share:.0%} distinct "
        f"particles, acceptance {diag.acceptance:.0%}{agreement}: "
        + ("passed" if diag.passed else "FAILED")
    )
    printer.line(
        f"training coverage: {result.coverage90:.0%} of the {train} training rows inside their "
        f"posterior predictive 90 % band, {result.coverage50:.0%} inside their 50 % band "
        "(observation model and discrepancy applied)"
    )
    for note in result.notes:
        printer.line(f"note: {note}")
    failures = result.diagnostic_failures()
    for failure in failures:
        printer.line(f"diagnostics failed: {failure}")
    paths: dict[str, Path] | None = None
    if failures and not accept_failed:
        # The table and diagnostics are printed above; the refusal says what to try.
        printer.line(f"calibrated in {result.elapsed_seconds:.1f} s; nothing written")
    else:
        paths = result.write(out, force=force, allow_failed=accept_failed)
        printer.line(f"calibrated in {result.elapsed_seconds:.1f} s")
        for what, path in paths.items():
            printer.line(f"wrote {what.replace('_', ' ')}: {path}")
    posterior = Rows.from_frame(result.summary)
    data = {
        "scenario": scen.name,
        "observed": str(observed),
        "format": "ledger",
        "method": "smc",
        "cutoff": None if when is None else when.isoformat(),
        "training_rows": train,
        "parameters": list(post.parameters),
        "diagnostics": diag.as_dict(),
        "training_coverage90": result.coverage90,
        "training_coverage50": result.coverage50,
        "seed": seed,
        "mode": mode,
        "others": "expected",
        "posterior": posterior.records(),
        "fit": Rows.from_frame(result.fit).records(),
        "notes": list(result.notes),
        "elapsed_seconds": result.elapsed_seconds,
        "files": paths,
    }
    if paths is None:
        # Exit 2 with the diagnostics and what to try; nothing was written.
        result.write(out, force=force, allow_failed=False)
    printer.done(data, csv_rows=posterior)


def _calibrate_observed(
    scenario: str,
    observed: Path,
    *,
    params: list[str] | None,
    max_params: int,
    budget: int,
    population: int,
    seed: int,
    mode: Mode,
    others: str,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    quiet: bool,
    force: bool,
    accept_failed: bool,
    fmt: Format,
) -> None:
    """``forcegen calibrate`` on an observed-data CSV of the older format (ABC-SMC)."""
    from forcegen.analysis.calibration import calibrate, check_outputs, load_observed
    from forcegen.sim import load

    scen = load(scenario)
    data = load_observed(observed, scen)
    # Before calibrating: a refusal after minutes of simulation helps nobody.
    check_outputs(out, scen.name, force=force)
    with progress_bar("calibrating (simulations)", quiet) as progress:
        result = calibrate(
            scen,
            data,
            params=params,
            budget=budget,
            population_size=population,
            seed=seed,
            mode=mode,
            others="prior" if others == "prior" else "expected",
            max_params=max_params,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    title = (
        f"{result.scenario.name} calibrated to {observed.name}: "
        f"{len(data.rows)} observations, {result.simulations} simulations, "
        f"{len(result.temperatures)} generations, final temperature "
        f"{result.final_temperature:.3g}, ESS {result.ess:.0f}"
    )
    printer = Printer("calibrate", fmt, console=console)
    _print_posterior(printer, result.summary, title)
    for note in result.notes:
        printer.line(f"note: {note}")
    # A posterior that failed its diagnostics is not written unless --accept-failed
    # (then marked as unreliable in the scenario's title and description).
    failures = result.diagnostic_failures()
    for failure in failures:
        printer.line(f"diagnostics failed: {failure}")
    forced_by = "--accept-failed"
    if failures and force and not accept_failed:
        # 0.5.0's --force also wrote a failed posterior; kept for this format.
        forced_by = "--force"
        err_console.print(
            "warning: --force alone still writes a posterior that failed its diagnostics "
            "for the older observed-data format, as in 0.5.0; this is deprecated: pass "
            "--accept-failed for that, --force only to replace existing files"
        )
    paths = result.write(out, force=force, allow_failed=accept_failed or force, forced_by=forced_by)
    printer.line(f"calibrated in {result.elapsed_seconds:.1f} s")
    for what, path in paths.items():
        printer.line(f"wrote {what.replace('_', ' ')}: {path}")
    posterior = Rows.from_frame(result.summary)
    summary = {
        "scenario": result.scenario.name,
        "observed": str(observed),
        "format": "observed",
        "method": "abc-smc",
        "observations": len(data.rows),
        "parameters": list(result.parameters),
        "factors": list(result.factors),
        "simulations": result.simulations,
        "evaluations": result.evaluations,
        "generations": len(result.temperatures),
        "final_temperature": result.final_temperature,
        "ess": result.ess,
        "seed": result.seed,
        "mode": result.mode,
        "others": result.others,
        "posterior": posterior.records(),
        "fit": Rows.from_frame(result.fit).records(),
        "notes": list(result.notes),
        "elapsed_seconds": result.elapsed_seconds,
        "files": paths,
    }
    printer.done(summary, csv_rows=posterior)
