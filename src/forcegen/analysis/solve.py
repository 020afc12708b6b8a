"""The inverse question: how many recruits, or what sign-up bonus, holds strength?

:func:`solve_hold` finds the smallest *extra* amount of one lever such that deployed
strength stays at or above ``hold_strength`` on every day of a window (by default the
whole horizon) with probability at least ``prob``:

* ``lever="recruits"`` — people per day **added** to a ``series`` channel's
  ``recruits_per_day`` on every step of its series and in every replicate. An added
  constant rather than a multiplier, because it answers "how many more recruits a
  month" directly and still works when the channel's own rate is zero; the sampled
  uncertainty of the rate itself is kept.
* ``lever="bonus"`` — currency (the channel's pay currency) **added** to a
  ``behavioural`` or ``priced`` channel's federal sign-up bonus, including any later
  ``change_pay`` event that sets it; the bonus acts on enlistment through the
  channel's pay elasticity, or through the offer of priced enlistment.

Method. Every evaluation simulates the same replicates with the same seed — common
random numbers, so that differences between lever values reflect the lever, not the
noise (see :mod:`forcegen.engine.streams`). The lever enters through the engine's
``given`` parameter values (the sampled values plus the extra amount), so every other
parameter keeps its sampled value. The share of replicates that hold is a step
function of the lever; the root-finder works on a smoother, monotone statistic
instead: the ``(1 − prob)`` quantile of each replicate's *minimum* strength over the
window, minus ``hold_strength``. It is non-negative exactly when at least a share
``prob`` of replicates hold (up to the interpolation between order statistics). The
lower bracket is zero (no extra); the upper one doubles until the target is met, then
:func:`scipy.optimize.brentq` finds the root. The uncertainty of the answer is a
bootstrap over replicates: each resample re-evaluates the statistic at every lever
value already simulated (no new simulations) and interpolates its root.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import optimize

from forcegen.analysis.answers import DateLike, Probability
from forcegen.engine.compile import DAYS_PER_MONTH
from forcegen.engine.sampling import sample_block
from forcegen.engine.simulate import Mode
from forcegen.engine.streams import blocks_for
from forcegen.errors import UsageError
from forcegen.scenario.model import ChangePay, Scenario, StartChannel
from forcegen.sim import Sim, load

if TYPE_CHECKING:
    from forcegen.results.result import Result

__all__ = ["Evaluation", "Lever", "SolveResult", "solve_hold"]

FloatArray = NDArray[np.float64]
Lever = Literal["recruits", "bonus"]
Progress = Callable[[int, float, float], None]
"""Called as ``progress(evaluations, lever_value, hold_probability)`` after each
simulation."""


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One simulation of the ensemble at one lever value.

    Attributes:
        value: Extra amount of the lever (people per day, or currency).
        probability: Share of replicates holding the target on every day of the window.
        margin: ``(1 − prob)`` quantile of the per-replicate minimum strength, minus the
            target (people); the statistic the root-finder drives to zero.
        minima: Per replicate, the minimum strength over the window (people).
        parameters: The sampled parameter values of the replicates (as
            :attr:`Result.parameters`), to tell which inputs decide ``minima``
            (:mod:`forcegen.analysis.basis`).
    """

    value: float
    probability: Probability
    margin: float
    minima: FloatArray
    parameters: Mapping[str, FloatArray] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, eq=False)
class SolveResult:
    """The answer of :func:`solve_hold`.

    Attributes:
        scenario: Scenario name.
        lever: ``recruits`` or ``bonus``.
        channel: Channel whose lever moves.
        parameters: Names of the parameters shifted by the lever.
        unit: Unit of :attr:`value` (``people per day`` or a currency).
        hold_strength: Target deployed strength (people).
        prob: Required probability of holding.
        window: First and last day on which the target must hold.
        value: Extra amount needed (0 when the scenario already holds).
        interval: Bootstrap interval of ``value`` over replicates (same unit).
        confidence: Coverage of ``interval``.
        baseline: Mean of the lever's own value in the scenario over the days of the
            window and the replicates, following its dated series and any
            ``change_pay`` event that sets it (people per day, or currency), so the
            total needed is about ``baseline + value``.
        probability: Hold probability at ``value``, with its Wilson interval.
        baseline_probability: Hold probability with no extra.
        already_holds: The scenario meets the target without any extra.
        bracket: Lever values searched (lowest, highest).
        evaluations: Every simulation, in the order run.
        runs: Replicates per simulation.
        seed: Seed of every simulation (common random numbers).
        mode: Engine mode.
        baseline_steps: The lever's own value as it changes over the window: (first
            day, mean over replicates) for each dated step or pay change in force
            during the window, the first at the window's start (same unit).
    """

    scenario: str
    lever: Lever
    channel: str
    parameters: tuple[str, ...]
    unit: str
    hold_strength: float
    prob: float
    window: tuple[dt.date, dt.date]
    value: float
    interval: tuple[float, float]
    confidence: float
    baseline: float
    probability: Probability
    baseline_probability: Probability
    already_holds: bool
    bracket: tuple[float, float]
    evaluations: tuple[Evaluation, ...] = field(repr=False)
    runs: int
    seed: int
    mode: str
    baseline_steps: tuple[tuple[dt.date, float], ...] = ()

    @property
    def answer(self) -> Evaluation:
        """The simulation at :attr:`value` (the one whose probability is reported)."""
        return next(e for e in self.evaluations if e.value == self.value)

    @property
    def simulations(self) -> int:
        """Number of ensemble simulations spent."""
        return len(self.evaluations)

    @property
    def replicates_simulated(self) -> int:
        """Replicates simulated in all (simulations × runs)."""
        return self.simulations * self.runs

    @property
    def per_month(self) -> tuple[float, tuple[float, float]] | None:
        """For the recruits lever: the extra recruits per month (people per month,
        average month) and its interval; None for the bonus lever."""
        if self.lever != "recruits":
            return None
        lo, hi = self.interval
        return self.value * DAYS_PER_MONTH, (lo * DAYS_PER_MONTH, hi * DAYS_PER_MONTH)

    def describe(self) -> list[str]:
        """Plain-language lines summarising the answer."""
        start, end = self.window
        pct = f"{self.confidence:.0%}"
        head = (
            f"Target: deployed strength ≥ {self.hold_strength:,.0f} on every day "
            f"{start} – {end} with probability ≥ {self.prob:.0%}."
        )
        lines = [head]
        if self.already_holds:
            lines.append(
                f"The scenario already meets it without extra {self.lever} "
                f"(hold probability {self.baseline_probability.format()})."
            )
        elif self.lever == "recruits":
            lo, hi = self.interval
            m = DAYS_PER_MONTH
            lines.append(
                f"Extra recruits needed in channel {self.channel}: "
                f"{_num(self.value)} per day [{pct}: {_num(lo)}–{_num(hi)}], i.e. "
                f"{_num(self.value * m)} per month [{_num(lo * m)}–{_num(hi * m)}], "
                f"on top of the scenario's {self._baseline_text('per day')}."
            )
        else:
            lo, hi = self.interval
            lines.append(
                f"Extra federal sign-up bonus needed in channel {self.channel}: "
                f"{_num(self.value)} {self.unit} [{pct}: {_num(lo)}–{_num(hi)}], on top "
                f"of the scenario's {self._baseline_text(self.unit)}."
            )
        if not self.already_holds:
            lines.append(
                f"Hold probability there: {self.probability.format()}; "
                f"without extra: {self.baseline_probability.format()}."
            )
        lines.append(
            f"{self.simulations} simulations of {self.runs} replicates (seed {self.seed}, "
            f"common random numbers, {self.mode}); lever searched over "
            f"[{self.bracket[0]:,.4g}, {self.bracket[1]:,.4g}]."
        )
        return lines

    def _baseline_text(self, unit: str) -> str:
        """``12 per day on average``, or with dated changes ``10 per day from
        2022-01-01, then 20 per day from 2023-01-01 (15 per day on average over the
        window)``."""
        if len(self.baseline_steps) <= 1:
            return f"{_num(self.baseline)} {unit} on average"
        steps = ", then ".join(f"{_num(v)} {unit} from {d}" for d, v in self.baseline_steps)
        return f"{steps} ({_num(self.baseline)} {unit} on average over the window)"


def solve_hold(
    scenario: Scenario | str | Path,
    hold_strength: float,
    *,
    prob: float = 0.8,
    channel: str | None = None,
    lever: Lever = "recruits",
    runs: int = 256,
    seed: int = 0,
    mode: Mode = "stochastic",
    sample_parameters: bool = True,
    start: DateLike | None = None,
    strength_channels: Sequence[str] | None = None,
    upper: float | None = None,
    max_doublings: int = 12,
    xtol: float | None = None,
    confidence: float = 0.9,
    bootstrap: int = 400,
    progress: Progress | None = None,
) -> SolveResult:
    """Extra recruits per day, or extra sign-up bonus, needed to hold deployed strength.

    Args:
        scenario: A scenario, a YAML path or a built-in name.
        hold_strength: Target deployed strength (people), summed over
            ``strength_channels`` (all channels when None).
        prob: Required probability that strength stays at or above the target on
            every day of the window, in (0, 1).
        channel: Channel whose lever moves; may be omitted when exactly one channel
            fits the lever (a ``series`` channel for recruits, a ``behavioural`` one
            for the bonus).
        lever: ``recruits`` (people per day added to ``recruits_per_day``) or
            ``bonus`` (currency added to the federal sign-up bonus).
        runs: Replicates per simulation.
        seed: Seed shared by every simulation (common random numbers).
        mode: ``stochastic`` or ``mean-field``.
        sample_parameters: Sample uncertain parameters per replicate, so the
            probability covers parameter uncertainty too.
        start: First day the target must hold (the first simulated day when None);
            the window runs to the horizon.
        strength_channels: Channels whose deployed strength counts (all when None).
        upper: Highest lever value to try; found by doubling when None.
        max_doublings: How often the upper bracket may double before giving up.
        xtol: Absolute tolerance of the root (lever units); when None, 1e-3 of the
            bracket (stochastic) or 1e-6 (mean-field).
        confidence: Coverage of the bootstrap interval.
        bootstrap: Bootstrap resamples of the replicates.
        progress: Called after each simulation.

    Raises:
        UsageError: Arguments do not fit the scenario, or the target cannot be
            reached within the searched bracket.
    """
    if not 0.0 < prob < 1.0:
        raise UsageError(f"prob must be in (0, 1), got {prob}")
    if hold_strength <= 0:
        raise UsageError(f"hold strength must be positive, got {hold_strength}")
    if lever not in ("recruits", "bonus"):
        raise UsageError(f"lever must be 'recruits' or 'bonus', got {lever!r}")
    if runs < 1:
        raise UsageError(f"runs must be at least 1, got {runs}")
    sc = scenario if isinstance(scenario, Scenario) else load(scenario)
    ch_id = _pick_channel(sc, lever, channel)
    unknown = sorted(set(strength_channels or ()) - {c.id for c in sc.channels})
    if unknown:
        raise UsageError(f"unknown channel(s) {', '.join(unknown)} in strength_channels")
    names, unit = _lever_parameters(sc, lever, ch_id)
    base = _base_values(sc, names, runs=runs, seed=seed, sample=sample_parameters)
    first_day = _start_day(sc, start)
    window = (sc.start_date + dt.timedelta(days=first_day), sc.end_date)

    def measure(x: float, result: Result) -> Evaluation:
        strength = result.total("strength", channels=strength_channels, categories="deployed")
        minima = strength[:, first_day:].min(axis=1)
        held = int((minima >= hold_strength).sum())
        margin = float(np.quantile(minima, 1.0 - prob)) - hold_strength
        return Evaluation(x, Probability(held, runs), margin, minima, result.parameters)

    evaluate, done = _lever_runs(
        sc,
        names,
        base,
        runs=runs,
        seed=seed,
        mode=mode,
        sample_parameters=sample_parameters,
        measure=measure,
        statistic=lambda ev: float(ev.probability),
        progress=progress,
    )

    daily = _lever_schedule(sc, lever, ch_id, base)[:, first_day:]
    baseline = float(daily.mean())
    steps = _schedule_steps(daily, window[0])
    lo_ev = evaluate(0.0)

    def finish(
        value: float,
        interval: tuple[float, float],
        answer: Evaluation,
        already: bool,
        bracket: tuple[float, float],
    ) -> SolveResult:
        return SolveResult(
            scenario=sc.name,
            lever=lever,
            channel=ch_id,
            parameters=tuple(names),
            unit=unit,
            hold_strength=float(hold_strength),
            prob=prob,
            window=window,
            value=value,
            interval=interval,
            confidence=confidence,
            baseline=baseline,
            probability=answer.probability,
            baseline_probability=lo_ev.probability,
            already_holds=already,
            bracket=bracket,
            evaluations=tuple(done.values()),
            runs=runs,
            seed=seed,
            mode=mode,
            baseline_steps=steps,
        )

    if lo_ev.margin >= 0.0:
        return finish(0.0, (0.0, 0.0), lo_ev, True, (0.0, 0.0))

    hi = upper if upper is not None else _initial_upper(sc, lever, ch_id, hold_strength, baseline)
    if hi <= 0:
        raise UsageError(f"upper bracket must be positive, got {hi}")
    hi_ev = evaluate(hi)
    doublings = 0
    while hi_ev.margin < 0.0 and upper is None and doublings < max_doublings:
        hi *= 2.0
        doublings += 1
        hi_ev = evaluate(hi)
    if hi_ev.margin < 0.0:
        raise UsageError(
            f"target not reachable with the {lever} lever of channel {ch_id!r} within "
            f"[0, {hi:,.4g}] {unit}: there the hold probability is "
            f"{hi_ev.probability.format()} < {prob:.0%} (the lowest strength reached in "
            f"{1 - prob:.0%} of replicates is {hi_ev.margin + hold_strength:,.0f} people). "
            "Other limits may bind: the initial force before recruits can deploy, "
            "training time, a depleted pool, or the channel being inactive."
        )

    # A stochastic estimate is noisy at the level of its bootstrap interval, far above
    # 1e-3 of the bracket, so a finer tolerance would only spend simulations; the
    # mean-field model is deterministic and smooth, and is solved tightly.
    tol = xtol if xtol is not None else (1e-6 if mode == "mean-field" else 1e-3) * hi
    root = float(
        optimize.brentq(lambda x: evaluate(x).margin, 0.0, hi, xtol=tol, rtol=1e-6, maxiter=60)
    )
    # brentq's root is within tol of a sign change; report the nearest simulated value
    # that holds, so the probability stated alongside was actually simulated there.
    holding = [e for e in done.values() if e.margin >= 0.0 and e.value >= root - tol]
    answer = min(holding, key=lambda e: e.value) if holding else evaluate(root)
    interval = _bootstrap_interval(
        list(done.values()), hold_strength, prob, confidence, bootstrap, seed
    )
    return finish(answer.value, interval, answer, False, (0.0, hi))


# ----------------------------------------------------------------------- internals
def _num(x: float) -> str:
    """About three significant figures, thousands separated: 1.71, 52.3, 1,234."""
    size = abs(x)
    if size >= 100 or size == 0:
        return f"{x:,.0f}"
    return f"{x:.1f}" if size >= 10 else f"{x:.2f}"


def _pick_channel(sc: Scenario, lever: Lever, channel: str | None) -> str:
    # The bonus acts through the behavioural model's pay elasticity, or the offer of
    # priced enlistment.
    models = ("series",) if lever == "recruits" else ("behavioural", "priced")
    model = " or ".join(models)
    fits = [c.id for c in sc.channels if c.enlistment.model in models]
    which = ", ".join(fits) if fits else "none"
    if channel is None:
        if len(fits) != 1:
            raise UsageError(
                f"choose a channel for the {lever} lever with --channel "
                f"({model} channels in {sc.name}: {which})"
            )
        channel = fits[0]
    try:
        ch = sc.channel(channel)
    except KeyError:
        known = ", ".join(c.id for c in sc.channels)
        raise UsageError(f"no channel {channel!r} in {sc.name} (channels: {known})") from None
    if ch.enlistment.model not in models:
        raise UsageError(
            f"the {lever} lever needs a {model} channel; {channel!r} is "
            f"{ch.enlistment.model} ({model} channels: {which})"
        )
    starts = any(isinstance(e, StartChannel) and e.channel == channel for e in sc.events)
    if not ch.active and not starts:
        # Its enlistment never runs, so no amount of the lever can change anything.
        raise UsageError(f"channel {channel!r} never recruits (inactive, no start event)")
    return channel


def _lever_parameters(sc: Scenario, lever: Lever, channel: str) -> tuple[list[str], str]:
    if lever == "recruits":
        return [f"channels.{channel}.enlistment.recruits_per_day"], "people per day"
    names = [f"channels.{channel}.pay.sign_up_bonus_federal"]
    # A change_pay event that sets the federal bonus replaces it from its date; shift
    # it too, so the extra applies over the whole horizon.
    for i, ev in enumerate(sc.events):
        if isinstance(ev, ChangePay) and ev.channel == channel and ev.sign_up_bonus_federal:
            names.append(f"events.{i}.sign_up_bonus_federal")
    currency = sc.channel(channel).pay.currency or sc.currency
    return names, currency


def _base_values(
    sc: Scenario, names: Sequence[str], *, runs: int, seed: int, sample: bool
) -> dict[str, FloatArray]:
    """The values the engine would use for ``names`` without the lever, for every
    replicate: sampling is a pure function of (scenario, seed, block), so this is the
    same draw the simulation makes."""
    parts: dict[str, list[FloatArray]] = {n: [] for n in names}
    for block in range(blocks_for(runs)):
        values = sample_block(sc, seed=seed, block=block, sample=sample).values
        for n in names:
            parts[n].append(values[n])
    return {n: np.concatenate(parts[n], axis=0)[:runs] for n in names}


def _lever_schedule(
    sc: Scenario, lever: Lever, channel: str, base: dict[str, FloatArray]
) -> FloatArray:
    """``(run, day)`` the lever's own value in force on each simulated day, as the
    engine builds it (``engine.compile``): the parameter's dated steps, then each
    ``change_pay`` event that sets it, in scenario order, from its date (people per
    day, or the pay currency)."""
    name = (
        f"channels.{channel}.enlistment.recruits_per_day"
        if lever == "recruits"
        else f"channels.{channel}.pay.sign_up_bonus_federal"
    )
    ch = sc.channel(channel)
    param = (
        getattr(ch.enlistment, "recruits_per_day", None)
        if lever == "recruits"
        else ch.pay.sign_up_bonus_federal
    )
    values = base[name]
    days = np.arange(sc.horizon_days)
    if values.ndim == 1:
        daily = np.repeat(values[:, None], sc.horizon_days, axis=1)
    else:
        dates = param.step_dates() if param is not None else []
        offsets = np.array([(d - sc.start_date).days for d in dates])
        step = np.clip(np.searchsorted(offsets, days, side="right") - 1, 0, None)
        daily = values[:, step]
    if lever == "bonus":
        for i, ev in enumerate(sc.events):
            if isinstance(ev, ChangePay) and ev.channel == channel and ev.sign_up_bonus_federal:
                new = base[f"events.{i}.sign_up_bonus_federal"]
                new = new if new.ndim == 1 else new[:, 0]
                daily[:, max(0, (ev.date - sc.start_date).days) :] = new[:, None]
    return np.asarray(daily, dtype=np.float64)


def _schedule_steps(daily: FloatArray, first: dt.date) -> tuple[tuple[dt.date, float], ...]:
    """(date, mean over replicates) at the start and at each day the value changes in
    any replicate."""
    if daily.shape[1] == 0:
        return ()
    changed = np.flatnonzero((daily[:, 1:] != daily[:, :-1]).any(axis=0)) + 1
    starts = [0, *changed.tolist()]
    return tuple((first + dt.timedelta(days=int(d)), float(daily[:, d].mean())) for d in starts)


E = TypeVar("E")


def _lever_runs(
    sc: Scenario,
    names: Sequence[str],
    base: Mapping[str, FloatArray],
    *,
    runs: int,
    seed: int,
    mode: Mode,
    sample_parameters: bool,
    measure: Callable[[float, Result], E],
    statistic: Callable[[E], float],
    progress: Progress | None,
) -> tuple[Callable[[float], E], dict[float, E]]:
    """Simulate the scenario with ``x`` (lever units) added to every parameter of
    ``names`` on top of ``base``, each ``x`` once: returns the function of ``x`` that
    runs (or recalls) the simulation and ``measure``s it, and the measurements by
    ``x`` in the order run. The same seed at every ``x``: common random numbers."""
    done: dict[float, E] = {}

    def evaluate(x: float) -> E:
        x = float(x)
        if x in done:
            return done[x]
        given = {n: base[n] + x for n in names}
        result = Sim(
            sc, runs=runs, seed=seed, mode=mode, sample_parameters=sample_parameters, given=given
        ).run()
        done[x] = ev = measure(x, result)
        if progress is not None:
            progress(len(done), x, statistic(ev))
        return ev

    return evaluate, done


def _start_day(sc: Scenario, start: DateLike | None) -> int:
    if start is None:
        return 0
    import pandas as pd

    try:
        day = pd.Timestamp(start).date()
    except (ValueError, TypeError) as exc:
        raise UsageError(f"cannot read {start!r} as a date (expected YYYY-MM-DD)") from exc
    offset = (day - sc.start_date).days
    if not 0 <= offset < sc.horizon_days:
        raise UsageError(f"start {day} is outside the horizon {sc.start_date} – {sc.end_date}")
    return offset


def _initial_upper(
    sc: Scenario, lever: Lever, channel: str, hold_strength: float, baseline: float
) -> float:
    """A first guess of a lever value that holds; doubled until it does."""
    if lever == "recruits":
        # Enough people per day to build the target from nothing over the horizon, or
        # the channel's own rate, whichever is larger.
        return max(hold_strength / sc.horizon_days, baseline, 1.0)
    # A bonus worth a year of salary roughly doubles the pay the behavioural model
    # compares with the wage over a one-year contract.
    salary = float(sc.channel(channel).pay.salary_per_month.expected().mean())
    return max(12.0 * salary, baseline, 1000.0)


def _bootstrap_interval(
    evaluations: Sequence[Evaluation],
    hold_strength: float,
    prob: float,
    confidence: float,
    resamples: int,
    seed: int,
) -> tuple[float, float]:
    """Interval of the root over bootstrap resamples of the replicates.

    Replicate ``k`` is the same replicate in every evaluation (common random
    numbers), so one resample of replicate indices applies to all lever values; the
    root of each resample is interpolated linearly between the simulated values on
    either side of its first non-negative margin.
    """
    ordered = sorted(evaluations, key=lambda e: e.value)
    xs = np.array([e.value for e in ordered])
    minima = np.stack([e.minima for e in ordered])  # (m, runs)
    runs = minima.shape[1]
    # A fixed generator: the interval, like everything else, depends only on the seed.
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(7,)))
    roots = np.empty(resamples)
    for b in range(resamples):
        idx = rng.integers(0, runs, runs)
        g = np.quantile(minima[:, idx], 1.0 - prob, axis=1) - hold_strength
        ok = np.flatnonzero(g >= 0.0)
        if ok.size == 0:
            roots[b] = xs[-1]
            continue
        i = int(ok[0])
        if i == 0:
            roots[b] = xs[0]
            continue
        x0, x1, g0, g1 = xs[i - 1], xs[i], g[i - 1], g[i]
        roots[b] = x0 + (x1 - x0) * (-g0) / (g1 - g0) if g1 != g0 else x1
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(roots, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
