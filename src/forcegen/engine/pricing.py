"""Priced recruitment: pools with a distribution of reservation wages.

A pool with a ``reservation_wage`` distribution is kept as counts of people by
(region, wage bin). Each person of region ``g`` has a reservation wage
``m_g · W`` (currency per month), ``W`` drawn from the pool's distribution ``F`` and
``m_g`` the region's ``wage_multiplier``. A ``priced`` channel makes each region an
offer ``O_g(t)`` (currency per month, see :func:`_offer`); a person is *willing* on day
``t`` when ``m_g · W ≤ O_g(t)``, i.e. ``W ≤ θ_g(t) = O_g(t) / m_g``.

Offers are piecewise constant in time (they change with dated pay series and
``change_pay`` events), so over a block each region sees finitely many thresholds. The
bins are cut exactly at those thresholds, per replicate: bin ``k`` of region ``g``
holds the people with ``W`` in ``(b_{k-1}, b_k]``, and on every day a bin is either
wholly willing or wholly not. Nothing is approximated by binning: each willing person
enlists with probability ``uptake_per_day``; the cheapest bins empty first, and what is
left of the pool is dearer.

People enter the bins as they enter the pool: each new person (initial, replenished,
widened) lands in region ``g`` and bin ``k`` with probability
``q_{g,k} = share_g · (F(b_k) − F(b_{k−1}))`` — a multinomial split of a whole number
in the stochastic mode (independent Poisson counts for the daily replenishment, which
is the same in distribution), the expected split in the mean-field mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from forcegen.engine.draws import Array, Draws

__all__ = [
    "PricedChannel",
    "PricedPlan",
    "PricedPool",
    "PricedState",
    "bin_masses",
    "offers",
    "wage_cdf",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def wage_cdf(kind: str, a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """Share of a pool whose base reservation wage is at most ``x`` (currency per month).

    Args:
        kind: ``lognormal`` (``a`` the median, ``b`` the standard deviation of the log)
            or ``uniform`` (``a`` the lowest, ``b`` the highest wage).
        a, b: Parameters, broadcastable against ``x``.
        x: Wages.
    """
    if kind == "lognormal":
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.maximum(x, 0.0)) - np.log(a)) / b
        out = np.where(x > 0, special.ndtr(z), 0.0)
    else:
        width = b - a
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(width > 0, (x - a) / width, np.where(x >= a, 1.0, 0.0))
    return np.asarray(np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0), dtype=np.float64)


def offers(
    salary: FloatArray,
    federal: FloatArray,
    regional: FloatArray,
    paid_share: FloatArray,
    service_months: FloatArray,
    bonus_multiplier: FloatArray,
) -> FloatArray:
    """The monthly offer of a priced channel to each region, ``(R, G)`` (currency per
    month): the salary plus the sign-up bonuses spread over the expected service,
    counted at the share actually paid:

    ``O_g = paid_share · (salary + (federal + m^bonus_g · regional) / service months)``.

    Equivalently, the offer's value over the expected service,
    ``salary · months + bonuses``, is compared with the reservation wage times the
    same months.
    """
    bonus = federal[:, None] + bonus_multiplier * regional[:, None]
    return np.asarray(
        paid_share[:, None] * (salary[:, None] + bonus / service_months[:, None]),
        dtype=np.float64,
    )


def bin_masses(
    kind: str,
    a: FloatArray,
    b: FloatArray,
    shares: FloatArray,
    boundaries: FloatArray,
) -> FloatArray:
    """``(R, G, K)`` share of a new person landing in region ``g`` and bin ``k``.

    Args:
        kind, a, b: The base distribution (see :func:`wage_cdf`), ``(R,)`` each.
        shares: ``(R, G)`` region shares (normalised here to sum to 1).
        boundaries: ``(R, G, K − 1)`` increasing upper bounds of the bins below the
            last (base-wage units).
    """
    cdf = wage_cdf(kind, a[:, None, None], b[:, None, None], boundaries)
    runs, regions = shares.shape
    edges = np.concatenate([np.zeros((runs, regions, 1)), cdf, np.ones((runs, regions, 1))], -1)
    within = np.diff(edges, axis=-1)
    total = shares.sum(axis=1, keepdims=True)
    norm = np.where(total > 0, shares / np.where(total > 0, total, 1.0), 1.0 / regions)
    return np.asarray(within * norm[..., None], dtype=np.float64)


@dataclass(frozen=True)
class PricedPool:
    """A pool kept by (region, wage bin) for one block.

    Attributes:
        index: The pool's index in the scenario.
        id: Its id.
        regions: Region ids (one unnamed region when the pool declares none).
        boundaries: ``(R, G, K − 1)`` upper bounds of the bins below the last, in
            base-wage units (currency per month); the last bin is unbounded above.
        mass: ``(R, G, K)`` share of a new person in each region and bin (sums to 1).
    """

    index: int
    id: str
    regions: tuple[str, ...]
    boundaries: FloatArray
    mass: FloatArray

    @property
    def bins(self) -> int:
        """Bins per region."""
        return int(self.mass.shape[-1])


@dataclass(frozen=True)
class PricedChannel:
    """A priced channel's numbers for one block.

    Attributes:
        index: The channel's index.
        pool: Index of its pool.
        uptake: ``(R, S)`` values and day steps of ``uptake_per_day``.
        uptake_step: ``(T,)`` the uptake segment in force on each day.
        willing: ``(R, S', G, K)`` 1 where the bin is willing under offer segment ``s``.
        offer_step: ``(T,)`` the offer segment in force on each day.
        offer: ``(R, S', G)`` the monthly offer to each region (currency per month).
        bonus: ``(R, S', G)`` sign-up bonus promised per recruit of each region
            (currency): federal plus the region's regional bonus.
    """

    index: int
    pool: int
    uptake: FloatArray
    uptake_step: IntArray
    willing: FloatArray
    offer_step: IntArray
    offer: FloatArray
    bonus: FloatArray


@dataclass(frozen=True)
class PricedPlan:
    """Every priced pool and channel of a block, by index."""

    pools: dict[int, PricedPool]
    channels: dict[int, PricedChannel]

    @staticmethod
    def empty() -> PricedPlan:
        """No priced pools or channels."""
        return PricedPlan({}, {})


class PricedState:
    """The people of each priced pool by (region, wage bin), during one block."""

    def __init__(self, plan: PricedPlan, dtype: type[np.int64] | type[np.float64]) -> None:
        self.plan = plan
        self.dtype = dtype
        self.bins: dict[int, Array] = {
            p: np.zeros(pp.mass.shape, dtype=dtype) for p, pp in plan.pools.items()
        }

    def has_pool(self, pool: int) -> bool:
        """Whether pool ``pool`` is priced."""
        return pool in self.plan.pools

    def has_channel(self, channel: int) -> bool:
        """Whether channel ``channel`` is priced."""
        return channel in self.plan.channels

    def add(self, draws: Draws, pool: int, people: Array, name: str) -> None:
        """Place ``people`` ``(R,)`` new to ``pool`` in its regions and bins: a
        multinomial split, drawn bin by bin as binomials of those not yet placed
        (the expected split in the mean-field mode). One stream per bin keeps the
        split of a bin aligned between scenarios that differ in the offer (common
        random numbers)."""
        pp = self.plan.pools[pool]
        mass = pp.mass.reshape(pp.mass.shape[0], -1)
        bins = self.bins[pool].reshape(mass.shape[0], -1)
        left: Array = np.asarray(people, dtype=self.dtype).copy()
        rest = np.ones(mass.shape[0])
        for k in range(mass.shape[1]):
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(rest > 0, mass[:, k] / np.where(rest > 0, rest, 1.0), 0.0)
            if k == mass.shape[1] - 1:
                n = left  # the last bin takes everyone left (its share of the rest is 1)
            else:
                n = draws.binomial(f"{name}/{k}", left, np.clip(p, 0.0, 1.0))
            bins[:, k] += n
            left = left - n
            rest = rest - mass[:, k]

    def replenish(self, draws: Draws, pool: int, lam: FloatArray) -> Array:
        """The day's replenishment of ``pool``: ``Poisson(lam · q_{g,k})`` people in each
        region and bin, independently (which is ``Poisson(lam)`` split by a
        multinomial); returns the total ``(R,)``."""
        pp = self.plan.pools[pool]
        bins = self.bins[pool]
        _, regions, k = pp.mass.shape
        for g in range(regions):
            for j in range(k):
                name = f"pool/{pp.id}/replenish/{g}/{j}"
                bins[:, g, j] += draws.poisson(name, lam * pp.mass[:, g, j])
        return np.asarray(bins.sum(axis=(1, 2)), dtype=self.dtype)

    def enlist(
        self, draws: Draws, channel: int, name: str, day: int, active: bool
    ) -> tuple[Array, FloatArray]:
        """Recruits of a priced channel on ``day`` ``(R,)`` (removed from its pool's
        bins), and the sign-up bonuses promised to them ``(R,)`` (currency)."""
        pc = self.plan.channels[channel]
        bins = self.bins[pc.pool]
        runs, regions, k = bins.shape
        recruits: Array = np.zeros(runs, dtype=self.dtype)
        bonus: FloatArray = np.zeros(runs)
        if not active:
            return recruits, bonus
        uptake = np.clip(pc.uptake[:, pc.uptake_step[day]], 0.0, 1.0)
        seg = pc.offer_step[day]
        willing = pc.willing[:, seg]
        for g in range(regions):
            region = np.zeros(runs, dtype=self.dtype)
            for j in range(k):
                eligible = bins[:, g, j] * willing[:, g, j].astype(self.dtype)
                n = draws.binomial(f"{name}/{g}/{j}", eligible, uptake)
                bins[:, g, j] -= n
                region = region + n
            recruits = recruits + region
            bonus = np.asarray(bonus + region * pc.bonus[:, seg, g], dtype=np.float64)
        return recruits, bonus


def compile_priced(
    pool_specs: dict[int, tuple[str, tuple[str, ...], str, FloatArray, FloatArray, FloatArray]],
    wage_multipliers: dict[int, FloatArray],
    channel_offers: dict[int, tuple[int, FloatArray, IntArray]],
    channel_rest: dict[int, tuple[FloatArray, IntArray, FloatArray]],
) -> PricedPlan:
    """Cut each priced pool's bins at every threshold its channels' offers reach.

    Args:
        pool_specs: Per pool index: id, region ids, distribution kind, its two
            parameters ``(R,)`` and the region shares ``(R, G)``.
        wage_multipliers: Per pool index, ``(R, G)`` the regions' wage multipliers.
        channel_offers: Per channel index: its pool, the offers ``(R, S, G)`` and the
            offer segment of each day ``(T,)``.
        channel_rest: Per channel index: uptake values ``(R, S)``, uptake day steps
            ``(T,)``, and bonuses promised per recruit ``(R, S, G)``.
    """
    pools: dict[int, PricedPool] = {}
    thresholds: dict[int, FloatArray] = {}
    for c, (p, offer, _) in channel_offers.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = offer / wage_multipliers[p][:, None, :]
        thresholds[c] = np.where(np.isnan(theta), math.inf, theta)
    for p, (pid, regions, kind, a, b, shares) in pool_specs.items():
        mine = [thresholds[c] for c, (q, _, _) in channel_offers.items() if q == p]
        runs, n_regions = shares.shape
        if mine:
            cuts = np.concatenate([np.moveaxis(t, 1, 2) for t in mine], axis=-1)
            boundaries = np.sort(cuts, axis=-1)
        else:
            boundaries = np.zeros((runs, n_regions, 0))
        pools[p] = PricedPool(
            index=p,
            id=pid,
            regions=regions,
            boundaries=boundaries,
            mass=bin_masses(kind, a, b, shares, boundaries),
        )
    channels: dict[int, PricedChannel] = {}
    for c, (p, offer, offer_step) in channel_offers.items():
        bounds = pools[p].boundaries  # (R, G, K-1)
        theta = thresholds[c]  # (R, S, G)
        below = bounds[:, None, :, :] <= theta[..., None]  # (R, S, G, K-1)
        last = np.zeros((*below.shape[:-1], 1), dtype=bool)  # the unbounded bin
        uptake, uptake_step, bonus = channel_rest[c]
        channels[c] = PricedChannel(
            index=c,
            pool=p,
            uptake=uptake,
            uptake_step=uptake_step,
            willing=np.concatenate([below, last], axis=-1).astype(np.float64),
            offer_step=offer_step,
            offer=offer,
            bonus=bonus,
        )
    return PricedPlan(pools, channels)
