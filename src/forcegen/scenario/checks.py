"""Everything wrong with a scenario document, as one complete list of located problems.

Two stages, both pure:

1. :func:`validate_document` validates a parsed YAML document against a pydantic model
   and turns *every* validation error into a :class:`~forcegen.errors.Problem` that
   names the field (``channels[0].contract.term_days``), says what was found and what
   was expected, and points at the line of the offending value (or key).
2. :func:`scenario_problems` runs the checks that need the whole validated scenario:
   ids and references, dates inside the horizon, sources of every parameter, value
   ranges by unit, series rules and a few consistency rules between fields.

Value ranges are checked on each distribution's support. Where a tail is unbounded
(a normal distribution without ``low``/``high``, a lognormal), the most extreme quantile
the sampler draws (one in a billion, :data:`TAIL_QUANTILE`) stands in for the infinite
bound, so that e.g. a lognormal daily probability with a small median is accepted while
``normal(0.5, sd=0.5)`` for a probability is not.

Upper bounds that follow from the engine (people, money, durations, multipliers,
dates; see :mod:`forcegen.scenario.bounds`) are checked the same way, and so is the
sum of every source of people over the horizon.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import math
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.bounds import (
    FIRST_DATE,
    LAST_DATE,
    MAX_ARRIVAL_EVASION,
    MAX_DAYS,
    MAX_EXCHANGE_RATE,
    MAX_MONEY,
    MAX_MULTIPLIER,
    MAX_PEOPLE,
    SAMPLED_QUANTILE,
    people_sources,
    sampled_support,
)
from forcegen.scenario.conscription_checks import conscription_findings
from forcegen.scenario.model import (
    HAZARD_CAUSES,
    BehaviouralEnlistment,
    ChangePay,
    Channel,
    LogNormalWages,
    MobilisationWave,
    Pool,
    PricedEnlistment,
    Scenario,
    SeriesEnlistment,
)
from forcegen.scenario.params import Distribution, Param
from forcegen.scenario.walk import (
    ParamRef,
    format_path,
    is_model,
    iter_params,
    unwrap_annotation,
)
from forcegen.scenario.yamlsource import Path, YamlDocument

__all__ = [
    "TAIL_QUANTILE",
    "SourceMap",
    "effective_support",
    "scenario_problems",
    "validate_document",
    "validation_problems",
]

ModelT = TypeVar("ModelT", bound=BaseModel)

TAIL_QUANTILE = SAMPLED_QUANTILE
"""Quantile used in place of an infinite bound when checking value ranges: the most
extreme one the sampler draws, so that no replicate can draw a value the checks did
not see."""


@dataclass(frozen=True)
class SourceMap:
    """Where each part of a (possibly merged) scenario was written.

    Attributes:
        document: The scenario file.
        claims: Index in the merged ``claims`` list → (ledger document, path of the
            claim in it), for claims that came from ledger files.
    """

    document: YamlDocument
    claims: Mapping[int, tuple[YamlDocument, Path]] = field(default_factory=dict)

    def resolve(self, path: Path) -> tuple[YamlDocument, Path]:
        """The document that holds ``path`` and the path inside that document."""
        if len(path) >= 2 and path[0] == "claims" and isinstance(path[1], int):
            origin = self.claims.get(path[1])
            if origin is not None:
                return origin[0], origin[1] + path[2:]
        return self.document, path

    def problem(self, path: Path, message: str, severity: str, *, at_key: bool) -> Problem:
        """A problem about the value at ``path`` (or about its key)."""
        doc, inner = self.resolve(path)
        line, column = doc.locate_key(inner) if at_key else doc.locate(inner)
        return Problem(doc.file, line, column, format_path(inner), message, severity)


# ================================================================ pydantic validation
def validate_document(doc: YamlDocument, model: type[ModelT]) -> ModelT:
    """Validate ``doc.data`` as ``model``.

    Raises:
        ScenarioError: With one located problem per distinct validation error.
    """
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, doc, model)) from None


def validation_problems(
    exc: ValidationError, doc: YamlDocument, model: type[BaseModel]
) -> list[Problem]:
    """Turn a pydantic ``ValidationError`` on ``doc.data`` into located problems,
    one per location (errors from several branches of a union are merged)."""
    grouped: dict[tuple[Path, str], list[str]] = {}
    for error in exc.errors(include_url=False):
        target = _resolve(model, doc.data, error["loc"])
        message = _message(error, target)
        messages = grouped.setdefault(_position(error, target), [])
        if message not in messages:
            messages.append(message)
    problems = []
    for (path, anchor), messages in grouped.items():
        line, column = _where(doc, path, anchor)
        for message in _merge_alternatives(messages):
            problems.append(Problem(doc.file, line, column, format_path(path), message))
    return sorted(problems, key=lambda p: (p.line, p.column, p.field))


def _position(error: ErrorDetails, target: _Target) -> tuple[Path, str]:
    """The path to report and what to point at there: the offending ``key``, the
    ``value``, or for a missing field the ``parent`` mapping."""
    kind, path = error["type"], target.path
    if target.key_error or kind == "extra_forbidden":
        return path, "key"
    if kind == "missing" and path and isinstance(path[-1], int):
        return path[:-1], "value"  # a short [low, high] pair: point at the pair
    if kind == "missing":
        return path, "parent"
    if kind == "union_tag_invalid" and target.discriminator is not None:
        return (*path, target.discriminator), "value"
    return path, "value"


def _where(doc: YamlDocument, path: Path, anchor: str) -> tuple[int, int]:
    if anchor == "key":
        return doc.locate_key(path)
    if anchor == "parent" and path and path not in doc.locations:
        # A missing field is best shown at the key of the mapping that lacks it.
        return doc.locate_key(path[:-1])
    return doc.locate(path)


_GOT = re.compile(r"^expected (.+), (got .+)$")


def _merge_alternatives(messages: list[str]) -> list[str]:
    """``expected A, got X`` + ``expected B, got X`` → ``expected A or B, got X``."""
    matches = [_GOT.match(m) for m in messages]
    if len(messages) < 2 or any(m is None for m in matches):
        return messages
    found = {m.group(2) for m in matches if m is not None}
    if len(found) != 1:
        return messages
    wanted = " or ".join(m.group(1) for m in matches if m is not None)
    return [f"expected {wanted}, {found.pop()}"]


# -- resolving a pydantic error location against the model's annotations ------------
@dataclass
class _Target:
    """What a pydantic error location refers to."""

    path: Path
    annotation: Any = None
    parent: type[BaseModel] | None = None
    description: str | None = None
    key_error: bool = False
    union: dict[str, type[BaseModel]] = field(default_factory=dict)
    discriminator: str | None = None


def _is_union(annotation: Any) -> bool:
    origin = get_origin(annotation)
    return origin is Union or origin is types.UnionType


def _is_branch_label(part: str | int, node: Any) -> bool:
    """True for a location element naming a union member (``int``, ``Param``,
    ``list[int]``) rather than a key present in the data."""
    return isinstance(part, str) and not (isinstance(node, dict) and part in node)


def _branch(annotation: Any, label: str) -> Any:
    """The member of a (non-discriminated) union that pydantic calls ``label``."""
    for member in get_args(annotation):
        if label in (getattr(member, "__name__", None), str(member)):
            return member
    return None


def _union_tags(annotation: Any, discriminator: str) -> dict[str, type[BaseModel]]:
    tags: dict[str, type[BaseModel]] = {}
    for member in get_args(annotation):
        if is_model(member):
            info = member.model_fields.get(discriminator)
            if info is not None and get_origin(info.annotation) is Literal:
                for tag in get_args(info.annotation):
                    tags[str(tag)] = member
    return tags


def _field(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _resolve(model: type[BaseModel], data: Any, loc: tuple[str | int, ...]) -> _Target:
    """Walk ``loc`` through the model's annotations and the data together: drop the
    union tags pydantic inserts, and note the model and field the location names."""
    target = _Target(path=())
    annotation: Any = model
    discriminator: str | None = None
    node: Any = data
    path: list[str | int] = []
    for part in loc:
        annotation, discriminator = unwrap_annotation(annotation, discriminator)
        if discriminator is not None and _is_union(annotation):
            tags = _union_tags(annotation, discriminator)
            if isinstance(part, str) and part in tags:
                annotation, discriminator = tags[part], None
                continue  # pydantic's branch label, not a key of the document
            chosen = node.get(discriminator) if isinstance(node, dict) else None
            annotation = tags.get(str(chosen))
            discriminator = None
        elif _is_union(annotation) and _is_branch_label(part, node):
            annotation = _branch(annotation, str(part))
            continue  # pydantic's name for a union member, not a key of the document
        annotation, discriminator, node = _step(target, annotation, node, part, path)
    target.path = tuple(path)
    target.annotation, discriminator = unwrap_annotation(annotation, discriminator)
    if discriminator is not None:
        target.union = _union_tags(target.annotation, discriminator)
        target.discriminator = discriminator
    return target


def _step(
    target: _Target, annotation: Any, node: Any, part: str | int, path: list[str | int]
) -> tuple[Any, str | None, Any]:
    """Follow one element of a location; returns the next annotation, the
    discriminator of a model field holding a tagged union, and the next data node."""
    origin = get_origin(annotation)
    if part == "[key]":
        target.key_error = True
        return (get_args(annotation)[0] if origin is dict else None), None, node
    path.append(part)
    target.parent, target.description = None, None
    child = _child(node, part)
    if is_model(annotation):
        found = _field(annotation, part)
        target.parent = annotation
        if found is None:
            return None, None, child
        target.description = found.description
        tag = found.discriminator if isinstance(found.discriminator, str) else None
        return found.annotation, tag, child
    args = get_args(annotation)
    if origin is list and args:
        return args[0], None, child
    if origin is tuple and isinstance(part, int) and part < len(args):
        return args[part], None, child
    if origin is dict and len(args) == 2:
        return args[1], None, child
    return None, None, child


def _child(node: Any, part: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


# -- messages ------------------------------------------------------------------------
_PARAM_FORMS = "a number, {value: X}, {range: [low, high]} or {dist: ...}"
_ID_RULE = "lower-case letters, digits, '_' and '-', starting with a letter or digit"
_TYPE_WORDS = {
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping of keys",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time of day",
    "finite_number": "a finite number",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}
_BOUNDS_CTX = {"greater_than": "gt", "greater_than_equal": "ge", "less_than": "lt"}


def _show(value: Any) -> str:
    """A short, YAML-flavoured rendering of a user's value for messages."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value)


def _suggest(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _listing(choices: Iterable[str]) -> str:
    return ", ".join(f"'{c}'" for c in choices)


def _message(error: ErrorDetails, target: _Target) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = f"got {_show(error.get('input'))}"
    if kind == "missing":
        return _missing_message(target)
    if kind == "extra_forbidden":
        return _unknown_key_message(target)
    if kind in ("model_type", "model_attributes_type"):
        if target.annotation is Param:
            return f"expected {_PARAM_FORMS}, {got}"
        return f"expected a mapping of keys, {got}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, {got}"
    if kind == "literal_error":
        allowed = _literal_values(target, str(ctx.get("expected", "")))
        hint = _suggest(error.get("input"), allowed)
        if target.key_error:
            given = _show(error.get("input"))
            return f"unknown key {given}; expected one of {_listing(allowed)}{hint}"
        return f"expected one of {_listing(allowed)}, {got}{hint}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_message(kind, ctx, target, error.get("input"))
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {ctx.get(_BOUNDS_CTX[kind])}, {got}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}, {got}"
    return _other_message(kind, ctx, error, got)


def _other_message(kind: str, ctx: dict[str, Any], error: ErrorDetails, got: str) -> str:
    if kind == "string_pattern_mismatch":
        return f"expected an id of {_ID_RULE}, {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}"
    if kind == "tuple_type":
        return f"expected a list [low, high], {got}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "assertion_error":
        return str(error["msg"]).removeprefix("Assertion failed, ")
    return f"{error['msg']}, {got}"


def _missing_message(target: _Target) -> str:
    if target.path and isinstance(target.path[-1], int):
        return "expected a pair of numbers: [low, high]"
    about = f" ({target.description})" if target.description else ""
    return f"required field missing{about}"


def _unknown_key_message(target: _Target) -> str:
    key = target.path[-1] if target.path else ""
    if target.parent is None:
        return f"unknown key '{key}'"
    allowed = [info.alias or name for name, info in target.parent.model_fields.items()]
    hint = _suggest(key, allowed)
    return f"unknown key '{key}'" + (hint or f"; expected one of {_listing(allowed)}")


def _literal_values(target: _Target, expected: str) -> list[str]:
    if get_origin(target.annotation) is Literal:
        return [str(v) for v in get_args(target.annotation)]
    return re.findall(r"'([^']*)'", expected) or [expected]


def _tag_message(kind: str, ctx: dict[str, Any], target: _Target, given: Any) -> str:
    key = str(ctx.get("discriminator", "")).strip("'")
    tags = list(target.union) or re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        return f"unknown {key} '{tag}'; expected one of {_listing(tags)}{_suggest(tag, tags)}"
    if not isinstance(given, dict):
        return f"expected a mapping with '{key}: ...' (one of {_listing(tags)}), got {_show(given)}"
    return f"missing '{key}': expected one of {_listing(tags)}"


# ===================================================================== scenario checks
@dataclass(frozen=True)
class _Finding:
    """One problem found in a validated scenario, by path in the merged scenario."""

    path: Path
    message: str
    severity: str = "error"
    at_key: bool = False
    related: Path | None = None


def scenario_problems(scenario: Scenario, sources: SourceMap, *, strict: bool) -> list[Problem]:
    """Every cross-field problem of a validated scenario, errors and warnings, in file
    and line order.

    Args:
        scenario: The validated scenario, with ledger claims merged into ``claims``.
        sources: Where each part of it was written.
        strict: Treat parameters with neither evidence nor an assumption as errors
            (warnings otherwise). Built-in scenarios are strict.
    """
    refs = list(iter_params(scenario))
    dates = list(_date_bounds(scenario, refs))
    # The last simulated day is only computed for a start date in range (a start on
    # 9999-12-31 has no last day).
    dated = not any(f.path in (("start_date",), ("horizon_days",)) for f in dates)
    findings = itertools.chain(
        dates,
        _duplicate_ids(scenario),
        _references(scenario),
        _event_dates(scenario) if dated else (),
        _questions(scenario) if dated else (),
        _evidence(scenario, refs, strict=strict),
        _series_rules(scenario, refs, dated=dated),
        _value_ranges(refs),
        _upper_bounds(scenario, refs),
        _hazard_sum(scenario),
        _service_multipliers(scenario),
        _term_vs_training(scenario),
        _behavioural_pools(scenario),
        _currencies(scenario),
        _priced_recruitment(scenario),
        _pay_retention(scenario),
        _start_warnings(scenario),
        _arrival_waves(scenario),
        _front_share_without_exposure(scenario),
        _front_exponent_reference(scenario),
        _conscription(scenario) if dated else (),
    )
    problems = [_to_problem(f, sources) for f in findings]
    return sorted(problems, key=lambda p: (p.file, p.line, p.column, p.field, p.message))


def _to_problem(finding: _Finding, sources: SourceMap) -> Problem:
    message = finding.message
    if finding.related is not None:
        doc, inner = sources.resolve(finding.related)
        line, _ = doc.locate(inner)
        here, _ = sources.resolve(finding.path)
        where = f"line {line}" if doc is here else f"{doc.file} line {line}"
        message += f" (first at {format_path(inner)}, {where})"
    return sources.problem(finding.path, message, finding.severity, at_key=finding.at_key)


# -- ids and references -------------------------------------------------------------
def _duplicate_ids(scenario: Scenario) -> Iterator[_Finding]:
    groups = (
        ("channels", [c.id for c in scenario.channels]),
        ("pools", [p.id for p in scenario.pools]),
        ("claims", [c.id for c in scenario.claims]),
    )
    for key, ids in groups:
        first: dict[str, int] = {}
        for i, item_id in enumerate(ids):
            if item_id in first:
                message = f"duplicate {key.removesuffix('s')} id '{item_id}'"
                yield _Finding((key, i, "id"), message, related=(key, first[item_id], "id"))
            else:
                first[item_id] = i


def _unknown(kind: str, name: str, known: list[str]) -> str:
    known = list(dict.fromkeys(known))
    listing = _listing(known) if known else "none are defined"
    return f"unknown {kind} '{name}'{_suggest(name, known)} (known: {listing})"


def _references(scenario: Scenario) -> Iterator[_Finding]:
    channels = [c.id for c in scenario.channels]
    pools = [p.id for p in scenario.pools]
    for i, channel in enumerate(scenario.channels):
        if channel.pool is not None and channel.pool not in pools:
            yield _Finding(("channels", i, "pool"), _unknown("pool", channel.pool, pools))
        target = channel.contract.renew_into
        if target is not None and target not in channels:
            path = ("channels", i, "contract", "renew_into")
            yield _Finding(path, _unknown("channel", target, channels))
    for i, event in enumerate(scenario.events):
        named = getattr(event, "channel", None)
        if isinstance(named, str) and named not in channels:
            yield _Finding(("events", i, "channel"), _unknown("channel", named, channels))
        pool = getattr(event, "pool", None)
        if isinstance(pool, str) and pool not in pools:
            yield _Finding(("events", i, "pool"), _unknown("pool", pool, pools))
        for j, name in enumerate(getattr(event, "channels", None) or []):
            if name not in channels:
                yield _Finding(("events", i, "channels", j), _unknown("channel", name, channels))


def _event_dates(scenario: Scenario) -> Iterator[_Finding]:
    start, end = scenario.start_date, scenario.end_date
    for i, event in enumerate(scenario.events):
        if event.date < start:
            message = f"event date {event.date} is before the start date {start}"
        elif event.date > end:
            message = f"event date {event.date} is after the last simulated day {end}"
        else:
            continue
        yield _Finding(("events", i, "date"), message)


# -- evidence -------------------------------------------------------------------------
def _questions(scenario: Scenario) -> Iterator[_Finding]:
    """``questions.by`` dates ``hold`` and lies in the horizon; questions ask something."""
    asked = scenario.questions
    if asked is None:
        return
    if not asked.below and asked.hold is None:
        yield _Finding(
            ("questions",), "asks nothing: give below: [people, ...] and/or hold", "warning"
        )
    if asked.by is None:
        return
    if asked.hold is None:
        yield _Finding(("questions", "by"), "by is the date of hold; give hold (people) too")
    elif not scenario.start_date <= asked.by <= scenario.end_date:
        yield _Finding(
            ("questions", "by"),
            f"date {asked.by} is outside the simulated horizon "
            f"{scenario.start_date} to {scenario.end_date}",
        )


def _evidence(scenario: Scenario, refs: list[ParamRef], *, strict: bool) -> Iterator[_Finding]:
    known = [c.id for c in scenario.claims]
    cited: set[str] = set()
    citing: list[tuple[Path, list[str]]] = [(r.path, r.param.evidence) for r in refs]
    citing += [(("events", i), e.evidence) for i, e in enumerate(scenario.events)]
    for path, evidence in citing:
        for j, claim_id in enumerate(evidence):
            cited.add(claim_id)
            if claim_id not in known:
                yield _Finding((*path, "evidence", j), _unknown("claim", claim_id, known))
    for i, claim in enumerate(scenario.claims):
        if claim.id not in cited:
            message = f"claim '{claim.id}' is not cited by any parameter or event"
            yield _Finding(("claims", i, "id"), message, "warning")
    for ref in refs:
        if not ref.param.is_sourced:
            message = (
                "no source: cite claims with `evidence: [claim-id]` or state "
                '`assumption: "rationale"`'
            )
            yield _Finding(ref.path, message, "error" if strict else "warning")


# -- values -----------------------------------------------------------------------------
def effective_support(dist: Distribution) -> tuple[float, float]:
    """Smallest and largest value a distribution can take, with an infinite bound
    replaced by the :data:`TAIL_QUANTILE` (or ``1 - TAIL_QUANTILE``) quantile."""
    return sampled_support(dist)


def _limits(unit: str) -> tuple[float, float] | None:
    """Allowed range of values for a unit (``None``: any real number)."""
    if "probability" in unit or "share" in unit:
        return (0.0, 1.0)
    if unit in ("people", "days", "people per day", "multiplier") or unit.startswith("currency"):
        return (0.0, math.inf)
    return None


def _steps(ref: ParamRef) -> Iterator[tuple[Path, Distribution]]:
    if ref.param.series is None:
        yield ref.path, ref.param.distribution
    else:
        for k, step in enumerate(ref.param.series):
            yield (*ref.path, "series", k), step.distribution


def _value_ranges(refs: list[ParamRef]) -> Iterator[_Finding]:
    for ref in refs:
        limits = _limits(ref.unit)
        for path, dist in _steps(ref):
            low, high = effective_support(dist)
            shown = dist.describe()
            if not (math.isfinite(low) and math.isfinite(high)):
                yield _Finding(path, f"expected a finite number, got {shown}")
            elif limits is not None and limits[1] == 1.0 and (low < 0 or high > 1):
                reach = low if low < 0 else high
                yield _Finding(path, _range_message(ref.unit, shown, reach, "be within [0, 1]"))
            elif limits is not None and low < limits[0]:
                yield _Finding(path, _range_message(ref.unit, shown, low, "not be negative"))


# -- bounds that follow from the engine (forcegen.scenario.bounds) ------------------
_BOUNDS_DOC = "docs/scenarios.md, Bounds"
_DATE_RANGE = f"{FIRST_DATE} to {LAST_DATE}"


def _date_bounds(scenario: Scenario, refs: list[ParamRef]) -> Iterator[_Finding]:
    """Dates outside :data:`FIRST_DATE` … :data:`LAST_DATE`: the start, the last
    simulated day, series steps and claims' publication (events must lie in the
    simulated period, which is checked once that period is known to be in range)."""
    start = scenario.start_date
    if not FIRST_DATE <= start <= LAST_DATE:
        message = f"must be a date from {_DATE_RANGE} ({_BOUNDS_DOC}), got {start}"
        yield _Finding(("start_date",), message)
    elif (LAST_DATE - start).days < scenario.horizon_days - 1:
        end = start + dt.timedelta(days=scenario.horizon_days - 1)
        message = (
            f"the horizon of {scenario.horizon_days:,} days from {start} ends on {end}, "
            f"after {LAST_DATE}, the last date forcegen simulates ({_BOUNDS_DOC})"
        )
        yield _Finding(("horizon_days",), message)
    for ref in refs:
        for k, step in enumerate(ref.param.series or []):
            if not FIRST_DATE <= step.from_date <= LAST_DATE:
                message = f"must be a date from {_DATE_RANGE} ({_BOUNDS_DOC}), got {step.from_date}"
                yield _Finding((*ref.path, "series", k, "from"), message)
    for i, claim in enumerate(scenario.claims):
        if claim.published > LAST_DATE:
            message = f"must be a date up to {LAST_DATE} ({_BOUNDS_DOC}), got {claim.published}"
            yield _Finding(("claims", i, "published"), message)


def _money_currency(scenario: Scenario, path: Path) -> str | None:
    """The currency of the money parameter at ``path`` (None: the scenario's)."""
    head = path[:2]
    if head[:1] == ("channels",) and isinstance(head[1], int):
        channel = scenario.channels[head[1]]
        retention = channel.contract.retention
        if path[2:4] == ("contract", "retention") and retention and retention.currency:
            return retention.currency
        return channel.pay.currency
    if head[:1] == ("pools",) and isinstance(head[1], int):
        return scenario.pools[head[1]].currency
    if head[:1] == ("events",) and isinstance(head[1], int):
        event = scenario.events[head[1]]
        if isinstance(event, ChangePay):
            for channel in scenario.channels:
                if channel.id == event.channel:
                    return channel.pay.currency
    return None


def _upper_bounds(scenario: Scenario, refs: list[ParamRef]) -> Iterator[_Finding]:
    """Values above the bounds of :mod:`forcegen.scenario.bounds`, then the sum of
    every source of people (only when no single count is over the bound already)."""
    rates = {
        name: max(effective_support(d)[1] for d in param.distributions)
        for name, param in scenario.exchange_rates.items()
    }
    people_errors = False
    for ref in refs:
        for path, dist in _steps(ref):
            high = effective_support(dist)[1]
            if not math.isfinite(high):
                continue  # reported by _value_ranges
            message = _over_bound(scenario, ref, path, dist, high, rates)
            if message is not None:
                people_errors |= ref.unit.startswith("people")
                yield _Finding(path, message)
    if people_errors:
        return
    sources = people_sources(scenario)
    total = sum(s.people for s in sources)
    if sources and total > MAX_PEOPLE:
        top = max(sources, key=lambda s: s.people)
        message = (
            f"up to {total:,.0f} people can enter the simulation over the horizon, "
            f"{top.people:,.0f} of them from here; at most {MAX_PEOPLE:,} are allowed in "
            f"all (initial forces, pools with their replenishment and widenings, and "
            f"recruits and call-ups of channels without a pool), so that every stock, "
            f"pool and daily flow fits the 32-bit counts ({_BOUNDS_DOC})"
        )
        yield _Finding(top.path, message)


def _over_bound(
    scenario: Scenario,
    ref: ParamRef,
    path: Path,
    dist: Distribution,
    high: float,
    rates: Mapping[str, float],
) -> str | None:
    """The message for a value over its unit's bound, or None."""
    unit, shown = ref.unit, dist.describe()
    what = f"got {shown}" if "(" not in shown else f"but {shown} reaches {high:g}"
    if unit in ("people", "people per day"):
        limit, reason = float(MAX_PEOPLE), "counts are 32-bit integers"
    elif unit == "days":
        limit, reason = float(MAX_DAYS), "the longest horizon"
    elif unit == "multiplier":
        limit, reason = MAX_MULTIPLIER, "hazards times multipliers must stay finite"
    elif unit == "currency per unit":
        limit, reason = MAX_EXCHANGE_RATE, "converted money must stay finite"
    elif unit.startswith("currency"):
        currency = _money_currency(scenario, path)
        rate = rates.get(currency, 1.0) if currency not in (None, scenario.currency) else 1.0
        if high * rate <= MAX_MONEY or rate > MAX_EXCHANGE_RATE:
            return None  # an exchange rate over its bound is reported on its own
        per = f"{MAX_MONEY:g} {scenario.currency} per person"
        if rate == 1.0:
            return f"must be at most {per} ({_BOUNDS_DOC}), {what}"
        return (
            f"must be at most {per} after conversion ({_BOUNDS_DOC}), {what} {currency}: "
            f"up to {high * rate:g} {scenario.currency} at up to {rate:g} "
            f"{scenario.currency} per {currency} (exchange_rates.{currency})"
        )
    else:
        return None
    if high <= limit:
        return None
    shown_limit = f"{limit:,.0f}" if limit < 1e12 else f"{limit:g}"
    return f"must be at most {shown_limit} ({unit}; {reason}; {_BOUNDS_DOC}), {what}"


def _range_message(unit: str, shown: str, reach: float, rule: str) -> str:
    what = f"got {shown}" if "(" not in shown else f"but {shown} reaches {reach:g}"
    return f"must {rule} ({unit}), {what}"


def _series_rules(scenario: Scenario, refs: list[ParamRef], *, dated: bool) -> Iterator[_Finding]:
    for ref in refs:
        if ref.param.series is None:
            continue
        if not ref.series_allowed:
            message = "cannot change over time: give one value or distribution, not a series"
            yield _Finding((*ref.path, "series"), message, at_key=True)
        if not dated:
            continue
        start, end = scenario.start_date, scenario.end_date
        for k, step in enumerate(ref.param.series):
            when = step.from_date
            path = (*ref.path, "series", k, "from")
            if not FIRST_DATE <= when <= LAST_DATE:
                continue  # an error of its own (_date_bounds)
            if when < start:
                yield _Finding(
                    path, f"step starts {when}, before the start date {start}", "warning"
                )
            elif when > end:
                message = (
                    f"step starts {when}, after the last simulated day {end}; it never applies"
                )
                yield _Finding(path, message, "warning")


def _upper(param: Param) -> float:
    return max(effective_support(d)[1] for d in param.distributions)


def _lower(param: Param) -> float:
    return min(effective_support(d)[0] for d in param.distributions)


def _hazard_sum(scenario: Scenario) -> Iterator[_Finding]:
    losses = scenario.losses
    uppers = {c: _upper(getattr(losses, f"{c}_per_day")) for c in HAZARD_CAUSES}
    total = sum(uppers.values())
    if math.isfinite(total) and total > 1.0:
        parts = " + ".join(f"{c} {u:g}" for c, u in uppers.items())
        message = (
            f"the five daily hazards can add up to {total:g} ({parts}); the sum must not exceed 1"
        )
        yield _Finding(("losses",), message, at_key=True)


def _service_multipliers(scenario: Scenario) -> Iterator[_Finding]:
    steps = scenario.losses.service_multipliers
    for k in range(1, len(steps)):
        before, here = steps[k - 1].until_day, steps[k].until_day
        if here <= before:
            path = ("losses", "service_multipliers", k, "until_day")
            yield _Finding(path, f"until_day must increase: {here} does not follow {before}")


def _term_vs_training(scenario: Scenario) -> Iterator[_Finding]:
    for i, channel in enumerate(scenario.channels):
        term = channel.contract.term_days
        if term is None:
            continue
        shortest, training = _lower(term), _upper(channel.training_days)
        if training >= shortest:
            message = (
                f"the contract term (as short as {shortest:g} days) must exceed the "
                f"training (up to {training:g} days), since the term includes training"
            )
            yield _Finding(("channels", i, "contract", "term_days"), message)


def _behavioural_pools(scenario: Scenario) -> Iterator[_Finding]:
    pools = {p.id: p for p in scenario.pools}
    for i, channel in enumerate(scenario.channels):
        if not isinstance(channel.enlistment, BehaviouralEnlistment):
            continue
        if channel.pool is None:
            message = "behavioural enlistment needs a pool: its propensity is per eligible person"
            yield _Finding(("channels", i, "enlistment", "model"), message)
        elif channel.pool in pools and pools[channel.pool].reference_wage_per_month is None:
            message = (
                f"behavioural enlistment compares pay with the civilian wage: pool "
                f"'{channel.pool}' needs reference_wage_per_month"
            )
            yield _Finding(("channels", i, "pool"), message)


def _currencies(scenario: Scenario) -> Iterator[_Finding]:
    known = [scenario.currency, *scenario.exchange_rates]
    named: list[tuple[Path, str | None]] = [
        (("channels", i, "pay", "currency"), c.pay.currency)
        for i, c in enumerate(scenario.channels)
    ]
    named += [(("pools", i, "currency"), p.currency) for i, p in enumerate(scenario.pools)]
    for path, currency in named:
        if currency is not None and currency not in known:
            message = (
                f"currency '{currency}' has no exchange rate to {scenario.currency}; "
                f"add it under exchange_rates{_suggest(currency, known)}"
            )
            yield _Finding(path, message)


# -- priced recruitment and pay-driven retention (docs/model.md) ---------------------
_SHARE_TOLERANCE = 1e-6


def _priced_recruitment(scenario: Scenario) -> Iterator[_Finding]:
    """A priced channel needs a pool with reservation wages, and such a pool feeds
    priced channels only (other channels would take people without their wages)."""
    pools = {p.id: p for p in scenario.pools}
    for i, channel in enumerate(scenario.channels):
        priced = isinstance(channel.enlistment, PricedEnlistment)
        pool = pools.get(channel.pool) if channel.pool is not None else None
        if priced and channel.pool is None:
            message = "priced enlistment needs a pool: people enlist from its wage distribution"
            yield _Finding(("channels", i, "enlistment", "model"), message)
        elif priced and pool is not None and pool.reservation_wage is None:
            message = (
                f"priced enlistment compares the offer with reservation wages: pool "
                f"'{pool.id}' needs reservation_wage"
            )
            yield _Finding(("channels", i, "pool"), message)
        elif not priced and pool is not None and pool.reservation_wage is not None:
            message = (
                f"pool '{pool.id}' has reservation wages, so only priced channels may draw "
                f"from it; this channel's enlistment is {channel.enlistment.model}"
            )
            yield _Finding(("channels", i, "pool"), message)
    for k, event in enumerate(scenario.events):
        if not isinstance(event, MobilisationWave):
            continue
        for channel in scenario.channels:
            pool = pools.get(channel.pool) if channel.pool is not None else None
            if channel.id == event.channel and pool is not None and pool.reservation_wage:
                message = (
                    f"a mobilisation wave cannot call up from pool '{pool.id}', which has "
                    f"reservation wages (priced enlistment only)"
                )
                yield _Finding(("events", k, "channel"), message)
    for i, pool in enumerate(scenario.pools):
        yield from _wage_distribution(i, pool)


def _wage_distribution(i: int, pool: Pool) -> Iterator[_Finding]:
    wages = pool.reservation_wage
    if wages is None:
        if pool.regions:
            message = "regions apply to priced enlistment only: add reservation_wage"
            yield _Finding(("pools", i, "regions"), message, at_key=True)
        return
    path = ("pools", i, "reservation_wage")
    if isinstance(wages, LogNormalWages):
        if _lower(wages.log_sd) <= 0:
            message = f"must be positive, got {wages.log_sd.distribution.describe()}"
            yield _Finding((*path, "log_sd"), message)
        if _lower(wages.median_per_month) <= 0:
            message = f"must be positive, got {wages.median_per_month.distribution.describe()}"
            yield _Finding((*path, "median_per_month"), message)
    elif _lower(wages.high_per_month) <= _upper(wages.low_per_month):
        message = (
            f"must exceed low_per_month in every replicate: as low as "
            f"{_lower(wages.high_per_month):g}, while low_per_month reaches "
            f"{_upper(wages.low_per_month):g}"
        )
        yield _Finding((*path, "high_per_month"), message)
    first: dict[str, int] = {}
    for j, region in enumerate(pool.regions):
        if region.id in first:
            yield _Finding(
                ("pools", i, "regions", j, "id"),
                f"duplicate region id '{region.id}'",
                related=("pools", i, "regions", first[region.id], "id"),
            )
        first.setdefault(region.id, j)
    if pool.regions:
        total = sum(float(r.share.expected().mean()) for r in pool.regions)
        if abs(total - 1.0) > _SHARE_TOLERANCE:
            message = (
                f"region shares must add up to 1, got {total:g} (expected values; each "
                f"replicate's draws are scaled to add up to 1)"
            )
            yield _Finding(("pools", i, "regions"), message, at_key=True)


def _pay_retention(scenario: Scenario) -> Iterator[_Finding]:
    known = [scenario.currency, *scenario.exchange_rates]
    for i, channel in enumerate(scenario.channels):
        retention = channel.contract.retention
        if retention is None:
            continue
        path = ("channels", i, "contract", "retention")
        currency = retention.currency
        if currency is not None and currency not in known:
            message = (
                f"currency '{currency}' has no exchange rate to {scenario.currency}; "
                f"add it under exchange_rates{_suggest(currency, known)}"
            )
            yield _Finding((*path, "currency"), message)
        if _lower(retention.civilian_wage_per_month) <= 0:
            shown = retention.civilian_wage_per_month
            message = f"must be positive (pay is compared with it as a ratio), got {_shown(shown)}"
            yield _Finding((*path, "civilian_wage_per_month"), message)


def _shown(param: Param) -> str:
    if param.series is None:
        return param.distribution.describe()
    return ", ".join(step.distribution.describe() for step in param.series)


def _conscription(scenario: Scenario) -> Iterator[_Finding]:
    for f in conscription_findings(scenario):
        yield _Finding(f.path, f.message, f.severity, at_key=f.at_key)


# -- start-up warnings: an initial force the model will not carry on smoothly ---------
_START_DOC = "docs/scenarios.md, Start-up warnings"


def _start_warnings(scenario: Scenario) -> Iterator[_Finding]:
    """Initial forces that make the first days of the output an artefact of the start
    (warnings: the scenario runs as written)."""
    for i, channel in enumerate(scenario.channels):
        yield from _empty_training(scenario, i, channel)
        yield from _trainees_without_training(i, channel)
        yield from _recovering_without_wounded(scenario, i, channel)


def _start_recruits(scenario: Scenario, channel: Channel) -> tuple[bool, float | None]:
    """Whether the channel can recruit on day 0, and its expected recruits per day
    then (None when not given as a rate)."""
    enlistment = channel.enlistment
    if not channel.active:
        return False, None
    if isinstance(enlistment, SeriesEnlistment):
        rate = enlistment.recruits_per_day
        dists = rate.distributions
        step = 0
        for k, when in enumerate(rate.step_dates()):
            if when <= scenario.start_date:
                step = k
        dist = dists[step]
        return effective_support(dist)[1] > 0, dist.mean
    if isinstance(enlistment, BehaviouralEnlistment):
        return _upper(enlistment.base_rate_per_day) > 0, None
    return False, None  # mobilisation: only called up by waves


def _empty_training(scenario: Scenario, i: int, channel: Channel) -> Iterator[_Finding]:
    """(a) A running channel that trains, recruits from day 0, and has nobody in training."""
    initial = channel.initial
    training = _upper(channel.training_days)
    running = _upper(initial.deployed) > 0 or _upper(initial.recovering) > 0
    recruits, rate = _start_recruits(scenario, channel)
    if not (running and recruits and training >= 0.5 and _upper(initial.training) < 0.5):
        return
    days = channel.training_days.distribution.mean
    steady = ""
    if rate is not None:
        steady = f", here about {rate * days:,.0f} ({rate:g} a day × {days:g} days)"
    message = (
        f"nobody is in training on the start date, though the channel has people "
        f"deployed, recruits from day 0 and trains for up to {training:g} days: for the "
        f"first training period nobody graduates (transition 'deployed' is 0) and the "
        f"deployed stock gets no reinforcements, a gap that comes from the start, not "
        f"from the scenario; give initial.training as the people already in the "
        f"pipeline (recruits a day × training days{steady}), or ignore this if the "
        f"channel really opens on the start date ({_START_DOC})"
    )
    yield _Finding(("channels", i, "initial", "training"), message, "warning")


def _trainees_without_training(i: int, channel: Channel) -> Iterator[_Finding]:
    """(b) Trainees on the start date in a channel (or replicate) without training."""
    trainees = _upper(channel.initial.training)
    shortest = _lower(channel.training_days)
    if trainees < 0.5 or shortest >= 0.5:
        return
    if channel.conscription is not None and not channel.conscription.deployable:
        return  # undeployable conscripts serve their whole term in `training`
    when = (
        "training_days is 0"
        if _upper(channel.training_days) < 0.5
        else f"training_days can be 0 (as low as {shortest:g})"
    )
    message = (
        f"up to {trainees:,.0f} people are in training on the start date, but {when}: "
        f"forcegen counts them as deployed from day 0 where training is 0 (the training "
        f"stock starts at 0 and they face the deployed hazards at once); move them to "
        f"initial.deployed, or give training_days a length of at least one day "
        f"({_START_DOC})"
    )
    yield _Finding(("channels", i, "initial", "training"), message, "warning")


def _recovering_without_wounded(scenario: Scenario, i: int, channel: Channel) -> Iterator[_Finding]:
    """(c) People recovering on the start date in a channel where nobody can become
    recovering: no wounded hazard, or no wounded return."""
    recovering = _upper(channel.initial.recovering)
    if recovering < 0.5:
        return
    losses = scenario.losses
    multiplier = channel.hazard_multipliers.get("wounded")
    wounded = _upper(losses.wounded_per_day) * (1.0 if multiplier is None else _upper(multiplier))
    returning = _upper(losses.recovery.return_probability)
    if wounded > 0 and returning > 0:
        return
    why = (
        "the channel's wounded hazard is 0"
        if wounded <= 0
        else "losses.recovery.return_probability is 0 (every wounded person is discharged)"
    )
    mean_days = losses.recovery.mean_days.distribution.mean
    message = (
        f"up to {recovering:,.0f} people are recovering on the start date, but {why}, "
        f"so nobody in this channel can become recovering: the recovering stock only "
        f"drains to 0 (they return to duty after about {mean_days:g} days on average, "
        f"recovery.mean_days) and the deployed stock rises by as many, a trend that "
        f"comes from the start, not from the scenario; count them under "
        f"initial.deployed, or give the channel a wounded hazard and a return "
        f"probability ({_START_DOC})"
    )
    yield _Finding(("channels", i, "initial", "recovering"), message, "warning")


def _arrival_waves(scenario: Scenario) -> Iterator[_Finding]:
    """A wave whose size counts arrivals calls ``size / (1 − evasion)`` people: the
    evasion share must stay below 1 (at most :data:`MAX_ARRIVAL_EVASION`)."""
    for k, event in enumerate(scenario.events):
        if isinstance(event, MobilisationWave) and event.size_counts == "arrivals":
            reach = _upper(event.evasion_share)
            if reach > MAX_ARRIVAL_EVASION:
                message = (
                    f"can reach {reach:g}, but a wave with `size_counts: arrivals` calls "
                    f"size / (1 − evasion_share) people, so evasion_share must be at most "
                    f"{MAX_ARRIVAL_EVASION:g}"
                )
                yield _Finding(("events", k, "evasion_share"), message)


def _front_share_without_exposure(scenario: Scenario) -> Iterator[_Finding]:
    """A channel's ``front_share`` matters only with ``losses.exposure`` (a warning:
    the scenario runs, with hazards per deployed person)."""
    if scenario.losses.exposure is not None:
        return
    for i, channel in enumerate(scenario.channels):
        if channel.front_share is not None:
            message = (
                "has no effect: without `losses.exposure` the combat hazards apply to "
                "every deployed person; add `losses.exposure` (docs/model.md, Exposure) "
                "or remove it"
            )
            yield _Finding(("channels", i, "front_share"), message, "warning", at_key=True)


def _front_exponent_reference(scenario: Scenario) -> Iterator[_Finding]:
    """``front_exponent`` scales the hazards by (people at the front / reference)^(α−1):
    it needs ``reference_front_people``, more than 0."""
    exposure = scenario.losses.exposure
    if exposure is None or exposure.front_exponent is None:
        return
    path = ("losses", "exposure", "front_exponent")
    reference = exposure.reference_front_people
    if reference is None:
        message = (
            "needs `reference_front_people`: the people at the front (all channels) at "
            "which the hazards are as given"
        )
        yield _Finding(path, message, at_key=True)
    elif _lower(reference) <= 0:
        message = f"can be {_lower(reference):g}; it must be more than 0"
        yield _Finding(("losses", "exposure", "reference_front_people"), message)
