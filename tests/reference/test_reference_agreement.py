"""The engine agrees in distribution with the independent SimPy reference model.

Both follow docs/model.md; the engine works on counts by age with binomial draws, the
reference follows individual soldiers with per-person draws. On a small scenario with
training and withdrawal, killed/deserted/wounded hazards with recovery, early
termination, fixed terms with renewal (same channel) and transfers (``renew_into``),
``released`` at term end, a stop-loss switched on then off, a service multiplier, a
calendar intensity and per-channel hazard multipliers, we compare the ensembles'
distributions of end strength by state and cumulative exits by cause (and a few
flows that pin down the stop-loss semantics).

Statistics. Each comparison is a two-sample Kolmogorov–Smirnov test (``ks_2samp``)
plus a check that the means differ by less than 4 standard errors of the difference,
``SE = sqrt(s_ref²/n_ref + s_eng²/n_eng)``. With ``m`` ≈ 20 comparisons and each
required to have ``p > 0.001``, the family-wise false-alarm probability under the
null (the two implementations agree) is at most ``m × 0.001 ≈ 2%`` (Bonferroni;
KS on integer-valued samples is conservative, so in fact less). The 4-SE mean checks
add at most ``m × 6.3e-5 ≈ 0.1%``. Seeds are fixed, so the outcome is deterministic;
the same test shows that these checks have the power to catch a 10% error in one
hazard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats
from simpy_model import RefResult, run_reference

from forcegen.engine.simulate import run_block
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

IntArray = NDArray[np.int64]

ENGINE_SEED = 20240611
REFERENCE_SEED = 7
KS_P_MIN = 1e-3
MEAN_Z_MAX = 4.0


def agreement_scenario(*, horizon: int = 200, scale: float = 0.4) -> dict[str, Any]:
    """A small two-channel scenario exercising every feature the reference supports;
    ``scale`` multiplies recruitment and the initial force.

    Stop-loss is on for the contract channel from day 80 to day 149 (off on day 150).
    """
    contract_rate, prisoner_rate = 16.0 * scale, 6.0 * scale
    return {
        "name": "reference-agreement",
        "start_date": "2023-01-01",
        "horizon_days": horizon,
        "channels": [
            {
                "id": "contract",
                "enlistment": {"model": "series", "recruits_per_day": contract_rate},
                "training_days": 14,
                "training_withdrawal_probability": 0.08,
                "contract": {
                    "term_days": 100,
                    "renewal_probability": 0.5,
                    "renewal_term_days": 60,
                    "early_termination_per_day": 0.002,
                    "min_service_days": 60,
                },
                "initial": {
                    "training": round(40 * scale),
                    "deployed": round(300 * scale),
                    "recovering": round(30 * scale),
                },
            },
            {
                "id": "prisoners",
                "enlistment": {
                    "model": "series",
                    "recruits_per_day": {
                        "series": [
                            {"from": "2023-01-01", "value": prisoner_rate},
                            {"from": "2023-04-01", "value": prisoner_rate * 1.5},
                        ]
                    },
                },
                "training_days": 7,
                "contract": {
                    "term_days": 60,
                    "renewal_probability": 0.3,
                    "renew_into": "contract",
                    "on_term_end": "released",
                },
                "hazard_multipliers": {"killed": 1.5, "deserted": 0.5},
            },
        ],
        "losses": {
            "killed_per_day": 0.003,
            "wounded_per_day": 0.006,
            "missing_per_day": 0.0,
            "deserted_per_day": 0.0015,
            "intensity": {
                "series": [
                    {"from": "2023-01-01", "value": 1.0},
                    {"from": "2023-05-01", "value": 1.4},
                ]
            },
            "intensity_applies_to": ["killed", "wounded"],
            "service_multipliers": [{"until_day": 30, "multiplier": 2.0}],
            "recovery": {"mean_days": 15, "return_probability": 0.6},
        },
        "events": [
            {"type": "stop_loss", "date": "2023-03-22", "active": True, "channels": ["contract"]},
            {"type": "stop_loss", "date": "2023-05-31", "active": False, "channels": ["contract"]},
        ],
    }


STOP_LOSS_OFF_DAY = 150  # 2023-05-31


@dataclass(frozen=True)
class Ensemble:
    """The series the comparisons need, as ``(runs, T, C, K)`` integer arrays."""

    strength: IntArray
    inflow: IntArray
    outflow: IntArray


def engine_ensemble(scenario: Scenario, runs: int, seed: int) -> Ensemble:
    blocks = [
        run_block(scenario, seed=seed, block=b, mode="stochastic", sample_parameters=False)
        for b in range(-(-runs // 128))
    ]
    return Ensemble(
        strength=np.concatenate([b.output.strength for b in blocks])[:runs].astype(np.int64),
        inflow=np.concatenate([b.output.inflow for b in blocks])[:runs].astype(np.int64),
        outflow=np.concatenate([b.output.outflow for b in blocks])[:runs].astype(np.int64),
    )


def reference_ensemble(scenario: Scenario, runs: int, seed: int) -> Ensemble:
    ref: RefResult = run_reference(scenario, runs, seed)
    return Ensemble(strength=ref.strength, inflow=ref.inflow, outflow=ref.outflow)


def quantities(ens: Ensemble) -> dict[str, IntArray]:
    """Per-replicate quantities compared between the implementations."""
    out: dict[str, IntArray] = {}
    for c, channel in enumerate(("contract", "prisoners")):
        for s, state in enumerate(STATES):
            out[f"{channel} end {state}"] = ens.strength[:, -1, c, s]
        exits = ens.outflow[:, :, c].sum(axis=1)
        for cause in EXIT_CAUSES:
            k = EXIT_CAUSES.index(cause)
            if exits[:, k].any():
                out[f"{channel} exits {cause}"] = exits[:, k]
    # Stop-loss: total strength just before it ends, and the held people leaving together.
    off = STOP_LOSS_OFF_DAY
    out["contract strength on last stop-loss day"] = ens.strength[:, off - 1, 0].sum(axis=-1)
    out["contract expired on stop-loss off day"] = ens.outflow[
        :, off, 0, EXIT_CAUSES.index("expired")
    ]
    out["contract transfers in"] = ens.inflow[:, :, 0, 1].sum(axis=1)
    return out


@dataclass(frozen=True)
class Comparison:
    name: str
    ks_p: float
    z: float
    mean_ref: float
    mean_eng: float


def compare(ref: Ensemble, eng: Ensemble) -> list[Comparison]:
    a, b = quantities(ref), quantities(eng)
    assert a.keys() == b.keys(), set(a) ^ set(b)
    rows = []
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z = float((x.mean() - y.mean()) / se) if se > 0 else 0.0
        p = float(stats.ks_2samp(x, y).pvalue)
        rows.append(Comparison(name, p, z, float(x.mean()), float(y.mean())))
    return rows


def failures(rows: list[Comparison]) -> list[Comparison]:
    return [r for r in rows if r.ks_p <= KS_P_MIN or abs(r.z) >= MEAN_Z_MAX]


def assert_exercises_every_feature(reference: Ensemble) -> None:
    """The scenario really exercises what it claims (so agreement means something)."""
    q = quantities(reference)
    for name in (
        "contract exits killed",
        "contract exits wounded_discharged",
        "contract exits deserted",
        "contract exits terminated",
        "contract exits expired",
        "contract exits withdrawn",
        "prisoners exits released",
        "prisoners exits transferred",
        "contract transfers in",
        "contract expired on stop-loss off day",
    ):
        assert q[name].mean() > 5, name
    # Everyone held by stop-loss leaves or renews on its first day off: a spike.
    daily_expired = reference.outflow[:, :, 0, EXIT_CAUSES.index("expired")].mean(axis=0)
    assert daily_expired[STOP_LOSS_OFF_DAY] > 10 * daily_expired[STOP_LOSS_OFF_DAY + 5]
    assert daily_expired[STOP_LOSS_OFF_DAY - 10 : STOP_LOSS_OFF_DAY].sum() == 0


def test_engine_agrees_with_reference() -> None:
    """Agreement on every compared quantity; then power: the same checks reject an
    engine whose killed hazard is 10% too high. (One test, so that the reference
    ensemble — the slow part — is simulated once even when pytest-xdist spreads tests
    over workers.)"""
    scn = Scenario.model_validate(agreement_scenario())
    reference = reference_ensemble(scn, runs=300, seed=REFERENCE_SEED)
    assert_exercises_every_feature(reference)

    engine = engine_ensemble(scn, runs=512, seed=ENGINE_SEED)
    rows = compare(reference, engine)
    assert len(rows) >= 18
    bad = failures(rows)
    assert not bad, "\n".join(
        f"{r.name}: KS p={r.ks_p:.2g}, z={r.z:+.2f}, "
        f"reference {r.mean_ref:.2f} vs engine {r.mean_eng:.2f}"
        for r in bad
    )

    spec = agreement_scenario()
    spec["losses"]["killed_per_day"] = 0.003 * 1.10
    wrong = engine_ensemble(Scenario.model_validate(spec), runs=512, seed=ENGINE_SEED)
    detected = {r.name for r in failures(compare(reference, wrong))}
    assert {"contract exits killed", "prisoners exits killed"} <= detected


def test_engine_agrees_with_reference_on_held_hazards() -> None:
    """Stop-loss holds people for 80 days past a 40-day term; held people keep the
    hazards of their term age (docs/model.md): the service multiplier (×2 while
    ``a < 60``) and early-termination eligibility (none: minimum service 50 > 40).
    Power: an engine giving held people the factor 1 instead (``until_day: 40``) is off
    by 14 standard errors in the killed count (measured)."""
    spec: dict[str, Any] = {
        "name": "held-hazards",
        "start_date": "2023-01-01",
        "horizon_days": 130,
        "channels": [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": 4.0},
                "training_days": 5,
                "contract": {
                    "term_days": 40,
                    "renewal_probability": 0.3,
                    "early_termination_per_day": 0.01,
                    "min_service_days": 50,
                },
            }
        ],
        "losses": {
            "killed_per_day": 0.004,
            "wounded_per_day": 0.004,
            "missing_per_day": 0.0,
            "service_multipliers": [{"until_day": 60, "multiplier": 2.0}],
            "recovery": {"mean_days": 10, "return_probability": 0.5},
        },
        "events": [
            {"type": "stop_loss", "date": "2023-01-21", "active": True},
            {"type": "stop_loss", "date": "2023-04-11", "active": False},
        ],
    }
    scn = Scenario.model_validate(spec)
    ref = reference_ensemble(scn, runs=300, seed=REFERENCE_SEED + 2)
    eng = engine_ensemble(scn, runs=512, seed=ENGINE_SEED + 2)
    off = 100  # 2023-04-11
    picks: dict[str, Callable[[Ensemble], IntArray]] = {
        "deployed on the last held day": lambda e: e.strength[:, off - 1, 0, 1],
        "recovering on the last held day": lambda e: e.strength[:, off - 1, 0, 2],
        "killed": lambda e: e.outflow[:, :, 0, EXIT_CAUSES.index("killed")].sum(axis=1),
        "terminated": lambda e: e.outflow[:, :, 0, EXIT_CAUSES.index("terminated")].sum(axis=1),
        "expired on the off day": lambda e: e.outflow[:, off, 0, EXIT_CAUSES.index("expired")],
        "end deployed": lambda e: e.strength[:, -1, 0, 1],
    }
    rows = []
    for name, pick in picks.items():
        x, y = pick(ref).astype(np.float64), pick(eng).astype(np.float64)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z = float((x.mean() - y.mean()) / se) if se > 0 else 0.0
        p = float(stats.ks_2samp(x, y).pvalue) if se > 0 else 1.0
        rows.append(Comparison(name, p, z, float(x.mean()), float(y.mean())))
    assert ref.outflow[:, :off, 0, EXIT_CAUSES.index("terminated")].sum() == 0
    assert eng.outflow[:, :off, 0, EXIT_CAUSES.index("terminated")].sum() == 0
    assert not failures(rows), failures(rows)


@pytest.mark.slow
def test_engine_agrees_with_reference_large() -> None:
    """A larger version: 2.5× the people, a longer horizon and 600 reference replicates
    (about 2 minutes)."""
    spec = agreement_scenario(horizon=260, scale=1.0)
    scenario = Scenario.model_validate(spec)
    reference = reference_ensemble(scenario, runs=600, seed=REFERENCE_SEED + 1)
    engine = engine_ensemble(scenario, runs=1024, seed=ENGINE_SEED + 1)
    bad = failures(compare(reference, engine))
    assert not bad, bad
