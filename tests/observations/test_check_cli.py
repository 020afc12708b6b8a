"""``forcegen check`` and ``forcegen backtest`` on the closed-form scenario, and the
check's scores."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from observation_cases import MAPPING, SCENARIO, ledger_text, row, scenario, write

from forcegen.observations.backtest import FORECASTERS, backtest, baseline_forecast, split
from forcegen.observations.check import CHECK_COLUMNS, check
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import QuantityMap
from forcegen.observations.measure import resolve
from forcegen.sim import Sim

CliResult = tuple[int, str, str]

ROWS = [
    row(
        id="d1",
        quantity="deaths_period",
        period_start="2022-03-01",
        period_end="2022-04-30",
        value="900",
        verification="independent_count",
    ),
    row(
        id="d2",
        quantity="deaths_period",
        period_start="2022-03-01",
        period_end="2022-06-30",
        value="2500",
        verification="independent_count",
    ),
    row(
        id="d3",
        quantity="deaths_period",
        period_start="2022-03-01",
        period_end="2022-08-31",
        value="4600",
        verification="independent_count",
    ),
    row(id="s1", quantity="deployed", date="2022-04-30", value="2600"),
    row(id="s2", quantity="deployed", date="2022-06-30", value="3900"),
    row(id="s3", quantity="deployed", date="2022-09-30", value="4700"),
    row(id="lb", quantity="deployed", date="2022-08-31", value="1000", bound="lower"),
    row(id="far", quantity="deployed", date="2022-07-31", value="400000"),
    row(id="nm", quantity="not_modelled"),
]
COLUMNS = [*ledger_text([]).strip().split(","), "bound"]


def _files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ledger = write(tmp_path / "ledger.csv", ledger_text(ROWS, COLUMNS))
    mapping = write(tmp_path / "mapping.yaml", MAPPING)
    scen = write(tmp_path / "queue.yaml", SCENARIO.format(horizon=300))
    return ledger, mapping, scen


def test_check_scores_every_usable_row_and_flags_the_impossible_one(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    ledger, _, _ = _files(tmp_path)
    scen = scenario(300)
    resolved = resolve(load_ledger(ledger), scen, mapping)
    result = Sim(scen, runs=30, seed=3).run()
    checked = check(result, resolved, seed=0)
    table = checked.table.set_index("id")
    assert list(checked.table.columns) == list(CHECK_COLUMNS)
    assert set(table.index) == {"d1", "d2", "d3", "s1", "s2", "s3", "lb", "far"}
    # 400,000 deployed is far above anything the scenario allows.
    assert not table.loc["far", "inside90"]
    assert table.loc["far", "percentile"] == 1.0
    assert table.loc["far", "interval_score"] > 10 * table.loc["s2", "interval_score"]
    # A lower bound far below the band is consistent and not scored.
    assert table.loc["lb", "inside90"]
    assert np.isnan(table.loc["lb", "interval_score"])
    assert checked.unusable["id"].tolist() == ["nm"]
    assert set(checked.by_series["quantity"]) == {"deaths_period", "deployed"}
    paths = checked.write(tmp_path / "out")
    assert paths["table"].read_text().startswith(",".join(CHECK_COLUMNS))
    assert (tmp_path / "out" / "check-deployed.png").stat().st_size > 5000


def test_check_cli_json_and_located_errors(
    tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    ledger, mapping, scen = _files(tmp_path)
    code, out, err = run_cli(
        "check",
        str(scen),
        str(ledger),
        "--mapping",
        str(mapping),
        "--runs",
        "20",
        "--format",
        "json",
        "--quiet",
    )
    assert code == 0, err
    data = json.loads(out)["data"]
    assert data["usable"] == 8
    assert data["outcome_rows"] == 9
    assert {r["id"] for r in data["rows"]} >= {"d1", "far"}
    assert data["unusable"][0]["id"] == "nm"
    bad = write(tmp_path / "bad.csv", ledger_text([row(id="x", value="zero"), row(id="")]))
    code, out, err = run_cli("check", str(scen), str(bad), "--mapping", str(mapping))
    assert code == 2
    assert f"{bad}:2:" in err
    assert f"{bad}:3:" in err
    assert "Traceback" not in err


def test_baselines_carry_the_last_value_and_extrapolate_the_last_two(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    ledger, _, _ = _files(tmp_path)
    resolved = resolve(load_ledger(ledger), scenario(300), mapping)
    by_id = {m.row.id: m for m in resolved.measurements}
    train = [by_id["s1"], by_id["s2"]]
    last = baseline_forecast(train, by_id["s3"], "last_value")
    linear = baseline_forecast(train, by_id["s3"], "linear")
    assert last is not None
    assert linear is not None
    assert last[0] == 3900
    # (3900 − 2600) / 61 days, 92 days on from 30 June.
    assert linear[0] == pytest.approx(3900 + 1300 / 61 * 92)
    assert baseline_forecast([by_id["s1"]], by_id["s3"], "linear") is None


def test_backtest_splits_at_the_cutoff_and_scores_four_forecasters(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    import datetime as dt

    ledger, _, _ = _files(tmp_path)
    resolved = resolve(load_ledger(ledger), scenario(300), mapping)
    train, test = split(resolved, dt.date(2022, 6, 30))
    assert {m.row.id for m in train.measurements} == {"d1", "d2", "s1", "s2"}
    assert {m.row.id for m in test.measurements} == {"d3", "s3", "lb", "far"}
    result = backtest(
        resolved,
        dt.date(2022, 6, 30),
        params=["channels.only.enlistment.recruits_per_day", "losses.killed_per_day"],
        particles=32,
        budget=3000,
        prior_runs=30,
        seed=0,
    )
    assert result.posterior.diagnostics.final_temperature == 1.0
    assert set(result.scores["forecaster"]) == set(FORECASTERS)
    overall = result.summary[result.summary["family"] == "all"].set_index("forecaster")
    assert overall.loc["posterior", "is_ratio"] == pytest.approx(1.0)
    assert len(result.train_fit) == 4
    paths = result.write(tmp_path / "bt")
    assert paths["scores"].exists()
    assert paths["figure"].exists()
