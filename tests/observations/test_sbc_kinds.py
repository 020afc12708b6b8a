"""Simulation-based calibration of the ledger SMC with the observation kinds the first
SBC (test_inference.py) does not cover: a **sum** over series (recruits + deaths), a
**share** (deaths over recruits), a **flow between two dates** of a named count with
an unknown fraction, and **one-sided** figures ("more than …").

A one-sided figure is simulated as a censored report: the source's figure is drawn
from the observation model and only whether it lies above or below a fixed threshold
is kept (``lower``: reported ≥ threshold, ``upper``: reported ≤ it) — the event whose
probability the likelihood uses — so the interval coverage stays exact.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from observation_cases import HAZARD, LAMBDA, ledger_text, row, scenario, write

from forcegen.observations.check import PosteriorDraws, predictive_draws
from forcegen.observations.ledger import LEDGER_COLUMNS, load_ledger
from forcegen.observations.mapping import QuantityMap
from forcegen.observations.measure import Resolved, resolve
from forcegen.observations.smc import smc_calibrate
from forcegen.sim import Sim

HORIZON = 200
ROWS = [
    row(
        id="sum1",
        quantity="recruits_and_deaths",
        period_start="2022-03-01",
        period_end="2022-06-30",
        verification="estimate",
    ),
    row(
        id="share1",
        quantity="deaths_share",
        period_start="2022-03-01",
        period_end="2022-08-31",
        verification="estimate",
        unit="percent",
    ),
    row(
        id="flow1",
        quantity="deaths_period",
        period_start="2022-05-01",
        period_end="2022-07-31",
        verification="independent_count",
    ),
    row(
        id="flow2",
        quantity="deaths_period",
        period_start="2022-08-01",
        period_end="2022-09-15",
        verification="independent_count",
    ),
    row(id="one1", quantity="deployed", date="2022-07-15", bound="lower"),
    row(id="one2", quantity="deployed", date="2022-09-10", bound="lower"),
]


def _resolved(tmp_path: Path, mapping: QuantityMap) -> Resolved:
    text = ledger_text(ROWS, (*LEDGER_COLUMNS, "bound"))
    ledger = load_ledger(write(tmp_path / "kinds.csv", text))
    resolved = resolve(ledger, scenario(HORIZON), mapping)
    assert len(resolved.measurements) == len(ROWS), [u.reason for u in resolved.unusable]
    return resolved


def _synthetic(resolved: Resolved, u: dict[str, float], seed: int) -> tuple[Resolved, float]:
    """Values drawn from the observation model at quantiles ``u``; one-sided rows
    censored at the prior median's truth. Returns the ledger and the count fraction."""
    truths = []
    for quantiles in (u, {LAMBDA: 0.5, HAZARD: 0.5}):
        result = Sim(
            resolved.scenario,
            runs=1,
            mode="mean-field",
            sample_parameters=False,
            given_quantiles={k: np.array([v]) for k, v in quantiles.items()},
        ).run()
        truths.append(resolved.truth().flows(result))
    rng = np.random.default_rng([seed, 15])
    fu = rng.random((1, len(resolved.groups)))
    no_offsets = np.zeros((1, 0))
    drawn = predictive_draws(resolved, truths[0], rng, posterior=PosteriorDraws(fu, no_offsets))
    # Thresholds: the median report at the prior's centre (factor and error at their
    # medians: estimates have factor 1, so the threshold is that truth).
    centre = predictive_draws(
        resolved,
        truths[1],
        np.random.default_rng(0),
        posterior=PosteriorDraws(np.full((1, len(resolved.groups)), 0.5), no_offsets),
    )
    ms = []
    for i, m in enumerate(resolved.measurements):
        value = float(drawn[0, i])
        if m.row.bound == "point":
            ms.append(dataclasses.replace(m, observed=value))
            continue
        threshold = float(centre[0, i])
        side = "lower" if value >= threshold else "upper"
        ms.append(
            dataclasses.replace(m, observed=threshold, row=dataclasses.replace(m.row, bound=side))
        )
    count = next(m for m in ms if m.model.kind == "count")
    fraction = count.model.low + (count.model.high - count.model.low) * fu[0, 0]
    return dataclasses.replace(resolved, measurements=tuple(ms)), fraction


def _sbc(tmp_path: Path, mapping: QuantityMap, repeats: int, particles: int) -> dict[str, int]:
    base = _resolved(tmp_path, mapping)
    hits = {"lambda": 0, "hazard": 0, "fraction": 0}
    for rep in range(repeats):
        u = np.random.default_rng([2027, rep]).random(2)
        resolved, fraction = _synthetic(base, {LAMBDA: u[0], HAZARD: u[1]}, rep)
        post = smc_calibrate(
            resolved,
            params=[LAMBDA, HAZARD],
            particles=particles,
            budget=8000,
            seed=rep,
            discrepancy=False,
        )
        assert post.diagnostics.final_temperature == 1.0, post.diagnostics
        for name, j, true in (("lambda", 0, u[0]), ("hazard", 1, u[1])):
            q05, q95 = np.quantile(post.particles[:, j], [0.05, 0.95])
            hits[name] += int(q05 <= true <= q95)
        count = next(m for m in resolved.measurements if m.model.kind == "count")
        col = 2 + resolved.groups.index(count.group)
        f = count.model.low + (count.model.high - count.model.low) * post.particles[:, col]
        q05, q95 = np.quantile(f, [0.05, 0.95])
        hits["fraction"] += int(q05 <= fraction <= q95)
    return hits


def test_the_synthetic_ledger_holds_every_kind(tmp_path: Path, mapping: QuantityMap) -> None:
    resolved, _ = _synthetic(_resolved(tmp_path, mapping), {LAMBDA: 0.2, HAZARD: 0.9}, 0)
    measures = {m.spec.measure for m in resolved.measurements}
    assert {"flow", "share", "stock"} <= measures
    assert any(len(m.of) == 2 for m in resolved.measurements)  # the sum
    assert {m.row.bound for m in resolved.measurements} - {"point"}  # one-sided
    share = next(m for m in resolved.measurements if m.spec.measure == "share")
    assert 0 < share.observed < 1


def test_sbc_with_sums_shares_and_one_sided_figures(tmp_path: Path, mapping: QuantityMap) -> None:
    # 8 repeats: for exact 90 % intervals P(hits <= 4 | n = 8) = 0.5 %.
    hits = _sbc(tmp_path, mapping, 8, particles=48)
    assert all(h >= 5 for h in hits.values()), hits


@pytest.mark.slow
def test_sbc_with_sums_shares_and_one_sided_figures_100_repeats(
    tmp_path: Path, mapping: QuantityMap
) -> None:
    # A 99 % binomial band for p = 0.9, n = 100 is 82..97.
    hits = _sbc(tmp_path, mapping, 100, particles=64)
    assert all(82 <= h <= 97 for h in hits.values()), hits
