"""The evidence table: which claims and assumptions each part of a scenario rests on.

Pure data, no printing: the CLI renders it, reports use :meth:`EvidenceTable.rests_on_weak`
to flag results that depend on unverified reports, denials or assumptions.

Names are the readable parameter names of :mod:`forcegen.scenario.walk`
(``channels.prisoners.pay.paid_share``); events are named ``events.<index>``. A
parameter inside an event also rests on the event's own evidence or assumption.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from forcegen.errors import UsageError
from forcegen.scenario.model import Claim, ClaimStatus, Scenario
from forcegen.scenario.params import Param
from forcegen.scenario.walk import iter_params
from forcegen.scenario.yamlsource import Path

__all__ = [
    "CLAIM_STATUSES",
    "WEAK_STATUSES",
    "AssumptionUse",
    "Basis",
    "ClaimUse",
    "EvidenceTable",
    "WeakBasis",
    "evidence_status_line",
    "evidence_table",
]

CLAIM_STATUSES: tuple[str, ...] = get_args(ClaimStatus)
"""Verification statuses of claims, strongest first as the brief lists them."""
WEAK_STATUSES: frozenset[str] = frozenset({"unverified-report", "denied"})
"""Claim statuses a result should be flagged for resting on (besides assumptions)."""


@dataclass(frozen=True)
class Basis:
    """What one parameter or event rests on.

    Attributes:
        name: Parameter name (``losses.killed_per_day``) or event name (``events.2``).
        claims: Ids of the claims it cites (unknown ids are left out).
        assumption: Its stated rationale, if any.
        default: True for a parameter at the model's default, which carries its own
            assumption (e.g. "zero by default"): one the scenario does not set, or
            sets to exactly that default (value and rationale), so that a scenario
            counts the same fresh and stored as canonical JSON.
    """

    name: str
    claims: tuple[str, ...]
    assumption: str | None
    default: bool = False


@dataclass(frozen=True)
class ClaimUse:
    """A claim and the parameters and events resting on it."""

    claim: Claim
    parameters: tuple[str, ...]
    events: tuple[str, ...]


@dataclass(frozen=True)
class AssumptionUse:
    """One assumption rationale and the parameters and events stating it.

    Attributes:
        default: True when these are model defaults rather than values the scenario
            sets.
    """

    rationale: str
    parameters: tuple[str, ...]
    events: tuple[str, ...]
    default: bool = False


@dataclass(frozen=True)
class WeakBasis:
    """Which of the asked-for parameters rest on weak inputs, and on which.

    Attributes:
        parameters: Names (of those asked for) resting on at least one weak input.
        claims: The weak claims involved (status ``unverified-report`` or ``denied``).
        assumptions: Rationales of the stated assumptions involved.
        defaults: Names of the model defaults involved (assumed, not stated).
        reasons: For each name in ``parameters``, one line per weak input, e.g.
            ``"unverified-report: osechkin-wagner"`` or ``"assumption: short training"``.
    """

    parameters: tuple[str, ...]
    claims: tuple[Claim, ...]
    assumptions: tuple[str, ...]
    defaults: tuple[str, ...]
    reasons: Mapping[str, tuple[str, ...]]

    def __bool__(self) -> bool:
        """True when anything asked for rests on a weak input."""
        return bool(self.parameters)


@dataclass(frozen=True)
class EvidenceTable:
    """Claims, assumptions and what rests on each, for one scenario.

    Attributes:
        claims: Every claim of the scenario (ledger included), in ledger order.
        assumptions: Every distinct assumption rationale, in order of first use;
            stated ones and model defaults are separate entries.
        unsourced: Parameters with neither evidence nor assumption.
        claims_by_status: Number of claims per status (every status present).
        parameters_by_status: Number of parameters resting on at least one claim of
            each status, plus ``assumption`` (stated or default) and ``unsourced``.
        bases: What each parameter and event rests on, by name.
    """

    claims: tuple[ClaimUse, ...]
    assumptions: tuple[AssumptionUse, ...]
    unsourced: tuple[str, ...]
    claims_by_status: Mapping[str, int]
    parameters_by_status: Mapping[str, int]
    bases: Mapping[str, Basis] = field(default_factory=dict)

    def rests_on_weak(self, names: Iterable[str]) -> WeakBasis:
        """Which of ``names`` rest on an unverified report, a denial or an assumption.

        A name selects the parameter or event of that name, everything under it
        (``channels.prisoners`` selects all the channel's parameters), and the event
        that holds it (``events.3.size_people`` also rests on ``events.3``).

        Raises:
            UsageError: A name matches no parameter or event.
        """
        statuses = {use.claim.id: use.claim for use in self.claims}
        reasons: dict[str, tuple[str, ...]] = {}
        weak_claims: dict[str, Claim] = {}
        assumptions: dict[str, None] = {}
        defaults: dict[str, None] = {}
        for name in names:
            why: list[str] = []
            for basis in self._select(name):
                for claim_id in basis.claims:
                    claim = statuses[claim_id]
                    if claim.status in WEAK_STATUSES:
                        weak_claims[claim.id] = claim
                        why.append(f"{claim.status}: {claim.id}")
                if basis.assumption is not None:
                    kind = "default" if basis.default else "assumption"
                    why.append(f"{kind}: {basis.assumption} ({basis.name})")
                    if basis.default:
                        defaults[basis.name] = None
                    else:
                        assumptions[basis.assumption] = None
            if why:
                reasons[name] = tuple(dict.fromkeys(why))
        return WeakBasis(
            parameters=tuple(reasons),
            claims=tuple(weak_claims.values()),
            assumptions=tuple(assumptions),
            defaults=tuple(defaults),
            reasons=reasons,
        )

    def _select(self, name: str) -> list[Basis]:
        chosen = [
            basis
            for key, basis in self.bases.items()
            if key == name or key.startswith(name + ".") or name.startswith(key + ".")
        ]
        if not chosen:
            close = difflib.get_close_matches(name, list(self.bases), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"no parameter or event named '{name}'{hint}")
        return chosen


def evidence_table(scenario: Scenario) -> EvidenceTable:
    """Build the evidence table of a validated scenario (ledger claims merged)."""
    bases = _bases(scenario)
    is_event = {name: _is_event_name(name) for name in bases}
    claim_uses = tuple(
        ClaimUse(
            claim,
            tuple(n for n, b in bases.items() if claim.id in b.claims and not is_event[n]),
            tuple(n for n, b in bases.items() if claim.id in b.claims and is_event[n]),
        )
        for claim in scenario.claims
    )
    return EvidenceTable(
        claims=claim_uses,
        assumptions=_assumptions(bases, is_event),
        unsourced=tuple(
            n for n, b in bases.items() if not is_event[n] and not b.claims and not b.assumption
        ),
        claims_by_status={s: sum(c.status == s for c in scenario.claims) for s in CLAIM_STATUSES},
        parameters_by_status=_parameter_counts(scenario, bases, is_event),
        bases=bases,
    )


def evidence_status_line(scenario: Scenario) -> str:
    """One line on what a scenario rests on, e.g. ``evidence: 16 claims (5
    unverified-report, 2 denied, ...); 103 parameters: 40 cite claims, 70 state an
    assumption, 31 model defaults, 0 without a source``. Plain text, no markup."""
    table = evidence_table(scenario)
    statuses = ", ".join(f"{n} {s}" for s, n in table.claims_by_status.items() if n)
    params = [b for name, b in table.bases.items() if not _is_event_name(name)]
    citing = sum(bool(b.claims) for b in params)
    stated = sum(b.assumption is not None and not b.default for b in params)
    defaults = sum(b.default for b in params)
    claims = f"{len(table.claims)} claims" + (f" ({statuses})" if statuses else "")
    return (
        f"evidence: {claims}; {len(params)} parameters: {citing} cite claims, "
        f"{stated} state an assumption, {defaults} model defaults, "
        f"{len(table.unsourced)} without a source"
    )


def _is_event_name(name: str) -> bool:
    return name.startswith("events.") and name.count(".") == 1


def _bases(scenario: Scenario) -> dict[str, Basis]:
    known = {c.id for c in scenario.claims}
    bases: dict[str, Basis] = {}
    for ref in iter_params(scenario):
        cited = tuple(c for c in dict.fromkeys(ref.param.evidence) if c in known)
        default = _is_default(scenario, ref.path)
        bases[ref.name] = Basis(ref.name, cited, ref.param.assumption, default)
    for i, event in enumerate(scenario.events):
        cited = tuple(c for c in dict.fromkeys(event.evidence) if c in known)
        bases[f"events.{i}"] = Basis(f"events.{i}", cited, event.assumption)
    return bases


def _is_default(scenario: Scenario, path: Path) -> bool:
    """True when the value at ``path`` is the model's default for its field: the same
    value with the same stated rationale (``zero by default``) and no evidence.

    Decided by content, not by whether the YAML wrote the field: which fields a
    document set (pydantic's ``model_fields_set``) is lost when a scenario is dumped
    to canonical JSON and validated again (stored runs, result folders), where every
    field is written out. A scenario that writes a default out word for word states
    the same thing, and counts the same, fresh or stored.
    """
    parent: Any = scenario
    for part in path[:-1]:
        parent = _child(parent, part)
    if not isinstance(parent, BaseModel):
        return False
    name = _field_name(parent, path[-1])
    if name is None:
        return False
    info = type(parent).model_fields[name]
    if info.default_factory is None and info.default is PydanticUndefined:
        return False
    default = info.get_default(call_default_factory=True)
    return isinstance(default, Param) and getattr(parent, name) == default


def _field_name(model: BaseModel, key: str | int) -> str | None:
    for name, info in type(model).model_fields.items():
        if key in (name, info.alias):
            return name
    return None


def _child(obj: Any, part: str | int) -> Any:
    if isinstance(obj, BaseModel):
        name = _field_name(obj, part)
        return None if name is None else getattr(obj, name)
    if isinstance(obj, dict):
        return obj.get(part)
    if isinstance(obj, list) and isinstance(part, int) and 0 <= part < len(obj):
        return obj[part]
    return None


def _assumptions(
    bases: Mapping[str, Basis], is_event: Mapping[str, bool]
) -> tuple[AssumptionUse, ...]:
    grouped: dict[tuple[str, bool], tuple[list[str], list[str]]] = {}
    for name, basis in bases.items():
        if basis.assumption is None:
            continue
        params, events = grouped.setdefault((basis.assumption, basis.default), ([], []))
        (events if is_event[name] else params).append(name)
    return tuple(
        AssumptionUse(rationale, tuple(params), tuple(events), default)
        for (rationale, default), (params, events) in grouped.items()
    )


def _parameter_counts(
    scenario: Scenario, bases: Mapping[str, Basis], is_event: Mapping[str, bool]
) -> dict[str, int]:
    status = {c.id: c.status for c in scenario.claims}
    params = [b for n, b in bases.items() if not is_event[n]]
    counts = {s: sum(any(status[c] == s for c in b.claims) for b in params) for s in CLAIM_STATUSES}
    counts["assumption"] = sum(b.assumption is not None for b in params)
    counts["unsourced"] = sum(not b.claims and b.assumption is None for b in params)
    return counts
