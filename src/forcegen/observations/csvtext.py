"""Reading a CSV file of sourced rows so that every problem is located: records with
the line they start on (a quoted field may span lines), the line and column where
each field starts, a header checked against the columns expected, and problems
collected, not raised one at a time (observation files of calibration and the
public-record ledger both read this way)."""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from forcegen.errors import MAX_PROBLEMS, Problem, ScenarioError

__all__ = ["Problems", "Records", "check_header", "field_starts"]


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
