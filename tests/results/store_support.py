"""A tiny scenario and cached results for the store tests (also imported by the child
processes that the atomicity and concurrency tests start)."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import numpy as np

from forcegen.engine.simulate import Mode
from forcegen.results.result import SERIES, Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

A = "test value"

TINY: dict[str, Any] = {
    "name": "tiny-store",
    "title": "Two channels, one pool, 90 days",
    "start_date": "2022-08-01",
    "horizon_days": 90,
    "currency": "RUB",
    "pools": [
        {
            "id": "civilians",
            "initial_people": {"range": [50000, 80000], "assumption": A},
            "replenish_per_day": {"value": 20, "assumption": A},
        }
    ],
    "channels": [
        {
            "id": "contract",
            "kind": "contract",
            "pool": "civilians",
            "enlistment": {
                "model": "series",
                "recruits_per_day": {
                    "series": [
                        {"from": "2022-08-01", "range": [20, 40]},
                        {"from": "2022-09-15", "value": 60},
                    ],
                    "assumption": A,
                },
            },
            "training_days": {"value": 10, "assumption": A},
            "pay": {
                "salary_per_month": {"range": [150000, 250000], "assumption": A},
                "sign_up_bonus_federal": {"value": 100000, "assumption": A},
                "death_compensation": {"value": 5000000, "assumption": A},
                "paid_share": {"range": [0.7, 1.0], "assumption": A},
            },
            "contract": {
                "term_days": {"value": 60, "assumption": A},
                "renewal_probability": {"value": 0.3, "assumption": A},
            },
            "initial": {"deployed": {"value": 2000, "assumption": A}},
        },
        {
            "id": "prisoners",
            "kind": "prisoner",
            "enlistment": {"model": "series", "recruits_per_day": {"value": 15, "assumption": A}},
            "contract": {"term_days": {"value": 45, "assumption": A}, "on_term_end": "released"},
        },
    ],
    "losses": {
        "killed_per_day": {"range": [0.001, 0.003], "assumption": A},
        "wounded_per_day": {"value": 0.004, "assumption": A},
        "missing_per_day": {"value": 0.0005, "assumption": A},
        "recovery": {
            "mean_days": {"value": 30, "assumption": A},
            "return_probability": {"value": 0.6, "assumption": A},
        },
    },
}

TINY_YAML = json.dumps(TINY, indent=2)  # JSON is YAML: usable as a scenario file


def tiny_scenario() -> Scenario:
    """The tiny scenario, validated."""
    return Scenario.model_validate(TINY)


@functools.cache
def _cached(runs: int, seed: int, mode: Mode, sample: bool) -> Result:
    return Sim(tiny_scenario(), runs=runs, seed=seed, mode=mode, sample_parameters=sample).run()


def tiny_result(
    runs: int = 12, seed: int = 3, mode: Mode = "stochastic", sample: bool = True
) -> Result:
    """A small simulated result (a fresh copy of a cached one)."""
    r = _cached(runs, seed, mode, sample)
    return dataclasses.replace(
        r,
        data={k: v.copy() for k, v in r.data.items()},
        parameters={k: v.copy() for k, v in r.parameters.items()},
    )


def big_result(replicates: int) -> Result:
    """A result with many replicates made quickly by repeating a small one (for tests
    that need a save to take many chunks)."""
    base = tiny_result(runs=16, seed=11)
    reps = -(-replicates // base.runs)
    return dataclasses.replace(
        base,
        data={k: np.concatenate([v] * reps)[:replicates] for k, v in base.data.items()},
        parameters={k: np.concatenate([v] * reps)[:replicates] for k, v in base.parameters.items()},
    )


def assert_same_result(got: Result, want: Result, *, same_run: bool = True) -> None:
    """Identical arrays (values and dtypes), parameters and provenance; with
    ``same_run=False`` (``want`` simulated again elsewhere) the wall time may differ."""
    assert got.scenario == want.scenario
    assert got.scenario_hash == want.scenario_hash
    assert (got.seed, got.version, got.mode) == (want.seed, want.version, want.mode)
    assert got.sample_parameters == want.sample_parameters
    if same_run:
        assert got.elapsed_seconds == want.elapsed_seconds
    assert set(got.data) == set(SERIES)
    for name in SERIES:
        assert got.data[name].dtype == want.data[name].dtype, name
        np.testing.assert_array_equal(got.data[name], want.data[name], err_msg=name)
    assert set(got.parameters) == set(want.parameters)
    for name, values in want.parameters.items():
        assert got.parameters[name].shape == values.shape, name
        np.testing.assert_array_equal(got.parameters[name], values, err_msg=name)
