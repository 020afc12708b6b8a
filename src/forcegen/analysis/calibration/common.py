"""Types and small helpers shared by the calibration modules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from forcegen.scenario.walk import ParamRef

if TYPE_CHECKING:
    pass


FloatArray = NDArray[np.float64]
Others = Literal["prior", "expected"]
Progress = Callable[[int, int], None]
"""Called as ``progress(simulations_done, budget)`` after each batch."""

_Z975 = float(stats.norm.ppf(0.975))
_LOG_FLOOR = 1e-6
"""Simulated values are floored here before taking logs, so a zero (an empty channel)
gives a very poor but finite fit instead of -inf."""


def _weighted_quantile(x: FloatArray, w: FloatArray, q: Sequence[float]) -> FloatArray:
    order = np.argsort(x)
    xs, ws = x[order], w[order]
    cdf = (np.cumsum(ws) - 0.5 * ws) / np.sum(ws)
    return np.asarray(np.interp(q, cdf, xs), dtype=np.float64)


def _steps(ref: ParamRef) -> list[dt.date | None]:
    """Start date of each step of a dated series, or ``[None]`` for one distribution."""
    dates: list[dt.date | None] = list(ref.param.step_dates())
    return dates or [None]


def _sig(value: float) -> float:
    return float(f"{value:.6g}")
