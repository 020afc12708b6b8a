"""Commands that write files never destroy what forcegen did not write (issue #11):
``report``, ``plot``, ``compare --out``, ``demo`` and ``ensemble --quantiles-out``.

For each: a user's file at the output name is refused (exit 2, kept byte for byte)
unless ``--force``; a re-run over forcegen's own output succeeds; a full disk, a
folder given as the file, or a path under a file is a clear error (exit 2, no
traceback), leaving no partial file and the earlier output intact.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.figure import Figure
from report_cases import YAML

from forcegen.cli import run_cmds
from forcegen.report import figures

CliResult = tuple[int, str, str]
Cli = Callable[..., CliResult]

USER_BYTES = b"my own notes, not forcegen's\n\x00\xff\n"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "report-test.yaml"
    path.write_text(YAML, encoding="utf-8")
    return path


def disk_full_in(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Make ``owner.name`` behave as on a full disk when it writes one of forcegen's
    temporary files: some bytes land, then ENOSPC. Writes elsewhere are untouched, so
    code that writes straight to the target (no temporary file) is not stopped."""
    real = getattr(owner, name)

    def full(*args: Any, **kwargs: Any) -> Any:
        paths = [a for a in args if isinstance(a, str | os.PathLike) and ".tmp" in os.fspath(a)]
        if not paths:
            return real(*args, **kwargs)
        with open(paths[0], "ab") as handle:
            handle.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(paths[0]))

    monkeypatch.setattr(owner, name, full)


def contents(folder: Path) -> dict[str, bytes]:
    """Every file in ``folder`` (hidden temporary ones included) with its bytes."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def no_leftovers(folder: Path) -> bool:
    """No hidden temporary file or folder left in ``folder``."""
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def refused(code: int, err: str, path: Path) -> bool:
    """Exit 2 with the refusal naming ``path``, and no traceback."""
    return (
        code == 2 and "refusing to replace" in err and str(path) in err and "Traceback" not in err
    )


# ------------------------------------------------------------------------- report
def test_report_keeps_a_users_file_and_replaces_its_own(
    run_cli: Cli, scenario_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    out.write_bytes(USER_BYTES)
    code, _, err = run_cli("report", str(scenario_file), "--out", str(out), "--runs", "4")
    assert refused(code, err, out), err
    assert "simulated" not in err  # refused before the simulation, not after
    assert out.read_bytes() == USER_BYTES

    code, _, err = run_cli(
        "report", str(scenario_file), "--out", str(out), "--runs", "4", "--force"
    )
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert '<meta name="generator" content="forcegen ' in text

    code, _, err = run_cli("report", str(scenario_file), "--out", str(out), "--runs", "4")
    assert code == 0, err  # its own output: replaced without --force
    assert no_leftovers(tmp_path)


def test_report_on_a_full_disk(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    earlier = b'<!DOCTYPE html><meta name="generator" content="forcegen 0.2">old\n'
    out.write_bytes(earlier)
    disk_full_in(monkeypatch, Path, "write_text")
    code, _, err = run_cli("report", str(scenario_file), "--out", str(out), "--runs", "4")
    assert code == 2
    assert f"cannot write {out}: no space left on the device" in err
    assert "Traceback" not in err
    assert out.read_bytes() == earlier
    assert no_leftovers(tmp_path)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("folder", "it is a folder"),
        ("under-file", "is a file, not a folder"),
    ],
)
def test_report_to_impossible_places(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, make: str, message: str
) -> None:
    if make == "folder":
        out = tmp_path / "report.html"
        out.mkdir()
        (out / "keep.txt").write_bytes(USER_BYTES)
    else:
        (tmp_path / "data").write_bytes(USER_BYTES)
        out = tmp_path / "data" / "report.html"
    code, _, err = run_cli("report", str(scenario_file), "--out", str(out), "--runs", "4")
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    kept = tmp_path / ("report.html/keep.txt" if make == "folder" else "data")
    assert kept.read_bytes() == USER_BYTES


def test_compare_out_keeps_a_users_file(run_cli: Cli, scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare.html"
    out.write_bytes(USER_BYTES)
    args = ["compare", str(scenario_file), str(scenario_file), "--runs", "4", "--out", str(out)]
    code, _, err = run_cli(*args)
    assert refused(code, err, out), err
    assert out.read_bytes() == USER_BYTES
    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    assert '<meta name="generator" content="forcegen ' in out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- plot
@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_plot_keeps_a_users_image_and_replaces_its_own(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"figure.{suffix}"
    out.write_bytes(USER_BYTES)
    args = ["plot", str(scenario_file), "--kind", "fan", "--out", str(out), "--runs", "4"]
    code, _, err = run_cli(*args)
    assert refused(code, err, out), err
    assert out.read_bytes() == USER_BYTES
    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    # A re-run recognises its own figure (for SVG only since the metadata names forcegen).
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert no_leftovers(tmp_path)


def test_plot_on_a_full_disk(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "figure.png"
    args = ["plot", str(scenario_file), "--out", str(out), "--runs", "4"]
    assert run_cli(*args)[0] == 0
    earlier = out.read_bytes()
    disk_full_in(monkeypatch, Figure, "savefig")
    code, _, err = run_cli(*args, "--kind", "losses")
    assert code == 2
    assert "no space left on the device" in err
    assert "Traceback" not in err
    assert out.read_bytes() == earlier
    assert no_leftovers(tmp_path)


# --------------------------------------------------------------------------- demo
@pytest.fixture
def small_demo(scenario_file: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``forcegen demo`` on the small scenario, two of its figures, no store (fast)."""
    monkeypatch.setattr(run_cmds, "DEMO_SCENARIO", str(scenario_file))
    kinds = {k: figures.FIGURES[k] for k in ("fan", "pools")}
    monkeypatch.setattr(figures, "FIGURES", kinds)
    return ["demo", "--runs", "4", "--no-store"]


def test_demo_writes_next_to_a_users_files_but_never_over_them(
    run_cli: Cli, small_demo: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One test, so the few (slow) demo runs build on each other.
    out = tmp_path / "demo"
    out.mkdir()
    (out / "notes.txt").write_bytes(USER_BYTES)
    code, _, err = run_cli(*small_demo, "--out", str(out))
    assert code == 0, err
    assert set(contents(out)) == {"notes.txt", "report.html", "fan.png", "pools.png"}
    assert (out / "notes.txt").read_bytes() == USER_BYTES

    code, _, err = run_cli(*small_demo, "--out", str(out), "--seed", "2")
    assert code == 0, err  # a re-run replaces its own files
    assert no_leftovers(out)

    # The report is written before the figures; when the disk fills at the figures,
    # the report must not be replaced alone either.
    before = contents(out)
    with monkeypatch.context() as patch:
        disk_full_in(patch, Figure, "savefig")
        code, _, err = run_cli(*small_demo, "--out", str(out), "--seed", "3")
    assert code == 2
    assert "no space left on the device" in err
    assert "Traceback" not in err
    assert contents(out) == before

    (out / "fan.png").write_bytes(USER_BYTES)  # the user's picture now has that name
    before = contents(out)
    code, stdout, err = run_cli(*small_demo, "--out", str(out))
    assert refused(code, err, out / "fan.png"), err
    assert "simulated" not in stdout  # refused before the simulation
    assert contents(out) == before

    code, _, err = run_cli(*small_demo, "--out", str(out), "--force")
    assert code == 0, err
    assert (out / "fan.png").read_bytes() != USER_BYTES
    assert (out / "notes.txt").read_bytes() == USER_BYTES


def test_demo_out_that_is_a_file(run_cli: Cli, small_demo: list[str], tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.write_bytes(USER_BYTES)
    code, _, err = run_cli(*small_demo, "--out", str(out))
    assert code == 2
    assert "is a file, not a folder" in err
    assert "Traceback" not in err
    assert out.read_bytes() == USER_BYTES


# ----------------------------------------------------------------------- ensemble
def test_ensemble_quantiles_out(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "q.csv"
    out.write_bytes(b"date,deployed\n2022-01-01,5\n")  # the user's own table
    args = ["ensemble", str(scenario_file), "--runs", "4", "--quiet", "--keep", "strength"]
    code, _, err = run_cli(*args, "--quantiles-out", str(out))
    assert refused(code, err, out), err
    assert out.read_bytes() == b"date,deployed\n2022-01-01,5\n"

    code, _, err = run_cli(*args, "--quantiles-out", str(out), "--force")
    assert code == 0, err
    code, _, err = run_cli(*args, "--quantiles-out", str(out))
    assert code == 0, err  # the header forcegen writes marks it as forcegen's
    earlier = out.read_bytes()
    assert list(pd.read_csv(out).columns) == ["date", "0.05", "0.25", "0.5", "0.75", "0.95"]

    disk_full_in(monkeypatch, pd.DataFrame, "to_csv")
    code, _, err = run_cli(*args, "--quantiles-out", str(out), "--seed", "2")
    assert code == 2
    assert "no space left on the device" in err
    assert out.read_bytes() == earlier
    assert no_leftovers(tmp_path)


# ------------------------------------------------------------- a real full disk
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (skipped where mounting is not permitted)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.parametrize(
    ("command", "name", "earlier"),
    [
        ("report", "report.html", b'<meta name="generator" content="forcegen 0.2">\n'),
        ("plot", "fan.png", b"\x89PNG tEXtSoftware\x00forcegen\n"),
    ],
)
def test_a_really_full_disk(
    run_cli: Cli, scenario_file: Path, tiny_disk: Path, command: str, name: str, earlier: bytes
) -> None:
    out = tiny_disk / name
    out.write_bytes(earlier)
    # Both outputs are larger than 64 KiB (the report embeds its figures).
    code, _, err = run_cli(command, str(scenario_file), "--out", str(out), "--runs", "4")
    assert code == 2
    assert f"cannot write {out}: no space left on the device" in err
    assert "Traceback" not in err
    assert out.read_bytes() == earlier
    assert no_leftovers(tiny_disk)
