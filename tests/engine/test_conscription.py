"""Conscription channels (docs/model.md, "Conscription"): exact mean-field closed forms
for the in-service stock, the conversion flow and discharges; the stochastic mode
against the same laws (binomial KS and means); conservation; streams.

The cohort laws, for ``N`` conscripts inducted on day ``d`` (age 0 at the end of it),
conversion ``c`` a day from service age ``F``, a service term ``S``, conversion ``q``
at term end and, for deployable conscripts, training ``L`` and a killed hazard ``h``:
on day ``d + j`` (``1 <= j < S``) the cohort holds
``N (1-c)^(j - max(F, 1) + 1, or 0 while j < F) (1-h)^max(0, j - L)`` people:
conversion applies after ageing to those at age ``>= F``, exits to those deployed at
the start of the day. On day ``d + S`` the survivors reach the term: ``q`` of them
convert, the rest are discharged (``expired``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from engine_helpers import ensemble, mean_field, no_losses, scenario
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from forcegen.engine.step import INFLOW_KINDS, TRANSITION_KINDS
from forcegen.scenario.model import EXIT_CAUSES, Scenario

CALLED = TRANSITION_KINDS.index("called")
CONVERTED = TRANSITION_KINDS.index("converted")
DEPLOYED_KIND = TRANSITION_KINDS.index("deployed")
TRANSFERRED_IN = INFLOW_KINDS.index("transferred")
EXPIRED = EXIT_CAUSES.index("expired")
TRANSFERRED = EXIT_CAUSES.index("transferred")
KILLED = EXIT_CAUSES.index("killed")


def conscripts(
    *,
    people: float = 1000,
    date: str = "2023-01-02",
    duration: int = 1,
    service: int = 30,
    per_day: float = 0.0,
    from_day: int = 0,
    at_end: float = 0.0,
    deployable: bool = False,
    into: str | None = "contract",
    **extra: Any,
) -> dict[str, Any]:
    """A conscription channel with one call-up."""
    block: dict[str, Any] = {
        "call_ups": [{"date": date, "people": people, "duration_days": duration}],
        "service_days": service,
        "deployable": deployable,
        "conversion_per_day": per_day,
        "conversion_from_day": from_day,
        "conversion_at_term_end": at_end,
    }
    if into is not None:
        block["convert_into"] = into
    return {
        "id": "conscripts",
        "kind": "conscription",
        "enlistment": {"model": "conscription"},
        "conscription": block,
        **extra,
    }


CONTRACT = {
    "id": "contract",
    "kind": "contract",
    "enlistment": {"model": "series", "recruits_per_day": 0},
    "training_days": 5,
}


def cohort(
    days: int,
    *,
    n: float,
    day0: int,
    c: float,
    from_day: int,
    service: int,
    h: float = 0.0,
    training: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Closed forms for one cohort inducted on ``day0``: end-of-day stock, conversions
    during service, killed, and the number reaching the term end, per day."""
    stock = np.zeros(days)
    converted = np.zeros(days)
    killed = np.zeros(days)
    at_term = np.zeros(days)
    alive = n
    stock[day0] = n
    for j in range(1, service + 1):
        day = day0 + j
        if day >= days:
            break
        deployed_at_start = training is not None and j - 1 >= training
        dead = alive * h if deployed_at_start else 0.0
        killed[day] = dead
        alive -= dead
        if j == service:
            at_term[day] = alive
            alive = 0.0
            break
        moved = alive * c if j >= from_day else 0.0
        converted[day] = moved
        alive -= moved
        stock[day] = alive
    return stock, converted, killed, at_term


@pytest.mark.parametrize(("from_day", "at_end"), [(0, 0.2), (10, 0.0), (29, 1.0)])
def test_mean_field_undeployed_cohort_matches_closed_form(from_day: int, at_end: float) -> None:
    scn = scenario(
        [conscripts(per_day=0.01, from_day=from_day, at_end=at_end), CONTRACT], horizon=40
    )
    mf = mean_field(scn)
    stock, conv, _, at_term = cohort(40, n=1000, day0=1, c=0.01, from_day=from_day, service=30)
    in_service = mf.strength[0, :, 0].sum(axis=-1)
    np.testing.assert_allclose(in_service, stock, rtol=1e-12, atol=1e-9)
    # Undeployed: everybody in service is counted under `training`; nobody deploys.
    np.testing.assert_allclose(mf.strength[0, :, 0, 0], stock, rtol=1e-12, atol=1e-9)
    assert mf.strength[0, :, 0, 1:].max() == 0.0
    assert mf.transition[0, :, 0, DEPLOYED_KIND].max() == 0.0
    # Called: the call-up, on its day.
    np.testing.assert_allclose(mf.transition[0, :, 0, CALLED], np.eye(40)[1] * 1000)
    # Converted: during service, plus q of those reaching the term; discharged: the rest.
    expected_conv = conv + at_end * at_term
    np.testing.assert_allclose(mf.transition[0, :, 0, CONVERTED], expected_conv, atol=1e-9)
    np.testing.assert_allclose(mf.outflow[0, :, 0, TRANSFERRED], expected_conv, atol=1e-9)
    np.testing.assert_allclose(mf.outflow[0, :, 0, EXPIRED], (1 - at_end) * at_term, atol=1e-9)
    # The total over the term, in one closed form.
    c, s, f = 0.01, 30, from_day
    during = 1000 * (1 - 0.99 ** (s - max(f, 1)))
    total = during + at_end * 1000 * 0.99 ** (s - max(f, 1))
    assert mf.transition[0, :, 0, CONVERTED].sum() == pytest.approx(total, rel=1e-12)
    assert c == 0.01
    # The contract channel gains each day's converts (transferred in, deployed after
    # its training, with no losses), so it holds their running sum.
    np.testing.assert_allclose(mf.inflow[0, :, 1, TRANSFERRED_IN], expected_conv, atol=1e-9)
    np.testing.assert_allclose(
        mf.strength[0, :, 1].sum(axis=-1), np.cumsum(expected_conv), atol=1e-9
    )


def test_mean_field_deployable_cohort_faces_hazards_after_training() -> None:
    losses = no_losses(killed_per_day=0.002)
    scn = scenario(
        [conscripts(per_day=0.003, deployable=True, training_days=10, service=60), CONTRACT],
        horizon=70,
        losses=losses,
    )
    mf = mean_field(scn)
    stock, conv, killed, at_term = cohort(
        70, n=1000, day0=1, c=0.003, from_day=0, service=60, h=0.002, training=10
    )
    np.testing.assert_allclose(mf.strength[0, :, 0].sum(axis=-1), stock, rtol=1e-12)
    np.testing.assert_allclose(mf.outflow[0, :, 0, KILLED], killed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mf.outflow[0, :, 0, EXPIRED], at_term, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mf.transition[0, :, 0, CONVERTED], conv, rtol=1e-12, atol=1e-12)
    # Deployed from the end of day 1 + 10 (graduation), in training before.
    deployed = mf.strength[0, :, 0, 1]
    assert deployed[:11].max() == 0.0
    assert deployed[11] == pytest.approx(stock[11])


def test_undeployed_conscripts_take_no_losses() -> None:
    losses = no_losses(killed_per_day=0.01, deserted_per_day=0.01)
    scn = scenario([conscripts(into=None), CONTRACT], horizon=40, losses=losses)
    mf = mean_field(scn)
    assert mf.outflow[0, :, 0].sum() == pytest.approx(1000.0)  # all discharged at term end
    assert mf.outflow[0, 31, 0, EXPIRED] == pytest.approx(1000.0)


def test_call_up_is_spread_evenly_and_in_whole_people() -> None:
    scn = scenario([conscripts(people=1001, duration=4, into=None), CONTRACT], horizon=10)
    mf = mean_field(scn)
    np.testing.assert_allclose(mf.transition[0, 1:5, 0, CALLED], 1001 / 4)
    st_ = ensemble(scn, runs=3, seed=1)
    called = st_.transition[:, :, 0, CALLED]
    np.testing.assert_array_equal(called[:, 1:5], [[250, 250, 250, 251]] * 3)
    assert called.sum(axis=1).tolist() == [1001] * 3
    np.testing.assert_array_equal(st_.inflow[:, :, 0, 0], called)


def test_call_up_is_capped_by_the_pool() -> None:
    channel = conscripts(people=1000, duration=10, into=None, pool="youth")
    pools = [{"id": "youth", "initial_people": 250}]
    scn = scenario([channel, CONTRACT], horizon=15, pools=pools)
    for ens in (mean_field(scn), ensemble(scn, runs=2, seed=3)):
        called = ens.transition[:, :, 0, CALLED]
        assert called.sum(axis=1).tolist() == [250.0] * called.shape[0]
        assert ens.pool[:, -1, 0].tolist() == [0.0] * called.shape[0]


def test_stochastic_cohort_is_binomial() -> None:
    """Day ``1 + j`` stock of a cohort of N is Binomial(N, (1-c)^j) (KS and mean); the
    total converted is Binomial(N, 1 - (1-c)^(S-1) (1-q))."""
    n, c, q, s = 400, 0.02, 0.3, 30
    scn = scenario([conscripts(people=n, per_day=c, at_end=q, service=s), CONTRACT], horizon=35)
    ens = ensemble(scn, runs=512, seed=11)
    for j in (5, 20, 29):
        stock = ens.strength[:, 1 + j, 0].sum(axis=-1)
        p = (1 - c) ** j
        assert abs(stock.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / 512)
        assert _binomial_fit(stock, n, p) > 1e-3
    converted = ens.transition[:, :, 0, CONVERTED].sum(axis=1)
    p = 1 - (1 - c) ** (s - 1) * (1 - q)
    assert abs(converted.mean() - n * p) < 4 * np.sqrt(n * p * (1 - p) / 512)
    assert _binomial_fit(converted, n, p) > 1e-3
    np.testing.assert_array_equal(
        converted + ens.outflow[:, :, 0, EXPIRED].sum(axis=1), np.full(512, n)
    )
    # What leaves the conscripts arrives in the contract channel, day by day.
    np.testing.assert_array_equal(
        ens.outflow[:, :, 0, TRANSFERRED], ens.inflow[:, :, 1, TRANSFERRED_IN]
    )


def _binomial_fit(sample: Any, n: int, p: float) -> float:
    """χ² p-value of integer ``sample`` against Binomial(n, p), cells of expected count
    at least 5 (tails pooled). Not KS: scipy's KS against a discrete distribution
    function counts the whole point mass at a tied value against the sample and
    rejects samples drawn from the distribution itself."""
    ks = np.arange(n + 1)
    expected = stats.binom.pmf(ks, n, p) * len(sample)
    observed = np.bincount(np.asarray(sample, dtype=np.int64), minlength=n + 1).astype(float)
    keep = expected >= 5
    exp = np.append(expected[keep], expected[~keep].sum())
    obs = np.append(observed[keep], observed[~keep].sum())
    return float(stats.chisquare(obs, exp).pvalue)


def _conserved(ens: Any, initial: list[float]) -> None:
    """Day by day and per channel: change in people = people in - people out."""
    stock = ens.strength.sum(axis=-1)  # (R, T, C)
    start = np.broadcast_to(np.asarray(initial), (stock.shape[0], 1, stock.shape[2]))
    change = np.diff(stock, axis=1, prepend=start)
    net = ens.inflow.sum(axis=-1) - ens.outflow.sum(axis=-1)
    np.testing.assert_allclose(change, net, atol=1e-6)


def _full_scenario(deployable: bool) -> Scenario:
    losses = no_losses(killed_per_day=0.001, wounded_per_day=0.002, deserted_per_day=0.0005)
    channel = conscripts(
        people=3000,
        duration=20,
        service=60,
        per_day=0.004,
        from_day=15,
        at_end=0.25,
        deployable=deployable,
        training_days=10 if deployable else 0,
        initial={"training": 500},
    )
    contract = {
        **CONTRACT,
        "contract": {"term_days": 50, "renewal_probability": 0.5},
        "initial": {"deployed": 800},
    }
    return scenario([channel, contract], horizon=120, losses=losses)


@pytest.mark.parametrize("deployable", [False, True])
def test_people_are_conserved_with_conscripts(deployable: bool) -> None:
    scn = _full_scenario(deployable)
    _conserved(mean_field(scn), [500.0, 800.0])
    _conserved(ensemble(scn, runs=8, seed=5), [500.0, 800.0])


@pytest.mark.parametrize("deployable", [False, True])
def test_mean_field_is_the_ensemble_mean(deployable: bool) -> None:
    scn = _full_scenario(deployable)
    mf = mean_field(scn)
    ens = ensemble(scn, runs=256, seed=9)
    for series in ("strength", "transition"):
        got = getattr(ens, series)[:, -1].sum(axis=0) / 256
        want = getattr(mf, series)[0, -1]
        sd = getattr(ens, series)[:, -1].std(axis=0) / np.sqrt(256)
        assert np.all(np.abs(got - want) <= 5 * sd + 0.5), series


def test_conscription_streams_leave_other_channels_alone() -> None:
    """Common random numbers: a conscription channel that converts nobody leaves a
    contract channel's replicates exactly as they were without it."""
    losses = no_losses(killed_per_day=0.001)
    contract = {**CONTRACT, "enlistment": {"model": "series", "recruits_per_day": 20}}
    alone = scenario([contract], horizon=60, losses=losses)
    both = scenario([contract, conscripts(into=None)], horizon=60, losses=losses)
    a = ensemble(alone, runs=4, seed=2)
    b = ensemble(both, runs=4, seed=2)
    np.testing.assert_array_equal(a.strength[:, :, 0], b.strength[:, :, 0])
    np.testing.assert_array_equal(a.outflow[:, :, 0], b.outflow[:, :, 0])


def test_same_seed_same_replicates() -> None:
    scn = _full_scenario(True)
    a = ensemble(scn, runs=4, seed=21)
    b = ensemble(scn, runs=4, seed=21)
    np.testing.assert_array_equal(a.transition, b.transition)
    np.testing.assert_array_equal(a.strength, b.strength)


def test_stop_loss_does_not_hold_conscripts() -> None:
    events = [{"type": "stop_loss", "date": "2023-01-01", "active": True}]
    scn = scenario([conscripts(into=None), CONTRACT], horizon=40, events=events)
    mf = mean_field(scn)
    assert mf.outflow[0, 31, 0, EXPIRED] == pytest.approx(1000.0)


@settings(max_examples=25, deadline=None)
@given(
    c=st.floats(0.0, 0.2),
    q=st.floats(0.0, 1.0),
    service=st.integers(2, 40),
    from_day=st.integers(0, 45),
)
def test_mean_field_conversions_follow_the_closed_form(
    c: float, q: float, service: int, from_day: int
) -> None:
    """Property: for any rates, term and start of conversion, the total converted is
    ``N [1 - (1-c)^m] + q N (1-c)^m`` with ``m`` the days of service on which
    conversion applies, ``m = max(0, S - max(F, 1))``, and the rest is discharged."""
    scn = scenario(
        [conscripts(per_day=c, at_end=q, service=service, from_day=from_day), CONTRACT],
        horizon=service + 3,
    )
    mf = mean_field(scn)
    m = max(0, service - max(from_day, 1))
    kept = (1 - c) ** m
    converted = mf.transition[0, :, 0, CONVERTED].sum()
    assert converted == pytest.approx(1000 * (1 - kept) + q * 1000 * kept, rel=1e-9, abs=1e-9)
    discharged = mf.outflow[0, :, 0, EXPIRED].sum()
    assert converted + discharged == pytest.approx(1000.0, rel=1e-12)


def test_conscription_series_reach_results_and_exports(tmp_path: Any) -> None:
    """Called, in service, converted and discharged, as a user reads them: transition
    kinds ``called`` and ``converted``, strength of the channel, outflow ``expired``; in
    tidy rows and in the quantile table an export writes."""
    from forcegen.results.export import quantile_frame
    from forcegen.sim import Sim

    scn = _full_scenario(False)
    result = Sim(scn, runs=4, seed=1, mode="mean-field").run()
    called = result.total("transition", channels="conscripts", categories="called")
    converted = result.total("transition", channels="conscripts", categories="converted")
    assert called.sum(axis=1) == pytest.approx([3000.0] * 4)
    assert converted.sum() > 0
    tidy = result.to_pandas("transition", channels="conscripts")
    kinds = set(tidy.loc[tidy["value"] > 0, "kind"].astype(str))
    assert {"called", "converted"} <= kinds
    frame = quantile_frame(result)
    assert frame.shape[0] > 0
    text = frame.to_csv()
    assert "called" in text
    assert "converted" in text
