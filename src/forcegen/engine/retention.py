"""Pay-driven retention: renewal and early termination responding to pay.

A light form of the annualised-cost-of-leaving idea of the military retention
literature, taken here as a modelling assumption (docs/model.md, "Pay-driven
retention"): a soldier's inclination to stay is an index

    v(t, a) = β_pay · ln(salary(t) / wage(t)) − β_arrears · (1 − paid_share(t))
              + β_service · a / 365.25,

with ``a`` the days served in the current contract. At term end the odds of renewing
are the contract's base odds times ``exp(v)``; each day, the probability of early
termination is the base probability times ``exp(−v)``. With every coefficient zero,
the base constants (or dated series) are used unchanged.

Pay and arrears change only with dated series and events, so they are folded into
the channel's renewal and early-termination schedules at compile time. The service
term varies with age: at term end ``a`` is the term; for early termination it gives
each age slot its own factor (:func:`per_slot_segments`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DAYS_PER_YEAR",
    "early_termination",
    "pay_index",
    "per_slot_segments",
    "renewal",
    "service_factor",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAYS_PER_YEAR = 365.25
"""Days in an average year: service in days becomes years for ``β_service``."""


def pay_index(
    salary: FloatArray,
    wage: FloatArray,
    paid_share: FloatArray,
    pay_coefficient: FloatArray,
    arrears_coefficient: FloatArray,
) -> FloatArray:
    """``β_pay · ln(salary / wage) − β_arrears · (1 − paid_share)``, elementwise.

    A zero coefficient contributes nothing whatever the ratio (even a zero salary); a
    positive one with a zero salary gives ``−inf`` (nobody renews, everyone eligible
    terminates).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(wage > 0, salary / np.where(wage > 0, wage, 1.0), np.inf)
        log_ratio = np.log(np.maximum(ratio, 0.0))
        pay = np.where(pay_coefficient == 0, 0.0, pay_coefficient * log_ratio)
    arrears = arrears_coefficient * (1.0 - paid_share)
    return np.asarray(np.where(np.isnan(pay), 0.0, pay) - arrears, dtype=np.float64)


def renewal(base: FloatArray, index: FloatArray) -> FloatArray:
    """Renewal probability with odds ``base / (1 − base) · exp(index)``.

    Written as ``base·e / (1 − base + base·e)`` so that ``base`` 0 or 1 stays 0 or 1.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(index)
        p = base * e / (1.0 - base + base * e)
        p = np.where(np.isinf(e), np.where(base > 0, 1.0, 0.0), p)
    return np.asarray(np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0), dtype=np.float64)


def early_termination(base: FloatArray, index: FloatArray) -> FloatArray:
    """Daily early-termination probability ``min(base · exp(−index), 1)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        h = base * np.exp(-index)
    h = np.where(base == 0, 0.0, h)
    return np.asarray(np.clip(np.nan_to_num(h, nan=1.0), 0.0, 1.0), dtype=np.float64)


def service_factor(coefficient: FloatArray, age_days: FloatArray) -> FloatArray:
    """``exp(−β_service · a / 365.25)``: how service scales early termination."""
    with np.errstate(over="ignore"):
        return np.asarray(np.exp(-coefficient * age_days / DAYS_PER_YEAR), dtype=np.float64)


def per_slot_segments(
    segment: IntArray,
    multiplier: FloatArray,
    eligible: FloatArray,
    deployed: FloatArray,
    slot_age: FloatArray,
    coefficient: FloatArray,
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """Give every age slot its own hazard segment, its early-termination eligibility
    scaled by :func:`service_factor` of the slot's age.

    Args:
        segment: ``(R, N)`` the segment of each slot.
        multiplier, eligible, deployed: ``(R, S)`` per-segment combat multiplier,
            early-termination eligibility (0/1) and 0 for the training segment.
        slot_age: ``(R, N)`` the service age (days) each slot stands for.
        coefficient: ``(R,)`` the service coefficient (per year).

    Returns:
        The new ``segment`` ``(R, N)`` (slot ``n`` is segment ``n``) and the new
        ``(R, N)`` multiplier, eligibility and deployed arrays.
    """
    runs, n = segment.shape
    rows = np.arange(runs)[:, None]
    new_mult = multiplier[rows, segment]
    factor = service_factor(coefficient[:, None], slot_age)
    new_elig = eligible[rows, segment] * np.where(eligible[rows, segment] > 0, factor, 0.0)
    new_dep = deployed[rows, segment]
    new_segment = np.broadcast_to(np.arange(n, dtype=np.int64), (runs, n)).copy()
    return new_segment, new_mult, np.asarray(new_elig, dtype=np.float64), new_dep
