"""The engine agrees with the SimPy reference on dated legal rules, absence with
return to duty, mobilisation waves (size as calls or as arrivals) and combat hazards
per exposure (issue #13, items 3–5).

One small scenario exercises them all: a contract channel whose contracts become
open-ended and whose voluntary termination is suspended from day 60 (a
``contract_rules`` event); deserters and refusers caught with given probabilities and
back on duty after a geometric absence; a mobilised channel without a pool fed by two
waves, one sized in calls and one in arrivals; and per-exposure combat hazards with a
dated tempo, a dated front share for one channel and a rear hazard ratio.

Statistics as in ``test_reference_agreement.py``: each per-replicate quantity is
compared by a two-sample KS test (``p > 0.001``) and a 4-standard-error check of the
difference of means; with about 25 comparisons, the family-wise false-alarm
probability is at most ~2.5 % (Bonferroni). Seeds are fixed. Power: the same checks
reject an engine whose prosecutions are 15 % too frequent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from simpy_model import run_reference

from forcegen.engine.simulate import run_block
from forcegen.engine.step import TRANSITION_KINDS
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

IntArray = NDArray[np.int64]

RULES_DAY = 60  # 2023-03-02: contracts open-ended, no voluntary termination
CAUGHT = {"deserted": 0.7, "refused": 0.9}


def legal_exposure_scenario(caught: dict[str, float] | None = None) -> dict[str, Any]:
    """The scenario of this module; ``caught`` overrides the return probabilities."""
    chances = {**CAUGHT, **(caught or {})}
    return {
        "name": "reference-legal-exposure",
        "start_date": "2023-01-01",
        "horizon_days": 150,
        "channels": [
            {
                "id": "contract",
                "enlistment": {"model": "series", "recruits_per_day": 5.0},
                "training_days": 10,
                "contract": {
                    "term_days": 70,
                    "renewal_probability": 0.4,
                    "early_termination_per_day": 0.004,
                    "min_service_days": 20,
                },
                "initial": {"deployed": 150, "recovering": 10},
                "front_share": {
                    "series": [
                        {"from": "2023-01-01", "value": 0.3},
                        {"from": "2023-03-15", "value": 0.6},
                    ]
                },
            },
            {
                "id": "mobilised",
                "enlistment": {"model": "mobilisation"},
                "training_days": 7,
                "training_withdrawal_probability": 0.05,
            },
        ],
        "losses": {
            "killed_per_day": 0.004,
            "wounded_per_day": 0.006,
            "missing_per_day": 0.001,
            "deserted_per_day": 0.002,
            "refused_per_day": 0.0015,
            "service_multipliers": [{"until_day": 25, "multiplier": 1.5}],
            "recovery": {"mean_days": 12, "return_probability": 0.6},
            "returns_to_duty": {
                "deserted": {"return_probability": chances["deserted"], "mean_days": 20},
                "refused": {"return_probability": chances["refused"], "mean_days": 8},
            },
            "exposure": {
                "tempo": {
                    "series": [
                        {"from": "2023-01-01", "value": 1.0},
                        {"from": "2023-04-01", "value": 1.5},
                    ]
                },
                "front_share": 0.8,
                "rear_hazard_ratio": 0.2,
            },
        },
        "events": [
            {
                "type": "contract_rules",
                "date": "2023-03-02",
                "voluntary_termination": False,
                "open_ended": True,
            },
            {
                "type": "mobilisation_wave",
                "date": "2023-01-20",
                "channel": "mobilised",
                "size_people": 300,
                "duration_days": 30,
                "evasion_share": 0.2,
            },
            {
                "type": "mobilisation_wave",
                "date": "2023-03-01",
                "channel": "mobilised",
                "size_people": 200,
                "duration_days": 20,
                "evasion_share": 0.25,
                "size_counts": "arrivals",
            },
        ],
    }


def _series(scn: Scenario, runs: int, seed: int, *, reference: bool) -> dict[str, IntArray]:
    if reference:
        ref = run_reference(scn, runs, seed)
        return {
            "strength": ref.strength,
            "outflow": ref.outflow,
            "transition": ref.transition,
        }
    blocks = [
        run_block(scn, seed=seed, block=b, mode="stochastic", sample_parameters=False)
        for b in range(-(-runs // 128))
    ]
    return {
        name: np.concatenate([getattr(b.output, name) for b in blocks])[:runs].astype(np.int64)
        for name in ("strength", "outflow", "transition")
    }


def quantities(s: dict[str, IntArray]) -> dict[str, IntArray]:
    out: dict[str, IntArray] = {}
    for c, channel in enumerate(("contract", "mobilised")):
        for k, state in enumerate(STATES):
            out[f"{channel} end {state}"] = s["strength"][:, -1, c, k]
        out[f"{channel} absent on day 100"] = s["strength"][:, 100, c, STATES.index("absent")]
        exits = s["outflow"][:, :, c].sum(axis=1)
        for cause in ("killed", "wounded_discharged", "missing", "deserted", "refused"):
            out[f"{channel} exits {cause}"] = exits[:, EXIT_CAUSES.index(cause)]
        moves = s["transition"][:, :, c].sum(axis=1)
        for kind in ("prosecuted", "rejoined", "wounded"):
            out[f"{channel} {kind}"] = moves[:, TRANSITION_KINDS.index(kind)]
    out["contract terminated before the rules"] = s["outflow"][
        :, :RULES_DAY, 0, EXIT_CAUSES.index("terminated")
    ].sum(axis=1)
    out["contract expired before the rules"] = s["outflow"][
        :, :RULES_DAY, 0, EXIT_CAUSES.index("expired")
    ].sum(axis=1)
    moves = s["transition"][:, :, 1].sum(axis=1)
    for kind in ("called", "evaded", "mobilised"):
        out[f"mobilised {kind}"] = moves[:, TRANSITION_KINDS.index(kind)]
    return out


def _failures(ref: dict[str, IntArray], eng: dict[str, IntArray]) -> list[str]:
    a, b = quantities(ref), quantities(eng)
    bad = []
    for name in a:
        x, y = a[name].astype(np.float64), b[name].astype(np.float64)
        se = np.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size)
        z = float((x.mean() - y.mean()) / se) if se > 0 else float(x.mean() != y.mean()) * 99
        p = float(stats.ks_2samp(x, y).pvalue) if se > 0 else 1.0
        if p <= 1e-3 or abs(z) >= 4.0:
            bad.append(f"{name}: KS p={p:.2g}, z={z:+.2f}, {x.mean():.2f} vs {y.mean():.2f}")
    return bad


def test_engine_agrees_with_reference_on_legal_rules_waves_and_exposure() -> None:
    scn = Scenario.model_validate(legal_exposure_scenario())
    ref = _series(scn, 150, 11, reference=True)
    q = quantities(ref)
    # The scenario exercises what it claims.
    for name in (
        "contract prosecuted",
        "contract rejoined",
        "mobilised prosecuted",
        "contract exits deserted",
        "contract terminated before the rules",
        "contract expired before the rules",
        "mobilised evaded",
    ):
        assert q[name].mean() > 3, name
    for s in (ref,):
        after = s["outflow"][:, RULES_DAY:, 0]
        assert after[..., EXIT_CAUSES.index("terminated")].sum() == 0
        assert after[..., EXIT_CAUSES.index("expired")].sum() == 0
    # Calls are deterministic: 300 for the first wave, 200 / 0.75 = 266 for the second.
    assert set(q["mobilised called"].tolist()) == {300 + 266}

    eng = _series(scn, 512, 20240612, reference=False)
    after = eng["outflow"][:, RULES_DAY:, 0]
    assert after[..., EXIT_CAUSES.index("terminated")].sum() == 0
    assert after[..., EXIT_CAUSES.index("expired")].sum() == 0
    bad = _failures(ref, eng)
    assert not bad, "\n".join(bad)

    # Power: prosecutions 15 % too frequent are caught.
    wrong = Scenario.model_validate(
        legal_exposure_scenario({"deserted": 0.7 * 1.15, "refused": 1.0})
    )
    detected = _failures(ref, _series(wrong, 512, 20240612, reference=False))
    assert any(d.startswith("contract prosecuted") for d in detected), detected
