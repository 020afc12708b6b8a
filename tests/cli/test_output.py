"""``--format table|json|csv`` of every command that prints a table or an answer.

The in-process runner's stdout is not a terminal, as in ``forcegen runs | cat``: tables
must come out as whole tab-separated lines (full ids, names and statements, no "…"),
CSV must parse, and JSON must have the documented, versioned shape (docs/cli.md).
Simulations are tiny (60 days, a handful of replicates) to keep this fast.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from forcegen import __version__
from forcegen.cli.output import Column, Format, Printer, Rows, json_text, render
from forcegen.results.store import Store
from forcegen.results.summary import SUMMARY_COLUMNS
from forcegen.scenario.load import load_scenario
from forcegen.sim import Sim

CliResult = tuple[int, str, str]
Cli = Callable[..., CliResult]

A = "test value"
# Long enough that a table squeezed into 80 columns would cut it short.
BASE = "output-test-base-scenario-with-a-long-name"
OTHER = "output-test-other-scenario-with-a-long-name"
CLAIM = "a-claim-id-long-enough-to-be-folded-in-a-narrow-column"
STATEMENT = (
    "A statement long enough to be shortened in a terminal table, with [bold]brackets[/] "
    "that Rich would read as markup, ending with the words END OF STATEMENT."
)
LABEL = "a label with [red]markup[/red] that is long enough to be cut short in a table"


def _yaml(name: str, recruits: float) -> str:
    return f"""
name: {name}
title: Output test scenario
start_date: 2022-08-01
horizon_days: 60
currency: RUB
claims:
  - id: {CLAIM}
    statement: "{STATEMENT}"
    claimant: A test
    publication: The tests
    published: 2022-08-01
    status: unverified-report
pools:
  - id: civilians
    initial_people: {{range: [50000, 80000], assumption: {A}}}
channels:
  - id: contract
    kind: contract
    pool: civilians
    enlistment:
      model: series
      recruits_per_day: {{range: [{recruits}, {recruits + 20}], evidence: [{CLAIM}]}}
    training_days: {{value: 10, assumption: {A}}}
    pay:
      salary_per_month: {{range: [150000, 250000], assumption: {A}}}
    initial:
      deployed: {{value: 2000, assumption: {A}}}
      training: {{value: {recruits * 10}, assumption: {A}}}
losses:
  killed_per_day: {{range: [0.001, 0.003], assumption: {A}}}
  wounded_per_day: {{value: 0.004, assumption: {A}}}
  missing_per_day: {{value: 0.0005, assumption: {A}}}
  recovery:
    mean_days: {{value: 30, assumption: {A}}}
    return_probability: {{value: 0.6, assumption: {A}}}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two tiny scenarios and a store holding one labelled run."""
    folder = tmp_path_factory.mktemp("output")
    (folder / "base.yaml").write_text(_yaml(BASE, 20))
    (folder / "other.yaml").write_text(_yaml(OTHER, 40))
    result = Sim(load_scenario(folder / "base.yaml"), runs=3, seed=2).run()
    Store(folder / "fg.duckdb").save(result, label=LABEL)
    return folder


@pytest.fixture
def cli(run_cli: Cli, monkeypatch: pytest.MonkeyPatch, workdir: Path) -> Cli:
    """``cli(*args)`` in ``workdir``, with a narrow terminal width: if tables were
    drawn for a terminal, they would be cut short."""
    monkeypatch.delenv("FORCEGEN_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.chdir(workdir)
    return run_cli


def _ok(result: CliResult) -> str:
    code, out, err = result
    assert code == 0, err
    return out


def _document(out: str, schema: str) -> Any:
    """The ``data`` of a JSON document, after checking its envelope."""
    doc = json.loads(out)
    assert set(doc) == {"forcegen", "schema", "data"}
    assert doc["forcegen"] == __version__
    assert doc["schema"] == schema
    return doc["data"]


def _csv(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def _plain(out: str) -> list[list[str]]:
    """Table output in a pipe: no box drawing, nothing cut short; lines split at tabs."""
    assert "…" not in out
    assert not set("┃│┏━╇") & set(out)
    return [line.split("\t") for line in out.splitlines()]


def _types(mapping: dict[str, Any], types: dict[str, type | tuple[type, ...]]) -> None:
    for key, kind in types.items():
        assert isinstance(mapping[key], kind), (key, mapping[key])


BAND = {"median": float, "low": float, "high": float}
PROBABILITY = {
    "estimate": float,
    "low": float,
    "high": float,
    "successes": int,
    "trials": int,
    "confidence": float,
}


def _summary(summary: dict[str, Any], runs: int) -> None:
    _types(summary, {"scenario": str, "mode": str, "seed": int, "end_date": str, "q": list})
    assert summary["runs"] == runs
    assert summary["currency"] == "RUB"
    assert summary["rows"]
    for row in summary["rows"]:
        assert list(row) == list(SUMMARY_COLUMNS)
        _types(row, {"quantity": str, "channel": str, "median": float, "unit": str})


# ----------------------------------------------------------------------- store
def test_runs_piped_json_csv(cli: Cli, workdir: Path) -> None:
    (run_id,) = Store(workdir / "fg.duckdb").run_ids()
    lines = _plain(_ok(cli("runs", "--store", "fg.duckdb")))
    assert lines[1][0] == "id"
    (row,) = lines[2:]
    assert row[0] == run_id  # whole: usable with show and export
    assert row[2] == BASE
    assert row[-1] == LABEL  # the label as written, markup and all

    data = _document(_ok(cli("runs", "--store", "fg.duckdb", "--format", "json")), "runs/1")
    (entry,) = data
    assert entry["id"] == run_id
    assert entry["label"] == LABEL
    assert entry["replicates"] == 3
    _types(entry, {"saved": str, "scenario": str, "days": int, "seed": int, "forcegen": str})

    (record,) = _csv(_ok(cli("runs", "--store", "fg.duckdb", "--format", "csv")))
    assert record["id"] == run_id
    assert record["label"] == LABEL

    empty = _ok(cli("runs", "--store", "none.duckdb", "--format", "json"))
    assert _document(empty, "runs/1") == []


def test_show_piped_json_csv(cli: Cli, workdir: Path) -> None:
    (run_id,) = Store(workdir / "fg.duckdb").run_ids()
    out = _ok(cli("show", run_id, "--store", "fg.duckdb"))
    _plain(out)
    assert f"run {run_id}: {BASE}" in out
    assert LABEL in out

    data = _document(_ok(cli("show", run_id, "--store", "fg.duckdb", "--format", "json")), "show/1")
    assert data["run"]["id"] == run_id
    assert data["run"]["label"] == LABEL
    _types(data["run"], {"channels": list, "sample_parameters": bool, "start_date": str})
    _summary(data["summary"], 3)
    assert data["evidence"]["claims_by_status"]["unverified-report"] == 1

    rows = _csv(_ok(cli("show", run_id, "--store", "fg.duckdb", "--format", "csv")))
    assert list(rows[0]) == list(SUMMARY_COLUMNS)


def test_delete_answered_no_keeps_the_run_and_exits_0(
    cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (run_id,) = Store(workdir / "fg.duckdb").run_ids()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = cli("delete", run_id, "--store", "fg.duckdb")
    assert code == 0, err
    assert Store(workdir / "fg.duckdb").run_ids() == [run_id]


def test_force_color_does_not_make_a_pipe_a_terminal(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # set by CI services to colour their logs
    lines = _plain(_ok(cli("runs", "--store", "fg.duckdb")))
    assert lines[1][0] == "id"


def test_version(cli: Cli) -> None:
    assert _ok(cli("--version")) == f"forcegen {__version__}\n"


# ----------------------------------------------------------------- simulations
def test_run_piped_json_csv(cli: Cli, workdir: Path) -> None:
    args = ("run", "base.yaml", "--runs", "2", "--quiet")
    out = _ok(cli(*args, "--no-store"))
    lines = _plain(out)
    assert lines[0][0] == f"{BASE}: 2 runs, stochastic, seed 1"
    assert any(line[0].startswith("In service at horizon") for line in lines)

    store = workdir / "run-test.duckdb"
    data = _document(_ok(cli(*args, "--store", str(store), "--format", "json")), "run/1")
    _summary(data["summary"], 2)
    assert data["run_id"] == Store(store).run_ids()[0]
    assert data["store"] == str(store)
    assert data["out"] is None
    _types(data, {"elapsed_seconds": float})
    _types(data["evidence"], {"line": str, "claims_by_status": dict, "unsourced": list})

    rows = _csv(_ok(cli(*args, "--no-store", "--format", "csv")))
    assert list(rows[0]) == list(SUMMARY_COLUMNS)
    assert {r["quantity"] for r in rows} >= {"deployed_end", "recruits", "cost_paid"}


def test_ensemble_json_csv(cli: Cli) -> None:
    args = ("ensemble", "base.yaml", "--runs", "2", "--quiet")
    _plain(_ok(cli(*args)))
    data = _document(_ok(cli(*args, "--format", "json")), "ensemble/1")
    _summary(data["summary"], 2)
    _types(data, {"elapsed_seconds": float, "kept_bytes": int, "peak_memory_mb": float})
    assert data["quantiles_out"] is None
    rows = _csv(_ok(cli(*args, "--format", "csv")))
    assert list(rows[0]) == list(SUMMARY_COLUMNS)


def test_ask_piped_json_csv(cli: Cli) -> None:
    args = ("ask", "base.yaml", "--runs", "4", "--below", "2500", "--hold", "1500")
    out = _ok(cli(*args))
    assert "Deployed strength falls below 2,500" in out
    assert "Probability deployed strength is at least 1,500" in out

    data = _document(_ok(cli(*args, "--by", "2022-09-01", "--format", "json")), "ask/1")
    assert (data["source"], data["scenario"]) == ("base.yaml", BASE)
    assert data["run_id"] is None or isinstance(data["run_id"], str)
    assert (data["runs"], data["seed"], data["end_date"]) == (4, 1, "2022-09-29")
    (below,) = data["below"]
    assert below["threshold"] == 2500.0
    _types(below["probability"], PROBABILITY)
    assert below["probability"]["trials"] == 4
    first = below["first_below"]
    assert first is None or set(first) == {"q05", "median", "q95", "basis"}
    assert below["basis"]["method"] == "spearman"
    hold = data["hold"]
    assert (hold["target"], hold["date"], hold["through"]) == (1500.0, "2022-09-01", False)
    _types(hold["probability"], PROBABILITY)

    rows = _csv(_ok(cli(*args, "--through", "--format", "csv")))
    assert [r["question"] for r in rows] == ["below", "hold_through"]
    assert rows[1]["first_below_median"] == ""
    assert 0 <= float(rows[0]["probability"]) <= 1


def test_compare_piped_json_csv(cli: Cli) -> None:
    args = ("compare", "base.yaml", "other.yaml", "--runs", "3")
    lines = _plain(_ok(cli(*args)))
    header = next(line for line in lines if line[0] == "quantity")
    assert header[1:3] == [BASE, OTHER]  # whole names, not two identical "output-…"

    data = _document(_ok(cli(*args, "--format", "json")), "compare/1")
    assert data["names"] == [BASE, OTHER]
    assert (data["runs"], data["seed"], data["report"]) == (3, 1, None)
    (pair,) = data["pairs"]
    assert (pair["base"], pair["other"]) == (BASE, OTHER)
    for q in pair["quantities"]:
        for band in ("base", "other", "difference"):
            _types(q[band], BAND)
        _types(q, {"name": str, "unit": str, "share_higher": float, "mean_difference": float})
    changed = {p["name"] for p in pair["parameters"]}
    assert "channels.contract.enlistment.recruits_per_day" in changed
    assert isinstance(pair["structure"], list)

    rows = _csv(_ok(cli(*args, "--format", "csv")))
    assert {(r["base"], r["other"]) for r in rows} == {(BASE, OTHER)}
    assert "difference_median" in rows[0]


def test_solve_json_csv(cli: Cli) -> None:
    args = ("solve", "base.yaml", "--hold-strength", "1500", "--start", "2022-09-01")
    args += ("--runs", "4", "--channel", "contract")
    data = _document(_ok(cli(*args, "--format", "json")), "solve/1")
    _types(data, {"value": float, "interval": list, "already_holds": bool, "window": list})
    assert (data["scenario"], data["lever"], data["channel"]) == (BASE, "recruits", "contract")
    _types(data["probability"], PROBABILITY)
    assert data["evaluations"]
    (row,) = _csv(_ok(cli(*args, "--format", "csv")))
    assert row["window_start"] == "2022-09-01"


def test_sensitivity_piped_json(cli: Cli) -> None:
    args = ("sensitivity", "base.yaml", "--output", "strength@2022-09-20")
    args += ("--method", "morris", "--samples", "2", "--quiet")
    args += ("--params", "losses.killed_per_day,channels.contract.enlistment.recruits_per_day")
    lines = _plain(_ok(cli(*args)))
    names = {line[1] for line in lines if len(line) > 1}
    assert "channels.contract.enlistment.recruits_per_day" in names

    data = _document(_ok(cli(*args, "--format", "json")), "sensitivity/1")
    assert (data["scenario"], data["method"], data["files"]) == (BASE, "morris", None)
    assert len(data["parameters"]) == 2
    _types(data["parameters"][0], {"rank": int, "parameter": str, "mu_star": float})
    _types(data["output"], {"text": str, "description": str, "date": str})


def test_calibrate_json(cli: Cli, workdir: Path) -> None:
    obs = workdir / "obs.csv"
    obs.write_text(
        "date,series,channel,cause,value,source\n"
        "2022-08-20,strength,,deployed,2300,test\n"
        "2022-09-20,strength,,deployed,2600,test\n"
    )
    out = workdir / "cal"
    args = ("calibrate", "base.yaml", str(obs), "--params", "losses.killed_per_day")
    args += ("--budget", "200", "--population", "20", "--out", str(out), "--quiet")
    data = _document(_ok(cli(*args, "--format", "json")), "calibrate/1")
    assert (data["scenario"], data["observations"]) == (BASE, 2)
    assert data["parameters"] == ["losses.killed_per_day"]
    (posterior,) = data["posterior"]
    _types(posterior, {"parameter": str, "post_mean": float, "prior": str})
    assert set(data["files"]) >= {"scenario"}


# ------------------------------------------------------------------- scenarios
def test_evidence_piped_json_csv(cli: Cli) -> None:
    out = _ok(cli("evidence", "base.yaml"))
    lines = _plain(out)
    claim = next(line for line in lines if line[0] == CLAIM)  # not split mid-word
    assert STATEMENT in claim  # whole, brackets and all

    data = _document(_ok(cli("evidence", "base.yaml", "--format", "json")), "evidence/1")
    (entry,) = data["claims"]
    assert (entry["id"], entry["statement"], entry["status"]) == (
        CLAIM,
        STATEMENT,
        "unverified-report",
    )
    assert entry["parameters"] == ["channels.contract.enlistment.recruits_per_day"]
    assert entry["published"] == "2022-08-01"
    assert all(isinstance(a["default"], bool) for a in data["assumptions"])
    assert {c["status"] for c in data["counts"]} >= {"unverified-report", "assumption"}

    rows = _csv(_ok(cli("evidence", "base.yaml", "--format", "csv")))
    assert rows[0]["kind"] == "claim"
    assert rows[0]["text"] == STATEMENT
    assert {r["kind"] for r in rows} == {"claim", "assumption"}


def test_evidence_of_a_builtin_piped(cli: Cli) -> None:
    out = _ok(cli("evidence", "russia-2022-covert"))
    _plain(out)
    data = _document(_ok(cli("evidence", "russia-2022-covert", "--format", "json")), "evidence/1")
    for claim in data["claims"]:
        assert claim["id"] in out
        assert " ".join(claim["statement"].split()) in out


def test_scenarios_json_csv(cli: Cli) -> None:
    data = _document(_ok(cli("scenarios", "--format", "json")), "scenarios/1")
    assert "russia-2022-covert" in {s["name"] for s in data}
    assert all(isinstance(s["title"], str) for s in data)
    rows = _csv(_ok(cli("scenarios", "--format", "csv")))
    assert [r["name"] for r in rows] == [s["name"] for s in data]


def test_validate_json_csv(cli: Cli, workdir: Path) -> None:
    data = _document(_ok(cli("validate", "base.yaml", "--format", "json")), "validate/1")
    assert data["valid"] is True
    assert data["scenario"]["name"] == BASE
    assert data["scenario"]["horizon_days"] == 60
    assert data["problems"] == []

    (workdir / "bad.yaml").write_text("name: bad\nhorizon_days: -1\n")
    code, out, _ = cli("validate", "bad.yaml", "--format", "json")
    assert code == 2
    data = _document(out, "validate/1")
    assert (data["valid"], data["scenario"]) == (False, None)
    assert data["problems"]
    for problem in data["problems"]:
        assert set(problem) == {"file", "line", "column", "field", "message", "severity"}
        assert problem["file"] == "bad.yaml"
    code, out, _ = cli("validate", "bad.yaml", "--format", "csv")
    assert code == 2
    assert {r["field"] for r in _csv(out)} >= {"channels", "horizon_days"}


# ------------------------------------------------------------- the machinery
ROWS = Rows(
    (Column("id", whole=True), Column("text"), Column("n", justify="right")),
    [{"id": CLAIM, "text": "=cmd()\tand\na [red]b[/red]", "n": 1.5}, {"id": "x", "n": None}],
    title="a [b]title[/b]",
)


def test_plain_lines_are_whole_and_single_line() -> None:
    assert ROWS.plain_lines() == [
        "a [b]title[/b]",
        "id\ttext\tn",
        f"{CLAIM}\t=cmd() and a [red]b[/red]\t1.5",
        "x\t\t",
    ]


def test_csv_guards_formulas_and_keeps_raw_values() -> None:
    rows = list(csv.reader(io.StringIO(ROWS.csv_text())))
    assert rows == [
        ["id", "text", "n"],
        [CLAIM, "'=cmd()\tand\na [red]b[/red]", "1.5"],
        ["x", "", ""],
    ]


def test_terminal_tables_fold_and_print_markup_as_text() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, color_system=None)
    Printer("t", Format.table, console=console).table(ROWS)
    text = buffer.getvalue()
    assert "…" not in text
    assert CLAIM in text  # whole (not folded) on one line; the text column folds instead
    assert "[red]b[/red]" in text  # as written: a Rows table is Text, never markup
    assert "a [b]title[/b]" in text


def test_json_text_escapes_control_characters_and_non_finite_numbers() -> None:
    text = json_text({"a": "x\x1b[31my\x9b", "b": float("nan"), "c": [1, float("inf")]})
    assert "\x1b" not in text
    assert "\x9b" not in text
    assert json.loads(text) == {"a": "x\x1b[31my\x9b", "b": None, "c": [1, None]}


def test_render_a_mapping_in_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    answer = {"probability": 0.25, "label": "[b]x[/b]", "dates": ["2022-08-01"]}
    render("answer", Format.table, answer, lines=["a note"])
    assert capsys.readouterr().out == (
        "field\tvalue\nprobability\t0.25\nlabel\t[b]x[/b]\ndates\t2022-08-01\na note\n"
    )
    render("answer", "json", answer, lines=["a note"])
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "forcegen": __version__,
        "schema": "answer/1",
        "data": answer,
    }
    assert "a note" in captured.err
    render("answer", Format.csv, answer)
    assert _csv(capsys.readouterr().out)[2] == {"field": "dates", "value": "2022-08-01"}
