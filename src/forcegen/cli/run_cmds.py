"""``forcegen run`` and ``forcegen demo``: simulate a scenario and print its summary.

``run`` also saves the result in the results store (``--store``, default
``forcegen.duckdb`` in the current directory; ``--no-store`` to skip it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from numpy.typing import NDArray
from rich.table import Table
from rich.text import Text

from forcegen.analysis.basis import AnswerBasis, Screen, input_evidence, summary_bases, summary_key
from forcegen.analysis.posterior_runs import joint_for_source
from forcegen.cli.app import app
from forcegen.cli.console import err_console, stdout_console
from forcegen.cli.options import (
    DEFAULT_RUNS,
    FormatOption,
    MaxMemoryOption,
    ModeOption,
    QuietOption,
    RunsOption,
    SampleParametersOption,
    ScenarioArgument,
    SchedulerOption,
    SeedOption,
    SetOption,
    StoreOption,
    WorkersOption,
)
from forcegen.cli.output import Column, Format, Printer, Rows
from forcegen.cli.progress import progress_bar
from forcegen.distributed import run_reduced
from forcegen.engine.simulate import Mode
from forcegen.preflight import Estimate
from forcegen.results.folder import ResultFolder, check_dir_target, is_result_folder, link_tree
from forcegen.results.outputs import atomic_dir
from forcegen.results.reduce import ParameterValues, SummaryTotals
from forcegen.results.result import Result
from forcegen.results.store import DEFAULT_PATH, Store
from forcegen.results.summary import Summary
from forcegen.scenario.evidence import evidence_status_line, evidence_table
from forcegen.scenario.load import load_scenario_with_warnings
from forcegen.scenario.model import Scenario
from forcegen.scenario.overrides import describe_overrides
from forcegen.sim import Sim, run_to_folder

__all__ = [
    "basis_cell",
    "basis_json",
    "evidence_json",
    "run",
    "summary_basis",
    "summary_json",
    "summary_rows",
    "summary_table",
]

console = stdout_console

DEMO_SCENARIO = "russia-2022-covert"


BASIS_HEADER = "rests mostly on"
"""Header of the summary column naming what each number rests on most."""


def run_label(label: str | None, overrides: list[str] | None) -> str | None:
    """The label a run is stored with: the user's text, then its ``--set`` overrides
    (``label; --set a=1 --set b=2``), so a stored run says how it was changed."""
    parts = [p for p in (label, describe_overrides(overrides or [])) if p]
    return "; ".join(parts) or None


def summary_table(summary: Summary, bases: Mapping[str, AnswerBasis] | None = None) -> Table:
    """The summary as a Rich table (with ``bases``: a column of what each number rests
    on most, see :func:`summary_basis`)."""
    pct = f"{summary.q[0]:.0%}–{summary.q[1]:.0%}"
    table = Table(
        title=f"{summary.scenario}: {summary.runs} runs, {summary.mode}, seed {summary.seed}",
        title_justify="left",
    )
    table.add_column("quantity")
    table.add_column(f"median [{pct}]", justify="right")
    if bases is not None:
        # Fold, not cut: a parameter name cut to "base_rate_per_…" cannot be looked up.
        table.add_column(BASIS_HEADER, overflow="fold")
    for key, label, value in summary.keyed_rows():
        cells = [label, value]
        if bases is not None:
            cells.append(basis_cell(bases.get(key)))
        table.add_row(*cells)
    return table


def summary_rows(summary: Summary, bases: Mapping[str, AnswerBasis] | None = None) -> Rows:
    """The summary as printed: labelled rows with ``median [low–high]`` text (drawn as
    :func:`summary_table` on a terminal), and with ``bases`` what each rests on most."""
    pct = f"{summary.q[0]:.0%}–{summary.q[1]:.0%}"
    columns = [Column("quantity"), Column("value", f"median [{pct}]", "right")]
    if bases is not None:
        columns.append(Column("basis", BASIS_HEADER, text=basis_cell))
    return Rows(
        columns=tuple(columns),
        rows=[
            {"quantity": label, "value": value}
            | ({} if bases is None else {"basis": bases.get(key)})
            for key, label, value in summary.keyed_rows()
        ],
        title=f"{summary.scenario}: {summary.runs} runs, {summary.mode}, seed {summary.seed}",
        rich=summary_table(summary, bases),
    )


def basis_cell(basis: AnswerBasis | None) -> str:
    """A table cell naming what a number rests on most: ``⚠ NAME (status), …`` (the
    marker when a named input rests on a weak status), or why none is named."""
    if basis is None:
        return ""
    return ("⚠ " if basis.marked else "") + basis.brief()


def summary_basis(
    totals: Mapping[str, NDArray[np.float64]],
    parameters: Mapping[str, NDArray[np.float64]],
    scenario: Scenario,
) -> dict[str, AnswerBasis]:
    """What each summary number rests on most, from the per-replicate totals and
    sampled parameters of a run (in memory, or a result folder's ``totals.parquet``
    and ``parameters.parquet``: the same numbers, so fresh and stored runs agree)."""
    runs = len(next(iter(totals.values()))) if totals else None
    return summary_bases(totals, Screen.of(parameters, input_evidence(scenario), runs))


def basis_json(summary: Summary, bases: Mapping[str, AnswerBasis]) -> list[dict[str, Any]]:
    """One entry per summary row (as in :meth:`Summary.to_frame`): ``quantity``,
    ``channel``, ``cause`` and the row's ``basis`` (docs/cli.md)."""
    out = []
    for row in summary.to_frame().to_dict("records"):
        cause = row["cause"] if isinstance(row["cause"], str) else None
        key = summary_key(str(row["quantity"]), str(row["channel"]), cause)
        out.append(
            {
                "quantity": row["quantity"],
                "channel": row["channel"],
                "cause": cause,
                "basis": bases.get(key),
            }
        )
    return out


def summary_csv_rows(summary: Summary) -> Rows:
    """The summary as tidy rows of numbers (:meth:`Summary.to_frame`), for CSV."""
    return Rows.from_frame(summary.to_frame())


def summary_json(summary: Summary) -> dict[str, Any]:
    """The summary's JSON shape (docs/cli.md): scenario, runs, mode, seed, end_date,
    q, currency and ``rows`` — one per number, as in :meth:`Summary.to_frame`."""
    return {
        "scenario": summary.scenario,
        "runs": summary.runs,
        "mode": summary.mode,
        "seed": summary.seed,
        "end_date": summary.end_date,
        "q": list(summary.q),
        "currency": summary.currency,
        "rows": summary_csv_rows(summary).records(),
    }


def evidence_json(scenario: Scenario) -> dict[str, Any]:
    """What a scenario rests on, for JSON: the status line and the counts by status."""
    table = evidence_table(scenario)
    return {
        "line": evidence_status_line(scenario),
        "claims_by_status": dict(table.claims_by_status),
        "parameters_by_status": dict(table.parameters_by_status),
        "unsourced": list(table.unsourced),
    }


def simulate_with_progress(sim: Sim, quiet: bool = False) -> Result:
    """Run ``sim`` with a Rich progress bar over replicates (on stderr)."""
    bar_label = estimate_label(sim.check_resources("result"), quiet)
    with progress_bar(bar_label, quiet, unit="replicates", total=sim.runs) as progress:
        return sim.run(progress=progress)


def estimate_label(est: Estimate, quiet: bool) -> str:
    """The progress bar's label, with the run's estimate; a large estimate is also
    printed on stderr first (where there is no bar, it is all the user sees)."""
    if est.large and not quiet:
        err_console.print(f"forcegen: {est.describe()}")
    return f"simulating ({est.brief()})"


@app.command()
def run(
    scenario: ScenarioArgument,
    runs: RunsOption = DEFAULT_RUNS,
    seed: SeedOption = 1,
    mode: ModeOption = "stochastic",
    sample_parameters: SampleParametersOption = True,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the result folder (run.json, replicates/, quantiles, "
            "parameters) here: a new or empty folder, or one holding a previous "
            "forcegen result, which is replaced."
        ),
    ] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    store: StoreOption = DEFAULT_PATH,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not save the run in the results store.")
    ] = False,
    label: Annotated[
        str | None, typer.Option(help="Text saved with the run (shown by `forcegen runs`).")
    ] = None,
    store_timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to wait for a store that another process is writing "
            "(longer than for other commands: the simulation is already done).",
        ),
    ] = 300.0,
    fmt: FormatOption = Format.table,
    overrides: SetOption = None,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Simulate a scenario, print the summary (strength, recruits, losses, cost) and save
    the run in the results store (``--set`` overrides are appended to its label).

    Replicates are written block by block as they are simulated, so memory does not
    grow with ``--runs``; quantiles and summary totals are computed once, after.
    """
    if mode not in ("stochastic", "mean-field"):
        raise typer.BadParameter("expected 'stochastic' or 'mean-field'", param_hint="--mode")
    chosen: Mode = "stochastic" if mode == "stochastic" else "mean-field"
    if out is not None:
        # Refuse before simulating, not after: the user's folder is checked again
        # (atomically) when it is written.
        check_dir_target(out, recognise=is_result_folder)
    # Loaded here rather than by Sim (same call, same defaults) to keep the YAML text
    # for the store.
    loaded = load_scenario_with_warnings(scenario, overrides=overrides or ())
    # A calibrated scenario with its posterior sample beside it draws jointly from it.
    joint = joint_for_source(scenario, loaded.scenario, runs, seed)
    if joint is not None:
        err_console.print(joint.describe())
    sim = Sim(
        loaded.scenario,
        runs=runs,
        seed=seed,
        mode=chosen,
        sample_parameters=sample_parameters if joint is None else joint.sample_others,
        given=None if joint is None else joint.given,
        workers=workers,
        scheduler=scheduler,
        max_memory=max_memory,
    )
    # Refused here, before a store's staging folder or --out is touched, if it would
    # not fit in memory.
    reduced = no_store and out is None
    est = sim.check_resources("reduced" if reduced else "folder", [SummaryTotals()])
    st = None if no_store else Store(store, timeout=store_timeout)
    text = loaded.source_text or None
    printer = Printer("run", fmt)
    if st is None and out is None:
        totals = SummaryTotals()
        sampled = ParameterValues()
        start = time.perf_counter()
        bar_label = estimate_label(est, quiet)
        with progress_bar(bar_label, quiet, unit="replicates", total=sim.runs) as progress:
            run_reduced(sim, [totals, sampled], progress)
        seconds = time.perf_counter() - start
        bases = summary_basis(totals.values, sampled.values, loaded.scenario)
        data = _print_summary(printer, totals.summary(), loaded.scenario, seconds, bases)
        printer.done(data, csv_rows=summary_csv_rows(totals.summary()))
        return
    with ExitStack() as stack:
        if st is not None:
            folder = stack.enter_context(st.staging())
        else:
            assert out is not None
            folder = stack.enter_context(atomic_dir(out, recognise=is_result_folder))
        start = time.perf_counter()
        # Not `label`: that is the user's text for the stored run.
        bar_label = estimate_label(est, quiet)
        with progress_bar(bar_label, quiet, unit="replicates", total=sim.runs) as bar:
            saving = None if bar is None else bar.stage("saving: quantiles", "sums")
            summary = run_to_folder(sim, folder, scenario_text=text, progress=bar, saving=saving)
        seconds = time.perf_counter() - start
        # From the folder's files, as `show` reads them later: the same bases.
        written = ResultFolder(folder)
        bases = summary_basis(written.totals(), written.parameters(), loaded.scenario)
        data = _print_summary(printer, summary, loaded.scenario, seconds, bases)
        if st is not None and out is not None:
            with atomic_dir(out, recognise=is_result_folder) as target:
                link_tree(folder, target)
        if out is not None:
            printer.line(f"wrote {out}/ (run.json, replicates/, quantiles.parquet)")
            data["out"] = str(out)
        if st is not None:
            run_id = st.register(folder, run_label(label, overrides))
            printer.line(f"saved as run {run_id} in {store} (forcegen show {run_id})")
            data |= {"run_id": run_id, "store": str(store)}
    printer.done(data, csv_rows=summary_csv_rows(summary))


def _print_summary(
    printer: Printer,
    summary: Summary,
    scenario: Scenario,
    seconds: float,
    bases: Mapping[str, AnswerBasis],
) -> dict[str, Any]:
    """Print the summary and its status lines; return the ``run`` JSON data."""
    printer.table(summary_rows(summary, bases))
    printer.line(evidence_status_line(scenario))
    printer.line(f"simulated in {seconds:.1f} s")
    return {
        "summary": summary_json(summary),
        "evidence": evidence_json(scenario),
        "basis": basis_json(summary, bases),
        "elapsed_seconds": seconds,
        "run_id": None,
        "store": None,
        "out": None,
    }


@app.command()
def demo(
    runs: Annotated[
        int, typer.Option(min=1, help="Replicates (256 = two full blocks, about a minute).")
    ] = 256,
    seed: SeedOption = 1,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for report.html and the figures.")
    ] = Path("forcegen-demo"),
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Results store; <out>/forcegen.duckdb when omitted."),
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not save the run in a results store.")
    ] = False,
    workers: WorkersOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing file even if forcegen did not write it."),
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Run the built-in scenario from the August 2022 report; write a report and figures.

    Simulates ``russia-2022-covert``, prints its summary, saves the run in a results
    store, and writes ``report.html`` (self-contained) and the figures as PNG into the
    output folder. Other files in the folder are left alone; one of those names that
    forcegen did not write is refused unless ``--force``.
    """
    from contextlib import ExitStack

    from forcegen.report import figures
    from forcegen.report.html import is_report, render_report
    from forcegen.results.outputs import (
        OutputError,
        atomic_file,
        check_file_target,
        figure_metadata,
        looks_like_forcegen_figure,
        output_error,
    )

    files = {"report.html": is_report} | {
        f"{kind}.png": looks_like_forcegen_figure for kind in figures.FIGURES
    }
    # Before simulating, so a refusal does not come after the user's wait.
    if out.exists() and not out.is_dir():
        raise OutputError(f"cannot write into {out}: it is a file, not a folder")
    for name, recognise in files.items():
        check_file_target(out / name, force=force, recognise=recognise)
    printer = Printer("demo", fmt)
    printer.line(Text.assemble("forcegen demo: built-in scenario ", (DEMO_SCENARIO, "bold")))
    loaded = load_scenario_with_warnings(DEMO_SCENARIO)
    sim = Sim(loaded.scenario, runs=runs, seed=seed, workers=workers)
    result = simulate_with_progress(sim)
    summary = result.summary()
    bases = summary_basis(SummaryTotals().extract(result), result.parameters, result.scenario)
    data = _print_summary(printer, summary, result.scenario, result.elapsed_seconds, bases)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, out, "create the folder") from None
    run_id: str | None = None
    if not no_store:
        store_path = store if store is not None else out / "forcegen.duckdb"
        run_id = Store(store_path).save(
            result, label="forcegen demo", scenario_text=loaded.source_text or None
        )
        printer.line(f"saved as run {run_id} in {store_path}")
        data |= {"run_id": run_id, "store": str(store_path)}
    text = render_report(result, store_run_id=run_id)
    drawn = {f"{kind}.png": draw(result) for kind, draw in figures.FIGURES.items()}
    # The report and the figures are replaced together at the end: a failure while
    # writing them (full disk, Ctrl-C) leaves the earlier set as it was.
    with ExitStack() as stack:
        tmp = {
            name: stack.enter_context(atomic_file(out / name, force=force, recognise=recognise))
            for name, recognise in files.items()
        }
        tmp["report.html"].write_text(text, encoding="utf-8")
        with figures.figure_style():
            for name, fig in drawn.items():
                fig.savefig(tmp[name], format="png", dpi=150, metadata=figure_metadata("png"))
    printer.line(f"report:  {(out / 'report.html').resolve()}")
    printer.line(f"figures: {', '.join(drawn)} in {out.resolve()}")
    del data["out"]
    data["report"] = str((out / "report.html").resolve())
    data["figures"] = [str((out / name).resolve()) for name in drawn]
    printer.done(data, csv_rows=summary_csv_rows(summary))
