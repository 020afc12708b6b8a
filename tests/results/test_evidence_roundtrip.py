"""Evidence counts are the same for a fresh run and the same run stored (issue #15).

A stored scenario is its canonical JSON, with every field written out; the count of
model defaults used to depend on which fields the YAML set, which that JSON loses, so
`show` of a stored run said "0 model defaults" where `run` said 9.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store_support import TINY_YAML

import forcegen as fg
from forcegen.results.folder import ResultFolder, stored_scenario
from forcegen.results.store import Store
from forcegen.scenario.evidence import evidence_status_line, evidence_table

CliRun = Callable[..., tuple[int, str, str]]


def _json(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)["data"]
    return data


def test_builtin_counts_survive_canonical_json() -> None:
    fresh = fg.load("russia-2022-covert")
    again = stored_scenario(fresh.model_dump_json(by_alias=True, exclude_none=True), "test")
    assert evidence_status_line(again) == evidence_status_line(fresh)
    assert "0 model defaults" not in evidence_status_line(fresh)
    assert evidence_table(again).assumptions == evidence_table(fresh).assumptions


def test_fresh_and_stored_run_count_the_same(run_cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML, encoding="utf-8")
    store = tmp_path / "s.duckdb"
    out = tmp_path / "out"
    args = ("--runs", "4", "--store", str(store), "--out", str(out), "--format", "json")
    code, stdout, err = run_cli("run", str(path), *args)
    assert code == 0, err
    fresh = _json(stdout)
    line = fresh["evidence"]["line"]
    defaults = int(line.split(" model defaults")[0].rsplit(" ", 1)[1])
    assert defaults > 0  # the tiny scenario leaves many fields to the model

    code, stdout, err = run_cli("show", fresh["run_id"], "--store", str(store), "--format", "json")
    assert code == 0, err
    assert _json(stdout)["evidence"] == fresh["evidence"]
    # The result folder's run.json, and the run loaded back from the store.
    assert evidence_status_line(ResultFolder(out).scenario()) == line
    assert evidence_status_line(Store(store).load(fresh["run_id"]).scenario) == line
    assert "scenario_json" in json.loads((out / "run.json").read_text("utf-8"))
