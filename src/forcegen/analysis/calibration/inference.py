"""ABC-SMC calibration to observations of ``forcegen calibrate``'s own CSV format
(pyabc, stochastic acceptor, tempered to temperature 1): choosing the parameters by
Morris screening (:func:`screen_parameters`) and the run itself (:func:`calibrate`)."""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forcegen.analysis.sensitivity import (
    MORRIS_LEVELS,
    dask_client,
    resolve_parameters,
    simulate_design,
    through_day,
)
from forcegen.engine.simulate import Mode
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario
from forcegen.sim import load

if TYPE_CHECKING:
    pass

from forcegen.analysis.calibration.abc_batch import (
    _Batches,
    _global_numpy_seed,
    _make_model,
    _make_model_prior,
    _make_prior,
    _make_sampler,
    _make_transition,
    _quiet_pyabc,
)
from forcegen.analysis.calibration.common import _LOG_FLOOR, FloatArray, Others, Progress
from forcegen.analysis.calibration.diagnostics import _predictive, _summarise
from forcegen.analysis.calibration.observed import ObservedData, _Observables, load_observed
from forcegen.analysis.calibration.outputs import CalibrationResult


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
