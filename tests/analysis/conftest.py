"""Fixtures of the analysis tests (scenarios with closed-form answers: analysis_cases)."""

from __future__ import annotations

import pytest
from analysis_cases import single_channel

from forcegen.scenario.model import Scenario


@pytest.fixture
def tiny() -> Scenario:
    """1,000 deployed, no recruits, h = 0.01, 100 days."""
    return single_channel(deployed=1000)
