"""What every command that prints a table or an answer prints, in three formats.

``--format table`` (the default) draws Rich tables on a terminal; when stdout is not a
terminal (a pipe, a file, a log) the same tables are written as plain lines instead —
a title line, a header line and one line per row, cells separated by tabs, nothing
cut short and no box drawing — so ``forcegen runs | cut -f1`` gives whole run ids.
``--format csv`` writes the command's main table as CSV (a header line, raw numbers,
text cells a spreadsheet would evaluate prefixed with ``'``). ``--format json``
writes one JSON document::

    {"forcegen": "<version>", "schema": "<command>/<n>", "data": ...}

whose ``data`` shape is documented per command in docs/cli.md and versioned by
``<n>``: a change that could break a reader (a key removed, renamed or retyped) gets a
new number; new keys may be added within a version. In the csv and json formats,
progress and status lines go to stderr, so stdout holds only the document.

Commands describe their output as :class:`Rows` (a table: columns and raw values) and
print it through a :class:`Printer`, or through :func:`render` for a single table.
User text (labels, ids, claims) is never read as Rich markup and loses its control
characters on the way to a terminal.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from forcegen._version import __version__
from forcegen.cli.console import SafeConsole, err_console
from forcegen.safetext import csv_cell, terminal_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Column",
    "Format",
    "Printer",
    "Rows",
    "envelope",
    "json_text",
    "jsonable",
    "on_terminal",
    "render",
    "schema_name",
]


class Format(StrEnum):
    """Output formats of ``--format``."""

    table = "table"
    json = "json"
    csv = "csv"


def schema_name(command: str, version: int = 1) -> str:
    """``"<command>/<version>"``: the ``schema`` of a command's JSON document."""
    return f"{command}/{version}"


def envelope(command: str, data: Any, version: int = 1) -> dict[str, Any]:
    """The JSON document a command prints with ``--format json``: forcegen's version,
    the schema name and version (``"ask/1"``) and the command's ``data``."""
    return {
        "forcegen": __version__,
        "schema": schema_name(command, version),
        "data": jsonable(data),
    }


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values: mappings (keys as text), lists, text, numbers,
    booleans and null. Dates become ISO text, non-finite numbers null, numpy scalars
    Python numbers, dataclasses mappings of their fields, enums their values and paths
    text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date):
        return _iso(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        return jsonable(item())
    try:
        if value != value:  # pandas NaT
            return None
    except TypeError:  # pandas NA
        return None
    return str(value)


def _iso(value: dt.date) -> str | None:
    if value != value:  # pandas NaT
        return None
    try:
        if isinstance(value, dt.datetime):
            # A timestamp at midnight is a day (pandas dates); others keep their time.
            if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
                return value.date().isoformat()
            return value.isoformat()
        return value.isoformat()
    except ValueError:  # pandas NaT is a datetime that cannot be formatted
        return None


@dataclass(frozen=True)
class Column:
    """One column of :class:`Rows`.

    Attributes:
        key: Key of the column's value in each row (and its CSV header and JSON key).
        header: Header shown in tables (the key when empty).
        justify: Alignment in tables: numbers ``right``.
        text: How a value is shown in tables (``str`` by default; None shows as
            nothing; lists are joined with ``", "``). CSV and JSON get raw values.
        whole: Never folded on a terminal (ids, so they stay copyable).
    """

    key: str
    header: str = ""
    justify: Literal["left", "right"] = "left"
    text: Callable[[Any], str] | None = None
    whole: bool = False

    @property
    def title(self) -> str:
        """The header shown in tables."""
        return self.header or self.key

    def show(self, value: Any) -> str:
        """``value`` as shown in a table cell."""
        if self.text is not None:
            return self.text(value)
        return _plain(value)


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dt.date):
        return _iso(value) or ""
    return str(value)


@dataclass(frozen=True)
class Rows:
    """A table: a title, columns and rows of raw values (one mapping per row).

    Attributes:
        columns: The columns, in order.
        rows: One mapping per row, column key → raw value.
        title: Printed above the table (not in CSV).
        rich: What to draw on a terminal instead of the generic table built from the
            columns (e.g. a narrower layout with several values per cell); plain lines,
            CSV and JSON always use the columns.
    """

    columns: Sequence[Column]
    rows: Sequence[Mapping[str, Any]]
    title: str | None = None
    rich: RenderableType | None = field(default=None, compare=False)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, title: str | None = None, header: str = "value"
    ) -> Rows:
        """A two-column ``field``/``value`` table of a mapping (an answer's fields)."""
        return cls(
            columns=(Column("field"), Column("value", header)),
            rows=[{"field": k, "value": v} for k, v in values.items()],
            title=title,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, title: str | None = None) -> Rows:
        """A table of a data frame's columns and rows (missing values as None)."""
        values = frame.astype(object).where(frame.notna(), None)
        return cls(
            columns=tuple(Column(str(c)) for c in frame.columns),
            rows=[{str(k): v for k, v in r.items()} for r in values.to_dict("records")],
            title=title,
        )

    def records(self) -> list[dict[str, Any]]:
        """The rows as mappings of column key → raw value (the columns' keys only)."""
        return [{c.key: row.get(c.key) for c in self.columns} for row in self.rows]

    def to_rich(self) -> RenderableType:
        """A Rich table of the rows; cells are text, never markup, and folded rather
        than cut short when the terminal is narrow."""
        if self.rich is not None:
            return self.rich
        table = Table(title=Text(self.title) if self.title else None, title_justify="left")
        cells = [[c.show(row.get(c.key)) for c in self.columns] for row in self.rows]
        for i, col in enumerate(self.columns):
            widest = max((len(r[i]) for r in cells), default=0)
            table.add_column(
                Text(col.title),
                justify=col.justify,
                overflow="fold",
                min_width=widest if col.whole else None,
                no_wrap=col.whole,
            )
        for r in cells:
            table.add_row(*(Text(c) for c in r))
        return table

    def plain_lines(self) -> list[str]:
        """The table as plain lines: the title, the header and one line per row, cells
        separated by tabs (tabs and line breaks inside a cell become spaces)."""
        lines = [_cell(self.title)] if self.title else []
        lines.append("\t".join(_cell(c.title) for c in self.columns))
        for row in self.rows:
            lines.append("\t".join(_cell(c.show(row.get(c.key))) for c in self.columns))
        return lines

    def csv_text(self) -> str:
        """The rows as CSV: a header line of column keys, then raw values (lists joined
        with ``"; "``, dates as ISO text, None and non-finite numbers empty)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(row.get(c.key)) for c in self.columns])
        return buffer.getvalue()


_SPACES = re.compile(r"[\t\r\n]+")


def _cell(text: str) -> str:
    return _SPACES.sub(" ", terminal_text(text))


def _csv_value(value: Any) -> Any:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return csv_cell(terminal_text("; ".join(str(_csv_value(v)) for v in value)))
    if isinstance(value, dict):
        return csv_cell(terminal_text(json.dumps(value, ensure_ascii=False)))
    if isinstance(value, str):
        return csv_cell(terminal_text(value))
    return value


# C1 controls and DEL, which JSON leaves as they are: written as \u escapes so that the
# document is the same data but cannot drive a terminal.
_C1 = re.compile("[\x7f-\x9f]")


def json_text(document: Any) -> str:
    """``document`` as indented JSON text (non-ASCII letters kept; control characters
    escaped)."""
    text = json.dumps(jsonable(document), indent=2, ensure_ascii=False, allow_nan=False)
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Printer:
    """Prints one command's output in the chosen format.

    In the ``table`` format, :meth:`table` and :meth:`line` print at once (Rich on a
    terminal, plain lines otherwise). In ``csv`` and ``json``, lines go to stderr and
    :meth:`done` prints the document: the CSV of the given (or first) table, or the
    JSON envelope of the given data.

    Args:
        command: The command's name, the first part of its JSON schema name.
        fmt: The format asked for.
        version: Version of the command's JSON shape.
        console: Console to draw Rich tables with (a fresh ``SafeConsole`` when None).
    """

    def __init__(
        self,
        command: str,
        fmt: Format | str,
        *,
        version: int = 1,
        console: Console | None = None,
    ) -> None:
        self.command = command
        self.format = Format(fmt)
        self.version = version
        self._console = console
        self._first: Rows | None = None

    def _stdout(self) -> Console:
        if self._console is not None:
            return self._console
        return SafeConsole(soft_wrap=True)

    @property
    def terminal(self) -> bool:
        """Whether tables are drawn for a terminal (table format, stdout a terminal)."""
        return self.format is Format.table and on_terminal(self._stdout())

    def table(self, rows: Rows) -> None:
        """Print a table (table format); remember the first for CSV."""
        if self._first is None:
            self._first = rows
        if self.format is not Format.table:
            return
        console = self._stdout()
        if on_terminal(console):
            console.print(rows.to_rich())
        else:
            _write("\n".join(rows.plain_lines()) + "\n")

    def line(self, text: str | Text) -> None:
        """Print a line of text: on stdout in the table format, on stderr otherwise."""
        if self.format is Format.table:
            console = self._stdout()
            if on_terminal(console):
                console.print(text if isinstance(text, Text) else Text(text))
            else:
                _write(terminal_text(str(text)) + "\n")
        else:
            err_console.print(text if isinstance(text, Text) else Text(text))

    def done(self, data: Any = None, *, csv_rows: Rows | None = None) -> None:
        """Print the document of the csv or json format (nothing in the table format).

        Args:
            data: The JSON ``data``; the records of the first table when None.
            csv_rows: The table written as CSV; the first table printed when None.
        """
        if self.format is Format.json:
            if data is None:
                data = self._first.records() if self._first is not None else []
            _write(json_text(envelope(self.command, data, self.version)) + "\n")
        elif self.format is Format.csv:
            rows = csv_rows if csv_rows is not None else self._first
            if rows is not None:
                _write(rows.csv_text())


def on_terminal(console: Console) -> bool:
    """Whether ``console`` writes to a terminal: as Rich decides (``force_terminal``,
    ``TTY_COMPATIBLE``, the file's ``isatty``) except that ``FORCE_COLOR``, which CI
    services set to colour their logs, does not make a pipe a terminal here: tables
    in a pipe stay whole lines."""
    forced: bool | None = getattr(console, "_force_terminal", None)
    if forced is not None:
        return forced
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed file
        return False


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def render(
    command: str,
    fmt: Format | str,
    rows: Rows | Mapping[str, Any],
    *,
    data: Any = None,
    version: int = 1,
    lines: Sequence[str] = (),
) -> None:
    """Print one table (or a mapping, as ``field``/``value`` rows) and then ``lines``
    in ``fmt``: a Rich table on a terminal, plain tab-separated lines otherwise, CSV,
    or the JSON envelope of ``data`` (the rows' records, or the mapping, when None)."""
    if not isinstance(rows, Rows):
        if data is None:
            data = dict(rows)
        rows = Rows.from_mapping(rows)
    printer = Printer(command, fmt, version=version)
    printer.table(rows)
    for text in lines:
        printer.line(text)
    printer.done(data)
