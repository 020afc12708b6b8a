"""Runs of a calibrated scenario draw its calibrated parameters jointly from the
posterior sample written beside it, and hold the others as the calibration did."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from inference_cases import HAZARD, LAMBDA, queue_scenario, write_synthetic

from forcegen.analysis.calibration import calibrate
from forcegen.analysis.posterior_runs import joint_draws, particles_beside
from forcegen.scenario.load import load_scenario

CliResult = tuple[int, str, str]


def test_a_calibrated_scenario_runs_from_its_posterior_sample_jointly(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    scenario = queue_scenario(90)
    obs = write_synthetic(
        tmp_path / "obs.csv",
        scenario,
        u_lambda=0.4,
        u_hazard=0.5,
        fraction=0.7,
        log_sd=0.2,
        seed=3,
    )
    result = calibrate(
        scenario, obs, params=[LAMBDA, HAZARD], budget=300, population_size=40, seed=1
    )
    paths = result.write(tmp_path / "cal", allow_failed=True)
    yaml_path = paths["scenario"]
    sample = particles_beside(yaml_path)
    assert sample == paths["particles"]
    calibrated = load_scenario(yaml_path)
    draws = joint_draws(sample, calibrated, runs=200, seed=5)
    assert not draws.sample_others  # the calibration held the others at expected values
    table = pd.read_csv(sample, skiprows=1)
    rows = {(round(a, 9), round(b, 9)) for a, b in zip(table[LAMBDA], table[HAZARD], strict=True)}
    # Every replicate is one whole particle: the pair is a row of the sample.
    pairs = zip(draws.given[LAMBDA], draws.given[HAZARD], strict=True)
    assert all((round(a, 9), round(b, 9)) in rows for a, b in pairs)
    # Heavier particles are drawn more often (resampled by weight).
    assert np.unique(draws.given[LAMBDA]).size > 1
    code, out, err = run_cli(
        "run", str(yaml_path), "--runs", "8", "--no-store", "--format", "json", "--quiet"
    )
    assert code == 0, err
    assert "drawn jointly from the posterior sample" in err
    assert "held at their expected values" in err
    assert isinstance(json.loads(out)["data"], dict)
