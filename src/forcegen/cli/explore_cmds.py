"""``forcegen explore``: the interactive explorer in the browser (docs/explore.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from forcegen.cli.app import app
from forcegen.cli.console import stdout_console
from forcegen.cli.options import SeedOption, StoreOption
from forcegen.errors import UsageError
from forcegen.results.store import DEFAULT_PATH

__all__ = ["explore"]

DEFAULT_PORT = 8050
"""Port the explorer listens on unless ``--port`` says otherwise."""


@app.command()
def explore(
    source: Annotated[
        str,
        typer.Argument(
            metavar="[SCENARIO|RUN]",
            help="Scenario YAML file or built-in name, or a stored run id.",
        ),
    ] = "russia-2022-covert",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = DEFAULT_PORT,
    host: Annotated[
        str,
        typer.Option(help="Interface to listen on; the default serves this machine only."),
    ] = "127.0.0.1",
    runs: Annotated[
        int, typer.Option(min=2, max=100_000, help="Replicates of each background ensemble.")
    ] = 256,
    seed: SeedOption = 0,
    store: StoreOption = DEFAULT_PATH,
    observed: Annotated[
        Path | None,
        typer.Option(
            help="Observations (CSV, as `forcegen calibrate` reads them) drawn over the bands."
        ),
    ] = None,
) -> None:
    """Explore a scenario in the browser: levers, bands, answers, comparisons, downloads.

    Starts a local web app and prints its address; stop it with Ctrl-C.
    """
    try:
        from forcegen.explore.server import make_explorer, start
    except ImportError as exc:  # pragma: no cover - dash ships with forcegen
        raise UsageError(f"the explorer needs Dash and Plotly ({exc})") from None
    stdout_console.print(f"opening {source} and screening its levers …")
    explorer, base_id = make_explorer(source, runs=runs, seed=seed, store=store)
    if observed is not None:
        from forcegen.analysis.calibration import load_observed

        data = load_observed(observed, explorer.bases[base_id].scenario)
        explorer.observed = data.rows
    try:
        running = start(explorer, base_id, host=host, port=port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stdout_console.print(f"forcegen explore: {running.url}  (Ctrl-C to stop)")
    try:
        while running.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
