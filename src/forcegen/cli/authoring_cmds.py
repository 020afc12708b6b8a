"""``forcegen new``: start a scenario of one's own from a commented template or a
built-in scenario (see ``docs/authoring.md``). Files are written whole or not at all
and an existing file is never replaced."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from forcegen.cli.app import app
from forcegen.cli.console import stdout_console
from forcegen.errors import OutputError
from forcegen.results.outputs import atomic_file
from forcegen.scenario.template import new_scenario_files

__all__ = ["new"]

_SUFFIXES = (".yaml", ".yml")


def _never_ours(path: Path) -> bool:
    """An existing file is never one ``new`` may replace."""
    return False


@app.command()
def new(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="Scenario name (writes NAME.yaml here), or a path ending in .yaml whose "
            "file name is the scenario name.",
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="BUILTIN",
            help="Copy this built-in scenario (and its ledger files) instead of the template.",
        ),
    ] = None,
) -> None:
    """Write a new scenario file that validates: a commented template of a small army,
    or a copy of a built-in scenario. Never replaces an existing file."""
    path = Path(name)
    if path.suffix.lower() in _SUFFIXES:
        folder, scenario_name = path.parent, path.stem
    else:
        folder, scenario_name = path.parent, path.name
    files = new_scenario_files(scenario_name, source=source)
    targets: dict[Path, str] = {}
    for file, text in files.items():
        target = path if file == f"{scenario_name}.yaml" and path.suffix else folder / file
        if target.exists():
            if file != f"{scenario_name}.yaml" and _same_text(target, text):
                continue  # an identical copy of a ledger: keep it
            raise OutputError(
                f"{target} already exists; forcegen new never replaces a file "
                "(choose another name, or move the file away)"
            )
        targets[target] = text
    with ExitStack() as stack:
        tmp = {
            target: stack.enter_context(atomic_file(target, recognise=_never_ours))
            for target in targets
        }
        for target, text in targets.items():
            tmp[target].write_text(text, encoding="utf-8")
    for target in targets:
        stdout_console.print(f"wrote {target}")
    scenario_file = next(iter(targets))
    stdout_console.print(f"next: forcegen validate {scenario_file}")


def _same_text(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False
