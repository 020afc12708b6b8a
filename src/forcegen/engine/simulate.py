"""Run blocks of replicates: the engine's entry points (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.compile import compile_block
from forcegen.engine.draws import Draws, ExpectedDraws, StochasticDraws
from forcegen.engine.guard import OutOfRangeError, check_block, explain
from forcegen.engine.sampling import ParameterSet, sample_block
from forcegen.engine.step import BlockOutput, simulate_block
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.scenario.model import Scenario

__all__ = ["BlockRun", "Mode", "run_block"]

Mode = Literal["stochastic", "mean-field"]
FloatArray = NDArray[np.float64]


@dataclass
class BlockRun:
    """The output of one block and the parameter values it used."""

    block: int
    output: BlockOutput
    parameters: ParameterSet


def run_block(
    scenario: Scenario,
    *,
    seed: int,
    block: int,
    mode: Mode = "stochastic",
    sample_parameters: bool = True,
    given: Mapping[str, FloatArray] | None = None,
    given_quantiles: Mapping[str, FloatArray] | None = None,
    rows: int | None = None,
    threads: int = 1,
    on_day: Callable[[int], None] | None = None,
) -> BlockRun:
    """Simulate replicate block ``block`` of a run seeded with ``seed``.

    The result depends only on the arguments (and the package version), which is what
    makes runs split over processes or a Dask cluster identical to a single-process run.

    ``rows`` simulates only the block's first replicates, with the same results for
    them as the whole block: replicates are independent of each other (every random
    number is keyed by its replicate, see :mod:`forcegen.engine.counters`; parameters
    are sampled for the whole block and the first rows kept).

    ``threads`` draws the returns and exits of each channel's replicates in parallel
    threads (stochastic mode); the result does not depend on it. ``on_day`` is called
    with the days simulated so far.

    Raises:
        SimulationError: A count left the 32-bit range or went negative, or a money
            figure is not finite (see :mod:`forcegen.engine.guard`); the error names
            the scenario fields it comes from.
    """
    params = sample_block(
        scenario,
        seed=seed,
        block=block,
        sample=sample_parameters,
        given=given,
        given_quantiles=given_quantiles,
    )
    if rows is not None and rows < BLOCK_SIZE:
        params = ParameterSet(
            values={k: v[:rows] for k, v in params.values.items()},
            quantiles={k: v[:rows] for k, v in params.quantiles.items()},
        )
    draws: Draws = StochasticDraws(seed, block) if mode == "stochastic" else ExpectedDraws()
    breakpoints = [m.until_day for m in scenario.losses.service_multipliers]
    try:
        # Overflowing money is reported by the guard, which names its cause; numpy's
        # warnings about it would only come first and say less.
        with np.errstate(over="ignore", invalid="ignore"):
            plan = compile_block(scenario, params)
            output = simulate_block(plan, draws, breakpoints, threads=threads, on_day=on_day)
        check_block(vars(output), integer=mode == "stochastic")
    except OutOfRangeError as breach:
        raise explain(breach, scenario, params, block) from None
    return BlockRun(block=block, output=output, parameters=params)
