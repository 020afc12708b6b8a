"""Test-suite wide settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

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
