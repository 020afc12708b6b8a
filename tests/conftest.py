"""Test-suite wide settings."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import settings

from forcegen.cli import main
from forcegen.engine.kernels import compile_kernels

# Property-based tests must give the same verdict on every run and machine: the "ci"
# profile draws examples deterministically and ignores wall-clock deadlines.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels() -> None:
    """Compile the Numba kernels once per test process, before any test (and any Dask
    worker) needs them: workers then load them from the on-disk cache instead of each
    compiling for seconds inside their first task."""
    compile_kernels()


@pytest.fixture(autouse=True)
def _store_in_tmp(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Commands that save runs by default (run, ask, plot, report) save them in a fresh
    temporary store unless a test says otherwise, never in the working directory."""
    folder = tmp_path_factory.mktemp("store")
    monkeypatch.setenv("FORCEGEN_STORE", str(folder / "forcegen.duckdb"))


CliResult = tuple[int, str, str]
"""Exit code, stdout and stderr of one in-process ``forcegen`` command."""


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """``run_cli(*args)``: run ``forcegen`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run
