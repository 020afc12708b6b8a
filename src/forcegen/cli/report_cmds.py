"""Answer commands: ``report``, ``plot``, ``compare``, ``solve`` and ``ask``.

Thin wrappers over :mod:`forcegen.analysis` and :mod:`forcegen.report`. Each takes a
scenario (a YAML file or a built-in name, simulated first) or the id of a run saved in
the results store (``--store``); errors are :class:`~forcegen.errors.ForcegenError`,
which :func:`forcegen.cli.main` prints without a traceback. ``report``, ``plot`` and
``ask`` save the run they simulate in the store, as ``run`` does, unless ``--no-store``;
every command that simulates takes ``--set PATH=VALUE`` overrides, recorded in the
stored run's label.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from forcegen.analysis.posterior_runs import joint_for_source
from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole, stdout_console
from forcegen.cli.options import (
    DEFAULT_RUNS,
    FormatOption,
    NoStoreOption,
    SetOption,
    StoreOption,
    WorkersOption,
)
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.cli.run_cmds import basis_cell, run_label
from forcegen.errors import UsageError
from forcegen.results.outputs import check_file_target, looks_like_forcegen_figure
from forcegen.results.result import Result
from forcegen.results.store import DEFAULT_PATH
from forcegen.scenario.load import list_builtin, load_scenario_with_warnings
from forcegen.sim import Sim

if TYPE_CHECKING:
    from forcegen.analysis.answers import Probability
    from forcegen.results.summary import Band

__all__ = [
    "ASK_CSV_COLUMNS",
    "DEFAULT_RUNS",
    "ForceOption",
    "ask",
    "compare_cmd",
    "load_or_simulate",
    "plot",
    "probability_json",
    "report",
    "solve",
]

console = stdout_console
err = SafeConsole(stderr=True)

Source = Annotated[
    str,
    typer.Argument(
        metavar="SCENARIO|RUN",
        help="Scenario YAML file or built-in name (simulated), or a stored run id.",
    ),
]
Runs = Annotated[
    int, typer.Option(min=1, help="Replicates, when a scenario is simulated.", show_default=True)
]
Seed = Annotated[int, typer.Option(min=0, help="Random seed, when a scenario is simulated.")]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Replace an existing file even if forcegen did not write it."),
]
"""``--force`` of every command that writes files (report, plot, compare, demo,
sensitivity, calibrate, ensemble): without it an existing file that is not forcegen's
output is refused (exit 2) rather than replaced."""


# ------------------------------------------------------------------- shared helpers
def _is_scenario(source: str) -> bool:
    return (
        Path(source).is_file()
        or source in list_builtin()
        or source.endswith((".yaml", ".yml"))
        or "/" in source
    )


def _store_class() -> Any:
    """The results store class, or a clear error when this installation lacks it."""
    try:
        from forcegen.results.store import Store
    except ImportError as exc:  # pragma: no cover - the store ships with forcegen
        raise UsageError(
            "this installation has no results store (forcegen.results.store); "
            "give a scenario file or built-in name instead of a run id"
        ) from exc
    return Store


def load_or_simulate(
    source: str,
    *,
    runs: int,
    seed: int,
    store: Path,
    workers: int | None = None,
    quiet: bool = False,
    overrides: list[str] | None = None,
    save: bool = False,
    label: str | None = None,
) -> tuple[Result, str | None]:
    """A result for ``source``: simulate a scenario, or load a stored run.

    Args:
        source: A scenario file or built-in name, or a stored run id.
        runs: Replicates, when a scenario is simulated.
        seed: Seed, when a scenario is simulated.
        store: The results store.
        workers: Local worker processes.
        quiet: No progress bar or messages.
        overrides: ``--set PATH=VALUE`` texts applied to a scenario.
        save: Save a simulated run in ``store`` (with ``label`` and the overrides).
        label: Text saved with the run.

    Returns:
        The result and its full run id in the store (None when simulated and not saved).

    Raises:
        UsageError: Overrides given for a stored run.
    """
    if _is_scenario(source):
        from forcegen.cli.run_cmds import simulate_with_progress

        loaded = load_scenario_with_warnings(source, overrides=overrides or ())
        # A calibrated scenario with its posterior sample beside it draws jointly from it.
        joint = joint_for_source(source, loaded.scenario, runs, seed)
        if joint is not None and not quiet:
            err.print(joint.describe())
        sim = Sim(
            loaded.scenario,
            runs=runs,
            seed=seed,
            workers=workers,
            sample_parameters=True if joint is None else joint.sample_others,
            given=None if joint is None else joint.given,
        )
        result = simulate_with_progress(sim, quiet=quiet)
        if not quiet:
            err.print(
                f"simulated {source}: {result.runs} replicates in {result.elapsed_seconds:.1f} s"
            )
        if not save:
            return result, None
        run_id = _store_class()(store).save(
            result,
            label=run_label(label, overrides),
            scenario_text=loaded.source_text or None,
        )
        err.print(f"saved as run {run_id} in {store} (forcegen show {run_id})")
        return result, str(run_id)
    if overrides:
        raise UsageError(
            f"--set changes a scenario before it is simulated; {source!r} is not a scenario "
            "file or built-in name (a stored run cannot be changed)"
        )
    # lexists: a store path that exists but cannot be followed (a symlink loop) is
    # reported by the store as such, not as a missing store.
    if not os.path.lexists(store):
        names = ", ".join(list_builtin())
        raise UsageError(
            f"{source!r} is not a scenario file or built-in name ({names}), and there is "
            f"no results store at {store} to look it up as a run id"
        )
    st = _store_class()(store)
    info = st.info(source)
    return st.load(info.run_id), str(info.run_id)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {text!r}") from None


# ------------------------------------------------------------------------- report
@app.command()
def report(
    source: Source,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    runs: Runs = DEFAULT_RUNS,
    seed: Seed = 1,
    store: StoreOption = DEFAULT_PATH,
    compare_with: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="Another scenario or run to compare with (repeatable; same seed).",
        ),
    ] = None,
    workers: WorkersOption = None,
    force: ForceOption = False,
    below: Annotated[
        list[float] | None,
        typer.Option(
            help="Headline question: when does deployed strength first fall below N people? "
            "(repeatable; with --hold/--by they replace the scenario's questions:)"
        ),
    ] = None,
    hold: Annotated[
        float | None,
        typer.Option(help="Headline question: how likely is deployed strength ≥ N people?"),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="With --hold: on this date (default: the horizon).")
    ] = None,
    overrides: SetOption = None,
    no_store: NoStoreOption = False,
    observations: Annotated[
        Path | None,
        typer.Option(
            help="Observation ledger CSV/YAML: adds the section 'Fit to the public record' "
            "(every usable row against its predictive band, and the sources the model "
            "disagrees with)."
        ),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(help="With --observations: quantity mapping YAML (default: the shipped one)."),
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="With --observations: rows published or covering days after this date "
            "(YYYY-MM-DD) are marked out of sample (default: the calibration's cut-off, "
            "when the scenario's posterior sample records one)."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report: answers, figures, parameters, evidence.

    The headlines answer --below/--hold/--by when given, else the scenario's own
    ``questions:``, else 75 % and 50 % of the initial deployed strength. With
    --observations, the report also scores the run against a ledger of sourced
    observations (as ``forcegen check``)."""
    from forcegen.report.html import is_report, questions_for, write_report

    # Before simulating: a refusal after the simulation would waste the user's wait.
    check_file_target(out, force=force, recognise=is_report)
    when = _parse_date(by)
    if when is not None and hold is None:
        raise typer.BadParameter("--by is the date of --hold; give --hold N too", param_hint="--by")
    if observations is None and (mapping is not None or cutoff is not None):
        raise typer.BadParameter(
            "--mapping and --cutoff belong to --observations; give the ledger too",
            param_hint="--observations",
        )
    cut = _parse_date(cutoff)
    cut_basis = "--cutoff" if cut is not None else ""
    if observations is not None and cut is None:
        cut = calibration_cutoff(source)
        cut_basis = "the cut-off the scenario was calibrated with" if cut is not None else ""
    ledger = loaded_mapping = None
    if observations is not None:
        from forcegen.observations.ledger import load_ledger
        from forcegen.observations.mapping import load_mapping

        # Read (and report every problem of) the ledger before simulating.
        ledger, loaded_mapping = load_ledger(observations), load_mapping(mapping)
    result, run_id = load_or_simulate(
        source,
        runs=runs,
        seed=seed,
        store=store,
        workers=workers,
        overrides=overrides,
        save=not no_store,
        label="forcegen report",
    )
    asked = questions_for(result.scenario, below=below, hold=hold, by=when)
    others = [
        load_or_simulate(
            o, runs=runs, seed=result.seed, store=store, workers=workers, overrides=overrides
        )[0]
        for o in compare_with or []
    ]
    fit = None
    if ledger is not None and loaded_mapping is not None and observations is not None:
        from forcegen.observations.check import check
        from forcegen.observations.measure import resolve
        from forcegen.report.fit import FitSection

        resolved = resolve(ledger, result.scenario, loaded_mapping)
        if not resolved.measurements:
            raise UsageError(
                f"no observation in {observations} can be compared with "
                f"{result.scenario.name}; list the reasons with forcegen check"
            )
        checked = check(result, resolved, seed=seed, label=run_id or result.scenario.name)
        fit = FitSection(checked, observations.name, cut, cut_basis)
    path = write_report(
        result,
        out,
        store_run_id=run_id,
        comparison=others or None,
        questions=asked,
        force=force,
        fit=fit,
    )
    console.print(f"wrote {path}")


def calibration_cutoff(source: str) -> dt.date | None:
    """The cut-off a calibrated scenario file was calibrated with: ``cutoff=YYYY-MM-DD``
    on the marker line of the posterior sample beside it (None when there is none, or
    ``source`` is a built-in name or a stored run)."""
    from forcegen.analysis.posterior_runs import particles_beside, read_header

    path = particles_beside(source)
    if path is None:
        return None
    text = read_header(path).get("cutoff")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{path}: line 1: cutoff={text!r} is not a date YYYY-MM-DD") from None


# --------------------------------------------------------------------------- plot
@app.command()
def plot(
    source: Source,
    kind: Annotated[
        str, typer.Option(help="fan, inflows, outflows, losses, cost or pools.")
    ] = "fan",
    out: Annotated[Path, typer.Option("--out", "-o", help="Image file (.png, .svg, .pdf).")] = Path(
        "figure.png"
    ),
    runs: Runs = DEFAULT_RUNS,
    seed: Seed = 1,
    store: StoreOption = DEFAULT_PATH,
    currency: Annotated[
        str | None, typer.Option(help="For --kind cost: report in this currency.")
    ] = None,
    workers: WorkersOption = None,
    force: ForceOption = False,
    overrides: SetOption = None,
    no_store: NoStoreOption = False,
) -> None:
    """Draw one figure of a result and save it."""
    from forcegen.report import figures

    if kind not in figures.FIGURES:
        raise typer.BadParameter(
            f"expected one of {', '.join(figures.FIGURES)}", param_hint="--kind"
        )
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise typer.BadParameter("expected a .png, .svg or .pdf file", param_hint="--out")
    check_file_target(out, force=force, recognise=looks_like_forcegen_figure)
    result, _ = load_or_simulate(
        source,
        runs=runs,
        seed=seed,
        store=store,
        workers=workers,
        overrides=overrides,
        save=not no_store,
        label="forcegen plot",
    )
    if kind == "cost" and currency is not None:
        fig = figures.cost_chart(result, convert_to=currency)
    else:
        fig = figures.FIGURES[kind](result)
    console.print(f"wrote {figures.save_figure(fig, out, force=force)}")


# ------------------------------------------------------------------------ compare
@app.command("compare")
def compare_cmd(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="A B [C…]",
            help="Scenarios (files or built-in names) or stored runs; the first is the base.",
        ),
    ],
    runs: Runs = DEFAULT_RUNS,
    seed: Seed = 1,
    store: StoreOption = DEFAULT_PATH,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Also write an HTML report of the first.")
    ] = None,
    workers: WorkersOption = None,
    force: ForceOption = False,
    fmt: FormatOption = Format.table,
    overrides: SetOption = None,
) -> None:
    """Compare scenarios with the same seed: paired differences and changed inputs.

    ``--set`` applies to every scenario compared (not to stored runs)."""
    from forcegen.analysis.compare import compare
    from forcegen.report.html import is_report, write_report

    if len(sources) < 2:
        raise typer.BadParameter("give at least two scenarios or runs")
    if out is not None:
        check_file_target(out, force=force, recognise=is_report)
    results = [
        load_or_simulate(
            s, runs=runs, seed=seed, store=store, workers=workers, overrides=overrides
        )[0]
        for s in sources
    ]
    comparison = compare(results)
    lo, hi = comparison.q
    printer = Printer("compare", fmt)
    flat: list[dict[str, Any]] = []
    for pair in comparison.pairs:
        quantities = [
            {
                "quantity": q.name,
                "base": q.base,
                "other": q.other,
                "difference": q.difference,
                "share_higher": q.share_higher,
                "basis": q.basis,
            }
            for q in pair.quantities
        ]
        printer.table(
            Rows(
                (
                    Column("quantity"),
                    Column("base", pair.base, "right", _band_text),
                    Column("other", pair.other, "right", _band_text),
                    Column("difference", justify="right", text=_band_text),
                    Column("share_higher", "replicates higher", "right", _percent),
                    Column("basis", "difference rests mostly on", text=basis_cell),
                ),
                quantities,
                title=f"{pair.other} − {pair.base}: paired differences over {pair.runs} "
                f"replicates (seed {comparison.seed}; median [{lo:.0%}–{hi:.0%}])",
            )
        )
        if pair.parameters:
            printer.table(
                Rows(
                    (
                        Column("name", "parameter"),
                        Column("change"),
                        Column("before", pair.base),
                        Column("after", pair.other),
                    ),
                    [dataclasses.asdict(p) for p in pair.parameters],
                    title="parameters that differ",
                )
            )
        else:
            printer.line("no parameter values differ")
        for line in pair.structure:
            printer.line(f"  {line}")
        flat += [
            {"base": pair.base, "other": pair.other, "quantity": q.name, "unit": q.unit}
            | _band_fields("base", q.base)
            | _band_fields("other", q.other)
            | _band_fields("difference", q.difference)
            | {
                "mean_difference": q.mean_difference,
                "share_higher": q.share_higher,
                "share_lower": q.share_lower,
            }
            for q in pair.quantities
        ]
    path = None
    if out is not None:
        path = write_report(results[0], out, comparison=results[1:], force=force)
        printer.line(f"wrote {path}")
    data = {
        "names": list(comparison.names),
        "seed": comparison.seed,
        "runs": comparison.runs,
        "q": list(comparison.q),
        "pairs": [
            {
                "base": pair.base,
                "other": pair.other,
                "runs": pair.runs,
                "quantities": list(pair.quantities),
                "parameters": list(pair.parameters),
                "structure": list(pair.structure),
            }
            for pair in comparison.pairs
        ],
        "report": path,
    }
    csv_columns = tuple(Column(key) for key in flat[0]) if flat else ()
    printer.done(data, csv_rows=Rows(csv_columns, flat))


def _band_text(band: Band) -> str:
    return band.format()


def _percent(share: float) -> str:
    return f"{share:.0%}"


def _band_fields(prefix: str, band: Band) -> dict[str, float]:
    return {
        f"{prefix}_median": band.median,
        f"{prefix}_low": band.low,
        f"{prefix}_high": band.high,
    }


def probability_json(p: Probability) -> dict[str, Any]:
    """A probability with its Wilson interval, for JSON (docs/cli.md)."""
    return {
        "estimate": float(p),
        "low": p.low,
        "high": p.high,
        "successes": p.successes,
        "trials": p.trials,
        "confidence": p.confidence,
    }


# -------------------------------------------------------------------------- solve
def _solve_recruitment(
    scenario: str,
    target: float,
    channel: str | None,
    every_day: bool,
    start: str | None,
    end: str | None,
    runs: int,
    seed: int,
    fmt: Format,
    overrides: list[str] | None,
) -> None:
    """``solve --recruits-per-day``: the extra bonus keeping expected recruits at a
    target (forcegen.analysis.solve_recruitment), in mean-field over sampled parameters."""
    from forcegen.analysis.solve_recruitment import solve_recruitment

    def progress(n: int, value: float, reached: float) -> None:
        err.print(f"  simulation {n}: extra bonus {value:,.4g} → {reached:,.4g} recruits per day")

    sc = load_scenario_with_warnings(scenario, overrides=overrides or ()).scenario
    answer = solve_recruitment(
        sc,
        target,
        channel=channel,
        every_day=every_day,
        start=_parse_date(start),
        end=_parse_date(end),
        runs=runs,
        seed=seed,
        mode="mean-field",
        sample_parameters=True,
        progress=progress,
    )
    printer = Printer("solve", fmt)
    for line in answer.describe():
        printer.line(line)
    data = {
        "scenario": answer.scenario,
        "lever": "bonus",
        "channel": answer.channel,
        "parameters": list(answer.parameters),
        "unit": answer.unit,
        "recruits_per_day": answer.target,
        "every_day": answer.every_day,
        "window": list(answer.window),
        "value": answer.value,
        "baseline": answer.baseline,
        "reached": answer.reached,
        "baseline_recruits": answer.baseline_recruits,
        "already_reached": answer.already_reached,
        "evaluations": [
            {"value": e.value, "recruits_per_day": e.recruits_per_day} for e in answer.evaluations
        ],
        "runs": answer.runs,
        "seed": answer.seed,
        "mode": answer.mode,
    }
    row = {
        key: data[key]
        for key in (
            "scenario",
            "lever",
            "channel",
            "unit",
            "recruits_per_day",
            "every_day",
            "value",
            "baseline",
            "reached",
            "baseline_recruits",
            "already_reached",
            "runs",
            "seed",
            "mode",
        )
    }
    row["window_start"], row["window_end"] = answer.window
    printer.done(data, csv_rows=Rows(tuple(Column(k) for k in row), [row]))


@app.command()
def solve(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
    hold_strength: Annotated[
        float | None,
        typer.Option("--hold-strength", min=1, help="Deployed strength to hold (people)."),
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Channel whose lever moves.")] = None,
    prob: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Required probability of holding.")
    ] = 0.8,
    lever: Annotated[
        str,
        typer.Option(help="recruits (people/day added to a series channel) or bonus (sign-up)."),
    ] = "recruits",
    runs: Annotated[
        int, typer.Option(min=1, help="Replicates per simulation.", show_default=True)
    ] = DEFAULT_RUNS,
    seed: Seed = 1,
    start: Annotated[
        str | None, typer.Option(help="First day the target must hold (YYYY-MM-DD).")
    ] = None,
    upper: Annotated[
        float | None, typer.Option(help="Largest lever value to try (found by doubling).")
    ] = None,
    fmt: FormatOption = Format.table,
    overrides: SetOption = None,
    recruits_per_day: Annotated[
        float | None,
        typer.Option(
            "--recruits-per-day",
            min=0.0,
            help="Instead of a strength: the recruits per day (people) the bonus must "
            "keep a priced or behavioural channel at (expected, mean-field).",
        ),
    ] = None,
    every_day: Annotated[
        bool,
        typer.Option("--every-day", help="With --recruits-per-day: on every day, not on average."),
    ] = False,
    end: Annotated[
        str | None,
        typer.Option(help="With --recruits-per-day: last day of the window (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Recruits or sign-up bonus needed to hold deployed strength with a probability.

    Finds the extra recruits per day (series channel) or extra federal sign-up bonus
    (behavioural or priced channel) that keeps deployed strength at or above the target
    on every day of the horizon with the given probability (common random numbers,
    root-finding). With --recruits-per-day instead, finds the extra federal bonus that
    keeps a channel's expected recruits at that many per day.
    """
    from forcegen.analysis.basis import Screen, input_evidence
    from forcegen.analysis.solve import solve_hold

    if lever not in ("recruits", "bonus"):
        raise typer.BadParameter("expected 'recruits' or 'bonus'", param_hint="--lever")
    if (hold_strength is None) == (recruits_per_day is None):
        raise typer.BadParameter(
            "give exactly one target: --hold-strength or --recruits-per-day",
            param_hint="--hold-strength",
        )
    if recruits_per_day is not None:
        _solve_recruitment(
            scenario, recruits_per_day, channel, every_day, start, end, runs, seed, fmt, overrides
        )
        return
    assert hold_strength is not None

    def progress(n: int, value: float, p: float) -> None:
        err.print(f"  simulation {n}: lever {value:,.4g} → hold probability {p:.0%}")

    sc = load_scenario_with_warnings(scenario, overrides=overrides or ()).scenario
    answer = solve_hold(
        sc,
        hold_strength,
        prob=prob,
        channel=channel,
        lever="recruits" if lever == "recruits" else "bonus",
        runs=runs,
        seed=seed,
        start=_parse_date(start),
        upper=upper,
        progress=progress,
    )
    printer = Printer("solve", fmt)
    for line in answer.describe():
        printer.line(line)
    # The answer is decided by each replicate's lowest strength over the window at the
    # lever value found: what moves that is what the answer rests on.
    at = answer.answer
    rests = Screen.of(at.parameters, input_evidence(sc)).basis(at.minima)
    printer.line(rests.line())
    per_month = answer.per_month
    data = {
        "scenario": answer.scenario,
        "lever": answer.lever,
        "channel": answer.channel,
        "parameters": list(answer.parameters),
        "unit": answer.unit,
        "hold_strength": answer.hold_strength,
        "prob": answer.prob,
        "window": list(answer.window),
        "value": answer.value,
        "interval": list(answer.interval),
        "confidence": answer.confidence,
        "per_month": None
        if per_month is None
        else {"value": per_month[0], "interval": list(per_month[1])},
        "baseline": answer.baseline,
        "baseline_steps": [{"from": day, "value": value} for day, value in answer.baseline_steps],
        "probability": probability_json(answer.probability),
        "baseline_probability": probability_json(answer.baseline_probability),
        "already_holds": answer.already_holds,
        "bracket": list(answer.bracket),
        "evaluations": [
            {"value": e.value, "probability": probability_json(e.probability), "margin": e.margin}
            for e in answer.evaluations
        ],
        "runs": answer.runs,
        "seed": answer.seed,
        "mode": answer.mode,
        "basis": rests,
    }
    row = {
        "scenario": answer.scenario,
        "lever": answer.lever,
        "channel": answer.channel,
        "unit": answer.unit,
        "hold_strength": answer.hold_strength,
        "prob": answer.prob,
        "window_start": answer.window[0],
        "window_end": answer.window[1],
        "value": answer.value,
        "value_low": answer.interval[0],
        "value_high": answer.interval[1],
        "confidence": answer.confidence,
        "baseline": answer.baseline,
        "probability": float(answer.probability),
        "probability_low": answer.probability.low,
        "probability_high": answer.probability.high,
        "baseline_probability": float(answer.baseline_probability),
        "already_holds": answer.already_holds,
        "simulations": answer.simulations,
        "runs": answer.runs,
        "seed": answer.seed,
        "mode": answer.mode,
    }
    printer.done(data, csv_rows=Rows(tuple(Column(k) for k in row), [row]))


# ---------------------------------------------------------------------------- ask
@app.command()
def ask(
    source: Source,
    below: Annotated[
        list[float] | None,
        typer.Option(help="When does deployed strength first fall below N people? (repeatable)"),
    ] = None,
    hold: Annotated[
        float | None, typer.Option(help="Probability deployed strength is at least N people.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="With --hold: on this date (default: the horizon).")
    ] = None,
    through: Annotated[
        bool, typer.Option(help="With --hold: on every day up to --by, not only on it.")
    ] = False,
    runs: Runs = DEFAULT_RUNS,
    seed: Seed = 1,
    store: StoreOption = DEFAULT_PATH,
    workers: WorkersOption = None,
    fmt: FormatOption = Format.table,
    overrides: SetOption = None,
    no_store: NoStoreOption = False,
) -> None:
    """Answer a question: time below a threshold, or the probability of holding a target."""
    from forcegen.analysis.answers import day_index, prob_hold, prob_hold_through, time_below
    from forcegen.analysis.basis import below_outcomes, first_days, hold_outcomes, screen

    if not below and hold is None:
        raise typer.BadParameter("ask --below N and/or --hold N [--by DATE] [--through]")
    result, run_id = load_or_simulate(
        source,
        runs=runs,
        seed=seed,
        store=store,
        workers=workers,
        overrides=overrides,
        save=not no_store,
        label="forcegen ask",
    )
    printer = Printer("ask", fmt)
    answers: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    # What each answer rests on: its per-replicate number ranked against the sampled
    # inputs (forcegen.analysis.basis; docs/evidence.md).
    inputs = screen(result)
    for threshold in below or []:
        tb = time_below(result, threshold)
        p = tb.probability
        printer.line(
            f"Deployed strength falls below {threshold:,.0f} by {result.end_date} in "
            f"{p.successes} of {p.trials} replicates: {p.format()} (95 % Wilson interval)."
        )
        rests = inputs.basis(below_outcomes(result, threshold))
        printer.line(f"  {rests.line()}")
        qd = tb.quantiles((0.05, 0.5, 0.95))
        first: dict[str, Any] | None = None
        if p.successes:
            dated = inputs.basis(first_days(tb.first_day, result.scenario.horizon_days))
            printer.line(
                f"  first date among those: median {qd[0.5].date()}, "
                f"5–95 %: {qd[0.05].date()} – {qd[0.95].date()}"
            )
            printer.line(f"    {dated.line()}")
            first = {"q05": qd[0.05], "median": qd[0.5], "q95": qd[0.95], "basis": dated}
        answers.append(
            {
                "threshold": threshold,
                "by": result.end_date,
                "probability": probability_json(p),
                "first_below": first,
                "basis": rests,
            }
        )
        rows.append(_ask_row("below", threshold, result.end_date, p, first))
    hold_answer = None
    if hold is not None:
        when = _parse_date(by)
        if through:
            p = prob_hold_through(result, hold, until=when)
            what = f"on every day through {when or result.end_date}"
        else:
            p = prob_hold(result, hold, by=when)
            what = f"on {when or result.end_date}"
        printer.line(
            f"Probability deployed strength is at least {hold:,.0f} {what}: {p.format()} "
            f"({p.successes} of {p.trials} replicates; 95 % Wilson interval)."
        )
        rests = inputs.basis(hold_outcomes(result, hold, day_index(result, when), through=through))
        printer.line(f"  {rests.line()}")
        day = when or result.end_date
        hold_answer = {
            "target": hold,
            "date": day,
            "through": through,
            "probability": probability_json(p),
            "basis": rests,
        }
        rows.append(_ask_row("hold_through" if through else "hold", hold, day, p, None))
    data = {
        "source": source,
        "run_id": run_id,
        "scenario": result.scenario.name,
        "runs": result.runs,
        "seed": result.seed,
        "mode": result.mode,
        "start_date": result.scenario.start_date,
        "end_date": result.end_date,
        "below": answers,
        "hold": hold_answer,
    }
    printer.done(data, csv_rows=Rows(tuple(Column(k) for k in ASK_CSV_COLUMNS), rows))


ASK_CSV_COLUMNS = (
    "question",
    "threshold",
    "date",
    "probability",
    "low",
    "high",
    "successes",
    "trials",
    "first_below_q05",
    "first_below_median",
    "first_below_q95",
)
"""Columns of ``forcegen ask --format csv``: one row per question asked."""


def _ask_row(
    question: str, threshold: float, day: Any, p: Probability, first: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "question": question,
        "threshold": threshold,
        "date": day,
        "probability": float(p),
        "low": p.low,
        "high": p.high,
        "successes": p.successes,
        "trials": p.trials,
        "first_below_q05": None if first is None else first["q05"],
        "first_below_median": None if first is None else first["median"],
        "first_below_q95": None if first is None else first["q95"],
    }
