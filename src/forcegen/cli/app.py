"""The Typer application every command module registers its commands on."""

from __future__ import annotations

from typing import Annotated

import typer

from forcegen._version import __version__

__all__ = ["app"]

app = typer.Typer(
    name="forcegen",
    help="Simulate how an army at war gains and loses people, with sourced uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"forcegen {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Simulate how an army at war gains and loses people, with sourced uncertainty."""
