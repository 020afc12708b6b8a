"""The progress bar every long-running command shows (on stderr, gone when done)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["Bar", "progress_bar"]


class Bar:
    """A live progress bar: call it with ``(done, total)``; :meth:`stage` gives the
    callback of a later stage of the same command, which relabels the bar."""

    def __init__(self, progress: Progress, label: str, unit: str, total: int | None) -> None:
        self._progress = progress
        self._label = label
        self._task = progress.add_task(label, total=total, unit=unit)

    def __call__(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def stage(self, label: str, unit: str = "") -> Callable[[int, int], None]:
        """A callback that switches the bar to ``label`` (counting ``unit``) on first use."""

        def update(done: int, total: int) -> None:
            if self._label != label:
                self._label = label
                self._progress.reset(self._task, description=label, unit=unit)
            self(done, total)

        return update


@contextmanager
def progress_bar(
    label: str, quiet: bool, unit: str | None = None, total: int | None = None
) -> Iterator[Bar | None]:
    """A Rich progress bar labelled ``label``, counting ``unit`` (e.g. "replicates") up
    to ``total`` (when known in advance).

    Yields the :class:`Bar` to report ``(done, total)`` to, or None when ``quiet`` or
    when stderr is not a terminal (a log file or a pipe gets no bar): the simulation
    entry points take either. Shows the time elapsed and an estimate of the time left.
    """
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield Bar(progress, label, unit or "", total)
