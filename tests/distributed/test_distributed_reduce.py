"""Streamed ensembles: reducers give exactly what the in-memory Result gives, locally
or on workers, whatever the chunking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from dist_helpers import RUNS, SEED

from forcegen.distributed import run_reduced
from forcegen.errors import UsageError
from forcegen.results.reduce import (
    DailyTotals,
    ParameterValues,
    Reducer,
    StrengthQuantiles,
    SummaryTotals,
)
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim


def reducers() -> list[Reducer]:
    return [
        SummaryTotals(),
        StrengthQuantiles(),
        StrengthQuantiles(channels="volunteers"),
        DailyTotals("outflow", categories=["killed", "missing"]),
        DailyTotals("cost"),
        ParameterValues(),
    ]


def check_against(result: Result, got: list[Reducer]) -> None:
    summary, strength, volunteers, losses, cost, params = got
    assert isinstance(summary, SummaryTotals)
    assert summary.summary() == result.summary()
    assert summary.summary((0.1, 0.9)) == result.summary((0.1, 0.9))
    assert isinstance(strength, StrengthQuantiles)
    assert isinstance(volunteers, StrengthQuantiles)
    assert strength.values.dtype == np.int32
    pd.testing.assert_frame_equal(strength.quantiles(), result.quantiles(categories="deployed"))
    pd.testing.assert_frame_equal(
        volunteers.quantiles((0.5,)),
        result.quantiles(q=(0.5,), channels="volunteers", categories="deployed"),
    )
    assert isinstance(losses, DailyTotals)
    assert isinstance(cost, DailyTotals)
    pd.testing.assert_frame_equal(
        losses.quantiles(cumulative=True),
        result.quantiles("outflow", categories=["killed", "missing"], cumulative=True),
    )
    assert cost.values.dtype == np.float64
    assert np.array_equal(cost.total(), result.total("cost"))
    assert isinstance(params, ParameterValues)
    assert params.values.keys() == result.parameters.keys()
    for name, values in result.parameters.items():
        assert np.array_equal(params.values[name], values), name


def test_streamed_in_this_process_equals_in_memory(reference: Result, scenario: Scenario) -> None:
    calls: list[tuple[int, int]] = []
    got = run_reduced(
        Sim(scenario, runs=RUNS, seed=SEED),
        reducers(),
        lambda done, total: calls.append((done, total)),
    )
    check_against(reference, got)
    # in this process progress is reported in replicates as days are simulated:
    # never backwards, through every block, ending at the total
    done = [d for d, _ in calls]
    assert done == sorted(done)
    assert {t for _, t in calls} == {RUNS}
    assert {128, 256, RUNS} <= set(done)
    assert 0 < done[len(done) // 6] < 128  # within the first block, not only after it
    assert done[-1] == RUNS


@pytest.mark.parametrize("chunk", [1, 2])
def test_streamed_on_workers_equals_in_memory(
    cluster2: Any, reference: Result, scenario: Scenario, chunk: int
) -> None:
    got = run_reduced(Sim(scenario, runs=RUNS, seed=SEED), reducers(), client=cluster2, chunk=chunk)
    check_against(reference, got)


def test_single_reducer_and_mean_field(scenario: Scenario) -> None:
    sim = Sim(scenario, runs=130, seed=2, mode="mean-field")
    result = sim.run()
    strength = run_reduced(Sim(scenario, runs=130, seed=2, mode="mean-field"), StrengthQuantiles())
    assert strength.values.dtype == np.float64  # mean-field people are real numbers
    pd.testing.assert_frame_equal(strength.quantiles(), result.quantiles(categories="deployed"))


def test_quantile_slices_match_one_pass(scenario: Scenario) -> None:
    # Horizon (60 days) below one date slice here; force several slices.
    import forcegen.results.reduce as reduce_module

    sim = Sim(scenario, runs=40, seed=1)
    result = sim.run()
    losses = run_reduced(sim, DailyTotals("outflow"))
    old = reduce_module._DATE_SLICE
    try:
        reduce_module._DATE_SLICE = 7
        sliced = losses.quantiles(cumulative=True)
    finally:
        reduce_module._DATE_SLICE = old
    pd.testing.assert_frame_equal(sliced, result.quantiles("outflow", cumulative=True))


def test_reducer_errors() -> None:
    with pytest.raises(UsageError, match="unknown series"):
        DailyTotals("nope")
    with pytest.raises(RuntimeError, match="begin"):
        StrengthQuantiles().quantiles()


def test_cli_ensemble(
    scenario: Scenario, reference: Result, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from forcegen.cli import main

    path = tmp_path / "scenario.yaml"
    path.write_text(scenario.model_dump_json(by_alias=True, exclude_none=True))
    out = tmp_path / "q.csv"
    args = ["ensemble", str(path), "--runs", str(RUNS), "--seed", str(SEED), "--quiet"]
    main([*args, "--keep", "strength", "--quantiles-out", str(out)])
    printed = capsys.readouterr().out
    assert "Deployed strength" in printed
    assert "peak memory" in printed
    table = pd.read_csv(out, index_col="date", parse_dates=True)
    expected = reference.quantiles(categories="deployed")
    assert np.array_equal(table.to_numpy(), expected.to_numpy())
    with pytest.raises(SystemExit) as exc:
        main([*args, "--quantiles-out", str(out)])  # needs --keep strength
    assert exc.value.code == 2
