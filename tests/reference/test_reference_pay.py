"""Priced recruitment and pay-driven retention: the engine agrees in distribution with
the independent SimPy reference.

The reference keeps every person of the pool with a drawn region and reservation wage
and makes one Bernoulli draw per willing person per day; the engine keeps counts by
(region, wage bin) with binomial draws. The scenario: a pool with two regions (one
dearer, with a larger regional bonus), replenished daily; a priced channel with
training, a fixed term, renewals, early termination after a minimum service, and
pay-driven retention with pay, arrears and service terms; a pay rise on day 40 (new,
dearer people become willing) and arrears from day 80; combat losses with recovery.

Statistics as in test_reference_agreement.py: two-sample KS at ``p > 0.001`` and
means within 4 standard errors of the difference, on per-replicate quantities.
Power: the same checks reject an engine whose uptake is 10 % too high, or whose pay
coefficient is half the stated one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from simpy_model import run_reference

from forcegen.engine.simulate import run_block
from forcegen.scenario.model import EXIT_CAUSES, Scenario

IntArray = NDArray[np.int64]
KS_P_MIN = 1e-3
MEAN_Z_MAX = 4.0
RISE_DAY, ARREARS_DAY = 40, 80


def pay_scenario(*, uptake: float = 0.03, pay_coefficient: float = 1.0) -> Scenario:
    spec: dict[str, Any] = {
        "name": "reference-pay",
        "start_date": "2023-01-01",
        "horizon_days": 120,
        "pools": [
            {
                "id": "men",
                "initial_people": 800,
                "replenish_per_day": 5,
                "reservation_wage": {
                    "distribution": "uniform",
                    "low_per_month": 40_000,
                    "high_per_month": 160_000,
                },
                "regions": [
                    {
                        "id": "capital",
                        "share": 0.3,
                        "wage_multiplier": 1.4,
                        "regional_bonus_multiplier": 2.5,
                    },
                    {"id": "rest", "share": 0.7},
                ],
            }
        ],
        "channels": [
            {
                "id": "contract",
                "pool": "men",
                "enlistment": {"model": "priced", "uptake_per_day": uptake},
                "pay": {
                    "salary_per_month": 70_000,
                    "sign_up_bonus_federal": 200_000,
                    "sign_up_bonus_regional": 100_000,
                },
                "training_days": 10,
                "contract": {
                    "term_days": 90,
                    "renewal_probability": 0.5,
                    "early_termination_per_day": 0.003,
                    "min_service_days": 30,
                    "retention": {
                        "civilian_wage_per_month": 60_000,
                        "pay_coefficient": pay_coefficient,
                        "arrears_coefficient": 1.5,
                        "service_coefficient": 2.0,
                    },
                },
                "initial": {"deployed": 100},
            }
        ],
        "losses": {
            "killed_per_day": 0.002,
            "wounded_per_day": 0.004,
            "missing_per_day": 0.0,
            "recovery": {"mean_days": 12, "return_probability": 0.6},
        },
        "events": [
            {
                "type": "change_pay",
                "date": "2023-02-10",
                "channel": "contract",
                "salary_per_month": 100_000,
            },
            {"type": "change_pay", "date": "2023-03-22", "channel": "contract", "paid_share": 0.6},
        ],
    }
    return Scenario.model_validate(spec)


Series = dict[str, IntArray]


def engine_series(scenario: Scenario, runs: int, seed: int) -> Series:
    blocks = [
        run_block(scenario, seed=seed, block=b, mode="stochastic", sample_parameters=False).output
        for b in range(-(-runs // 128))
    ]

    def cat(name: str) -> IntArray:
        return np.concatenate([getattr(b, name) for b in blocks])[:runs].astype(np.int64)

    return {k: cat(k) for k in ("strength", "inflow", "outflow", "transition", "pool")}


def reference_series(scenario: Scenario, runs: int, seed: int) -> Series:
    ref = run_reference(scenario, runs, seed)
    assert ref.pool is not None
    return {
        "strength": ref.strength,
        "inflow": ref.inflow,
        "outflow": ref.outflow,
        "transition": ref.transition,
        "pool": ref.pool,
    }


def _exits(cause: str) -> Callable[[Series], IntArray]:
    return lambda s: s["outflow"][:, :, 0, EXIT_CAUSES.index(cause)].sum(axis=1)


PICKS: dict[str, Callable[[Series], IntArray]] = {
    "recruits before the rise": lambda s: s["inflow"][:, :RISE_DAY, 0, 0].sum(axis=1),
    "recruits after the rise": lambda s: s["inflow"][:, RISE_DAY:ARREARS_DAY, 0, 0].sum(axis=1),
    "recruits under arrears": lambda s: s["inflow"][:, ARREARS_DAY:, 0, 0].sum(axis=1),
    "pool at the end": lambda s: s["pool"][:, -1, 0],
    "end training": lambda s: s["strength"][:, -1, 0, 0],
    "end deployed": lambda s: s["strength"][:, -1, 0, 1],
    "end recovering": lambda s: s["strength"][:, -1, 0, 2],
    "killed": _exits("killed"),
    "terminated before the rise": lambda s: s["outflow"][
        :, :RISE_DAY, 0, EXIT_CAUSES.index("terminated")
    ].sum(axis=1),
    "terminated after the rise": lambda s: s["outflow"][
        :, RISE_DAY:, 0, EXIT_CAUSES.index("terminated")
    ].sum(axis=1),
    "expired": _exits("expired"),
    "renewed": lambda s: s["transition"][:, :, 0, 3].sum(axis=1),
}


def failures(ref: Series, eng: Series) -> list[str]:
    bad = []
    for name, pick in PICKS.items():
        x, y = pick(ref).astype(np.float64), pick(eng).astype(np.float64)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z = float((x.mean() - y.mean()) / se) if se > 0 else 0.0
        p = float(stats.ks_2samp(x, y).pvalue) if se > 0 else 1.0
        if p <= KS_P_MIN or abs(z) >= MEAN_Z_MAX:
            bad.append(f"{name}: KS p={p:.2g}, z={z:+.2f}, ref {x.mean():.2f} eng {y.mean():.2f}")
    return bad


def test_engine_agrees_with_reference_on_priced_recruitment_and_retention() -> None:
    scn = pay_scenario()
    ref = reference_series(scn, runs=200, seed=17)
    # The scenario exercises what it claims.
    for name in ("recruits after the rise", "terminated before the rise", "renewed", "expired"):
        assert PICKS[name](ref).mean() > 5, name
    eng = engine_series(scn, runs=512, seed=20241201)
    bad = failures(ref, eng)
    assert not bad, "\n".join(bad)

    too_keen = engine_series(pay_scenario(uptake=0.033), runs=512, seed=20241201)
    assert any(b.startswith("recruits") for b in failures(ref, too_keen))
    half_pay = engine_series(pay_scenario(pay_coefficient=0.5), runs=512, seed=20241201)
    assert any(b.startswith(("terminated", "renewed")) for b in failures(ref, half_pay))
