"""R-hat and bulk ESS (Vehtari et al. 2021) for chains and SMC populations, and the
SMC move kernel's invariance: exact properties and known distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from forcegen.observations.convergence import (
    POPULATION_RHAT_MAX,
    bulk_ess,
    population_rhat,
    split_rhat,
)
from forcegen.observations.smc import Diagnostics, _MoveKernel


def test_populations_of_exact_draws_pass_and_shifted_ones_fail() -> None:
    rng = np.random.default_rng(11)
    # 37 unknowns, two populations of 128 exact draws: what a perfect sampler gives.
    worst = max(population_rhat(rng.standard_normal((2, 128))) for _ in range(37))
    assert worst < POPULATION_RHAT_MAX
    shifted = rng.standard_normal((2, 128))
    shifted[1] += 1.0  # the second population sits one sd away
    assert population_rhat(shifted) > 1.1


def test_population_rhat_grows_with_the_gap_between_populations() -> None:
    base = np.random.default_rng(3).standard_normal((2, 256))
    values = []
    for gap in (0.0, 0.25, 0.5, 1.0, 2.0):
        x = base.copy()
        x[1] += gap
        values.append(population_rhat(x))
    assert values == sorted(values)
    assert values[0] < 1.02 < values[-1]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 3.0), st.sampled_from([0.25, 2.0, 1024.0]))
def test_population_rhat_depends_on_neither_units_nor_order(
    seed: int, gap: float, scale: float
) -> None:
    """The same unknown in other units, or its particles listed in another order, gives
    the same R-hat. (Scales are powers of two so that the arithmetic is exact: folding
    at the median makes two values tie, and rounding could split the tie.)"""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 50))
    x[0] += gap
    r = population_rhat(x)
    assert population_rhat(scale * x) == pytest.approx(r, rel=1e-12)
    assert population_rhat(rng.permuted(x, axis=1)) == pytest.approx(r, rel=1e-12)


def test_population_rhat_of_a_constant_is_nan_and_shapes_are_checked() -> None:
    assert math.isnan(population_rhat(np.ones((2, 10))))
    with pytest.raises(ValueError, match="populations ≥ 2"):
        population_rhat(np.ones((1, 10)))


def test_bulk_ess_of_independent_and_autocorrelated_chains() -> None:
    rng = np.random.default_rng(5)
    iid = rng.standard_normal((4, 1000))
    assert bulk_ess(iid) == pytest.approx(4000, rel=0.15)
    # AR(1) with ρ = 0.9: ESS = draws × (1 − ρ)/(1 + ρ) ≈ 4000/19.
    rho, chains = 0.9, np.zeros((4, 1000))
    noise = rng.standard_normal((4, 1000)) * math.sqrt(1 - rho**2)
    chains[:, 0] = rng.standard_normal(4)
    for t in range(1, 1000):
        chains[:, t] = rho * chains[:, t - 1] + noise[:, t]
    assert bulk_ess(chains) == pytest.approx(4000 * (1 - rho) / (1 + rho), rel=0.35)
    assert split_rhat(iid) < 1.01
    drifting = iid + np.linspace(0, 3, 1000)[None, :]  # not stationary: split R-hat sees it
    assert split_rhat(drifting) > 1.1


def test_the_move_kernel_leaves_a_known_distribution_invariant() -> None:
    """Start from the uniform prior and move at β = 1 toward a product of Beta(2, 5) and
    Beta(5, 2): a wrong Jacobian or proposal ratio in the independent (logit) proposal
    would leave the particles at the wrong means and variances."""
    rng = np.random.default_rng(2026)
    n, a, b = 4000, np.array([2.0, 5.0]), np.array([5.0, 2.0])

    def loglik(theta: np.ndarray) -> np.ndarray:
        return np.sum((a - 1) * np.log(theta) + (b - 1) * np.log1p(-theta), axis=1)

    theta = np.clip(rng.random((n, 2)), 1e-9, 1 - 1e-9)
    ll = loglik(theta)
    kernel = _MoveKernel(2, rng)
    rows = [slice(0, n // 2), slice(n // 2, n)]
    for _ in range(60):
        kernel.fit(theta, rows)
        proposal, log_q = kernel.propose(theta)
        inside = np.all((proposal > 0) & (proposal < 1), axis=1)
        new_ll = np.full(n, -np.inf)
        new_ll[inside] = loglik(proposal[inside])
        accept = np.log(rng.random(n)) < new_ll - ll + log_q
        theta[accept], ll[accept] = proposal[accept], new_ll[accept]
        kernel.adapt(accept)
    mean = a / (a + b)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    se = np.sqrt(var / n)
    assert np.all(np.abs(theta.mean(axis=0) - mean) < 5 * se)
    assert theta.var(axis=0) == pytest.approx(var, rel=0.1)
    for j in range(2):
        assert stats.kstest(theta[:, j], stats.beta(a[j], b[j]).cdf).pvalue > 1e-3


def _diagnostics(**changes: object) -> Diagnostics:
    base: dict[str, object] = {
        "final_temperature": 1.0,
        "ess": 80.0,
        "ess_share": 0.62,
        "unique_share": 0.99,
        "acceptance": 0.3,
        "stages": 8,
        "simulations": 5000,
        "populations": 2,
        "rhat": {"losses.killed_per_day": 1.01, "discrepancy": 1.002},
    }
    base.update(changes)
    return Diagnostics(**base)  # type: ignore[arg-type]


def test_diagnostics_pass_only_with_agreeing_populations() -> None:
    assert _diagnostics().passed
    one = _diagnostics(populations=1, rhat={})
    assert not one.passed
    assert any("one population" in f for f in one.failures())
    apart = _diagnostics(rhat={"losses.killed_per_day": 1.4, "discrepancy": 1.0})
    assert not apart.passed
    (failure,) = apart.failures()
    assert "1.400 for losses.killed_per_day" in failure
    assert apart.as_dict()["max_rhat"] == pytest.approx(1.4)
    assert apart.as_dict()["worst_rhat"] == "losses.killed_per_day"
