"""Imports every command module so that each registers its commands on the app."""

from __future__ import annotations

from forcegen.cli import (
    analysis_cmds,  # noqa: F401
    authoring_cmds,  # noqa: F401
    explore_cmds,  # noqa: F401
    observation_cmds,  # noqa: F401
    report_cmds,  # noqa: F401
    run_cmds,  # noqa: F401
    scale_cmds,  # noqa: F401
    scenario_cmds,  # noqa: F401
    store_cmds,  # noqa: F401
)
