"""Reading a CSV file of sourced rows so that every problem is located: records with
the line they start on (a quoted field may span lines), the line and column where
each field starts, a header checked against the columns expected, and problems
collected, not raised one at a time (observation files of calibration and the
public-record ledger both read this way)."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from forcegen.errors import MAX_PROBLEMS, Problem, ScenarioError

__all__ = ["DataRows", "Problems", "Records", "check_header", "field_starts", "read_text"]

HeaderCheck = Callable[[str, int, list[str], list[int]], list[Problem]]
"""Problems of a header: ``(file, line, names, columns where they start)``."""


def read_text(path: str | Path) -> str:
    """The text of the file at ``path`` (UTF-8, a byte-order mark dropped).

    Raises:
        ScenarioError: The file cannot be read, located at the file.
    """
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError([Problem(str(path), 0, 0, "", f"cannot read file: {reason}")]) from None


def field_starts(record: str, first_line: int) -> list[tuple[int, int]]:
    """1-based ``(line, column)`` where each CSV field of ``record`` starts (a quoted
    field may hold line breaks, so a record may span lines from ``first_line``)."""
    starts = [(first_line, 1)]
    quoted = False
    line, column = first_line, 0
    for ch in record:
        column += 1
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append((line, column + 1))
        elif ch == "\n":
            line, column = line + 1, 0
    return starts


@dataclass
class Problems:
    """Problems of one file, at most :data:`MAX_PROBLEMS` kept and the rest counted:
    a file of a million bad rows is reported in a second, not in minutes."""

    file: str
    kept: list[Problem] = field(default_factory=list)
    omitted: int = 0

    @property
    def full(self) -> bool:
        """Whether further problems are only counted (so hints need not be computed)."""
        return len(self.kept) >= MAX_PROBLEMS

    def add(self, problem: Problem) -> None:
        if self.full:
            self.omitted += 1
        else:
            self.kept.append(problem)

    def raise_any(self) -> None:
        """Raise the problems found, if any, as one :class:`ScenarioError`."""
        if self.kept or self.omitted:
            omitted = {self.file: self.omitted} if self.omitted else {}
            raise ScenarioError(self.kept, omitted)


class Records:
    """The CSV records of a text, read by :mod:`csv` (so a quoted field may hold
    commas, quotes and line breaks, as RFC 4180 allows), each with the line it starts
    on; blank lines and ``#`` comment lines between records are skipped."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self._between = True
        self._record: list[str] = []
        self.start = 0
        """First line of the record being read."""
        self.line = 0
        """Lines read so far."""

    def _feed(self) -> Iterator[str]:
        for line in self._lines:
            self.line += 1
            if self._between:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                self._between, self.start, self._record = False, self.line, []
            self._record.append(line)
            yield line

    def __iter__(self) -> Iterator[tuple[int, str, list[str]]]:
        """``(first line, record text, cells)`` of each record."""
        for cells in csv.reader(self._feed()):
            yield self.start, "".join(self._record), cells
            # Runs when the next record is asked for, before csv reads its lines.
            self._between = True


def check_header(
    file: str,
    line: int,
    header: list[str],
    starts: list[int],
    known: Sequence[str],
    required: Sequence[str],
) -> list[Problem]:
    """Problems of a CSV header at ``file``:``line`` (``starts``: the column where each
    name starts): names not in ``known`` (with the closest known one), names given
    twice, and ``required`` names missing."""
    problems: list[Problem] = []
    for i, name in enumerate(header):
        col = starts[i] if i < len(starts) else 0
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown column {name!r}{hint}; expected {', '.join(known)}"
            problems.append(Problem(file, line, col, name, message))
        elif header.index(name) != i:
            problems.append(Problem(file, line, col, name, f"column {name!r} appears twice"))
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(
            Problem(file, line, 1, "", f"missing column(s) {', '.join(missing)} in the header")
        )
    return problems


class DataRows:
    """The data records of a CSV text under its header, as ``(line, record text, cells
    by column name)``: the header (the first record, names lower-cased) is checked by
    ``check``, and a record with another number of fields than the header, or text the
    :mod:`csv` module cannot read, is a problem in ``problems`` rather than a row."""

    def __init__(self, file: str, text: str, problems: Problems, check: HeaderCheck) -> None:
        self._file, self._text, self._problems, self._check = file, text, problems, check
        self.header: list[str] | None = None
        """Column names, once the header is read."""
        self.header_line = 0
        """Line of the header."""

    def __iter__(self) -> Iterator[tuple[int, str, dict[str, str]]]:
        file, problems = self._file, self._problems
        records = Records(self._text)
        try:
            for number, record, cells in records:
                if self.header is None:
                    self.header, self.header_line = [c.strip().lower() for c in cells], number
                    columns = [column for _, column in field_starts(record, number)]
                    for problem in self._check(file, number, self.header, columns):
                        problems.add(problem)
                    if problems.kept:
                        return
                    continue
                if len(cells) != len(self.header):
                    spans = records.line - number + 1
                    hint = (
                        f"; this row runs over {spans} lines: is a closing quote missing?"
                        if spans > 1
                        else ""
                    )
                    message = (
                        f"expected {len(self.header)} fields as in the header (line "
                        f"{self.header_line}), found {len(cells)}{hint}"
                    )
                    problems.add(Problem(file, number, 0, "", message))
                    continue
                yield (
                    number,
                    record,
                    {h: c.strip() for h, c in zip(self.header, cells, strict=True)},
                )
        except csv.Error as exc:
            # A field over csv's size limit, typically after a quote that is never closed.
            problems.add(Problem(file, records.start, 0, "", f"cannot read as CSV: {exc}"))

    def finish(self, found: bool, nothing: str) -> None:
        """Add the problem of a file without a header, or (``found`` false) without
        rows after it (``nothing``: what to say), unless other problems explain it."""
        if self.problems_kept:
            return
        if self.header is None:
            self._problems.add(
                Problem(self._file, 0, 0, "", "empty file: expected a header and rows")
            )
        elif not found:
            self._problems.add(Problem(self._file, self.header_line, 0, "", nothing))

    @property
    def names(self) -> list[str]:
        """Column names of the header (none before it is read)."""
        return self.header or []

    @property
    def problems_kept(self) -> bool:
        """Whether any problem was found so far."""
        return bool(self._problems.kept)
