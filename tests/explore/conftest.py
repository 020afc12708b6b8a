"""Fixtures of the explorer's tests: the small test scenario and a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forcegen.explore.server import Running, make_explorer, start

SMALL = Path(__file__).with_name("small.yaml")
"""A one-channel army over 240 days with one pay change (tests/explore/small.yaml)."""


@pytest.fixture(scope="session")
def small_path() -> Path:
    """Path of the small test scenario."""
    return SMALL


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    """The explorer on the small scenario, 32 replicates per ensemble, on a free
    loopback port; stopped after the module."""
    explorer, base_id = make_explorer(str(SMALL), runs=32, seed=1, threads=1)
    running = start(explorer, base_id, port=0)
    try:
        yield running
    finally:
        running.stop()
