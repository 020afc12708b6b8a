"""Compare scenarios run with the same seed: paired differences and what changed.

Results run with the same seed share the random streams of every channel,
transition and parameter they have in common (common random numbers, see
:mod:`forcegen.engine.streams`), so replicate ``k`` of one scenario is the natural
partner of replicate ``k`` of another. :func:`compare` reports, for each result
against the first, bands of the *paired* per-replicate differences — much narrower
than the difference of two independent bands when the scenarios share most inputs —
and the parameters that differ between the scenarios.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import BaseModel

from forcegen.analysis.basis import AnswerBasis, Screen, input_evidence, merge_evidence
from forcegen.errors import UsageError
from forcegen.results.result import Result
from forcegen.results.summary import Band
from forcegen.scenario.model import EXIT_CAUSES, Scenario
from forcegen.scenario.params import Param
from forcegen.scenario.walk import iter_params

__all__ = [
    "Comparison",
    "PairComparison",
    "ParamChange",
    "QuantityDiff",
    "compare",
    "parameter_changes",
    "structure_changes",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class QuantityDiff:
    """One quantity in a base and another scenario, and their paired difference.

    Attributes:
        name: What is compared, e.g. ``deployed strength at horizon``.
        unit: Unit of every value (``people``, or a currency).
        base: Band across replicates in the base scenario.
        other: Band in the other scenario.
        difference: Band of the per-replicate difference ``other − base``.
        mean_difference: Mean of the per-replicate differences.
        share_higher: Share of replicates where ``other > base``.
        share_lower: Share of replicates where ``other < base``.
        basis: The inputs the per-replicate difference rests on most
            (:mod:`forcegen.analysis.basis`), None when not computed.
    """

    name: str
    unit: str
    base: Band
    other: Band
    difference: Band
    mean_difference: float
    share_higher: float
    share_lower: float
    basis: AnswerBasis | None = None


@dataclass(frozen=True)
class ParamChange:
    """A parameter that differs between two scenarios.

    Attributes:
        name: Readable parameter name (``channels.prisoners.pay.paid_share``).
        change: ``changed``, ``added`` (only in the other scenario) or ``removed``
            (only in the base).
        before: ``Param.describe()`` in the base scenario (None when added).
        after: ``Param.describe()`` in the other scenario (None when removed).
        unit: Unit of the parameter.
    """

    name: str
    change: str
    before: str | None
    after: str | None
    unit: str


@dataclass(frozen=True, eq=False)
class PairComparison:
    """One result against the base (the first result given to :func:`compare`).

    Attributes:
        base: Base scenario name.
        other: Other scenario name.
        runs: Replicates paired.
        quantities: Compared quantities, in display order.
        strength_difference: Quantiles (columns 0.05, 0.25, 0.5, 0.75, 0.95) by date
            of the paired difference in deployed strength (people).
        parameters: Parameters that differ.
        structure: Other differences (channels, pools, events, dates), one line each.
    """

    base: str
    other: str
    runs: int
    quantities: tuple[QuantityDiff, ...]
    strength_difference: pd.DataFrame
    parameters: tuple[ParamChange, ...]
    structure: tuple[str, ...]

    def quantity(self, name: str) -> QuantityDiff:
        """The compared quantity called ``name`` (``KeyError`` if none)."""
        for q in self.quantities:
            if q.name == name:
                return q
        raise KeyError(name)

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: base, other and difference bands (median, low, high)."""
        rows = []
        for q in self.quantities:
            rows.append(
                {
                    "quantity": q.name,
                    "unit": q.unit,
                    "base_median": q.base.median,
                    "other_median": q.other.median,
                    "difference_median": q.difference.median,
                    "difference_low": q.difference.low,
                    "difference_high": q.difference.high,
                    "share_higher": q.share_higher,
                }
            )
        return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every result compared with the first.

    Attributes:
        names: Scenario names, base first.
        seed: The common seed.
        runs: Replicates paired (the smallest ensemble's size).
        q: Quantiles of the bands.
        pairs: One :class:`PairComparison` per result after the first.
    """

    names: tuple[str, ...]
    seed: int
    runs: int
    q: tuple[float, float]
    pairs: tuple[PairComparison, ...]


def compare(results: Sequence[Result], q: tuple[float, float] = (0.05, 0.95)) -> Comparison:
    """Paired differences of every result against the first.

    Args:
        results: Two or more results run with the same seed, mode, start date and
            horizon (and currency). Ensembles of different sizes are paired on their
            common first replicates (replicate ``k`` does not depend on how many run).
        q: Quantiles of the bands.

    Raises:
        UsageError: Fewer than two results, or results that cannot be paired.
    """
    if len(results) < 2:
        raise UsageError("compare needs at least two results")
    base = results[0]
    for r in results[1:]:
        _check_pairable(base, r)
    runs = min(r.runs for r in results)
    pairs = tuple(_pair(base, r, runs, q) for r in results[1:])
    return Comparison(
        names=tuple(r.scenario.name for r in results),
        seed=base.seed,
        runs=runs,
        q=q,
        pairs=pairs,
    )


def _check_pairable(a: Result, b: Result) -> None:
    what = f"{a.scenario.name!r} and {b.scenario.name!r}"
    if a.seed != b.seed:
        raise UsageError(
            f"{what} were run with different seeds ({a.seed}, {b.seed}); paired "
            "differences need common random numbers: run both with the same seed"
        )
    if a.mode != b.mode:
        raise UsageError(f"{what} were run in different modes ({a.mode}, {b.mode})")
    if (a.scenario.start_date, a.scenario.horizon_days) != (
        b.scenario.start_date,
        b.scenario.horizon_days,
    ):
        raise UsageError(f"{what} cover different dates; compare needs the same horizon")
    if a.scenario.currency != b.scenario.currency:
        raise UsageError(
            f"{what} use different currencies ({a.scenario.currency}, {b.scenario.currency})"
        )


def _pair(a: Result, b: Result, runs: int, q: tuple[float, float]) -> PairComparison:
    quantities: list[QuantityDiff] = []
    # Replicate k draws the same quantile of a parameter in both (common random
    # numbers), so either scenario's values rank the replicates alike; the other's
    # are taken where both have the parameter (it may be uncertain only there).
    screen = Screen.of(
        {**a.parameters, **b.parameters},
        merge_evidence(input_evidence(a.scenario), input_evidence(b.scenario)),
        runs,
    )

    def add(name: str, unit: str, va: FloatArray, vb: FloatArray) -> None:
        va, vb = va[:runs], vb[:runs]
        diff = vb - va
        quantities.append(
            QuantityDiff(
                name=name,
                unit=unit,
                base=Band.of(va, q),
                other=Band.of(vb, q),
                difference=Band.of(diff, q),
                mean_difference=float(diff.mean()),
                share_higher=float((diff > 0).mean()),
                share_lower=float((diff < 0).mean()),
                basis=screen.basis(diff),
            )
        )

    deployed_a = a.total("strength", categories="deployed")[:runs]
    deployed_b = b.total("strength", categories="deployed")[:runs]
    add("deployed strength at horizon", "people", deployed_a[:, -1], deployed_b[:, -1])
    add(
        "in service at horizon",
        "people",
        a.total("strength")[:, -1],
        b.total("strength")[:, -1],
    )
    add(
        "deployed person-days",
        "person-days",
        deployed_a.sum(axis=1),
        deployed_b.sum(axis=1),
    )
    add("recruits, all channels", "people", _recruits(a, None), _recruits(b, None))
    for ch in dict.fromkeys([*a.channels, *b.channels]):
        add(f"recruits, {ch}", "people", _recruits(a, ch), _recruits(b, ch))
    for cause in EXIT_CAUSES:
        la = a.total("outflow", categories=cause).sum(axis=1)
        lb = b.total("outflow", categories=cause).sum(axis=1)
        if la[:runs].any() or lb[:runs].any():
            add(f"exits, {cause}", "people", la, lb)
    currency = a.scenario.currency
    add(f"cost paid ({currency})", currency, _money(a, "cost"), _money(b, "cost"))
    add(f"promised, unpaid ({currency})", currency, _money(a, "unpaid"), _money(b, "unpaid"))

    levels = [q[0], 0.25, 0.5, 0.75, q[1]]
    diff = deployed_b - deployed_a
    frame = pd.DataFrame(
        np.quantile(diff, levels, axis=0).T, index=a.dates, columns=[float(x) for x in levels]
    )
    return PairComparison(
        base=a.scenario.name,
        other=b.scenario.name,
        runs=runs,
        quantities=tuple(quantities),
        strength_difference=frame,
        parameters=parameter_changes(a.scenario, b.scenario),
        structure=structure_changes(a.scenario, b.scenario),
    )


def _recruits(r: Result, channel: str | None) -> FloatArray:
    if channel is not None and channel not in r.channels:
        return np.zeros(r.runs)
    return np.asarray(r.total("inflow", channels=channel, categories="recruited").sum(axis=1))


def _money(r: Result, name: str) -> FloatArray:
    return np.asarray(r.total(name).sum(axis=1))


def _value_fields(param: Param) -> object:
    # What determines the numbers a parameter produces: its distribution(s) and step
    # dates, not its evidence, assumption or note.
    return param.model_dump(exclude={"evidence", "assumption", "note"})


def parameter_changes(base: Scenario, other: Scenario) -> tuple[ParamChange, ...]:
    """Parameters whose values differ between two scenarios, matched by readable name
    (:func:`forcegen.scenario.walk.iter_params`), in the order they appear (base
    first, then those only in ``other``).

    Only the value matters (distribution, series steps): a parameter whose evidence
    or rationale alone changed is not listed. Events are named by position
    (``events.2.size_people``), so inserting an event renames those after it.
    """
    a = {ref.name: ref for ref in iter_params(base)}
    b = {ref.name: ref for ref in iter_params(other)}
    out: list[ParamChange] = []
    for name, ref in a.items():
        if name not in b:
            out.append(ParamChange(name, "removed", ref.param.describe(), None, ref.unit))
        elif _value_fields(ref.param) != _value_fields(b[name].param):
            out.append(
                ParamChange(
                    name, "changed", ref.param.describe(), b[name].param.describe(), ref.unit
                )
            )
    for name, ref in b.items():
        if name not in a:
            out.append(ParamChange(name, "added", None, ref.param.describe(), ref.unit))
    return tuple(out)


def structure_changes(base: Scenario, other: Scenario) -> tuple[str, ...]:
    """Differences other than parameter values, one plain line each: channels and
    pools added or removed, events added, removed or changed (by position), and
    and the settings of channels, pools and losses that are not parameters (active,
    pool, enlistment model, a conscription channel's ``deployable``, …)."""
    lines: list[str] = []
    for what, xs, ys in (
        ("channel", [c.id for c in base.channels], [c.id for c in other.channels]),
        ("pool", [p.id for p in base.pools], [p.id for p in other.pools]),
    ):
        lines += [f"{what} {x} only in {base.name}" for x in xs if x not in ys]
        lines += [f"{what} {y} only in {other.name}" for y in ys if y not in xs]
    for ch in base.channels:
        if ch.id not in [c.id for c in other.channels]:
            continue
        och = other.channel(ch.id)
        for attr in ("active", "pool", "kind"):
            if getattr(ch, attr) != getattr(och, attr):
                lines.append(f"channel {ch.id}: {attr} {getattr(ch, attr)} → {getattr(och, attr)}")
        if ch.enlistment.model != och.enlistment.model:
            lines.append(
                f"channel {ch.id}: enlistment {ch.enlistment.model} → {och.enlistment.model}"
            )
        else:
            lines += _setting_lines(f"channel {ch.id}", ch, och, skip={"active", "pool", "kind"})
    for pool in base.pools:
        if pool.id in [p.id for p in other.pools]:
            opool = next(p for p in other.pools if p.id == pool.id)
            lines += _setting_lines(f"pool {pool.id}", pool, opool, skip=set())
    lines += _setting_lines("losses", base.losses, other.losses, skip=set())
    n = max(len(base.events), len(other.events))
    for i in range(n):
        ea = base.events[i] if i < len(base.events) else None
        eb = other.events[i] if i < len(other.events) else None
        if ea is None and eb is not None:
            lines.append(f"events.{i} ({_event_label(eb)}) only in {other.name}")
        elif eb is None and ea is not None:
            lines.append(f"events.{i} ({_event_label(ea)}) only in {base.name}")
        elif ea is not None and eb is not None and _event_shape(ea) != _event_shape(eb):
            lines.append(f"events.{i}: {_event_label(ea)} → {_event_label(eb)}")
    if (base.start_date, base.horizon_days) != (other.start_date, other.horizon_days):
        lines.append("different start date or horizon")
    return tuple(lines)


_NOT_SETTINGS = frozenset({"id", "label", "evidence", "assumption", "note", "source"})
"""Fields that name or source a thing rather than set how it behaves."""


def _settings(model: object, path: str = "") -> dict[str, object]:
    """Every setting of ``model`` that is not a parameter, by dotted path: switches,
    names, modes and counts such as a conscription channel's ``deployable`` or a
    mobilisation's ``size_counts`` (parameters are compared by
    :func:`parameter_changes`)."""
    if isinstance(model, Param):
        return {}
    if isinstance(model, BaseModel):
        found: dict[str, object] = {}
        for name in type(model).model_fields:
            if name not in _NOT_SETTINGS:
                found |= _settings(getattr(model, name), f"{path}.{name}" if path else name)
        return found
    if isinstance(model, list | tuple) and any(isinstance(x, BaseModel) for x in model):
        found = {}
        for i, item in enumerate(model):
            found |= _settings(item, f"{path}.{i}")
        return found
    if isinstance(model, dict) and all(isinstance(x, BaseModel) for x in model.values()):
        # Keyed sections (returns to duty by cause): a key's presence is a setting.
        found = {}
        for key, item in model.items():
            found[f"{path}.{key}"] = "present"
            found |= _settings(item, f"{path}.{key}")
        return found
    return {path: model}


def _setting_lines(what: str, a: object, b: object, *, skip: set[str]) -> list[str]:
    sa, sb = _settings(a), _settings(b)
    return [
        f"{what}: {key} {sa.get(key, 'absent')} → {sb.get(key, 'absent')}"
        for key in sorted(set(sa) | set(sb))
        if key.split(".")[0] not in skip and sa.get(key) != sb.get(key)
    ]


def _event_label(event: BaseModel) -> str:
    kind = getattr(event, "type", "event")
    target = getattr(event, "channel", None) or getattr(event, "pool", None) or ""
    date = getattr(event, "date", "")
    return f"{kind} {target} on {date}".replace("  ", " ")


def _event_shape(event: BaseModel) -> object:
    # Everything but the parameters (compared by parameter_changes) and sources.
    dumped = event.model_dump(exclude={"evidence", "assumption", "note"})
    return {k: v for k, v in dumped.items() if not isinstance(getattr(event, k, None), Param)}
