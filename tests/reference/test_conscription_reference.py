"""The engine agrees in distribution with the independent SimPy conscription reference.

Two scenarios (undeployed conscripts; deployable conscripts with training and
hazards), each with two call-ups, initial conscripts, conversion during service from
a service age on and at term end, into a contract channel with its own hazards. We
compare the ensembles' distributions of conscripts in service on three days, the
contract channel's strength at the end, and cumulative conversions, discharges and
killed, with the statistics of ``test_reference_agreement.py``: a two-sample KS test
(``p > 0.001``) and means within 4 standard errors of their difference; with about
16 comparisons the family-wise false-alarm probability is at most ~1.6 % (Bonferroni),
and seeds are fixed, so the outcome is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats
from simpy_conscription import run_conscription_reference

from forcegen.engine.simulate import run_block
from forcegen.engine.step import TRANSITION_KINDS
from forcegen.scenario.model import EXIT_CAUSES, Scenario

ENGINE_SEED = 20261201
REFERENCE_SEED = 13
RUNS = 512  # four engine blocks
KS_P_MIN = 1e-3
MEAN_Z_MAX = 4.0


def reference_scenario(*, deployable: bool) -> Scenario:
    conscription: dict[str, Any] = {
        "call_ups": [
            {"date": "2023-01-03", "people": 300, "duration_days": 7},
            {"date": "2023-02-10", "people": 200, "duration_days": 3},
        ],
        "service_days": 45,
        "deployable": deployable,
        "conversion_per_day": 0.015,
        "conversion_from_day": 12,
        "conversion_at_term_end": 0.3,
        "convert_into": "contract",
    }
    conscripts: dict[str, Any] = {
        "id": "conscripts",
        "kind": "conscription",
        "enlistment": {"model": "conscription"},
        "conscription": conscription,
        "initial": {"training": 40},
        "hazard_multipliers": {"killed": 2.0},
    }
    if deployable:
        conscripts["training_days"] = 10
    return Scenario.model_validate(
        {
            "name": "conscription-reference",
            "start_date": "2023-01-01",
            "horizon_days": 90,
            "channels": [
                conscripts,
                {
                    "id": "contract",
                    "kind": "contract",
                    "enlistment": {"model": "series", "recruits_per_day": 0},
                },
            ],
            "losses": {
                "killed_per_day": 0.002,
                "wounded_per_day": 0.0,
                "missing_per_day": 0.001,
                "deserted_per_day": 0.0015,
                "recovery": {"mean_days": 10, "return_probability": 0.5},
            },
        }
    )


def _agree(name: str, ref: NDArray[Any], eng: NDArray[Any]) -> None:
    ref, eng = ref.astype(float), eng.astype(float)
    if ref.std() == 0 and eng.std() == 0:
        assert ref.mean() == eng.mean(), name
        return
    p = stats.ks_2samp(ref, eng).pvalue
    assert p > KS_P_MIN, f"{name}: KS p = {p:.2g}"
    se = np.sqrt(ref.var(ddof=1) / ref.size + eng.var(ddof=1) / eng.size)
    z = abs(ref.mean() - eng.mean()) / se
    assert z < MEAN_Z_MAX, f"{name}: means {ref.mean():.3f} vs {eng.mean():.3f} (z = {z:.1f})"


@pytest.mark.parametrize("deployable", [False, True])
def test_engine_agrees_with_conscription_reference(deployable: bool) -> None:
    scn = reference_scenario(deployable=deployable)
    ref = run_conscription_reference(scn, RUNS, REFERENCE_SEED)
    outs = [run_block(scn, seed=ENGINE_SEED, block=b, mode="stochastic").output for b in range(4)]
    strength = np.concatenate([o.strength for o in outs])[:RUNS]
    transition = np.concatenate([o.transition for o in outs])[:RUNS]
    outflow = np.concatenate([o.outflow for o in outs])[:RUNS]

    # The call-ups are deterministic: the same whole people on the same days.
    np.testing.assert_array_equal(
        transition[0, :, 0, TRANSITION_KINDS.index("called")], ref.called[0]
    )
    for day in (20, 50, 70):
        _agree(
            f"in service day {day}", ref.strength[:, day, 0].sum(-1), strength[:, day, 0].sum(-1)
        )
    if deployable:
        _agree("conscripts deployed day 50", ref.strength[:, 50, 0, 1], strength[:, 50, 0, 1])
        _agree(
            "conscripts killed",
            ref.exits[:, :, 0, 0].sum(1),
            outflow[:, :, 0, EXIT_CAUSES.index("killed")].sum(1),
        )
        _agree(
            "conscripts deserted",
            ref.exits[:, :, 0, 2].sum(1),
            outflow[:, :, 0, EXIT_CAUSES.index("deserted")].sum(1),
        )
    else:
        assert strength[:, :, 0, 1:].max() == 0
        assert outflow[:, :, 0, EXIT_CAUSES.index("killed")].max() == 0
    _agree(
        "converted",
        ref.converted.sum(1),
        transition[:, :, 0, TRANSITION_KINDS.index("converted")].sum(1),
    )
    _agree(
        "converted by day 40",
        ref.converted[:, :41].sum(1),
        transition[:, :41, 0, TRANSITION_KINDS.index("converted")].sum(1),
    )
    _agree("discharged", ref.expired.sum(1), outflow[:, :, 0, EXIT_CAUSES.index("expired")].sum(1))
    _agree(
        "contract strength at the end", ref.strength[:, -1, 1].sum(-1), strength[:, -1, 1].sum(-1)
    )
    _agree(
        "contract killed",
        ref.exits[:, :, 1, 0].sum(1),
        outflow[:, :, 1, EXIT_CAUSES.index("killed")].sum(1),
    )
