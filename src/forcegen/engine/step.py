"""One block of replicates, day by day: the model's semantics in one readable place.

Order of events within day ``t`` (see ``docs/model.md``, which the reference
implementation in ``tests/reference/`` follows independently):

1. **Pools** gain their daily replenishment and any widening dated ``t``.
2. **Returns**: each person recovering at the start of the day returns to duty with
   probability ``1 / mean recovery days`` (so nobody wounded today returns today).
3. **Exits** are drawn from the start-of-day deployed: each deployed person leaves
   with competing daily probabilities (killed, wounded, missing, deserted, refused,
   early termination once past the minimum service); the wounded either go to
   recovery or are discharged.
4. **Ageing**: everyone's service age grows by one day. People reaching their term
   leave (``expired`` or ``released``) unless renewed; under stop-loss they are held
   instead, and leave (or renew) on the day stop-loss ends.
   Conscripts in service may then sign a contract (conscription channels, see
   :mod:`forcegen.engine.conscription`).
5. **Enlistment**: recruits join at age 0 (series: Poisson; behavioural: binomial
   from the pool; mobilisation waves: those called, less evaders; conscription:
   the day's share of each call-up).
6. **Graduation**: people whose age has just reached the training length deploy,
   except those who withdraw.
7. **Renewals and transfers** are placed at their new contract ages.
8. End-of-day stocks, the day's flows and costs are recorded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.compile import ChannelPlan, Plan, PoolPlan
from forcegen.engine.conscription import call_up, convert_in_service
from forcegen.engine.draws import Array, Draws
from forcegen.engine.guard import check_day
from forcegen.engine.pricing import PricedState
from forcegen.engine.retention import per_slot_segments
from forcegen.scenario.model import (
    ABSENCE_CAUSES,
    EXIT_CAUSES,
    HAZARD_CAUSES,
    STATES,
    TRANSITION_KINDS,
)

__all__ = [
    "COST_KINDS",
    "INFLOW_KINDS",
    "TRANSITION_KINDS",
    "BlockOutput",
    "simulate_block",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

INFLOW_KINDS = ("recruited", "transferred")
COST_KINDS = (
    "salary",
    "sign_up_bonus",
    "deployment_bonus",
    "death_compensation",
    "wound_compensation",
)
_CAUSE = {c: i for i, c in enumerate(EXIT_CAUSES)}
# Causes drawn from the aggregated "other exits" of the deployed, in this order.
_SPLIT_CAUSES = ("killed", "wounded_discharged", "missing", "deserted", "refused", "terminated")
_SPLIT_COLUMNS = np.array([_CAUSE[c] for c in _SPLIT_CAUSES])
_K, _W, _M, _D, _R = (HAZARD_CAUSES.index(c) for c in HAZARD_CAUSES)


@dataclass
class BlockOutput:
    """Daily series of one block, each ``(R, T, ...)``; see docs/architecture.md."""

    strength: Array  # (R, T, C, 4) training, deployed, recovering, absent
    inflow: Array  # (R, T, C, 2)
    outflow: Array  # (R, T, C, 10)
    transition: Array  # (R, T, C, 5)
    pool: Array  # (R, T, P)
    cost: FloatArray  # (R, T, C, 5) paid
    unpaid: FloatArray  # (R, T, C, 5)


@dataclass
class _Ages:
    """How a channel's age slots map onto hazard *segments*, fixed for a block.

    Within a segment every deployed person faces the same daily exit probabilities,
    so probabilities are computed per (replicate, segment); the exits kernel looks
    each slot's segment up.
    Segments: one per (service-multiplier interval, eligible for early termination),
    plus a last one for training (no exits).
    """

    first_deployed: int  # smallest training length in the block: slots below never exit
    segment: IntArray  # (R, N) segment of each slot
    segment_multiplier: FloatArray  # (R, S) combat-hazard multiplier
    segment_eligible: FloatArray  # (R, S) 1 where early termination applies
    segment_deployed: FloatArray  # (R, S) 0 for the training segment


def _ages(ch: ChannelPlan, breakpoints: list[int]) -> _Ages:
    runs, n = len(ch.training_days), ch.n_ages
    # The tail slot holds people older than any explicit age: for a fixed term, those
    # held by stop-loss (age >= term, counted at the term); otherwise long service.
    oldest = ch.term_days if ch.term_days is not None else np.full(runs, n - 1 + 10**6)
    age_of_slot = np.concatenate([ch.ages_of_slots(), oldest[:, None]], axis=1)
    training = age_of_slot < ch.training_days[:, None]
    eligible = age_of_slot >= ch.min_service_days[:, None]
    bounds = np.asarray(breakpoints, dtype=np.int64)
    interval = np.searchsorted(bounds, age_of_slot, side="right")
    n_seg = (len(breakpoints) + 1) * 2 + 1
    segment = np.where(training, n_seg - 1, interval * 2 + eligible).astype(np.int64)
    seg_mult = np.ones((runs, n_seg))
    seg_mult[:, : n_seg - 1] = np.repeat(ch.interval_multipliers, 2, axis=1)
    seg_elig = np.tile(np.array([0.0, 1.0] * (len(breakpoints) + 1) + [0.0]), (runs, 1))
    seg_dep = np.ones((runs, n_seg))
    seg_dep[:, -1] = 0.0
    if ch.retention_service is not None:
        # Pay-driven retention with a service term: early termination differs by age.
        segment, seg_mult, seg_elig, seg_dep = per_slot_segments(
            segment, seg_mult, seg_elig, seg_dep, _served(ch, age_of_slot), ch.retention_service
        )
    return _Ages(
        first_deployed=int(ch.training_days.min()),
        segment=segment,
        segment_multiplier=seg_mult,
        segment_eligible=seg_elig,
        segment_deployed=seg_dep,
    )


def _served(ch: ChannelPlan, age_of_slot: IntArray) -> FloatArray:
    """Days served that each slot stands for, for the service term of pay-driven
    retention: an indefinite contract's tail ("long service") counts as its window."""
    if ch.term_days is None:
        return np.minimum(age_of_slot, ch.n_ages - 1).astype(np.float64)
    return age_of_slot.astype(np.float64)


def _initial(draws: Draws, ch: ChannelPlan, svc: Array, rec: Array) -> None:
    """Place the initial force over ages: trainees over the training ages; deployed and
    recovering people over the rest of the term (all "long service" when indefinite).

    Where a replicate has no training, its initial trainees are counted as deployed."""
    whole = draws.dtype is np.int64

    def count(amount: FloatArray) -> Array:
        return np.rint(amount).astype(np.int64) if whole else amount.astype(np.float64)

    no_training = ch.training_days == 0
    trainees = count(ch.initial_training)
    deployed = count(ch.initial_deployed) + np.where(no_training, trainees, 0)
    trainees = np.where(no_training, 0, trainees)
    recovering = count(ch.initial_recovering)
    zero = np.zeros_like(ch.training_days)
    spans: list[tuple[Array, Array, IntArray, IntArray, str]] = [
        (svc, trainees, zero, ch.training_days, "training")
    ]
    if ch.term_slot is None:
        svc[:, ch.tail] += deployed
        rec[:, ch.tail] += recovering
    else:
        spans.append((svc, deployed, ch.training_days, ch.term_slot, "deployed"))
        spans.append((rec, recovering, ch.training_days, ch.term_slot, "recovering"))
    for target, amount, start, stop, name in spans:
        # A slot standing for several ages (a term longer than the horizon) gets their
        # share of the uniform spread over ages.
        widths = [
            ch.slot_widths(r, int(a), int(b))
            for r, (a, b) in enumerate(zip(start, stop, strict=True))
        ]
        parts = draws.spread(f"{ch.id}/initial/{name}", amount, stop - start, widths)
        for r, part in enumerate(parts):
            target[r, start[r] : stop[r]] += part


def simulate_block(
    plan: Plan,
    draws: Draws,
    breakpoints: list[int],
    *,
    threads: int = 1,
    on_day: Callable[[int], None] | None = None,
) -> BlockOutput:
    """Simulate one block of replicates over the horizon.

    Args:
        plan: The compiled block (see :func:`forcegen.engine.compile.compile_block`).
        draws: Stochastic or expected draws.
        breakpoints: ``until_day`` of the scenario's service multipliers, increasing.
        threads: Threads drawing the returns and exits of each channel's replicates in
            parallel (stochastic mode); the results do not depend on it.
        on_day: Called with the number of days simulated so far, before each day and
            once at the end (progress bars).
    """
    from forcegen.engine.kernels import stocks  # imports Numba: only when simulating

    R, T = plan.runs, plan.days
    C, P = len(plan.channels), len(plan.pools)
    dtype = draws.dtype
    integer = dtype is np.int64
    count_dtype = np.int32 if integer else np.float64
    cost_dtype = np.float32 if integer else np.float64
    out = BlockOutput(
        strength=np.zeros((R, T, C, len(STATES)), dtype=count_dtype),
        inflow=np.zeros((R, T, C, len(INFLOW_KINDS)), dtype=count_dtype),
        outflow=np.zeros((R, T, C, len(EXIT_CAUSES)), dtype=count_dtype),
        transition=np.zeros((R, T, C, len(TRANSITION_KINDS)), dtype=count_dtype),
        pool=np.zeros((R, T, P), dtype=count_dtype),
        cost=np.zeros((R, T, C, len(COST_KINDS)), dtype=cost_dtype),
        unpaid=np.zeros((R, T, C, len(COST_KINDS)), dtype=cost_dtype),
    )
    rows = np.arange(R)
    # The day's people counts, per channel: strength (4), inflow (2), outflow (10),
    # transition (9). Counted in the draws' type (int64 in the stochastic mode) and
    # checked to fit before they are recorded in 32 bits (forcegen.engine.guard).
    n_st, n_in, n_out = len(STATES), len(INFLOW_KINDS), len(EXIT_CAUSES)
    n_tr = len(TRANSITION_KINDS)
    counts = np.zeros((R, C, n_st + n_in + n_out + n_tr), dtype=dtype)
    day_strength = counts[..., :n_st]
    day_inflow = counts[..., n_st : n_st + n_in]
    day_outflow = counts[..., n_st + n_in : n_st + n_in + n_out]
    day_transition = counts[..., n_st + n_in + n_out :]
    # People in service (training or deployed) and recovering, by age slot.
    svc: list[Array] = [np.zeros((R, ch.n_ages), dtype=dtype) for ch in plan.channels]
    rec: list[Array] = [np.zeros((R, ch.n_ages), dtype=dtype) for ch in plan.channels]
    # People absent (caught after leaving or refusing, not yet back), per absence cause:
    # they keep no age (see docs/model.md, "Absence and return to duty").
    absent: list[Array] = [np.zeros((R, len(ABSENCE_CAUSES)), dtype=dtype) for _ in plan.channels]
    ages = [_ages(ch, breakpoints) for ch in plan.channels]
    probs_seen: list[dict[tuple[int, int, int], FloatArray]] = [{} for _ in plan.channels]
    for ch in plan.channels:
        _initial(draws, ch, svc[ch.index], rec[ch.index])
    # Deployed people per channel at the start of the day (Lanchester-style losses).
    deployed_now = np.zeros((R, C))
    if plan.front_exponent is not None:
        for ch in plan.channels:
            deployed_now[:, ch.index] = stocks(svc[ch.index], rec[ch.index], ch.training_days)[1]

    pool = np.zeros((R, max(P, 1)), dtype=dtype)
    ever = np.zeros((R, max(P, 1)), dtype=np.float64)
    for pl in plan.pools:
        start = np.rint(pl.initial) if integer else pl.initial
        pool[:, pl.index] = start
        ever[:, pl.index] = start
    widen: dict[int, dict[int, FloatArray]] = {pl.index: {} for pl in plan.pools}
    for pl in plan.pools:
        for day, amount in pl.widen:  # several widenings on one day add up
            widen[pl.index][day] = widen[pl.index].get(day, 0.0) + amount
    priced = PricedState(plan.priced, dtype)
    for pl in plan.pools:
        if priced.has_pool(pl.index):  # by region and reservation wage
            priced.add(draws, pl.index, pool[:, pl.index].copy(), f"pool/{pl.id}/initial")

    # Threads share the compiled exits kernel's replicates; the mean-field mode's
    # exits are NumPy work on one replicate or a few, which threads would only slow.
    # The calling thread draws one part itself, so the pool needs one thread fewer.
    executor = _executor(threads - 1) if threads > 1 and integer and R > 1 else None
    for t in range(T):
        if on_day is not None:
            on_day(t)
        draws.start_day(t)  # the day's random numbers (counter-based; see draws.py)
        counts.fill(0)
        # 1. pools
        for pl in plan.pools:
            if priced.has_pool(pl.index):
                pool[:, pl.index] = _priced_pool_day(draws, priced, pl.index, pl, t, widen)
                continue
            add = draws.poisson(f"pool/{pl.id}/replenish", pl.replenish.at(t))
            if t in widen[pl.index]:
                extra = widen[pl.index][t]
                add = add + (np.rint(extra).astype(dtype) if integer else extra)
            pool[:, pl.index] += add
            ever[:, pl.index] += add

        # 2-3. returns and exits, both drawn from start-of-day numbers (so nobody
        # wounded today returns today, and nobody returning today is exposed today).
        # Each channel's draws touch only its own slots and streams, and nothing of
        # the day before step 7 reads another channel's slots, so the channels are
        # drawn first. Each channel's replicates are split over the threads (the
        # compiled kernel releases the GIL; every replicate has its own numbers), with
        # the same results as one thread: splitting rows rather than channels keeps
        # the threads equally busy when one channel holds most of the people.
        crowding = _front_crowding(plan, t, deployed_now)
        drawn: list[tuple[Array, Array, Array]] = []
        for ch in plan.channels:
            ag = ages[ch.index]
            probs = _exit_probabilities(ch, ag, t, probs_seen[ch.index])
            if crowding is not None:
                probs = probs * np.where(_CROWDED, crowding[:, None, None], 1.0)
            drawn.append(
                draws.exits_and_ageing(
                    ch.id,
                    svc[ch.index],
                    rec[ch.index],
                    ag.first_deployed,
                    ag.segment,
                    probs,
                    len(_SPLIT_CAUSES),
                    ch.recovery_rate,
                    pool=executor,
                    parts=threads,
                )
            )

        renewals: list[tuple[int, int, Array, Array]] = []
        rejoining: list[tuple[int, Array]] = []
        for ch in plan.channels:
            c = ch.index
            s, rc = svc[c], rec[c]
            o_out = day_outflow[:, c]
            o_tr = day_transition[:, c]
            name = ch.id

            back, wounded_back, causes = drawn[c]
            o_tr[:, 2] += back
            by_cause = causes[:, : len(_SPLIT_CAUSES)]
            if ch.absence_return:
                by_cause = by_cause.copy()
                prosecuted, rejoined = _absence(draws, ch, t, absent[c], by_cause)
                o_tr[:, 5] += prosecuted
                o_tr[:, 6] += rejoined
                rejoining.append((c, rejoined))
            o_out[:, _SPLIT_COLUMNS] += by_cause  # distinct columns: one addition each
            wounded_total = wounded_back + by_cause[:, 1]
            o_tr[:, 1] += wounded_total

            # 4. ageing (done above, with the exits) and term end
            if ch.term_slot is not None:
                at_term_s = s[rows, ch.term_slot].copy()
                at_term_r = rc[rows, ch.term_slot].copy()
                s[rows, ch.term_slot] = 0
                rc[rows, ch.term_slot] = 0
                if ch.stop_loss[t]:
                    s[:, ch.tail] += at_term_s
                    rc[:, ch.tail] += at_term_r
                else:
                    at_term_s = at_term_s + s[:, ch.tail]
                    at_term_r = at_term_r + rc[:, ch.tail]
                    s[:, ch.tail] = 0
                    rc[:, ch.tail] = 0
                    renew_p = ch.renewal_probability.at(t)
                    ren_s = draws.binomial(f"{name}/renew", at_term_s, renew_p)
                    ren_r = draws.binomial(f"{name}/renew-recovering", at_term_r, renew_p)
                    leaving = at_term_s - ren_s + at_term_r - ren_r
                    o_out[:, _CAUSE[ch.term_end_cause]] += leaving
                    if ch.renew_into == c:
                        o_tr[:, 3] += ren_s + ren_r
                    else:
                        o_out[:, _CAUSE["transferred"]] += ren_s + ren_r
                    renewals.append((c, ch.renew_into, ren_s, ren_r))

            # 4b. conscripts signing a contract during service (to `convert_into`);
            # every transfer out of a conscription channel is a conversion.
            if ch.conscription is not None:
                converted = convert_in_service(draws, ch, s, t)
                o_out[:, _CAUSE["transferred"]] += converted
                if ch.conscription.target >= 0:
                    target = ch.conscription.target
                    renewals.append((c, target, converted, np.zeros_like(converted)))
                all_converted: Array = o_out[:, _CAUSE["transferred"]]
                o_tr[:, 9] += all_converted

            # 5. enlistment
            bonus: FloatArray | None = None
            if priced.has_channel(c):
                recruits, bonus = priced.enlist(draws, c, f"{name}/enlist", t, bool(ch.active[t]))
                pool[:, ch.pool] -= recruits
            else:
                recruits = _enlist(draws, ch, t, pool, ever)
            called_in, evaded = _mobilise(draws, ch, t, pool)
            conscripted = call_up(draws, ch, t, pool)
            joined = recruits + called_in + conscripted
            s[:, 0] += joined
            o_tr[:, 4] += evaded
            if ch.waves:
                o_tr[:, 7] += called_in + evaded
                o_tr[:, 8] += called_in
            o_tr[:, 7] += conscripted

            # 6. graduation
            grads = s[rows, ch.training_days].copy()
            withdrew = draws.binomial(f"{name}/withdraw", grads, ch.withdrawal.at(t))
            s[rows, ch.training_days] -= withdrew
            deployed_today = grads - withdrew
            o_out[:, _CAUSE["withdrawn"]] += withdrew
            o_tr[:, 0] += deployed_today

            day_inflow[:, c, 0] += joined

            # costs (promised), split into paid and unpaid; salaries (column 0) are
            # added after the day's stocks are final. Column by column rather than one
            # stacked (R, 5) array: the same additions, without the temporaries.
            day_cost = out.cost[:, t, c]
            day_cost[:, 1] += (
                joined * ch.sign_up_bonus.at(t)
                if bonus is None
                else bonus + called_in * ch.sign_up_bonus.at(t)
            )
            day_cost[:, 2] += deployed_today * ch.deployment_bonus.at(t)
            day_cost[:, 3] += by_cause[:, 0] * ch.death_compensation.at(t)  # killed
            day_cost[:, 4] += wounded_total * ch.wound_compensation.at(t)
        # 7. renewals and transfers, placed after graduation so they are not counted
        # as graduates: a renewal restarts the contract clock at the channel's renewal
        # age; a transfer joins the target channel just past its training.
        for source, target, ren_s, ren_r in renewals:
            tgt = plan.channels[target]
            if source == target:
                age = tgt.renew_slot
            else:
                age = tgt.training_days  # a young age: its own slot
                if tgt.term_slot is not None:
                    age = np.minimum(age, tgt.term_slot - 1)
                day_inflow[:, target, 1] += ren_s + ren_r
            svc[target][rows, age] += ren_s
            rec[target][rows, age] += ren_r
        # People back from absence resume at their channel's absence slot (placed here,
        # like renewals, so that they are not counted as graduates).
        for c, rejoined in rejoining:
            svc[c][rows, plan.channels[c].absence_slot] += rejoined

        # 8. record stocks and salaries
        for ch in plan.channels:
            c = ch.index
            training, deployed, recovering = stocks(svc[c], rec[c], ch.training_days)
            day_strength[:, c, 0] = training
            day_strength[:, c, 1] = deployed
            day_strength[:, c, 2] = recovering
            day_strength[:, c, 3] = absent[c].sum(axis=1)
            deployed_now[:, c] = deployed
            in_service = training + deployed + recovering
            out.cost[:, t, c, 0] = in_service * ch.salary_per_day.at(t)
            paid = ch.paid_share.at(t)[:, None]
            out.unpaid[:, t, c] = out.cost[:, t, c] * (1.0 - paid)
            out.cost[:, t, c] *= paid
        if integer:
            check_day(counts, pool[:, :P], t)
        out.strength[:, t] = day_strength
        out.inflow[:, t] = day_inflow
        out.outflow[:, t] = day_outflow
        out.transition[:, t] = day_transition
        out.pool[:, t] = pool[:, :P]
    if on_day is not None:
        on_day(T)
    return out


def _executor(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` threads that the blocks of this process reuse."""
    # Keyed by process too: a child forked after a threaded run inherits the pool but
    # not its threads, and work submitted there would wait forever.
    return _pool(threads, os.getpid())


@cache
def _pool(threads: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix=f"forcegen-channels-{pid}")


def _exit_probabilities(
    ch: ChannelPlan, ag: _Ages, t: int, seen: dict[tuple[int, int, int], FloatArray]
) -> FloatArray:
    """Daily exit probabilities on day ``t`` per (replicate, segment), by cause
    ``(R, G, 7)``: killed, wounded and discharged, missing, deserted, refused, early
    termination, wounded who will return (these keep their age slot, in recovery).

    They change only when one of the three schedules they come from does, so each
    combination of schedule steps is computed once per block (``seen``)."""
    key = (
        int(ch.hazards.day_step[t]),
        int(ch.return_probability.day_step[t]),
        int(ch.early_termination.day_step[t]),
    )
    probs = seen.get(key)
    if probs is None:
        h = ch.hazards.at(t)
        ret_p = ch.return_probability.at(t)
        term_rate = ch.early_termination.at(t)
        sm, se = ag.segment_multiplier, ag.segment_eligible
        probs = (
            np.stack(
                [
                    h[:, _K, None] * sm,
                    (h[:, _W] * (1.0 - ret_p))[:, None] * sm,
                    h[:, _M, None] * sm,
                    np.broadcast_to(h[:, _D, None], sm.shape),
                    np.broadcast_to(h[:, _R, None], sm.shape),
                    term_rate[:, None] * se,
                    (h[:, _W] * ret_p)[:, None] * sm,
                ],
                axis=-1,
            )
            * ag.segment_deployed[..., None]
        )
        seen[key] = probs
    return probs


def _priced_pool_day(
    draws: Draws,
    priced: PricedState,
    p: int,
    pl: PoolPlan,
    t: int,
    widen: dict[int, dict[int, FloatArray]],
) -> Array:
    """Step 1 for a priced pool: replenishment and widening placed by region and
    reservation wage; returns the pool's new size."""
    total = priced.replenish(draws, p, pl.replenish.at(t))
    if t in widen[p]:
        extra = widen[p][t]
        people = np.rint(extra).astype(np.int64) if draws.dtype is np.int64 else extra
        priced.add(draws, p, people, f"pool/{pl.id}/widen/{t}")
        total = priced.bins[p].sum(axis=(1, 2))
    return total


def _enlist(draws: Draws, ch: ChannelPlan, t: int, pool: Array, ever: FloatArray) -> Array:
    """Voluntary recruits today (people), removed from the channel's pool."""
    runs = pool.shape[0]
    if not ch.active[t] or ch.model in ("mobilisation", "conscription"):
        return np.zeros(runs, dtype=draws.dtype)
    name = f"{ch.id}/enlist"
    if ch.model == "series":
        assert ch.recruits_per_day is not None
        n = draws.poisson(name, ch.recruits_per_day.at(t))
        if ch.pool >= 0:
            n = np.minimum(n, pool[:, ch.pool])
    else:
        assert ch.base_rate is not None
        eligible = pool[:, ch.pool]
        remaining_share = np.where(
            ever[:, ch.pool] > 0, eligible / np.maximum(ever[:, ch.pool], 1e-300), 0.0
        )
        # A factor can be 0 (no base rate, nothing paid) while another is infinite (a
        # negative elasticity of an empty pool or of no pay): nobody enlists then.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            share = np.clip(remaining_share, 0.0, 1.0) ** ch.depletion_exponent
            rate = ch.base_rate.at(t) * share
            rate = rate * ch.paid_share.at(t) ** ch.reputation_elasticity
            if ch.wage_per_month is not None:
                wage = ch.wage_per_month.at(t)
                ratio = np.where(wage > 0, ch.monthly_pay.at(t) / wage, 1.0)
                rate = rate * np.maximum(ratio, 0.0) ** ch.pay_elasticity
        rate = np.where(np.isnan(rate), 0.0, rate)
        n = draws.binomial(name, eligible, np.clip(rate, 0.0, 1.0))
    if ch.pool >= 0:
        pool[:, ch.pool] -= n
    return n


# Exit causes of _exit_probabilities scaled by crowding at the front: killed, wounded
# and discharged, missing, wounded who will return.
_CROWDED = np.array([True, True, True, False, False, False, True])


def _front_crowding(plan: Plan, t: int, deployed: FloatArray) -> FloatArray | None:
    """``(R,)`` factor of the combat hazards on day ``t`` when losses per day grow as
    ``F^α`` (``F`` the people at the front at the start of the day, all channels):
    ``(F / F_ref)^(α − 1)``; 1 where nobody is at the front. None without it."""
    if plan.front_exponent is None or plan.front_reference is None:
        return None
    front = np.zeros(plan.runs)
    for ch in plan.channels:
        assert ch.front_share is not None
        front = front + ch.front_share.at(t) * deployed[:, ch.index]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = front / np.maximum(plan.front_reference, 1e-300)
        factor = np.where(front > 0, ratio ** (plan.front_exponent - 1.0), 1.0)
    return np.where(np.isfinite(factor), factor, 1.0)


def _absence(
    draws: Draws, ch: ChannelPlan, t: int, absent: Array, by_cause: Array
) -> tuple[Array, Array]:
    """Absence and return to duty for one channel and day; ``absent`` ``(R, 2)`` and
    today's leavers ``by_cause`` (in ``_SPLIT_CAUSES`` order) are updated in place.

    People absent at the start of the day are back with probability ``1 / mean_days``
    (drawn before today's absentees join, so nobody leaving today is back today); each
    of today's deserters (refusers) is caught with ``return_probability``: one criminal
    case each (``prosecuted``), absent from now on instead of leaving for good.

    Returns:
        People prosecuted today and people back on duty today ``(R,)``.
    """
    prosecuted = np.zeros(absent.shape[0], dtype=draws.dtype)
    rejoined = np.zeros(absent.shape[0], dtype=draws.dtype)
    for k, cause in enumerate(ABSENCE_CAUSES):
        if cause not in ch.absence_return:
            continue
        col = _SPLIT_CAUSES.index(cause)
        back = draws.binomial(f"{ch.id}/rejoin/{cause}", absent[:, k], ch.absence_rate[cause])
        caught = draws.binomial(
            f"{ch.id}/caught/{cause}", by_cause[:, col], ch.absence_return[cause].at(t)
        )
        by_cause[:, col] -= caught
        absent[:, k] += caught - back
        prosecuted = prosecuted + caught
        rejoined = rejoined + back
    return prosecuted, rejoined


def _mobilise(draws: Draws, ch: ChannelPlan, t: int, pool: Array) -> tuple[Array, Array]:
    """People joining through mobilisation waves today, and those who evaded.

    A wave of ``size`` people over ``duration`` days calls the same number each day
    (integers in the stochastic mode, summing to the size); each person called joins
    unless they evade. Everyone called leaves the pool, evaders included. A wave whose
    size counts arrivals calls ``size / (1 - evasion)`` the same way, so that
    ``size`` arrive on average (exactly, in the mean-field mode)."""
    runs = pool.shape[0]
    joined_total = np.zeros(runs, dtype=draws.dtype)
    evaded_total = np.zeros(runs, dtype=draws.dtype)
    for k, wave in enumerate(ch.waves):
        step = t - wave.start_day
        if step < 0 or np.all(step >= wave.duration):
            continue
        share_now = np.clip((step + 1) / wave.duration, 0.0, 1.0)
        share_before = np.clip(step / wave.duration, 0.0, 1.0)
        size = wave.size
        if wave.arrivals:
            # Evasion raises the calls; an evasion share of 1 calls nobody (checks
            # keep it below 1 for such waves).
            with np.errstate(divide="ignore", invalid="ignore"):
                size = np.where(wave.evasion < 1.0, wave.size / (1.0 - wave.evasion), 0.0)
        if draws.dtype is np.int64:
            called = np.floor(size * share_now) - np.floor(size * share_before)
            called = called.astype(np.int64)
        else:
            called = size * (share_now - share_before)
        if ch.pool >= 0:
            called = np.minimum(called, pool[:, ch.pool])
            pool[:, ch.pool] -= called
        joined = draws.binomial(f"{ch.id}/wave{k}", called, 1.0 - wave.evasion)
        joined_total = joined_total + joined
        evaded_total = evaded_total + (called - joined)
    return joined_total, evaded_total
