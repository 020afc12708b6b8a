"""Which parameters get a slider: the ones that move the headline most.

The headline is deployed strength (all channels) on the last simulated day. A
**screen** simulates a small ensemble in mean-field mode with every uncertain parameter
sampled from its prior (so the spread is the parameters' alone, not chance) and ranks
each parameter by the absolute Spearman rank correlation of its values with the
headline across those replicates (as :mod:`forcegen.analysis.basis` does for answers).
It takes a few seconds per scenario and is cached by scenario hash for the life of the
server. Dated series are left to the search box: one slider cannot set their steps.

Each lever's slider spans the parameter's prior from its 1st to its 99th percentile
(for a bounded prior, exactly its support), and starts at the prior's mean: moving it
fixes that input at one value, so its own uncertainty leaves the bands.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forcegen.analysis.basis import input_evidence
from forcegen.scenario.model import Scenario
from forcegen.scenario.walk import iter_params

__all__ = ["SCREEN_REPLICATES", "Lever", "levers", "rank_inputs", "slider_range"]

FloatArray = NDArray[np.float64]

SCREEN_REPLICATES = 64
"""Mean-field replicates of the screen: enough to rank the strong inputs (a |ρ| of 0.3
is about 2.4 standard errors at 64 replicates), few enough to take seconds."""


@dataclass(frozen=True)
class Lever:
    """One slider.

    Attributes:
        name: Parameter name, as ``--set`` takes it (``losses.killed_per_day``).
        unit: Its unit (``probability per day``, ``people``).
        low: Left end of the slider (the prior's 1st percentile or lower bound).
        high: Right end (99th percentile or upper bound).
        start: Where the slider starts: the prior's mean.
        prior: The prior, described (``uniform(0.00015, 0.0008)``).
        status: Its weakest evidence status (``assumption``, ``official-claim``, …).
        claims: Ids of the claims it rests on.
        rho: Spearman correlation with the headline in the screen (−1 to 1).
        integer: Whether the slider steps in whole units (people, days).
    """

    name: str
    unit: str
    low: float
    high: float
    start: float
    prior: str
    status: str
    claims: tuple[str, ...]
    rho: float
    integer: bool

    @property
    def step(self) -> float:
        """Slider step: a hundredth of the range, whole for whole units."""
        raw = (self.high - self.low) / 100.0
        if self.integer:
            return max(1.0, float(round(raw)))
        return raw if raw > 0 else 1.0


def slider_range(low: float, high: float, p01: float, p99: float) -> tuple[float, float]:
    """The support where it is finite, else the 1st / 99th percentile on that side."""
    return (low if math.isfinite(low) else p01, high if math.isfinite(high) else p99)


def rank_inputs(values: Mapping[str, FloatArray], headline: FloatArray) -> dict[str, float]:
    """Spearman ρ of each input that varies with ``headline`` (one value per replicate
    each); inputs that do not vary, or a constant headline, give no entry."""
    from scipy import stats

    y = np.asarray(headline, dtype=np.float64)
    if y.size < 3 or np.ptp(y) == 0:
        return {}
    ry = stats.rankdata(y)
    out: dict[str, float] = {}
    for name, v in values.items():
        x = np.asarray(v, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or np.ptp(x) == 0:
            continue
        rho = float(np.corrcoef(stats.rankdata(x), ry)[0, 1])
        if math.isfinite(rho):
            out[name] = rho
    return out


def levers(scenario: Scenario, rho: Mapping[str, float], count: int = 6) -> list[Lever]:
    """The ``count`` scalar uncertain parameters with the largest ``|ρ|``, strongest
    first (ties in scenario order)."""
    evidence = input_evidence(scenario)
    order = {ref.name: i for i, ref in enumerate(iter_params(scenario))}
    chosen: list[Lever] = []
    for ref in iter_params(scenario):
        p = ref.param
        if ref.name not in rho or p.is_series or not p.is_uncertain:
            continue
        lo, hi = p.support
        q = p.values(np.array([0.01, 0.99]))
        low, high = slider_range(lo, hi, float(q[0]), float(q[1]))
        start = float(p.expected()[0])
        ev = evidence.get(ref.name)
        unit = ref.unit
        chosen.append(
            Lever(
                name=ref.name,
                unit=unit,
                low=low,
                high=high,
                # Rounded as the slider shows values, so that an untouched slider
                # reads as the number it starts at.
                start=float(format_value(min(max(start, low), high))),
                prior=p.describe(),
                status=ev.status if ev is not None else "unsourced",
                claims=tuple(c for c, _ in ev.claims) if ev is not None else (),
                rho=rho[ref.name],
                integer=_whole(unit),
            )
        )
    chosen.sort(key=lambda lv: (-abs(lv.rho), order[lv.name]))
    return chosen[:count]


def _whole(unit: str) -> bool:
    """People and days are counted in whole units."""
    return unit in ("people", "days")


def format_value(value: float) -> str:
    """A slider value as an override takes it: integers plainly, others to 4
    significant digits (``0.0004``, ``125000``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def lever_names(chosen: Sequence[Lever]) -> list[str]:
    """Names of ``chosen``, in order."""
    return [lv.name for lv in chosen]
