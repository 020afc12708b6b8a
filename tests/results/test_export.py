"""Exports: ``Result.to_pandas`` filters and its row bound, resampling, and ``forcegen
export`` of quantiles, summary and replicates in every format, checked against the
Result's own numbers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr
from store_support import tiny_result

from forcegen.engine.step import TRANSITION_KINDS
from forcegen.errors import UsageError
from forcegen.results.export import (
    QUANTILES,
    Filters,
    period_ends,
    quantile_columns,
    quantile_frame,
    replicates_frame,
    resample,
    stored_quantile_frame,
    unit_of,
)
from forcegen.results.result import SERIES, TIDY_COLUMNS, Result
from forcegen.results.store import Store

CliResult = tuple[int, str, str]
Cli = Callable[..., CliResult]

RUNS = 12
DAYS = 90  # the tiny scenario: 2022-08-01 … 2022-10-29, channels contract and prisoners
# 65 tidy rows: strength, inflow, outflow, transition (7 kinds), pool, cost, unpaid
ROWS_PER_RUN_DAY = 2 * 3 + 2 * 2 + 2 * 10 + 2 * len(TRANSITION_KINDS) + 1 + 2 * 5 + 2 * 5


@pytest.fixture(scope="module")
def result() -> Result:
    return tiny_result(runs=RUNS, seed=3)


@pytest.fixture(scope="module")
def stored(result: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store holding ``result``, saved once for the module: (store path, run id)."""
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    return path, Store(path, timeout=5).save(result)


@pytest.fixture
def export(run_cli: Cli, stored: tuple[Path, str]) -> Cli:
    """``export(*args)``: ``forcegen export RUN *args --store STORE``."""
    path, run_id = stored

    def run(*args: str) -> CliResult:
        return run_cli("export", run_id, *args, "--store", str(path))

    return run


# ---------------------------------------------------------------------------- to_pandas
def _reference_rows(result: Result, name: str) -> pd.DataFrame:
    """Tidy rows of one series built the obvious way (index grids), labels as strings."""
    arr = result.data[name]
    spec = SERIES[name]
    grids = np.indices(arr.shape).reshape(arr.ndim, -1)
    entities, cats = result.labels(name)
    out = {
        "run": grids[0],
        "date": result.dates[grids[1]],
        "series": name,
        "channel": np.asarray(entities)[grids[2]] if spec.entity == "channel" else "",
        "pool": np.asarray(entities)[grids[2]] if spec.entity == "pool" else "",
    }
    for col in ("state", "cause", "kind"):
        out[col] = np.asarray(cats)[grids[3]] if spec.category == col else ""
    out["value"] = arr.reshape(-1)
    return pd.DataFrame(out)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels as plain strings ('' when missing), for comparing frames."""
    out = frame.reset_index(drop=True).copy()
    for col in ("series", "channel", "pool", "state", "cause", "kind"):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    out["run"] = out["run"].astype(np.int64)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[s]")
    out["value"] = out["value"].astype(np.float64)
    return out


def test_to_pandas_keeps_its_layout_and_concatenates_as_categoricals(result: Result) -> None:
    frame = result.to_pandas()
    assert tuple(frame.columns) == TIDY_COLUMNS
    assert len(frame) == RUNS * DAYS * ROWS_PER_RUN_DAY
    want = pd.concat([_reference_rows(result, n) for n in SERIES], ignore_index=True)
    pd.testing.assert_frame_equal(_plain(frame), _plain(want))
    # one series keeps its dtype; label columns have every label of the run as
    # categories, so per-series frames concatenate into the same frame, still categorical
    assert result.to_pandas("strength")["value"].dtype == np.int32
    parts = pd.concat([result.to_pandas(n) for n in SERIES], ignore_index=True)
    pd.testing.assert_frame_equal(parts, frame)
    assert isinstance(frame["channel"].dtype, pd.CategoricalDtype)


def test_to_pandas_filters_series_runs_channels_and_dates(result: Result) -> None:
    frame = result.to_pandas(
        "outflow", [7, 2], channels="prisoners", start="2022-08-10", end=dt.date(2022, 8, 20)
    )
    assert len(frame) == 2 * 11 * 1 * 10
    assert set(frame["series"]) == {"outflow"}
    assert set(frame["channel"]) == {"prisoners"}
    assert list(dict.fromkeys(frame["run"])) == [7, 2]  # in the order asked
    assert frame["date"].min() == pd.Timestamp("2022-08-10")
    assert frame["date"].max() == pd.Timestamp("2022-08-20")
    want = result.data["outflow"][[7, 2], 9:20, 1, :]  # day 9 is 2022-08-10
    np.testing.assert_array_equal(frame["value"].to_numpy(), want.reshape(-1))

    # a pool id keeps only the series indexed by pools
    pools = result.to_pandas(channels="civilians", runs=[0])
    assert set(pools["series"]) == {"pool"}
    np.testing.assert_array_equal(pools["value"], result.data["pool"][0, :, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"series": ["strength", "bogus"]}, "unknown series 'bogus'"),
        ({"runs": [0, RUNS]}, f"no replicate {RUNS}"),
        ({"channels": "nobody"}, "unknown channel or pool 'nobody'"),
        ({"start": "2022-07-31"}, "outside the run, which covers 2022-08-01 to 2022-10-29"),
        ({"end": "2022-10-30"}, "outside the run"),
        ({"start": "2022-09-02", "end": "2022-09-01"}, "is after the end date"),
        ({"start": "1st of August"}, "is not a date"),
    ],
)
def test_to_pandas_rejects_bad_filters(
    result: Result, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        result.to_pandas(**kwargs)


def _huge(result: Result, runs: int) -> Result:
    # Every series as a read-only broadcast of one value: terabytes of tidy rows that
    # cost nothing unless something materialises them.
    data = {
        name: np.broadcast_to(arr[:1, :1].reshape((1, 1, *arr.shape[2:])), (runs, *arr.shape[1:]))
        for name, arr in result.data.items()
    }
    return dataclasses.replace(result, data=data)


def test_to_pandas_refuses_beyond_max_rows_without_allocating(result: Result) -> None:
    huge = _huge(result, 200_000)
    rows = 200_000 * DAYS * ROWS_PER_RUN_DAY
    tracemalloc.start()
    try:
        with pytest.raises(UsageError) as err:
            huge.to_pandas()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(err.value)
    assert f"would make {rows:,} rows" in message
    assert "more than the 20,000,000 allowed" in message
    assert f"(about {rows * 30 / 1e9:,.1f} GB in memory)" in message  # 30 bytes a row
    for hint in ("series=", "runs=", "channels=", "start=/end=", "max_rows=None"):
        assert hint in message
    assert peak < 5_000_000  # the replicate indices (1.6 MB), nothing per row

    # a selection within the bound is made, and only from the values selected
    few = huge.to_pandas("pool", runs=[0, 199_999], start="2022-10-01")
    assert len(few) == 2 * 29
    np.testing.assert_array_equal(few["value"], result.data["pool"][0, 0, 0])

    with pytest.raises(UsageError, match="would make 5,490 rows"):
        result.to_pandas(runs=[0], max_rows=5_000)
    assert len(result.to_pandas(runs=[0], max_rows=None)) == 5_490


# --------------------------------------------------------------------------- resampling
def test_resample_by_hand() -> None:
    # Thursday 2022-07-28 to Wednesday 2022-08-10: weeks (Monday to Sunday) are cut at
    # both ends; months are July (4 days) and August (10 days).
    dates = pd.date_range("2022-07-28", "2022-08-10")
    values = np.arange(2 * 14, dtype=np.int32).reshape(2, 14)  # (run, date)

    flows, labels = resample(values, dates, "outflow", "week")
    assert list(labels.strftime("%Y-%m-%d")) == ["2022-07-31", "2022-08-07", "2022-08-10"]
    np.testing.assert_array_equal(
        flows,
        [[0 + 1 + 2 + 3, sum(range(4, 11)), 11 + 12 + 13], [14 + 15 + 16 + 17, 147, 25 + 26 + 27]],
    )
    assert flows.dtype == np.int64  # daily counts summed without overflow
    stocks, _ = resample(values, dates, "strength", "week")
    np.testing.assert_array_equal(stocks, [[3, 10, 13], [17, 24, 27]])  # last day of each

    flows, labels = resample(values, dates, "cost", "month")
    assert list(labels.strftime("%Y-%m-%d")) == ["2022-07-31", "2022-08-10"]
    np.testing.assert_array_equal(flows, [[6, sum(range(4, 14))], [62, sum(range(18, 28))]])
    stocks, _ = resample(values, dates, "pool", "month")
    np.testing.assert_array_equal(stocks, [[3, 13], [17, 27]])

    same, same_dates = resample(values, dates, "outflow", "day")
    assert same is values
    assert same_dates.equals(dates)
    np.testing.assert_array_equal(period_ends(dates, "month"), [3, 13])


@pytest.mark.parametrize("every", ["week", "month"])
def test_resampled_flows_conserve_totals_and_stocks(result: Result, every: str) -> None:
    dates = result.dates
    inflow, labels = resample(result.total("inflow"), dates, "inflow", every)
    outflow, _ = resample(result.total("outflow"), dates, "outflow", every)
    strength, _ = resample(result.total("strength"), dates, "strength", every)
    # summed over the horizon, the periods hold every daily flow
    np.testing.assert_allclose(inflow.sum(axis=1), result.total("inflow").sum(axis=1))
    np.testing.assert_allclose(outflow.sum(axis=1), result.total("outflow").sum(axis=1))
    # the stock at each period's end moves by that period's inflow minus outflow
    np.testing.assert_allclose(np.diff(strength, axis=1), (inflow - outflow)[:, 1:])
    assert labels[-1] == pd.Timestamp("2022-10-29")  # the last period ends with the run
    assert len(labels) == {"week": 13, "month": 3}[every]  # 1 Aug 2022 was a Monday


def test_units_of_resampled_series() -> None:
    assert unit_of("strength", "month") == "people"
    assert unit_of("outflow", "week") == "people per week"
    assert unit_of("cost", "month", "RUB") == "RUB per month"
    assert unit_of("unpaid") == "currency per day"


def test_replicates_frame_resamples_tidy_rows(result: Result) -> None:
    filters = Filters(series=("outflow",), channels=("contract",), every="month")
    frame = replicates_frame(result, filters)
    assert tuple(frame.columns) == TIDY_COLUMNS
    assert len(frame) == RUNS * 3 * 10
    august = frame[(frame["date"] == pd.Timestamp("2022-08-31")) & (frame["cause"] == "killed")]
    want = result.data["outflow"][:, :31, 0, 0].sum(axis=1)
    np.testing.assert_array_equal(august["value"], want)
    with pytest.raises(UsageError, match="would make 360 rows"):
        replicates_frame(result, filters, max_rows=100)


# ---------------------------------------------------------------------------- CLI files
def _read(path: Path, fmt: str) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """A table file read back with its provenance (None for CSV)."""
    if fmt == "csv":
        return pd.read_csv(path, parse_dates=["date"] if "date" in _header(path) else []), None
    if fmt == "parquet":
        table = pq.read_table(path)
        assert table.schema.metadata is not None
        frame = table.to_pandas()
        if "date" in frame:  # stored as date32, read back as datetime.date objects
            frame["date"] = pd.to_datetime(frame["date"])
        return frame, json.loads(table.schema.metadata[b"forcegen"])
    if fmt == "json":
        doc = json.loads(path.read_text())
        frame = pd.DataFrame(doc["rows"])
        if "date" in frame:
            frame["date"] = pd.to_datetime(frame["date"])
        return frame, doc["forcegen"]
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.to_dataframe().reset_index(drop=True), json.loads(ds.attrs["forcegen"])


def _header(path: Path) -> str:
    with path.open() as handle:
        return handle.readline()


FORMATS = {"csv": "csv", "parquet": "parquet", "netcdf": "nc", "json": "json"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_quantiles_equal_the_results(
    export: Cli, result: Result, stored: tuple[Path, str], tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"bands.{FORMATS[fmt]}"
    code, stdout, err = export("--out", str(out))  # quantiles are the default
    assert code == 0, err
    assert f"wrote {out}" in stdout
    frame, provenance = _read(out, fmt)
    assert list(frame.columns) == [
        "series", "channel", "category", "date", "unit", *quantile_columns(QUANTILES)
    ]  # fmt: skip
    # per series: (channels + "*") × (categories + "*") sums, each for every day
    combos = 3 * 4 + 3 * 3 + 3 * 11 + 3 * (len(TRANSITION_KINDS) + 1) + 2 * 1 + 3 * 6 + 3 * 6
    assert len(frame) == combos * DAYS
    cases = [
        ("strength", "*", "deployed", {"categories": "deployed"}),
        ("outflow", "contract", "killed", {"channels": "contract", "categories": "killed"}),
        ("cost", "*", "*", {}),
        ("pool", "civilians", "*", {"channels": "civilians"}),
        ("inflow", "prisoners", "*", {"channels": "prisoners"}),
    ]
    for series, channel, category, kwargs in cases:
        rows = frame[
            (frame["series"] == series)
            & (frame["channel"] == channel)
            & (frame["category"] == category)
        ]
        want = result.quantiles(series, QUANTILES, **kwargs)
        assert list(rows["date"]) == list(want.index), series
        got = rows[quantile_columns(QUANTILES)].to_numpy()
        np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-13, err_msg=series)
    assert set(frame.loc[frame["series"] == "cost", "unit"]) == {"RUB per day"}
    if provenance is not None:
        assert provenance["run_id"] == stored[1]
        assert (provenance["seed"], provenance["scenario"]) == (3, "tiny-store")
        assert provenance["export"]["what"] == "quantiles"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_monthly_quantiles_of_chosen_series_and_channels(
    export: Cli, result: Result, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"monthly.{FORMATS[fmt]}"
    args = ["--series", "outflow", "--channel", "prisoners", "--from", "2022-08-15"]
    code, _, err = export("--out", str(out), *args, "--every", "month")
    assert code == 0, err
    frame, provenance = _read(out, fmt)
    assert set(frame["series"]) == {"outflow"}
    assert set(frame["channel"]) == {"prisoners", "*"}  # "*": the chosen channels summed
    dates = sorted(set(frame["date"]))
    assert dates == [pd.Timestamp(d) for d in ("2022-08-31", "2022-09-30", "2022-10-29")]
    # quantiles of each replicate's sum of exits per month, from 15 August
    killed = frame[(frame["channel"] == "prisoners") & (frame["category"] == "killed")]
    per_month = [
        result.data["outflow"][:, lo:hi, 1, 0].sum(axis=1)
        for lo, hi in ((14, 31), (31, 61), (61, 90))
    ]
    want = np.quantile(np.stack(per_month, axis=1), QUANTILES, axis=0).T
    np.testing.assert_allclose(killed[quantile_columns(QUANTILES)].to_numpy(), want, rtol=1e-13)
    assert set(frame["unit"]) == {"people per month"}
    if provenance is not None:
        assert provenance["export"]["every"] == "month"
        assert provenance["export"]["channels"] == ["prisoners"]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_summary_equals_the_results(
    export: Cli, result: Result, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"summary.{FORMATS[fmt]}"
    code, _, err = export("--what", "summary", "--out", str(out))
    assert code == 0, err
    frame, provenance = _read(out, fmt)
    want = result.summary().to_frame()
    assert list(frame.columns) == list(want.columns)
    assert list(frame["quantity"]) == list(want["quantity"])
    np.testing.assert_allclose(
        frame[["median", "low", "high"]].to_numpy(), want[["median", "low", "high"]].to_numpy()
    )
    summary = result.summary()
    end = frame[(frame["quantity"] == "deployed_end") & (frame["channel"] == "*")]
    assert end["median"].item() == summary.strength_end.median
    killed = frame[(frame["quantity"] == "exits") & (frame["cause"] == "killed")]
    assert killed["high"].item() == summary.losses_by_cause["killed"].high
    paid = frame[frame["quantity"] == "cost_paid"]
    assert (paid["unit"].item(), paid["low"].item()) == ("RUB", summary.cost_paid.low)
    assert summary.to_dict()["cost_paid"]["low"] == summary.cost_paid.low
    if provenance is not None:
        assert provenance["export"]["what"] == "summary"
        assert provenance["export"]["quantiles"] == [0.05, 0.95]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_replicates_resampled(export: Cli, result: Result, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"replicates.{FORMATS[fmt]}"
    args = ["--series", "outflow", "--channel", "prisoners", "--from", "2022-08-03"]
    code, _, err = export("--what", "replicates", "--out", str(out), *args, "--every", "week")
    assert code == 0, err
    # what pandas makes of the daily rows: sums per replicate, week and cause, each week
    # (Monday to Sunday) labelled by its last simulated day
    daily = _plain(result.to_pandas("outflow", channels="prisoners", start="2022-08-03"))
    week_end = daily["date"].dt.to_period("W-SUN").dt.end_time.dt.normalize()
    daily["date"] = week_end.clip(upper=pd.Timestamp("2022-10-29")).astype("datetime64[s]")
    want = daily.groupby(["run", "date", "cause"], sort=False)["value"].sum().reset_index()
    if fmt == "netcdf":
        with xr.open_dataset(out, engine="h5netcdf") as ds:
            assert list(ds.data_vars) == ["outflow"]
            assert ds["outflow"].attrs["units"] == "people per week"
            assert list(ds["channel"].values) == ["prisoners"]
            got = ds["outflow"].sel(channel="prisoners").to_dataframe().reset_index()
            provenance = json.loads(ds.attrs["forcegen"])
        got = got.sort_values(["run", "date", "cause"]).reset_index(drop=True)
        want = want.sort_values(["run", "date", "cause"]).reset_index(drop=True)
        np.testing.assert_array_equal(got["outflow"], want["value"])
        assert list(got["date"]) == list(want["date"])
    else:
        frame, provenance = _read(out, fmt)
        assert list(frame.columns) == list(TIDY_COLUMNS)
        frame = _plain(frame)
        assert set(frame["series"]) == {"outflow"}
        assert set(frame["channel"]) == {"prisoners"}
        assert set(frame["state"]) == {""}
        pd.testing.assert_frame_equal(
            frame[["run", "date", "cause", "value"]], want, check_names=False
        )
    assert len(want) == RUNS * 13 * 10  # 13 weeks from Wednesday 3 August to 29 October
    if provenance is not None:
        assert provenance["export"]["units"] == {"outflow": "people per week"}


# ------------------------------------------------------------------------------ refusals
def test_a_user_file_at_out_is_refused_and_kept(export: Cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own\n1,2\n")
    code, _, err = export("--out", str(notes))
    assert code == 2
    assert "refusing to replace" in err
    assert notes.read_text() == "my,own\n1,2\n"
    binary = tmp_path / "data.parquet"
    binary.write_bytes(b"PAR1 someone else's table")
    code, _, err = export("--what", "summary", "--out", str(binary))
    assert code == 2
    assert binary.read_bytes() == b"PAR1 someone else's table"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "notes.csv"]

    # forcegen's own exports are replaced, even by another kind of export; --force
    # replaces anything
    code, _, err = export("--what", "summary", "--out", str(tmp_path / "mine.csv"))
    assert code == 0, err
    code, _, err = export("--every", "month", "--out", str(tmp_path / "mine.csv"))
    assert code == 0, err
    assert _header(tmp_path / "mine.csv").startswith('"series","channel","category"')
    code, _, err = export("--out", str(notes), "--force")
    assert code == 0, err
    assert _header(notes).startswith('"series"')


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--series", "bogus"], "unknown series 'bogus'"),
        (["--channel", "nope"], "unknown channel or pool 'nope'"),
        (["--from", "2021-01-01"], "outside the run, which covers 2022-08-01 to 2022-10-29"),
        (["--to", "2023-01-01"], "outside the run"),
        (["--from", "2022-09-10", "--to", "2022-09-01"], "is after the end date"),
        (["--from", "soon"], "is not a date"),
        (["--series", "pool", "--channel", "contract"], "series 'pool' has none of"),
        (["--what", "summary", "--every", "week"], "a summary covers the whole run"),
        (["--every", "year"], "year"),
        (["--format", "xlsx"], "unknown export format 'xlsx'"),
        (["--what", "replicates", "--max-rows", "1000"], "would make 70,200 rows"),
    ],
)
def test_bad_filters_exit_2_and_write_nothing(
    export: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    def no_loading(*_: object, **__: object) -> None:
        raise AssertionError("the run was read before the arguments were checked")

    monkeypatch.setattr(Store, "load", no_loading)
    code, _, err = export("--out", str(tmp_path / "out.csv"), *args)
    assert code == 2
    assert message in err
    assert list(tmp_path.iterdir()) == []


def test_format_comes_from_the_suffix(export: Cli, tmp_path: Path) -> None:
    code, _, err = export("--out", str(tmp_path / "table.xlsx"))
    assert code == 2
    assert "cannot tell the export format from 'table.xlsx'" in err
    code, _, err = export("--format", "json", "--what", "summary", "--out", str(tmp_path / "s.txt"))
    assert code == 0, err
    assert json.loads((tmp_path / "s.txt").read_text())["forcegen"]["seed"] == 3


def test_quantile_frame_of_a_result_needs_all_replicates(result: Result) -> None:
    with pytest.raises(UsageError, match="across all replicates"):
        quantile_frame(result, Filters(runs=(0,)))


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(series=("outflow", "pool")), Filters(start="2022-09-01", end="2022-09-30")],
)
def test_stored_quantiles_give_the_computed_rows(
    result: Result, stored: tuple[Path, str], filters: Filters
) -> None:
    # what export reads from the store (computed at save) is what it would compute
    path, run_id = stored
    store = Store(path)
    info = store.info(run_id)
    got = stored_quantile_frame(store.stored_quantiles(run_id), info, filters, info.currency)
    want = quantile_frame(result, filters, currency=info.currency)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for col in ("series", "channel", "category", "unit"):
        assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col
    assert (pd.to_datetime(got["date"]).to_numpy() == pd.to_datetime(want["date"]).to_numpy()).all()
    np.testing.assert_array_equal(
        got[quantile_columns()].to_numpy(np.float64), want[quantile_columns()].to_numpy(np.float64)
    )
