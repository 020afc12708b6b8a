"""``forcegen run`` and ``forcegen demo``: simulate a scenario and print its summary.

``run`` also saves the result in the results store (``--store``, default
``forcegen.duckdb`` in the current directory; ``--no-store`` to skip it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forcegen.cli import app, stdout_console
from forcegen.cli.options import (
    ModeOption,
    QuietOption,
    RunsOption,
    SampleParametersOption,
    ScenarioArgument,
    SchedulerOption,
    SeedOption,
    StoreOption,
    WorkersOption,
)
from forcegen.cli.progress import progress_bar
from forcegen.engine.simulate import Mode
from forcegen.results.result import Result
from forcegen.results.store import DEFAULT_PATH, Store
from forcegen.results.summary import Summary
from forcegen.scenario.evidence import evidence_status_line
from forcegen.scenario.load import load_scenario_with_warnings
from forcegen.sim import Sim

__all__ = ["run", "summary_table"]

console = stdout_console

DEMO_SCENARIO = "russia-2022-covert"


def summary_table(summary: Summary) -> Table:
    """The summary as a Rich table."""
    pct = f"{summary.q[0]:.0%}–{summary.q[1]:.0%}"
    table = Table(
        title=f"{summary.scenario}: {summary.runs} runs, {summary.mode}, seed {summary.seed}",
        title_justify="left",
    )
    table.add_column("quantity")
    table.add_column(f"median [{pct}]", justify="right")
    for label, value in summary.rows():
        table.add_row(label, value)
    return table


def simulate_with_progress(sim: Sim, quiet: bool = False) -> Result:
    """Run ``sim`` with a Rich progress bar over replicate blocks (on stderr)."""
    with progress_bar("simulating", quiet, unit="blocks", total=sim.blocks) as progress:
        return sim.run(progress=progress)


@app.command()
def run(
    scenario: ScenarioArgument,
    runs: RunsOption = 1000,
    seed: SeedOption = 1,
    mode: ModeOption = "stochastic",
    sample_parameters: SampleParametersOption = True,
    out: Annotated[
        Path | None,
        typer.Option(help="Write series.parquet and run.json to this folder."),
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
) -> None:
    """Simulate a scenario, print the summary (strength, recruits, losses, cost) and save
    the run in the results store."""
    if mode not in ("stochastic", "mean-field"):
        raise typer.BadParameter("expected 'stochastic' or 'mean-field'", param_hint="--mode")
    chosen: Mode = "stochastic" if mode == "stochastic" else "mean-field"
    # Loaded here rather than by Sim (same call, same defaults) to keep the YAML text
    # for the store.
    loaded = load_scenario_with_warnings(scenario)
    sim = Sim(
        loaded.scenario,
        runs=runs,
        seed=seed,
        mode=chosen,
        sample_parameters=sample_parameters,
        workers=workers,
        scheduler=scheduler,
    )
    result = simulate_with_progress(sim, quiet=quiet)
    console.print(summary_table(result.summary()))
    console.print(evidence_status_line(result.scenario))
    console.print(f"simulated in {result.elapsed_seconds:.1f} s")
    if out is not None:
        from forcegen.results.files import write_result_dir

        path = write_result_dir(result, out)
        console.print(f"wrote {path}/series.parquet and {path}/run.json")
    if not no_store:
        st = Store(store, timeout=store_timeout)
        run_id = st.save(result, label=label, scenario_text=loaded.source_text or None)
        console.print(f"saved as run {run_id} in {store} (forcegen show {run_id})")


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
) -> None:
    """Run the built-in scenario from the August 2022 report; write a report and figures.

    Simulates ``russia-2022-covert``, prints its summary, saves the run in a results
    store, and writes ``report.html`` (self-contained) and the figures as PNG into the
    output folder.
    """
    from forcegen.report import figures
    from forcegen.report.html import write_report

    console.print(f"forcegen demo: built-in scenario [bold]{DEMO_SCENARIO}[/bold]")
    loaded = load_scenario_with_warnings(DEMO_SCENARIO)
    sim = Sim(loaded.scenario, runs=runs, seed=seed, workers=workers)
    result = simulate_with_progress(sim)
    console.print(summary_table(result.summary()))
    console.print(evidence_status_line(result.scenario))
    console.print(f"simulated in {result.elapsed_seconds:.1f} s")
    out.mkdir(parents=True, exist_ok=True)
    run_id: str | None = None
    if not no_store:
        store_path = store if store is not None else out / "forcegen.duckdb"
        run_id = Store(store_path).save(
            result, label="forcegen demo", scenario_text=loaded.source_text or None
        )
        console.print(f"saved as run {run_id} in {store_path}")
    report_path = write_report(result, out / "report.html", store_run_id=run_id)
    written = []
    for kind, draw in figures.FIGURES.items():
        written.append(figures.save_figure(draw(result), out / f"{kind}.png"))
    console.print(f"report:  {report_path.resolve()}")
    console.print(f"figures: {', '.join(p.name for p in written)} in {out.resolve()}")
