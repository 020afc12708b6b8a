"""The explorer's numbers: levers, mean field, ensembles with common random numbers,
answers equal to the API's, the CLI's error path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from forcegen.cli import main
from forcegen.explore import views
from forcegen.explore.app import open_source
from forcegen.explore.jobs import Simulations
from forcegen.explore.levers import levers, rank_inputs, slider_range
from forcegen.explore.setting import Edit, Setting, build
from forcegen.scenario.load import load_scenario, scenario_hash
from forcegen.sim import Sim


@pytest.fixture(scope="module")
def sims() -> Iterator[Simulations]:
    """16 replicates per ensemble, seed 3, one worker process for the module."""
    simulations = Simulations(runs=16, seed=3, threads=1)
    yield simulations
    simulations.close()


def test_rank_inputs_exact() -> None:
    y = np.arange(10.0)
    ranked = rank_inputs({"up": y**3, "down": -y, "flat": np.ones(10)}, y)
    assert ranked == pytest.approx({"up": 1.0, "down": -1.0})
    assert rank_inputs({"x": y}, np.ones(10)) == {}


def test_slider_range() -> None:
    assert slider_range(0.0, float("inf"), 1.0, 9.0) == (0.0, 9.0)
    assert slider_range(2.0, 5.0, 2.1, 4.9) == (2.0, 5.0)


def test_levers_are_strongest_first_within_their_priors(small_path: Path) -> None:
    scenario = load_scenario(small_path)
    rho = {
        "losses.killed_per_day": -0.9,
        "pools.adults.initial_people": 0.3,
        "channels.contract.enlistment.base_rate_per_day": 0.5,
    }
    chosen = levers(scenario, rho, count=2)
    assert [lv.name for lv in chosen] == [
        "losses.killed_per_day",
        "channels.contract.enlistment.base_rate_per_day",
    ]
    killed = chosen[0]
    assert (killed.low, killed.high) == (0.0001, 0.003)
    assert killed.low <= killed.start <= killed.high
    assert killed.status == "assumption"
    rate = chosen[1]
    assert rate.low == 0.0  # lognormal: the support's lower end, the 99th percentile above
    assert rate.high == pytest.approx(
        float(
            scenario.channels[0].enlistment.base_rate_per_day.values(np.array([0.99]))[0]  # type: ignore[union-attr]
        )
    )


def test_screen_names_the_inputs_that_move_the_headline(
    sims: Simulations, small_path: Path
) -> None:
    chosen = sims.levers(load_scenario(small_path))
    names = [lv.name for lv in chosen]
    # The death rate and the enlistment rate set deployed strength in this scenario.
    assert set(names[:2]) == {
        "losses.killed_per_day",
        "channels.contract.enlistment.base_rate_per_day",
    }
    assert sims.levers(load_scenario(small_path)) is chosen  # cached


def test_mean_field_is_one_deterministic_trajectory(sims: Simulations, small_path: Path) -> None:
    scenario = load_scenario(small_path)
    mf = sims.mean_field(scenario)
    assert mf.runs == 1
    again = Sim(scenario, runs=1, mode="mean-field", sample_parameters=False, seed=99).run()
    np.testing.assert_array_equal(views.deployed(mf), views.deployed(again))


def test_ensembles_share_random_numbers(sims: Simulations, small_path: Path) -> None:
    base = open_source(str(small_path), seed=3)
    now = build(base, Setting((Edit("lever", "losses.killed_per_day", "0.0005"),)))
    before = build(base, Setting((Edit("lever", "losses.killed_per_day", "0.002"),)))
    keys = sims.want([before, now])
    a, b = (sims.wait(k, timeout=300).result for k in keys)
    assert a is not None
    assert b is not None
    assert keys == [scenario_hash(before), scenario_hash(now)]
    # Same seed: the same as a Sim run alone.
    alone = Sim(now, runs=16, seed=3, threads=1).run()
    np.testing.assert_array_equal(views.deployed(b), views.deployed(alone))
    diff = views.paired_difference(b, a)
    assert np.all(diff.q[0.5][-30:] > 0)  # fewer deaths, more deployed
    # Pairing removes the chance the two share: the paired spread at the horizon is
    # narrower than that of the difference with the baseline's replicates shuffled.
    paired = views.deployed(b)[:, -1] - views.deployed(a)[:, -1]
    unpaired = views.deployed(b)[:, -1] - np.roll(views.deployed(a)[:, -1], 1)
    assert paired.std() < unpaired.std()
    assert np.all(views.paired_difference(a, a).q[0.5] == 0)


def test_an_ensemble_no_longer_wanted_is_abandoned(sims: Simulations, small_path: Path) -> None:
    base = open_source(str(small_path), seed=3)
    first = build(base, Setting((Edit("l", "losses.killed_per_day", "0.001"),)))
    second = build(base, Setting((Edit("l", "losses.killed_per_day", "0.0011"),)))
    (k1,) = sims.want([first])
    (k2,) = sims.want([second])
    done = sims.wait(k2, timeout=300)
    assert done.result is not None
    assert done.done == done.total == 16
    assert sims.state(k1).result is None


def test_answers_are_the_api_s(sims: Simulations, small_path: Path) -> None:
    scenario = load_scenario(small_path)
    (key,) = sims.want([scenario])
    result = sims.wait(key, timeout=300).result
    assert result is not None
    below = views.answer(result, below=9000, by=None)
    assert below.probability.successes == result.time_below(9000).probability.successes
    hold = views.answer(result, hold=8000, by=result.dates[100].date())
    assert hold.probability.successes == result.prob_hold(8000, by=result.dates[100]).successes
    monthly = views.monthly(result, "inflow", "channel")
    total = result.total("inflow", categories="recruited").mean(axis=0).sum()
    assert monthly.to_numpy().sum() == pytest.approx(total)
    assert len(monthly) == 8  # January to August 2024


def test_cli_bad_source_is_a_located_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["explore", "no-such-scenario.yaml", "--port", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-scenario.yaml" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("n", [1, 2, 240, 400, 401, 1095, 36_500])
def test_bands_are_thinned_keeping_both_ends(n: int) -> None:
    from forcegen.explore.charts import MAX_POINTS, _thin

    idx = _thin(n)
    assert idx[0] == 0
    assert idx[-1] == n - 1
    assert len(idx) <= MAX_POINTS + 1
    assert np.all(np.diff(idx) > 0)
    if n <= MAX_POINTS:
        np.testing.assert_array_equal(idx, np.arange(n))


def test_monthly_sums_are_pandas_month_groups(small_path: Path) -> None:
    """views.monthly (numpy bincount) equals a pandas group-by of the daily means."""
    import pandas as pd

    result = Sim(load_scenario(small_path), runs=4, seed=1).run()
    for series, by in (("inflow", "channel"), ("outflow", "category")):
        table = views.monthly(result, series, by)
        kinds = "recruited" if series == "inflow" else None
        daily = pd.DataFrame(
            {
                str(name): (
                    result.total(series, channels=str(name), categories=kinds)
                    if by == "channel"
                    else result.total(series, categories=str(name))
                ).mean(axis=0)
                for name in table.columns
            },
            index=result.dates,
        )
        expected = daily.groupby(result.dates.to_period("M")).sum()
        expected.index = pd.PeriodIndex(expected.index).to_timestamp()
        pd.testing.assert_frame_equal(table, expected, check_freq=False)
        assert table.to_numpy().sum() > 0


def test_one_worker_process_serves_every_ensemble(sims: Simulations, small_path: Path) -> None:
    """No spawn, import and compile per lever move: the worker that ran one ensemble,
    and had another abandoned, runs the next."""
    base = open_source(str(small_path), seed=3)
    before = sims.worker_pid()
    first = build(base, Setting((Edit("l", "losses.killed_per_day", "0.0012"),)))
    second = build(base, Setting((Edit("l", "losses.killed_per_day", "0.0013"),)))
    third = build(base, Setting((Edit("l", "losses.killed_per_day", "0.0014"),)))
    (k1,) = sims.want([first])
    (k2,) = sims.want([second])  # the first is abandoned (if it had started)
    assert sims.wait(k2, timeout=300).result is not None
    (k3,) = sims.want([third])
    assert sims.wait(k3, timeout=300).result is not None
    assert sims.state(k1).error is None
    assert sims.worker_pid() == before


def test_common_random_numbers_survive_an_event_switched_off_and_on(small_path: Path) -> None:
    """Switching the pay change off and on again gives the loaded scenario back, and a
    fresh ensemble of it (no cache) has the very same replicates; the paired
    difference off − on is zero until the event's date (the same random numbers
    drove both until the scenarios differ) and is the event's effect after it."""
    base = open_source(str(small_path), seed=3)
    on = build(base, Setting())
    off = build(base, Setting((), frozenset({0})))
    on_again = build(base, Setting((), frozenset()))
    assert scenario_hash(on_again) == scenario_hash(on) == scenario_hash(base.scenario)
    results = {}
    for name, scenario in (("on", on), ("off", off), ("on again", on_again)):
        fresh = Simulations(runs=8, seed=3, threads=1)  # no ensemble kept from another
        try:
            (key,) = fresh.want([scenario])
            results[name] = fresh.wait(key, timeout=300).result
        finally:
            fresh.close()
        assert results[name] is not None
    a, b, c = (views.deployed(results[n]) for n in ("on", "off", "on again"))  # type: ignore[arg-type]
    np.testing.assert_array_equal(a, c)
    event_day = int(np.searchsorted(results["on"].dates, np.datetime64(on.events[0].date)))  # type: ignore[union-attr]
    diff = b - a
    assert 0 < event_day < diff.shape[1]
    np.testing.assert_array_equal(diff[:, :event_day], 0.0)
    assert np.any(diff[:, event_day + 30 :] != 0)
