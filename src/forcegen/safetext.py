"""User text shown as data, never as instructions to what displays it.

Scenario names, channel labels, claim statements, run labels and observation sources
are typed by users (or by whoever wrote a file they were given) and end up in a
terminal, a spreadsheet or a figure, each of which reads some text as commands:

* a terminal obeys escape sequences (colours, cursor moves, OSC-8 hyperlinks, window
  titles): :func:`terminal_text` removes the control characters that start them, and
  the bidirectional embedding, override and isolate characters that make a line read
  differently from the order its characters are in ("Trojan Source");
* a spreadsheet evaluates a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a
  formula (OWASP "CSV injection"): :func:`csv_safe` prefixes such text cells with a
  single quote;
* matplotlib reads ``$…$`` as mathematics (and, with ``text.usetex``, everything as
  LaTeX): :data:`LITERAL_TEXT_RC` and :func:`literal_figure_text` switch both off.

Rich markup (``[red]``, ``[link=…]``) is the CLI's concern: its consoles print with
markup off (:mod:`forcegen.cli`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "LITERAL_TEXT_RC",
    "csv_cell",
    "csv_safe",
    "literal_figure_text",
    "terminal_text",
]

# C0 controls but tab and newline, DEL, and C1 controls (U+0080–U+009F: a terminal
# may read U+009B as ESC [ and U+009D as ESC ]).
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) go
# too: right-to-left text displays correctly without them, while with them a label can
# show "100" for "001". Plain marks (U+200E/U+200F) cannot reorder text and stay.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# OWASP's list: what spreadsheets take as the start of a formula (tab and carriage
# return because some strip them and read what follows).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A cell that is a plain number ("-5", "+1.5e3") is read as that number, never as a
# formula: it stays as it is, so negative numbers written as text remain numbers.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

LITERAL_TEXT_RC: dict[str, Any] = {"text.parse_math": False, "text.usetex": False}
"""matplotlib rcParams under which every text is drawn as written: a ``$`` in a label
is a dollar sign, not the start of mathtext (which fails on input such as ``$_$``)."""


def terminal_text(text: str) -> str:
    """``text`` without control characters (but newline and tab) and bidirectional
    overrides, so that printing it cannot colour the terminal, move its cursor, set its
    title, plant a link or show its characters in another order."""
    return _CONTROL.sub("", text)


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell that a spreadsheet will not evaluate: text beginning
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a leading ``'``;
    numbers, and text that is just a number, are returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_cell` applied to every text cell (and a text index),
    for writing as CSV; numeric and date columns are untouched. Returns ``frame``
    itself when no cell needs a change."""
    import pandas as pd

    changed: dict[Any, pd.Series[Any]] = {}
    for name, col in frame.items():
        safe = _safe_column(col)
        if safe is not None:
            changed[name] = safe
    index = frame.index
    if not isinstance(index, pd.MultiIndex) and _is_text(index.dtype):
        mapped = index.map(csv_cell)
        if not mapped.equals(index):
            index = mapped
    if not changed and index is frame.index:
        return frame
    out = frame.copy(deep=False)
    for name, safe in changed.items():
        out[name] = safe
    out.index = index
    return out


def literal_figure_text(fig: Figure) -> Figure:
    """Draw every text already in ``fig`` (titles, labels, legends, tick labels) as
    written, whatever the rcParams in force when it is saved; returns ``fig``."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)
    return fig


def _is_text(dtype: Any) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype)


def _safe_column(col: pd.Series[Any]) -> pd.Series[Any] | None:
    """The column with text cells made safe, or None when none needs it."""
    import pandas as pd

    if isinstance(col.dtype, pd.CategoricalDtype):
        categories = col.cat.categories
        if not _is_text(categories.dtype):
            return None
        renamed = [csv_cell(c) for c in categories]
        if renamed == list(categories):
            return None
        # Renaming keeps the codes (cheap on millions of rows) unless two categories
        # would collide ("=x" next to "'=x"); then the cells are mapped one by one.
        if len(set(renamed)) == len(renamed):
            return col.cat.rename_categories(renamed)
        return col.astype(object).map(csv_cell)
    if not _is_text(col.dtype):
        return None
    text = col.astype(object)
    starts = text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
    if not bool(starts.any()):
        return None
    return text.where(~starts, text[starts].map(csv_cell))
