"""Fixtures of the report tests: small simulated ensembles (see report_cases)."""

from __future__ import annotations

import pytest
from report_cases import report_scenario

from forcegen.results.result import Result
from forcegen.sim import Sim


@pytest.fixture(scope="session")
def small_result() -> Result:
    """128 replicates of the report-test scenario (90 days), seed 3."""
    return Sim(report_scenario(), runs=128, seed=3).run()


@pytest.fixture(scope="session")
def other_result() -> Result:
    """The same scenario with twice the regular recruits, same seed."""
    changed = report_scenario(
        name="name: report-test-more\n",
        regulars_rate="recruits_per_day: {value: 40, evidence: [count-regulars]}",
    )
    return Sim(changed, runs=128, seed=3).run()
