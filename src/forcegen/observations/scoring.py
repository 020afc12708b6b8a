"""Predictive distributions of observations and how observations score against them.

Pure functions on arrays. Scores are computed on the natural-log scale, where the
observation error model lives, so that series of very different sizes (a share of
0.4 and a count of 500,000) are comparable and can be summed: an interval score of
0.2 means the same relative miss for any series.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALPHA",
    "LOG_FLOOR",
    "QUANTILES",
    "crps_sample",
    "interval_score",
    "observe",
    "percentile_of",
    "quantiles",
]

FloatArray = NDArray[np.float64]
ALPHA = 0.1
"""The interval score is that of the central 90 % interval (α = 0.1)."""
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles reported for every predictive distribution."""
LOG_FLOOR = 1e-6
"""Truths are floored here before taking logs (an empty channel gives a poor but
finite prediction)."""


def observe(
    truth: FloatArray,
    factors: FloatArray,
    log_sd: FloatArray,
    rng: np.random.Generator,
) -> FloatArray:
    """Draws of what a source would report: ``factor × truth × exp(e)``, ``e ~
    Normal(0, log_sd²)``, elementwise.

    Args:
        truth: ``(draws, n)`` simulated truth.
        factors: ``(draws, n)`` observation factors (fraction found, inflation).
        log_sd: ``(n,)`` log-scale error sd per observation, or ``(draws, n)``.
        rng: Random generator of the noise.
    """
    noise = rng.standard_normal(truth.shape) * np.broadcast_to(log_sd, truth.shape)
    return np.maximum(truth * factors, LOG_FLOOR) * np.exp(noise)


def percentile_of(sample: FloatArray, value: float) -> float:
    """Where ``value`` falls in ``sample``: the mid-rank ``P(X < v) + P(X = v)/2``."""
    below = float(np.mean(sample < value))
    equal = float(np.mean(sample == value))
    return below + 0.5 * equal


def interval_score(low: float, high: float, y: float, alpha: float = ALPHA) -> float:
    """Interval score of the central ``1 − alpha`` interval ``[low, high]`` at ``y``
    (Gneiting & Raftery 2007): its width plus ``2/alpha`` times the miss. Lower is
    better; a proper score."""
    return (high - low) + (2 / alpha) * max(low - y, 0.0) + (2 / alpha) * max(y - high, 0.0)


def crps_sample(sample: FloatArray, y: float) -> float:
    """Continuous ranked probability score of an ensemble at ``y``:
    ``E|X − y| − ½ E|X − X'|`` with the sample's empirical distribution (exact for it;
    ``O(S log S)`` by sorting). Lower is better; 0 for a point mass at ``y``."""
    x = np.sort(np.asarray(sample, dtype=np.float64))
    s = x.size
    first = float(np.mean(np.abs(x - y)))
    ranks = 2 * np.arange(1, s + 1) - s - 1
    second = float(np.sum(ranks * x)) / (s * s)
    return first - second


def quantiles(sample: FloatArray, qs: Sequence[float] = QUANTILES) -> FloatArray:
    """Quantiles of ``sample`` along its first axis."""
    return np.asarray(np.quantile(sample, list(qs), axis=0), dtype=np.float64)
