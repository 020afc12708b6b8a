"""The mean-field trajectory is the mean of the stochastic ensemble (sampling off).

Every transition of the stochastic mode is a binomial (or Poisson, or multinomial)
draw whose expectation is what the mean-field mode uses, and every step is linear in
the numbers of people — except where a pool enters: ``min(Poisson(λ), pool)`` (the
mean-field uses ``min(λ, pool)``) and the behavioural propensity, a nonlinear function
``f(pool / ever)`` (the mean-field uses ``f(E[pool] / E[ever])``). The scenario below
keeps every pool far from binding (hundreds of thousands of people, a few thousand
recruits), so ``min`` never bites and the Jensen bias of ``f`` is of relative order
``Var(pool)/pool² ≈ 10⁴/10¹¹`` — far below the sampling error. Mobilisation waves call
whole people each day in the stochastic mode (``floor`` differences) but ``size /
duration`` in mean-field; the wave sizes are multiples of their durations so both
call the same numbers. Initial counts are whole numbers (the stochastic mode rounds
them, the mean-field mode does not).

So the expected difference is zero, and each comparison is required to lie within
``Z = 4`` standard errors of the ensemble mean (``SE = s/√n``, n = 768 replicates).
With ≈ 100 non-degenerate comparisons the family-wise false-alarm probability is at
most ``100 × 6.3e-5 ≈ 0.6%``; quantities with zero ensemble variance must match to
1e-9 (relative).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import Ensemble, ensemble, mean_field, no_losses, scenario
from numpy.typing import NDArray

from forcegen.engine.simulate import run_block
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

FloatArray = NDArray[np.float64]
Z = 4.0
RUNS = 768


def feature_scenario() -> Scenario:
    """Most features: behavioural and series enlistment, a mobilisation wave, training
    and withdrawal, five hazards with recovery, intensity and service multipliers,
    early termination, renewal and transfer, stop-loss on then off, pay changes,
    start/stop of a channel, widening of a pool."""
    channels: list[dict[str, Any]] = [
        {
            "id": "contract",
            "pool": "men",
            "enlistment": {
                "model": "behavioural",
                "base_rate_per_day": 5e-5,
                "pay_elasticity": 1.5,
                "depletion_exponent": 2.0,
                "reputation_elasticity": 0.7,
            },
            "pay": {
                "salary_per_month": 120000,
                "sign_up_bonus_federal": 100000,
                "deployment_bonus": 50000,
                "death_compensation": 5_000_000,
                "wound_compensation": 3_000_000,
                "paid_share": 0.8,
            },
            "training_days": 12,
            "training_withdrawal_probability": 0.07,
            "contract": {
                "term_days": 90,
                "renewal_probability": 0.4,
                "renewal_term_days": 60,
                "early_termination_per_day": 0.002,
                "min_service_days": 45,
            },
            "hazard_multipliers": {"missing": 0.5},
            "initial": {"training": 60, "deployed": 500, "recovering": 40},
        },
        {
            "id": "prisoners",
            "enlistment": {"model": "series", "recruits_per_day": 12},
            "training_days": 5,
            "contract": {
                "term_days": 60,
                "renewal_probability": 0.25,
                "renew_into": "contract",
                "on_term_end": "released",
            },
            "hazard_multipliers": {"killed": 2.0, "refused": 0.2},
        },
        {
            "id": "mobilised",
            "pool": "reserve",
            "active": False,
            "enlistment": {"model": "mobilisation"},
            "training_days": 8,
            "training_withdrawal_probability": 0.02,
            "contract": {"early_termination_per_day": 0.001, "min_service_days": 30},
        },
    ]
    return scenario(
        channels,
        horizon=150,
        losses=no_losses(
            killed_per_day=0.003,
            wounded_per_day=0.007,
            missing_per_day=0.001,
            deserted_per_day=0.0015,
            refused_per_day=0.0005,
            intensity={
                "series": [
                    {"from": "2023-01-01", "value": 1.0},
                    {"from": "2023-03-15", "value": 1.6},
                    {"from": "2023-04-20", "value": 0.8},
                ]
            },
            intensity_applies_to=["killed", "wounded", "missing", "refused"],
            service_multipliers=[
                {"until_day": 15, "multiplier": 2.0},
                {"until_day": 40, "multiplier": 1.4},
            ],
            recovery={"mean_days": 18, "return_probability": 0.65},
        ),
        pools=[
            {
                "id": "men",
                "initial_people": 400_000,
                "replenish_per_day": 30,
                "reference_wage_per_month": 60_000,
            },
            {"id": "reserve", "initial_people": 300_000},
        ],
        events=[
            {"type": "stop_loss", "date": "2023-02-15", "active": True},
            {"type": "stop_loss", "date": "2023-04-01", "active": False},
            {
                "type": "mobilisation_wave",
                "date": "2023-02-01",
                "channel": "mobilised",
                "size_people": 2000,
                "duration_days": 20,
                "evasion_share": 0.15,
            },
            {
                "type": "widen_eligibility",
                "date": "2023-03-01",
                "pool": "men",
                "add_people": 50_000,
            },
            {
                "type": "change_pay",
                "date": "2023-03-10",
                "channel": "contract",
                "salary_per_month": 180000,
                "paid_share": 0.6,
            },
            {"type": "stop_channel", "date": "2023-04-15", "channel": "prisoners"},
            {"type": "start_channel", "date": "2023-05-01", "channel": "prisoners"},
        ],
    )


def comparisons(
    mf: Ensemble, st: Ensemble, days: list[int]
) -> list[tuple[str, float, float, float]]:
    """(name, mean-field value, ensemble mean, standard error) for each quantity."""
    rows: list[tuple[str, float, float, float]] = []
    n = st.strength.shape[0]

    def add(name: str, m: float, x: FloatArray) -> None:
        rows.append((name, m, float(x.mean()), float(x.std(ddof=1) / np.sqrt(n))))

    channels = range(st.strength.shape[2])
    for c in channels:
        for t in days:
            for s, state in enumerate(STATES):
                add(f"ch{c} day {t} {state}", mf.strength[0, t, c, s], st.strength[:, t, c, s])
        exits_mf, exits_st = mf.outflow[0].sum(axis=0), st.outflow.sum(axis=1)
        for k, cause in enumerate(EXIT_CAUSES):
            add(f"ch{c} exits {cause}", exits_mf[c, k], exits_st[:, c, k])
        for k in range(st.inflow.shape[-1]):
            add(f"ch{c} inflow {k}", mf.inflow[0, :, c, k].sum(), st.inflow[:, :, c, k].sum(axis=1))
        for k in range(st.transition.shape[-1]):
            add(
                f"ch{c} transition {k}",
                mf.transition[0, :, c, k].sum(),
                st.transition[:, :, c, k].sum(axis=1),
            )
        for k in range(st.cost.shape[-1]):
            add(f"ch{c} cost {k}", mf.cost[0, :, c, k].sum(), st.cost[:, :, c, k].sum(axis=1))
    for p in range(st.pool.shape[2]):
        add(f"pool {p} end", mf.pool[0, -1, p], st.pool[:, -1, p])
    return rows


def assert_agree(rows: list[tuple[str, float, float, float]], z: float = Z) -> None:
    bad = []
    for name, m, mean, se in rows:
        if se == 0:
            if abs(m - mean) > 1e-9 * max(1.0, abs(mean)):
                bad.append(f"{name}: mean-field {m:.6g}, constant ensemble {mean:.6g}")
        elif abs(m - mean) > z * se:
            bad.append(f"{name}: mean-field {m:.6g}, ensemble {mean:.6g} ± {se:.3g}")
    assert not bad, "\n".join(bad)


def test_mean_field_is_the_ensemble_mean() -> None:
    """Also checks the premise (pools never bind) and the power of the comparison (a
    1% error in one series is caught); one test, so the ensemble is simulated once
    even under pytest-xdist."""
    scn = feature_scenario()
    mf, st = mean_field(scn), ensemble(scn, runs=RUNS, seed=31)
    assert st.pool.min() > 100_000  # the ``min`` with the pool never bites

    rows = comparisons(mf, st, days=[0, 20, 45, 70, 89, 90, 110, 149])
    assert sum(se > 0 for *_, se in rows) >= 100
    assert_agree(rows)

    shifted = Ensemble(**{**mf.__dict__, "strength": mf.strength.copy()})
    shifted.strength[..., 0, 1] *= 1.01  # contract channel, deployed
    with pytest.raises(AssertionError, match="deployed"):
        assert_agree(comparisons(shifted, st, days=[149]))


@pytest.mark.slow
def test_builtin_covert_scenario_mean_field_vs_ensemble() -> None:
    """russia-2022-covert with expected parameter values: pools stay far from binding
    (they hold millions; the prisoner pool keeps ≥ 10⁵), so the same 4-SE rule applies.
    ~20 s per block of 128 replicates."""
    load = pytest.importorskip("forcegen.scenario.load")
    scn = load.load_scenario("russia-2022-covert")
    blocks = [run_block(scn, seed=5, block=b, sample_parameters=False).output for b in range(4)]
    mf = run_block(scn, seed=5, block=0, mode="mean-field", sample_parameters=False).output
    st = Ensemble(
        **{
            name: np.concatenate([getattr(o, name) for o in blocks]).astype(np.float64)
            for name in ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid")
        }
    )
    mf_e = Ensemble(
        **{
            name: np.asarray(getattr(mf, name), dtype=np.float64)[:1]
            for name in ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid")
        }
    )
    assert st.pool.min() > 0.1 * st.pool[:, 0].min()
    T = scn.horizon_days
    assert_agree(comparisons(mf_e, st, days=[0, T // 4, T // 2, T - 1]))
