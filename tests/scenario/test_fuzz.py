"""Property: whatever is done to a valid scenario, loading it either succeeds or
raises ScenarioError with located problems, never any other exception."""

from __future__ import annotations

import copy
import functools
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.yamlsource import parse_yaml

Path = tuple[str | int, ...]

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["2022-08-01", "volunteers", "osechkin-applicants", "series", "-5"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
KINDS = ("delete", "replace", "unknown key", "duplicate", "truncate", "insert bytes")


@functools.cache
def _parsed(text: str) -> tuple[dict[str, Any], tuple[Path, ...]]:
    data = parse_yaml(text, "fixture").data
    return data, tuple(_paths(data))


def _paths(node: Any, path: Path = ()) -> list[Path]:
    """Every path to a mapping value or list item below ``node``."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    found: list[Path] = []
    for key, child in items:
        found.append((*path, key))
        found += _paths(child, (*path, key))
    return found


def _edit(data: dict[str, Any], kind: str, path: Path, value: Any, key: str) -> None:
    """Apply one structural mutation in place."""
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    target = parent[last]
    if kind == "delete":
        del parent[last]
    elif kind == "replace":
        parent[last] = value
    elif kind == "unknown key" and isinstance(target, dict):
        target[key] = value
    elif kind == "unknown key" and isinstance(parent, dict):
        parent[key] = value
    elif kind == "duplicate" and isinstance(target, list) and target:
        target.append(copy.deepcopy(target[0]))
    elif kind == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(target))


def _mutated(text: str, data: st.DataObject) -> str | bytes:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    raw = text.encode()
    if kind == "truncate":
        return raw[: data.draw(st.integers(0, len(raw)), label="offset")]
    if kind == "insert bytes":
        at = data.draw(st.integers(0, len(raw)), label="offset")
        return raw[:at] + data.draw(st.binary(min_size=1, max_size=8), label="bytes") + raw[at:]
    document, paths = _parsed(text)
    document = copy.deepcopy(document)
    path = data.draw(st.sampled_from(paths), label="path")
    value = data.draw(VALUES, label="value")
    _edit(document, kind, path, value, data.draw(st.text(min_size=1, max_size=10), label="key"))
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_scenarios_fail_only_with_located_problems(
    valid_text: str, data: st.DataObject
) -> None:
    document = _mutated(valid_text, data)
    problems = _problems(document)
    if problems is None:
        return  # still a valid scenario
    assert problems
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.message
        assert problem.severity == "error"
        if problem.line == 0:  # only problems about the whole file
            assert (problem.column, problem.field) == (0, "")
        else:
            assert problem.line >= 1
            assert problem.column >= 1


def _problems(document: str | bytes) -> list[Problem] | None:
    """The problems loading ``document`` reports, or None when it loads."""
    try:
        load_scenario_text(document, "fuzz.yaml")
    except ScenarioError as exc:
        return exc.problems
    return None
