"""What an answer rests on: the sampled inputs that move it most, with their evidence.

Every replicate of a run draws its own value of each uncertain parameter
(:attr:`Result.parameters <forcegen.results.result.Result.parameters>`, kept in the
store and in result folders) and gives its own answer (deployed strength on a date,
the minimum strength over a window, recruits, cost, a paired difference). Across the
replicates of the run itself, the **Spearman rank correlation** ρ between an input's
values and the answer measures how strongly the answer goes up or down with that
input over the scenario's own ranges (docs/evidence.md). No extra simulation is
needed: a basis costs a few milliseconds per run, so it is computed when asked for,
not cached.

* An input is **named** ("rests mostly on") when ``|ρ|`` reaches a threshold: at
  least :data:`MIN_RHO`, and large enough that an input unrelated to the answer
  would reach it by chance in at most :data:`ALPHA` of answers with this many
  inputs and replicates (``z(1 − ALPHA / 2D) / √(n − 1)``, Bonferroni over the ``D``
  inputs tested, ``n`` replicates).
* Each named input carries its evidence status: the weakest of the claims it (or the
  event holding it) cites and of its assumption (:data:`STATUS_ORDER`; ``default`` for
  a model default, ``unsourced`` when it rests on nothing).
* An answer is **marked** when a named input's status is weak
  (:data:`WEAK_STATUSES`); an answer whose named inputs all rest on official
  claims, independent counts or estimates carries no marker.

Units: ρ is dimensionless in [−1, 1], its sign the direction (positive: the answer
grows with the input); ``share`` is ρ², roughly the share of the answer's rank
variance that goes with that input alone. A dated series is one input (its steps
share one quantile), ranked by the sum of its steps. Point values do not vary and are
never named. Pure functions and frozen data; nothing here prints or simulates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from forcegen.scenario.evidence import CLAIM_STATUSES, evidence_table
from forcegen.scenario.model import Scenario

if TYPE_CHECKING:
    from forcegen.results.result import Result

__all__ = [
    "ALPHA",
    "METHOD",
    "MIN_REPLICATES",
    "MIN_RHO",
    "STATUS_ORDER",
    "WEAK_STATUSES",
    "AnswerBasis",
    "InputEvidence",
    "InputWeight",
    "Screen",
    "average_ranks",
    "below_outcomes",
    "first_days",
    "hold_outcomes",
    "input_evidence",
    "merge_evidence",
    "screen",
    "strength_minimum",
    "strength_on",
    "summary_bases",
    "summary_key",
    "threshold",
]

FloatArray = NDArray[np.float64]

METHOD = "spearman"
"""Name of the method, as written in the JSON documents."""
MIN_RHO = 0.2
"""Smallest ``|ρ|`` for an input to be named, whatever the number of replicates
(ρ² = 4 % of the answer's rank variance)."""
ALPHA = 0.05
"""Chance that an input unrelated to an answer is named among all the inputs tested
(Bonferroni), which sets the threshold for small runs."""
MIN_REPLICATES = 10
"""Fewer replicates than this: no input is ranked."""
STATUS_ORDER: tuple[str, ...] = (
    *CLAIM_STATUSES[:3],
    "assumption",
    "default",
    *CLAIM_STATUSES[3:],
    "unsourced",
)
"""Evidence statuses from strongest to weakest: official-claim, independent-count,
estimate, assumption, default (a model default), unverified-report, denied,
unsourced."""
WEAK_STATUSES: frozenset[str] = frozenset(
    {"assumption", "default", "unverified-report", "denied", "unsourced"}
)
"""Statuses that mark an answer resting on them."""


# --------------------------------------------------------------------------- evidence
@dataclass(frozen=True)
class InputEvidence:
    """What one parameter rests on.

    Attributes:
        name: Parameter name (``losses.killed_per_day``).
        claims: ``(claim id, status)`` of each claim it, or the event holding it, cites.
        assumption: It (or its event) states an assumption.
        default: It is a model default.
    """

    name: str
    claims: tuple[tuple[str, str], ...] = ()
    assumption: bool = False
    default: bool = False

    @property
    def statuses(self) -> tuple[str, ...]:
        """Distinct statuses, strongest first (``unsourced`` when none)."""
        found = {s for _, s in self.claims}
        if self.assumption:
            found.add("default" if self.default else "assumption")
        if not found:
            found.add("unsourced")
        return tuple(s for s in STATUS_ORDER if s in found)

    @property
    def status(self) -> str:
        """The weakest status."""
        return self.statuses[-1]

    @property
    def weak(self) -> bool:
        """Whether its weakest status is one of :data:`WEAK_STATUSES`."""
        return self.status in WEAK_STATUSES


def input_evidence(scenario: Scenario) -> dict[str, InputEvidence]:
    """The evidence of every parameter of ``scenario``, by name; a parameter inside an
    event (``events.3.size_people``) also rests on the event's evidence."""
    table = evidence_table(scenario)
    status = {use.claim.id: use.claim.status for use in table.claims}
    out: dict[str, InputEvidence] = {}
    for name, basis in table.bases.items():
        parts = name.split(".")
        if parts[0] == "events" and len(parts) == 2:
            continue
        holders = [basis]
        if parts[0] == "events":
            event = table.bases.get(".".join(parts[:2]))
            if event is not None:
                holders.append(event)
        claims = {c: status[c] for b in holders for c in b.claims if c in status}
        out[name] = InputEvidence(
            name,
            tuple(sorted(claims.items(), key=lambda cs: STATUS_ORDER.index(cs[1]))),
            any(b.assumption is not None for b in holders),
            basis.default,
        )
    return out


def merge_evidence(*tables: Mapping[str, InputEvidence]) -> dict[str, InputEvidence]:
    """Evidence of inputs present in several scenarios (a comparison): for a name in
    more than one, every claim cited in any, and an assumption if any states one."""
    out: dict[str, InputEvidence] = {}
    for table in tables:
        for name, ev in table.items():
            old = out.get(name)
            if old is None:
                out[name] = ev
                continue
            claims = dict(old.claims) | dict(ev.claims)
            out[name] = InputEvidence(
                name,
                tuple(sorted(claims.items(), key=lambda cs: STATUS_ORDER.index(cs[1]))),
                old.assumption or ev.assumption,
                old.default and ev.default,
            )
    return out


# ----------------------------------------------------------------------------- basis
@dataclass(frozen=True)
class InputWeight:
    """One named input of an answer.

    Attributes:
        name: Parameter name.
        rho: Spearman rank correlation with the answer across replicates (−1 to 1).
        share: ``rho ** 2``.
        status: Weakest evidence status (:data:`STATUS_ORDER`).
        statuses: Every status it rests on, strongest first.
        claims: Ids of the claims it rests on.
        weak: ``status`` is one of :data:`WEAK_STATUSES`.
    """

    name: str
    rho: float
    share: float
    status: str
    statuses: tuple[str, ...]
    claims: tuple[str, ...]
    weak: bool

    def describe(self) -> str:
        """``losses.killed_per_day (assumption, ρ −0.71)``."""
        sign = "−" if self.rho < 0 else "+"
        return f"{self.name} ({self.status}, ρ {sign}{abs(self.rho):.2f})"


@dataclass(frozen=True)
class AnswerBasis:
    """The inputs one answer rests on most, strongest first.

    Attributes:
        method: :data:`METHOD`.
        replicates: Replicates the correlations were computed over.
        inputs_tested: Sampled inputs that vary across those replicates.
        threshold: Smallest ``|ρ|`` named (None when nothing could be ranked).
        marked: Some named input rests on a weak status.
        inputs: Named inputs, by decreasing ``|ρ|``.
        note: Why no input is named, when none is (a sentence).
        reason: The same as a code: ``no-values``, ``not-sampled``,
            ``few-replicates``, ``constant`` or ``none-stands-out``; None when inputs
            are named.
    """

    method: str
    replicates: int
    inputs_tested: int
    threshold: float | None
    marked: bool
    inputs: tuple[InputWeight, ...]
    note: str | None = None
    reason: str | None = None

    @property
    def weak_statuses(self) -> tuple[str, ...]:
        """The weak statuses among the named inputs, strongest first."""
        found = {w.status for w in self.inputs if w.weak}
        return tuple(s for s in STATUS_ORDER if s in found)

    def marker(self) -> str:
        """``⚠ assumption, unverified-report`` for a marked answer, else ``""``."""
        return f"⚠ {', '.join(self.weak_statuses)}" if self.marked else ""

    def describe(self, top: int = 3) -> str:
        """``rests mostly on: NAME (status, ρ +0.71), …`` (the ``top`` strongest and a
        count of the rest), or the note."""
        if not self.inputs:
            return self.note or ""
        shown = ", ".join(w.describe() for w in self.inputs[:top])
        return f"rests mostly on: {shown}{self.more(top)}"

    def more(self, top: int) -> str:
        """`` and N more (status, …)`` for the named inputs after the first ``top``,
        with their statuses, so that a marker never names a status not shown; ``""``
        when there are none."""
        rest = self.inputs[top:]
        if not rest:
            return ""
        found = {w.status for w in rest}
        statuses = ", ".join(s for s in STATUS_ORDER if s in found)
        return f" and {len(rest)} more ({statuses})"

    def line(self, top: int = 3) -> str:
        """One line for a terminal: ``⚠ rests mostly on: …`` when marked, ``rests
        mostly on: …`` when not, ``basis: NOTE`` when no input is named."""
        if not self.inputs:
            return f"basis: {self.note}" if self.note else ""
        return ("⚠ " if self.marked else "") + self.describe(top)

    def brief(self, top: int = 2) -> str:
        """``NAME (status), …`` without ρ, for narrow tables; a short reason when no
        input is named."""
        if not self.inputs:
            cut = f" (|ρ| < {self.threshold:.2f})" if self.threshold is not None else ""
            return _SHORT.get(self.reason or "", self.note or "").format(cut=cut)
        shown = ", ".join(f"{w.name} ({w.status})" for w in self.inputs[:top])
        return shown + self.more(top)


_SHORT = {
    "no-values": "no values",
    "not-sampled": "no input sampled",
    "few-replicates": "too few replicates to tell",
    "constant": "same in every replicate",
    "none-stands-out": "no input stands out{cut}",
}


def threshold(replicates: int, inputs: int) -> float:
    """Smallest ``|ρ|`` named with ``inputs`` inputs over ``replicates`` replicates:
    ``max(MIN_RHO, z(1 − ALPHA / 2·inputs) / √(replicates − 1))``."""
    from statistics import NormalDist

    from forcegen.analysis.answers import normal_quantile

    p = 1.0 - ALPHA / (2.0 * max(inputs, 1))
    root = math.sqrt(max(replicates - 1, 1))
    # With many replicates the floor decides: the standard library's quantile (within
    # ~1e-15 of scipy's) shows that with room to spare, and the exact one (which needs
    # scipy.special, ~0.2 s to import) is computed only when it may matter.
    if NormalDist().inv_cdf(p) * (1.0 + 1e-9) / root < MIN_RHO:
        return MIN_RHO
    return max(MIN_RHO, normal_quantile(p) / root)


@dataclass(frozen=True, eq=False)
class Screen:
    """The sampled inputs of one run, ready to rank against any of its answers.

    Attributes:
        values: Parameter name → one value per replicate (a series: the sum of its
            steps, which orders replicates as its shared quantile does).
        evidence: Parameter name → its evidence.
    """

    values: Mapping[str, FloatArray]
    evidence: Mapping[str, InputEvidence]

    @classmethod
    def of(
        cls,
        parameters: Mapping[str, NDArray[np.floating] | NDArray[np.integer]],
        evidence: Mapping[str, InputEvidence],
        runs: int | None = None,
    ) -> Screen:
        """From :attr:`Result.parameters` (``(run,)`` or ``(run, steps)`` arrays),
        keeping the first ``runs`` replicates when given."""
        values: dict[str, FloatArray] = {}
        for name, arr in parameters.items():
            a = np.asarray(arr, dtype=np.float64)
            if a.ndim > 1:
                a = a.reshape(a.shape[0], -1).sum(axis=1)
            values[name] = a if runs is None else a[:runs]
        return cls(values, evidence)

    @functools.cached_property
    def _ranks(self) -> tuple[list[str], FloatArray]:
        """The inputs that vary over all the replicates and their standardised ranks
        ``(inputs, replicates)``: computed once per run, used by every answer."""
        return _ranked(self.values, None)

    def basis(self, answer: Sequence[float] | FloatArray) -> AnswerBasis:
        """What ``answer`` (one number per replicate; NaN replicates left out) rests on."""
        y = np.asarray(answer, dtype=np.float64)
        keep = np.isfinite(y)
        n = int(keep.sum())
        varying, rx = self._ranks
        if not keep.all() or rx.shape[1:] != y.shape:
            varying, rx = _ranked(self.values, keep)
        d = len(varying)

        def empty(reason: str, note: str, cut: float | None = None) -> AnswerBasis:
            return AnswerBasis(METHOD, n, d, cut, False, (), note, reason)

        if n == 0:
            return empty("no-values", "no replicate gives a number")
        if d == 0:
            return empty(
                "not-sampled",
                "no input varies across replicates (parameters not sampled, or all "
                "point values): its spread is chance alone",
            )
        if n < MIN_REPLICATES:
            return empty("few-replicates", f"too few replicates ({n}) to rank the inputs")
        yk = y[keep]
        if np.ptp(yk) == 0:
            return empty("constant", "the same in every replicate")
        cut = threshold(n, d)
        if cut >= 1.0:
            return empty("few-replicates", f"too few replicates ({n}) to rank {d} inputs")
        ry = _standard_ranks(yk)
        rho = np.clip(rx @ ry / n, -1.0, 1.0)
        order = np.argsort(-np.abs(rho), kind="stable")
        named: list[InputWeight] = []
        for i in order:
            r = float(rho[i])
            if abs(r) < cut:
                break
            name = varying[int(i)]
            ev = self.evidence.get(name, InputEvidence(name))
            named.append(
                InputWeight(
                    name,
                    r,
                    r * r,
                    ev.status,
                    ev.statuses,
                    tuple(c for c, _ in ev.claims),
                    ev.weak,
                )
            )
        if not named:
            return empty(
                "none-stands-out",
                f"no sampled input stands out (every |ρ| < {cut:.2f}): chance or many "
                "small effects",
                cut,
            )
        return AnswerBasis(METHOD, n, d, cut, any(w.weak for w in named), tuple(named))


def _ranked(
    values: Mapping[str, FloatArray], keep: NDArray[np.bool_] | None
) -> tuple[list[str], FloatArray]:
    """Names and standardised ranks of the inputs that vary over the replicates kept
    (all when ``keep`` is None; inputs of another length are left out)."""
    cols = {
        name: v if keep is None else v[keep]
        for name, v in values.items()
        if keep is None or v.shape == keep.shape
    }
    names = [name for name, c in cols.items() if c.size and np.ptp(c) > 0]
    if not names or len({cols[name].shape for name in names}) != 1:
        return [], np.zeros((0, 0))
    return names, np.stack([_standard_ranks(cols[name]) for name in names])


def _standard_ranks(x: FloatArray) -> FloatArray:
    """Average ranks, centred and scaled to unit root-mean-square (so that the mean
    product of two is their Spearman correlation)."""
    r = average_ranks(x)
    r = r - r.mean()
    scale = math.sqrt(float(np.mean(r * r)))
    out: FloatArray = r / scale if scale > 0 else r
    return out


def average_ranks(x: FloatArray) -> FloatArray:
    """Ranks 1 … n of ``x`` with ties given their average rank; all NaN when ``x`` has
    a NaN. Equal to ``scipy.stats.rankdata(x)`` (the same algorithm; tested), without
    importing ``scipy.stats`` (~0.6 s of every report's start-up)."""
    values = np.asarray(x, dtype=np.float64).reshape(-1)
    if np.isnan(values).any():
        return np.full(values.size, np.nan)
    sorter = np.argsort(values, kind="mergesort")
    inverse = np.empty(sorter.size, dtype=np.intp)
    inverse[sorter] = np.arange(sorter.size, dtype=np.intp)
    ordered = values[sorter]
    new = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(new)[inverse]
    bounds = np.r_[np.flatnonzero(new), new.size]
    return np.asarray(0.5 * (bounds[dense] + bounds[dense - 1] + 1), dtype=np.float64)


def screen(result: Result) -> Screen:
    """The :class:`Screen` of a result: its sampled parameters and its scenario's
    evidence."""
    return Screen.of(result.parameters, input_evidence(result.scenario), result.runs)


# --------------------------------------------------------------------------- summary
def summary_key(quantity: str, channel: str, cause: str | None) -> str:
    """The per-replicate totals key (``strength_end/contract``, ``losses/killed``) of
    a summary row given as in :meth:`Summary.to_frame` (``deployed_end``, channel or
    ``"*"``, cause)."""
    whole = channel == "*"
    match quantity:
        case "deployed_start":
            return "strength_start"
        case "deployed_end":
            return "strength_end" if whole else f"strength_end/{channel}"
        case "in_service_end":
            return "in_service_end"
        case "recruits":
            return f"recruits/{channel}"
        case "exits":
            return f"losses/{cause}"
        case "cost_paid" | "cost_unpaid":
            return quantity
    raise KeyError(quantity)


def summary_bases(totals: Mapping[str, FloatArray], screen: Screen) -> dict[str, AnswerBasis]:
    """The basis of every summary number, keyed as the per-replicate totals are
    (:class:`~forcegen.results.reduce.SummaryTotals`, ``totals.parquet``), so that a
    fresh run and the same run stored give the same bases."""
    return {key: screen.basis(values) for key, values in totals.items()}


# ------------------------------------------------------- what each answer is per replicate
def strength_minimum(result: Result, first: int = 0, last: int | None = None) -> FloatArray:
    """Per replicate, the lowest deployed strength (all channels) from day index
    ``first`` through ``last`` (the horizon when None): the number that decides "falls
    below N" (by the last day) and "holds N on every day" (people)."""
    deployed = result.total("strength", categories="deployed")
    stop = deployed.shape[1] if last is None else last + 1
    out: FloatArray = deployed[:, first:stop].min(axis=1)
    return out


def strength_on(result: Result, day: int) -> FloatArray:
    """Per replicate, deployed strength (all channels) at the end of day index ``day``:
    the number that decides "at least N on that day" (people)."""
    out: FloatArray = result.total("strength", categories="deployed")[:, day]
    return out


def below_outcomes(result: Result, threshold: float) -> FloatArray:
    """Per replicate, 1 if deployed strength falls below ``threshold`` people within
    the horizon, else 0: the outcome whose share is that probability."""
    out: FloatArray = (strength_minimum(result) < threshold).astype(np.float64)
    return out


def hold_outcomes(result: Result, target: float, day: int, *, through: bool = False) -> FloatArray:
    """Per replicate, 1 if deployed strength is at least ``target`` people at the end
    of day index ``day`` (``through``: on every day up to it), else 0."""
    values = strength_minimum(result, 0, day) if through else strength_on(result, day)
    out: FloatArray = (values >= target).astype(np.float64)
    return out


def first_days(first_day: Iterable[int] | NDArray[np.integer], horizon_days: int) -> FloatArray:
    """Per replicate, the first day below a threshold (``-1``: never, as in
    :attr:`TimeBelow.first_day <forcegen.analysis.answers.TimeBelow.first_day>`), with
    "never" counted as the day after the horizon, so every replicate is ranked."""
    days = np.asarray(first_day if isinstance(first_day, np.ndarray) else list(first_day))
    out: FloatArray = np.where(days >= 0, days, horizon_days).astype(np.float64)
    return out
