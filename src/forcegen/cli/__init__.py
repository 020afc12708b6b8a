"""The ``forcegen`` command line: a thin Typer app over the Python API.

Each command group lives in its own module and registers itself on :data:`app`;
:func:`main` turns user errors (:class:`~forcegen.errors.ForcegenError`) into located
messages on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Annotated, Any

import click
import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from forcegen._version import __version__
from forcegen.errors import ForcegenError, ScenarioError, capped_problems
from forcegen.safetext import terminal_text

__all__ = ["SafeConsole", "app", "main", "stdout_console"]

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


class SafeConsole(Console):
    """A Rich console that prints user text as text: markup (``[red]``,
    ``[link=…]``), emoji codes and highlighting are off unless a call asks for them,
    and control characters (escape sequences) are removed from everything printed,
    tables and :class:`~rich.text.Text` included. Styles come from ``Text`` objects.

    Every console of the CLI is one: labels, ids, titles and claims come from users'
    files and stores, and must neither fail to print (a label ``[/]`` is not valid
    markup) nor drive the terminal.
    """

    def __init__(self, **kwargs: Any) -> None:
        for option in ("markup", "emoji", "highlight"):
            kwargs.setdefault(option, False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Any:
        """Like :meth:`rich.console.Console.render_str`, without control characters
        (removed before measuring, so table columns fit what is printed)."""
        return super().render_str(terminal_text(text), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        """Like :meth:`rich.console.Console.render`; the text of each segment loses
        its control characters (Rich's own escape codes come from styles and control
        segments, which are kept)."""
        for segment in super().render(renderable, options):
            if segment.control is None and segment.text:
                clean = terminal_text(segment.text)
                if clean != segment.text:
                    segment = Segment(clean, segment.style)
            yield segment


class _Stdout:
    """Prints to stdout through a :class:`SafeConsole` made at each call, so the
    terminal width (``COLUMNS``) is read when a command runs rather than when its
    module is imported; text is not wrapped, so paths and ids stay copyable."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Like :meth:`rich.console.Console.print`."""
        SafeConsole(soft_wrap=True).print(*objects, **kwargs)


stdout_console = _Stdout()
"""What every command prints its results with."""

err_console = SafeConsole(stderr=True, soft_wrap=True)

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
