"""``forcegen sensitivity --out`` and ``forcegen calibrate --out`` never destroy what
forcegen did not write (issue #11): they write next to a user's files in the folder,
refuse a user's file at one of their names (exit 2, before any simulation) unless
``--force``, replace their own earlier output, and on a full disk leave the earlier
set of files as it was."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from inference_cases import HAZARD, LAMBDA, queue_scenario, scenario_text, write_synthetic
from matplotlib.figure import Figure

from forcegen.analysis.calibration import write_observed
from forcegen.errors import OutputError

CliResult = tuple[int, str, str]
Cli = Callable[..., CliResult]

USER_BYTES = b"my own notes, not forcegen's\n\x00\xff\n"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tables are drawn to the terminal's width; make it wide so cells are not wrapped.
    from rich.console import Console

    from forcegen.cli import analysis_cmds

    monkeypatch.setattr(analysis_cmds, "console", Console(highlight=False, width=300))


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue.yaml"
    path.write_text(scenario_text(120))
    return path


def disk_full_in(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Make ``owner.name`` behave as on a full disk when it writes one of forcegen's
    temporary files: some bytes land, then ENOSPC. Writes elsewhere are untouched."""
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


# -------------------------------------------------------------------- sensitivity
SENSITIVITY = ["--output", "strength@2022-04-30", "--samples", "16", "--quiet"]
STEM = "sensitivity-queue-strength-2022-04-30-sobol"


def test_sensitivity_out(
    run_cli: Cli, scenario_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "sa"
    out.mkdir()
    (out / "notes.txt").write_bytes(USER_BYTES)
    (out / f"{STEM}.csv").write_bytes(b"my,own,table\n1,2,3\n")
    args = ["sensitivity", str(scenario_file), *SENSITIVITY, "--out", str(out)]
    code, stdout, err = run_cli(*args)
    assert code == 2
    assert f"refusing to replace {out / (STEM + '.csv')}" in err
    assert "Traceback" not in err
    assert "ST ±" not in stdout  # refused before the design was simulated
    assert contents(out) == {
        "notes.txt": USER_BYTES,
        f"{STEM}.csv": b"my,own,table\n1,2,3\n",
    }

    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    code, _, err = run_cli(*args)
    assert code == 0, err  # its own table and figure: replaced without --force
    assert sorted(contents(out)) == sorted(["notes.txt", f"{STEM}.csv", f"{STEM}.png"])
    assert (out / "notes.txt").read_bytes() == USER_BYTES

    before = contents(out)
    disk_full_in(monkeypatch, pd.DataFrame, "to_csv")
    code, _, err = run_cli(*args, "--seed", "3")
    assert code == 2
    assert "no space left on the device" in err
    assert "Traceback" not in err
    assert contents(out) == before  # the figure was not replaced alone either


def test_sensitivity_out_is_a_file(run_cli: Cli, scenario_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "sa"
    out.write_bytes(USER_BYTES)
    code, _, err = run_cli("sensitivity", str(scenario_file), *SENSITIVITY, "--out", str(out))
    assert code == 2
    assert "is a file, not a folder" in err
    assert out.read_bytes() == USER_BYTES


# ---------------------------------------------------------------------- calibrate
@pytest.fixture
def observations(tmp_path: Path) -> Path:
    return write_synthetic(
        tmp_path / "obs.csv",
        queue_scenario(120),
        u_lambda=0.4,
        u_hazard=0.5,
        fraction=0.7,
        log_sd=0.2,
        seed=3,
    )


def test_calibrate_out(
    run_cli: Cli,
    scenario_file: Path,
    observations: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "cal"
    out.mkdir()
    (out / "notes.txt").write_bytes(USER_BYTES)
    (out / "queue-calibrated.yaml").write_bytes(b"name: my-own-edit\n")
    args = [
        "calibrate",
        str(scenario_file),
        str(observations),
        "--params",
        f"{LAMBDA},{HAZARD}",
        "--budget",
        "1200",  # enough to reach temperature 1: a tempered posterior is not written
        "--population",
        "30",
        "--out",
        str(out),
        "--quiet",
    ]
    code, stdout, err = run_cli(*args)
    assert code == 2
    assert f"refusing to replace {out / 'queue-calibrated.yaml'}" in err
    assert "Traceback" not in err
    assert "posterior mean" not in stdout  # refused before calibrating
    assert contents(out) == {
        "notes.txt": USER_BYTES,
        "queue-calibrated.yaml": b"name: my-own-edit\n",
    }

    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    code, _, err = run_cli(*args)
    assert code == 0, err  # its own five files: replaced without --force
    names = {f"queue-calibrated{s}" for s in (".yaml", "-posterior.csv", "-fit.csv")}
    names.add("queue-calibrated-particles.csv")
    names |= {"queue-calibrated-posterior.png", "queue-calibrated-fit.png", "notes.txt"}
    assert set(contents(out)) == names
    assert (out / "notes.txt").read_bytes() == USER_BYTES

    before = contents(out)
    disk_full_in(monkeypatch, Figure, "savefig")
    code, _, err = run_cli(*args, "--seed", "5")
    assert code == 2
    assert "no space left on the device" in err
    assert "Traceback" not in err
    assert contents(out) == before  # scenario and tables not replaced without figures


def test_calibrate_refuses_a_users_table_with_other_columns(
    run_cli: Cli, scenario_file: Path, observations: Path, tmp_path: Path
) -> None:
    # CSVs carry no marker: only forcegen's own header line marks one as forcegen's.
    (tmp_path / "queue-calibrated-fit.csv").write_bytes(b"date,value\n2022-01-01,1\n")
    code, _, err = run_cli(
        "calibrate",
        str(scenario_file),
        str(observations),
        *("--params", f"{LAMBDA},{HAZARD}", "--budget", "500", "--population", "60"),
        *("--out", str(tmp_path), "--quiet"),
    )
    assert code == 2
    assert f"refusing to replace {tmp_path / 'queue-calibrated-fit.csv'}" in err
    assert (tmp_path / "queue-calibrated-fit.csv").read_bytes() == b"date,value\n2022-01-01,1\n"


# ------------------------------------------------------------------ Python writers
def test_write_observed_never_replaces_observations_without_force(tmp_path: Path) -> None:
    # Synthetic observations have the very columns of real ones: no file is recognised.
    real = tmp_path / "observed.csv"
    real.write_bytes(b"date,series,channel,cause,value,source\n2022-02-01,strength,,,1,me\n")
    before = real.read_bytes()
    frame = pd.DataFrame({"date": ["2022-02-01"], "value": [2]})
    with pytest.raises(OutputError, match="cannot be told from one with real observations"):
        write_observed(frame, real)
    assert real.read_bytes() == before
    write_observed(frame, real, force=True)
    assert real.read_text() == "date,value\n2022-02-01,2\n"
