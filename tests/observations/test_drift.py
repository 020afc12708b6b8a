"""A drifting count fraction: factor = f0 × exp(drift × years since the reference).

Exact checks on the closed-form queue scenario: a synthetic truth observed through a
known drift is recovered by ``check``'s percentile (and missed without the drift);
``factor_matrix`` evaluates the closed form; a drift of 0 leaves every result
bit-identical; the SMC infers an unknown drift; the mapping locates bad drifts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from observation_cases import LAMBDA, MAPPING, ledger_text, row, scenario, write

from forcegen.errors import ScenarioError
from forcegen.observations.check import check, factor_matrix
from forcegen.observations.ledger import load_ledger
from forcegen.observations.mapping import QuantityMap, load_mapping
from forcegen.observations.measure import Resolved, resolve
from forcegen.observations.smc import smc_calibrate
from forcegen.results.result import Result
from forcegen.sim import Sim

HORIZON = 700
F0 = 0.6
DRIFT = -0.4
"""The named count finds 60 % at the reference (2022-01-01, the test war start) and
loses 40 % a year on the log scale: a strongly drifting count, so that a missed
drift is plain."""
ENDS = ("2022-04-30", "2022-09-30", "2023-03-31", "2023-09-30", "2024-01-15")


def _mapping(tmp_path: Path, count: str) -> QuantityMap:
    """The test mapping with the named count's model replaced by ``count``."""
    shipped = "independent_count: {kind: count, range: [0.5, 0.9], log_sd: 0.05}"
    assert shipped in MAPPING
    text = MAPPING.replace(shipped, f"independent_count: {{{count}}}")
    name = f"m{len(list(tmp_path.glob('m*.yaml')))}.yaml"
    return load_mapping(write(tmp_path / name, text))


@pytest.fixture(scope="module")
def truth_run() -> Result:
    """One mean-field replicate at the expected values: the truth is exact."""
    return Sim(scenario(HORIZON), runs=1, mode="mean-field", sample_parameters=False).run()


def _rows() -> list[dict[str, str]]:
    return [
        row(
            id=f"n{i}",
            quantity="deaths_period",
            period_start="2022-03-01",
            period_end=end,
            verification="independent_count",
        )
        for i, end in enumerate(ENDS)
    ]


def _observed_through(resolved: Resolved, result: Result, drift: float) -> Resolved:
    """``resolved`` with each figure set to exactly F0 × exp(drift × years) × truth."""
    truth = resolved.truth()
    values = truth.finish(truth.flows(result))[0]
    ms = tuple(
        dataclasses.replace(m, observed=float(F0 * math.exp(drift * m.years) * v))
        for m, v in zip(resolved.measurements, values, strict=True)
    )
    return dataclasses.replace(resolved, measurements=ms)


def _resolve(tmp_path: Path, mapping: QuantityMap) -> Resolved:
    ledger = load_ledger(write(tmp_path / "ledger.csv", ledger_text(_rows())))
    return resolve(ledger, scenario(HORIZON), mapping)


def test_years_are_counted_from_the_reference_to_the_period_end(tmp_path: Path) -> None:
    mapping = _mapping(tmp_path, f"kind: count, range: [{F0}, {F0}], log_sd: 0.02")
    resolved = _resolve(tmp_path, mapping)
    for m, end in zip(resolved.measurements, ENDS, strict=True):
        days = (dt.date.fromisoformat(end) - dt.date(2022, 1, 1)).days
        assert m.years == pytest.approx(days / 365.25, abs=1e-12)
    moved = load_mapping(
        write(
            tmp_path / "moved.yaml",
            MAPPING.replace(
                "war_start: 2022-01-01", "war_start: 2022-01-01\ndrift_reference: 2023-01-01"
            ),
        )
    )
    first = _resolve(tmp_path, moved).measurements[0]
    assert first.years == pytest.approx(-(dt.date(2023, 1, 1) - dt.date(2022, 4, 30)).days / 365.25)


def test_a_known_drift_is_recovered_by_the_percentile_and_missed_without_it(
    tmp_path: Path, truth_run: Result
) -> None:
    drifting = _mapping(
        tmp_path, f"kind: count, range: [{F0}, {F0}], log_sd: 0.02, drift: [{DRIFT}, {DRIFT}]"
    )
    resolved = _observed_through(_resolve(tmp_path, drifting), truth_run, DRIFT)
    assert resolved.groups == []  # a point factor and a point drift: nothing unknown
    table = check(truth_run, resolved, seed=2).table
    # Each figure is the median of its predictive distribution (truth × factor ×
    # log-normal error): its percentile is 0.5 up to the draws' Monte-Carlo error
    # (2,000 draws: sd ≈ 0.011).
    assert np.all(np.abs(table["percentile"].to_numpy() - 0.5) < 0.04), table["percentile"]
    assert table["inside50"].all()
    # The same figures against a constant fraction (drift 0): the later ones, which
    # the count found ever less of, fall below the band.
    constant = _mapping(tmp_path, f"kind: count, range: [{F0}, {F0}], log_sd: 0.02")
    same = dataclasses.replace(
        _resolve(tmp_path, constant),
        measurements=tuple(
            dataclasses.replace(c, observed=d.observed)
            for c, d in zip(
                _resolve(tmp_path, constant).measurements, resolved.measurements, strict=True
            )
        ),
    )
    missed = check(truth_run, same, seed=2).table
    assert missed["percentile"].iloc[-1] == 0.0
    assert not missed["inside90"].iloc[-1]
    assert "drift -0.4" in table["model"].iloc[0]


def test_an_uncertain_drift_is_one_unknown_and_factor_matrix_is_the_closed_form(
    tmp_path: Path,
) -> None:
    mapping = _mapping(tmp_path, "kind: count, range: [0.4, 0.8], log_sd: 0.05, drift: [-0.5, 0.1]")
    resolved = _resolve(tmp_path, mapping)
    assert resolved.groups == ["independent_count:deaths", "independent_count:deaths~drift"]
    fu = np.array([[0.0, 0.0], [0.25, 0.5], [1.0, 1.0]])
    got = factor_matrix(resolved.measurements, resolved.groups, fu)
    for d, (uf, ud) in enumerate(fu):
        f0 = 0.4 + 0.4 * uf
        drift = -0.5 + 0.6 * ud
        want = [f0 * math.exp(drift * m.years) for m in resolved.measurements]
        np.testing.assert_allclose(got[d], want, rtol=1e-13)


def test_an_uncertain_drift_centres_the_figure_at_its_median(
    tmp_path: Path, truth_run: Result
) -> None:
    # Drift uniform on [-0.8, 0]: the median factor is F0 × exp(-0.4 × years) (the
    # factor is monotone in the drift), so figures made with the median drift sit at
    # the median of their predictive draws.
    mapping = _mapping(
        tmp_path, f"kind: count, range: [{F0}, {F0}], log_sd: 0.02, drift: [-0.8, 0]"
    )
    resolved = _observed_through(_resolve(tmp_path, mapping), truth_run, -0.4)
    table = check(truth_run, resolved, seed=5).table
    assert np.all(np.abs(table["percentile"].to_numpy() - 0.5) < 0.04), table["percentile"]
    # The band widens with the years from the reference: the drift's spread grows.
    width = np.log(table["q95"] / table["q05"]).to_numpy()
    assert np.all(np.diff(width) > 0)


def test_a_drift_of_zero_leaves_every_result_bit_identical(tmp_path: Path) -> None:
    plain = _mapping(tmp_path, "kind: count, range: [0.5, 0.9], log_sd: 0.05")
    zero = _mapping(tmp_path, "kind: count, range: [0.5, 0.9], log_sd: 0.05, drift: [0, 0]")
    result = Sim(scenario(HORIZON), runs=20, seed=4).run()
    a, b = _resolve(tmp_path, plain), _resolve(tmp_path, zero)
    assert a.groups == b.groups == ["independent_count:deaths"]
    first, second = check(result, a, seed=9), check(result, b, seed=9)
    pd.testing.assert_frame_equal(first.table, second.table, check_exact=True)
    pd.testing.assert_frame_equal(first.fans, second.fans, check_exact=True)


def test_smc_infers_an_unknown_drift(tmp_path: Path, truth_run: Result) -> None:
    mapping = _mapping(
        tmp_path, f"kind: count, range: [{F0}, {F0}], log_sd: 0.05, drift: [-0.8, 0.4]"
    )
    resolved = _observed_through(_resolve(tmp_path, mapping), truth_run, DRIFT)
    post = smc_calibrate(
        resolved, params=[LAMBDA], particles=64, moves=2, budget=4000, seed=3, discrepancy=False
    )
    assert post.diagnostics.final_temperature == 1.0
    assert post.columns == [LAMBDA, "factor:independent_count:deaths~drift"]
    drift = -0.8 + 1.2 * post.particles[:, 1]
    q05, q95 = np.quantile(drift, [0.05, 0.95])
    assert q05 <= DRIFT <= q95
    assert q95 - q05 < 0.25 * 1.2  # the figures pinned it down


def test_bad_drifts_are_located(tmp_path: Path) -> None:
    text = (
        MAPPING.replace(
            "independent_count: {kind: count, range: [0.5, 0.9], log_sd: 0.05}",
            "independent_count: {kind: count, range: [0.5, 0.9], log_sd: 0.05, drift: [0.2, -0.2]}",
        )
        .replace(
            "estimate: {kind: estimate, log_sd: 0.3}",
            "estimate: {kind: estimate, log_sd: 0.3, drift: [0, 0.1]}",
        )
        .replace(
            "deaths_per_day: {measure: rate, per: day,",
            "deaths_per_day: {drift: [-3, 0], why: x, measure: rate, per: day,",
        )
    )
    with pytest.raises(ScenarioError) as caught:
        load_mapping(write(tmp_path / "bad.yaml", text))
    messages = str(caught.value)
    assert "models.independent_count.drift" in messages
    assert "LOW <= HIGH" in messages
    assert "an estimate has no factor to drift" in messages
    assert "quantities.deaths_per_day.drift" in messages
    assert "at most 1" in messages
