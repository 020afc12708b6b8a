"""Scores and likelihoods: closed forms and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from forcegen.observations.scoring import crps_sample, interval_score, percentile_of
from forcegen.observations.smc import log_likelihood

finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=30), finite)
def test_crps_of_a_sample_is_the_energy_form_computed_by_brute_force(
    xs: list[float], y: float
) -> None:
    x = np.array(xs)
    brute = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]))
    assert crps_sample(x, y) == pytest.approx(brute, abs=1e-9 * (1 + np.max(np.abs(x))))
    assert crps_sample(x, y) >= -1e-9


def test_crps_of_a_large_normal_sample_matches_the_closed_form() -> None:
    # Gneiting & Raftery (2007): CRPS(N(0,1), y) = y(2Φ(y)−1) + 2φ(y) − 1/√π.
    x = stats.norm.ppf((np.arange(200_000) + 0.5) / 200_000)
    for y in (-1.5, 0.0, 0.7, 3.0):
        exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / math.sqrt(math.pi)
        assert crps_sample(x, y) == pytest.approx(exact, abs=1e-4)


@given(finite, st.floats(0, 100), finite)
def test_interval_score_is_the_width_inside_and_grows_outside(
    low: float, width: float, y: float
) -> None:
    high = low + width
    score = interval_score(low, high, y)
    if low <= y <= high:
        assert score == pytest.approx(width)
    else:
        assert score > width
        miss = low - y if y < low else y - high
        assert score == pytest.approx(width + 20 * miss)


def test_percentile_is_the_mid_rank() -> None:
    sample = np.array([1.0, 2.0, 2.0, 3.0])
    assert percentile_of(sample, 2.0) == pytest.approx(0.25 + 0.25)
    assert percentile_of(sample, 0.5) == 0.0
    assert percentile_of(sample, 9.0) == 1.0


def test_log_likelihood_is_the_lognormal_density_and_tails_for_bounds() -> None:
    truth = np.array([[100.0, 200.0, 50.0]])
    factors = np.array([[0.5, 1.0, 2.0]])
    sd = np.array([0.1, 0.2, 0.3])
    observed = np.array([60.0, 150.0, 80.0])
    ll = log_likelihood(truth, factors, sd, observed, ["point", "lower", "upper"])
    exact = (
        stats.norm.logpdf(math.log(60), math.log(50), 0.1)
        + stats.norm.logsf(math.log(150), math.log(200), 0.2)
        + stats.norm.logcdf(math.log(80), math.log(100), 0.3)
    )
    assert ll[0] == pytest.approx(exact, rel=1e-12)
    # A model discrepancy adds to every error in quadrature.
    tau = np.array([0.4])
    ll2 = log_likelihood(truth, factors, sd, observed, ["point", "point", "point"], tau)
    s = np.sqrt(sd**2 + 0.16)
    exact2 = sum(
        stats.norm.logpdf(math.log(o), math.log(t * f), si)
        for o, t, f, si in zip(observed, truth[0], factors[0], s, strict=True)
    )
    assert ll2[0] == pytest.approx(exact2, rel=1e-12)
