"""Correlated steps of a dated series (``step_correlation``; docs/model.md, "Parameters").

Exact check: the Spearman rank correlation between any two steps' sampled values
equals the stated one, whatever the steps' distributions — the Gaussian copula with
latent correlation ``r = 2 sin(pi rho / 6)`` has rank correlation
``(6/pi) arcsin(r/2) = rho``. Sampled over ``n = 4096`` replicates (32 blocks), the
sample Spearman coefficient has a standard error of at most ``1/sqrt(n - 1)`` ≈ 0.016
(below it for rho > 0); we allow 4 of those (0.0625). Marginals: each step's values
against its own distribution, KS ``p > 0.001``. ``step_correlation: 1`` (or none) is the
old shared quantile, bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from engine_helpers import no_losses, scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

from forcegen.engine.sampling import sample_block
from forcegen.engine.series_steps import latent_correlation, step_quantiles
from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario

FloatArray = NDArray[np.float64]
BLOCKS = 32
KS_P_MIN = 1e-3
RECRUITS = "channels.a.enlistment.recruits_per_day"
KILLED = "losses.killed_per_day"


def series_scenario(correlation: float | None) -> Scenario:
    """A three-step series (uniform, lognormal, triangular) with ``correlation``."""
    series: dict[str, Any] = {
        "series": [
            {"from": "2023-01-01", "range": [10, 20]},
            {"from": "2023-01-11", "dist": "lognormal", "median": 40, "p95": 90},
            {"from": "2023-01-21", "dist": "triangular", "low": 0, "mode": 1, "high": 5},
        ]
    }
    if correlation is not None:
        series["step_correlation"] = correlation
    return scenario(
        [{"id": "a", "enlistment": {"model": "series", "recruits_per_day": series}}],
        horizon=30,
        losses=no_losses(killed_per_day={"range": [0.001, 0.003]}),
    )


def sampled(scn: Scenario, seed: int = 5) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    sets = [sample_block(scn, seed=seed, block=b, sample=True) for b in range(BLOCKS)]
    values = {k: np.concatenate([s.values[k] for s in sets]) for k in sets[0].values}
    quantiles = {k: np.concatenate([s.quantiles[k] for s in sets]) for k in sets[0].quantiles}
    return values, quantiles


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.75])
def test_steps_have_the_stated_rank_correlation(rho: float) -> None:
    values, _ = sampled(series_scenario(rho))
    steps = values[RECRUITS]
    tolerance = 4 / math.sqrt(steps.shape[0] - 1)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        got = stats.spearmanr(steps[:, i], steps[:, j]).statistic
        assert got == pytest.approx(rho, abs=tolerance), (i, j)


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_each_step_keeps_its_distribution(rho: float) -> None:
    steps = sampled(series_scenario(rho))[0][RECRUITS]
    sigma = math.log(90 / 40) / stats.norm.ppf(0.95)
    marginals = (
        stats.uniform(10, 10),
        stats.lognorm(sigma, scale=40),
        stats.triang(0.2, loc=0, scale=5),
    )
    for k, dist in enumerate(marginals):
        assert stats.kstest(steps[:, k], dist.cdf).pvalue > KS_P_MIN, k


def test_full_correlation_is_the_shared_quantile_bit_for_bit() -> None:
    absent, q_absent = sampled(series_scenario(None))
    one, q_one = sampled(series_scenario(1.0))
    for name in absent:
        np.testing.assert_array_equal(absent[name], one[name])
    for name in q_absent:
        np.testing.assert_array_equal(q_absent[name], q_one[name])


def test_correlation_leaves_the_series_quantile_and_other_parameters_alone() -> None:
    """The series' own quantile (its one input to sensitivity analysis) and every other
    parameter's draws are those of the fully correlated series: the steps' own
    deviates come from a stream of their own."""
    v_full, q_full = sampled(series_scenario(None))
    v_half, q_half = sampled(series_scenario(0.5))
    np.testing.assert_array_equal(q_full[RECRUITS], q_half[RECRUITS])
    np.testing.assert_array_equal(v_full[KILLED], v_half[KILLED])
    assert not np.array_equal(v_full[RECRUITS], v_half[RECRUITS])


def test_given_quantile_is_the_common_factor() -> None:
    """With a given quantile, the steps move around it: at rho = 0.9 every step's value
    is strongly rank-correlated with the given quantile."""
    scn = series_scenario(0.9)
    u = np.linspace(0.01, 0.99, 128)
    params = sample_block(scn, seed=1, block=0, sample=False, given_quantiles={RECRUITS: u})
    steps = params.values[RECRUITS]
    expected = 2 * math.sin(math.pi * 0.9 / 6)  # ≈ Spearman of the step with its factor
    for k in range(3):
        got = stats.spearmanr(u, steps[:, k]).statistic
        assert got > 0.8, (k, got)
    assert 0.9 < expected < 1


def test_latent_correlation_inverts_the_spearman_formula() -> None:
    for rho in np.linspace(0, 1, 11):
        r = latent_correlation(float(rho))
        assert (6 / math.pi) * math.asin(r / 2) == pytest.approx(rho, abs=1e-12)
    assert latent_correlation(0.0) == 0.0
    assert latent_correlation(1.0) == pytest.approx(1.0, abs=1e-15)


@settings(max_examples=50, deadline=None)
@given(
    rho=st.floats(0.0, 1.0),
    u=st.lists(st.floats(1e-9, 1 - 1e-9), min_size=1, max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_step_quantiles_are_quantiles_increasing_in_the_common_factor(
    rho: float, u: list[float], seed: int
) -> None:
    """Property: per-step quantiles stay in [eps, 1 - eps], and with the deviates fixed
    they do not decrease as the common factor does not (the copula is monotone in it)."""
    eps = 1e-9
    uu = np.sort(np.asarray(u))
    noise = np.broadcast_to(np.random.default_rng(seed).standard_normal(3), (uu.size, 3))
    q = step_quantiles(uu, rho, np.ascontiguousarray(noise), eps)
    assert q.shape == (uu.size, 3)
    assert np.all((q >= eps) & (q <= 1 - eps))
    assert np.all(np.diff(q, axis=0) >= 0)


_YAML = """\
name: s
start_date: 2023-01-01
horizon_days: 30
channels:
  - id: a
    enlistment:
      model: series
      recruits_per_day: {RECRUITS}
losses:
  killed_per_day: 0.001
  wounded_per_day: 0.0
  missing_per_day: 0.0
  recovery: {{mean_days: 10, return_probability: 0.5}}
"""


@pytest.mark.parametrize(
    ("recruits", "needle"),
    [
        ("{range: [1, 2], step_correlation: 0.5}", "applies to a dated series"),
        (
            "{series: [{from: 2023-01-01, value: 1}], step_correlation: 1.5}",
            "must be <= 1",
        ),
        (
            "{series: [{from: 2023-01-01, value: 1}], step_correlation: -0.1}",
            "must be >= 0",
        ),
    ],
)
def test_bad_step_correlation_is_located(recruits: str, needle: str) -> None:
    text = _YAML.format(RECRUITS=recruits)
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "s.yaml")
    problems = info.value.problems
    assert any(needle in p.message for p in problems), [p.format() for p in problems]
    hit = next(p for p in problems if needle in p.message)
    assert hit.file == "s.yaml"
    assert hit.line == 8
    assert "recruits_per_day" in hit.field


def _with_full_correlation(scn: Scenario) -> Scenario:
    """``scn`` with ``step_correlation: 1`` on every dated series."""
    from forcegen.scenario.walk import iter_params

    dumped = scn.model_dump(by_alias=True, exclude_none=True)
    count = 0
    for ref in iter_params(scn):
        if not ref.param.is_series:
            continue
        node: Any = dumped
        for part in ref.path:
            node = node[part]
        node["step_correlation"] = 1.0
        count += 1
    assert count > 0
    return Scenario.model_validate(dumped)


@pytest.mark.parametrize("name", ["russia-2022-covert", "russia-2022-mobilisation"])
def test_builtins_sample_the_same_with_or_without_full_correlation(name: str) -> None:
    """The built-ins' dated series move together as before: stating
    ``step_correlation: 1`` on all of them changes no sampled value, and the field
    left out keeps the scenario's hash."""
    from forcegen.scenario.load import load_scenario, scenario_hash

    scn = load_scenario(name)
    full = _with_full_correlation(scn)
    assert scenario_hash(full) != scenario_hash(scn)
    again = Scenario.model_validate(scn.model_dump(by_alias=True, exclude_none=True))
    assert scenario_hash(again) == (scenario_hash(scn))
    for block in (0, 1):
        a = sample_block(scn, seed=7, block=block, sample=True)
        b = sample_block(full, seed=7, block=block, sample=True)
        assert a.values.keys() == b.values.keys()
        for key in a.values:
            np.testing.assert_array_equal(a.values[key], b.values[key])
