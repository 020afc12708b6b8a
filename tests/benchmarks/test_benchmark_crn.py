"""benchmarks/crn.py: the variance-reduction factor as defined, on a small ensemble."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.crn import factor, markdown, measure


def test_factor_is_the_ratio_of_the_variances_of_the_differences() -> None:
    base = np.array([10.0, 12.0, 9.0, 11.0])
    crn = base + np.array([1.0, 1.5, 1.0, 0.5])
    ind = np.array([14.0, 8.0, 13.0, 9.0])
    want = np.var(ind - base, ddof=1) / np.var(crn - base, ddof=1)
    assert factor(base, crn, ind) == want
    assert factor(base, base, ind) == float("inf")


@pytest.mark.slow  # five ensembles of one block: a few seconds
def test_measure_reports_every_change_and_channel() -> None:
    """128 replicates (one block): every row present; the salary change cannot reach
    the series channel, so it is identical there, and common random numbers reduce
    the variance of the other differences (well above 1 even on one block)."""
    result = measure(128, sample=False)
    rows = {(r["change"], r["channel"], r["strength"]): r for r in result["rows"]}
    assert len(rows) == 8
    assert rows[("salary +10%", "contract", "deployed")]["factor"] == float("inf")
    for key in (
        ("salary +10%", "volunteers", "deployed"),
        ("killed +10%", "contract", "deployed"),
        ("killed +10%", "volunteers", "deployed"),
    ):
        assert rows[key]["factor"] > 10, (key, rows[key]["factor"])
    text = markdown(result)
    assert "| salary +10% | contract | deployed | identical | — |" in text
