"""Store commands: ``run --store/--no-store``, ``runs``, ``show``, ``export``, ``delete``."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from store_support import TINY_YAML, assert_same_result

from forcegen.results.folder import ResultFolder
from forcegen.results.store import Store

CliResult = tuple[int, str, str]
Cli = Callable[..., CliResult]


@pytest.fixture
def cli(run_cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    """``cli(*args)``: run ``forcegen`` in-process in a fresh folder; returns (exit code,
    stdout, stderr)."""
    monkeypatch.delenv("FORCEGEN_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # keep Rich tables on one line per row
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY_YAML)
    return run_cli


def test_run_saves_into_the_store_and_store_commands_use_it(cli: Cli, tmp_path: Path) -> None:
    store = tmp_path / "results" / "fg.duckdb"  # the folder is created on the first save
    args = ["--runs", "6", "--seed", "2", "--quiet", "--label", "from the cli"]
    code, out, err = cli("run", "tiny.yaml", *args, "--store", str(store))
    assert code == 0, err
    (run_id,) = Store(store).run_ids()
    assert f"saved as run {run_id} in {store}" in out
    info = Store(store).info(run_id)
    assert (info.seed, info.replicates, info.label) == (2, 6, "from the cli")
    assert info.scenario_text == TINY_YAML  # the file's own text, kept verbatim

    code, out, err = cli("runs", "--store", str(store))
    assert code == 0, err
    assert run_id in out
    assert "tiny-store" in out
    assert "from the cli" in out

    code, out, err = cli("show", run_id[:4], "--store", str(store))
    assert code == 0, err
    assert f"run {run_id}: tiny-store" in out
    assert "seed 2, 6 runs, stochastic" in out
    assert "Deployed strength" in out  # the summary table
    assert "evidence:" in out

    code, out, err = cli(
        "export", run_id, "--what", "replicates", "--out", "x.parquet", "--store", str(store)
    )
    assert code == 0, err
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 6 * 90 * (2 * 36 + 1)  # 73 cells
    code, out, err = cli(
        "export",
        run_id,
        "--what",
        "replicates",
        "--format",
        "csv",
        "--out",
        "x.data",
        "--store",
        str(store),
    )
    assert code == 0, err
    assert (tmp_path / "x.data").read_text().startswith('"run","date","series"')

    code, out, err = cli("delete", run_id, "--store", str(store), "--yes")
    assert code == 0, err
    assert f"deleted run {run_id}" in out
    assert Store(store).run_ids() == []


def test_run_uses_the_default_store_unless_told_not_to(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("run", "tiny.yaml", "--runs", "2", "--quiet", "--no-store")
    assert code == 0, err
    assert not (tmp_path / "forcegen.duckdb").exists()
    code, out, err = cli("run", "tiny.yaml", "--runs", "2", "--quiet")
    assert code == 0, err
    assert len(Store(tmp_path / "forcegen.duckdb").run_ids()) == 1
    code, out, err = cli("runs")
    assert code == 0
    assert "tiny-store" in out


def test_store_command_errors_exit_2_with_a_message(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli("runs")
    assert code == 0
    assert "no runs in forcegen.duckdb" in out
    code, _, err = cli("show", "abc")
    assert code == 2
    assert "error: store forcegen.duckdb does not exist" in err
    assert "Traceback" not in err

    cli("run", "tiny.yaml", "--runs", "2", "--quiet")
    code, _, err = cli("show", "zzzz")
    assert code == 2
    assert "no run 'zzzz'" in err
    assert "latest runs:" in err
    (run_id,) = Store(tmp_path / "forcegen.duckdb").run_ids()
    code, _, err = cli("export", run_id, "--out", "x.xlsx")
    assert code == 2
    assert "cannot tell the export format" in err

    # delete asks first; answering no keeps the run (an answer, not a failure: exit 0)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = cli("delete", run_id)
    assert code == 0
    assert Store(tmp_path / "forcegen.duckdb").run_ids() == [run_id]

    (tmp_path / "notes.duckdb").write_text("not a database " * 100)
    code, _, err = cli("runs", "--store", "notes.duckdb")
    assert code == 2
    assert "notes.duckdb is not a forcegen store" in err


def test_run_out_never_deletes_a_users_files(cli: Cli, tmp_path: Path) -> None:
    # the data-loss bug of 0.3.0: --out moved the folder aside and removed it
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("x\n")
    code, _out, err = cli("run", "tiny.yaml", "--runs", "2", "--quiet", "--out", str(project))
    assert code == 2
    assert "refusing to write into" in err
    assert "proj" in err
    assert "Traceback" not in err
    assert (project / "src" / "main.py").read_text() == "x\n"
    assert sorted(p.name for p in project.rglob("*")) == ["main.py", "src"]
    assert not Path(tmp_path / "forcegen.duckdb").exists()  # refused before simulating
    # a file given as the folder
    (tmp_path / "notes.txt").write_text("mine\n")
    code, _, err = cli("run", "tiny.yaml", "--runs", "2", "--quiet", "--out", "notes.txt")
    assert code == 2
    assert "a file of that name exists" in err
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_run_out_writes_a_new_folder_and_replaces_its_own(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("run", "tiny.yaml", "--runs", "6", "--seed", "2", "--quiet", "--out", "res")
    assert code == 0, err
    first = ResultFolder(tmp_path / "res")
    stored = Store(tmp_path / "forcegen.duckdb")
    (run_id,) = stored.run_ids()
    assert_same_result(first.load(), stored.load(run_id), same_run=True)
    # the store and --out share the files (hard links): no second copy on disk
    block = "replicates/block-00000.parquet"
    assert (tmp_path / "res" / block).stat().st_ino == (
        stored.runs_dir / run_id / block
    ).stat().st_ino
    # a second run replaces the earlier forcegen result at res, and nothing else
    code, _, err = cli("run", "tiny.yaml", "--runs", "3", "--quiet", "--no-store", "--out", "res")
    assert code == 0, err
    assert ResultFolder(tmp_path / "res").runs == 3
    assert stored.load(run_id).runs == 6  # the stored run kept its own links
    # an empty folder, even the current one, is fine
    (tmp_path / "empty").mkdir()
    code, _, err = cli("run", "tiny.yaml", "--runs", "2", "--quiet", "--no-store", "--out", "empty")
    assert code == 0, err
    assert (tmp_path / "empty" / "run.json").exists()


def test_migrate_converts_a_store_of_forcegen_0_3(cli: Cli, tmp_path: Path) -> None:
    old = Path(__file__).resolve().parents[1] / "data" / "store-v1-forcegen-0.3.duckdb.gz"
    (tmp_path / "old.duckdb").write_bytes(gzip.decompress(old.read_bytes()))
    code, _, err = cli("runs", "--store", "old.duckdb")
    assert code == 2
    assert "forcegen migrate --store old.duckdb" in err
    code, out, err = cli("migrate", "--store", "old.duckdb")
    assert code == 0, err
    assert "migrated 2 run(s)" in out
    code, out, err = cli("runs", "--store", "old.duckdb")
    assert code == 0, err
    assert "tiny-store" in out
    assert (tmp_path / "old.duckdb.v1-backup").exists()
