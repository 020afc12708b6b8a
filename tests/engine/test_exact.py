"""Exact results (docs/model.md, "Exact special cases"): the discrete-time M/G/∞ queue.

One channel, no pool, ``Poisson(λ)`` recruits a day joining at age 0 at the end of
their day. With no training a recruit is deployed at the end of its first day and
first exposed the next day, so a recruit of day ``s`` is still in service at the end
of day ``t ≥ s`` with probability ``(1−h)^(t−s)``. Poisson thinning makes the strength
at the end of day ``t`` Poisson with mean

    μ(t) = λ Σ_{j=0..t} (1−h)^j = λ (1 − (1−h)^(t+1)) / h,

and with a fixed term ``T`` (no hazard) a recruit serves exactly ``T`` end-of-days:
``μ(t) = λ · min(t+1, T)``.

Tolerances. With ``n`` replicates of a Poisson(μ) count the sample mean has standard
error ``sqrt(μ/n)``, and the sample variance ``s²`` has standard error
``sqrt(Var(s²)) ≈ sqrt((μ₄ − σ⁴)/n) = sqrt((μ + 2μ²)/n)`` (Poisson: ``σ² = μ``,
``μ₄ = μ + 3μ²``). We require every check within 4 standard errors (two-sided
``p ≈ 6e-5`` each; a few dozen checks keep the family-wise false-alarm rate below
0.5%). Distributions are compared with a chi-square goodness-of-fit test on 20 bins of
equal Poisson probability (≈ n/20 expected per bin), requiring ``p > 0.001``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import Ensemble, ensemble, mean_field, no_losses, scenario
from numpy.typing import NDArray
from scipy import stats

from forcegen.engine.kernels import APPROX_VARIANCE
from forcegen.scenario.model import Scenario

FloatArray = NDArray[np.float64]

LAMBDA = 40.0
HAZARD = 0.02
TERM = 30
RUNS = 1536  # 12 blocks
Z = 4.0
DEPLOYED = 1


def channel(**extra: Any) -> dict[str, Any]:
    return {"id": "a", "enlistment": {"model": "series", "recruits_per_day": LAMBDA}, **extra}


def hazard_scenario() -> Scenario:
    return scenario([channel()], horizon=250, losses=no_losses(killed_per_day=HAZARD))


def term_scenario() -> Scenario:
    return scenario([channel(contract={"term_days": TERM})], horizon=100)


def hazard_mean(t: FloatArray | float) -> FloatArray:
    t = np.asarray(t, dtype=np.float64)
    return LAMBDA * (1.0 - (1.0 - HAZARD) ** (t + 1)) / HAZARD


def term_mean(t: FloatArray | float) -> FloatArray:
    t = np.asarray(t, dtype=np.float64)
    return LAMBDA * np.minimum(t + 1, TERM)


@pytest.fixture(scope="module")
def hazard_runs() -> Ensemble:
    return ensemble(hazard_scenario(), runs=RUNS, seed=11)


@pytest.fixture(scope="module")
def term_runs() -> Ensemble:
    return ensemble(term_scenario(), runs=RUNS, seed=12)


def assert_poisson_moments(x: FloatArray, mu: float, what: str) -> None:
    """Sample mean and variance of ``x`` agree with Poisson(``mu``) within ``Z`` SE."""
    if mu == 0:
        assert not x.any(), f"{what}: expected zero"
        return
    n = x.size
    se_mean = np.sqrt(mu / n)
    assert abs(x.mean() - mu) < Z * se_mean, f"{what}: mean {x.mean():.3f} vs {mu:.3f}"
    se_var = np.sqrt((mu + 2 * mu**2) / n)
    var = x.var(ddof=1)
    assert abs(var - mu) < Z * se_var, f"{what}: variance {var:.2f} vs {mu:.2f}"


def poisson_chi_square(x: FloatArray, mu: float, bins: int = 20) -> float:
    """p-value of a chi-square goodness-of-fit test of ``x`` against Poisson(``mu``),
    on ``bins`` bins of (nearly) equal probability; no parameter is fitted."""
    dist = stats.poisson(mu)
    edges = np.unique(dist.ppf(np.linspace(0, 1, bins + 1)[1:-1]))  # right edges
    cdf = np.concatenate([dist.cdf(edges), [1.0]])
    probs = np.diff(np.concatenate([[0.0], cdf]))
    observed = np.bincount(np.searchsorted(edges, x, side="left"), minlength=probs.size)
    return float(stats.chisquare(observed, probs * x.size).pvalue)


# ------------------------------------------------------------- (a) constant hazard
@pytest.mark.parametrize("day", [0, 9, 49, 149, 249])
def test_hazard_strength_is_poisson_with_mm_inf_mean(hazard_runs: Ensemble, day: int) -> None:
    x = hazard_runs.strength[:, day, 0].sum(axis=-1)
    assert_poisson_moments(x, float(hazard_mean(day)), f"day {day}")
    assert hazard_runs.strength[:, day, 0, [0, 2]].sum() == 0  # no training, no wounded


def test_hazard_killed_is_poisson(hazard_runs: Ensemble) -> None:
    """Everyone recruited by day t and not in service was killed: Poisson with mean
    λ(t+1) − μ(t), independent of the strength (Poisson thinning)."""
    t = 249
    killed = hazard_runs.exits("killed")[:, : t + 1, 0].sum(axis=1)
    strength = hazard_runs.strength[:, t, 0].sum(axis=-1)
    assert_poisson_moments(killed, LAMBDA * (t + 1) - float(hazard_mean(t)), "killed")
    # Independent counts: sample correlation has standard error 1/sqrt(n).
    assert abs(np.corrcoef(killed, strength)[0, 1]) < Z / np.sqrt(RUNS)


def test_hazard_end_strength_distribution(hazard_runs: Ensemble) -> None:
    t = 249
    x = hazard_runs.strength[:, t, 0].sum(axis=-1)
    p = poisson_chi_square(x, float(hazard_mean(t)))
    assert p > 1e-3, p


# ------------------------------------------------------------------- (b) fixed term
@pytest.mark.parametrize("day", [0, 14, 28, 29, 30, 99])
def test_term_strength_is_poisson_with_mean(term_runs: Ensemble, day: int) -> None:
    x = term_runs.strength[:, day, 0].sum(axis=-1)
    assert_poisson_moments(x, float(term_mean(day)), f"day {day}")


def test_term_expired_count(term_runs: Ensemble) -> None:
    """Recruits of days 0 … t−T have expired by day t: Poisson(λ (t−T+1))."""
    t = 99
    expired = term_runs.exits("expired")[:, : t + 1, 0].sum(axis=1)
    assert_poisson_moments(expired, LAMBDA * (t - TERM + 1), "expired")
    assert term_runs.exits("expired")[:, : TERM - 1].sum() == 0  # none before day T−1


def test_term_end_strength_distribution(term_runs: Ensemble) -> None:
    x = term_runs.strength[:, -1, 0].sum(axis=-1)
    p = poisson_chi_square(x, float(term_mean(99)))
    assert p > 1e-3, p


def test_chi_square_rejects_a_wrong_mean(term_runs: Ensemble) -> None:
    """Power check: a 2% error in the mean (≈ 1.3 standard deviations) is rejected."""
    x = term_runs.strength[:, -1, 0].sum(axis=-1)
    assert poisson_chi_square(x, 1.02 * float(term_mean(99))) < 1e-3


# ------------------------------------------------------------------ (c) mean-field
@pytest.mark.parametrize(
    ("build", "closed_form"),
    [(hazard_scenario, hazard_mean), (term_scenario, term_mean)],
    ids=["hazard", "term"],
)
def test_mean_field_equals_closed_form(build: Any, closed_form: Any) -> None:
    mf = mean_field(build())
    days = np.arange(mf.strength.shape[1], dtype=np.float64)
    np.testing.assert_allclose(mf.strength[0, :, 0].sum(axis=-1), closed_form(days), rtol=1e-9)


# --------------------------------------------------- (d) training, then a hazard
L_TRAIN = 10
WITHDRAW = 0.1


def training_scenario() -> Scenario:
    return scenario(
        [channel(training_days=L_TRAIN, training_withdrawal_probability=WITHDRAW)],
        horizon=200,
        losses=no_losses(killed_per_day=HAZARD),
    )


def training_means(t: FloatArray | float) -> tuple[FloatArray, FloatArray]:
    """Closed-form means of (training, deployed) at the end of day ``t``.

    A recruit of day ``s`` is in training at the end of days ``s … s+L−1`` (ages 0 … L−1),
    so ``training(t) = λ · min(t+1, L)``. On day ``s+L`` it reaches age ``L`` and deploys
    with probability ``1−w`` (at the end of that day, unexposed); it is exposed from day
    ``s+L+1`` on, so it is still deployed at the end of day ``t ≥ s+L`` with probability
    ``(1−w)(1−h)^(t−s−L)``. Summing over ``s = 0 … t−L``:

        deployed(t) = (1−w) λ (1 − (1−h)^(t−L+1)) / h   for t ≥ L, else 0.

    Both are Poisson (thinned Poisson arrivals)."""
    t = np.asarray(t, dtype=np.float64)
    training = LAMBDA * np.minimum(t + 1, L_TRAIN)
    n = np.maximum(t - L_TRAIN + 1, 0)
    deployed = (1 - WITHDRAW) * LAMBDA * (1.0 - (1.0 - HAZARD) ** n) / HAZARD
    return training, deployed


def test_training_then_hazard_mean_field() -> None:
    mf = mean_field(training_scenario())
    days = np.arange(200, dtype=np.float64)
    training, deployed = training_means(days)
    np.testing.assert_allclose(mf.strength[0, :, 0, 0], training, rtol=1e-9)
    np.testing.assert_allclose(mf.strength[0, :, 0, 1], deployed, rtol=1e-9, atol=1e-9)
    withdrawn = np.cumsum(mf.exits("withdrawn")[0, :, 0])
    np.testing.assert_allclose(
        withdrawn, WITHDRAW * LAMBDA * np.maximum(days - L_TRAIN + 1, 0), rtol=1e-9, atol=1e-9
    )


@pytest.fixture(scope="module")
def training_runs() -> Ensemble:
    return ensemble(training_scenario(), runs=1024, seed=13)


@pytest.mark.parametrize("day", [5, 9, 10, 11, 60, 199])
def test_training_then_hazard_stochastic(training_runs: Ensemble, day: int) -> None:
    training, deployed = training_means(day)
    x = training_runs.strength[:, day, 0]
    assert_poisson_moments(x[:, 0], float(training), f"training day {day}")
    assert_poisson_moments(x[:, 1], float(deployed), f"deployed day {day}")


# ------------------------ (e) service multipliers, intensity, early termination
def test_cohort_survival_formula_mean_field() -> None:
    """With time- and age-dependent hazards a cohort's survival is a product over its
    days of exposure. A recruit of day ``s`` starts day ``d`` at service age
    ``a = d − s − 1``, and is exposed on days ``d = s+L+1 … t`` with daily exit
    probability ``p(d, a) = k·I(d)·m(a) + D + e·[a ≥ M]`` (killed scaled by the calendar
    intensity and the service multiplier; deserted not; early termination from the
    minimum service ``M``), so

        deployed(t) = (1−w) λ Σ_{s=0..t−L} Π_{d=s+L+1..t} (1 − p(d, d−s−1)),

    and the killed of cohort ``s`` on day ``d`` are its survivors to the start of ``d``
    times ``k·I(d)·m(a)``."""
    horizon, train, k, desert, early, min_service = 160, 5, 0.01, 0.004, 0.01, 40
    mult = [(10, 3.0), (25, 1.5)]
    intensity_from = 70  # 2023-03-12
    scn = scenario(
        [
            channel(
                training_days=train,
                training_withdrawal_probability=WITHDRAW,
                contract={"early_termination_per_day": early, "min_service_days": min_service},
            )
        ],
        horizon=horizon,
        losses=no_losses(
            killed_per_day=k,
            deserted_per_day=desert,
            intensity={
                "series": [
                    {"from": "2023-01-01", "value": 1.0},
                    {"from": "2023-03-12", "value": 2.0},
                ]
            },
            intensity_applies_to=["killed"],
            service_multipliers=[{"until_day": u, "multiplier": m} for u, m in mult],
        ),
    )

    def m_of(a: int) -> float:
        return next((m for u, m in mult if a < u), 1.0)

    deployed = np.zeros(horizon)
    killed = np.zeros(horizon)
    terminated = np.zeros(horizon)
    for s in range(horizon):
        alive = (1 - WITHDRAW) * LAMBDA  # deployed at the end of day s+L
        if s + train < horizon:
            deployed[s + train] += alive
        for d in range(s + train + 1, horizon):
            a = d - s - 1
            k_d = k * (2.0 if d >= intensity_from else 1.0) * m_of(a)
            e_d = early if a >= min_service else 0.0
            killed[d] += alive * k_d
            terminated[d] += alive * e_d
            alive *= 1 - k_d - desert - e_d
            deployed[d] += alive
    mf = mean_field(scn)
    np.testing.assert_allclose(mf.strength[0, :, 0, 1], deployed, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mf.exits("killed")[0, :, 0], killed, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(mf.exits("terminated")[0, :, 0], terminated, rtol=1e-9, atol=1e-9)


# ------------------------------ (f) a large force: the approximated regime, exactly
BIG_LAMBDA = 20_000.0  # recruits a day: ~900,000 in service
BIG_KILLED, BIG_WOUNDED, BIG_RETURN, BIG_TERM = 0.02, 0.03, 0.1, 60


def big_scenario() -> Scenario:
    return scenario(
        [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": BIG_LAMBDA},
                "contract": {"term_days": BIG_TERM},
            }
        ],
        horizon=120,
        losses=no_losses(
            killed_per_day=BIG_KILLED,
            wounded_per_day=BIG_WOUNDED,
            recovery={"mean_days": 1 / BIG_RETURN, "return_probability": 1.0},
        ),
    )


def big_means(t: int) -> tuple[float, float]:
    """Means of (deployed, recovering) at the end of day ``t``.

    Each recruit is a Markov chain on (deployed, recovering, killed): each day the
    deployed are killed with probability k or wounded with probability w (into
    recovery), the recovering return with probability q, both from the start-of-day
    state; a recruit of day ``s`` is deployed at the end of day ``s`` and leaves at its
    term, after the end of day ``s+T−1``. Recruits are Poisson, so by thinning the two
    counts are independent Poissons with means ``λ Σ_{j=0..min(t,T−1)} P(state, j)``."""
    state = np.array([1.0, 0.0])
    total = np.zeros(2)
    for _ in range(min(t, BIG_TERM - 1) + 1):
        total += state
        d, r = state
        state = np.array(
            [
                d * (1 - BIG_KILLED - BIG_WOUNDED) + r * BIG_RETURN,
                r * (1 - BIG_RETURN) + d * BIG_WOUNDED,
            ]
        )
    return BIG_LAMBDA * total[0], BIG_LAMBDA * total[1]


@pytest.fixture(scope="module")
def big_runs() -> Ensemble:
    return ensemble(big_scenario(), runs=1024, seed=14)


@pytest.mark.parametrize("day", [0, 1, 30, 59, 60, 119])
def test_large_force_is_exactly_poisson(big_runs: Ensemble, day: int) -> None:
    """At ~900,000 in service every age slot's binomials have variances far above
    ``APPROX_VARIANCE``, so returns and exits come from the normal approximation; the
    stocks still have the exact Poisson means and variances (within 4 standard errors:
    about ±0.02 % of the mean, ±18 % of the variance) and are uncorrelated. The
    approximation's per-draw laws are tested more sharply in test_kernels.py."""
    deployed, recovering = big_means(day)
    # The oldest slot before the term is dense: the approximation is what is tested.
    assert BIG_LAMBDA * 0.2 * BIG_WOUNDED * (1 - BIG_WOUNDED) >= 10 * APPROX_VARIANCE
    x = big_runs.strength[:, day, 0]
    assert (x[:, 0] == 0).all()
    assert_poisson_moments(x[:, 1], deployed, f"deployed day {day}")
    assert_poisson_moments(x[:, 2], recovering, f"recovering day {day}")
    if day > 0:
        assert abs(np.corrcoef(x[:, 1], x[:, 2])[0, 1]) < Z / np.sqrt(x.shape[0])


def test_large_force_end_distribution(big_runs: Ensemble) -> None:
    deployed, recovering = big_means(119)
    x = big_runs.strength[:, 119, 0]
    assert poisson_chi_square(x[:, 1], deployed) > 1e-3
    assert poisson_chi_square(x[:, 2], recovering) > 1e-3
    assert poisson_chi_square(x[:, 1:].sum(axis=1), deployed + recovering) > 1e-3
