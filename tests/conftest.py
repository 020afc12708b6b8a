"""Test-suite wide settings."""

from __future__ import annotations

import os

from hypothesis import settings

# Property-based tests must give the same verdict on every run and machine: the "ci"
# profile draws examples deterministically and ignores wall-clock deadlines.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
