"""Exact checks of dated legal rules, absence with return to duty, mobilisation waves
sized in calls or arrivals, and combat hazards per exposure (issue #13, items 3–5).

Each mechanism has a closed form in the mean-field mode (docs/model.md), the
stochastic mode agrees with it in the mean (fixed seeds; tolerances of 4 standard
errors, stated per test), both modes conserve people with the new ``absent`` state,
and the new fields, when neutral, change nothing (bit-identical arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import ensemble, mean_field, no_losses, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_conservation import assert_conserved, initial_totals

from forcegen.engine.simulate import run_block
from forcegen.engine.step import TRANSITION_KINDS
from forcegen.errors import ScenarioError
from forcegen.scenario.load import load_scenario, load_scenario_text
from forcegen.scenario.model import EXIT_CAUSES, STATES, Scenario

ABSENT = STATES.index("absent")
DEPLOYED = STATES.index("deployed")


def kind(name: str) -> int:
    return TRANSITION_KINDS.index(name)


def cause(name: str) -> int:
    return EXIT_CAUSES.index(name)


# ----------------------------------------------------------------- dated legal rules
def rules_scenario(**event: Any) -> Scenario:
    """1,000 deployed spread over ages 0…99 of a 100-day term, early termination
    0.01 a day from age 0, no hazards, no recruits; a ``contract_rules`` event on
    day 30 (2023-01-31)."""
    return scenario(
        [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": 0.0},
                "contract": {"term_days": 100, "early_termination_per_day": 0.01},
                "initial": {"deployed": 1000},
            }
        ],
        horizon=80,
        events=[{"type": "contract_rules", "date": "2023-01-31", **event}],
    )


def test_rules_suspend_termination_and_make_contracts_open_ended() -> None:
    """Before day 30, ``N0/T · (T − t − 1) · (1 − e)^(t+1)`` people remain at the end
    of day ``t``; from day 30 nobody leaves: neither terminated nor expired."""
    n0, term, e, day = 1000.0, 100, 0.01, 30
    mf = mean_field(rules_scenario(voluntary_termination=False, open_ended=True))
    deployed = mf.strength[0, :, 0, DEPLOYED]
    t = np.arange(day)
    expected = n0 / term * (term - t - 1) * (1 - e) ** (t + 1)
    np.testing.assert_allclose(deployed[:day], expected, rtol=1e-12)
    np.testing.assert_allclose(deployed[day:], expected[-1], rtol=1e-12)
    assert mf.outflow[0, day:, 0].sum() == 0.0
    # Before the date, both routes out are open.
    assert mf.outflow[0, :day, 0, cause("terminated")].sum() > 200
    assert mf.outflow[0, :day, 0, cause("expired")].sum() > 200


def test_rules_are_separate_switches() -> None:
    """Suspending termination alone keeps expiry at term end, and vice versa."""
    only_termination = mean_field(rules_scenario(voluntary_termination=False))
    only_open = mean_field(rules_scenario(open_ended=True))
    assert only_termination.outflow[0, 30:, 0, cause("terminated")].sum() == 0.0
    assert only_termination.outflow[0, 30:, 0, cause("expired")].sum() > 100
    assert only_open.outflow[0, 30:, 0, cause("expired")].sum() == 0.0
    assert only_open.outflow[0, 30:, 0, cause("terminated")].sum() > 100


def test_rules_in_the_stochastic_mode() -> None:
    """Same law in whole people: no exits at all after the date, and the number kept
    agrees with the mean-field value (binomial thinning: 4 standard errors)."""
    scn = rules_scenario(voluntary_termination=False, open_ended=True)
    ens = ensemble(scn, runs=128, seed=3)
    assert ens.outflow[:, 30:, 0].sum() == 0
    kept = ens.strength[:, -1, 0, DEPLOYED]
    expected = mean_field(scn).strength[0, -1, 0, DEPLOYED]
    assert abs(kept.mean() - expected) < 4 * kept.std(ddof=1) / np.sqrt(kept.size)


# ---------------------------------------------------------- absence, return to duty
def absence_scenario(p: float = 0.6, mean_days: float = 10.0) -> Scenario:
    """1,000 deployed (indefinite contracts, no training), deserting at 0.01 a day;
    a deserter is caught with probability ``p`` and back after ``mean_days``."""
    return scenario(
        [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": 0.0},
                "initial": {"deployed": 1000},
            }
        ],
        horizon=120,
        losses=no_losses(
            deserted_per_day=0.01,
            returns_to_duty={"deserted": {"return_probability": p, "mean_days": mean_days}},
        ),
    )


def test_absence_closed_form() -> None:
    """Deployed ``D`` and absent ``A`` follow ``x(t+1) = M x(t)``,
    ``M = [[1 − d, r], [p d, 1 − r]]`` (``r = 1 / mean_days``): returns come from the
    start-of-day absent, today's deserters are caught with ``p``. Prosecutions are
    ``p d D``, returns ``r A``, permanent desertions ``(1 − p) d D``."""
    d, p, r = 0.01, 0.6, 0.1
    mf = mean_field(absence_scenario())
    m = np.array([[1 - d, r], [p * d, 1 - r]])
    x = np.array([1000.0, 0.0])
    states = []
    for _ in range(120):
        states.append(x)
        x = m @ x
    before = np.array(states)  # start of each day
    after = np.vstack([before[1:], x])
    np.testing.assert_allclose(mf.strength[0, :, 0, DEPLOYED], after[:, 0], rtol=1e-10)
    np.testing.assert_allclose(mf.strength[0, :, 0, ABSENT], after[:, 1], rtol=1e-10)
    tr = mf.transition[0, :, 0]
    np.testing.assert_allclose(tr[:, kind("prosecuted")], p * d * before[:, 0], rtol=1e-10)
    np.testing.assert_allclose(tr[:, kind("rejoined")], r * before[:, 1], rtol=1e-10)
    np.testing.assert_allclose(
        mf.outflow[0, :, 0, cause("deserted")], (1 - p) * d * before[:, 0], rtol=1e-10
    )


def test_absence_stochastic_agrees_with_closed_form() -> None:
    """End deployed, absent and cumulative prosecutions: ensemble means within 4
    standard errors of the mean-field values."""
    scn = absence_scenario()
    ens, mf = ensemble(scn, runs=256, seed=5), mean_field(scn)
    picks = {
        "deployed": (ens.strength[:, -1, 0, DEPLOYED], mf.strength[0, -1, 0, DEPLOYED]),
        "absent": (ens.strength[:, -1, 0, ABSENT], mf.strength[0, -1, 0, ABSENT]),
        "prosecuted": (
            ens.transition[:, :, 0, kind("prosecuted")].sum(axis=1),
            mf.transition[0, :, 0, kind("prosecuted")].sum(),
        ),
    }
    for name, (x, expected) in picks.items():
        se = x.std(ddof=1) / np.sqrt(x.size)
        assert abs(x.mean() - expected) < 4 * se, (name, x.mean(), expected, se)


def test_absent_people_return_at_the_renewal_age() -> None:
    """In a fixed-term channel, people back from absence serve a renewed term: with
    term 60 and renewal term 40 they resume at age 20. Caught deserters are back the
    next day (mean 1 day), so those back on day ``r`` face 40 days of desertion and
    expire on day ``r + 40``: ``expired(r + 40) = rejoined(r) · 0.95^40`` for
    ``r ≥ 20`` (the initial people, ages 0…59, have all expired by day 59)."""
    scn = scenario(
        [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": 0.0},
                "contract": {"term_days": 60, "renewal_term_days": 40},
                "initial": {"deployed": 600},
            }
        ],
        horizon=150,
        losses=no_losses(
            deserted_per_day=0.05,
            returns_to_duty={"deserted": {"return_probability": 1.0, "mean_days": 1}},
        ),
    )
    mf = mean_field(scn)
    rejoined = mf.transition[0, :, 0, kind("rejoined")]
    expired = mf.outflow[0, :, 0, cause("expired")]
    r = np.arange(20, 110)
    assert rejoined[r].min() > 0.1
    np.testing.assert_allclose(expired[r + 40], rejoined[r] * 0.95**40, rtol=1e-10)
    assert mf.outflow[0, :, 0, cause("deserted")].sum() == 0.0


# --------------------------------------------------------------------------- waves
def wave_scenario(size_counts: str, *, evasion: float = 0.2, size: float = 3000) -> Scenario:
    return scenario(
        [{"id": "m", "enlistment": {"model": "mobilisation"}, "training_days": 5}],
        horizon=60,
        events=[
            {
                "type": "mobilisation_wave",
                "date": "2023-01-05",
                "channel": "m",
                "size_people": size,
                "duration_days": 30,
                "evasion_share": evasion,
                "size_counts": size_counts,
            }
        ],
    )


@pytest.mark.parametrize(
    ("size_counts", "called", "arrived"),
    [("calls", 3000.0, 2400.0), ("arrivals", 3750.0, 3000.0)],
)
def test_wave_size_as_calls_or_arrivals(size_counts: str, called: float, arrived: float) -> None:
    """Mean-field: calls ``S`` and arrivals ``S (1 − e)``, or arrivals ``S`` and calls
    ``S / (1 − e)``; evaders the difference; arrivals are the channel's recruits."""
    mf = mean_field(wave_scenario(size_counts))
    tr = mf.transition[0, :, 0]
    assert tr[:, kind("called")].sum() == pytest.approx(called, rel=1e-12)
    assert tr[:, kind("mobilised")].sum() == pytest.approx(arrived, rel=1e-12)
    assert tr[:, kind("evaded")].sum() == pytest.approx(called - arrived, rel=1e-12)
    assert mf.inflow[0, :, 0, 0].sum() == pytest.approx(arrived, rel=1e-12)
    # Spread evenly over the 30 days from day 4.
    np.testing.assert_allclose(tr[4:34, kind("called")], called / 30, rtol=1e-12)
    assert tr[:4, kind("called")].sum() == 0.0


def test_wave_arrivals_stochastic() -> None:
    """Whole people: calls are the rounding of ``S / (1 − e)`` (3,750) every time,
    arrivals are binomial around 3,000 (within 4 standard errors), and every call is
    an arrival or an evader on its day."""
    ens = ensemble(wave_scenario("arrivals"), runs=128, seed=9)
    tr = ens.transition[:, :, 0]
    assert np.all(tr[:, :, kind("called")].sum(axis=1) == 3750)
    np.testing.assert_array_equal(
        tr[:, :, kind("called")], tr[:, :, kind("mobilised")] + tr[:, :, kind("evaded")]
    )
    arrived = tr[:, :, kind("mobilised")].sum(axis=1)
    se = np.sqrt(3750 * 0.8 * 0.2 / arrived.size)
    assert abs(arrived.mean() - 3000) < 4 * se


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=5000),
    evasion=st.sampled_from([0.0, 0.05, 0.33, 0.5, 0.9]),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_wave_calls_property(size: int, evasion: float, seed: int) -> None:
    """For any size and evasion, a wave sized in arrivals calls exactly
    ``floor(S / (1 − e))`` people over its duration, each an arrival or an evader, and
    people are conserved."""
    scn = wave_scenario("arrivals", evasion=evasion, size=size)
    out = run_block(scn, seed=seed, block=0, mode="stochastic", rows=2).output
    tr = out.transition[:, :, 0].astype(np.int64)
    expected = int(np.floor(np.float64(size) / (1.0 - evasion)))
    assert np.all(tr[:, :, kind("called")].sum(axis=1) == expected)
    assert np.all(
        tr[:, :, kind("called")] == tr[:, :, kind("mobilised")] + tr[:, :, kind("evaded")]
    )
    assert_conserved(out, initial_totals(scn), exact=True)


def test_wave_with_arrivals_needs_evasion_below_one() -> None:
    text = """
name: t
start_date: 2023-01-01
horizon_days: 30
channels:
  - id: m
    enlistment: {model: mobilisation}
losses:
  killed_per_day: 0
  wounded_per_day: 0
  missing_per_day: 0
  recovery: {mean_days: 10, return_probability: 0.5}
events:
  - type: mobilisation_wave
    date: 2023-01-02
    channel: m
    size_people: 100
    duration_days: 5
    evasion_share: 1.0
    size_counts: arrivals
"""
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, strict=False)
    message = str(err.value)
    assert "evasion_share" in message
    assert "at most 0.99" in message
    assert message.startswith("<string>:19:")  # the line of evasion_share


# ------------------------------------------------------------------------ exposure
def exposure_scenario(**exposure: Any) -> Scenario:
    """Two channels of 1,000 deployed (indefinite), killed 0.002 a day at the front;
    the tempo doubles on day 40; channel ``assault`` has its own dated front share."""
    channels = [
        {
            "id": "assault",
            "enlistment": {"model": "series", "recruits_per_day": 0.0},
            "initial": {"deployed": 1000},
            "front_share": {
                "series": [
                    {"from": "2023-01-01", "value": 0.9},
                    {"from": "2023-01-21", "value": 0.5},
                ]
            },
        },
        {
            "id": "rear",
            "enlistment": {"model": "series", "recruits_per_day": 0.0},
            "initial": {"deployed": 1000},
        },
    ]
    return scenario(
        channels,
        horizon=80,
        losses=no_losses(killed_per_day=0.002, exposure=exposure),
    )


def test_exposure_closed_form() -> None:
    """``D(t) = D0 Π_s (1 − k τ(s) (f(s) + (1 − f(s)) ρ))`` per channel."""
    exposure = {
        "tempo": {
            "series": [
                {"from": "2023-01-01", "value": 1.0},
                {"from": "2023-02-10", "value": 2.0},
            ]
        },
        "front_share": 0.1,
        "rear_hazard_ratio": 0.25,
    }
    mf = mean_field(exposure_scenario(**exposure))
    days = np.arange(80)
    tempo = np.where(days >= 40, 2.0, 1.0)
    for c, front in enumerate((np.where(days >= 20, 0.5, 0.9), np.full(80, 0.1))):
        daily = 1 - 0.002 * tempo * (front + (1 - front) * 0.25)
        np.testing.assert_allclose(
            mf.strength[0, :, c, DEPLOYED], 1000 * np.cumprod(daily), rtol=1e-12
        )


def test_exposure_stochastic_agrees() -> None:
    """Cumulative killed per channel: ensemble mean within 4 standard errors of the
    mean-field value."""
    scn = exposure_scenario(front_share=0.1, rear_hazard_ratio=0.25, tempo=1.5)
    ens, mf = ensemble(scn, runs=256, seed=13), mean_field(scn)
    for c in range(2):
        x = ens.outflow[:, :, c, cause("killed")].sum(axis=1)
        expected = mf.outflow[0, :, c, cause("killed")].sum()
        assert abs(x.mean() - expected) < 4 * x.std(ddof=1) / np.sqrt(x.size), (c, x.mean())


# ------------------------------------------------------ conservation, neutral fields
def everything() -> Scenario:
    """The reference-agreement scenario of the new mechanisms (all of them at once)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "reference"))
    from test_reference_legal_exposure import legal_exposure_scenario

    return Scenario.model_validate(legal_exposure_scenario())


@pytest.mark.parametrize("seed", [1, 2])
def test_conservation_with_absence_waves_and_rules(seed: int) -> None:
    """``Δ(training + deployed + recovering + absent) = inflow − outflow`` every day,
    exactly in whole people; absent people are counted."""
    scn = everything()
    out = run_block(scn, seed=seed, block=0, mode="stochastic", rows=16).output
    assert_conserved(out, initial_totals(scn), exact=True)
    assert out.strength[..., ABSENT].max() > 0


def test_mean_field_conservation_with_absence_waves_and_rules() -> None:
    scn = everything()
    out = run_block(scn, seed=0, block=0, mode="mean-field", rows=1).output
    assert_conserved(out, initial_totals(scn), exact=False, rtol=1e-9)


def _with(spec: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = spec
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return spec


@pytest.mark.parametrize("name", ["russia-2022-covert", "russia-2022-mobilisation"])
@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
def test_neutral_new_fields_change_nothing(name: str, mode: str) -> None:
    """A built-in with neutral new fields — exposure with tempo 1, everyone at the
    front (covert: the mobilisation scenario has its own exposure); a
    ``contract_rules`` event that changes nothing — gives bit-identical arrays for the
    same seed and sampled parameters."""
    base = load_scenario(name)
    spec = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    if base.losses.exposure is None:
        _with(spec, ("losses", "exposure"), {"tempo": 1.0, "front_share": 1.0})
    spec["events"].append(
        {"type": "contract_rules", "date": str(base.start_date), "open_ended": False}
    )
    neutral = Scenario.model_validate(spec)
    a = run_block(base, seed=1, block=0, mode=mode, rows=4).output  # type: ignore[arg-type]
    b = run_block(neutral, seed=1, block=0, mode=mode, rows=4).output  # type: ignore[arg-type]
    for series in ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid"):
        np.testing.assert_array_equal(getattr(a, series), getattr(b, series), err_msg=series)


def test_front_share_without_exposure_is_a_located_warning() -> None:
    from forcegen.scenario.load import load_scenario_text_with_warnings

    text = """
name: t
start_date: 2023-01-01
horizon_days: 30
channels:
  - id: a
    enlistment: {model: series, recruits_per_day: 1}
    front_share: 0.5
losses:
  killed_per_day: 0.001
  wounded_per_day: 0
  missing_per_day: 0
  recovery: {mean_days: 10, return_probability: 0.5}
"""
    loaded = load_scenario_text_with_warnings(text, strict=False)
    found = [
        w
        for w in loaded.warnings
        if w.field == "channels[0].front_share" and "no source" not in w.message
    ]
    assert len(found) == 1, loaded.warnings
    assert found[0].line == 8
    assert "losses.exposure" in found[0].message


# ------------------------------------------------- property: random scenarios, CRN
@st.composite
def scenarios_with_new_fields(draw: st.DrawFn) -> dict[str, Any]:
    """The random scenarios of test_conservation plus the new mechanisms, each drawn
    on or off: returns to duty, exposure with front shares, contract rules, waves sized
    in arrivals."""
    from test_conservation import _date, random_scenarios

    spec = draw(random_scenarios())
    prob = st.floats(0.0, 1.0)
    losses = spec["losses"]
    returns = {}
    for absence in ("deserted", "refused"):
        if draw(st.booleans()):
            returns[absence] = {
                "return_probability": draw(prob),
                "mean_days": draw(st.floats(1, 40)),
            }
    losses["returns_to_duty"] = returns
    if draw(st.booleans()):
        losses["exposure"] = {
            "tempo": draw(st.floats(0, 2)),
            "front_share": draw(prob),
            "rear_hazard_ratio": draw(prob),
        }
        for ch in spec["channels"]:
            if draw(st.booleans()):
                ch["front_share"] = draw(prob)
    ids = [ch["id"] for ch in spec["channels"]]
    day = st.integers(0, spec["horizon_days"] - 1)
    for _ in range(draw(st.integers(0, 2))):
        spec["events"].append(
            {
                "type": "contract_rules",
                "date": _date(draw(day)),
                "voluntary_termination": draw(st.one_of(st.none(), st.booleans())),
                "open_ended": draw(st.one_of(st.none(), st.booleans())),
                "channels": draw(st.one_of(st.none(), st.lists(st.sampled_from(ids), min_size=1))),
            }
        )
    for event in spec["events"]:
        if event["type"] == "mobilisation_wave" and draw(st.booleans()):
            event["size_counts"] = "arrivals"
    return spec


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=scenarios_with_new_fields(), seed=st.integers(0, 2**32 - 1))
def test_random_scenarios_with_new_fields_conserve_people(spec: dict[str, Any], seed: int) -> None:
    """Whole people conserved exactly in the stochastic mode, to 1e-6 in the
    mean-field mode; every wave's calls are its arrivals plus its evaders."""
    scn = Scenario.model_validate(spec)
    initial = initial_totals(scn)
    out = run_block(scn, seed=seed, block=0, sample_parameters=False, rows=4).output
    assert_conserved(out, initial, exact=True)
    tr = out.transition.astype(np.int64)
    np.testing.assert_array_equal(
        tr[..., kind("called")], tr[..., kind("mobilised")] + tr[..., kind("evaded")]
    )
    mf = run_block(scn, seed=seed, block=0, mode="mean-field", sample_parameters=False).output
    assert_conserved(mf, initial, exact=False, rtol=1e-6)


def test_same_seed_same_absence_and_wave_series() -> None:
    """Reproducibility covers the new state and series: same scenario and seed, same
    arrays; another seed, other absences."""
    scn = everything()
    a = run_block(scn, seed=4, block=0, rows=8).output
    b = run_block(scn, seed=4, block=0, rows=8).output
    c = run_block(scn, seed=5, block=0, rows=8).output
    np.testing.assert_array_equal(a.strength, b.strength)
    np.testing.assert_array_equal(a.transition, b.transition)
    assert not np.array_equal(a.strength[..., ABSENT], c.strength[..., ABSENT])


def test_common_random_numbers_for_new_mechanisms() -> None:
    """Each decision draws from its own stream: changing the contract channel's front
    share or the second wave's sizing leaves the other channel bit-identical; changing
    only the refusers' return probability leaves the first day's deaths identical (they
    are drawn before anyone is caught) and changes the absences."""
    front = legal_spec()
    front["channels"][0]["front_share"] = 0.9
    wave = legal_spec()
    wave["events"][2]["size_counts"] = "calls"
    refused = legal_spec()
    refused["losses"]["returns_to_duty"]["refused"]["return_probability"] = 0.3
    specs = {"base": legal_spec(), "front": front, "wave": wave, "refused": refused}
    out = {
        k: run_block(Scenario.model_validate(v), seed=6, block=0, rows=8).output
        for k, v in specs.items()
    }
    for series in ("strength", "outflow", "transition"):
        np.testing.assert_array_equal(
            getattr(out["base"], series)[:, :, 1], getattr(out["front"], series)[:, :, 1]
        )
        np.testing.assert_array_equal(
            getattr(out["base"], series)[:, :, 0], getattr(out["wave"], series)[:, :, 0]
        )
    assert not np.array_equal(out["base"].transition[:, :, 1], out["wave"].transition[:, :, 1])
    assert not np.array_equal(out["base"].outflow[:, :, 0], out["front"].outflow[:, :, 0])
    killed = cause("killed")
    np.testing.assert_array_equal(
        out["base"].outflow[:, :1, :, killed], out["refused"].outflow[:, :1, :, killed]
    )
    assert not np.array_equal(
        out["base"].strength[..., ABSENT], out["refused"].strength[..., ABSENT]
    )


def legal_spec() -> dict[str, Any]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "reference"))
    from test_reference_legal_exposure import legal_exposure_scenario

    return legal_exposure_scenario()


# ---------------------------------------------------------- Lanchester-style losses
def crowded_scenario(exponent: float | None, **extra: Any) -> Scenario:
    """1,000 deployed (indefinite), all at the front, killed 0.01 a day at 500 people
    at the front."""
    exposure: dict[str, Any] = {"front_share": 1.0, **extra}
    if exponent is not None:
        exposure |= {"front_exponent": exponent, "reference_front_people": 500}
    return scenario(
        [
            {
                "id": "a",
                "enlistment": {"model": "series", "recruits_per_day": 0.0},
                "initial": {"deployed": 1000},
            }
        ],
        horizon=100,
        losses=no_losses(killed_per_day=0.01, exposure=exposure),
    )


@pytest.mark.parametrize("exponent", [0.0, 2.0])
def test_losses_per_day_grow_as_a_power_of_the_front(exponent: float) -> None:
    """Losses per day ``k τ F_ref (F / F_ref)^α``: with ``α = 0`` a fixed 5 a day
    (``D(t) = 1000 − 5 (t + 1)``), with ``α = 2`` ``D' = D − k D² / F_ref``."""
    mf = mean_field(crowded_scenario(exponent))
    deployed = mf.strength[0, :, 0, DEPLOYED]
    d, expected = 1000.0, []
    for _ in range(100):
        d -= 0.01 * 500 * (d / 500) ** exponent
        expected.append(d)
    np.testing.assert_allclose(deployed, expected, rtol=1e-12)


def test_losses_per_day_stochastic_mean() -> None:
    """With ``α = 0`` the expected deaths are 5 a day whatever the number at the front:
    the ensemble's total over 100 days is within 4 standard errors of 500."""
    ens = ensemble(crowded_scenario(0.0), runs=256, seed=21)
    killed = ens.outflow[:, :, 0, cause("killed")].sum(axis=1)
    se = killed.std(ddof=1) / np.sqrt(killed.size)
    assert abs(killed.mean() - 500.0) < 4 * se


@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
def test_front_exponent_one_changes_nothing(mode: str) -> None:
    """``front_exponent: 1`` is the per-person hazard: bit-identical arrays."""
    a = run_block(crowded_scenario(None), seed=2, block=0, mode=mode, rows=4).output  # type: ignore[arg-type]
    b = run_block(crowded_scenario(1.0), seed=2, block=0, mode=mode, rows=4).output  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.strength, b.strength)
    np.testing.assert_array_equal(a.outflow, b.outflow)


def test_front_exponent_needs_a_reference() -> None:
    from forcegen.scenario.load import load_scenario_text

    text = """
name: t
start_date: 2023-01-01
horizon_days: 30
channels:
  - id: a
    enlistment: {model: series, recruits_per_day: 1}
losses:
  killed_per_day: 0.001
  wounded_per_day: 0
  missing_per_day: 0
  recovery: {mean_days: 10, return_probability: 0.5}
  exposure:
    front_exponent: 0
"""
    with pytest.raises(ScenarioError) as err:
        load_scenario_text(text, strict=False)
    assert err.value.problems[0].line == 14  # the front_exponent line
    assert "reference_front_people" in err.value.problems[0].message


def test_scenarios_without_the_new_fields_keep_their_hash() -> None:
    """The new fields at their defaults are left out of ``scenario_hash``: the covert
    built-in keeps the hash it had before they existed, and a wave sized in calls by
    default hashes like one that says so."""
    from forcegen.scenario.load import scenario_hash

    covert = load_scenario("russia-2022-covert")
    assert scenario_hash(covert) == (
        "49f5bae9df0cd1b95730f680470625d2375200138cb82208d91605b28c4d7cfd"
    )
    implicit = wave_scenario("calls")
    spec = implicit.model_dump(mode="json", by_alias=True, exclude_none=True)
    spec["events"][0].pop("size_counts")
    assert scenario_hash(Scenario.model_validate(spec)) == scenario_hash(implicit)
    assert scenario_hash(wave_scenario("arrivals")) != scenario_hash(implicit)
