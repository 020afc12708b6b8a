"""Tempered SMC on a ledger: recovery, diagnostics, and simulation-based calibration
with the new observation kinds (flows between dates, rates, shares, stocks,
named counts with an unknown fraction)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from observation_cases import LAMBDA, ledger_text, row, scenario, write

from forcegen.observations.check import PosteriorDraws, predictive_draws
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import QuantityMap
from forcegen.observations.measure import Resolved, resolve
from forcegen.observations.smc import smc_calibrate
from forcegen.sim import Sim

HORIZON = 240
ROWS = [
    row(
        id="c1",
        quantity="deaths_period",
        period_start="2022-03-01",
        period_end="2022-05-31",
        verification="independent_count",
    ),
    row(
        id="c2",
        quantity="deaths_period",
        period_start="2022-06-01",
        period_end="2022-08-31",
        verification="independent_count",
    ),
    row(id="r1", quantity="deaths_per_day", period_start="2022-07-01", period_end="2022-07-31"),
    row(id="s1", quantity="deployed", date="2022-06-30"),
    row(id="s2", quantity="deployed", date="2022-10-15"),
    row(
        id="y1",
        quantity="recruits_year",
        period_start="2022-03-01",
        period_end="2022-09-30",
        verification="official_claim",
    ),
]


def _resolved(tmp_path: Path, mapping: QuantityMap) -> Resolved:
    ledger = load_ledger(write(tmp_path / "l.csv", ledger_text(ROWS)))
    return resolve(ledger, scenario(HORIZON), mapping)


def _synthetic(resolved: Resolved, u: dict[str, float], seed: int) -> tuple[Resolved, float]:
    """The ledger with values drawn from the observation model at quantiles ``u`` (λ,
    h) and a drawn count fraction and claim factor; returns it and the fraction."""
    result = Sim(
        resolved.scenario,
        runs=1,
        mode="mean-field",
        sample_parameters=False,
        given_quantiles={k: np.array([v]) for k, v in u.items()},
    ).run()
    rng = np.random.default_rng([seed, 5])
    fu = rng.random((1, len(resolved.groups)))
    draws = predictive_draws(
        resolved,
        resolved.truth().flows(result),
        rng,
        posterior=PosteriorDraws(fu, np.zeros((1, 0))),
    )[0]
    ms = tuple(
        dataclasses.replace(m, observed=float(v))
        for m, v in zip(resolved.measurements, draws, strict=True)
    )
    count = next(m for m in ms if m.model.kind == "count")
    fraction = count.model.low + (count.model.high - count.model.low) * fu[0, 0]
    return dataclasses.replace(resolved, measurements=ms), fraction


def _lambda(u: float) -> float:
    return 20 + 60 * u


def test_smc_recovers_the_recruitment_rate_and_reaches_full_temperature(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    resolved, _ = _synthetic(
        _resolved(tmp_path, mapping), {LAMBDA: 0.6, "losses.killed_per_day": 0.4}, 3
    )
    post = smc_calibrate(
        resolved,
        params=[LAMBDA, "losses.killed_per_day"],
        particles=64,
        moves=2,
        budget=4000,
        seed=1,
        discrepancy=False,
    )
    diag = post.diagnostics
    assert diag.final_temperature == 1.0
    assert diag.passed, diag.failures()
    lam = _lambda(post.particles[:, 0])
    q05, q95 = np.quantile(lam, [0.05, 0.95])
    assert q05 <= _lambda(0.6) <= q95
    assert q95 - q05 < 0.5 * 60  # informative: the data narrowed the prior a lot


def test_a_spent_budget_is_a_failed_diagnostic(tmp_path: Path, mapping: QuantityMap) -> None:
    resolved, _ = _synthetic(_resolved(tmp_path, mapping), {LAMBDA: 0.6}, 4)
    post = smc_calibrate(resolved, params=[LAMBDA], particles=32, moves=2, budget=100, seed=0)
    assert post.diagnostics.final_temperature > 1
    assert not post.diagnostics.passed
    assert any("budget" in f for f in post.diagnostics.failures())


def _sbc(tmp_path: Path, mapping: QuantityMap, repeats: int) -> dict[str, int]:
    base = _resolved(tmp_path, mapping)
    hits = {"lambda": 0, "hazard": 0, "fraction": 0}
    for rep in range(repeats):
        u = np.random.default_rng([2026, rep]).random(2)
        resolved, fraction = _synthetic(base, {LAMBDA: u[0], "losses.killed_per_day": u[1]}, rep)
        post = smc_calibrate(
            resolved,
            params=[LAMBDA, "losses.killed_per_day"],
            particles=64,
            budget=6000,
            seed=rep,
            discrepancy=False,
        )
        assert post.diagnostics.final_temperature == 1.0
        for name, j, true in (("lambda", 0, u[0]), ("hazard", 1, u[1])):
            q05, q95 = np.quantile(post.particles[:, j], [0.05, 0.95])
            hits[name] += int(q05 <= true <= q95)
        count = next(m for m in resolved.measurements if m.model.kind == "count")
        col = 2 + resolved.groups.index(count.group)
        f = count.model.low + (count.model.high - count.model.low) * post.particles[:, col]
        q05, q95 = np.quantile(f, [0.05, 0.95])
        hits["fraction"] += int(q05 <= fraction <= q95)
    return hits


def test_sbc_with_the_new_observation_kinds_covers_at_about_90_percent(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    # 10 repeats: for exact 90 % intervals P(hits <= 5) = 0.16 %.
    hits = _sbc(tmp_path, mapping, 10)
    assert all(h >= 6 for h in hits.values()), hits


@pytest.mark.slow
def test_sbc_with_the_new_observation_kinds_100_repeats(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    # A 99 % binomial band for p = 0.9, n = 100 is 82..97.
    hits = _sbc(tmp_path, mapping, 100)
    assert all(82 <= h <= 97 for h in hits.values()), hits


def test_a_series_whose_steps_vary_apart_is_refused_before_any_simulation() -> None:
    """Its steps draw their own quantiles from the seed: the likelihood of a particle
    would change from one simulation to the next."""
    from observation_cases import PUBLIC_RECORD

    from forcegen.errors import UsageError
    from forcegen.observations.mapping import load_mapping
    from forcegen.observations.smc import calibratable
    from forcegen.scenario.walk import iter_params
    from forcegen.sim import load

    scen = load("russia-2022-2026")
    params = {ref.name: ref.param for ref in iter_params(scen)}
    apart = "channels.prisoners-mod.enlistment.recruits_per_day"
    assert not calibratable(params[apart])
    assert calibratable(params["losses.killed_per_day"])
    together = "channels.wagner-mercenaries.enlistment.recruits_per_day"
    assert params[together].is_series
    assert calibratable(params[together])
    ledger = load_ledger(PUBLIC_RECORD)
    resolved = resolve(ledger, scen, load_mapping(None))
    with pytest.raises(UsageError, match="vary apart") as info:
        smc_calibrate(resolved, params=["losses.killed_per_day", apart], budget=10**9)
    assert apart in str(info.value)
