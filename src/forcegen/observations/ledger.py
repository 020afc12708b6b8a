"""The observation ledger: sourced public figures read from a CSV as they are.

The columns are those of the public record (``../shared/data/public-record``, see
``docs/calibration.md``): each row is one figure as one source stated it, with its
claimant, source and verification status, the period it covers and whether it is an
``outcome`` (what happened) or an ``input`` (a price, decree or target). An optional
``bound`` column marks one-sided figures ("more than 40,000": ``lower``).

Every problem in the file is reported at once, located as ``FILE:LINE:COL: column:
message``, like scenario errors (:class:`~forcegen.errors.ScenarioError`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from forcegen.errors import Problem, ScenarioError
from forcegen.observations.csvtext import DataRows, check_header, read_text
from forcegen.observations.csvtext import Problems as _Problems
from forcegen.observations.csvtext import field_starts as _field_starts
from forcegen.observations.dates import LooseDate, parse_loose_date
from forcegen.scenario.yamlsource import YamlDocument, parse_yaml

__all__ = [
    "LEDGER_COLUMNS",
    "OPTIONAL_COLUMNS",
    "VERIFICATIONS",
    "Ledger",
    "LedgerRow",
    "load_ledger",
]

LEDGER_COLUMNS: tuple[str, ...] = (
    "id",
    "date",
    "period_start",
    "period_end",
    "quantity",
    "value",
    "low",
    "high",
    "unit",
    "category",
    "claimant",
    "source_title",
    "source_url",
    "verification",
    "notes",
    "role",
)
"""Columns of the public-record CSV, all required (cells may be empty where noted in
``docs/calibration.md``)."""
OPTIONAL_COLUMNS: tuple[str, ...] = ("bound",)
"""Columns a ledger may add: ``bound`` = ``lower``/``upper`` for one-sided figures."""
VERIFICATIONS: tuple[str, ...] = (
    "official_claim",
    "independent_count",
    "estimate",
    "unverified_report",
)
"""Verification statuses, the scenario ledger's statuses written with underscores."""
ROLES = ("outcome", "input")
Bound = Literal["point", "lower", "upper"]
_Bad = Callable[[str, str], None]


@dataclass(frozen=True)
class LedgerRow:
    """One sourced figure.

    Attributes:
        line: Line of the CSV the row starts on (1-based).
        id: Stable row id.
        published: When the figure was published (month precision = the month's end).
        period_start: Start of the period covered, if the source says.
        period_end: End of the period covered, if the source says.
        quantity: What is measured (a key of the quantity mapping).
        value: The figure (in ``unit``; percent as written, e.g. 41 for 41 %).
        low, high: The source's range, where it gives one.
        unit: people, cases, rub, percent, …
        category: losses, recruitment, strength, …
        claimant: Who stated it.
        source_title, source_url: Where it was published.
        verification: One of :data:`VERIFICATIONS`.
        notes: Context as the source gave it.
        role: ``outcome`` or ``input``.
        bound: ``point``, or ``lower``/``upper`` for a one-sided figure.
    """

    line: int
    id: str
    published: LooseDate
    period_start: LooseDate | None
    period_end: LooseDate | None
    quantity: str
    value: float
    low: float | None
    high: float | None
    unit: str
    category: str
    claimant: str
    source_title: str
    source_url: str
    verification: str
    notes: str
    role: str
    bound: Bound = "point"

    @property
    def published_date(self) -> dt.date:
        """Publication date (a month means its last day)."""
        return self.published.as_end()

    @property
    def source(self) -> str:
        """``claimant — title`` for tables and reports."""
        return f"{self.claimant} — {self.source_title}" if self.source_title else self.claimant


@dataclass(frozen=True)
class Ledger:
    """A validated observation ledger.

    Attributes:
        path: File it came from.
        rows: Rows in file order.
    """

    path: str
    rows: tuple[LedgerRow, ...]

    @property
    def outcomes(self) -> list[LedgerRow]:
        """Rows with ``role = outcome``: observations of what happened."""
        return [r for r in self.rows if r.role == "outcome"]

    @property
    def inputs(self) -> list[LedgerRow]:
        """Rows with ``role = input``: prices, decrees, targets."""
        return [r for r in self.rows if r.role == "input"]

    def by_id(self) -> dict[str, LedgerRow]:
        """Rows by id."""
        return {r.id: r for r in self.rows}


def load_ledger(path: str | Path) -> Ledger:
    """Read and validate a ledger: a CSV (columns :data:`LEDGER_COLUMNS`), or a YAML
    file (``.yaml``/``.yml``) holding ``observations:``, a list of mappings with the
    same keys (``period_*``, ``low``, ``high``, ``notes`` and ``bound`` optional).

    Raises:
        ScenarioError: Every problem of the file, located (file, line, column, field).
    """
    shown = str(path)
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        return _load_yaml_ledger(Path(path))
    text = read_text(path)
    problems = _Problems(shown)
    rows: list[LedgerRow] = []
    seen: dict[str, int] = {}
    table = DataRows(shown, text, problems, _check_header)
    for number, record, cell in table:
        bad = _RowReporter(shown, number, table.names, _field_starts(record, number), problems)
        row = _parse_row(cell, number, bad)
        if row is None:
            continue
        if row.id in seen:
            bad("id", f"id {row.id!r} is already used on line {seen[row.id]}; ids are unique")
            continue
        seen[row.id] = number
        rows.append(row)
    table.finish(bool(rows), "no rows after the header")
    problems.raise_any()
    return Ledger(shown, tuple(rows))


class _RowReporter:
    """Adds a problem located at a column of one record."""

    def __init__(
        self,
        file: str,
        line: int,
        header: list[str],
        starts: list[tuple[int, int]],
        problems: _Problems,
    ) -> None:
        self._file, self._line, self._header = file, line, header
        self._starts, self._problems = starts, problems

    def __call__(self, col: str, message: str) -> None:
        idx = self._header.index(col) if col in self._header else -1
        line, column = self._starts[idx] if 0 <= idx < len(self._starts) else (self._line, 0)
        self._problems.add(Problem(self._file, line, column, col, message))


def _check_header(file: str, line: int, header: list[str], starts: list[int]) -> list[Problem]:
    return check_header(
        file, line, header, starts, (*LEDGER_COLUMNS, *OPTIONAL_COLUMNS), LEDGER_COLUMNS
    )


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


_DATE_HINT = "expected YYYY-MM-DD, YYYY-MM (the month) or YYYY (the year)"


def _parse_row(cell: Mapping[str, str], line: int, bad: _Bad) -> LedgerRow | None:
    ok = True
    if not cell["id"]:
        bad("id", "every row needs an id")
        ok = False
    published = parse_loose_date(cell["date"])
    if published is None:
        bad("date", f"{cell['date']!r} is not a date; {_DATE_HINT}")
        ok = False
    period: dict[str, LooseDate | None] = {}
    for col in ("period_start", "period_end"):
        period[col] = None
        if cell[col]:
            parsed = parse_loose_date(cell[col])
            if parsed is None:
                bad(col, f"{cell[col]!r} is not a date; {_DATE_HINT}, or empty")
                ok = False
            period[col] = parsed
    start, end = period["period_start"], period["period_end"]
    if start is not None and end is not None and start.as_start() > end.as_end():
        bad(
            "period_end",
            f"the period ends ({cell['period_end']}) before it starts ({cell['period_start']})",
        )
        ok = False
    if not cell["quantity"]:
        bad("quantity", "every row needs a quantity (what is measured)")
        ok = False
    value = _number(cell["value"])
    if value is None or value <= 0:
        bad(
            "value",
            f"{cell['value']!r} is not a positive number; figures are compared on a "
            "log scale, so they must be > 0",
        )
        ok = False
    low = high = None
    if cell["low"]:
        low = _number(cell["low"])
        if low is None or low <= 0:
            bad("low", f"{cell['low']!r} is not a positive number")
            ok = False
    if cell["high"]:
        high = _number(cell["high"])
        if high is None or high <= 0:
            bad("high", f"{cell['high']!r} is not a positive number")
            ok = False
    if ok and low is not None and high is not None and value is not None:
        if not low <= value <= high:
            bad("low", f"expected low <= value <= high, got {low:g}, {value:g}, {high:g}")
            ok = False
        elif not low < high:
            bad("high", f"high ({high:g}) must exceed low ({low:g})")
            ok = False
    if ok and (low is None) != (high is None):
        missing = "high" if high is None else "low"
        bad(
            missing,
            "give both low and high, or neither (use the bound column for a one-sided figure)",
        )
        ok = False
    verification = cell["verification"]
    if verification not in VERIFICATIONS:
        close = difflib.get_close_matches(verification.replace("-", "_"), VERIFICATIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        bad(
            "verification",
            f"{verification!r} is not a verification status{hint}; expected "
            f"one of {', '.join(VERIFICATIONS)}",
        )
        ok = False
    role = cell["role"]
    if role not in ROLES:
        bad("role", f"{role!r} is not a role; expected outcome or input")
        ok = False
    if not cell["claimant"]:
        bad("claimant", "every row needs a claimant (who stated the figure)")
        ok = False
    if not cell["source_title"] and not cell["source_url"]:
        bad("source_title", "every row needs a source: a title, a URL or both")
        ok = False
    bound_text = cell.get("bound", "")
    bound: Bound = "point"
    if bound_text in ("lower", "upper"):
        bound = "lower" if bound_text == "lower" else "upper"
    elif bound_text:
        bad("bound", f"{bound_text!r} is not a bound; expected lower, upper or empty")
        ok = False
    if not ok:
        return None
    assert published is not None
    assert value is not None
    return LedgerRow(
        line=line,
        id=cell["id"],
        published=published,
        period_start=start,
        period_end=end,
        quantity=cell["quantity"],
        value=value,
        low=low,
        high=high,
        unit=cell["unit"],
        category=cell["category"],
        claimant=cell["claimant"],
        source_title=cell["source_title"],
        source_url=cell["source_url"],
        verification=verification,
        notes=cell["notes"],
        role=role,
        bound=bound,
    )


class _YamlReporter:
    """Adds a problem located at a key of one YAML observation."""

    def __init__(self, doc: YamlDocument, index: int, problems: _Problems) -> None:
        self._doc, self._index, self._problems = doc, index, problems

    def __call__(self, col: str, message: str) -> None:
        path = ("observations", self._index, col)
        line, column = self._doc.locate(path)
        self._problems.add(Problem(self._doc.file, line, column, col, message))


def _load_yaml_ledger(path: Path) -> Ledger:
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScenarioError([Problem(shown, 0, 0, "", f"cannot read file: {reason}")]) from None
    doc = parse_yaml(raw, shown)
    problems = _Problems(shown)
    items = doc.data.get("observations")
    if not isinstance(items, list) or not items:
        line, column = doc.locate(("observations",))
        problems.add(
            Problem(shown, line, column, "observations", "expected a list of observations")
        )
        problems.raise_any()
    rows: list[LedgerRow] = []
    seen: dict[str, int] = {}
    known = (*LEDGER_COLUMNS, *OPTIONAL_COLUMNS)
    for i, item in enumerate(items if isinstance(items, list) else []):
        line = doc.locate(("observations", i))[0]
        bad = _YamlReporter(doc, i, problems)
        if not isinstance(item, dict):
            bad("", "expected a mapping of id, date, quantity, value, ...")
            continue
        unknown = [k for k in item if k not in known]
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            bad(key, f"unknown key {key!r}{hint}")
        # Missing keys are empty cells: the row's checks name what is required.
        cell = {c: "" if item.get(c) is None else str(item.get(c)).strip() for c in known}
        row = _parse_row(cell, line, bad)
        if row is None or unknown:
            continue
        if row.id in seen:
            bad("id", f"id {row.id!r} is already used on line {seen[row.id]}; ids are unique")
            continue
        seen[row.id] = line
        rows.append(row)
    problems.raise_any()
    return Ledger(shown, tuple(rows))
