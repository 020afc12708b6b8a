"""The shipped calibration ``russia-2022-2026-calibrated`` (docs/scenarios.md).

Written by ``forcegen calibrate russia-2022-2026
../shared/data/public-record/observations.csv --out src/forcegen/scenario/builtin/
--seed 1`` (docs/calibration.md gives the run). These tests hold the files to what the
calibration promised: the sample passed its diagnostics, the scenario differs from
``russia-2022-2026`` only in the calibrated parameters (so a change to the base
scenario that was not recalibrated fails here), every particle lies in its prior's
support, the fitted distributions describe the particles, and runs by name draw whole
particles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forcegen.analysis.posterior_runs import (
    is_nuisance,
    joint_draws,
    particles_for,
    read_header,
)
from forcegen.observations.convergence import POPULATION_RHAT_MAX
from forcegen.scenario.load import builtin_particles, list_builtin, load_scenario
from forcegen.scenario.params import Param
from forcegen.scenario.walk import iter_params

NAME = "russia-2022-2026-calibrated"
BASE = "russia-2022-2026"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    path = builtin_particles(NAME)
    assert path is not None, "the posterior sample is not shipped beside the scenario"
    return pd.read_csv(path, skiprows=1)


@pytest.fixture(scope="module")
def params() -> tuple[dict[str, Param], dict[str, Param]]:
    """Parameter name → parameter, of the base and of the calibrated scenario."""
    base = {ref.name: ref.param for ref in iter_params(load_scenario(BASE))}
    calibrated = {ref.name: ref.param for ref in iter_params(load_scenario(NAME))}
    return base, calibrated


def test_it_ships_with_a_sample_that_passed_every_diagnostic() -> None:
    assert NAME in list_builtin()
    path = builtin_particles(NAME)
    assert path is not None
    assert particles_for(NAME) == path
    header = read_header(path)
    assert header["method"] == "smc"
    assert header["others"] == "expected"
    assert header["diagnostics"] == "passed"
    assert float(header["temperature"]) == 1.0
    assert float(header["ess_share"]) >= 0.3
    assert int(header["populations"]) >= 2
    assert float(header["max_rhat"]) < POPULATION_RHAT_MAX
    # (scenario, seed, version) determine the sample.
    assert header["seed"].isdigit()
    assert header["forcegen"]
    assert "cutoff" not in header  # every usable row of the record, to 2024-06-30


def test_it_is_the_base_scenario_but_for_the_calibrated_parameters(
    sample: pd.DataFrame, params: tuple[dict[str, Param], dict[str, Param]]
) -> None:
    base, calibrated = params
    assert set(calibrated) == set(base)
    names = [c for c in sample.columns if not is_nuisance(c)]
    assert names, "no calibrated parameter in the sample"
    assert set(names) <= set(base)
    changed = {n for n in base if calibrated[n] != base[n]}
    assert changed == set(names), "the base scenario changed: recalibrate (docstring)"


def test_the_particles_lie_in_their_priors_and_the_fits_describe_them(
    sample: pd.DataFrame, params: tuple[dict[str, Param], dict[str, Param]]
) -> None:
    base, calibrated = params
    assert np.allclose(sample["weight"], 1.0 / len(sample))
    for name in (c for c in sample.columns if not is_nuisance(c)):
        low, high = base[name].support
        values = sample[name].to_numpy()
        assert np.all((values >= low) & (values <= high)), name
        # The written distribution is a normal fitted to the particles (truncated to
        # the prior's support): its expected value is near the particles' mean.
        expected = float(np.asarray(calibrated[name].expected()).ravel()[0])
        assert expected == pytest.approx(values.mean(), rel=0.05, abs=0.05 * values.std()), name
    assert sample["discrepancy"].between(0.0, 1.0).all()


def test_runs_by_name_draw_whole_particles(sample: pd.DataFrame) -> None:
    names = [c for c in sample.columns if not is_nuisance(c)]
    path = builtin_particles(NAME)
    assert path is not None
    draws = joint_draws(path, load_scenario(NAME), 500, 0)
    rows = {tuple(np.round(r, 12)) for r in sample[names].to_numpy()}
    drawn = np.column_stack([draws.given[n] for n in names])
    assert all(tuple(np.round(r, 12)) in rows for r in drawn)
    assert len(draws.nuisance) == 500
