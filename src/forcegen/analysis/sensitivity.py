"""Global sensitivity analysis: which uncertain input moves an answer most (SALib).

Method (see ``docs/sensitivity.md``):

* every uncertain parameter enters as its **quantile** ``u`` in (0, 1): the engine maps
  ``u`` to a value through the parameter's inverse CDF (``Sim(given_quantiles=...)``),
  so the sampling design is uniform on the unit cube and the analysis respects each
  parameter's distribution — a Sobol index is a share of the output variance *under
  the scenario's own uncertainty*, not under an arbitrary box;
* the whole design is simulated as replicates of a few :class:`~forcegen.sim.Sim`
  runs (one replicate per design point), never one simulation per point;
* parameters that are not analysed keep their expected value (sampling is off for
  them), so indices are conditional on those means;
* the default ``mode="mean-field"`` removes chance: the output is then a
  deterministic function of the inputs, which is what Sobol and Morris decompose. In
  ``mode="stochastic"`` the chance noise of each run adds variance that no parameter
  explains; it is estimated and reported as :attr:`SensitivityResult.noise_share`.

Outputs are named ``QUANTITY[SELECTOR]@DATE`` (:func:`parse_output`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.distributed import run_reduced
from forcegen.engine.sampling import uncertain_parameters
from forcegen.engine.simulate import Mode
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import OutputError, UsageError
from forcegen.results.outputs import (
    Recognise,
    atomic_file,
    check_file_target,
    csv_header,
    csv_header_is,
    figure_metadata,
    looks_like_forcegen_figure,
    write_figure,
)
from forcegen.results.reduce import Reducer, RunInfo
from forcegen.results.result import Result
from forcegen.safetext import csv_safe, literal_figure_text
from forcegen.scenario.evidence import CLAIM_STATUSES, WEAK_STATUSES, evidence_table
from forcegen.scenario.model import EXIT_CAUSES, Scenario
from forcegen.scenario.walk import ParamRef, iter_params
from forcegen.sim import Sim, load

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "STATUS_ORDER",
    "TABLE_COLUMNS",
    "EvidenceBasis",
    "Method",
    "OutputSpec",
    "PerReplicate",
    "SensitivityResult",
    "check_outputs",
    "dask_client",
    "default_samples",
    "output_files",
    "parameter_bases",
    "parse_output",
    "resolve_parameters",
    "sensitivity",
    "simulate_design",
    "through_day",
]

FloatArray = NDArray[np.float64]
Method = Literal["sobol", "morris"]
Progress = Callable[[int, int], None]
"""Called as ``progress(runs_done, runs_total)`` after each chunk of the design."""

SOBOL_TARGET_RUNS = 8192
"""Default Sobol budget: the largest power-of-two base sample N with N·(D+2) runs at
most this (at least 16)."""
MORRIS_TARGET_RUNS = 2048
"""Default Morris budget: r = this / (D+1) trajectories, at least 10."""
MORRIS_LEVELS = 4
"""Grid levels of the Morris design."""

STATUS_ORDER: tuple[str, ...] = (*CLAIM_STATUSES[:3], "assumption", *CLAIM_STATUSES[3:])
"""Evidence statuses from strongest to weakest: official-claim, independent-count,
estimate, assumption, unverified-report, denied. A parameter's *weakest* status is the
last of these it rests on (``unsourced`` when it rests on nothing)."""

_QUANTITIES = ("strength", "recruits", "losses", "cost")
_OUTPUT_RE = re.compile(r"^\s*([a-z_]+)\s*(?:\[\s*([^\]]*?)\s*\])?\s*(?:@\s*(\S+))?\s*$")


# ---------------------------------------------------------------------------- outputs
@dataclass(frozen=True)
class OutputSpec:
    """One scalar answer per replicate, the output a sensitivity analysis explains.

    Attributes:
        text: The spec as written, e.g. ``strength[prisoners]@2023-12-31``.
        quantity: ``strength`` (deployed, end of day), ``recruits`` (cumulative
            recruits), ``losses`` (cumulative exits) or ``cost`` (cumulative payments).
        selector: Channel (strength, recruits, cost) or exit cause (losses); None = all.
        date: The date.
        day: Index of the date in the simulated days.
        unit: ``people`` or the scenario currency.
    """

    text: str
    quantity: str
    selector: str | None
    date: dt.date
    day: int
    unit: str

    @property
    def description(self) -> str:
        """One line for tables and figure titles."""
        what = {
            "strength": "deployed strength",
            "recruits": "cumulative recruits",
            "losses": "cumulative exits",
            "cost": "cumulative payments",
        }[self.quantity]
        sel = f" ({self.selector})" if self.selector else ""
        return f"{what}{sel} on {self.date.isoformat()} [{self.unit}]"

    def evaluate(self, result: Result) -> FloatArray:
        """The output of every replicate of ``result``, shape ``(runs,)``."""
        chan = self.selector if self.quantity in ("strength", "recruits", "cost") else None
        if self.quantity == "strength":
            return result.total("strength", channels=chan, categories="deployed")[:, self.day]
        if self.quantity == "recruits":
            daily = result.total("inflow", channels=chan, categories="recruited")
        elif self.quantity == "losses":
            daily = result.total("outflow", categories=self.selector)
        else:
            daily = result.total("cost", channels=chan)
        return np.asarray(daily[:, : self.day + 1].sum(axis=1), dtype=np.float64)


def parse_output(text: str, scenario: Scenario) -> OutputSpec:
    """Parse ``QUANTITY[SELECTOR]@DATE`` for ``scenario``.

    Accepted forms: ``strength@DATE`` (deployed strength, all channels),
    ``strength[CHANNEL]@DATE``, ``recruits@DATE`` / ``recruits[CHANNEL]@DATE``
    (cumulative recruits from the start date through DATE), ``losses@DATE`` /
    ``losses[CAUSE]@DATE`` (cumulative exits), ``cost@DATE`` / ``cost[CHANNEL]@DATE``
    (cumulative payments made, scenario currency).

    Raises:
        UsageError: Saying what is wrong and what is expected.
    """
    example = "e.g. strength@2023-12-31, strength[prisoners]@2023-12-31, losses[killed]@2023-12-31"
    match = _OUTPUT_RE.match(text)
    if match is None:
        raise UsageError(
            f"cannot read output {text!r}; expected QUANTITY[SELECTOR]@DATE, {example}"
        )
    quantity, selector, date_text = match.group(1), match.group(2), match.group(3)
    if quantity not in _QUANTITIES:
        close = difflib.get_close_matches(quantity, _QUANTITIES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(
            f"unknown output quantity {quantity!r}{hint}; expected one of "
            f"{', '.join(_QUANTITIES)}, {example}"
        )
    if not date_text:
        raise UsageError(f"output {text!r} has no date; add @YYYY-MM-DD, {example}")
    try:
        date = dt.date.fromisoformat(date_text)
    except ValueError:
        raise UsageError(
            f"output {text!r}: {date_text!r} is not a date; expected YYYY-MM-DD"
        ) from None
    if not scenario.start_date <= date <= scenario.end_date:
        raise UsageError(
            f"output {text!r}: {date} is outside the simulated days of {scenario.name} "
            f"({scenario.start_date} to {scenario.end_date})"
        )
    if selector == "":
        raise UsageError(f"output {text!r} has empty brackets; name a selector or drop []")
    if selector is not None:
        if quantity == "losses":
            choices: Sequence[str] = EXIT_CAUSES
            what = "exit cause"
        else:
            choices = [c.id for c in scenario.channels]
            what = "channel"
        if selector not in choices:
            close = difflib.get_close_matches(selector, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"output {text!r}: unknown {what} {selector!r}{hint}; expected one of "
                f"{', '.join(choices)}"
            )
    unit = scenario.currency if quantity == "cost" else "people"
    day = (date - scenario.start_date).days
    return OutputSpec(text.strip(), quantity, selector, date, day, unit)


# --------------------------------------------------------------------------- evidence
@dataclass(frozen=True)
class EvidenceBasis:
    """What one parameter rests on, for display next to its sensitivity.

    Attributes:
        claims: ``(claim id, status)`` of every ledger claim it (or its event) cites.
        assumption: True when it (or its event) states an assumption.
        weakest: Weakest status in :data:`STATUS_ORDER`, or ``unsourced``.
        weak: True when it rests on an unverified report, a denial or an assumption.
    """

    claims: tuple[tuple[str, str], ...]
    assumption: bool

    @property
    def statuses(self) -> list[str]:
        """Distinct statuses, strongest first (``assumption`` included)."""
        found = {s for _, s in self.claims} | ({"assumption"} if self.assumption else set())
        return [s for s in STATUS_ORDER if s in found]

    @property
    def weakest(self) -> str:
        """Weakest status, or ``unsourced``."""
        statuses = self.statuses
        return statuses[-1] if statuses else "unsourced"

    @property
    def weak(self) -> bool:
        """Rests on an unverified report, a denial or an assumption (or on nothing)."""
        return (
            self.assumption or any(s in WEAK_STATUSES for _, s in self.claims) or (not self.claims)
        )

    def describe(self) -> str:
        """``estimate: osechkin-1500-applied; assumption`` style summary."""
        parts = [f"{s}: {c}" for c, s in self.claims]
        if self.assumption:
            parts.append("assumption")
        return "; ".join(parts) if parts else "unsourced"


def parameter_bases(scenario: Scenario, names: Iterable[str]) -> dict[str, EvidenceBasis]:
    """Evidence basis of each named parameter, including the evidence or assumption
    of the event that holds it (``events.3.size_people`` rests on ``events.3`` too)."""
    table = evidence_table(scenario)
    status = {use.claim.id: use.claim.status for use in table.claims}
    out: dict[str, EvidenceBasis] = {}
    for name in names:
        keys = [name]
        parts = name.split(".")
        if parts[0] == "events" and len(parts) > 2:
            keys.append(".".join(parts[:2]))
        claims: dict[str, str] = {}
        assumption = False
        for key in keys:
            basis = table.bases.get(key)
            if basis is None:
                continue
            for claim_id in basis.claims:
                claims[claim_id] = status.get(claim_id, "unverified-report")
            assumption = assumption or basis.assumption is not None
        ordered = sorted(claims.items(), key=lambda cs: STATUS_ORDER.index(cs[1]))
        out[name] = EvidenceBasis(tuple(ordered), assumption)
    return out


# ------------------------------------------------------------------------- parameters
def resolve_parameters(scenario: Scenario, names: Sequence[str] | None) -> list[ParamRef]:
    """The uncertain parameters to analyse: all of them (None), or the named subset.

    Raises:
        UsageError: A name is unknown, repeated, or names a point value.
    """
    uncertain = uncertain_parameters(scenario)
    if names is None:
        if not uncertain:
            raise UsageError(f"scenario {scenario.name} has no uncertain parameters")
        return uncertain
    by_name = {ref.name: ref for ref in uncertain}
    every = {ref.name for ref in iter_params(scenario)}
    chosen: list[ParamRef] = []
    for name in names:
        if name in by_name:
            if by_name[name] in chosen:
                raise UsageError(f"parameter {name!r} is named twice")
            chosen.append(by_name[name])
        elif name in every:
            raise UsageError(
                f"parameter {name!r} is a point value in {scenario.name}; only uncertain "
                "parameters (ranges or distributions) can be varied"
            )
        else:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"no uncertain parameter named {name!r} in {scenario.name}{hint} "
                "(parameter names are listed by `forcegen evidence SCENARIO`)"
            )
    if not chosen:
        raise UsageError("no parameters chosen")
    return chosen


def _value_range(ref: ParamRef, u: FloatArray) -> tuple[float, float]:
    values = ref.param.values(np.clip(u, 1e-9, 1 - 1e-9))
    return float(np.min(values)), float(np.max(values))


def through_day(scenario: Scenario, day: int) -> Scenario:
    """``scenario`` simulated only up to day ``day`` (inclusive).

    The daily step never looks ahead — events, dated series and streams are indexed by
    day — so every series up to ``day`` is identical to the full run's (tested), while
    the days after it, which an output or an observation on ``day`` cannot depend on,
    are not simulated.
    """
    if not 0 <= day < scenario.horizon_days:
        raise ValueError(f"day {day} is outside the horizon of {scenario.name}")
    return scenario.model_copy(update={"horizon_days": day + 1})


# --------------------------------------------------------------------------- batching
class PerReplicate(Reducer):
    """Keeps ``fn(block view)`` — an array with one row per replicate — for every
    replicate of a run, so that a design of any size is one :class:`Sim` reduced block
    by block (bounded memory; on Dask only these rows travel back).

    Args:
        fn: A picklable callable (e.g. a bound method of a frozen dataclass) mapping a
            block's :class:`Result` view to an array ``(replicates, ...)``.
    """

    def __init__(self, fn: Callable[[Result], FloatArray]) -> None:
        self.fn = fn
        self.values: FloatArray | None = None

    def begin(self, info: RunInfo) -> None:
        """Start a run (storage is allocated when the first part arrives)."""
        super().begin(info)
        self.values = None

    def extract(self, view: Result) -> FloatArray:
        """The rows of one block."""
        return np.asarray(self.fn(view), dtype=np.float64)

    def add(self, first_run: int, part: FloatArray) -> None:
        """Store a block's rows at their replicates' positions."""
        if self.values is None:
            self.values = np.zeros((self._info().runs, *part.shape[1:]))
        self.values[first_run : first_run + part.shape[0]] = part

    def result(self) -> FloatArray:
        """All rows, ``(runs, ...)``."""
        if self.values is None:
            raise RuntimeError("no block was reduced")
        return self.values


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """One Dask client for a whole analysis (None when running in this process), so
    that its many simulations share one cluster instead of starting one each.

    Raises:
        UsageError: The scheduler cannot be reached or workers cannot start.
    """
    if scheduler:
        # Typed as Any: distributed ships no annotations.
        distributed: Any = importlib.import_module("distributed")
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from exc
        try:
            yield client
        finally:
            client.close()
    elif (workers or 1) > 1:
        from forcegen.distributed import local_cluster

        with local_cluster(int(workers or 1)) as client:
            yield client
    else:
        yield None


def simulate_design(
    scenario: Scenario,
    runs: int,
    quantiles: Mapping[str, FloatArray],
    reducer: Callable[[Result], FloatArray],
    *,
    seed: int,
    mode: Mode,
    sample_parameters: bool = False,
    given: Mapping[str, FloatArray] | None = None,
    client: Any = None,
    progress: Progress | None = None,
) -> FloatArray:
    """Simulate ``runs`` design points as the replicates of one :class:`Sim` and reduce
    each to numbers.

    Point ``i`` is replicate ``i`` with every parameter in ``quantiles`` at quantile
    ``quantiles[name][i]``, every parameter in ``given`` at value ``given[name][i]``
    (its unit; a row of step values for a series); the others are at their expected
    values (``sample_parameters=False``) or drawn from their distributions. Blocks are reduced
    as they finish (:func:`forcegen.distributed.run_reduced`), so memory stays bounded
    however large the design, and on Dask (``client``) only the reduced rows travel.

    Args:
        reducer: Picklable; a block's :class:`Result` view → array ``(replicates, ...)``.
        client: A Dask client (see :func:`dask_client`) or None to run here.
        progress: Called with ``(runs_done, runs)``.

    Returns:
        The reduced rows of all points, ``(runs, ...)``.
    """
    sim = Sim(
        scenario,
        runs=runs,
        seed=seed,
        mode=mode,
        sample_parameters=sample_parameters,
        given={k: np.asarray(v, np.float64) for k, v in (given or {}).items()},
        given_quantiles={k: np.asarray(v, np.float64) for k, v in quantiles.items()},
    )
    # run_reduced reports replicates done (design points), as `progress` expects.
    return run_reduced(sim, PerReplicate(reducer), progress, client=client).result()


# ----------------------------------------------------------------------------- result
@dataclass
class SensitivityResult:
    """Ranked sensitivity indices of one output, with the evidence behind each input.

    Attributes:
        scenario: Scenario analysed.
        output: The output explained.
        method: ``sobol`` or ``morris``.
        mode: ``mean-field`` or ``stochastic``.
        samples: Sobol base sample N, or number of Morris trajectories r.
        runs: Simulated design points.
        seed: Seed of the design and of the chance streams.
        table: One row per parameter, most influential first. Columns: ``rank``,
            ``parameter``, ``unit``, ``distribution``, ``low``/``high`` (range of
            values explored), then for Sobol ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
            (first-order and total indices and the half-widths of their bootstrap
            confidence intervals), for Morris ``mu_star``, ``mu_star_conf``, ``mu``,
            ``sigma`` (output units per unit of normalised quantile); then
            ``evidence`` (claims and statuses), ``weakest`` (weakest status) and
            ``weak`` (rests on an unverified report, denial or assumption).
        output_mean: Mean of the output over the design (output unit).
        output_sd: Its standard deviation (output unit).
        noise_share: Stochastic mode: variance of the output across chance alone
            (parameters at expected values) over its variance across the design —
            the part no parameter can explain. None in mean-field mode.
        conf_level: Confidence level of the intervals.
        notes: Caveats to show with the table.
        second_order: With ``second_order=True`` (Sobol): one row per pair of
            parameters, ``parameter_a``, ``parameter_b``, ``S2`` and ``S2_conf``, largest
            first; else None.
        elapsed_seconds: Wall time.
    """

    scenario: Scenario
    output: OutputSpec
    method: Method
    mode: Mode
    samples: int
    runs: int
    seed: int
    table: pd.DataFrame
    output_mean: float
    output_sd: float
    noise_share: float | None
    conf_level: float
    notes: list[str] = field(default_factory=list)
    second_order: pd.DataFrame | None = None
    elapsed_seconds: float = 0.0

    @property
    def score_column(self) -> str:
        """Column the table is ranked by: ``ST`` (Sobol) or ``mu_star`` (Morris)."""
        return "ST" if self.method == "sobol" else "mu_star"

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` most influential parameters."""
        return self.table.head(k)

    def weak_among_top(self, k: int = 5) -> list[str]:
        """Names among the ``k`` most influential parameters resting on an unverified
        report, a denial or an assumption — "the answer hinges on an unverified claim"."""
        top = self.table.head(k)
        # A parameter that does not move the output is not "influential", whatever its rank.
        top = top[top[self.score_column] > 0]
        return [str(n) for n in top.loc[top["weak"], "parameter"]]

    def headline(self) -> str:
        """One sentence: the top parameter and what it rests on."""
        row = self.table.iloc[0]
        score = f"{self.score_column}={row[self.score_column]:.3g}"
        return (
            f"{self.output.description}: most influential input is {row['parameter']} "
            f"({score}), which rests on {row['evidence']}"
        )

    def to_csv(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the ranked table as CSV, whole or not at all; returns the path.

        An existing file is replaced only when its first line is this table's header
        (a CSV has no other mark of being forcegen's) or ``force`` is true; else
        :class:`OutputError`.
        """
        target = Path(path)
        recognise = csv_header_is(csv_header(self.table))
        with atomic_file(target, force=force, recognise=recognise) as tmp:
            csv_safe(self.table).to_csv(tmp, index=False)
        return target

    def figure(
        self, top: int = 20, path: str | Path | None = None, *, force: bool = False
    ) -> Figure:
        """Ranked horizontal bar chart (tornado style) of the ``top`` parameters.

        Sobol: total index ST as the bar with its confidence interval, first-order S1
        as a narrow inner bar; Morris: mu* with its interval. Each bar is coloured by
        the weakest evidence status of its parameter and hatched when that status is
        weak (assumption, unverified report, denial, unsourced); the legend says which.
        Saved to ``path`` (PNG, SVG or PDF by suffix) when given; an existing file
        only if it is a forcegen figure, or ``force``.
        """
        return sensitivity_figure(self, top=top, path=path, force=force)

    def write(self, out: str | Path, *, top: int = 20, force: bool = False) -> dict[str, Path]:
        """Write the figure (PNG, ``top`` parameters) and the table (CSV) into folder
        ``out`` (created if needed), named by :func:`output_files`.

        Other files in ``out`` are left alone; an existing file of one of those names
        is replaced only when forcegen wrote it (or ``force``). Both files are replaced
        together at the end, so a failure leaves the earlier pair as it was.
        """
        files = output_files(out, self.scenario.name, self.output.text, self.method)
        check_outputs(out, self.scenario.name, self.output.text, self.method, force=force)
        fig = self.figure(top=top)
        with ExitStack() as stack:
            tmp = {
                what: stack.enter_context(atomic_file(path, force=force, recognise=recognise))
                for what, (path, recognise) in files.items()
            }
            fig.savefig(tmp["figure"], format="png", dpi=120, metadata=figure_metadata("png"))
            csv_safe(self.table).to_csv(tmp["table"], index=False)
        return {what: path for what, (path, _) in files.items()}


_SCORES: dict[str, tuple[str, ...]] = {
    "sobol": ("S1", "S1_conf", "ST", "ST_conf"),
    "morris": ("mu_star", "mu_star_conf", "mu", "sigma"),
}

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    method: (
        *("rank", "parameter", "unit", "distribution", "low", "high"),
        *scores,
        *("evidence", "weakest", "weak"),
    )
    for method, scores in _SCORES.items()
}
"""Columns of :attr:`SensitivityResult.table` (and its CSV) by method."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def output_files(
    out: str | Path, scenario_name: str, output: str, method: str
) -> dict[str, tuple[Path, Recognise]]:
    """The files :meth:`SensitivityResult.write` writes into folder ``out`` for the
    analysis of ``output`` (as written, e.g. ``strength@2023-12-31``) of scenario
    ``scenario_name`` by ``method``, each with how an earlier one of forcegen's is
    recognised: the figure's metadata; the table's header line (a CSV has no other)."""
    folder = Path(out)
    stem = f"sensitivity-{scenario_name}-{_slug(output.strip())}-{method}"
    header = ",".join(TABLE_COLUMNS[method])
    return {
        "figure": (folder / f"{stem}.png", looks_like_forcegen_figure),
        "table": (folder / f"{stem}.csv", csv_header_is(header)),
    }


def check_outputs(
    out: str | Path, scenario_name: str, output: str, method: str, *, force: bool = False
) -> None:
    """Refuse (:class:`OutputError`), before any simulation, what
    :meth:`SensitivityResult.write` could not write: ``out`` being a file, or a file
    there of one of its names that forcegen did not write (unless ``force``)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    for path, recognise in output_files(folder, scenario_name, output, method).values():
        check_file_target(path, force=force, recognise=recognise)


STATUS_STYLE: dict[str, tuple[str, str]] = {
    "official-claim": ("#1b7837", ""),
    "independent-count": ("#5aae61", ""),
    "estimate": ("#a6dba0", ""),
    "assumption": ("#f4a582", ".."),
    "unverified-report": ("#d6604d", "//"),
    "denied": ("#8e0152", "xx"),
    "unsourced": ("#bababa", "\\\\"),
}
"""Colour and hatch of each evidence status in figures (weak statuses are hatched)."""


def sensitivity_figure(
    result: SensitivityResult,
    top: int = 20,
    path: str | Path | None = None,
    *,
    force: bool = False,
) -> Figure:
    """See :meth:`SensitivityResult.figure`."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rows = result.table.head(top).iloc[::-1]
    n = len(rows)
    fig = Figure(figsize=(9.5, 1.2 + 0.38 * max(n, 3)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(n)
    colours = [STATUS_STYLE[w][0] for w in rows["weakest"]]
    hatches = [STATUS_STYLE[w][1] for w in rows["weakest"]]
    if result.method == "sobol":
        main, conf = rows["ST"].to_numpy(), rows["ST_conf"].to_numpy()
        xlabel = "Sobol index (bar: total ST; inner bar: first-order S1; whisker: CI)"
    else:
        main, conf = rows["mu_star"].to_numpy(), rows["mu_star_conf"].to_numpy()
        xlabel = f"Morris mu* [{result.output.unit} per unit normalised quantile]"
    bars = ax.barh(y, main, color=colours, edgecolor="#333333", linewidth=0.6, height=0.7)
    for bar, hatch in zip(bars, hatches, strict=True):
        bar.set_hatch(hatch)
    ax.errorbar(main, y, xerr=conf, fmt="none", ecolor="#222222", capsize=2, linewidth=0.8)
    if result.method == "sobol":
        ax.barh(y, rows["S1"].clip(lower=0).to_numpy(), color="#222222", height=0.22)
    labels = [
        f"{p}  [{_short(lo)}–{_short(hi)}]"
        for p, lo, hi in zip(rows["parameter"], rows["low"], rows["high"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.axvline(0, color="#444444", linewidth=0.6)
    mode = result.mode + (
        f", chance noise {result.noise_share:.0%} of variance"
        if result.noise_share is not None
        else ""
    )
    ax.set_title(
        f"{result.scenario.name}: {result.output.description}\n"
        f"{result.method}, {result.runs} runs, {mode}",
        fontsize=10,
        loc="left",
    )
    present = [s for s in (*STATUS_ORDER, "unsourced") if s in set(rows["weakest"])]
    handles = [
        Patch(facecolor=STATUS_STYLE[s][0], hatch=STATUS_STYLE[s][1], edgecolor="#333333", label=s)
        for s in present
    ]
    ax.legend(
        handles=handles, title="weakest evidence", fontsize=8, title_fontsize=8, loc="lower right"
    )
    # Parameter names and the scenario name are the user's text: a "$" is a dollar.
    literal_figure_text(fig)
    if path is not None:
        write_figure(fig, path, dpi=120, force=force)
    return fig


def _short(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    mag = abs(value)
    if mag >= 1e6:
        return f"{value / 1e6:.3g}M"
    if mag >= 1e4:
        return f"{value / 1e3:.3g}k"
    if mag >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.3g}"


# --------------------------------------------------------------------------- analysis
def default_samples(method: Method, n_params: int) -> int:
    """Default Sobol N (power of two, N·(D+2) ≤ :data:`SOBOL_TARGET_RUNS`, at least 16)
    or Morris r (:data:`MORRIS_TARGET_RUNS` / (D+1), at least 10) for D parameters."""
    if method == "sobol":
        n = 16
        while (2 * n) * (n_params + 2) <= SOBOL_TARGET_RUNS:
            n *= 2
        return n
    return max(10, MORRIS_TARGET_RUNS // (n_params + 1))


def sensitivity(
    scenario: Scenario | str | Path,
    output: str = "strength@2023-12-31",
    *,
    method: Method = "sobol",
    samples: int | None = None,
    params: Sequence[str] | None = None,
    seed: int = 0,
    mode: Mode = "mean-field",
    workers: int | None = None,
    scheduler: str | None = None,
    conf_level: float = 0.95,
    num_resamples: int = 200,
    second_order: bool = False,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Global sensitivity of one output to the scenario's uncertain parameters.

    Args:
        scenario: A scenario, YAML path or built-in name.
        output: ``QUANTITY[SELECTOR]@DATE`` (see :func:`parse_output`).
        method: ``sobol`` (variance-based indices S1 and ST, Saltelli sampling,
            ``calc_second_order=False``) or ``morris`` (elementary effects mu*, sigma:
            cheap screening).
        samples: Sobol base sample N (a power of two; rounded up if not) — N·(D+2)
            runs for D parameters; or Morris trajectories r — r·(D+1) runs. Default:
            :func:`default_samples`.
        params: Names of the parameters to vary; all uncertain ones when None. The
            others keep their expected value.
        seed: Seed of the design, the bootstrap and (stochastic mode) chance.
        mode: ``mean-field`` (default: the output is a deterministic function of the
            parameters) or ``stochastic`` (chance adds unexplained variance, estimated
            as ``noise_share``).
        workers, scheduler: Passed to :class:`Sim` (Dask execution).
        conf_level: Level of the bootstrap confidence intervals.
        num_resamples: Bootstrap resamples.
        second_order: Sobol only: also estimate second-order (pairwise interaction)
            indices, at N·(2D+2) runs instead of N·(D+2); see
            :attr:`SensitivityResult.second_order`.
        progress: Called with ``(runs_done, runs_total)``.

    Raises:
        UsageError: Bad output spec, parameter names, method, mode or sample size.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    start = time.perf_counter()
    scen = scenario if isinstance(scenario, Scenario) else load(scenario)
    if method not in ("sobol", "morris"):
        raise UsageError(f"method must be 'sobol' or 'morris', got {method!r}")
    if mode not in ("stochastic", "mean-field"):
        raise UsageError(f"mode must be 'stochastic' or 'mean-field', got {mode!r}")
    if seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed}")
    if not 0 < conf_level < 1:
        raise UsageError(f"conf_level must be between 0 and 1, got {conf_level}")
    spec = parse_output(output, scen)
    refs = resolve_parameters(scen, params)
    names = [ref.name for ref in refs]
    d = len(names)
    if second_order and method != "sobol":
        raise UsageError("second-order indices need method='sobol'")
    if method == "sobol" and d < 2:
        raise UsageError("Sobol analysis needs at least two parameters; use method='morris'")
    notes: list[str] = []
    n = default_samples(method, d) if samples is None else int(samples)
    if n < 2:
        raise UsageError(f"samples must be at least 2, got {n}")
    if method == "sobol" and n & (n - 1):
        rounded = 1 << (n - 1).bit_length()
        notes.append(f"samples rounded up from {n} to {rounded}, a power of two (Sobol' sequence)")
        n = rounded
    problem = {"num_vars": d, "names": names, "bounds": [[0.0, 1.0]] * d}

    if method == "sobol":
        x = np.asarray(
            sobol_sample.sample(
                problem, n, calc_second_order=second_order, scramble=True, seed=seed
            )
        )
        u = x
    else:
        x = np.asarray(morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed))
        # The Morris grid includes the cube's faces (0 and 1); quantiles there are the
        # distributions' extreme tails (infinite for unbounded ones). Use the centres of
        # the L equal-probability cells instead: u = (x·(L−1) + 1/2) / L.
        u = (x * (MORRIS_LEVELS - 1) + 0.5) / MORRIS_LEVELS
    runs = x.shape[0]
    quantiles = {name: u[:, j] for j, name in enumerate(names)}
    # Nothing after the output's date can affect it: simulate up to that day only.
    short = through_day(scen, spec.day)
    with dask_client(workers, scheduler) as client:
        y = simulate_design(
            short,
            runs,
            quantiles,
            spec.evaluate,
            seed=seed,
            mode=mode,
            client=client,
            progress=progress,
        )
        noise: FloatArray | None = None
        if mode == "stochastic":
            # Chance alone: every parameter at its expected value, one block of
            # replicates (a different seed, so its chance is independent of the design's).
            noise = simulate_design(
                short, BLOCK_SIZE, {}, spec.evaluate, seed=seed + 1, mode=mode, client=client
            )
    out_mean, out_sd = float(np.mean(y)), float(np.std(y))
    noise_share: float | None = None
    if noise is not None:
        noise_share = float(np.var(noise) / np.var(y)) if np.var(y) > 0 else float("nan")
        notes.append(
            f"stochastic mode: chance alone accounts for about {noise_share:.1%} of the "
            "output variance; that share is explained by no parameter (total indices "
            "absorb it unevenly) — use mode='mean-field' to analyse parameters only"
        )

    constant = not out_sd > 0
    if constant:
        notes.append("the output does not vary over the design: every index is zero")
    interactions: pd.DataFrame | None = None
    if method == "sobol":
        if constant:
            zeros = np.zeros(d)
            si = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        else:
            si = sobol_analyze.analyze(
                problem,
                y,
                calc_second_order=second_order,
                num_resamples=num_resamples,
                conf_level=conf_level,
                seed=seed,
            )
        scores = {k: np.asarray(si[k], dtype=np.float64) for k in _SCORES["sobol"]}
        rank_by = "ST"
        if second_order:
            pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]
            s2 = np.asarray(si["S2"], dtype=np.float64) if not constant else np.zeros((d, d))
            s2c = np.asarray(si["S2_conf"], dtype=np.float64) if not constant else s2
            interactions = pd.DataFrame(
                {
                    "parameter_a": [names[i] for i, _ in pairs],
                    "parameter_b": [names[j] for _, j in pairs],
                    "S2": [s2[i, j] for i, j in pairs],
                    "S2_conf": [s2c[i, j] for i, j in pairs],
                }
            ).sort_values("S2", ascending=False, kind="stable", ignore_index=True)
    else:
        if constant:
            zeros = np.zeros(d)
            si = {"mu_star": zeros, "mu_star_conf": zeros, "mu": zeros, "sigma": zeros}
        else:
            si = morris_analyze.analyze(
                problem,
                x,
                y,
                num_resamples=num_resamples,
                conf_level=conf_level,
                num_levels=MORRIS_LEVELS,
                seed=seed,
            )
        scores = {k: np.asarray(si[k], dtype=np.float64) for k in _SCORES["morris"]}
        rank_by = "mu_star"

    bases = parameter_bases(scen, names)
    ranges = [_value_range(ref, u[:, j]) for j, ref in enumerate(refs)]
    table = pd.DataFrame(
        {
            "parameter": names,
            "unit": [ref.unit for ref in refs],
            "distribution": [ref.param.describe() for ref in refs],
            "low": [r[0] for r in ranges],
            "high": [r[1] for r in ranges],
            **scores,
            "evidence": [bases[name].describe() for name in names],
            "weakest": [bases[name].weakest for name in names],
            "weak": [bases[name].weak for name in names],
        }
    )
    table = table.sort_values(rank_by, ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, d + 1))
    if method == "sobol" and not constant:
        total_s1 = float(np.sum(np.clip(scores["S1"], 0, None)))
        if total_s1 < 0.7:
            notes.append(
                f"first-order indices sum to {total_s1:.2f}: interactions (or, in "
                "stochastic mode, chance) carry much of the variance"
            )
        widest = float(np.max(scores["ST_conf"]))
        if widest > 0.1:
            notes.append(
                f"confidence intervals are wide (up to ±{widest:.2f}); raise samples for "
                "firmer indices, or screen with method='morris' and analyse the leaders"
            )
    if params is not None:
        notes.append(
            "parameters not analysed are held at their expected values; indices are "
            "conditional on those"
        )
    return SensitivityResult(
        scenario=scen,
        output=spec,
        method=method,
        mode=mode,
        samples=n,
        runs=runs,
        seed=seed,
        table=table,
        output_mean=out_mean,
        output_sd=out_sd,
        noise_share=noise_share,
        conf_level=conf_level,
        notes=notes,
        second_order=interactions,
        elapsed_seconds=time.perf_counter() - start,
    )
