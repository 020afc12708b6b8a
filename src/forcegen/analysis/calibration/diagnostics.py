"""Diagnostics of an ABC-SMC posterior: whether it can be trusted
(:func:`diagnostic_failures`), the prior-versus-posterior summary with a truncated
normal fitted to each parameter (:func:`fit_truncated_normal`), and the posterior
predictive check of every observation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from forcegen.analysis.sensitivity import (
    parameter_bases,
    simulate_design,
)
from forcegen.engine.simulate import Mode
from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Distribution
from forcegen.scenario.walk import ParamRef

if TYPE_CHECKING:
    pass

from forcegen.analysis.calibration.common import (
    _LOG_FLOOR,
    FloatArray,
    Others,
    _steps,
    _weighted_quantile,
)
from forcegen.analysis.calibration.observed import ObservedData, _Observables

MIN_ESS_SHARE = 0.3
"""A calibrated scenario is refused below this effective sample size (share of the
population), as at a final temperature other than 1."""


def diagnostic_failures(final_temperature: float, ess: float, population: int) -> list[str]:
    """Why an ABC-SMC posterior cannot be trusted, with what to try; empty when the
    final temperature is 1 and the effective sample size ``ess`` is at least
    :data:`MIN_ESS_SHARE` of the ``population`` (particles)."""
    out = []
    if abs(final_temperature - 1.0) > 1e-9:
        out.append(
            f"final temperature {final_temperature:.3g}, not 1: the posterior is "
            "tempered (wider than the exact one, or degenerate); raise --budget, "
            "calibrate fewer parameters, or widen the observations' intervals"
        )
    if ess < MIN_ESS_SHARE * population:
        out.append(
            f"effective sample size {ess:.1f} of {population} particles (below "
            f"{MIN_ESS_SHARE:.0%}): the weights are degenerate; raise --population and "
            "--budget"
        )
    return out


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
