"""Parameter sampling: one quantile per uncertain parameter per replicate.

Each distribution's sampled values are compared with the scipy distribution built
independently from the YAML fields (Kolmogorov–Smirnov, n = 1024 = 8 blocks, each
test required to have p > 0.001; six such tests give a family-wise false-alarm
rate below 1%). Series steps share one quantile; ``given`` / ``given_quantiles``
override sampling; unknown names are a :class:`UsageError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from engine_helpers import no_losses, scenario
from numpy.typing import NDArray
from scipy import stats

from forcegen.engine.sampling import sample_block, uncertain_parameters
from forcegen.engine.simulate import run_block
from forcegen.errors import UsageError
from forcegen.scenario.model import Scenario

FloatArray = NDArray[np.float64]
BLOCKS = 8
KS_P_MIN = 1e-3
Z95 = 1.6448536269514722

RECRUITS = "channels.a.enlistment.recruits_per_day"
KILLED = "losses.killed_per_day"


def sampling_scenario() -> Scenario:
    """One parameter per distribution kind, plus a dated series."""
    return scenario(
        [
            {
                "id": "a",
                "enlistment": {
                    "model": "series",
                    "recruits_per_day": {
                        "series": [
                            {"from": "2023-01-01", "range": [10, 20]},
                            {"from": "2023-01-11", "range": [30, 60]},
                            {
                                "from": "2023-01-21",
                                "dist": "triangular",
                                "low": 0,
                                "mode": 1,
                                "high": 5,
                            },
                        ]
                    },
                },
                "training_withdrawal_probability": {"dist": "beta", "alpha": 2, "beta": 8},
                "pay": {
                    "salary_per_month": {
                        "dist": "normal",
                        "mean": 100,
                        "sd": 30,
                        "low": 50,
                        "high": 200,
                    },
                    "deployment_bonus": {"dist": "normal", "mean": 10, "sd": 2},
                },
                "contract": {
                    "early_termination_per_day": {
                        "dist": "lognormal",
                        "median": 0.001,
                        "p95": 0.004,
                    },
                },
                "initial": {
                    "deployed": {"dist": "triangular", "low": 100, "mode": 150, "high": 400}
                },
            }
        ],
        horizon=30,
        losses=no_losses(killed_per_day={"range": [0.001, 0.003]}),
    )


def sampled(scn: Scenario, seed: int = 17) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Values and quantiles of every sampled parameter over ``BLOCKS`` blocks."""
    sets = [sample_block(scn, seed=seed, block=b, sample=True) for b in range(BLOCKS)]
    values = {k: np.concatenate([s.values[k] for s in sets]) for k in sets[0].values}
    quantiles = {k: np.concatenate([s.quantiles[k] for s in sets]) for k in sets[0].quantiles}
    return values, quantiles


@pytest.fixture(scope="module")
def draws() -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    return sampled(sampling_scenario())


def _lognormal_sigma(median: float, p95: float) -> float:
    return math.log(p95 / median) / Z95


EXPECTED: dict[str, Any] = {
    KILLED: stats.uniform(loc=0.001, scale=0.002),
    "channels.a.training_withdrawal_probability": stats.beta(2, 8),
    "channels.a.pay.salary_per_month": stats.truncnorm(
        (50 - 100) / 30, (200 - 100) / 30, loc=100, scale=30
    ),
    "channels.a.pay.deployment_bonus": stats.norm(loc=10, scale=2),
    "channels.a.contract.early_termination_per_day": stats.lognorm(
        s=_lognormal_sigma(0.001, 0.004), scale=0.001
    ),
    "channels.a.initial.deployed": stats.triang(c=(150 - 100) / 300, loc=100, scale=300),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sampled_values_follow_their_distribution(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]], name: str
) -> None:
    values, quantiles = draws
    x = values[name]
    assert x.shape == (BLOCKS * 128,)
    dist = EXPECTED[name]
    assert stats.kstest(x, dist.cdf).pvalue > KS_P_MIN, name
    # The quantiles used are uniform and the values are the inverse CDF there.
    assert stats.kstest(quantiles[name], "uniform").pvalue > KS_P_MIN
    np.testing.assert_allclose(x, dist.ppf(quantiles[name]), rtol=1e-9)


def test_lognormal_is_parametrised_by_median_and_p95(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]],
) -> None:
    """Independently of scipy: P(X ≤ median) = 1/2 and P(X ≤ p95) = 0.95. Sample
    proportions of n = 1024 have standard errors sqrt(p(1−p)/n) = 0.016 and 0.0068."""
    x = draws[0]["channels.a.contract.early_termination_per_day"]
    n = x.size
    assert abs((x <= 0.001).mean() - 0.5) < 4 * math.sqrt(0.25 / n)
    assert abs((x <= 0.004).mean() - 0.95) < 4 * math.sqrt(0.95 * 0.05 / n)


def test_truncated_normal_stays_in_bounds(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]],
) -> None:
    x = draws[0]["channels.a.pay.salary_per_month"]
    assert x.min() >= 50
    assert x.max() <= 200


def test_independent_parameters_get_independent_quantiles(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]],
) -> None:
    """Different parameters' quantiles are uncorrelated (sample correlation has standard
    error 1/sqrt(n) ≈ 0.031)."""
    q = draws[1]
    names = sorted(q)
    assert len(names) == len(EXPECTED) + 1  # + the series
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert abs(np.corrcoef(q[a], q[b])[0, 1]) < 4 / math.sqrt(q[a].size), (a, b)


def test_only_uncertain_parameters_are_sampled(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]],
) -> None:
    scn = sampling_scenario()
    uncertain = {ref.name for ref in uncertain_parameters(scn)}
    assert uncertain == set(draws[1])
    assert "losses.wounded_per_day" not in uncertain
    np.testing.assert_array_equal(draws[0]["losses.wounded_per_day"], 0.0)


# ------------------------------------------------------------------------- series
def test_series_steps_share_one_quantile(
    draws: tuple[dict[str, FloatArray], dict[str, FloatArray]],
) -> None:
    values, quantiles = draws
    v = values[RECRUITS]
    assert v.shape == (BLOCKS * 128, 3)
    u = quantiles[RECRUITS]
    np.testing.assert_allclose((v[:, 0] - 10) / 10, u, rtol=1e-9)
    np.testing.assert_allclose((v[:, 1] - 30) / 30, u, rtol=1e-9)
    np.testing.assert_allclose(stats.triang(c=0.2, loc=0, scale=5).cdf(v[:, 2]), u, rtol=1e-7)
    assert stats.kstest(u, "uniform").pvalue > KS_P_MIN


def test_series_steps_apply_from_their_dates() -> None:
    """Mean-field recruits per day (sampled values, one block) switch on the step
    dates: days 0-9 step 0, 10-19 step 1, 20-29 step 2."""
    scn = sampling_scenario()
    run = run_block(scn, seed=17, block=0, mode="mean-field", sample_parameters=True)
    v = run.parameters.values[RECRUITS]
    recruited = run.output.inflow[:, :, 0, 0]
    for days, step in ((range(10), 0), (range(10, 20), 1), (range(20, 30), 2)):
        for d in days:
            np.testing.assert_allclose(recruited[:, d], v[:, step], rtol=1e-12)


def test_sampling_off_uses_expected_values() -> None:
    ps = sample_block(sampling_scenario(), seed=17, block=0, sample=False)
    assert not ps.quantiles
    for name, dist in EXPECTED.items():
        np.testing.assert_allclose(ps.values[name], dist.mean(), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(ps.values[RECRUITS][0], [15.0, 45.0, 2.0], rtol=1e-12)


def test_a_parameter_stream_does_not_depend_on_other_parameters() -> None:
    """Streams are named by parameter: making another parameter uncertain leaves this
    one's samples unchanged."""
    scn = sampling_scenario()
    spec = scn.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["losses"]["wounded_per_day"] = {"range": [0.0, 0.01]}
    other = Scenario.model_validate(spec)
    a = sample_block(scn, seed=17, block=3, sample=True)
    b = sample_block(other, seed=17, block=3, sample=True)
    assert "losses.wounded_per_day" in b.quantiles
    for name in a.quantiles:
        np.testing.assert_array_equal(a.values[name], b.values[name], name)


# ------------------------------------------------------------------ overrides
def test_given_values_override_sampling() -> None:
    scn = sampling_scenario()
    runs = 200  # two blocks; the second is padded with the last value
    killed = np.linspace(0.0, 0.01, runs)
    recruits = np.stack([np.full(runs, 5.0), np.arange(runs, dtype=float), np.zeros(runs)], 1)
    given = {KILLED: killed, RECRUITS: recruits}
    b0 = sample_block(scn, seed=1, block=0, sample=True, given=given)
    b1 = sample_block(scn, seed=1, block=1, sample=True, given=given)
    np.testing.assert_array_equal(b0.values[KILLED], killed[:128])
    np.testing.assert_array_equal(b1.values[KILLED][:72], killed[128:])
    np.testing.assert_array_equal(b1.values[KILLED][72:], killed[-1])
    np.testing.assert_array_equal(b1.values[RECRUITS][:72], recruits[128:])
    assert KILLED not in b0.quantiles  # given values are not sampled
    # Other uncertain parameters are still sampled.
    assert "channels.a.pay.salary_per_month" in b0.quantiles
    # ... and the simulation uses them: mean-field recruits on day 15 are step 1.
    run = run_block(scn, seed=1, block=1, mode="mean-field", given=given)
    np.testing.assert_allclose(run.output.inflow[:72, 15, 0, 0], recruits[128:, 1])


def test_given_quantiles_map_through_the_inverse_cdf() -> None:
    scn = sampling_scenario()
    u = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    given_q = {KILLED: u, RECRUITS: u, "channels.a.pay.deployment_bonus": u}
    ps = sample_block(scn, seed=1, block=0, sample=False, given_quantiles=given_q)
    np.testing.assert_allclose(ps.values[KILLED][:5], 0.001 + 0.002 * u, rtol=1e-12)
    np.testing.assert_allclose(ps.values[RECRUITS][:5, 1], 30 + 30 * u, rtol=1e-12)
    np.testing.assert_allclose(
        ps.values["channels.a.pay.deployment_bonus"][:5], stats.norm(10, 2).ppf(u), rtol=1e-9
    )
    np.testing.assert_array_equal(ps.values[KILLED][5:], ps.values[KILLED][4])  # padded
    np.testing.assert_array_equal(ps.quantiles[KILLED][:5], u)


def test_given_through_sim() -> None:
    sim_module = pytest.importorskip("forcegen.sim")
    scn = sampling_scenario()
    killed = np.full(150, 0.002)
    result = sim_module.Sim(scn, runs=150, seed=2, given={KILLED: killed}).run()
    np.testing.assert_array_equal(result.parameters[KILLED], killed)


@pytest.mark.parametrize("kind", ["given", "given_quantiles"])
def test_unknown_parameter_names_raise_usage_error(kind: str) -> None:
    scn = sampling_scenario()
    bad = {"losses.kiled_per_day": np.array([0.5])}
    given = bad if kind == "given" else None
    given_quantiles = bad if kind == "given_quantiles" else None
    with pytest.raises(UsageError, match="kiled_per_day"):
        sample_block(
            scn, seed=1, block=0, sample=True, given=given, given_quantiles=given_quantiles
        )
    with pytest.raises(UsageError):
        run_block(scn, seed=1, block=0, given=given, given_quantiles=given_quantiles)


def test_unknown_parameter_names_raise_usage_error_in_sim() -> None:
    sim_module = pytest.importorskip("forcegen.sim")
    with pytest.raises(UsageError):
        sim_module.Sim(sampling_scenario(), runs=5, given={"nope": np.zeros(5)}).run()


def test_mean_field_with_sampling_varies_by_replicate() -> None:
    """Sampling on, mean-field: each replicate follows its own parameter values."""
    scn = scenario(
        [{"id": "a", "enlistment": {"model": "series", "recruits_per_day": {"range": [10, 20]}}}],
        horizon=5,
    )
    run = run_block(scn, seed=8, block=0, mode="mean-field", sample_parameters=True)
    np.testing.assert_allclose(
        run.output.inflow[:, 0, 0, 0], run.parameters.values[RECRUITS], rtol=1e-12
    )
    assert np.unique(run.output.inflow[:, 0, 0, 0]).size == 128
