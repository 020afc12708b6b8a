"""Calibration to observed data: which parameter values are consistent with what was seen.

Method (see ``docs/calibration.md`` for the justification of each choice):

* **Data**: a CSV of observations (:func:`load_observed`), each a value of an output
  series on a date, with an optional stated interval and an **observation model** per
  observed series: ``exact``; ``count:A..B`` (observed = fraction × true, fraction
  uniform on [A, B] — e.g. counted deaths are a fraction of true deaths); or
  ``claim:A..B`` (observed = true × factor, factor uniform on [A, B] — a claimant's
  inflation or understatement). The fraction or factor is an extra unknown, inferred
  with the parameters.
* **Error model**: on a log scale, ``log(observed) = log(factor × simulated) + e``
  with ``e ~ Normal(0, s²)``; ``[low, high]`` is read as the 95 % interval,
  ``s = ln(high/low) / (2 × 1.96)``; rows without an interval get ``default_log_sd``.
* **Inference**: pyabc ABC-SMC with its *stochastic acceptor* and a normal kernel equal
  to that error model, tempered down to temperature 1 — at temperature 1 this samples
  the exact posterior of the stated error model (Wilkinson 2013), not an
  ε-approximation.
* **Priors** are the scenario's own distributions: every calibrated parameter is
  sampled as its quantile ``u`` ~ Uniform(0, 1) and mapped through its inverse CDF by
  the engine (``Sim(given_quantiles=...)``).
* **Batching**: a custom pyabc sampler collects a whole batch of proposals, simulates
  them as the replicates of one :class:`~forcegen.sim.Sim` run, and then lets pyabc
  evaluate them one by one (:class:`_BatchSampler`), reproducibly from the seed.
* **Other uncertain parameters** are held at their expected values
  (``others="expected"``, default: the posterior is conditional on them) or drawn from
  their priors in every simulation (``others="prior"``: marginal, much costlier).

The posterior is written back as a new scenario (:meth:`CalibrationResult.write_scenario`):
each calibrated parameter becomes a normal distribution truncated to its prior support,
fitted to the posterior sample by weighted maximum likelihood.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import yaml
from numpy.typing import NDArray
from scipy import optimize, stats

from forcegen.analysis.posterior_runs import MARKER
from forcegen.analysis.sensitivity import (
    MORRIS_LEVELS,
    dask_client,
    parameter_bases,
    resolve_parameters,
    simulate_design,
    through_day,
)
from forcegen.engine.simulate import Mode
from forcegen.engine.step import COST_KINDS, INFLOW_KINDS, TRANSITION_KINDS
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import OutputError, Problem, UsageError
from forcegen.observations.csvtext import DataRows, check_header, read_text
from forcegen.observations.csvtext import Problems as _Problems
from forcegen.observations.csvtext import field_starts as _field_starts
from forcegen.results.outputs import (
    Recognise,
    atomic_file,
    check_file_target,
    csv_header_is,
    figure_metadata,
    has_marker,
    looks_like_forcegen_figure,
    write_figure,
)
from forcegen.results.result import Result
from forcegen.safetext import csv_safe, literal_figure_text
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario
from forcegen.scenario.params import Distribution
from forcegen.scenario.walk import ParamRef
from forcegen.sim import Sim, load

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIT_COLUMNS",
    "MIN_ESS_SHARE",
    "OBSERVED_COLUMNS",
    "OBSERVED_SERIES",
    "SUMMARY_COLUMNS",
    "CalibrationResult",
    "ObservationModel",
    "ObservedData",
    "ObservedRow",
    "SyntheticSeries",
    "calibrate",
    "calibrated_name",
    "check_outputs",
    "fit_truncated_normal",
    "load_observed",
    "output_files",
    "screen_parameters",
    "synthetic_observations",
    "write_observed",
]

FloatArray = NDArray[np.float64]
Others = Literal["prior", "expected"]
Progress = Callable[[int, int], None]
"""Called as ``progress(simulations_done, budget)`` after each batch."""

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
_Z975 = float(stats.norm.ppf(0.975))
_LOG_FLOOR = 1e-6
"""Simulated values are floored here before taking logs, so a zero (an empty channel)
gives a very poor but finite fit instead of -inf."""
MAX_BATCH = 2048
"""Largest batch of proposals simulated at once (memory and waste bound)."""


# ------------------------------------------------------------------- observed data
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


# -------------------------------------------------------------------- pyabc batching
class _Deferred(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by the model while a batch is being collected: the proposal is recorded
    and simulated later, together with the rest of the batch."""


@dataclass
class _Batches:
    """State shared by the batched model and sampler."""

    keys: list[str]
    simulate: Callable[[FloatArray, int], FloatArray]  # (B, k) proposals, batch no → (B, n)
    seed: int
    budget: int
    round_to: int
    progress: Progress | None
    simulations: int = 0
    batches: int = 0
    recording: bool = True
    proposals: list[FloatArray] = field(default_factory=list)
    results: FloatArray | None = None
    cursor: int = 0


def _make_model(state: _Batches) -> Any:
    import pyabc

    class BatchModel(pyabc.Model):  # type: ignore[misc]
        """Record proposals while collecting, return simulated statistics on replay."""

        def sample(self, pars: Mapping[str, float]) -> dict[str, FloatArray]:
            theta = np.array([float(pars[k]) for k in state.keys])
            if state.recording:
                state.proposals.append(theta)
                raise _Deferred
            i = state.cursor
            if state.results is None or not np.array_equal(theta, state.proposals[i]):
                raise RuntimeError(
                    "pyabc proposal replay diverged from the recorded batch; the batched "
                    "sampler needs pyabc's proposal draws to depend only on numpy's global "
                    "random state"
                )
            # pyabc's stochastic acceptor draws its uniform next, from numpy's global
            # state: give it a stream of its own, independent of the proposal draws.
            ss = np.random.SeedSequence([state.seed, 1, state.batches, i])
            np.random.seed(int(ss.generate_state(1, dtype=np.uint32)[0]))  # noqa: NPY002 - pyabc uses the global state
            return {"y": state.results[i]}

    return BatchModel(name="forcegen")


def _make_sampler(state: _Batches) -> Any:
    import pyabc

    class BatchSampler(pyabc.sampler.Sampler):  # type: ignore[misc]
        """Evaluate pyabc's proposals in batches, as the replicates of one simulation.

        pyabc's ``simulate_one`` draws a proposal from numpy's global random state,
        simulates it and decides acceptance. For each batch this sampler (1) calls it
        with the model in *recording* mode, which stores the proposal and aborts, after
        saving the random state before each call; (2) simulates all recorded proposals
        at once; (3) restores each saved state and calls ``simulate_one`` again, which
        re-draws the identical proposal and now gets its simulated statistics. The run
        is deterministic given the seed, whatever the batch size.
        """

        def __init__(self) -> None:
            super().__init__()
            self.rate = 0.3

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            sample = self._create_empty_sample()
            evaluated = accepted = 0
            while accepted < n and evaluated < max_eval:
                left = state.budget - state.simulations
                if left <= 0:
                    break
                need = n - accepted
                # Proposals simulated after the population is full are wasted, so aim
                # below the need: at first with last generation's acceptance rate (3/4
                # of the need, as the rate changes between generations), then with
                # this generation's own rate.
                if all_accepted:
                    size = need
                elif evaluated == 0:
                    size = math.ceil(0.75 * need / max(self.rate, 0.01))
                else:
                    size = math.ceil(need / max(accepted / evaluated, 0.01))
                size = max(min(size, MAX_BATCH, left), min(32, left))
                size = min(-(-size // state.round_to) * state.round_to, max(left, 1))
                states = []
                state.recording, state.proposals = True, []
                for _ in range(size):
                    states.append(np.random.get_state())  # noqa: NPY002 - pyabc uses the global state
                    try:
                        simulate_one()
                    except _Deferred:
                        continue
                    raise RuntimeError("pyabc evaluated a proposal outside a batch")
                after = np.random.get_state()  # noqa: NPY002 - pyabc uses the global state
                state.results = state.simulate(np.stack(state.proposals), state.batches)
                state.simulations += size
                state.recording = False
                for i in range(size):
                    np.random.set_state(states[i])  # noqa: NPY002 - pyabc uses the global state
                    state.cursor = i
                    particle = simulate_one()
                    sample.append(particle)
                    evaluated += 1
                    if particle.accepted:
                        accepted += 1
                        if accepted == n:
                            break
                np.random.set_state(after)  # noqa: NPY002 - pyabc uses the global state
                state.batches += 1
                state.recording = True
                if not all_accepted:
                    self.rate = accepted / evaluated
                if state.progress is not None:
                    state.progress(state.simulations, state.budget)
            self.nr_evaluations_ = evaluated
            if accepted < n:
                sample.ok = False
            return sample

    return BatchSampler()


def _make_prior(keys: list[str]) -> Any:
    import pyabc

    class UnitCube(pyabc.DistributionBase):  # type: ignore[misc]
        """Independent Uniform(0, 1) prior on every key: the quantile space in which
        the priors are exactly the scenario's distributions (and the observation
        factors' uniform ranges). Same law as ``pyabc.Distribution`` of uniform RVs,
        without per-key scipy calls in pyabc's hot loop."""

        def rvs(self, *args: Any, **kwargs: Any) -> Any:
            u = np.random.random_sample(len(keys))  # noqa: NPY002 - pyabc's global state
            return pyabc.Parameter(dict(zip(keys, u.tolist(), strict=True)))

        def pdf(self, x: Mapping[str, float]) -> float:
            return float(all(0.0 <= x[k] <= 1.0 for k in keys))

    return UnitCube()


def _make_model_prior() -> Any:
    import pyabc

    class OneModel(pyabc.RVBase):  # type: ignore[misc]
        """The model index prior of a single-model run (always 0): what pyabc's default
        ``RV("randint", 0, 1)`` is, without a scipy call per proposal. It draws no
        random number."""

        def copy(self) -> OneModel:
            return OneModel()

        def rvs(self, *args: Any, **kwargs: Any) -> float:
            return 0

        def pmf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return 1.0 if x == 0 else 0.0

        def pdf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return self.pmf(x)

        def cdf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return 1.0 if x >= 0 else 0.0

    return OneModel()


def _make_transition() -> Any:
    import pyabc

    class FastTransition(pyabc.MultivariateNormalTransition):  # type: ignore[misc]
        """pyabc's multivariate normal KDE transition (same fit, same law), with a
        single draw done on arrays: pyabc's version indexes a DataFrame and factorises
        the covariance on every call, which dominated the run time."""

        def fit(self, X: pd.DataFrame, w: FloatArray) -> None:  # noqa: N803 - pyabc signature
            super().fit(X, w)
            d = self.cov.shape[0]
            jitter = 1e-12 * max(float(np.trace(self.cov)) / d, 1e-300)
            self._chol = np.linalg.cholesky(self.cov + jitter * np.eye(d))
            self._cumw = np.cumsum(self.w / np.sum(self.w))
            self._cols = list(X.columns)

        def rvs_single(self) -> Any:
            u = np.random.random_sample()  # noqa: NPY002 - pyabc's global state
            i = min(int(np.searchsorted(self._cumw, u, side="right")), len(self._cumw) - 1)
            z = np.random.standard_normal(len(self._cols))  # noqa: NPY002
            x = self._X_arr[i] + self._chol @ z
            return pyabc.Parameter(dict(zip(self._cols, x.tolist(), strict=True)))

    return FastTransition()


@contextmanager
def _quiet_pyabc() -> Iterator[None]:
    """pyabc logs every generation at INFO; keep it to warnings during a run."""
    loggers = [logging.getLogger(name) for name in ("ABC", "pyabc")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """pyabc draws from numpy's global random state: seed it, and restore the caller's
    state afterwards."""
    saved = np.random.get_state()  # noqa: NPY002 - pyabc uses the global state
    np.random.seed(int(np.random.SeedSequence([seed, 0]).generate_state(1, np.uint32)[0]))  # noqa: NPY002 - pyabc uses the global state
    try:
        yield
    finally:
        np.random.set_state(saved)  # noqa: NPY002 - pyabc uses the global state


# ------------------------------------------------------------------ posterior fitting
def _weighted_quantile(x: FloatArray, w: FloatArray, q: Sequence[float]) -> FloatArray:
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cdf = (np.cumsum(ws) - 0.5 * ws) / np.sum(ws)
    return np.asarray(np.interp(q, cdf, xs), dtype=np.float64)


def fit_truncated_normal(
    x: FloatArray, w: FloatArray, low: float, high: float
) -> tuple[float, float, float]:
    """Weighted maximum-likelihood normal truncated to ``[low, high]``.

    Args:
        x: Posterior sample (values).
        w: Its importance weights.
        low, high: Truncation bounds (the prior's support; may be infinite).

    Returns:
        ``(mean, sd, ks)``: parameters of the parent normal and the Kolmogorov–Smirnov
        distance between the fitted distribution and the weighted sample (0 = exact).
    """
    w = w / np.sum(w)
    m0 = float(np.sum(w * x))
    s0 = float(np.sqrt(np.sum(w * (x - m0) ** 2)))
    span = high - low if math.isfinite(high - low) else max(abs(m0), s0, 1e-300)
    floor = 1e-9 * span
    if s0 <= floor:
        return m0, max(s0, floor), 0.0

    # Work in standardised units: the optimiser then sees numbers of order one.
    def nll(theta: FloatArray) -> float:
        mu, sd = m0 + s0 * theta[0], s0 * math.exp(theta[1])
        a, b = (low - mu) / sd, (high - mu) / sd
        logpdf = stats.truncnorm.logpdf(x, a, b, loc=mu, scale=sd)
        value = -float(np.sum(w * logpdf))
        return value if math.isfinite(value) else 1e300

    best = optimize.minimize(nll, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-6})
    mu, sd = m0 + s0 * float(best.x[0]), s0 * math.exp(float(best.x[1]))
    # Keep the parent's sd bounded relative to the support, so a flat posterior gives a
    # wide but proper distribution rather than an overflowing one.
    if math.isfinite(high - low):
        sd = min(sd, 100 * (high - low))
        mu = min(max(mu, low - 10 * (high - low)), high + 10 * (high - low))
    fitted = stats.truncnorm((low - mu) / sd, (high - mu) / sd, loc=mu, scale=sd)
    order = np.argsort(x)
    ecdf = np.cumsum(w[order])
    cdf = fitted.cdf(x[order])
    ks = float(np.max(np.maximum(np.abs(ecdf - cdf), np.abs(ecdf - w[order] - cdf))))
    return mu, sd, ks


def _steps(ref: ParamRef) -> list[dt.date | None]:
    """Start date of each step of a dated series, or ``[None]`` for one distribution."""
    dates: list[dt.date | None] = list(ref.param.step_dates())
    return dates or [None]


def _sig(value: float) -> float:
    return float(f"{value:.6g}")


# ----------------------------------------------------------------------------- result
@dataclass
class CalibrationResult:
    """Posterior of the calibrated parameters, fit diagnostics and the calibrated scenario.

    Attributes:
        scenario: The scenario calibrated (priors).
        observed: The observations.
        parameters: Names of the calibrated scenario parameters.
        factors: Observed-series labels whose count fraction / claim factor was inferred.
        particles: Final ABC population in quantile space, one column per parameter
            name and per ``factor:<label>`` (the factor's quantile on its prior range).
        weights: Normalised importance weights of the particles.
        summary: One row per calibrated parameter (and per uncertain step of a dated
            series; ``step`` is its start date) and per factor: ``prior``, prior and
            posterior mean, median, 5 % and 95 % quantiles (parameter units), the
            fitted distribution written to the scenario and its KS distance to the
            posterior sample, and the evidence the parameter rested on.
        fit: One row per observation: observed value and interval, model, posterior
            predictive median and 5–95 % interval *including* observation error, and
            whether the observation lies inside it.
        bands: Posterior predictive bands of each observed series by day (factor
            applied, observation error not): columns ``group``, ``date``, ``q05``,
            ``q25``, ``q50``, ``q75``, ``q95``.
        temperatures: Temperature of each ABC-SMC generation (1 = exact posterior).
        simulations: Model simulations run (each one replicate).
        evaluations: Particles pyabc evaluated (simulations minus unused ones).
        ess: Effective sample size of the final population.
        seed, mode, others: Settings of the run.
        screening: Morris screening table when the parameters were chosen
            automatically, else None.
        notes: Caveats to show with the posterior.
        elapsed_seconds: Wall time.
    """

    scenario: Scenario
    observed: ObservedData
    parameters: list[str]
    factors: list[str]
    particles: pd.DataFrame
    weights: FloatArray
    summary: pd.DataFrame
    fit: pd.DataFrame
    bands: pd.DataFrame
    temperatures: list[float]
    simulations: int
    evaluations: int
    ess: float
    seed: int
    mode: Mode
    others: Others
    default_log_sd: float
    fitted: dict[str, list[tuple[float, float, float, float] | None]]
    screening: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def final_temperature(self) -> float:
        """Temperature of the final population; 1 means the exact posterior of the
        stated error model, above 1 a tempered (wider) approximation."""
        return self.temperatures[-1] if self.temperatures else math.inf

    @property
    def name(self) -> str:
        """Name of the calibrated scenario: ``<scenario>-calibrated``."""
        return calibrated_name(self.scenario.name)

    def diagnostic_failures(self) -> list[str]:
        """Why this posterior cannot be trusted, with what to try; empty when the
        final temperature is 1 and the effective sample size is at least
        :data:`MIN_ESS_SHARE` of the population."""
        out = []
        population = len(self.weights)
        if abs(self.final_temperature - 1.0) > 1e-9:
            out.append(
                f"final temperature {self.final_temperature:.3g}, not 1: the posterior is "
                "tempered (wider than the exact one, or degenerate); raise --budget, "
                "calibrate fewer parameters, or widen the observations' intervals"
            )
        if self.ess < MIN_ESS_SHARE * population:
            out.append(
                f"effective sample size {self.ess:.1f} of {population} particles (below "
                f"{MIN_ESS_SHARE:.0%}): the weights are degenerate; raise --population and "
                "--budget"
            )
        return out

    @property
    def forced(self) -> bool:
        """Whether the calibrated scenario is written although diagnostics failed
        (set by :meth:`write` with ``allow_failed``); every report made from it says so."""
        return self._forced

    _forced: bool = field(default=False, init=False, repr=False)

    # -- calibrated scenario -----------------------------------------------------------
    def scenario_document(self) -> dict[str, Any]:
        """The calibrated scenario as plain data (what :meth:`to_yaml` writes).

        The original scenario with ledger claims inlined (so the file stands alone),
        named ``<name>-calibrated``; each calibrated parameter is replaced by a normal
        distribution truncated to its prior's support, fitted to the posterior, keeping
        its ``evidence`` and ``assumption`` and with a ``note`` naming the data used.
        """
        doc: dict[str, Any] = self.scenario.model_dump(
            mode="json", by_alias=True, exclude_unset=True, exclude_none=True
        )
        doc["ledger_files"] = []
        doc["claims"] = [c.model_dump(mode="json", exclude_none=True) for c in self.scenario.claims]
        doc["name"] = self.name
        doc["title"] = (self.scenario.title or self.scenario.name) + " (calibrated)"
        data_name = Path(self.observed.path).name
        doc["description"] = (
            (self.scenario.description + " " if self.scenario.description else "")
            + f"Calibrated to {data_name} ({len(self.observed.rows)} observations of "
            f"{', '.join(self.observed.groups)}) by ABC-SMC (pyabc); calibrated "
            f"parameters: {', '.join(self.parameters)}."
        ).strip()
        failures = self.diagnostic_failures()
        if self._forced and failures:
            # Title and description are in every report made from the scenario.
            doc["title"] = (
                self.scenario.title or self.scenario.name
            ) + " (calibrated, DIAGNOSTICS FAILED: written with --force)"
            doc["description"] = (
                "UNRELIABLE CALIBRATION, written with --force although its diagnostics "
                "failed: " + "; ".join(failures) + ". " + doc["description"]
            )
        refs = {ref.name: ref for ref in resolve_parameters(self.scenario, self.parameters)}
        for name in self.parameters:
            ref = refs[name]
            node = _node(doc, ref.path)
            node.clear()
            node.update(self._param_document(ref, data_name))
        return doc

    def _param_document(self, ref: ParamRef, data_name: str) -> dict[str, Any]:
        param = ref.param
        fits = self.fitted[ref.name]
        row = self.summary[self.summary["parameter"] == ref.name].iloc[0]
        note = (
            f"Calibrated to {data_name} ({', '.join(self.observed.groups)}; sources: "
            f"{'; '.join(self.observed.sources)}) by ABC-SMC, final temperature "
            f"{self.final_temperature:.3g}; posterior fitted as a normal truncated to the "
            f"prior support; prior was {param.describe()}; posterior mean "
            f"{row['post_mean']:.4g}, 5-95% [{row['post_q05']:.4g}, {row['post_q95']:.4g}]."
        )
        if param.note:
            note = param.note.strip() + " " + note
        out: dict[str, Any] = {}
        if param.series is None:
            out.update(_dist_document(param.distribution, fits[0]))
        else:
            steps = []
            for step, fit in zip(param.series, fits, strict=True):
                entry: dict[str, Any] = {"from": step.from_date.isoformat()}
                entry.update(_dist_document(step.distribution, fit))
                steps.append(entry)
            out["series"] = steps
        if param.evidence:
            out["evidence"] = list(param.evidence)
        if param.assumption is not None:
            out["assumption"] = param.assumption
        out["note"] = note
        return out

    def particle_values(self) -> pd.DataFrame:
        """The posterior sample in parameter units: ``weight``, then one column per
        calibrated parameter (per step for a dated series: ``name@from``) and per
        factor. Rows are particles, so the columns keep their joint distribution."""
        refs = resolve_parameters(self.scenario, self.parameters)
        columns: dict[str, FloatArray] = {"weight": self.weights}
        for j, ref in enumerate(refs):
            u = np.clip(self.particles.iloc[:, j].to_numpy(dtype=np.float64), 1e-9, 1 - 1e-9)
            for dist, step in zip(ref.param.distributions, _steps(ref), strict=True):
                key = ref.name if step is None else f"{ref.name}@{step.isoformat()}"
                columns[key] = np.asarray(dist.ppf(u), dtype=np.float64)
        for group in self.factors:
            model = self.observed.models[group]
            u = self.particles[f"factor:{group}"].to_numpy(dtype=np.float64)
            columns[f"factor:{group}"] = model.low + (model.high - model.low) * u
        return pd.DataFrame(columns)

    def to_yaml(self) -> str:
        """The calibrated scenario as YAML text, with a header comment."""
        header = (
            f"# {self.name}: generated by `forcegen calibrate` from scenario "
            f"{self.scenario.name}\n# and observations {self.observed.path}.\n"
            "# Calibrated parameters carry posterior distributions (see their notes);\n"
            "# everything else is the original scenario, ledger claims inlined.\n"
        )
        body = yaml.safe_dump(
            self.scenario_document(), sort_keys=False, allow_unicode=True, width=100
        )
        return header + body

    def write_scenario(self, path: str | Path, *, force: bool = False) -> Path:
        """Write :meth:`to_yaml` to ``path``, whole or not at all; returns it.

        An existing file is replaced only when it is a calibrated scenario forcegen
        wrote (its header comment) or ``force`` is true; else :class:`OutputError`.
        """
        target = Path(path)
        text = self.to_yaml()
        with atomic_file(target, force=force, recognise=_is_calibrated_yaml) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return target

    def calibrated_scenario(self) -> Scenario:
        """The calibrated scenario, validated like any loaded file."""
        from forcegen.scenario.load import load_scenario_text

        return load_scenario_text(self.to_yaml(), f"<{self.name}>")

    # -- figures -----------------------------------------------------------------------
    def posterior_figure(self, path: str | Path | None = None, *, force: bool = False) -> Figure:
        """Prior and posterior density of each calibrated parameter and factor, with the
        fitted distribution written to the scenario (dashed). Saved to ``path`` (PNG,
        SVG or PDF by suffix; an existing file only if forcegen's, or ``force``)."""
        return _posterior_figure(self, path, force)

    def fit_figure(self, path: str | Path | None = None, *, force: bool = False) -> Figure:
        """Each observed series: posterior predictive median and 50 %/90 % bands of the
        observable (factor applied) by day, and the observations with their intervals.
        Saved to ``path`` as :meth:`posterior_figure` is."""
        return _fit_figure(self, path, force)

    def write(
        self, out: str | Path, *, force: bool = False, allow_failed: bool = False
    ) -> dict[str, Path]:
        """Write the calibrated scenario, the summaries and both figures into folder
        ``out`` (created if needed): ``<name>.yaml``, ``<name>-posterior.csv``,
        ``<name>-fit.csv``, ``<name>-posterior.png``, ``<name>-fit.png``, and the
        posterior sample itself, ``<name>-particles.csv`` (one row per particle: its
        weight and every calibrated parameter's and factor's value, jointly).

        When the diagnostics fail (:meth:`diagnostic_failures`) nothing is written
        and :class:`UsageError` says why and what to try, unless ``allow_failed``:
        then the scenario's title and description say that it is unreliable.

        Other files in ``out`` are left alone. An existing file of one of those names
        is replaced only when forcegen wrote it (or ``force``): otherwise
        :class:`OutputError` before anything is written. The six files are replaced
        together at the end: a failure (full disk, Ctrl-C) while writing them leaves
        every earlier file as it was.
        """
        failures = self.diagnostic_failures()
        if failures and not allow_failed:
            raise UsageError(
                "refusing to write a calibrated scenario from a posterior that failed its "
                "diagnostics: " + "; ".join(failures) + " (or pass --force to write it "
                "anyway, marked as unreliable)"
            )
        self._forced = bool(failures)
        files = output_files(out, self.name)
        check_outputs(out, self.scenario.name, force=force)
        text = self.to_yaml()
        figures = {"posterior_figure": self.posterior_figure(), "fit_figure": self.fit_figure()}
        with ExitStack() as stack:
            tmp = {
                what: stack.enter_context(atomic_file(path, force=force, recognise=recognise))
                for what, (path, recognise) in files.items()
            }
            tmp["scenario"].write_text(text, encoding="utf-8")
            # Observation sources and labels are the user's text: a spreadsheet must
            # not evaluate one as a formula.
            csv_safe(self.summary).to_csv(tmp["summary"], index=False)
            csv_safe(self.fit).to_csv(tmp["fit"], index=False)
            # The marker line says how the other parameters were treated, so that runs
            # drawing from the sample treat them alike (analysis/posterior_runs.py).
            with tmp["particles"].open("w", encoding="utf-8", newline="") as handle:
                handle.write(f"{POSTERIOR_MARKER}; others={self.others}; mode={self.mode}\n")
                self.particle_values().to_csv(handle, index=False, lineterminator="\n")
            for what, fig in figures.items():
                fig.savefig(tmp[what], format="png", dpi=110, metadata=figure_metadata("png"))
        return {what: path for what, (path, _) in files.items()}


SUMMARY_COLUMNS: tuple[str, ...] = (
    "parameter",
    "step",
    "unit",
    "prior",
    "prior_mean",
    "prior_q05",
    "prior_q95",
    "post_mean",
    "post_median",
    "post_q05",
    "post_q95",
    "shrinkage",
    "fitted",
    "fit_ks",
    "evidence",
)
"""Columns of :attr:`CalibrationResult.summary` (and of ``<name>-posterior.csv``)."""

FIT_COLUMNS: tuple[str, ...] = (
    "line",
    "date",
    "group",
    "model",
    "observed",
    "low",
    "high",
    "pred_median",
    "pred_q05",
    "pred_q95",
    "inside",
    "source",
)
"""Columns of :attr:`CalibrationResult.fit` (and of ``<name>-fit.csv``)."""

_is_calibrated_yaml = has_marker(b"generated by `forcegen calibrate`")


POSTERIOR_MARKER = MARKER
"""First line of ``<name>-particles.csv`` (see ``forcegen.analysis.posterior_runs``)."""
_is_particles_csv = has_marker(POSTERIOR_MARKER.encode())


MIN_ESS_SHARE = 0.3
"""A calibrated scenario is refused below this effective sample size (share of the
population), as at a final temperature other than 1."""


def calibrated_name(scenario_name: str) -> str:
    """Name of the calibrated scenario of ``scenario_name``: ``<scenario>-calibrated``
    (the scenario's name shortened so the result is a valid name)."""
    return f"{scenario_name[:53]}-calibrated"


def output_files(out: str | Path, name: str) -> dict[str, tuple[Path, Recognise]]:
    """The files :meth:`CalibrationResult.write` writes into folder ``out`` for the
    calibrated scenario ``name``, each with how an earlier one of forcegen's is
    recognised: the scenario's header comment, the CSV tables' header line (they
    carry no other mark), the figures' metadata."""
    folder = Path(out)
    return {
        "scenario": (folder / f"{name}.yaml", _is_calibrated_yaml),
        "summary": (folder / f"{name}-posterior.csv", csv_header_is(",".join(SUMMARY_COLUMNS))),
        "fit": (folder / f"{name}-fit.csv", csv_header_is(",".join(FIT_COLUMNS))),
        "particles": (folder / f"{name}-particles.csv", _is_particles_csv),
        "posterior_figure": (folder / f"{name}-posterior.png", looks_like_forcegen_figure),
        "fit_figure": (folder / f"{name}-fit.png", looks_like_forcegen_figure),
    }


def check_outputs(out: str | Path, scenario_name: str, *, force: bool = False) -> None:
    """Refuse (:class:`OutputError`) before calibrating when :meth:`CalibrationResult.write`
    could not write into ``out``: a file there of one of its names that forcegen did
    not write (unless ``force``), a folder of such a name, or ``out`` being a file."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    for path, recognise in output_files(folder, calibrated_name(scenario_name)).values():
        check_file_target(path, force=force, recognise=recognise)


def _node(doc: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if not isinstance(node[last], dict):
        node[last] = {}
    child: dict[str, Any] = node[last]
    return child


def _dist_document(
    prior: Distribution, fit: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    if fit is None:
        # Only point-valued steps of a dated series are left without a fit.
        assert prior.name == "fixed", prior.describe()
        return {"value": prior.a}
    mean, sd, low, high = fit
    out: dict[str, Any] = {"dist": "normal", "mean": _sig(mean), "sd": _sig(sd)}
    if math.isfinite(low):
        out["low"] = low
    if math.isfinite(high):
        out["high"] = high
    return out


# ------------------------------------------------------------------ synthetic data
@dataclass(frozen=True)
class SyntheticSeries:
    """An observed series to synthesise (see :func:`synthetic_observations`).

    Attributes:
        series, channel, cause: What is observed, as in the CSV columns.
        dates: Observation dates.
        model: The CSV ``model`` cell (``""``, ``exact``, ``count:A..B``, ``claim:A..B``).
        factor: True fraction/factor applied to the simulated value (1 for exact).
        log_sd: Log-scale error sd; the written interval is ``value·exp(±1.96·log_sd)``.
    """

    series: str
    channel: str | None
    cause: str | None
    dates: Sequence[dt.date]
    model: str = ""
    factor: float = 1.0
    log_sd: float = 0.1


def synthetic_observations(
    scenario: Scenario,
    series: Sequence[SyntheticSeries],
    *,
    values: Mapping[str, float] | None = None,
    quantiles: Mapping[str, float] | None = None,
    seed: int = 0,
    mode: Mode = "stochastic",
    source: str = "SYNTHETIC (generated by forcegen, not real data)",
) -> pd.DataFrame:
    """Observations generated from known parameter values, for validation.

    One replicate is simulated with the given parameter ``values`` (or ``quantiles``);
    every other parameter is at its expected value. Each observation is the simulated
    value (stock, or cumulative flow from the start date) times the series' ``factor``,
    times ``exp(e)`` with ``e ~ Normal(0, log_sd²)`` — exactly the error model that
    :func:`calibrate` assumes. Returns the rows as a DataFrame with the CSV columns
    (write with :func:`write_observed`).
    """
    given = {k: np.array([v], dtype=np.float64) for k, v in (values or {}).items()}
    given_u = {k: np.array([v], dtype=np.float64) for k, v in (quantiles or {}).items()}
    sim = Sim(
        scenario,
        runs=1,
        seed=seed,
        mode=mode,
        sample_parameters=False,
        given=given or None,
        given_quantiles=given_u or None,
    )
    result = sim.run()
    rng = np.random.default_rng([seed, 5])
    rows = []
    for spec in series:
        total = result.total(spec.series, channels=spec.channel, categories=spec.cause)[0]
        daily = np.cumsum(total) if spec.series not in _STOCKS else total
        for i, date in enumerate(spec.dates):
            true = float(daily[(date - scenario.start_date).days]) * spec.factor
            value = true * math.exp(spec.log_sd * float(rng.standard_normal()))
            rows.append(
                {
                    "date": date.isoformat(),
                    "series": spec.series,
                    "channel": spec.channel or "",
                    "cause": spec.cause or "",
                    "value": _sig(value),
                    "low": _sig(value * math.exp(-_Z975 * spec.log_sd)),
                    "high": _sig(value * math.exp(_Z975 * spec.log_sd)),
                    "source": source,
                    "model": spec.model if i == 0 else "",
                }
            )
    return pd.DataFrame(rows, columns=list(OBSERVED_COLUMNS))


def write_observed(
    frame: pd.DataFrame, path: str | Path, comment: str = "", *, force: bool = False
) -> Path:
    """Write observations (CSV columns) to ``path``, with ``comment`` lines first
    (each prefixed ``# ``), whole or not at all.

    An existing file is replaced only with ``force=True``: observations forcegen
    synthesised have the very columns of real ones, so nothing in the file tells
    whether it is a user's data (which must not be lost) or an earlier output.
    """
    target = Path(path)
    if not force and target.exists() and not target.is_dir():
        raise OutputError(
            f"refusing to replace {target}: an observed-data file written by forcegen "
            "cannot be told from one with real observations; choose another name, "
            "remove it yourself, or pass force=True"
        )
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    body = csv_safe(frame).to_csv(index=False, lineterminator="\n")
    # force: the refusal is decided above; atomic_file still refuses a folder.
    with atomic_file(target, force=True) as tmp:
        tmp.write_text("\n".join([*lines, body]) if lines else body, encoding="utf-8")
    return target


# ------------------------------------------------------------------------- screening
def screen_parameters(
    scenario: Scenario,
    observed: ObservedData,
    *,
    k: int = 4,
    trajectories: int = 8,
    seed: int = 0,
    mode: Mode = "mean-field",
    default_log_sd: float = 0.1,
    client: Any = None,
) -> tuple[list[str], pd.DataFrame]:
    """Choose the parameters the observations can inform, by Morris screening.

    Every uncertain parameter is screened (the others held at their expected values):
    for each observation ``i``, mu*_{j,i} is the mean absolute elementary effect of
    parameter ``j`` on ``log(simulated value)``; the parameter's *influence* is
    ``sum_i mu*_{j,i} / s_i`` — how far it moves the observations in units of their
    stated error. The observed values themselves are not used, so the choice does not
    peek at the data. Returns the ``k`` most influential names and the table.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    refs = resolve_parameters(scenario, None)
    names = [r.name for r in refs]
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = np.asarray(morris_sample.sample(problem, trajectories, num_levels=MORRIS_LEVELS, seed=seed))
    u = (x * (MORRIS_LEVELS - 1) + 0.5) / MORRIS_LEVELS
    obs = _Observables.of(observed, scenario)
    y = simulate_design(
        through_day(scenario, observed.last_day(scenario)),
        x.shape[0],
        {name: u[:, j] for j, name in enumerate(names)},
        obs.values,
        seed=seed,
        mode=mode,
        client=client,
    )
    logy = np.log(np.maximum(y, _LOG_FLOOR))
    sd = np.array([r.log_sd(default_log_sd) for r in observed.rows])
    influence = np.zeros(len(names))
    for i in range(obs.n):
        if np.ptp(logy[:, i]) == 0:
            continue
        si = morris_analyze.analyze(
            problem, x, logy[:, i], num_levels=MORRIS_LEVELS, seed=seed, num_resamples=10
        )
        influence += np.asarray(si["mu_star"], dtype=np.float64) / sd[i]
    table = pd.DataFrame({"parameter": names, "influence": influence})
    table = table.sort_values("influence", ascending=False, kind="stable").reset_index(drop=True)
    chosen = [str(n) for n in table["parameter"].head(k)]
    chosen = [n for n, v in zip(chosen, table["influence"].head(k), strict=True) if v > 0]
    if not chosen:
        raise UsageError("no uncertain parameter moves the observed series; nothing to calibrate")
    return chosen, table


# ------------------------------------------------------------------------- calibrate
def calibrate(
    scenario: Scenario | str | Path,
    observed: ObservedData | str | Path,
    *,
    params: Sequence[str] | None = None,
    budget: int = 8192,
    population_size: int = 128,
    generations: int = 10,
    seed: int = 0,
    mode: Mode = "mean-field",
    others: Others = "expected",
    default_log_sd: float = 0.1,
    max_params: int = 4,
    predictive_runs: int = 256,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Calibrate parameters of ``scenario`` to observations with ABC-SMC (pyabc).

    Args:
        scenario: A scenario, YAML path or built-in name.
        observed: Observations, or the path of an observed-data CSV.
        params: Names of the parameters to calibrate. None: the ``max_params`` most
            influential on the observations, found by :func:`screen_parameters`.
        budget: Maximum number of model simulations (one replicate each).
        population_size: ABC particles per generation.
        generations: Maximum ABC-SMC generations. The temperature falls as fast as
            the acceptance rate allows (pyabc's acceptance-rate scheme) and is forced to
            1 (exact posterior) at the last; more generations mean gentler steps.
        seed: Seed of everything random (pyabc's draws and the simulations).
        mode: ``mean-field`` (default, fast; the simulated value is the expected one) or
            ``stochastic`` (each simulation one chance realisation).
        others: Uncertain parameters not calibrated are held at their expected values
            (``expected``, default: the posterior is conditional on them, and narrower
            than the marginal one) or drawn from their priors in each simulation
            (``prior``: the posterior is marginal over them; with many such parameters
            the likelihood of one simulation is so noisy that this needs a budget many
            times larger — see docs/calibration.md).
        default_log_sd: Log-scale error sd for observations without an interval.
        max_params: Parameters chosen when ``params`` is None.
        predictive_runs: Posterior predictive replicates for the fit diagnostics.
        workers, scheduler: Dask execution: local worker processes, or the address of a
            scheduler; one cluster serves every simulation of the calibration.
        progress: Called with ``(simulations_done, budget)`` after each batch.

    Raises:
        UsageError: Bad arguments. ScenarioError: invalid observed-data file.
    """
    start = time.perf_counter()
    scen = scenario if isinstance(scenario, Scenario) else load(scenario)
    data = observed if isinstance(observed, ObservedData) else load_observed(observed)
    data.check(scen)
    if mode not in ("stochastic", "mean-field"):
        raise UsageError(f"mode must be 'stochastic' or 'mean-field', got {mode!r}")
    if others not in ("prior", "expected"):
        raise UsageError(f"others must be 'prior' or 'expected', got {others!r}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    if population_size < 20:
        raise UsageError(f"population_size must be at least 20, got {population_size}")
    if budget < 3 * population_size:
        raise UsageError(
            f"budget ({budget}) must be at least 3 × population_size ({3 * population_size}): "
            "a prior sample and two generations"
        )
    if not default_log_sd > 0:
        raise UsageError(f"default_log_sd must be > 0, got {default_log_sd}")
    if generations < 2:
        raise UsageError(f"generations must be at least 2, got {generations}")
    with dask_client(workers, scheduler) as client:
        return _calibrate(
            scen,
            data,
            params=params,
            budget=budget,
            population_size=population_size,
            generations=generations,
            seed=seed,
            mode=mode,
            others=others,
            default_log_sd=default_log_sd,
            max_params=max_params,
            predictive_runs=predictive_runs,
            progress=progress,
            client=client,
            start=start,
        )


def _calibrate(
    scen: Scenario,
    data: ObservedData,
    *,
    params: Sequence[str] | None,
    budget: int,
    population_size: int,
    generations: int,
    seed: int,
    mode: Mode,
    others: Others,
    default_log_sd: float,
    max_params: int,
    predictive_runs: int,
    progress: Progress | None,
    client: Any,
    start: float,
) -> CalibrationResult:
    """The body of :func:`calibrate`, arguments checked, within one Dask client."""
    import pyabc

    notes: list[str] = []
    screening = None
    if params is None:
        params, screening = screen_parameters(
            scen,
            data,
            k=max_params,
            seed=seed,
            default_log_sd=default_log_sd,
            client=client,
        )
        notes.append(
            f"parameters chosen by Morris screening of the observations: {', '.join(params)}"
        )
    refs = resolve_parameters(scen, params)
    names = [r.name for r in refs]
    factor_groups = [g for g in data.groups if data.models[g].uncertain]
    keys = [f"p{i}" for i in range(len(names))] + [f"f{i}" for i in range(len(factor_groups))]
    obs = _Observables.of(data, scen)
    # Observations cannot depend on later days: simulate up to the last one only.
    short = through_day(scen, data.last_day(scen))
    fixed_factor = np.array([data.models[r.group].low for r in data.rows])
    factor_col = np.array(
        [factor_groups.index(r.group) if r.group in factor_groups else -1 for r in data.rows]
    )
    lo = np.array([data.models[g].low for g in factor_groups])
    hi = np.array([data.models[g].high for g in factor_groups])
    sd = np.array([r.log_sd(default_log_sd) for r in data.rows])
    y0 = np.log(np.array([r.value for r in data.rows]))
    if others == "expected":
        notes.append(
            "the other uncertain parameters were held at their expected values: the "
            "posterior is conditional on them, narrower than with others='prior'"
        )
    missing_interval = sum(r.low is None for r in data.rows)
    if missing_interval:
        notes.append(
            f"{missing_interval} observation(s) give no interval; their log-scale error sd "
            f"is the default {default_log_sd:g} (about ±{2 * default_log_sd:.0%})"
        )

    def factors_of(theta: FloatArray) -> FloatArray:
        f = np.broadcast_to(fixed_factor, (theta.shape[0], obs.n)).copy()
        if factor_groups:
            fu = theta[:, len(names) :]
            values = lo + (hi - lo) * fu
            mask = factor_col >= 0
            f[:, mask] = values[:, factor_col[mask]]
        return f

    def simulate(theta: FloatArray, batch: int) -> FloatArray:
        true = simulate_design(
            short,
            theta.shape[0],
            {name: theta[:, j] for j, name in enumerate(names)},
            obs.values,
            seed=int(np.random.SeedSequence([seed, 2, batch]).generate_state(1, np.uint32)[0]),
            mode=mode,
            sample_parameters=others == "prior",
            client=client,
        )
        return np.log(np.maximum(true * factors_of(theta), _LOG_FLOOR))

    state = _Batches(
        keys=keys,
        simulate=simulate,
        seed=seed,
        budget=budget,
        round_to=BLOCK_SIZE if mode == "stochastic" else 1,
        progress=progress,
    )
    kernel = pyabc.IndependentNormalKernel(var=sd**2, keys=["y"])
    with (
        _quiet_pyabc(),
        _global_numpy_seed(seed),
        tempfile.TemporaryDirectory(prefix="forcegen-abc-") as tmp,
    ):
        abc = pyabc.ABCSMC(
            _make_model(state),
            _make_prior(keys),
            kernel,
            population_size=population_size,
            sampler=_make_sampler(state),
            transitions=_make_transition(),
            model_prior=_make_model_prior(),
            eps=pyabc.Temperature(),
            acceptor=pyabc.StochasticAcceptor(),
        )
        abc.new("sqlite:///" + str(Path(tmp) / "abc.db"), {"y": y0})
        history = abc.run(max_nr_populations=generations, max_total_nr_simulations=budget)
        if history.max_t < 0:
            raise UsageError(
                f"no ABC generation completed within the budget of {budget} simulations; "
                "raise budget or lower population_size"
            )
        frame, w = history.get_distribution(m=0, t=history.max_t)
        pops = history.get_all_populations()
        temperatures = [float(e) for t, e in zip(pops["t"], pops["epsilon"], strict=True) if t >= 0]
        evaluations = int(history.total_nr_simulations)
        engine = getattr(history, "_engine", None)
        if engine is not None:
            engine.dispose()
        del abc, history

    theta = frame[keys].to_numpy(dtype=np.float64)
    weights = np.asarray(w, dtype=np.float64)
    weights = weights / weights.sum()
    ess = float(1.0 / np.sum(weights**2))
    particles = pd.DataFrame(theta, columns=names + [f"factor:{g}" for g in factor_groups])

    summary, fitted = _summarise(scen, refs, theta, weights, factor_groups, lo, hi)
    rng = np.random.default_rng([seed, 3])
    draw = rng.choice(len(weights), size=predictive_runs, p=weights)
    fit, bands = _predictive(
        scen,
        data,
        obs,
        names,
        theta[draw],
        factors_of(theta[draw]),
        sd,
        rng,
        mode,
        others,
        seed,
        client,
    )

    final_t = temperatures[-1] if temperatures else math.inf
    if final_t > 1.0 + 1e-9:
        notes.append(
            f"the final temperature is {final_t:.3g}, not 1: the budget ran out first, so the "
            "posterior is tempered (wider than the exact one) — raise budget"
        )
    if ess < 0.2 * population_size:
        notes.append(f"effective sample size is low ({ess:.0f} of {population_size} particles)")
    if len(names) > 1:
        corr = np.asarray(np.cov(theta[:, : len(names)].T, aweights=weights), np.float64)
        scale = np.sqrt(np.diag(corr))
        corr = corr / np.outer(scale, scale)
        pairs = [
            (names[i], names[j], corr[i, j])
            for i in range(len(names))
            for j in range(i + 1, len(names))
            if abs(corr[i, j]) > 0.5
        ]
        for a, b, r in pairs:
            notes.append(
                f"{a} and {b} are correlated in the posterior (r = {r:+.2f}); the calibrated "
                "scenario samples them independently, which loses this"
            )
    outside = int((~fit["inside"]).sum())
    if outside:
        notes.append(
            f"{outside} of {len(fit)} observations fall outside their 90% posterior "
            "predictive interval: check the data, the observation model or the scenario"
        )
    return CalibrationResult(
        scenario=scen,
        observed=data,
        parameters=names,
        factors=factor_groups,
        particles=particles,
        weights=weights,
        summary=summary,
        fit=fit,
        bands=bands,
        temperatures=temperatures,
        simulations=state.simulations,
        evaluations=evaluations,
        ess=ess,
        seed=seed,
        mode=mode,
        others=others,
        default_log_sd=default_log_sd,
        fitted=fitted,
        screening=screening,
        notes=notes,
        elapsed_seconds=time.perf_counter() - start,
    )


def _summarise(
    scenario: Scenario,
    refs: list[ParamRef],
    theta: FloatArray,
    weights: FloatArray,
    factor_groups: list[str],
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[pd.DataFrame, dict[str, list[tuple[float, float, float, float] | None]]]:
    bases = parameter_bases(scenario, [r.name for r in refs])
    rows: list[dict[str, Any]] = []
    fitted: dict[str, list[tuple[float, float, float, float] | None]] = {}
    for j, ref in enumerate(refs):
        dists = ref.param.distributions
        steps = _steps(ref)
        fits: list[tuple[float, float, float, float] | None] = []
        for dist, step in zip(dists, steps, strict=True):
            if not dist.is_uncertain:
                fits.append(None)
                continue
            post = dist.ppf(np.clip(theta[:, j], 1e-9, 1 - 1e-9))
            low, high = dist.support
            mean, sd, ks = fit_truncated_normal(post, weights, low, high)
            fits.append((mean, sd, low, high))
            fitted_desc = Distribution("normal", a=mean, b=sd, low=low, high=high).describe()
            pq = _weighted_quantile(post, weights, [0.05, 0.5, 0.95])
            rows.append(
                {
                    "parameter": ref.name,
                    "step": "" if step is None else step.isoformat(),
                    "unit": ref.unit,
                    "prior": dist.describe(),
                    "prior_mean": dist.mean,
                    "prior_q05": float(dist.ppf(np.array(0.05))),
                    "prior_q95": float(dist.ppf(np.array(0.95))),
                    "post_mean": float(np.sum(weights * post)),
                    "post_median": float(pq[1]),
                    "post_q05": float(pq[0]),
                    "post_q95": float(pq[2]),
                    "fitted": fitted_desc,
                    "fit_ks": ks,
                    "evidence": bases[ref.name].describe(),
                }
            )
        fitted[ref.name] = fits
    for g, group in enumerate(factor_groups):
        values = lo[g] + (hi[g] - lo[g]) * theta[:, len(refs) + g]
        pq = _weighted_quantile(values, weights, [0.05, 0.5, 0.95])
        rows.append(
            {
                "parameter": f"factor:{group}",
                "step": "",
                "unit": "multiplier",
                "prior": f"uniform({lo[g]:g}, {hi[g]:g})",
                "prior_mean": 0.5 * (lo[g] + hi[g]),
                "prior_q05": lo[g] + 0.05 * (hi[g] - lo[g]),
                "prior_q95": lo[g] + 0.95 * (hi[g] - lo[g]),
                "post_mean": float(np.sum(weights * values)),
                "post_median": float(pq[1]),
                "post_q05": float(pq[0]),
                "post_q95": float(pq[2]),
                "fitted": "",
                "fit_ks": float("nan"),
                "evidence": "observation model (not written to the scenario)",
            }
        )
    table = pd.DataFrame(rows)
    # How much the data narrowed the 5–95 % interval: 0 = not at all, 1 = to a point.
    prior_width = (table["prior_q95"] - table["prior_q05"]).where(lambda s: s > 0)
    shrinkage = 1.0 - (table["post_q95"] - table["post_q05"]) / prior_width
    table.insert(list(table.columns).index("fitted"), "shrinkage", shrinkage)
    return table, fitted


def _predictive(
    scenario: Scenario,
    data: ObservedData,
    obs: _Observables,
    names: list[str],
    theta: FloatArray,
    factors: FloatArray,
    sd: FloatArray,
    rng: np.random.Generator,
    mode: Mode,
    others: Others,
    seed: int,
    client: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posterior predictive check: observables for posterior draws, by day and at the
    observations (with simulated observation error)."""
    runs = theta.shape[0]
    days = scenario.horizon_days
    n_groups = len(obs.groups)
    group_factor = np.ones((runs, n_groups))
    for i, row in enumerate(data.rows):
        group_factor[:, data.groups.index(row.group)] = factors[:, i]

    series = simulate_design(
        scenario,
        runs,
        {name: theta[:, j] for j, name in enumerate(names)},
        obs.stacked,
        seed=int(np.random.SeedSequence([seed, 4]).generate_state(1, np.uint32)[0]),
        mode=mode,
        sample_parameters=others == "prior",
        client=client,
    )
    series = series * group_factor[:, :, None]
    dates = pd.date_range(scenario.start_date, periods=days)
    qs = np.quantile(series, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)  # (5, groups, days)
    frames = [
        pd.DataFrame(
            {
                "group": label,
                "date": dates,
                "q05": qs[0, g],
                "q25": qs[1, g],
                "q50": qs[2, g],
                "q75": qs[3, g],
                "q95": qs[4, g],
            }
        )
        for g, (label, *_rest) in enumerate(obs.groups)
    ]
    bands = pd.concat(frames, ignore_index=True)
    rows = []
    for i, row in enumerate(data.rows):
        g = data.groups.index(row.group)
        day = (row.date - scenario.start_date).days
        noisy = np.maximum(series[:, g, day], _LOG_FLOOR) * np.exp(
            sd[i] * rng.standard_normal(runs)
        )
        q05, q50, q95 = np.quantile(noisy, [0.05, 0.5, 0.95])
        rows.append(
            {
                "line": row.line,
                "date": row.date.isoformat(),
                "group": row.group,
                "model": data.models[row.group].kind,
                "observed": row.value,
                "low": row.low,
                "high": row.high,
                "pred_median": float(q50),
                "pred_q05": float(q05),
                "pred_q95": float(q95),
                "inside": bool(q05 <= row.value <= q95),
                "source": row.source,
            }
        )
    return pd.DataFrame(rows), bands


# --------------------------------------------------------------------------- figures
def _posterior_figure(
    result: CalibrationResult, path: str | Path | None, force: bool = False
) -> Figure:
    from matplotlib.figure import Figure

    refs = resolve_parameters(result.scenario, result.parameters)
    panels: list[tuple[str, FloatArray, FloatArray, tuple[float, float, float, float] | None]] = []
    grid = (np.arange(4000) + 0.5) / 4000
    for j, ref in enumerate(refs):
        for dist, step, fit in zip(
            ref.param.distributions,
            _steps(ref),
            result.fitted[ref.name],
            strict=True,
        ):
            if fit is None:
                continue
            u = result.particles.iloc[:, j].to_numpy()
            title = ref.name
            if step is not None:
                # The steps of a dated series share one quantile: show the first.
                title += f" (step from {step}; all steps move together)"
            panels.append((title, dist.ppf(grid), dist.ppf(np.clip(u, 1e-9, 1 - 1e-9)), fit))
            break
    for group in result.factors:
        model = result.observed.models[group]
        u = result.particles[f"factor:{group}"].to_numpy()
        prior = model.low + (model.high - model.low) * grid
        panels.append(
            (
                f"{model.kind} factor of {group}",
                prior,
                model.low + (model.high - model.low) * u,
                None,
            )
        )
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, prior, post, fit) in zip(axes.flat, panels, strict=False):
        lo_x, hi_x = np.quantile(np.concatenate([prior, post]), [0.001, 0.999])
        bins = np.linspace(lo_x, hi_x, 41)
        ax.hist(prior, bins=bins, density=True, color="#bbbbbb", label="prior")
        ax.hist(
            post,
            bins=bins,
            weights=result.weights,
            density=True,
            color="#2166ac",
            alpha=0.65,
            label="posterior",
        )
        if fit is not None:
            mean, sd, low, high = fit
            xs = np.linspace(lo_x, hi_x, 300)
            pdf = stats.truncnorm.pdf(xs, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
            ax.plot(xs, pdf, "--", color="#b2182b", linewidth=1.2, label="written to scenario")
        ax.set_title(title, fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(
        f"{result.scenario.name}: prior vs posterior (ABC-SMC, final temperature "
        f"{result.final_temperature:.3g}, ESS {result.ess:.0f})",
        fontsize=10,
    )
    # Parameter and scenario names are the user's text: a "$" is a dollar.
    literal_figure_text(fig)
    if path is not None:
        write_figure(fig, path, dpi=110, force=force)
    return fig


def _fit_figure(result: CalibrationResult, path: str | Path | None, force: bool = False) -> Figure:
    from matplotlib.figure import Figure

    groups = result.observed.groups
    cols = min(2, len(groups))
    rows = -(-len(groups) // cols)
    fig = Figure(figsize=(6.0 * cols, 3.2 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=False):
        band = result.bands[result.bands["group"] == group]
        x = band["date"].to_numpy()
        ax.fill_between(x, band["q05"], band["q95"], color="#9ecae1", label="90% predictive")
        ax.fill_between(x, band["q25"], band["q75"], color="#4292c6", label="50% predictive")
        ax.plot(x, band["q50"], color="#08306b", linewidth=1.0, label="median")
        pts = result.fit[result.fit["group"] == group]
        dates = pd.to_datetime(pts["date"]).to_numpy()
        err = None
        if pts["low"].notna().any():
            low = pts["low"].fillna(pts["observed"]).to_numpy()
            high = pts["high"].fillna(pts["observed"]).to_numpy()
            err = np.vstack([pts["observed"].to_numpy() - low, high - pts["observed"].to_numpy()])
        ax.errorbar(
            dates,
            pts["observed"],
            yerr=err,
            fmt="o",
            color="#b2182b",
            markersize=3.5,
            capsize=2,
            linewidth=0.8,
            label="observed",
        )
        model = result.observed.models[group]
        ax.set_title(f"{group} — {model.describe()}", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"{result.scenario.name}: posterior predictive fit to {Path(result.observed.path).name}",
        fontsize=10,
    )
    literal_figure_text(fig)  # group names hold user ids; the file name is the user's
    if path is not None:
        write_figure(fig, path, dpi=110, force=force)
    return fig
