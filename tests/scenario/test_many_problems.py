"""A file with very many problems prints the first 100 and a count of the rest
(issue #12), in the ``FILE:LINE:COL: field: message`` form editors parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from forcegen.errors import MAX_PROBLEMS

Run = Callable[..., tuple[int, str, str]]
Write = Callable[..., Path]

_LINE = re.compile(r"^.*:\d+:\d+: \S+: .*$")


def test_at_most_100_problems_then_a_count(valid_text: str, write: Write, run_cli: Run) -> None:
    # 250 unknown keys at the top level: 250 located problems.
    extra = "".join(f"unknown_{i}: {i}\n" for i in range(250))
    path = write(valid_text + extra)
    code, _, err = run_cli("validate", str(path))
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    assert all(_LINE.match(line) for line in lines)
    assert lines[-1] == f"{path}:0:0: <document>: … and {250 - MAX_PROBLEMS} more problems"
