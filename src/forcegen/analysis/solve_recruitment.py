"""Priced recruitment read backwards: what sign-up bonus keeps recruitment at N a day?

:func:`solve_recruitment` finds the extra federal sign-up bonus (currency, the
channel's pay currency) that makes a channel's expected recruits per day over a
window equal a target: either on average over the window (``every_day=False``), or
at least the target on every day of it (``every_day=True``: the lowest day of the
mean over replicates). The bonus is added as in :func:`forcegen.analysis.solve.solve_hold`
(to the channel's federal bonus and every ``change_pay`` event that sets it), and
acts on a ``priced`` channel through the offer (docs/model.md, "Priced recruitment";
the marginal recruit gets dearer as the cheapest enlist first) and on a
``behavioural`` one through its pay elasticity.

Method. Every evaluation simulates the same replicates with the same seed (common
random numbers); the statistic, expected recruits minus the target (people per day),
increases with the bonus. Zero is the lower bracket; the upper one doubles until the
target is met; :func:`scipy.optimize.brentq` finds the root. In the mean-field mode
the statistic is smooth and the root is solved to ``1e-6`` of the bracket; in the
stochastic mode it is a mean over replicates, with its standard error reported.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from forcegen.analysis.answers import DateLike
from forcegen.analysis.solve import (
    Progress,
    _base_values,
    _lever_parameters,
    _lever_runs,
    _lever_schedule,
    _num,
    _pick_channel,
    _start_day,
)
from forcegen.engine.simulate import Mode
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario
from forcegen.sim import load

if TYPE_CHECKING:
    from forcegen.results.result import Result

__all__ = ["RecruitmentEvaluation", "RecruitmentSolve", "solve_recruitment"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class RecruitmentEvaluation:
    """One simulation at one extra bonus.

    Attributes:
        value: Extra federal sign-up bonus (currency).
        recruits_per_day: The statistic: mean recruits per day over the window, or the
            lowest day's mean over replicates (people per day).
        standard_error: Its standard error over replicates (0 in mean-field).
        daily: Mean recruits on each day of the window over replicates (people).
    """

    value: float
    recruits_per_day: float
    standard_error: float
    daily: FloatArray = field(repr=False)


@dataclass(frozen=True, eq=False)
class RecruitmentSolve:
    """The answer of :func:`solve_recruitment`.

    Attributes:
        scenario: Scenario name.
        channel: Channel whose bonus moves.
        parameters: Parameters shifted by the extra bonus.
        unit: Currency of the bonus.
        target: Recruits per day asked for (people per day).
        every_day: Whether every day of the window must reach the target (else the
            window's average).
        window: First and last day of the window.
        value: Extra federal bonus found (0 when the scenario already reaches it).
        baseline: The channel's own federal bonus, averaged over the window and
            replicates (currency): the total is about ``baseline + value``.
        reached: Recruits per day at ``value`` (people per day).
        standard_error: Its standard error (people per day; 0 in mean-field).
        baseline_recruits: Recruits per day without extra bonus.
        already_reached: The scenario reaches the target without extra bonus.
        evaluations: Every simulation, in the order run.
        runs: Replicates per simulation.
        seed: Seed of every simulation.
        mode: Engine mode.
    """

    scenario: str
    channel: str
    parameters: tuple[str, ...]
    unit: str
    target: float
    every_day: bool
    window: tuple[dt.date, dt.date]
    value: float
    baseline: float
    reached: float
    standard_error: float
    baseline_recruits: float
    already_reached: bool
    evaluations: tuple[RecruitmentEvaluation, ...] = field(repr=False)
    runs: int
    seed: int
    mode: str

    def describe(self) -> list[str]:
        """Plain-language lines summarising the answer."""
        start, end = self.window
        how = "on every day" if self.every_day else "on average"
        lines = [
            f"Target: {_num(self.target)} recruits per day into channel {self.channel} "
            f"{how} from {start} to {end}."
        ]
        if self.already_reached:
            lines.append(
                f"The scenario already reaches it without extra bonus "
                f"({_num(self.baseline_recruits)} recruits per day)."
            )
        else:
            lines.append(
                f"Extra federal sign-up bonus needed: {_num(self.value)} {self.unit}, on top "
                f"of the scenario's {_num(self.baseline)} {self.unit} on average; there "
                f"{_num(self.reached)} recruits per day (without extra: "
                f"{_num(self.baseline_recruits)})."
            )
        se = (
            f", standard error {_num(self.standard_error)} per day"
            if self.mode != "mean-field"
            else ""
        )
        lines.append(
            f"{len(self.evaluations)} simulations of {self.runs} replicates (seed {self.seed}, "
            f"common random numbers, {self.mode}{se})."
        )
        return lines


def solve_recruitment(
    scenario: Scenario | str | Path,
    recruits_per_day: float,
    *,
    channel: str | None = None,
    every_day: bool = False,
    start: DateLike | None = None,
    end: DateLike | None = None,
    runs: int = 256,
    seed: int = 0,
    mode: Mode = "mean-field",
    sample_parameters: bool = False,
    upper: float | None = None,
    max_doublings: int = 16,
    xtol: float | None = None,
    progress: Progress | None = None,
) -> RecruitmentSolve:
    """Extra federal sign-up bonus that keeps a channel's recruits at a daily target.

    Args:
        scenario: A scenario, a YAML path or a built-in name.
        recruits_per_day: Target (people per day), positive.
        channel: A ``priced`` or ``behavioural`` channel; may be omitted when the
            scenario has exactly one.
        every_day: Require the target on every day of the window (the lowest day of
            the mean over replicates) rather than on average.
        start, end: First and last day of the window (the horizon when None).
        runs: Replicates per simulation.
        seed: Seed of every simulation (common random numbers).
        mode: ``mean-field`` (default: the expected recruits, solved tightly) or
            ``stochastic``.
        sample_parameters: Sample uncertain parameters per replicate.
        upper: Highest extra bonus to try; found by doubling when None.
        max_doublings: How often the upper bracket may double.
        xtol: Absolute tolerance of the root (currency); 1e-6 of the bracket in
            mean-field, 1e-3 in stochastic mode, when None.
        progress: Called as ``progress(evaluations, bonus, recruits per day)``.

    Raises:
        UsageError: Arguments do not fit the scenario, or the target cannot be reached
            within the searched bracket (a pool too small or too dear).
    """
    if not recruits_per_day > 0:
        raise UsageError(f"recruits per day must be positive, got {recruits_per_day}")
    if runs < 1:
        raise UsageError(f"runs must be at least 1, got {runs}")
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    ch_id = _pick_channel(sc, "bonus", channel)
    names, unit = _lever_parameters(sc, "bonus", ch_id)
    base = _base_values(sc, names, runs=runs, seed=seed, sample=sample_parameters)
    first = _start_day(sc, start)
    last = _start_day(sc, end) if end is not None else sc.horizon_days - 1
    if last < first:
        raise UsageError(f"the window ends ({end}) before it starts ({start})")
    window = (
        sc.start_date + dt.timedelta(days=first),
        sc.start_date + dt.timedelta(days=last),
    )

    def measure(x: float, result: Result) -> RecruitmentEvaluation:
        daily = result.total("inflow", channels=ch_id, categories="recruited")[:, first : last + 1]
        mean_daily = daily.mean(axis=0)
        if every_day:
            k = int(np.argmin(mean_daily))
            stat, spread = float(mean_daily[k]), daily[:, k]
        else:
            per_run = daily.mean(axis=1)
            stat, spread = float(per_run.mean()), per_run
        se = float(spread.std(ddof=1) / np.sqrt(runs)) if runs > 1 else 0.0
        return RecruitmentEvaluation(x, stat, se, mean_daily)

    evaluate, done = _lever_runs(
        sc,
        names,
        base,
        runs=runs,
        seed=seed,
        mode=mode,
        sample_parameters=sample_parameters,
        measure=measure,
        statistic=lambda ev: ev.recruits_per_day,
        progress=progress,
    )

    baseline = float(_lever_schedule(sc, "bonus", ch_id, base)[:, first : last + 1].mean())
    lo = evaluate(0.0)

    def finish(at: RecruitmentEvaluation, already: bool) -> RecruitmentSolve:
        return RecruitmentSolve(
            scenario=sc.name,
            channel=ch_id,
            parameters=tuple(names),
            unit=unit,
            target=float(recruits_per_day),
            every_day=every_day,
            window=window,
            value=at.value,
            baseline=baseline,
            reached=at.recruits_per_day,
            standard_error=at.standard_error,
            baseline_recruits=lo.recruits_per_day,
            already_reached=already,
            evaluations=tuple(done.values()),
            runs=runs,
            seed=seed,
            mode=mode,
        )

    if lo.recruits_per_day >= recruits_per_day:
        return finish(lo, True)
    hi = upper if upper is not None else _first_upper(sc, ch_id, baseline)
    if hi <= 0:
        raise UsageError(f"upper bracket must be positive, got {hi}")
    hi_ev = evaluate(hi)
    doublings = 0
    while hi_ev.recruits_per_day < recruits_per_day and upper is None:
        if doublings >= max_doublings:
            break
        hi *= 2.0
        doublings += 1
        hi_ev = evaluate(hi)
    if hi_ev.recruits_per_day < recruits_per_day:
        raise UsageError(
            f"{_num(recruits_per_day)} recruits per day into channel {ch_id!r} are not "
            f"reached with up to {hi:,.4g} {unit} of extra federal bonus (there: "
            f"{_num(hi_ev.recruits_per_day)} per day). The pool may be too small or its "
            "replenishment too slow for this target, whatever the price."
        )
    tol = xtol if xtol is not None else (1e-6 if mode == "mean-field" else 1e-3) * hi
    root = float(
        optimize.brentq(
            lambda x: evaluate(x).recruits_per_day - recruits_per_day,
            0.0,
            hi,
            xtol=tol,
            rtol=1e-10,
            maxiter=100,
        )
    )
    return finish(evaluate(root), False)


def _first_upper(sc: Scenario, channel: str, baseline: float) -> float:
    """A first guess of the extra bonus: a year of salary, or the bonus already paid."""
    salary = float(sc.channel(channel).pay.salary_per_month.expected().mean())
    return max(12.0 * salary, baseline, 1000.0)
