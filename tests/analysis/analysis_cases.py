"""Tiny scenarios whose answers are known in closed form, for the analysis tests.

The workhorse is one channel with no pool, no training and an indefinite contract,
Poisson(λ) recruits a day and a single daily hazard ``h`` (killed). With ``D0``
people deployed at the start, deployed strength at the end of day ``t`` is

    mean-field:  D0 (1 − h)^(t+1) + λ (1 − (1 − h)^(t+1)) / h
    stochastic:  Binomial(D0, (1 − h)^(t+1)) + Poisson(λ (1 − (1 − h)^(t+1)) / h)

(an M/G/∞ queue in discrete time; see docs/model.md, "Exact special cases").
"""

from __future__ import annotations

from typing import Any

from forcegen.scenario.model import Scenario


def single_channel(
    *,
    recruits: float = 0.0,
    killed: float = 0.01,
    deployed: float = 0.0,
    horizon: int = 100,
    name: str = "tiny",
    channel: dict[str, Any] | None = None,
    **extra: Any,
) -> Scenario:
    """The closed-form scenario above, starting 2022-01-01 (every value a point)."""
    ch: dict[str, Any] = {
        "id": "a",
        "enlistment": {"model": "series", "recruits_per_day": recruits},
        "initial": {"deployed": deployed},
    }
    ch.update(channel or {})
    spec: dict[str, Any] = {
        "name": name,
        "start_date": "2022-01-01",
        "horizon_days": horizon,
        "channels": [ch],
        "losses": {
            "killed_per_day": killed,
            "wounded_per_day": 0.0,
            "missing_per_day": 0.0,
            "recovery": {"mean_days": 30, "return_probability": 0.5},
        },
        **extra,
    }
    return Scenario.model_validate(spec)


def mean_field_strength(d0: float, lam: float, h: float, t: int) -> float:
    """Deployed strength at the end of day ``t`` in the mean-field model (people)."""
    survive = (1.0 - h) ** (t + 1)
    return d0 * survive + lam * (1.0 - survive) / h
