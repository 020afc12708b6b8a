"""Fixtures for the Dask tests: loopback clusters shared by the tests that need them
(a LocalCluster takes a few seconds to start) and reference results computed in this
process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dist_helpers import RUNS, SEED, tiny_scenario

from forcegen.distributed import local_cluster
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The tiny two-channel scenario."""
    return tiny_scenario()


@pytest.fixture(scope="session")
def reference(scenario: Scenario) -> Result:
    """The single-process result every distributed run must reproduce exactly."""
    return Sim(scenario, runs=RUNS, seed=SEED).run()


@pytest.fixture(scope="session")
def cluster2() -> Iterator[Any]:
    """A client of a two-worker loopback cluster."""
    with local_cluster(2) as client:
        yield client


@pytest.fixture(scope="session")
def cluster1() -> Iterator[Any]:
    """A client of a one-worker loopback cluster."""
    with local_cluster(1) as client:
        yield client
