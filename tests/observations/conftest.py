"""Fixtures of the observation tests (see observation_cases)."""

from __future__ import annotations

from pathlib import Path

import pytest
from observation_cases import MAPPING, write

from forcegen.observations.mapping import QuantityMap, load_mapping


@pytest.fixture
def mapping(tmp_path: Path) -> QuantityMap:
    """The test mapping of observation_cases."""
    return load_mapping(write(tmp_path / "mapping.yaml", MAPPING))
