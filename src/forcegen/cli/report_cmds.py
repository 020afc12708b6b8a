"""Answer commands: ``report``, ``plot``, ``compare``, ``solve`` and ``ask``.

Thin wrappers over :mod:`forcegen.analysis` and :mod:`forcegen.report`. Each takes a
scenario (a YAML file or a built-in name, simulated first) or the id of a run saved in
the results store (``--store``); errors are :class:`~forcegen.errors.ForcegenError`,
which :func:`forcegen.cli.main` prints without a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from forcegen.cli import SafeConsole, app, stdout_console
from forcegen.cli.options import StoreOption, WorkersOption
from forcegen.errors import UsageError
from forcegen.results.outputs import check_file_target, looks_like_forcegen_figure
from forcegen.results.result import Result
from forcegen.results.store import DEFAULT_PATH
from forcegen.scenario.load import list_builtin
from forcegen.sim import Sim

__all__ = ["ForceOption", "ask", "compare_cmd", "load_or_simulate", "plot", "report", "solve"]

console = stdout_console
err = SafeConsole(stderr=True)

DEFAULT_RUNS = 500
"""Replicates simulated when a command is given a scenario rather than a stored run."""

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
) -> tuple[Result, str | None]:
    """A result for ``source``: simulate a scenario, or load a stored run.

    Returns:
        The result and, for a stored run, its full run id (None when simulated).
    """
    if _is_scenario(source):
        from forcegen.cli.run_cmds import simulate_with_progress

        sim = Sim(source, runs=runs, seed=seed, workers=workers)
        result = simulate_with_progress(sim, quiet=quiet)
        if not quiet:
            err.print(
                f"simulated {source}: {result.runs} replicates in {result.elapsed_seconds:.1f} s"
            )
        return result, None
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
) -> None:
    """Write a self-contained HTML report: answers, figures, parameters, evidence."""
    from forcegen.report.html import is_report, write_report

    # Before simulating: a refusal after the simulation would waste the user's wait.
    check_file_target(out, force=force, recognise=is_report)
    result, run_id = load_or_simulate(source, runs=runs, seed=seed, store=store, workers=workers)
    others = [
        load_or_simulate(o, runs=runs, seed=result.seed, store=store, workers=workers)[0]
        for o in compare_with or []
    ]
    path = write_report(result, out, store_run_id=run_id, comparison=others or None, force=force)
    console.print(f"wrote {path}")


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
    result, _ = load_or_simulate(source, runs=runs, seed=seed, store=store, workers=workers)
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
) -> None:
    """Compare scenarios with the same seed: paired differences and changed inputs."""
    from forcegen.analysis.compare import compare
    from forcegen.report.html import is_report, write_report

    if len(sources) < 2:
        raise typer.BadParameter("give at least two scenarios or runs")
    if out is not None:
        check_file_target(out, force=force, recognise=is_report)
    results = [
        load_or_simulate(s, runs=runs, seed=seed, store=store, workers=workers)[0] for s in sources
    ]
    comparison = compare(results)
    lo, hi = comparison.q
    for pair in comparison.pairs:
        table = Table(
            title=f"{pair.other} − {pair.base}: paired differences over {pair.runs} replicates "
            f"(seed {comparison.seed}; median [{lo:.0%}–{hi:.0%}])",
            title_justify="left",
        )
        table.add_column("quantity")
        table.add_column(pair.base, justify="right")
        table.add_column(pair.other, justify="right")
        table.add_column("difference", justify="right")
        table.add_column("replicates higher", justify="right")
        for q in pair.quantities:
            table.add_row(
                q.name,
                q.base.format(),
                q.other.format(),
                q.difference.format(),
                f"{q.share_higher:.0%}",
            )
        console.print(table)
        if pair.parameters:
            params = Table(title="parameters that differ", title_justify="left")
            for col in ("parameter", "change", pair.base, pair.other):
                params.add_column(col)
            for p in pair.parameters:
                params.add_row(p.name, p.change, p.before or "", p.after or "")
            console.print(params)
        else:
            console.print("no parameter values differ")
        for line in pair.structure:
            console.print(f"  {line}", markup=False)
    if out is not None:
        path = write_report(results[0], out, comparison=results[1:], force=force)
        console.print(f"wrote {path}")


# -------------------------------------------------------------------------- solve
@app.command()
def solve(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file or built-in name.")],
    hold_strength: Annotated[
        float, typer.Option("--hold-strength", min=1, help="Deployed strength to hold (people).")
    ],
    channel: Annotated[str | None, typer.Option(help="Channel whose lever moves.")] = None,
    prob: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Required probability of holding.")
    ] = 0.8,
    lever: Annotated[
        str,
        typer.Option(help="recruits (people/day added to a series channel) or bonus (sign-up)."),
    ] = "recruits",
    runs: Annotated[int, typer.Option(min=1, help="Replicates per simulation.")] = 256,
    seed: Seed = 1,
    start: Annotated[
        str | None, typer.Option(help="First day the target must hold (YYYY-MM-DD).")
    ] = None,
    upper: Annotated[
        float | None, typer.Option(help="Largest lever value to try (found by doubling).")
    ] = None,
) -> None:
    """Recruits or sign-up bonus needed to hold deployed strength with a probability.

    Finds the extra recruits per day (series channel) or extra federal sign-up bonus
    (behavioural channel) that keeps deployed strength at or above the target on every
    day of the horizon with the given probability (common random numbers, root-finding).
    """
    from forcegen.analysis.solve import solve_hold

    if lever not in ("recruits", "bonus"):
        raise typer.BadParameter("expected 'recruits' or 'bonus'", param_hint="--lever")

    def progress(n: int, value: float, p: float) -> None:
        err.print(f"  simulation {n}: lever {value:,.4g} → hold probability {p:.0%}")

    answer = solve_hold(
        scenario,
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
    for line in answer.describe():
        console.print(line, markup=False)


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
) -> None:
    """Answer a question: time below a threshold, or the probability of holding a target."""
    from forcegen.analysis.answers import prob_hold, prob_hold_through, time_below

    if not below and hold is None:
        raise typer.BadParameter("ask --below N and/or --hold N [--by DATE] [--through]")
    result, _ = load_or_simulate(source, runs=runs, seed=seed, store=store, workers=workers)
    for threshold in below or []:
        tb = time_below(result, threshold)
        p = tb.probability
        console.print(
            f"Deployed strength falls below {threshold:,.0f} by {result.end_date} in "
            f"{p.successes} of {p.trials} replicates: {p.format()} (95 % Wilson interval)."
        )
        if p.successes:
            qd = tb.quantiles((0.05, 0.5, 0.95))
            console.print(
                f"  first date among those: median {qd[0.5].date()}, "
                f"5–95 %: {qd[0.05].date()} – {qd[0.95].date()}"
            )
    if hold is not None:
        when = _parse_date(by)
        if through:
            p = prob_hold_through(result, hold, until=when)
            what = f"on every day through {when or result.end_date}"
        else:
            p = prob_hold(result, hold, by=when)
            what = f"on {when or result.end_date}"
        console.print(
            f"Probability deployed strength is at least {hold:,.0f} {what}: {p.format()} "
            f"({p.successes} of {p.trials} replicates; 95 % Wilson interval)."
        )
