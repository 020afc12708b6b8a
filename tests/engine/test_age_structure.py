"""A channel's age structure follows the horizon, not the contract term (issue #12).

A term of 5e6 days on a 1,095-day horizon took over 4 GB: one age slot per day of the
term. Past the young ages (training, minimum service, service multipliers) every age
faces the same hazards and only people within the horizon of the term can reach it, so
the ages in between share one slot (docs/model.md; ``ChannelPlan``). These tests check
the size, and that the compressed structure simulates the same model: identical
expectations in the mean-field mode, the same law in the stochastic mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import ensemble, scenario
from test_conservation import assert_conserved, initial_totals

from forcegen.engine import compile as compile_module
from forcegen.engine.compile import compile_block
from forcegen.engine.sampling import sample_block
from forcegen.engine.simulate import run_block
from forcegen.scenario.bounds import MAX_DAYS
from forcegen.scenario.load import load_scenario
from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Param

HORIZON = 120


def long_term_scenario(term: int = 2_000, horizon: int = HORIZON) -> Scenario:
    """A long-term channel with everything that touches ages: training, minimum
    service, service multipliers, renewal into the compressed ages, a transfer in,
    stop-loss on and off, initial people in every state."""
    channels: list[dict[str, Any]] = [
        {
            "id": "long",
            "enlistment": {"model": "series", "recruits_per_day": 20},
            "training_days": 10,
            "contract": {
                "term_days": term,
                "renewal_probability": 0.5,
                "renewal_term_days": term // 2,
                "early_termination_per_day": 0.002,
                "min_service_days": 30,
            },
            "initial": {"training": 200, "deployed": 50_000, "recovering": 3_000},
        },
        {
            "id": "short",
            "enlistment": {"model": "series", "recruits_per_day": 15},
            "training_days": 5,
            "contract": {"term_days": 40, "renewal_probability": 0.6, "renew_into": "long"},
            "initial": {"deployed": 500},
        },
    ]
    losses = {
        "killed_per_day": 0.001,
        "wounded_per_day": 0.003,
        "missing_per_day": 0.0005,
        "service_multipliers": [{"until_day": 20, "multiplier": 2.0}],
        "recovery": {"mean_days": 20, "return_probability": 0.6},
    }
    events = [
        {"type": "stop_loss", "date": "2023-02-01", "active": True},
        {"type": "stop_loss", "date": "2023-03-01", "active": False},
    ]
    return scenario(channels, horizon=horizon, losses=losses, events=events)


def plan_of(scn: Scenario) -> compile_module.Plan:
    return compile_block(scn, sample_block(scn, seed=0, block=0, sample=False))


def test_age_slots_follow_the_horizon_not_the_term() -> None:
    """The longest term the bounds allow on the built-in's three-year horizon: 36,502
    slots a replicate before, now the young ages plus the horizon."""
    base = load_scenario("russia-2022-covert")
    term = Param.point(float(MAX_DAYS), assumption="the longest allowed")
    contract = base.channels[0].contract.model_copy(update={"term_days": term})
    channels = [base.channels[0].model_copy(update={"contract": contract}), *base.channels[1:]]
    scn = base.model_copy(update={"channels": channels})
    ch = plan_of(scn).channels[0]
    assert int(ch.term_days.max()) == MAX_DAYS
    assert ch.n_ages <= ch.young + scn.horizon_days + 4
    assert ch.n_ages < 1_300


def test_terms_that_fit_are_not_compressed() -> None:
    """Built-in terms are shorter than their horizons: same slots as ever (so the same
    random numbers and results)."""
    for ch in plan_of(load_scenario("russia-2022-covert")).channels:
        assert not ch.age_offset.any()
        if ch.term_days is not None:
            assert ch.n_ages == int(ch.term_days.max()) + 2


def _uncompressed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_module, "term_slots", lambda term, young, days: term)


def test_mean_field_is_the_same_with_or_without_compression(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scn = long_term_scenario()
    compressed = run_block(scn, seed=0, block=0, mode="mean-field", sample_parameters=False)
    assert plan_of(scn).channels[0].n_ages < 300
    _uncompressed(monkeypatch)
    assert plan_of(scn).channels[0].n_ages == 2_002
    full = run_block(scn, seed=0, block=0, mode="mean-field", sample_parameters=False)
    for name in ("strength", "inflow", "outflow", "transition", "cost", "unpaid"):
        a, b = getattr(compressed.output, name), getattr(full.output, name)
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6, err_msg=name)
    # The renewals and the transfer really happen, and the long channel's term is
    # reached by the oldest initial people (its term end is not vacuous).
    assert full.output.transition[0, :, 0, 3].sum() > 0
    assert full.output.inflow[0, :, 0, 1].sum() > 0
    assert full.output.outflow[0, :, 0, 6].sum() > 0


def test_compressed_stochastic_run_conserves_people() -> None:
    scn = long_term_scenario()
    out = run_block(scn, seed=3, block=0, sample_parameters=False).output
    assert_conserved(out, initial_totals(scn), exact=True)


def test_stochastic_law_is_the_same_with_or_without_compression(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replicates differ (the slots differ, so do the random numbers) but the law does
    not: deployed strength and exits agree in mean over 256 replicates each."""
    scn = long_term_scenario()
    a = ensemble(scn, runs=256, seed=11)
    _uncompressed(monkeypatch)
    b = ensemble(scn, runs=256, seed=12)
    for label, x, y in [
        ("deployed at the end", a.strength[:, -1, 0, 1], b.strength[:, -1, 0, 1]),
        ("expired", a.exits("expired")[:, :, 0].sum(1), b.exits("expired")[:, :, 0].sum(1)),
        ("killed", a.exits("killed")[:, :, 0].sum(1), b.exits("killed")[:, :, 0].sum(1)),
        (
            "terminated",
            a.exits("terminated")[:, :, 0].sum(1),
            b.exits("terminated")[:, :, 0].sum(1),
        ),
    ]:
        se = np.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) < 4 * se + 1e-9, (label, x.mean(), y.mean(), se)
