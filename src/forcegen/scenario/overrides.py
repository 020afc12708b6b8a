"""Parameter overrides: ``--set PATH=VALUE`` applied to a scenario's plain YAML data.

An override replaces one value of a scenario before it is validated, so every rule of
the scenario language (types, ranges, dates, references) applies to it as it would in
the file, and problems with it are reported at the override itself.

``PATH`` names a field the way parameter names do (:mod:`forcegen.scenario.walk`):
dotted keys, channels, pools and claims by id, events and other list items by
position — ``losses.killed_per_day``, ``channels.contract.pay.salary_per_month``,
``pools.men-service-age.initial_people``, ``events.0.date``, ``horizon_days``.

``VALUE`` of a parameter (a field that takes a :class:`~forcegen.scenario.params.Param`)
is written in one of the forms of the scenario language, shortened:

=================================  ===========================================
``0.0003``                         a point value (``{value: 0.0003}``)
``range:LOW,HIGH``                 uniform (``{range: [LOW, HIGH]}``)
``uniform:LOW,HIGH``               the same
``triangular:LOW,MODE,HIGH``       triangular
``normal:MEAN,SD[,LOW,HIGH]``      normal, truncated to LOW–HIGH if given
``lognormal:MEDIAN,P95``           lognormal
``beta:ALPHA,BETA``                beta
``fixed:X``                        a point value
``{...}``                          any parameter mapping of the language, in YAML
                                   flow style (a dated series, say)
=================================  ===========================================

An overridden parameter no longer rests on the claims its file cited: it becomes an
assumption whose rationale is the override itself (``set on the command line: --set
PATH=VALUE``), so reports and ``forcegen evidence`` show where it came from. Any other
field takes a YAML scalar (``2022-09-01``, ``365``, ``false``, ``text``) or a flow list
(``[killed, wounded]``), and a section (``questions``, ``losses.recovery``) a YAML flow
mapping (``questions={below: [100000], hold: 120000}``).

Problems are located as ``--set:N:COL``: the N-th override, at the column of the
offending part, with "did you mean" suggestions for misspelt keys and ids.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import math
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.params import Param
from forcegen.scenario.walk import format_path, is_model, unwrap_annotation

__all__ = [
    "OVERRIDE_FILE",
    "Override",
    "apply_overrides",
    "describe_overrides",
    "parse_override",
    "parse_param_value",
    "relocate_problems",
]

OVERRIDE_FILE = "--set"
"""The "file" of problems about overrides; their line is the override's position."""

MAX_OVERRIDE_LENGTH = 2000
"""Longest accepted override (characters); a parameter needs a few dozen."""

_DISTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name: (required fields, optional trailing fields), in the order written
    "fixed": (("value",), ()),
    "range": (("low", "high"), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "lognormal": (("median", "p95"), ()),
    "beta": (("alpha", "beta"), ()),
}
PARAM_FORMS = (
    "a number, range:LOW,HIGH, uniform:LOW,HIGH, triangular:LOW,MODE,HIGH, "
    "normal:MEAN,SD[,LOW,HIGH], lognormal:MEDIAN,P95, beta:ALPHA,BETA, fixed:X "
    "or a YAML mapping {...}"
)
"""The value forms of a parameter override, for messages and help."""


@dataclass(frozen=True)
class Override:
    """One ``PATH=VALUE`` override.

    Attributes:
        text: The override as given.
        index: Its position among the overrides (1-based), the "line" of problems.
        path: The dotted path's parts (strings, as written).
        value: The text after the first ``=``.
    """

    text: str
    index: int
    path: tuple[str, ...]
    value: str

    @property
    def value_column(self) -> int:
        """1-based column of the value in :attr:`text`."""
        return self.text.index("=") + 2

    def column_of(self, part: int) -> int:
        """1-based column of path part ``part`` in :attr:`text`."""
        return sum(len(p) + 1 for p in self.path[:part]) + 1

    def problem(self, column: int, message: str, shown: str | None = None) -> Problem:
        """A problem about this override at ``column``."""
        name = ".".join(self.path) if shown is None else shown
        return Problem(OVERRIDE_FILE, self.index, column, name, message)


def parse_override(text: str, index: int = 1) -> Override:
    """Split ``PATH=VALUE`` (the first ``=`` separates them).

    Raises:
        ScenarioError: No ``=``, an empty path or part of one, or an override longer
            than :data:`MAX_OVERRIDE_LENGTH`.
    """

    def fail(column: int, message: str) -> ScenarioError:
        return ScenarioError([Problem(OVERRIDE_FILE, index, column, "", message)])

    if len(text) > MAX_OVERRIDE_LENGTH:
        raise fail(1, f"longer than {MAX_OVERRIDE_LENGTH:,} characters")
    if "\n" in text or "\r" in text:
        raise fail(text.find("\n") + 1, "an override is one line: PATH=VALUE")
    name, sep, value = text.partition("=")
    if not sep:
        raise fail(1, f"expected PATH=VALUE (e.g. losses.killed_per_day=0.0003), got {text!r}")
    parts = tuple(p.strip() for p in name.split("."))
    if not name.strip() or any(not p for p in parts):
        raise fail(
            1, f"expected a dotted path before '=' (e.g. losses.killed_per_day), got {name!r}"
        )
    if not value.strip():
        raise fail(len(name) + 2, "expected a value after '='")
    return Override(text, index, parts, value.strip())


def describe_overrides(texts: Sequence[str]) -> str:
    """``--set a=1 --set b=2``: the overrides as they are recorded with a run."""
    return " ".join(f"--set {t}" for t in texts)


# ---------------------------------------------------------------------- values
def parse_param_value(text: str) -> dict[str, Any]:
    """A parameter mapping of the scenario language from the short form of an override
    value (see the module docstring).

    Raises:
        ValueError: Not one of the forms, saying which are.
    """
    text = text.strip()
    if text.startswith("{"):
        return _mapping_value(text)
    number = _number(text)
    if number is not None:
        return {"value": number}
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in _DISTS:
        hint = ""
        if sep:
            close = difflib.get_close_matches(kind, list(_DISTS), n=1)
            hint = f"; did you mean '{close[0]}:'?" if close else ""
        raise ValueError(f"expected {PARAM_FORMS}, got {text!r}{hint}")
    needed, optional = _DISTS[kind]
    pieces = [p.strip() for p in rest.split(",")]
    allowed = (len(needed), len(needed) + len(optional))
    if len(pieces) not in allowed:
        names = ",".join(n.upper() for n in needed)
        if optional:
            names += "[," + ",".join(n.upper() for n in optional) + "]"
        raise ValueError(f"{kind} takes {names}, got {len(pieces)} number(s) in {text!r}")
    values: list[float] = []
    for piece in pieces:
        value = _number(piece)
        if value is None:
            raise ValueError(f"expected a number, got {piece!r} in {text!r}")
        values.append(value)
    if kind == "range":
        return {"range": values}
    if kind == "fixed":
        return {"value": values[0]}
    fields = (*needed, *optional)
    return {"dist": kind, **dict(zip(fields, values, strict=False))}


def _mapping_value(text: str) -> dict[str, Any]:
    """A YAML flow mapping ``{key: value, ...}`` as plain data."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = _first_line(exc)
        raise ValueError(f"cannot read {text!r} as a YAML mapping: {reason}") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ValueError(f"expected a YAML mapping {{key: value, ...}}, got {text!r}")
    return data


def _number(text: str) -> float | int | None:
    """A finite number written in ``text`` (``3``, ``1e-4``, ``250_000``), else None."""
    cleaned = text.strip()
    if not cleaned or cleaned.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        return None
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _scalar_value(text: str) -> Any:
    """A YAML scalar or a flow list of scalars (what non-parameter fields take)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"cannot read {text!r} as a YAML value: {_first_line(exc)}") from None
    plain = (str, int, float, bool, dt.date, type(None))
    if isinstance(data, plain):
        return data
    if isinstance(data, list) and all(isinstance(v, plain) for v in data):
        return data
    raise ValueError(
        f"expected a single value (number, date, true/false, text) or a list [a, b], got {text!r}"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ---------------------------------------------------------------------- apply
def apply_overrides(
    data: Mapping[str, Any], overrides: Sequence[str], model: type[BaseModel]
) -> tuple[dict[str, Any], dict[str, Override]]:
    """``data`` (a scenario's plain YAML data) with ``overrides`` applied, in order.

    Pure: ``data`` is not changed. Paths are checked against ``model``'s fields and
    the data's ids, with suggestions for misspellings; values are converted to the
    forms of the scenario language but not validated (that is the loader's job, with
    the usual rules).

    Args:
        data: The document, as :func:`~forcegen.scenario.yamlsource.parse_yaml` gives it.
        overrides: ``PATH=VALUE`` texts.
        model: The model the document is validated as (``Scenario``).

    Returns:
        The new data, and for each value set, its positional path formatted as problem
        fields are (``channels[0].pay.salary_per_month``) → the override that set it.

    Raises:
        ScenarioError: Every malformed override and every path that names nothing
            (``--set:N:COL`` locations).
    """
    out: dict[str, Any] = copy.deepcopy(dict(data))
    targets: dict[str, Override] = {}
    problems: list[Problem] = []
    for index, text in enumerate(overrides, start=1):
        try:
            override = parse_override(text, index)
            position = _apply(out, override, model)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        targets[format_path(position)] = override
    if problems:
        raise ScenarioError(problems)
    return out, targets


def relocate_problems(
    problems: Iterable[Problem], file: str, targets: Mapping[str, Override]
) -> list[Problem]:
    """Problems of ``file`` about a value an override set (or a part of it), moved to
    that override (``--set:N:COL``); the others unchanged."""
    moved: list[Problem] = []
    for problem in problems:
        override = _owner(problem, file, targets)
        if override is None:
            moved.append(problem)
            continue
        moved.append(
            Problem(
                OVERRIDE_FILE,
                override.index,
                override.value_column,
                problem.field,
                problem.message,
                problem.severity,
            )
        )
    return moved


def _owner(problem: Problem, file: str, targets: Mapping[str, Override]) -> Override | None:
    if problem.file != file:
        return None
    best: tuple[int, Override] | None = None
    for field, override in targets.items():
        inside = problem.field == field or problem.field.startswith((f"{field}.", f"{field}["))
        if inside and (best is None or len(field) > best[0]):
            best = (len(field), override)
    return None if best is None else best[1]


_Position = tuple[str | int, ...]


def _apply(data: dict[str, Any], override: Override, model: type[BaseModel]) -> _Position:
    """Set the override's value in ``data`` (in place); return its positional path."""
    annotation: Any = model
    node: Any = data
    position: list[str | int] = []
    parts = override.path
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        annotation = unwrap_annotation(annotation)[0]
        if annotation is Param:
            raise ScenarioError(
                [
                    override.problem(
                        override.column_of(i),
                        f"{'.'.join(parts[:i])} is a parameter: set it whole "
                        f"({'.'.join(parts[:i])}=range:LOW,HIGH, say), not its part '{part}'",
                    )
                ]
            )
        annotation = _branch(annotation, node, override, i)
        key, child_annotation = _step(annotation, node, override, i)
        if isinstance(node, list):
            assert isinstance(key, int)
            position.append(key)
            if last:
                node[key] = _value(child_annotation, override)
                return tuple(position)
            node = node[key]
        else:
            assert isinstance(node, dict)
            assert isinstance(key, str)
            position.append(key)
            if last:
                node[key] = _value(child_annotation, override)
                return tuple(position)
            child = node.get(key)
            if child is None:
                inner = unwrap_annotation(child_annotation)[0]
                if get_origin(inner) is list:
                    raise ScenarioError(
                        [override.problem(override.column_of(i + 1), f"'{key}' has no items")]
                    )
                child = {}
                node[key] = child
            elif not isinstance(child, dict | list):
                raise ScenarioError(
                    [
                        override.problem(
                            override.column_of(i + 1),
                            f"'{'.'.join(parts[: i + 1])}' holds a single value, not fields",
                        )
                    ]
                )
            node = child
        annotation = child_annotation
    raise AssertionError("unreachable")  # pragma: no cover


def _branch(annotation: Any, node: Any, override: Override, i: int) -> Any:
    """The member of a tagged union of models (enlistment models, event types) that
    the data's tag (``model:``, ``type:``) selects; other annotations unchanged."""
    origin = get_origin(annotation)
    if not (origin is Union or origin is types.UnionType):
        return annotation
    members = [m for m in get_args(annotation) if is_model(m)]
    if not members:
        return annotation
    for member in members:
        for tag, info in member.model_fields.items():
            literal = get_origin(info.annotation) is Literal
            if literal and isinstance(node, dict) and node.get(tag) in get_args(info.annotation):
                return member
    where = ".".join(override.path[:i])
    raise ScenarioError(
        [
            override.problem(
                override.column_of(i),
                f"cannot tell which kind '{where}' is; write it (its model: or type:) "
                "in the file first",
            )
        ]
    )


def _step(annotation: Any, node: Any, override: Override, i: int) -> tuple[str | int, Any]:
    """The key (or list index) path part ``i`` names in ``node``, and its annotation."""
    part = override.path[i]
    column = override.column_of(i)
    where = ".".join(override.path[:i]) or "the scenario"
    if is_model(annotation):
        names = {(info.alias or name): info for name, info in annotation.model_fields.items()}
        if part not in names:
            raise ScenarioError(
                [override.problem(column, f"{where} has no field '{part}'{_hint(part, names)}")]
            )
        return part, names[part].annotation
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is list and args:
        if not isinstance(node, list):
            raise ScenarioError([override.problem(column, f"'{where}' has no items")])
        return _list_index(node, part, override, i), args[0]
    if origin is dict and len(args) == 2:
        keys = unwrap_annotation(args[0])[0]
        if get_origin(keys) is Literal:
            allowed = [str(k) for k in get_args(keys)]
            if part not in allowed:
                raise ScenarioError(
                    [
                        override.problem(
                            column,
                            f"{where} takes keys {', '.join(allowed)}, not '{part}'"
                            + _hint(part, allowed),
                        )
                    ]
                )
        return part, args[1]
    raise ScenarioError(
        [override.problem(column, f"'{where}' is a single value: it has no '{part}'")]
    )


def _list_index(items: list[Any], part: str, override: Override, i: int) -> int:
    """Index of the item ``part`` names: its ``id``, or its position."""
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    for k, item in enumerate(items):
        if isinstance(item, dict) and item.get("id") == part:
            return k
    where = ".".join(override.path[:i])
    if part.isdigit():
        k = int(part)
        if k < len(items):
            return k
        message = f"{where} has {len(items)} item(s), numbered 0 to {len(items) - 1}; no {k}"
        raise ScenarioError([override.problem(override.column_of(i), message)])
    known = [str(x) for x in ids if isinstance(x, str)]
    listing = ", ".join(known) if known else f"positions 0 to {len(items) - 1}"
    message = f"{where} has no item '{part}'{_hint(part, known)} (items: {listing})"
    raise ScenarioError([override.problem(override.column_of(i), message)])


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _value(annotation: Any, override: Override) -> Any:
    """The override's value in the form the field's annotation takes."""
    inner = unwrap_annotation(annotation)[0]
    try:
        if inner is Param:
            value = parse_param_value(override.value)
            if not value.get("evidence") and not value.get("assumption"):
                value["assumption"] = f"set on the command line: --set {override.text}"
            return value
        sections = is_model(inner) or (
            get_origin(inner) in (Union, types.UnionType)
            and any(is_model(m) for m in get_args(inner))
        )
        if sections and override.value.startswith("{"):
            return _mapping_value(override.value)
        if sections:
            fields = ""
            if is_model(inner):
                fields = ": " + ", ".join(
                    info.alias or name for name, info in inner.model_fields.items()
                )
            raise ValueError(f"a section, not a value; set one of its fields{fields}")
        return _scalar_value(override.value)
    except ValueError as exc:
        raise ScenarioError([override.problem(override.value_column, str(exc))]) from None
