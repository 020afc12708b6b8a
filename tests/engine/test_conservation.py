"""People are conserved exactly, day by day (docs/model.md, "Two modes").

For every replicate, channel and day:
``Δ(training + deployed + recovering) = Σ inflow − Σ outflow``; on day 0 the change is
measured from the initial force (whole people). No stock, pool or flow is ever
negative, and the stochastic mode counts whole people. Checked on a fixed scenario
with every feature and, with hypothesis, on random small scenarios (where the mean-field
mode must conserve to 1e-6 relative).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from engine_helpers import no_losses, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from forcegen.engine.simulate import run_block
from forcegen.engine.step import BlockOutput
from forcegen.scenario.model import Scenario

START = dt.date(2023, 1, 1)


def initial_totals(scn: Scenario) -> NDArray[np.float64]:
    """``(C,)`` initial force per channel in whole people (point values only)."""
    out = []
    for ch in scn.channels:
        init = ch.initial
        total = 0.0
        for p in (init.training, init.deployed, init.recovering):
            assert p.value is not None
            total += float(np.rint(p.value))
        out.append(total)
    return np.asarray(out)


def assert_conserved(
    out: BlockOutput, initial: NDArray[np.float64], *, exact: bool, rtol: float = 0.0
) -> None:
    """Conservation (day 0 against ``initial``) and non-negativity of one block."""
    strength = out.strength.astype(np.float64).sum(axis=-1)  # (R, T, C)
    before = np.concatenate(
        [np.broadcast_to(initial, (strength.shape[0], 1, initial.size)), strength[:, :-1]], axis=1
    )
    change = strength - before
    net = out.inflow.astype(np.float64).sum(axis=-1) - out.outflow.astype(np.float64).sum(axis=-1)
    if exact:
        bad = np.argwhere(change != net)
        assert bad.size == 0, f"not conserved at (replicate, day, channel) {bad[:5].tolist()}"
    else:
        scale = np.maximum(np.abs(strength), np.maximum(np.abs(before), 1.0))
        err = np.abs(change - net) / scale
        assert err.max() <= rtol, f"relative conservation error {err.max():.3g}"
    floor = 0 if exact else -1e-9
    for name in ("strength", "inflow", "outflow", "transition", "pool"):
        arr = getattr(out, name)
        assert np.all(np.isfinite(arr)), name
        assert arr.min(initial=0) >= floor, f"{name} negative: {arr.min()}"
    for name in ("cost", "unpaid"):
        assert getattr(out, name).min(initial=0) >= floor * 1e6, name
    if exact:
        for name in ("strength", "inflow", "outflow", "transition", "pool"):
            assert np.issubdtype(getattr(out, name).dtype, np.integer), name


# ------------------------------------------------------------------ a fixed scenario
def everything_scenario() -> Scenario:
    """Two pools, series + behavioural + mobilisation channels, terms with renewal and
    transfer, stop-loss on/off, waves, widening, pay changes, service multipliers."""
    return scenario(
        [
            {
                "id": "contract",
                "pool": "men",
                "enlistment": {
                    "model": "behavioural",
                    "base_rate_per_day": 0.002,
                    "pay_elasticity": 1.2,
                    "depletion_exponent": 1.0,
                    "reputation_elasticity": 0.5,
                },
                "pay": {
                    "salary_per_month": 200000,
                    "sign_up_bonus_federal": 195000,
                    "paid_share": 0.9,
                },
                "training_days": 14,
                "training_withdrawal_probability": 0.05,
                "contract": {
                    "term_days": 60,
                    "renewal_probability": 0.6,
                    "renewal_term_days": 40,
                    "early_termination_per_day": 0.003,
                    "min_service_days": 20,
                },
                "initial": {"training": 50, "deployed": 400, "recovering": 20},
            },
            {
                "id": "prisoners",
                "pool": "prison",
                "enlistment": {"model": "series", "recruits_per_day": 30},
                "training_days": 7,
                "contract": {
                    "term_days": 45,
                    "renewal_probability": 0.5,
                    "renew_into": "contract",
                    "on_term_end": "released",
                },
                "hazard_multipliers": {"killed": 2.0, "deserted": 0.3},
            },
            {
                "id": "mobilised",
                "pool": "men",
                "active": False,
                "enlistment": {"model": "mobilisation"},
                "training_days": 10,
                "initial": {"deployed": 100},
            },
        ],
        horizon=150,
        losses=no_losses(
            killed_per_day=0.004,
            wounded_per_day=0.008,
            missing_per_day=0.001,
            deserted_per_day=0.001,
            refused_per_day=0.0005,
            intensity={
                "series": [
                    {"from": "2023-01-01", "value": 1.0},
                    {"from": "2023-03-01", "value": 1.5},
                ]
            },
            service_multipliers=[
                {"until_day": 10, "multiplier": 2.5},
                {"until_day": 30, "multiplier": 1.3},
            ],
        ),
        pools=[
            {
                "id": "men",
                "initial_people": 200000,
                "replenish_per_day": 20,
                "reference_wage_per_month": 60000,
            },
            {"id": "prison", "initial_people": 1500, "replenish_per_day": 5},
        ],
        events=[
            {"type": "stop_loss", "date": "2023-02-10", "active": True},
            {"type": "stop_loss", "date": "2023-03-20", "active": False},
            {
                "type": "mobilisation_wave",
                "date": "2023-02-01",
                "channel": "mobilised",
                "size_people": 3000,
                "duration_days": 20,
                "evasion_share": 0.2,
            },
            {
                "type": "widen_eligibility",
                "date": "2023-03-01",
                "pool": "prison",
                "add_people": 1000,
            },
            {
                "type": "change_pay",
                "date": "2023-04-01",
                "channel": "contract",
                "salary_per_month": 250000,
            },
        ],
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_stochastic_conservation_every_day(seed: int) -> None:
    scn = everything_scenario()
    out = run_block(scn, seed=seed, block=0, sample_parameters=False).output
    assert_conserved(out, initial_totals(scn), exact=True)
    # The prison pool runs dry (the cap binds), and transfers happen.
    assert out.pool[:, :, 1].min() == 0
    assert out.inflow[:, :, 0, 1].sum() > 0


def test_mean_field_conservation_every_day() -> None:
    scn = everything_scenario()
    out = run_block(scn, seed=0, block=0, mode="mean-field", sample_parameters=False).output
    assert_conserved(out, initial_totals(scn), exact=False, rtol=1e-9)


def test_conservation_check_can_fail() -> None:
    """The check is not vacuous: one person added to one day's stock is caught."""
    scn = everything_scenario()
    out = run_block(scn, seed=1, block=0, sample_parameters=False).output
    out.strength[3, 40, 1, 1] += 1
    with pytest.raises(AssertionError, match="not conserved"):
        assert_conserved(out, initial_totals(scn), exact=True)


# --------------------------------------------------------- random small scenarios
def _date(day: int) -> str:
    return (START + dt.timedelta(days=day)).isoformat()


@st.composite
def random_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    horizon = draw(st.integers(30, 120))
    n_pools = draw(st.integers(0, 2))
    pools = [
        {
            "id": f"p{i}",
            "initial_people": draw(st.integers(0, 5000)),
            "replenish_per_day": draw(st.floats(0, 50)),
            "reference_wage_per_month": draw(st.floats(1000, 100000)),
        }
        for i in range(n_pools)
    ]
    n_channels = draw(st.integers(1, 3))
    ids = [f"c{i}" for i in range(n_channels)]
    hazard = st.floats(0.0, 0.05)
    prob = st.floats(0.0, 1.0)
    channels = []
    for cid in ids:
        pool = draw(st.sampled_from([None, *(p["id"] for p in pools)]))
        models = ["series", "mobilisation"] + (["behavioural"] if pool else [])
        model = draw(st.sampled_from(models))
        enlistment: dict[str, Any] = {"model": model}
        if model == "series":
            enlistment["recruits_per_day"] = draw(st.floats(0, 30))
        elif model == "behavioural":
            enlistment |= {
                "base_rate_per_day": draw(st.floats(0, 0.02)),
                "pay_elasticity": draw(st.floats(0, 2)),
                "depletion_exponent": draw(st.floats(0, 2)),
                "reputation_elasticity": draw(st.floats(0, 1)),
            }
        training = draw(st.integers(0, 20))
        contract: dict[str, Any] = {
            "early_termination_per_day": draw(hazard),
            "min_service_days": draw(st.integers(0, 60)),
            "on_term_end": draw(st.sampled_from(["expired", "released"])),
        }
        if draw(st.booleans()):
            contract["term_days"] = draw(st.integers(10, 60))
            contract["renewal_probability"] = draw(prob)
            if draw(st.booleans()):
                contract["renewal_term_days"] = draw(st.integers(1, 60))
            if n_channels > 1 and draw(st.booleans()):
                contract["renew_into"] = draw(st.sampled_from(ids))
        channels.append(
            {
                "id": cid,
                "pool": pool,
                "active": draw(st.booleans()),
                "enlistment": enlistment,
                "training_days": training,
                "training_withdrawal_probability": draw(prob),
                "pay": {
                    "salary_per_month": draw(st.floats(0, 300000)),
                    "sign_up_bonus_federal": draw(st.floats(0, 300000)),
                    "paid_share": draw(st.floats(0.1, 1.0)),
                },
                "contract": contract,
                "hazard_multipliers": {
                    "killed": draw(st.floats(0, 2)),
                    "deserted": draw(st.floats(0, 2)),
                },
                "initial": {
                    "training": draw(st.integers(0, 50)) if training > 0 else 0,
                    "deployed": draw(st.integers(0, 100)),
                    "recovering": draw(st.integers(0, 20)),
                },
            }
        )
    day = st.integers(0, horizon - 1)
    events: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        events.append(
            {
                "type": "stop_loss",
                "date": _date(draw(day)),
                "active": draw(st.booleans()),
                "channels": draw(st.one_of(st.none(), st.lists(st.sampled_from(ids), min_size=1))),
            }
        )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            {
                "type": "mobilisation_wave",
                "date": _date(draw(day)),
                "channel": draw(st.sampled_from(ids)),
                "size_people": draw(st.integers(0, 1000)),
                "duration_days": draw(st.integers(1, 20)),
                "evasion_share": draw(st.floats(0, 0.5)),
            }
        )
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            {
                "type": draw(st.sampled_from(["start_channel", "stop_channel"])),
                "date": _date(draw(day)),
                "channel": draw(st.sampled_from(ids)),
            }
        )
    if n_pools > 0 and draw(st.booleans()):
        events.append(
            {
                "type": "widen_eligibility",
                "date": _date(draw(day)),
                "pool": draw(st.sampled_from([p["id"] for p in pools])),
                "add_people": draw(st.integers(0, 2000)),
            }
        )
    multipliers = []
    until = 0
    for _ in range(draw(st.integers(0, 2))):
        until += draw(st.integers(1, 40))
        multipliers.append({"until_day": until, "multiplier": draw(st.floats(0, 3))})
    losses = {
        "killed_per_day": draw(hazard),
        "wounded_per_day": draw(hazard),
        "missing_per_day": draw(hazard),
        "deserted_per_day": draw(hazard),
        "refused_per_day": draw(hazard),
        "intensity": draw(
            st.sampled_from(
                [
                    1.0,
                    {
                        "series": [
                            {"from": _date(0), "value": 0.5},
                            {"from": _date(horizon // 2), "value": 1.5},
                        ]
                    },
                ]
            )
        ),
        "service_multipliers": multipliers,
        "recovery": {"mean_days": draw(st.floats(1, 60)), "return_probability": draw(prob)},
    }
    return {
        "name": "random",
        "start_date": START.isoformat(),
        "horizon_days": horizon,
        "pools": pools,
        "channels": channels,
        "losses": losses,
        "events": events,
    }


@settings(
    max_examples=50,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=random_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_conserve_people(spec: dict[str, Any], seed: int) -> None:
    scn = Scenario.model_validate(spec)
    initial = initial_totals(scn)
    out = run_block(scn, seed=seed, block=0, sample_parameters=False).output
    assert_conserved(out, initial, exact=True)
    mf = run_block(scn, seed=seed, block=0, mode="mean-field", sample_parameters=False).output
    assert_conserved(mf, initial, exact=False, rtol=1e-6)
