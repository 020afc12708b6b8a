"""The consoles every command prints with: user text is printed as text, never as
markup or terminal control sequences."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from forcegen.safetext import terminal_text

__all__ = ["SafeConsole", "err_console", "stdout_console"]


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
