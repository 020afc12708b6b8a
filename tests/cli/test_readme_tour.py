"""The README's command-line tour runs as written: every ``forcegen`` line of its shell
blocks exits 0 (replicate counts shrunk so the tour takes seconds)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]

README = Path(__file__).resolve().parents[2] / "README.md"


def _tour() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("forcegen ")]


def test_the_tour_has_commands() -> None:
    # the test below must not pass by finding nothing
    assert len(_tour()) >= 4


@pytest.mark.parametrize("line", _tour())
def test_readme_command_runs(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Cli
) -> None:
    monkeypatch.chdir(tmp_path)
    args = shlex.split(re.sub(r"--runs \d+", "--runs 2", line))[1:]
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert out.strip(), f"{line!r} printed nothing"
