"""Criminal cases (``transition: prosecuted``) can be observed: an observed-data row on
the transition series is read, located when wrong, and compared with the simulated
cumulative count from the start date (docs/calibration.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forcegen.analysis.calibration import _Observables, load_observed
from forcegen.errors import ScenarioError
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim


def absence_scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "cases",
            "start_date": "2023-01-01",
            "horizon_days": 90,
            "channels": [
                {
                    "id": "a",
                    "enlistment": {"model": "series", "recruits_per_day": 0.0},
                    "initial": {"deployed": 1000},
                }
            ],
            "losses": {
                "killed_per_day": 0.0,
                "wounded_per_day": 0.0,
                "missing_per_day": 0.0,
                "deserted_per_day": 0.01,
                "recovery": {"mean_days": 10, "return_probability": 0.5},
                "returns_to_duty": {"deserted": {"return_probability": 0.6, "mean_days": 10}},
            },
        }
    )


def test_criminal_cases_are_observable(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        "date,series,channel,cause,value,source,model\n"
        "2023-03-01,transition,a,prosecuted,300,court records,count:0.3..0.7\n"
    )
    scn = absence_scenario()
    data = load_observed(path, scn)
    assert data.groups == ["transition[a,prosecuted]"]
    result = Sim(scn, runs=1, seed=0, mode="mean-field", sample_parameters=False).run()
    simulated = _Observables.of(data, scn).values(result)[0, 0]
    daily = result.total("transition", categories="prosecuted")[0]
    day = 59  # 2023-03-01
    assert simulated == pytest.approx(float(np.cumsum(daily)[day]), rel=1e-12)
    assert simulated > 100


def test_unknown_transition_kind_is_located(tmp_path: Path) -> None:
    path = tmp_path / "obs.csv"
    path.write_text(
        "date,series,channel,cause,value,source\n2023-03-01,transition,a,prosecutd,300,x\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_observed(path, absence_scenario())
    problems = {(p.line, p.field): p.message for p in info.value.problems}
    assert "prosecuted" in problems[(2, "cause")]
