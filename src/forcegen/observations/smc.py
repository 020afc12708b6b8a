"""Calibration to a ledger: tempered sequential Monte Carlo on the simulated trajectory.

The unknowns are, in the unit cube, the quantiles of the chosen scenario parameters
(their priors are then exactly the scenario's distributions), of each observation
factor group (uniform on its range) and of each before-start rate (uniform on its
range). The likelihood is the observation model of :mod:`forcegen.observations`:
``log(reported) ~ Normal(log(factor × truth), log_sd²)`` for a figure, the normal
tail probability for a one-sided figure. The truth comes from one simulation per
particle — by default the deterministic mean-field trajectory (cheap, and the
likelihood is then exact, not a noisy estimate).

Algorithm (adaptive tempering, Del Moral, Doucet & Jasra 2006; Jasra et al. 2011):
two or more independent populations of particles start from the prior; each stage
raises the likelihood's exponent β as far as keeps every population's effective
sample size at ``ess_target`` × N (bisection; one schedule for all), resamples
(systematic), and moves every particle with Metropolis–Hastings steps targeting
prior × likelihood^β. Each step proposes, per particle, either an independent draw
from a normal fitted to its population in logit space (with the Jacobian in the
acceptance ratio) or a random walk scaled from the population's covariance; a stage
keeps moving, between ``moves`` and ``max_moves`` steps, until the particles' mean
distance from where the stage left them grows by less than 10 % a step. Factors and
before-start rates need no new simulation, so each expensive step is followed by cheap
steps on them alone. The run ends at β = 1 — the exact posterior of the stated
observation model — or when the simulation budget runs out (β < 1: a tempered
posterior, which the diagnostics flag). The posterior passes only if the populations
agree (rank-normalised R-hat, :mod:`forcegen.observations.convergence`): one
population that passes its own checks can still be wrong in a way only a second,
independent one shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from forcegen.analysis.sensitivity import resolve_parameters, simulate_design, through_day
from forcegen.engine.simulate import Mode
from forcegen.errors import UsageError
from forcegen.observations.check import PosteriorDraws, factor_matrix, log_sds
from forcegen.observations.convergence import POPULATION_RHAT_MAX, population_rhat
from forcegen.observations.measure import Resolved, Truth
from forcegen.observations.scoring import LOG_FLOOR
from forcegen.scenario.params import Param

__all__ = [
    "MAX_MOVES",
    "MIN_MOVES",
    "PARTICLES",
    "POPULATIONS",
    "Diagnostics",
    "LedgerPosterior",
    "calibratable",
    "choose_parameters",
    "log_likelihood",
    "smc_calibrate",
]

FloatArray = NDArray[np.float64]
Progress = Callable[[int, int], None]
_LOG_2PI = math.log(2 * math.pi)
MIN_ESS_SHARE = 0.3
"""A posterior is refused below this effective sample size (share of particles)."""
MIN_UNIQUE_SHARE = 0.3
"""…or when fewer distinct particles than this share survive the final moves."""
MAX_DISCREPANCY = 1.0
"""Upper end of the model discrepancy's uniform prior (log-scale sd; 1 ≈ a factor of
e either way): what the model's structure misses beyond the sources' stated errors."""
PARTICLES = 128
"""Particles per population, by default."""
POPULATIONS = 2
"""Independent populations, by default: the fewest whose agreement (R-hat) can be
checked, so a posterior can pass."""
MIN_MOVES = 8
"""Least Metropolis steps with a new simulation per stage, by default. With 3 the
populations of the ``russia-2022-2026`` calibration disagreed (R-hat 1.185) although
every other diagnostic passed; with 8 they agreed (docs/calibration.md)."""
MAX_MOVES = 30
"""Most Metropolis steps with a new simulation per stage, by default (a stage stops
earlier once the particles stop moving further from where it left them)."""


def log_likelihood(
    truth: FloatArray,
    factors: FloatArray,
    log_sd: FloatArray,
    observed: FloatArray,
    bound: Sequence[str],
    discrepancy: FloatArray | None = None,
) -> FloatArray:
    """``(draws,)`` log-likelihood of the observations under the observation model.

    Args:
        truth: ``(draws, n)`` simulated truth.
        factors: ``(draws, n)`` observation factors.
        log_sd: ``(n,)`` log-scale error sd.
        observed: ``(n,)`` reported values (> 0).
        bound: Per observation ``point``, ``lower`` (reported ≥ value) or ``upper``.
        discrepancy: ``(draws,)`` model discrepancy τ, added in quadrature to every
            error sd (``sqrt(log_sd² + τ²)``); None for none.
    """
    mu = np.log(np.maximum(truth * factors, LOG_FLOOR))
    sd = np.broadcast_to(log_sd[None, :], truth.shape)
    if discrepancy is not None:
        sd = np.sqrt(sd**2 + discrepancy[:, None] ** 2)
    z = (np.log(observed)[None, :] - mu) / sd
    lower = np.array([b == "lower" for b in bound])
    upper = np.array([b == "upper" for b in bound])
    point = ~(lower | upper)
    ll = np.zeros(truth.shape[0])
    if point.any():
        ll += np.sum(-0.5 * z[:, point] ** 2 - np.log(sd[:, point]) - 0.5 * _LOG_2PI, axis=1)
    if lower.any():
        ll += np.sum(special.log_ndtr(-z[:, lower]), axis=1)
    if upper.any():
        ll += np.sum(special.log_ndtr(z[:, upper]), axis=1)
    return np.asarray(ll, dtype=np.float64)


@dataclass(frozen=True)
class Diagnostics:
    """Whether a posterior can be trusted, and why not.

    Attributes:
        final_temperature: 1/β of the last stage; 1 = the exact posterior.
        ess: Effective sample size of the last reweighting (particles; the smallest of
            the populations').
        ess_share: ``ess`` over the particles of one population.
        unique_share: Distinct particles after the final moves, over the particles of
            one population (the smallest share).
        acceptance: Metropolis acceptance rate of the final stage's moves.
        stages: Tempering stages run.
        simulations: Simulations run (one trajectory each).
        populations: Independent populations run.
        rhat: Unknown → rank-normalised R-hat across the populations (empty for one).
        log_evidence: Each population's estimate of the log marginal likelihood (nats),
            when it reached β = 1; they agree when the populations found the same
            posterior.
        moves: Metropolis steps with a simulation run at each stage.
    """

    final_temperature: float
    ess: float
    ess_share: float
    unique_share: float
    acceptance: float
    stages: int
    simulations: int
    populations: int = 1
    rhat: dict[str, float] = field(default_factory=dict)
    log_evidence: list[float] = field(default_factory=list)
    moves: list[int] = field(default_factory=list)

    @property
    def max_rhat(self) -> float:
        """The largest R-hat across the populations (NaN with one population)."""
        return max(self.rhat.values()) if self.rhat else math.nan

    @property
    def worst(self) -> str:
        """The unknown with the largest R-hat ('' with one population)."""
        return max(self.rhat, key=self.rhat.__getitem__) if self.rhat else ""

    @property
    def passed(self) -> bool:
        """T = 1, ESS ≥ 30 %, ≥ 30 % distinct particles, and two or more populations
        whose every unknown has R-hat below :data:`POPULATION_RHAT_MAX`."""
        return not self.failures()

    def failures(self) -> list[str]:
        """What failed, in words, with what to try."""
        out = []
        if abs(self.final_temperature - 1.0) >= 1e-9:
            out.append(
                f"final temperature {self.final_temperature:.3g}, not 1: the budget ran out "
                "before the exact posterior (raise --budget, or calibrate fewer parameters)"
            )
        if self.ess_share < MIN_ESS_SHARE:
            out.append(
                f"effective sample size {self.ess:.0f} ({self.ess_share:.0%} of the particles, "
                f"below {MIN_ESS_SHARE:.0%}): raise --particles"
            )
        if self.unique_share < MIN_UNIQUE_SHARE:
            out.append(
                f"only {self.unique_share:.0%} distinct particles after the final moves "
                f"(below {MIN_UNIQUE_SHARE:.0%}): the moves do not mix; raise --moves"
            )
        if self.populations < 2:
            out.append(
                "one population: whether another run would find the same posterior is "
                "not checked (run --populations 2 or more)"
            )
        elif self.max_rhat >= POPULATION_RHAT_MAX:
            out.append(
                f"the {self.populations} independent populations disagree: R-hat "
                f"{self.max_rhat:.3f} for {self.worst} (at most {POPULATION_RHAT_MAX} "
                "passes); the result depends on the seed: raise --moves, --max-moves or "
                "--particles, or calibrate fewer parameters"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """Plain values, for JSON and reports."""
        return {
            "final_temperature": self.final_temperature,
            "ess": self.ess,
            "ess_share": self.ess_share,
            "unique_share": self.unique_share,
            "acceptance": self.acceptance,
            "stages": self.stages,
            "simulations": self.simulations,
            "populations": self.populations,
            "max_rhat": None if math.isnan(self.max_rhat) else self.max_rhat,
            "worst_rhat": self.worst,
            "rhat": dict(self.rhat),
            "log_evidence": list(self.log_evidence),
            "moves": list(self.moves),
            "passed": self.passed,
        }


@dataclass
class LedgerPosterior:
    """The posterior of a ledger calibration: equally weighted particles.

    Attributes:
        resolved: The measurements calibrated to.
        parameters: Scenario parameter names calibrated (quantile columns).
        particles: ``(N, D)`` quantiles: parameters, then factor groups
            (:attr:`Resolved.groups`), then before-start rates (:attr:`Resolved.offsets`),
            then (with ``discrepancy``) the model discrepancy τ / MAX_DISCREPANCY.
        diagnostics: Whether it can be trusted.
        temperatures: β of each stage.
        discrepancy: Whether the last column is the model discrepancy's quantile.
        mode: Simulation mode used.
        seed: Seed.
        elapsed_seconds: Wall time.
    """

    resolved: Resolved
    parameters: list[str]
    particles: FloatArray
    diagnostics: Diagnostics
    temperatures: list[float]
    mode: Mode
    seed: int
    elapsed_seconds: float = 0.0
    columns: list[str] = field(default_factory=list)
    discrepancy: bool = True

    def frame(self) -> pd.DataFrame:
        """The particles as a table, one column per unknown (quantiles in [0, 1])."""
        return pd.DataFrame(self.particles, columns=self.columns)

    def draws(self, resolved: Resolved) -> PosteriorDraws:
        """Factor and before-start quantiles per particle in ``resolved``'s column
        order; groups or offsets this calibration did not see are drawn uniformly
        (from a stream of the seed): their prior, since no data spoke to them."""
        rng = np.random.default_rng([self.seed, 77])
        n = self.particles.shape[0]
        k = len(self.parameters)
        own_groups = self.resolved.groups
        own_offsets = self.resolved.offsets
        factors = rng.random((n, len(resolved.groups)))
        for j, g in enumerate(resolved.groups):
            if g in own_groups:
                factors[:, j] = self.particles[:, k + own_groups.index(g)]
        offsets = rng.random((n, len(resolved.offsets)))
        for j, o in enumerate(resolved.offsets):
            if o in own_offsets:
                offsets[:, j] = self.particles[:, k + len(own_groups) + own_offsets.index(o)]
        tau = MAX_DISCREPANCY * self.particles[:, -1] if self.discrepancy else None
        return PosteriorDraws(factors, offsets, tau)

    def parameter_quantiles(self) -> dict[str, FloatArray]:
        """Scenario parameter name → quantile per particle (for ``Sim(given_quantiles=)``)."""
        return {name: self.particles[:, j] for j, name in enumerate(self.parameters)}


def calibratable(param: Param) -> bool:
    """Whether SMC can calibrate ``param``: not a series whose steps vary apart
    (``step_correlation`` below 1). Those steps take their own quantiles from a stream
    of the seed, so the same particle would give a different trajectory at every
    simulation, and the likelihood would be a noisy function of the unknowns."""
    return param.steps_move_together


def choose_parameters(
    resolved: Resolved, k: int, *, mode: Mode = "mean-field", client: Any = None
) -> list[str]:
    """The ``k`` uncertain parameters that move the observations most, in units of
    their error: each parameter at its 10 % and 90 % quantiles (a series' steps
    together), the others at their expected values; score ``Σ_i |Δ log truth_i| / s_i``.
    The observed values are not used, so the choice does not peek at the data; no
    random number is drawn in mean-field mode, so it does not depend on the seed.
    Series whose steps vary apart are not candidates (:func:`calibratable`)."""
    scen = resolved.scenario
    refs = [r for r in resolve_parameters(scen, None) if calibratable(r.param)]
    p = len(refs)
    given: dict[str, FloatArray] = {}
    for j, ref in enumerate(refs):
        expected = ref.param.expected()  # one value per step of a series
        base = expected if ref.param.is_series else expected[0]
        values = np.tile(base, (2 * p, 1)) if ref.param.is_series else np.full(2 * p, base)
        values[2 * j : 2 * j + 2] = ref.param.values(np.array([0.1, 0.9]))
        given[ref.name] = values
    truth = Truth.of(resolved)
    flows = simulate_design(
        through_day(scen, resolved.last_day),
        2 * p,
        {},
        truth.flows,
        given=given,
        seed=0,
        mode=mode,
        client=client,
    )
    values = np.log(np.maximum(truth.finish(flows, _mid_rates(resolved, 2 * p)), LOG_FLOOR))
    sd = log_sds(resolved.measurements)
    influence = np.sum(np.abs(values[1::2] - values[0::2]) / sd[None, :], axis=1)
    order = np.argsort(-influence, kind="stable")
    return [refs[j].name for j in order[:k] if influence[j] > 0]


def _mid_rates(resolved: Resolved, n: int) -> FloatArray | None:
    if not resolved.offsets:
        return None
    before = [resolved.mapping.before_start[t] for t in resolved.offsets]
    return np.tile([0.5 * (b.low + b.high) for b in before], (n, 1))


def smc_calibrate(
    resolved: Resolved,
    *,
    params: Sequence[str] | None = None,
    max_params: int = 6,
    particles: int = PARTICLES,
    populations: int = POPULATIONS,
    moves: int = MIN_MOVES,
    max_moves: int = MAX_MOVES,
    cheap_moves: int = 10,
    ess_target: float = 0.5,
    budget: int = 200_000,
    seed: int = 0,
    mode: Mode = "mean-field",
    discrepancy: bool = True,
    client: Any = None,
    progress: Progress | None = None,
) -> LedgerPosterior:
    """Calibrate ``resolved``'s scenario to its measurements by tempered SMC.

    ``populations`` independent particle populations run side by side (their
    simulations share the engine's batched calls, and one tempering schedule: each
    stage's step is the smallest any population allows); the posterior is their pooled
    particles, and it passes only if they agree (:data:`~forcegen.observations.
    convergence.POPULATION_RHAT_MAX`). Each stage moves the particles with a mixture of
    an independent proposal fitted to the population (in logit space) and a random
    walk, ``moves`` to ``max_moves`` times: until the particles' mean distance from
    where the stage left them stops growing by 10 % per move.

    Args:
        resolved: The ledger resolved against the scenario (its usable rows are the
            training data).
        params: Scenario parameters to calibrate; None: the ``max_params`` that move
            the observations most (:func:`choose_parameters`). The other uncertain
            parameters are held at their expected values: the posterior is
            conditional on them.
        particles: Particles per population N.
        populations: Independent populations (≥ 2 for the agreement check; 1 runs,
            but cannot pass).
        moves: Least Metropolis steps with a new simulation per stage.
        max_moves: Most Metropolis steps with a new simulation per stage.
        cheap_moves: Steps on factors and before-start rates alone after each.
        ess_target: Share of N the effective sample size is kept at when β rises.
        budget: Most simulations; the run stops (tempered) when they are spent.
        seed: Seed of every draw.
        mode: ``mean-field`` (default: deterministic, exact likelihood) or
            ``stochastic`` (a pseudo-marginal estimate; much noisier).
        discrepancy: Infer a model discrepancy τ ~ uniform(0, MAX_DISCREPANCY), added
            in quadrature to every observation's error: without it, a model that
            cannot follow the record is forced into a confident wrong posterior.
        client: A Dask client, or None.
        progress: Called with ``(simulations, budget)`` after each batch.

    Raises:
        UsageError: No usable row, too few particles, a bad setting, or a parameter
            whose steps vary apart (see :func:`calibratable`).
    """
    start = time.perf_counter()
    if not resolved.measurements:
        raise UsageError("no usable observation to calibrate to")
    if particles < 20:
        raise UsageError(f"particles must be at least 20, got {particles}")
    if populations < 1:
        raise UsageError(f"populations must be at least 1, got {populations}")
    if not 1 <= moves <= max_moves:
        raise UsageError(f"need 1 ≤ moves ≤ max_moves, got {moves} and {max_moves}")
    if not 0 < ess_target < 1:
        raise UsageError(f"ess_target must be in (0, 1), got {ess_target}")
    names = (
        list(params)
        if params is not None
        else choose_parameters(resolved, max_params, mode=mode, client=client)
    )
    refs = resolve_parameters(resolved.scenario, names)
    names = [r.name for r in refs]
    apart = [r.name for r in refs if not calibratable(r.param)]
    if apart:
        raise UsageError(
            f"cannot calibrate {', '.join(apart)}: the steps of the series vary apart "
            "(step_correlation below 1), drawn from the seed, so the likelihood would be "
            "a noisy function of the parameters; calibrate the parameters it depends on, "
            "or give the series a step_correlation of 1"
        )
    groups, offsets = resolved.groups, resolved.offsets
    k, g, o = len(names), len(groups), len(offsets)
    d = 1 if discrepancy else 0
    dim = k + g + o + d
    ms = resolved.measurements
    truth = Truth.of(resolved)
    short = through_day(resolved.scenario, resolved.last_day)
    sd = log_sds(ms)
    observed = np.array([m.observed for m in ms])
    bounds = [m.row.bound for m in ms]
    before = [resolved.mapping.before_start[t] for t in offsets]
    off_lo = np.array([b.low for b in before])
    off_hi = np.array([b.high for b in before])
    rng = np.random.default_rng([seed, 91])
    state = {"simulations": 0, "batches": 0}
    n_pop, total = particles, particles * populations

    def simulate(theta: FloatArray) -> FloatArray:
        state["batches"] += 1
        state["simulations"] += theta.shape[0]
        if k == 0:
            flows = simulate_design(short, 1, {}, truth.flows, seed=seed, mode=mode, client=client)
            out = np.repeat(flows, theta.shape[0], axis=0)
        else:
            out = simulate_design(
                short,
                theta.shape[0],
                {name: theta[:, j] for j, name in enumerate(names)},
                truth.flows,
                seed=int(np.random.SeedSequence([seed, 92, state["batches"]]).generate_state(1)[0]),
                mode=mode,
                client=client,
            )
        if progress is not None:
            progress(state["simulations"], budget)
        return out

    def loglik(theta: FloatArray, flows: FloatArray) -> FloatArray:
        rates = off_lo + (off_hi - off_lo) * theta[:, k + g : k + g + o] if o else None
        values = truth.finish(flows, rates)
        factors = factor_matrix(ms, groups, theta[:, k : k + g])
        tau = MAX_DISCREPANCY * theta[:, -1] if d else None
        return log_likelihood(values, factors, sd, observed, bounds, tau)

    # Interior of the unit cube: the logit proposals need 0 < θ < 1.
    theta = np.clip(rng.random((total, dim)), _EDGE, 1 - _EDGE)
    flows = simulate(theta)
    ll = loglik(theta, flows)
    pop = [slice(p * n_pop, (p + 1) * n_pop) for p in range(populations)]
    beta = 0.0
    temperatures: list[float] = []
    ess = float(n_pop)
    acceptance = 1.0
    unique = 1.0
    log_evidence = np.zeros(populations)
    moves_run: list[int] = []
    kernel = _MoveKernel(dim, rng)
    while beta < 1.0:
        if state["simulations"] + moves * total > budget:
            break
        steps = [_next_step(ll[s], beta, ess_target * n_pop) for s in pop]
        delta = min(step for step, _ in steps)
        beta = min(1.0, beta + delta)
        temperatures.append(beta)
        ess = min(_ess(delta * np.where(np.isfinite(ll[s]), ll[s], -1e300)) for s in pop)
        index = np.empty(total, dtype=np.int64)
        for p, s in enumerate(pop):
            finite = np.where(np.isfinite(ll[s]), ll[s], -1e300)
            top = float(finite.max())
            w = np.exp(delta * (finite - top))
            log_evidence[p] += delta * top + math.log(float(w.mean()))
            index[s] = s.start + _systematic(w / w.sum(), rng)
        theta, flows, ll = theta[index], flows[index], ll[index]
        origin = theta.copy()
        kernel.fit(theta, pop)
        accepted = tried = 0
        distance = 0.0
        for m in range(max_moves):
            if m >= moves and state["simulations"] + total > budget:
                break
            proposal, log_q = kernel.propose(theta)
            new_flows = flows.copy()
            new_ll = np.full(total, -np.inf)
            inside = np.all((proposal > 0) & (proposal < 1), axis=1)
            if inside.any():
                if k:
                    new_flows[inside] = simulate(proposal[inside])
                new_ll[inside] = loglik(proposal[inside], new_flows[inside])
            accept = np.log(rng.random(total)) < beta * (new_ll - ll) + log_q
            theta[accept], flows[accept], ll[accept] = (
                proposal[accept],
                new_flows[accept],
                new_ll[accept],
            )
            kernel.adapt(accept)
            accepted += int(accept.sum())
            tried += total
            if g + o + d:
                theta, ll = _cheap_moves(theta, flows, ll, beta, k, cheap_moves, rng, loglik)
            # Stop moving once the particles' mean squared distance from where this
            # stage resampled them has stopped growing (Chopin & Papaspiliopoulos 2020,
            # the adaptive length of ``particles``' MCMC sequences): more moves would
            # cost simulations without decorrelating them further.
            moved = kernel.distance(theta, origin)
            grew = moved > distance * (1 + _MOVE_GROWTH)
            distance = max(distance, moved)
            if m + 1 >= moves and not grew:
                break
        moves_run.append(m + 1)
        acceptance = accepted / max(tried, 1)
        unique = min(len({tuple(row) for row in np.round(theta[s], 12)}) / n_pop for s in pop)
    rhat = _population_rhats(theta, pop) if populations > 1 else {}
    final_t = 1.0 / beta if beta > 0 else math.inf
    columns = names + [f"factor:{x}" for x in groups] + [f"before:{x}" for x in offsets]
    columns += ["discrepancy"] if d else []
    diagnostics = Diagnostics(
        final_temperature=final_t,
        ess=ess,
        ess_share=ess / n_pop,
        unique_share=unique,
        acceptance=acceptance,
        stages=len(temperatures),
        simulations=state["simulations"],
        populations=populations,
        rhat={columns[j]: r for j, r in rhat.items()},
        log_evidence=[float(x) for x in log_evidence] if beta >= 1.0 else [],
        moves=moves_run,
    )
    return LedgerPosterior(
        resolved=resolved,
        parameters=names,
        particles=theta,
        diagnostics=diagnostics,
        temperatures=temperatures,
        mode=mode,
        seed=seed,
        elapsed_seconds=time.perf_counter() - start,
        columns=columns,
        discrepancy=bool(d),
    )


_EDGE = 1e-9
"""Distance of the particles from the unit cube's faces (the logit is finite there)."""
_MOVE_GROWTH = 0.1
"""A stage keeps moving while the mean distance travelled grows by more than this."""
_INDEPENDENT_SHARE = 0.5
"""Probability that a particle's move is the independent proposal (else a random walk)."""


@dataclass(frozen=True)
class _Fit:
    """One population's proposal fits, made after a stage's resampling."""

    rows: slice
    mean: FloatArray  # of logit θ
    chol_z: FloatArray  # Cholesky factor of logit θ's covariance
    chol_u: FloatArray  # Cholesky factor of θ's covariance
    precision: FloatArray  # inverse of θ's covariance


class _MoveKernel:
    """Metropolis–Hastings moves for the unit-cube unknowns: per particle, with
    probability :data:`_INDEPENDENT_SHARE` an independent proposal from a normal fitted
    to its population in logit space (a fresh draw when accepted: it breaks the
    genealogy that resampling leaves), else a random walk scaled from the population's
    covariance (it explores where the fitted normal is poor). Both leave
    prior × likelihood^β invariant, so the fixed mixture does too."""

    def __init__(self, dim: int, rng: np.random.Generator) -> None:
        self.dim, self.rng = dim, rng
        self.scale = 2.38 / math.sqrt(max(dim, 1))
        self.walk: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self.fits: list[_Fit] = []

    def fit(self, theta: FloatArray, pop: Sequence[slice]) -> None:
        """Fit each population's proposals to its particles (after resampling)."""
        eye = np.eye(self.dim)
        self.fits = []
        for rows in pop:
            z = _logit(theta[rows])
            cov_z = np.cov(z.T).reshape(self.dim, self.dim) + 1e-8 * eye
            cov_u = np.cov(theta[rows].T).reshape(self.dim, self.dim) + 1e-10 * eye
            self.fits.append(
                _Fit(
                    rows=rows,
                    mean=z.mean(axis=0),
                    chol_z=np.asarray(np.linalg.cholesky(cov_z), np.float64),
                    chol_u=np.asarray(np.linalg.cholesky(cov_u), np.float64),
                    precision=np.asarray(np.linalg.inv(cov_u), np.float64),
                )
            )

    def propose(self, theta: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Proposals, and each one's log proposal-density ratio
        log q(θ | θ') − log q(θ' | θ) (0 for the symmetric random walk)."""
        n = theta.shape[0]
        self.walk = np.asarray(self.rng.random(n) >= _INDEPENDENT_SHARE)
        noise = self.rng.standard_normal((n, self.dim))
        proposal = np.empty_like(theta)
        log_q = np.zeros(n)
        for f in self.fits:
            walk, here = self.walk[f.rows], theta[f.rows]
            step = here + self.scale * noise[f.rows] @ f.chol_u.T
            z_new = f.mean + noise[f.rows] @ f.chol_z.T
            fresh = _expit(z_new)
            # Independent proposal: q(θ') is the normal density of logit θ' times the
            # logit's Jacobian, 1/(θ'(1 − θ')) per coordinate.
            ratio = _log_normal(_logit(here), f.mean, f.chol_z) - _log_normal(
                z_new, f.mean, f.chol_z
            )
            ratio += np.sum(_log_jacobian(fresh) - _log_jacobian(here), axis=1)
            proposal[f.rows] = np.where(walk[:, None], step, fresh)
            log_q[f.rows] = np.where(walk, 0.0, ratio)
        return proposal, log_q

    def adapt(self, accept: NDArray[np.bool_]) -> None:
        """Keep the random walk's acceptance near its optimum (about 0.23)."""
        if self.walk.any():
            self.scale *= math.exp(float(accept[self.walk].mean()) - 0.234)

    def distance(self, theta: FloatArray, origin: FloatArray) -> float:
        """Mean squared Mahalanobis distance (the stage's covariance) from ``origin``."""
        total = 0.0
        for f in self.fits:
            diff = theta[f.rows] - origin[f.rows]
            total += float(np.mean(np.einsum("ij,jk,ik->i", diff, f.precision, diff)))
        return total / len(self.fits)


def _logit(u: FloatArray) -> FloatArray:
    return np.asarray(special.logit(u), dtype=np.float64)


def _expit(z: FloatArray) -> FloatArray:
    return np.clip(np.asarray(special.expit(z), dtype=np.float64), _EDGE, 1 - _EDGE)


def _log_jacobian(u: FloatArray) -> FloatArray:
    """log |dθ/dz| of θ = expit(z), per coordinate: log θ(1 − θ)."""
    return np.asarray(np.log(u) + np.log1p(-u), dtype=np.float64)


def _log_normal(z: FloatArray, mean: FloatArray, chol: FloatArray) -> FloatArray:
    """Log density of N(mean, chol cholᵀ) at the rows of ``z`` (up to the constant,
    which cancels in the ratio)."""
    solved = np.linalg.solve(chol, (z - mean).T)
    return np.asarray(-0.5 * np.sum(solved**2, axis=0), dtype=np.float64)


def _population_rhats(theta: FloatArray, pop: Sequence[slice]) -> dict[int, float]:
    """R-hat of each unknown across the populations (NaN ones left out)."""
    out = {}
    for j in range(theta.shape[1]):
        r = population_rhat(np.stack([theta[s, j] for s in pop]))
        if not math.isnan(r):
            out[j] = r
    return out


def _ess(logw: FloatArray) -> float:
    w = np.exp(logw - logw.max())
    return float(w.sum() ** 2 / np.sum(w**2))


def _next_step(ll: FloatArray, beta: float, target: float) -> tuple[float, float]:
    """The largest increase of β (at most to 1) keeping the ESS ≥ ``target``, and the
    ESS it gives."""
    room = 1.0 - beta
    finite = np.where(np.isfinite(ll), ll, -1e300)
    full = _ess(room * finite)
    if full >= target:
        return room, full
    lo, hi = 0.0, room
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _ess(mid * finite) >= target:
            lo = mid
        else:
            hi = mid
    step = max(lo, 1e-12)
    return step, _ess(step * finite)


def _systematic(w: FloatArray, rng: np.random.Generator) -> NDArray[np.int64]:
    n = w.size
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(w), positions), n - 1).astype(np.int64)


def _cheap_moves(
    theta: FloatArray,
    flows: FloatArray,
    ll: FloatArray,
    beta: float,
    k: int,
    steps: int,
    rng: np.random.Generator,
    loglik: Callable[[FloatArray, FloatArray], FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Random-walk Metropolis on the factor and before-start quantiles alone (the
    trajectory is unchanged, so no simulation is needed)."""
    n, dim = theta.shape
    nuisance = dim - k
    step = 0.1
    for _ in range(steps):
        proposal = theta.copy()
        proposal[:, k:] += step * rng.standard_normal((n, nuisance))
        inside = np.all((proposal[:, k:] >= 0) & (proposal[:, k:] <= 1), axis=1)
        new_ll = np.full(n, -np.inf)
        if inside.any():
            new_ll[inside] = loglik(proposal[inside], flows[inside])
        accept = np.log(rng.random(n)) < beta * (new_ll - ll)
        theta[accept], ll[accept] = proposal[accept], new_ll[accept]
        step *= math.exp(float(accept.mean()) - 0.3)
    return theta, ll
