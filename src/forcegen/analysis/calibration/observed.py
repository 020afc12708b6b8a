"""Observed data of ``forcegen calibrate``'s own CSV format: reading and validating
it (:func:`load_observed`, every problem located) and the simulated value of each
observation (:class:`_Observables`). Format: ``docs/calibration.md``."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.step import COST_KINDS, INFLOW_KINDS, TRANSITION_KINDS
from forcegen.errors import Problem
from forcegen.observations.csvtext import DataRows, check_header, read_text
from forcegen.observations.csvtext import Problems as _Problems
from forcegen.observations.csvtext import field_starts as _field_starts
from forcegen.results.result import Result
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

if TYPE_CHECKING:
    pass

from forcegen.analysis.calibration.common import _Z975, FloatArray

OBSERVED_SERIES: tuple[str, ...] = ("strength", "inflow", "outflow", "pool", "cost", "transition")
"""Series an observation may refer to (names of :data:`forcegen.results.result.SERIES`)."""
OBSERVED_COLUMNS: tuple[str, ...] = (
    "date",
    "series",
    "channel",
    "cause",
    "value",
    "low",
    "high",
    "source",
    "model",
)
"""Columns of an observed-data CSV; ``low``, ``high`` and ``model`` may be absent."""
_REQUIRED = ("date", "series", "channel", "cause", "value", "source")
_STOCKS = ("strength", "pool")


@dataclass(frozen=True)
class ObservationModel:
    """How an observed series relates to the simulated truth.

    Attributes:
        kind: ``exact`` (observed = true + error), ``count`` (observed = fraction ×
            true + error, fraction in (0, 1]) or ``claim`` (observed = factor × true +
            error).
        low: Lower bound of the uniform prior of the fraction/factor (1 for exact).
        high: Upper bound (1 for exact).
        line: CSV line that declared it (0 for the implicit ``exact``).
    """

    kind: Literal["exact", "count", "claim"] = "exact"
    low: float = 1.0
    high: float = 1.0
    line: int = 0

    @property
    def uncertain(self) -> bool:
        """True when the fraction/factor is inferred (count or claim with a range)."""
        return self.high > self.low

    def describe(self) -> str:
        """``count: observed = fraction × true, fraction ~ uniform(0.3, 0.9)``."""
        if self.kind == "exact":
            return "exact"
        what = "fraction" if self.kind == "count" else "factor"
        return (
            f"{self.kind}: observed = {what} × true, {what} ~ uniform({self.low:g}, {self.high:g})"
        )


@dataclass(frozen=True)
class ObservedRow:
    """One observation.

    Attributes:
        line: Line in the CSV (1-based).
        date: Date observed.
        series: One of :data:`OBSERVED_SERIES`.
        channel: Channel id (pool id for ``pool``); None = all.
        cause: Category of the series — state (strength), kind (inflow, cost,
            transition: e.g. ``prosecuted`` for criminal cases) or exit cause (outflow);
            None = all.
        value: Observed value (people, or scenario currency for cost); stocks are the
            end-of-day value on ``date``, flows the cumulative total from the
            scenario's start date through ``date``.
        low: Lower end of the stated ~95 % interval, or None.
        high: Upper end, or None.
        source: Who reported it, where.
    """

    line: int
    date: dt.date
    series: str
    channel: str | None
    cause: str | None
    value: float
    low: float | None
    high: float | None
    source: str

    @property
    def group(self) -> str:
        """Label of the observed series, e.g. ``outflow[killed]`` or
        ``inflow[prisoners,recruited]``."""
        sel = [s for s in (self.channel, self.cause) if s]
        return f"{self.series}[{','.join(sel)}]" if sel else self.series

    def log_sd(self, default: float) -> float:
        """Standard deviation of the log-scale error: ``ln(high/low) / 3.92`` (the
        interval is a ~95 % interval), or ``default`` without an interval."""
        if self.low is None or self.high is None:
            return default
        return math.log(self.high / self.low) / (2 * _Z975)


@dataclass(frozen=True)
class ObservedData:
    """Validated observations and the observation model of each observed series.

    Attributes:
        path: File they came from.
        rows: Observations, in file order.
        models: Observed-series label (:attr:`ObservedRow.group`) → its model.
    """

    path: str
    rows: tuple[ObservedRow, ...]
    models: Mapping[str, ObservationModel]

    @property
    def groups(self) -> list[str]:
        """Observed-series labels in order of first appearance."""
        return list(dict.fromkeys(r.group for r in self.rows))

    @property
    def sources(self) -> list[str]:
        """Distinct sources, in order of first appearance."""
        return list(dict.fromkeys(r.source for r in self.rows))

    def last_day(self, scenario: Scenario) -> int:
        """Index of the last observed date in ``scenario``'s days."""
        return max((r.date - scenario.start_date).days for r in self.rows)

    def check(self, scenario: Scenario) -> None:
        """Check ids and dates against ``scenario``.

        Raises:
            ScenarioError: One located problem per bad cell.
        """
        channels = [c.id for c in scenario.channels]
        pools = [p.id for p in scenario.pools]
        problems = _Problems(self.path)
        for row in self.rows:
            if not scenario.start_date <= row.date <= scenario.end_date:
                problems.add(
                    Problem(
                        self.path,
                        row.line,
                        0,
                        "date",
                        f"{row.date} is outside the simulated days of {scenario.name} "
                        f"({scenario.start_date} to {scenario.end_date})",
                    )
                )
            if row.channel is not None:
                ids, what = (pools, "pool") if row.series == "pool" else (channels, "channel")
                if row.channel not in ids:
                    hint = "" if problems.full else _did_you_mean(row.channel, ids)
                    problems.add(
                        Problem(
                            self.path,
                            row.line,
                            0,
                            "channel",
                            f"no {what} {row.channel!r} in {scenario.name}{hint}; expected "
                            f"one of {', '.join(ids) or 'none'} or empty for all",
                        )
                    )
        problems.raise_any()


_CATEGORIES: dict[str, tuple[str, ...]] = {
    "strength": STATES,
    "inflow": INFLOW_KINDS,
    "outflow": EXIT_CAUSES,
    "pool": (),
    "cost": COST_KINDS,
    "transition": TRANSITION_KINDS,
}
_MODEL_RE = re.compile(r"^\s*(exact|count|claim)\s*(?::\s*([^.\s][^\s]*?)\s*\.\.\s*(\S+)\s*)?$")


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reporter:
    """Records a problem in a column of one record (see :func:`load_observed`)."""

    def __init__(
        self, file: str, line: int, header: list[str], record: str, problems: _Problems
    ) -> None:
        self._file, self._line, self._header = file, line, header
        self._record, self._problems = record, problems

    @property
    def counting(self) -> bool:
        """Whether problems are only counted now (no need to compute hints)."""
        return self._problems.full

    def __call__(self, col: str, message: str) -> None:
        if self._problems.full:
            self._problems.omitted += 1
            return
        # Located only when kept: scanning every record for its columns would cost
        # more than reading it.
        starts = _field_starts(self._record, self._line)
        idx = self._header.index(col)
        line, column = starts[idx] if idx < len(starts) else (self._line, 0)
        self._problems.add(Problem(self._file, line, column, col, message))


def load_observed(path: str | Path, scenario: Scenario | None = None) -> ObservedData:
    """Read and validate an observed-data CSV (format: ``docs/calibration.md``).

    The file is read as CSV (RFC 4180: a quoted field may hold commas, quotes and line
    breaks); lines starting with ``#`` between records are comments. Every problem
    is reported at once, with its file, line, column and field: the first
    :data:`~forcegen.errors.MAX_PROBLEMS`, and how many more there are.

    Args:
        path: The CSV file.
        scenario: When given, channel/pool ids and dates are checked against it too.

    Raises:
        ScenarioError: The file cannot be read or has invalid cells.
    """
    shown = str(path)
    text = read_text(path)
    problems = _Problems(shown)
    rows: list[ObservedRow] = []
    declared: dict[str, ObservationModel] = {}
    seen: dict[tuple[str, dt.date], int] = {}
    table = DataRows(shown, text, problems, _check_header)
    for number, record, cell in table:
        bad = _Reporter(shown, number, table.names, record, problems)
        row, model = _parse_row(cell, number, bad)
        if row is None:
            continue
        key = (row.group, row.date)
        if key in seen:
            bad(
                "date",
                f"{row.group} on {row.date} is already observed on line {seen[key]}; "
                "combine the sources into one row (one value with an interval)",
            )
            continue
        seen[key] = number
        if model is not None:
            before = declared.get(row.group)
            if before is not None and (before.kind, before.low, before.high) != (
                model.kind,
                model.low,
                model.high,
            ):
                bad(
                    "model",
                    f"{row.group} already has model {before.describe()!r} (line "
                    f"{before.line}); one series has one observation model",
                )
            else:
                declared.setdefault(row.group, model)
        rows.append(row)
    table.finish(bool(rows), "no observations after the header")
    problems.raise_any()
    models = {g: declared.get(g, ObservationModel()) for g in dict.fromkeys(r.group for r in rows)}
    data = ObservedData(shown, tuple(rows), models)
    if scenario is not None:
        data.check(scenario)
    return data


def _check_header(file: str, line: int, header: list[str], starts: list[int]) -> list[Problem]:
    problems = check_header(file, line, header, starts, OBSERVED_COLUMNS, _REQUIRED)
    if ("low" in header) != ("high" in header):
        problems.append(Problem(file, line, 1, "", "give both low and high columns, or neither"))
    return problems


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_row(
    cell: Mapping[str, str], line: int, bad: _Reporter
) -> tuple[ObservedRow | None, ObservationModel | None]:
    ok = True
    try:
        date = dt.date.fromisoformat(cell["date"])
    except ValueError:
        bad("date", f"{cell['date']!r} is not a date; expected YYYY-MM-DD")
        ok = False
    series = cell["series"]
    if series not in OBSERVED_SERIES:
        hint = "" if bad.counting else _did_you_mean(series, OBSERVED_SERIES)
        bad("series", f"unknown series {series!r}{hint}; expected {', '.join(OBSERVED_SERIES)}")
        ok = False
    cause = cell["cause"] or None
    if ok and cause is not None:
        allowed = _CATEGORIES[series]
        if not allowed:
            bad("cause", f"series {series} has no categories; leave cause empty")
            ok = False
        elif cause not in allowed:
            hint = "" if bad.counting else _did_you_mean(cause, allowed)
            bad(
                "cause",
                f"{cause!r} is not a category of {series}{hint}; expected one of "
                f"{', '.join(allowed)} or empty for all",
            )
            ok = False
    value = _number(cell["value"])
    if value is None or value <= 0:
        bad(
            "value",
            f"{cell['value']!r} is not a positive number; observations are compared on a "
            "log scale, so they must be > 0 (see docs/calibration.md)",
        )
        ok = False
    low = high = None
    low_text, high_text = cell.get("low", ""), cell.get("high", "")
    if low_text or high_text:
        low, high = _number(low_text), _number(high_text)
        if not low_text or not high_text:
            bad("low" if not low_text else "high", "give both low and high, or neither")
            ok = False
        elif low is None or low <= 0:
            bad("low", f"{low_text!r} is not a positive number")
            ok = False
        elif high is None:
            bad("high", f"{high_text!r} is not a number")
            ok = False
        elif value is not None and not low <= value <= high:
            bad("low", f"expected low <= value <= high, got {low:g}, {value:g}, {high:g}")
            ok = False
        elif not low < high:
            bad("high", f"high ({high:g}) must exceed low ({low:g})")
            ok = False
    source = cell["source"]
    if not source:
        bad("source", "every observation needs a source (who reported it, where)")
        ok = False
    model = _parse_model(cell.get("model", ""), line, bad)
    if model is False:
        ok = False
    if not ok:
        return None, None
    assert value is not None
    row = ObservedRow(
        line=line,
        date=date,
        series=series,
        channel=cell["channel"] or None,
        cause=cause,
        value=value,
        low=low,
        high=high,
        source=source,
    )
    return row, (model if isinstance(model, ObservationModel) else None)


def _parse_model(
    text: str, line: int, bad: Callable[[str, str], None]
) -> ObservationModel | Literal[False] | None:
    if not text:
        return None
    usage = "expected exact, count:LOW..HIGH (0 < LOW <= HIGH <= 1) or claim:LOW..HIGH (LOW > 0)"
    match = _MODEL_RE.match(text)
    if match is None:
        bad("model", f"cannot read model {text!r}; {usage}")
        return False
    kind = match.group(1)
    if kind == "exact":
        if match.group(2) is not None:
            bad("model", f"exact takes no range; {usage}")
            return False
        return ObservationModel("exact", line=line)
    if match.group(2) is None:
        bad(
            "model",
            f"{kind} needs the range of its {'fraction' if kind == 'count' else 'factor'}; {usage}",
        )
        return False
    lo, hi = _number(match.group(2)), _number(match.group(3))
    if lo is None or hi is None or not 0 < lo <= hi or (kind == "count" and hi > 1):
        bad("model", f"bad range in {text!r}; {usage}")
        return False
    return ObservationModel("count" if kind == "count" else "claim", lo, hi, line)


# --------------------------------------------------------------- simulated observables
@dataclass(frozen=True)
class _Observables:
    """Maps a Result to the simulated (true) value of every observation."""

    groups: tuple[
        tuple[str, str, str | None, str | None, bool], ...
    ]  # label, series, ch, cat, flow
    days: tuple[NDArray[np.int64], ...]  # per group: day index of each of its rows
    index: tuple[NDArray[np.int64], ...]  # per group: position of its rows among all rows
    n: int

    @classmethod
    def of(cls, data: ObservedData, scenario: Scenario) -> _Observables:
        groups = []
        days = []
        index = []
        for label in data.groups:
            rows = [(i, r) for i, r in enumerate(data.rows) if r.group == label]
            first = rows[0][1]
            flow = first.series not in _STOCKS
            groups.append((label, first.series, first.channel, first.cause, flow))
            days.append(np.array([(r.date - scenario.start_date).days for _, r in rows]))
            index.append(np.array([i for i, _ in rows]))
        return cls(tuple(groups), tuple(days), tuple(index), len(data.rows))

    def daily(self, result: Result) -> list[FloatArray]:
        """Per group: ``(runs, days)`` series as observed (stocks, or cumulative flows)."""
        out = []
        for _, series, channel, cause, flow in self.groups:
            values = result.total(series, channels=channel, categories=cause)
            out.append(np.cumsum(values, axis=1) if flow else values)
        return out

    def stacked(self, result: Result) -> FloatArray:
        """``(runs, groups, days)``: :meth:`daily` as one array."""
        return np.stack(self.daily(result), axis=1)

    def values(self, result: Result) -> FloatArray:
        """``(runs, n_observations)`` simulated true values."""
        out = np.zeros((result.runs, self.n))
        for series, days, index in zip(self.daily(result), self.days, self.index, strict=True):
            out[:, index] = series[:, days]
        return out
