"""A store's contents are data (issue #12): labels print as text, a stored scenario
that no longer validates is a located error, and a store path that cannot be followed
is an error rather than an empty store."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from store_support import tiny_result

from forcegen.errors import StoreError
from forcegen.results.store import Store

Cli = Callable[..., tuple[int, str, str]]

V1_STORE = Path(__file__).resolve().parent.parent / "data" / "store-v1-forcegen-0.3.duckdb.gz"


@pytest.fixture
def cli(run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """``forcegen`` in-process, in a fresh folder, with wide tables."""
    monkeypatch.delenv("FORCEGEN_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.chdir(tmp_path)
    return run_cli


def test_a_label_that_is_not_valid_markup_is_listed(cli: Cli, tmp_path: Path) -> None:
    store = Store(tmp_path / "fg.duckdb")
    store.save(tiny_result(runs=2), label="[/]")
    store.save(tiny_result(runs=2), label="plain")
    code, out, err = cli("runs", "--store", str(store.path))
    assert code == 0, err
    assert "[/]" in out  # shown as written, and the other run too
    assert "plain" in out


def test_markup_and_escape_sequences_in_a_label_do_not_reach_the_terminal(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rich writes styles (and the CLI draws Rich tables) when it thinks it prints to a
    # terminal: make it think so.
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    label = "[red]x[/red][link=https://evil.example]y[/link]\x1b[31mZ\x1b]8;;https://a\x07b\x9b2J"
    store = Store(tmp_path / "fg.duckdb")
    run_id = store.save(tiny_result(runs=2), label=label)
    for args in (("runs",), ("show", run_id)):
        code, out, err = cli(*args, "--store", str(store.path))
        assert code == 0, err
        assert "\x1b[1m" in out or "\x1b[3m" in out  # styles are on: the check means something
        assert "\x1b[31m" not in out  # no red, from the markup or from the raw sequence
        assert "\x1b]8;" not in out  # no OSC 8 hyperlink
        assert "\x07" not in out
        assert "\x9b" not in out
    code, out, _ = cli("runs", "--store", str(store.path))
    assert "[red]x[/red][link=https://evil.example]y[/link]" in out  # the text itself


def _tamper_run_json(store: Store, run_id: str) -> None:
    path = store.runs_dir / run_id / "run.json"
    meta = json.loads(path.read_text())
    scenario = json.loads(meta["scenario_json"])
    scenario["horizon_days"] = "a long time"
    del scenario["channels"]
    meta["scenario_json"] = json.dumps(scenario)
    path.write_text(json.dumps(meta))


def test_a_stored_scenario_that_no_longer_validates_is_a_store_error(
    cli: Cli, tmp_path: Path
) -> None:
    store = Store(tmp_path / "fg.duckdb")
    run_id = store.save(tiny_result(runs=2))
    _tamper_run_json(store, run_id)
    with pytest.raises(StoreError, match=f"run {run_id} in store .*does not validate"):
        store.load(run_id)
    for args in (
        ("show", run_id),
        ("report", run_id, "--out", "r.html"),
        ("ask", run_id, "--below", "100"),
    ):
        code, out, err = cli(*args, "--store", str(store.path))
        assert code == 2, (args, out, err)
        assert "Traceback" not in err
        assert f"run {run_id} in store" in err
        assert "does not validate" in err


def test_a_tampered_scenario_of_a_0_3_store_is_a_store_error(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    old.write_bytes(gzip.decompress(V1_STORE.read_bytes()))
    with duckdb.connect(str(old)) as con:
        (run_id,) = con.execute("SELECT min(run_id) FROM runs").fetchone() or (None,)
        con.execute("UPDATE runs SET scenario_json = '{\"name\": 5}' WHERE run_id = ?", [run_id])
    with pytest.raises(StoreError, match=f"run {run_id} .*does not validate"):
        Store(old).migrate()


def test_a_store_path_that_cannot_be_followed_is_an_error(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "a.duckdb").symlink_to(tmp_path / "b.duckdb")
    (tmp_path / "b.duckdb").symlink_to(tmp_path / "a.duckdb")
    loop = tmp_path / "a.duckdb"
    with pytest.raises(StoreError, match="cannot open store"):
        Store(loop).list()
    code, out, err = cli("runs", "--store", str(loop))
    assert code == 2
    assert "no runs" not in out
    assert "cannot open store" in err
    # a missing store is still simply empty
    code, out, _ = cli("runs", "--store", str(tmp_path / "none.duckdb"))
    assert (code, out.strip()) == (0, f"no runs in {tmp_path / 'none.duckdb'}")
