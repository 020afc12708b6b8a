"""Scenarios with known answers for the sensitivity and calibration tests.

One channel, no pool, no training, indefinite contract, Poisson(λ) recruits a day,
one daily hazard ``h`` (killed) and nobody at the start. In the mean-field mode the
deployed strength at the end of day ``t`` is ``λ · g(h)`` with
``g(h) = (1 − (1 − h)^(t+1)) / h`` (docs/model.md, "Exact special cases"), and the
cumulative deaths to day ``t`` are ``λ (t + 1) − λ g(h)``. λ ~ U(20, 80) cites an
unverified report, h ~ U(0.004, 0.012) is an assumption, and the salary ~ U(1000, 5000)
moves costs but not strength.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from scipy import integrate

from forcegen.analysis.calibration import SyntheticSeries, synthetic_observations, write_observed
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario

LAMBDA = "channels.only.enlistment.recruits_per_day"
HAZARD = "losses.killed_per_day"
SALARY = "channels.only.pay.salary_per_month"
LAMBDA_RANGE = (20.0, 80.0)
HAZARD_RANGE = (0.004, 0.012)
START = dt.date(2022, 1, 1)

_YAML = """\
schema_version: 1
name: {name}
start_date: 2022-01-01
horizon_days: {horizon}
currency: RUB
claims:
  - id: rumour-recruits
    statement: Dozens of recruits a day, according to an unnamed official.
    claimant: anonymous official
    publication: test
    published: 2022-01-01
    status: unverified-report
  - id: count-salary
    statement: Salaries between 1,000 and 5,000 a month.
    claimant: test counter
    publication: test
    published: 2022-01-01
    status: independent-count
channels:
  - id: only
    enlistment:
      model: series
      recruits_per_day:
        range: [20, 80]
        evidence: [rumour-recruits]
    pay:
      salary_per_month:
        range: [1000, 5000]
        evidence: [count-salary]
losses:
  killed_per_day:
    range: [0.004, 0.012]
    assumption: test hazard range
  wounded_per_day: 0
  missing_per_day: 0
  recovery:
    mean_days: 30
    return_probability: 0.5
"""


def scenario_text(horizon: int = 365, name: str = "queue") -> str:
    """YAML of the closed-form scenario."""
    return _YAML.format(horizon=horizon, name=name)


def queue_scenario(horizon: int = 365) -> Scenario:
    """The closed-form scenario, ``horizon`` days from 2022-01-01."""
    return load_scenario_text(scenario_text(horizon), "<queue>")


def day(k: int) -> dt.date:
    """Date of simulated day ``k``."""
    return START + dt.timedelta(days=k)


def analytic_sobol(t: int) -> dict[str, tuple[float, float]]:
    """Exact (S1, ST) of deployed strength at day ``t`` for λ and h.

    Y = λ · g(h) with independent λ and h: V_λ = Var(λ) E[g]², V_h = E[λ]² Var(g),
    V = E[λ²] E[g²] − E[λ]² E[g]²; S1 = V_i / V, ST_i = 1 − V_other / V. E[g], E[g²]
    by adaptive quadrature (error ~1e-12).
    """
    a, b = LAMBDA_RANGE
    c, d = HAZARD_RANGE

    def g(h: float) -> float:
        return float((1 - (1 - h) ** (t + 1)) / h)

    eg = integrate.quad(g, c, d, epsabs=1e-13)[0] / (d - c)
    eg2 = integrate.quad(lambda h: g(h) ** 2, c, d, epsabs=1e-13)[0] / (d - c)
    el, el2 = (a + b) / 2, (a * a + a * b + b * b) / 3
    v = el2 * eg2 - el**2 * eg**2
    v_l = (el2 - el**2) * eg**2
    v_h = el**2 * (eg2 - eg**2)
    return {LAMBDA: (v_l / v, 1 - v_h / v), HAZARD: (v_h / v, 1 - v_l / v)}


def observation_series(horizon: int, log_sd: float, fraction: float = 0.7) -> list[SyntheticSeries]:
    """Deployed strength at three dates and counted deaths (a fraction in [0.5, 0.9] of
    the true deaths) at two."""
    last = horizon - 1
    return [
        SyntheticSeries(
            "strength",
            None,
            "deployed",
            [day(last // 3), day(2 * last // 3), day(last)],
            log_sd=log_sd,
        ),
        SyntheticSeries(
            "outflow",
            None,
            "killed",
            [day(last // 2), day(last)],
            model="count:0.5..0.9",
            factor=fraction,
            log_sd=log_sd,
        ),
    ]


def write_synthetic(
    path: Path,
    scenario: Scenario,
    *,
    u_lambda: float,
    u_hazard: float,
    fraction: float,
    log_sd: float,
    seed: int,
) -> Path:
    """Synthetic observations of ``scenario`` (mean-field) at the given quantiles."""
    frame = synthetic_observations(
        scenario,
        observation_series(scenario.horizon_days, log_sd, fraction),
        quantiles={LAMBDA: u_lambda, HAZARD: u_hazard},
        seed=seed,
        mode="mean-field",
    )
    return write_observed(frame, path, "SYNTHETIC test data")


def value_of(name: str, u: float) -> float:
    """Value of λ or h at quantile ``u`` (both uniform)."""
    lo, hi = LAMBDA_RANGE if name == LAMBDA else HAZARD_RANGE
    return lo + (hi - lo) * u


def binomial_tail(n: int, k: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    from scipy import stats

    return float(stats.binom.cdf(k, n, p))


def rng_quantiles(rep: int) -> np.ndarray:
    """Three prior quantiles (λ, h, fraction) for SBC repeat ``rep``."""
    return np.random.default_rng([2024, rep]).random(3)
