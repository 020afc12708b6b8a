"""compare: paired differences under common random numbers, and changed inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from analysis_cases import single_channel

from forcegen.analysis.compare import compare, parameter_changes, structure_changes
from forcegen.errors import UsageError
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

RUNS = 128


def _run(sc: Scenario, seed: int = 7, runs: int = RUNS) -> Result:
    return Sim(sc, runs=runs, seed=seed).run()


def test_identical_scenarios_differ_by_exactly_zero() -> None:
    sc = single_channel(recruits=5, killed=0.03, deployed=100, horizon=80)
    other = sc.model_copy(update={"name": "same"})
    comp = compare([_run(sc), _run(other)])
    (pair,) = comp.pairs
    assert pair.runs == RUNS
    for q in pair.quantities:
        assert (q.difference.median, q.difference.low, q.difference.high) == (0, 0, 0), q.name
        assert q.share_higher == q.share_lower == 0.0
    assert np.all(pair.strength_difference.to_numpy() == 0)
    assert pair.parameters == ()
    assert pair.structure == ()


def test_double_recruits_raise_strength_in_every_replicate() -> None:
    base = single_channel(recruits=5, killed=0.03, horizon=80)
    double = single_channel(recruits=10, killed=0.03, horizon=80, name="double")
    comp = compare([_run(base), _run(double)])
    (pair,) = comp.pairs
    strength = pair.quantity("deployed strength at horizon")
    # Mean strength at the horizon: λ (1 − 0.97^80) / 0.03 → doubles from 151 to 303.
    assert strength.mean_difference == pytest.approx(5 * (1 - 0.97**80) / 0.03, rel=0.1)
    assert strength.difference.low > 0
    assert pair.quantity("recruits, all channels").share_higher == 1.0
    assert pair.quantity("exits, killed").mean_difference > 0
    assert pair.strength_difference.shape == (80, 5)
    assert (pair.strength_difference[0.5].diff().iloc[1:] >= -5).all()  # grows over time
    (change,) = pair.parameters
    assert change.name == "channels.a.enlistment.recruits_per_day"
    assert (change.change, change.before, change.after) == ("changed", "5", "10")
    frame = pair.to_frame()
    assert "difference_median" in frame.columns


def test_paired_bands_are_narrower_than_unpaired() -> None:
    # Common random numbers: the per-replicate difference varies much less than the
    # difference of two independent ensembles would.
    base = single_channel(recruits=5, killed=0.03, deployed=300, horizon=80)
    more = single_channel(recruits=6, killed=0.03, deployed=300, horizon=80, name="more")
    a, b = _run(base), _run(more)
    (pair,) = compare([a, b]).pairs
    q = pair.quantity("deployed strength at horizon")
    paired_width = q.difference.high - q.difference.low
    unpaired_width = (q.other.high - q.other.low) + (q.base.high - q.base.low)
    assert paired_width < 0.7 * unpaired_width


def test_added_and_removed_inputs_are_listed() -> None:
    base = single_channel(recruits=5, horizon=60)
    extra = base.model_copy(
        update={
            "name": "extra",
            "channels": [
                *base.channels,
                single_channel(channel={"id": "b"}).channels[0],
            ],
        }
    )
    changes = parameter_changes(base, extra)
    assert {c.change for c in changes} == {"added"}
    assert "channels.b.enlistment.recruits_per_day" in {c.name for c in changes}
    assert all(c.before is None and c.after is not None for c in changes)
    removed = parameter_changes(extra, base)
    assert {c.change for c in removed} == {"removed"}
    assert "channel b only in extra" in structure_changes(base, extra)
    comp = compare([_run(base), _run(extra)])
    assert comp.pairs[0].quantity("recruits, b").base.median == 0


def test_results_must_share_seed_and_dates() -> None:
    sc = single_channel(recruits=2, horizon=30)
    with pytest.raises(UsageError, match="different seeds"):
        compare([_run(sc, seed=1), _run(sc, seed=2)])
    longer = single_channel(recruits=2, horizon=40)
    with pytest.raises(UsageError, match="different dates"):
        compare([_run(sc), _run(longer)])
    with pytest.raises(UsageError, match="at least two"):
        compare([_run(sc)])


def test_ensembles_of_different_sizes_pair_their_common_replicates() -> None:
    sc = single_channel(recruits=3, killed=0.02, deployed=50, horizon=40)
    small, large = _run(sc, runs=50), _run(sc, runs=200)
    comp = compare([small, large])
    assert comp.runs == 50
    assert all(q.difference.high == q.difference.low == 0 for q in comp.pairs[0].quantities)


def test_settings_that_are_not_parameters_are_listed() -> None:
    from forcegen.scenario.load import load_scenario

    example = Path(__file__).parents[2] / "docs" / "examples" / "conscription.yaml"
    base = load_scenario(example)
    assert structure_changes(base, base) == ()
    deployable = load_scenario(
        example, overrides=["channels.conscripts.conscription.deployable=true"]
    )
    assert structure_changes(base, deployable) == (
        "channel conscripts: conscription.deployable False → True",
    )
    covert = load_scenario("russia-2022-covert")
    mobilisation = load_scenario("russia-2022-mobilisation")
    lines = structure_changes(covert, mobilisation)
    assert "losses: returns_to_duty.deserted absent → present" in lines
    assert "losses: returns_to_duty.refused absent → present" in lines
