"""Cross-field rules of conscription channels (``kind: conscription``), located by path.

:mod:`forcegen.scenario.checks` turns each :class:`ConscriptionFinding` into a located
problem (file, line, field) like its own findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from forcegen.scenario.model import Channel, ConscriptionEnlistment, Scenario
from forcegen.scenario.params import Param

__all__ = ["ConscriptionFinding", "conscription_findings"]

Path = tuple[str | int, ...]

_CONTRACT_FIELDS = ("term_days", "renewal_term_days", "renewal_probability", "renew_into")


@dataclass(frozen=True)
class ConscriptionFinding:
    """One problem: where, what, ``error`` or ``warning``, and whether it is the key
    (rather than the value) that is wrong."""

    path: Path
    message: str
    severity: str = "error"
    at_key: bool = False


def _upper(param: Param) -> float:
    return max(d.support[1] for d in param.distributions)


def _lower(param: Param) -> float:
    return min(d.support[0] for d in param.distributions)


def conscription_findings(scenario: Scenario) -> Iterator[ConscriptionFinding]:
    """Every inconsistency of a conscription channel, or of a conscription block or
    enlistment model on another channel."""
    kinds: dict[str, str] = {c.id: c.kind for c in scenario.channels}
    for i, ch in enumerate(scenario.channels):
        yield from _kind_and_block(i, ch)
        if ch.conscription is not None and ch.kind == "conscription":
            yield from _contract_fields(i, ch)
            yield from _conversion(i, ch, kinds)
            yield from _service(scenario, i, ch)


def _kind_and_block(i: int, ch: Channel) -> Iterator[ConscriptionFinding]:
    here: Path = ("channels", i)
    by_call_up = isinstance(ch.enlistment, ConscriptionEnlistment)
    if ch.kind == "conscription" and ch.conscription is None:
        yield ConscriptionFinding(
            (*here, "kind"),
            "a conscription channel needs a `conscription:` block with its call_ups and "
            "service_days",
        )
    if ch.kind != "conscription" and ch.conscription is not None:
        yield ConscriptionFinding(
            (*here, "conscription"),
            f"only a `kind: conscription` channel takes a conscription block (this one is "
            f"'{ch.kind}')",
            at_key=True,
        )
    if ch.kind == "conscription" and not by_call_up:
        yield ConscriptionFinding(
            (*here, "enlistment", "model"),
            "a conscription channel takes `enlistment: {model: conscription}`: its "
            "conscripts arrive through conscription.call_ups",
        )
    if ch.kind != "conscription" and by_call_up:
        yield ConscriptionFinding(
            (*here, "enlistment", "model"),
            "enlistment model 'conscription' needs `kind: conscription` and a conscription block",
        )


def _contract_fields(i: int, ch: Channel) -> Iterator[ConscriptionFinding]:
    instead = {
        "term_days": "conscription.service_days",
        "renewal_term_days": "conscription.service_days",
        "renewal_probability": "conscription.conversion_at_term_end",
        "renew_into": "conscription.convert_into",
    }
    for key in _CONTRACT_FIELDS:
        if key in ch.contract.model_fields_set:
            yield ConscriptionFinding(
                ("channels", i, "contract", key),
                f"a conscription channel's service is set by its conscription block: "
                f"use {instead[key]} instead of contract.{key}",
                at_key=True,
            )


def _conversion(i: int, ch: Channel, kinds: dict[str, str]) -> Iterator[ConscriptionFinding]:
    cons = ch.conscription
    assert cons is not None
    here: Path = ("channels", i, "conscription")
    target = cons.convert_into
    if target is None:
        for key in ("conversion_per_day", "conversion_at_term_end"):
            if _upper(getattr(cons, key)) > 0:
                yield ConscriptionFinding(
                    (*here, key),
                    "conscripts who convert need a contract channel to join: give "
                    "conscription.convert_into",
                )
        return
    if target not in kinds:
        known = ", ".join(k for k, v in kinds.items() if v != "conscription") or "none"
        yield ConscriptionFinding(
            (*here, "convert_into"), f"unknown channel '{target}' (contract channels: {known})"
        )
    elif target == ch.id or kinds[target] == "conscription":
        yield ConscriptionFinding(
            (*here, "convert_into"),
            f"conscripts convert into a contract channel, not the conscription channel '{target}'",
        )


def _service(scenario: Scenario, i: int, ch: Channel) -> Iterator[ConscriptionFinding]:
    cons = ch.conscription
    assert cons is not None
    here: Path = ("channels", i)
    shortest = _lower(cons.service_days)
    if shortest < 1:
        yield ConscriptionFinding(
            (*here, "conscription", "service_days"),
            f"the service term must be at least 1 day (it can be {shortest:g})",
        )
    if cons.deployable:
        training = _upper(ch.training_days)
        if training >= shortest:
            yield ConscriptionFinding(
                (*here, "conscription", "service_days"),
                f"the service term (as short as {shortest:g} days) must exceed the "
                f"training (up to {training:g} days), since the term includes training",
            )
    else:
        for state in ("deployed", "recovering"):
            if _upper(getattr(ch.initial, state)) > 0:
                yield ConscriptionFinding(
                    (*here, "initial", state),
                    f"conscripts of this channel may not be deployed (conscription."
                    f"deployable is false), so nobody is {state} on the start date: "
                    f"count conscripts in service under initial.training",
                )
        if "training_days" in ch.model_fields_set and _upper(ch.training_days) > 0:
            yield ConscriptionFinding(
                (*here, "training_days"),
                "conscripts who may not be deployed serve their whole term undeployed: "
                "training_days is not used",
                severity="warning",
            )
    start, end = scenario.start_date, scenario.end_date
    for k, call in enumerate(cons.call_ups):
        if not start <= call.date <= end:
            yield ConscriptionFinding(
                (*here, "conscription", "call_ups", k, "date"),
                f"call-up date {call.date} is outside the simulated days {start} … {end}",
            )
