"""Runtime guards (forcegen.engine.guard): a block whose counts leave the 32-bit range
or whose money is not finite is a SimulationError naming its cause, never a result.

The scenario checks keep loaded scenarios inside the bounds; values given in code
(``Sim(given=...)``, as solvers and sensitivity analysis do) are not checked, which is
how these tests reach the engine with what issue #12 found: 3e9 people printed as
-1,305,862,440, pools of 1e15 giving negative cells, salaries of 1e300 giving ``inf``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from engine_helpers import no_losses, scenario

import forcegen as fg
from forcegen.engine.guard import OutOfRangeError, SimulationError, check_block, check_day
from forcegen.engine.simulate import Mode, run_block
from forcegen.errors import ForcegenError
from forcegen.scenario.model import Scenario


def small() -> Scenario:
    """One behavioural channel with a pool and pay in USD, one series channel."""
    return scenario(
        [
            {
                "id": "contract",
                "pool": "men",
                "enlistment": {
                    "model": "behavioural",
                    "base_rate_per_day": 0.001,
                    "pay_elasticity": 1.0,
                },
                "pay": {"currency": "USD", "salary_per_month": 2000, "death_compensation": 1e5},
                "training_days": 5,
                "contract": {"term_days": 60},
                "initial": {"deployed": 1000},
            },
            {
                "id": "series",
                "enlistment": {"model": "series", "recruits_per_day": 5},
                "initial": {"deployed": 100},
            },
        ],
        horizon=30,
        losses=no_losses(killed_per_day=0.001, wounded_per_day=0.002),
        pools=[{"id": "men", "initial_people": 100_000, "reference_wage_per_month": 50_000}],
        exchange_rates={"USD": 60},
    )


def run_given(name: str, value: float, mode: str = "stochastic") -> Any:
    return fg.Sim(small(), runs=2, seed=1, mode=mode, given={name: np.full(2, value)}).run()


def test_three_billion_people_are_an_error_not_a_negative_strength() -> None:
    with pytest.raises(SimulationError) as caught:
        run_given("channels.contract.initial.deployed", 3e9)
    message = str(caught.value)
    assert message.startswith(
        "the simulation left what forcegen can count: the strength 'deployed' of channel "
        "'contract' reached "
    )
    assert "beyond the 2,147,483,647 a 32-bit count holds" in message
    assert "It comes from channels.contract.initial.deployed (up to 3e+09 in this block)" in (
        message
    )
    assert isinstance(caught.value, ForcegenError)  # the CLI: exit 2, no traceback


def test_a_pool_replenished_by_1e15_a_day_is_an_error() -> None:
    with pytest.raises(SimulationError, match=r"pools\.men\.replenish_per_day \(up to 1e\+15"):
        run_given("pools.men.replenish_per_day", 1e15)


def test_series_recruits_beyond_the_counts_are_an_error() -> None:
    with pytest.raises(SimulationError, match=r"channel 'series'.*recruits_per_day"):
        run_given("channels.series.enlistment.recruits_per_day", 5e9)


@pytest.mark.parametrize(
    ("name", "value", "cause", "mode"),
    [
        ("channels.contract.pay.salary_per_month", 1e300, "salary", "stochastic"),
        ("channels.contract.pay.death_compensation", 1e308, "death compensation", "stochastic"),
        ("exchange_rates.USD", 1e308, "salary", "stochastic"),
        # 1e300 is finite in the mean-field mode's 64-bit floats; 1e308 in USD is not.
        ("channels.contract.pay.death_compensation", 1e308, "death compensation", "mean-field"),
        ("exchange_rates.USD", 1e308, "salary", "mean-field"),
    ],
)
def test_infinite_money_is_an_error(name: str, value: float, cause: str, mode: str) -> None:
    with pytest.raises(SimulationError) as caught:
        run_given(name, value, mode)
    message = str(caught.value)
    # inf, or nan on a day where nobody was killed (0 × inf)
    assert re.search(
        f"the paid {cause} cost of channel 'contract' is (inf|nan) on 2023-01-0", message
    )
    assert f"It comes from {name} (up to {value:.3g} in this block)" in message


def test_counts_at_the_limit_pass_and_beyond_it_do_not() -> None:
    # Day layout: strength (4 states), inflow (2), outflow (10), transition (9);
    # column 8 is the third exit cause.
    counts = np.zeros((2, 3, 25), dtype=np.int64)
    pools = np.zeros((2, 1), dtype=np.int64)
    counts[1, 2, 8] = 2**31 - 1
    check_day(counts, pools, 0)
    counts[1, 2, 8] = 2**31
    with pytest.raises(OutOfRangeError) as caught:
        check_day(counts, pools, 4)
    assert (caught.value.series, caught.value.entity, caught.value.category) == ("outflow", 2, 2)
    assert (caught.value.day, caught.value.replicate) == (4, 1)
    counts[1, 2, 8] = 0
    pools[0, 0] = -1
    with pytest.raises(OutOfRangeError) as pool_breach:
        check_day(counts, pools, 9)
    assert (pool_breach.value.series, pool_breach.value.value) == ("pool", -1.0)


def test_mean_field_counts_may_round_below_zero_but_not_go_negative() -> None:
    strength = np.full((1, 3, 1, 3), 1e6)
    arrays = {"strength": strength, "cost": np.zeros((1, 3, 1, 5))}
    strength[0, 1, 0, 2] = -1e-3  # 1e-9 of the scale: rounding
    check_block(arrays, integer=False)
    strength[0, 1, 0, 2] = -10.0
    with pytest.raises(OutOfRangeError, match="strength"):
        check_block(arrays, integer=False)


def test_no_pay_with_a_negative_elasticity_and_no_base_rate_enlists_nobody() -> None:
    """0 × inf in the behavioural rate was NaN, and the binomial draw raised a
    ValueError traceback for a scenario that validates."""
    scn = scenario(
        [
            {
                "id": "c",
                "pool": "men",
                "enlistment": {
                    "model": "behavioural",
                    "base_rate_per_day": 0.0,
                    "pay_elasticity": -1.0,
                    "depletion_exponent": -0.5,
                },
                "initial": {"deployed": 10},
            }
        ],
        horizon=10,
        pools=[{"id": "men", "initial_people": 100, "reference_wage_per_month": 1000}],
    )
    modes: tuple[Mode, ...] = ("stochastic", "mean-field")
    for mode in modes:
        out = run_block(scn, seed=0, block=0, mode=mode, sample_parameters=False).output
        assert out.inflow.sum() == 0
