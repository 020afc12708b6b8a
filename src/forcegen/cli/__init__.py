"""The ``forcegen`` command line: a thin Typer app over the Python API.

Each command group lives in its own module and registers itself on
:data:`forcegen.cli.app.app`; :func:`main` turns user errors
(:class:`~forcegen.errors.ForcegenError`) into located messages on stderr and exit
code 2, never a traceback. Command modules import the app and the consoles from
:mod:`forcegen.cli.app` and :mod:`forcegen.cli.console`, never from this package, so
that the package (which imports them all) and its modules do not import each other.
"""

from __future__ import annotations

import sys

import click
import typer

from forcegen.cli.app import app
from forcegen.cli.console import SafeConsole, err_console, stdout_console
from forcegen.errors import ForcegenError, ScenarioError, capped_problems

__all__ = ["SafeConsole", "app", "err_console", "main", "stdout_console"]


# Recent Typer versions vendor click: their usage errors are not click.ClickException.
_USAGE_ERRORS: tuple[type[Exception], ...] = (
    click.ClickException,
    getattr(typer, "TyperException", click.ClickException),
)


def _register_commands() -> None:
    # Imported for their side effect of adding commands to `app`.
    from forcegen.cli import commands  # noqa: F401


def report_error(exc: ForcegenError) -> None:
    """Print a user error on stderr, one line per located problem."""
    if isinstance(exc, ScenarioError):
        # A bounded number per file: a million-row file of bad rows prints 100
        # problems and a count, not a million lines.
        for problem in capped_problems(exc.problems, exc.omitted):
            err_console.print(problem.format(), markup=False)
    else:
        err_console.print(f"error: {exc}", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``forcegen`` console script."""
    _register_commands()
    try:
        # Outside standalone mode, `--help` and `typer.Exit(n)` return their exit code.
        code = app(args=argv, standalone_mode=False)
    except ForcegenError as exc:
        report_error(exc)
        sys.exit(2)
    except (click.exceptions.Abort, typer.Abort):
        err_console.print("aborted")
        sys.exit(130)
    except _USAGE_ERRORS as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"error: {exc}", markup=False)
        sys.exit(2)
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        sys.exit(code)
