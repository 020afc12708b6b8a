"""What the explorer's controls set: a base scenario and the user's edits to it.

A :class:`Setting` is the base scenario (a built-in, a file or a stored run, held as
one standalone YAML text) plus the edits made in the page: values of parameters
(levers, the search box), fields of events (date, size) and events switched off.
:func:`build` turns it into a validated :class:`~forcegen.scenario.model.Scenario`
through the same overrides as the command line's ``--set PATH=VALUE``
(:mod:`forcegen.scenario.overrides`), so a bad value gets the message the command line
gives, located at ``--set:N:COL`` where N is the edit's position; :func:`problem_controls`
maps each problem back to the edit (and so to the control) that caused it.

Every parameter set here becomes an assumption whose text says that it was set by hand
in the explorer and what it was before, so a downloaded scenario (:func:`scenario_yaml`)
and every report of it show where the value came from. Pure functions and frozen data:
nothing here simulates or writes files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from forcegen.errors import Problem, ScenarioError
from forcegen.explore.memo import Memo
from forcegen.scenario.checks import SourceMap, scenario_problems, validate_document
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario
from forcegen.scenario.overrides import OVERRIDE_FILE, apply_overrides, parse_param_value
from forcegen.scenario.walk import iter_params
from forcegen.scenario.yamlsource import YamlDocument, parse_yaml

__all__ = [
    "BY_HAND",
    "Base",
    "Edit",
    "Setting",
    "base_from_scenario",
    "build",
    "edit_texts",
    "problem_controls",
    "scenario_yaml",
]

BY_HAND = "set by hand in forcegen explore"
"""How an assumption written by the explorer begins."""


@dataclass(frozen=True)
class Base:
    """The scenario the explorer starts from.

    Attributes:
        label: What the user chose (a built-in name, a file path, ``run <id>``).
        text: The scenario as one standalone YAML document (ledger claims inline).
        scenario: The validated scenario.
        seed: Seed of every simulation (a stored run's own seed, else the explorer's).
    """

    label: str
    text: str
    scenario: Scenario
    seed: int

    @property
    def data(self) -> dict[str, Any]:
        """The scenario as plain YAML data (a fresh copy)."""
        loaded = yaml.safe_load(self.text)
        assert isinstance(loaded, dict)
        return loaded

    @property
    def param_names(self) -> frozenset[str]:
        """Names of every parameter (``losses.killed_per_day``)."""
        return frozenset(previous_values(self))


def base_from_scenario(scenario: Scenario, label: str, seed: int) -> Base:
    """A :class:`Base` holding ``scenario`` as a standalone YAML text.

    The ledger claims were merged into ``claims`` when the scenario was loaded, so the
    text names no ledger file and loads wherever it is saved.
    """
    standalone = scenario.model_copy(update={"ledger_files": []})
    # The same scenario build() makes from the text with no edit (same hash).
    return Base(label, _dump(standalone), standalone, seed)


def _dump(scenario: Scenario) -> str:
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["ledger_files"] = []
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


@dataclass(frozen=True)
class Edit:
    """One change made in the page.

    Attributes:
        control: Id of the control that made it (for showing problems beside it).
        path: The field, as ``--set`` names it (``losses.killed_per_day``,
            ``events.1.date``); event indices are those of the base scenario.
        value: The value as typed or chosen (``0.0004``, ``range:1,2``, ``2022-10-01``).
    """

    control: str
    path: str
    value: str


@dataclass(frozen=True)
class Setting:
    """A base scenario and the edits made to it.

    Attributes:
        edits: The edits, in the order they are applied (a later edit of the same
            field wins).
        switched_off: Indices (in the base scenario) of events switched off.
    """

    edits: tuple[Edit, ...] = ()
    switched_off: frozenset[int] = field(default_factory=frozenset)

    def key(self) -> str:
        """A text that is equal for equal settings (for caches)."""
        return json.dumps(
            [[(e.path, e.value) for e in self.edits], sorted(self.switched_off)],
            separators=(",", ":"),
        )


def edit_texts(base: Base, setting: Setting) -> list[str]:
    """The ``PATH=VALUE`` overrides of ``setting`` applied to the base text with its
    switched-off events removed, one per edit and in the same order (so override N is
    edit N).

    A parameter's value becomes a mapping with an assumption saying it was set by hand
    and what it was; a value that is not a parameter form is passed as typed, so that
    the overrides report it exactly as ``--set`` would.
    """
    previous = previous_values(base)
    names = previous.keys()
    texts: list[str] = []
    for edit in setting.edits:
        path = _renumbered(edit.path, setting.switched_off)
        value = edit.value.strip()
        if edit.path in names:
            value = _param_with_assumption(value, previous[edit.path])
        elif _is_event_field(edit.path):
            value = _plain_scalar(value)
        texts.append(f"{path}={value}")
    # After the edits, so that override N stays edit N: each edited event says so.
    changed: dict[int, list[str]] = {}
    for edit in setting.edits:
        if _is_event_field(edit.path):
            i, name = int(edit.path.split(".")[1]), edit.path.split(".")[2]
            was = _event_value(base.scenario, i, name)
            changed.setdefault(i, []).append(f"{name} {edit.value.strip()} (was {was})")
    for i, what in changed.items():
        note = f"{BY_HAND}: {'; '.join(what)}"
        path = _renumbered(f"events.{i}.assumption", setting.switched_off)
        texts.append(f"{path}={json.dumps(note, ensure_ascii=False)}")
    return texts


def _event_value(scenario: Scenario, index: int, name: str) -> str:
    """An event field's value in the base scenario, described."""
    if not 0 <= index < len(scenario.events):
        return "no such event"
    value = getattr(scenario.events[index], name, None)
    describe = getattr(value, "describe", None)
    return str(describe() if callable(describe) else value)


def _param_with_assumption(value: str, previous: str) -> str:
    """``{value: 0.0004, assumption: "set by hand …; was …"}`` when ``value`` is a
    parameter form; otherwise ``value`` unchanged (the override reports it)."""
    try:
        mapping = parse_param_value(value)
    except ValueError:
        return value
    if "evidence" not in mapping and "assumption" not in mapping:
        mapping["assumption"] = f"{BY_HAND} ({value}); previous value: {previous}"
    return json.dumps(mapping, ensure_ascii=False)


def _plain_scalar(value: str) -> str:
    """Event fields are plain scalars (a date, a number); a value that YAML would read
    as a mapping or list is quoted, so that it is reported as a wrong value rather
    than as a section."""
    return value if not value.startswith(("{", "[")) else json.dumps(value)


def _is_event_field(path: str) -> bool:
    parts = path.split(".")
    return len(parts) == 3 and parts[0] == "events" and parts[1].isdigit()


def _renumbered(path: str, switched_off: frozenset[int]) -> str:
    """``events.K.…`` with K counted among the events left on."""
    parts = path.split(".")
    if len(parts) >= 2 and parts[0] == "events" and parts[1].isdigit():
        k = int(parts[1])
        parts[1] = str(k - sum(1 for j in switched_off if j < k))
    return ".".join(parts)


def _effective(setting: Setting) -> Setting:
    """``setting`` without edits of switched-off events (they no longer exist)."""
    kept = tuple(
        e
        for e in setting.edits
        if not (
            e.path.startswith("events.")
            and e.path.split(".")[1].isdigit()
            and int(e.path.split(".")[1]) in setting.switched_off
        )
    )
    return Setting(kept, setting.switched_off)


def _text_without(base: Base, switched_off: frozenset[int]) -> str:
    """The base text with the switched-off events removed and the description saying
    so (an event switched off is a change a reader of the scenario must see)."""
    if not switched_off:
        return base.text
    return _WITHOUT.get((base.text, switched_off), lambda: _dump_without(base, switched_off))


def _dump_without(base: Base, switched_off: frozenset[int]) -> str:
    data = base.data
    events = list(data.get("events", []))
    gone = [f"{events[i].get('type')} on {events[i].get('date')}" for i in sorted(switched_off)]
    data["events"] = [e for i, e in enumerate(events) if i not in switched_off]
    note = f"Events switched off by hand in forcegen explore: {'; '.join(gone)}."
    data["description"] = f"{data.get('description', '')} {note}".strip()
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def build(base: Base, setting: Setting) -> Scenario:
    """The scenario ``setting`` describes, validated as a scenario file is.

    Raises:
        ScenarioError: Problems located at ``--set:N:COL`` for the N-th edit (of the
            edits left once switched-off events' edits are dropped; see
            :func:`problem_controls`) or in the base scenario.
    """
    setting = _effective(setting)
    n = len(base.scenario.events)
    bad = [i for i in setting.switched_off if not 0 <= i < n]
    if bad:
        problem = Problem(base.label, 0, 0, "events", f"no event {bad[0]} (0–{n - 1})")
        raise ScenarioError([problem])
    text = _text_without(base, setting.switched_off)
    overrides = edit_texts(base, setting)
    quick = _quick_build(text, base.label, overrides)
    if quick is not None:
        return quick
    return load_scenario_text(text, base.label, overrides=overrides)


# Parsing the base text (YAML with the location of every value, in Python) was most of
# a lever move's validation: the parsed text is kept, and each setting's overrides are
# applied to a copy of its data. Keys are the texts themselves (the same str objects
# each time, whose hash Python keeps).
_PARSED: Memo[tuple[str, str], YamlDocument] = Memo(8)
_WITHOUT: Memo[tuple[str, frozenset[int]], str] = Memo(32)
_PREVIOUS: Memo[str, dict[str, str]] = Memo(8)


def _quick_build(text: str, label: str, overrides: list[str]) -> Scenario | None:
    """The scenario ``load_scenario_text(text, label, overrides=overrides)`` loads,
    from the kept parse of ``text``; None when anything is wrong with it, so that the
    loader itself says what, located as the command line locates it.

    The steps are the loader's for a standalone document (no ``extends:``, no ledger
    files, as :class:`Base` texts are): the overrides applied to the data, the data
    validated as a :class:`Scenario`, and the cross-field checks, not strict. The
    tests check that both give the same scenario (same hash).
    """
    try:
        doc = _PARSED.get((text, label), lambda: parse_yaml(text, label))
        if doc.data.get("extends") or doc.data.get("ledger_files"):
            return None
        data, _ = apply_overrides(doc.data, overrides, Scenario)
        changed = YamlDocument(data, doc.locations, doc.file, doc.key_locations, doc.text)
        scenario = validate_document(changed, Scenario)
        found = scenario_problems(scenario, SourceMap(changed), strict=False)
    except Exception:  # any problem: the full loader reports it, located
        return None
    if any(p.severity == "error" for p in found):
        return None
    return scenario


def problem_controls(setting: Setting, problems: Sequence[Problem]) -> dict[str, list[str]]:
    """Control id → the located messages about its edits (``""``: problems not about
    an edit, shown at the top of the page)."""
    edits = _effective(setting).edits
    out: dict[str, list[str]] = {}
    for problem in problems:
        control = ""
        if problem.file == OVERRIDE_FILE and 1 <= problem.line <= len(edits):
            control = edits[problem.line - 1].control
        out.setdefault(control, []).append(problem.format())
    return out


def scenario_yaml(scenario: Scenario, base: Base, setting: Setting) -> str:
    """The changed scenario as a standalone YAML file, with a header naming what was
    changed by hand (each changed parameter also carries its own assumption)."""
    lines = [
        f"# Changed in forcegen explore from {base.label}.",
        "# Values set by hand carry an `assumption:` saying so and giving the previous value.",
    ]
    for edit in _effective(setting).edits:
        lines.append(f"#   {edit.path} = {edit.value}")
    for i in sorted(setting.switched_off):
        event = base.scenario.events[i]
        lines.append(f"#   events.{i} ({event.type} on {event.date}) switched off")
    return "\n".join(lines) + "\n" + _dump(scenario)


def previous_values(base: Base) -> Mapping[str, str]:
    """Parameter name → its value in the base scenario, described (``uniform(1, 2)``)."""
    return _PREVIOUS.get(
        base.text, lambda: {ref.name: ref.param.describe() for ref in iter_params(base.scenario)}
    )
