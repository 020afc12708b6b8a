"""The progress bar every long-running command shows (on stderr, gone when done)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(
    label: str, quiet: bool, unit: str | None = None, total: int | None = None
) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich progress bar labelled ``label``, counting ``unit`` (e.g. "blocks") up to
    ``total`` (when known in advance).

    Yields the callback to report ``(done, total)`` to, or None when ``quiet``: the
    simulation entry points take either.
    """
    if quiet:
        yield None
        return
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if unit is not None:
        columns.append(TextColumn(unit))
    with Progress(
        *columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)
