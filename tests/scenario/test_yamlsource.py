"""YAML → plain data and locations."""

from __future__ import annotations

import datetime as dt

import pytest

from forcegen.errors import ScenarioError
from forcegen.scenario.yamlsource import MAX_DEPTH, parse_yaml

TEXT = """\
name: x          # line 1
start: 2022-08-01
items:
  - a: 1
    b: [1.5, true, null, "2022-08-01"]
  - plain
flow: {k: v}
"""


def _error(raw: str | bytes) -> tuple[int, int, str, str]:
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(raw, "t.yaml")
    (problem,) = caught.value.problems
    assert problem.file == "t.yaml"
    return problem.line, problem.column, problem.field, problem.message


def test_plain_data_with_dates() -> None:
    doc = parse_yaml(TEXT, "t.yaml")
    assert doc.data == {
        "name": "x",
        "start": dt.date(2022, 8, 1),
        "items": [{"a": 1, "b": [1.5, True, None, "2022-08-01"]}, "plain"],
        "flow": {"k": "v"},
    }
    assert doc.file == "t.yaml"
    assert doc.text == TEXT


def test_locations_of_values_and_keys() -> None:
    doc = parse_yaml(TEXT, "t.yaml")
    assert doc.locate(("name",)) == (1, 7)
    assert doc.locate_key(("name",)) == (1, 1)
    assert doc.locate(("items", 0, "b", 2)) == (5, 20)
    assert doc.locate_key(("items", 0, "b")) == (5, 5)
    assert doc.locate(("items", 1)) == (6, 5)
    assert doc.locate(("flow", "k")) == (7, 11)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    doc = parse_yaml(TEXT, "t.yaml")
    assert doc.locate(("items", 0, "missing", 3)) == doc.locate(("items", 0))
    assert doc.locate(("nowhere",)) == doc.locate(()) == (1, 1)
    # A list item has no key: its own location stands in.
    assert doc.locate_key(("items", 1)) == (6, 5)


def test_keys_are_always_text() -> None:
    assert parse_yaml("1: a\ntrue: b\nnull: c\n", "t.yaml").data == {
        "1": "a",
        "true": "b",
        "null": "c",
    }


def test_anchors_and_aliases_are_copied() -> None:
    doc = parse_yaml("a: &pay {salary: 1}\nb: *pay\n", "t.yaml")
    assert doc.data == {"a": {"salary": 1}, "b": {"salary": 1}}
    assert doc.data["a"] is not doc.data["b"]
    assert doc.locate(("b", "salary")) == (2, 4)  # the alias


def test_byte_order_mark_is_ignored() -> None:
    assert parse_yaml("\ufeffa: 1\n".encode(), "t.yaml").data == {"a": 1}


def test_duplicate_keys_name_both_places() -> None:
    line, column, field, message = _error("a:\n  b: 1\n  c: 2\n  b: 3\n")
    assert (line, column, field) == (4, 3, "a.b")
    assert message == "duplicate key 'b' (first given at line 2, column 3)"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: !!python/object/apply:os.system [ls]\n", "unsupported YAML tag"),
        ("a: !!binary aGVsbG8=\n", "unsupported YAML tag tag:yaml.org,2002:binary"),
        ("a: !!set {x: null}\n", "unsupported YAML tag tag:yaml.org,2002:set"),
    ],
)
def test_only_plain_types_are_constructed(text: str, fragment: str) -> None:
    line, column, field, message = _error(text)
    assert (line, column, field) == (1, 4, "a")
    assert fragment in message


def test_merge_keys_are_rejected() -> None:
    assert _error("a: &x {b: 1}\nc:\n  <<: *x\n")[:2] == (3, 3)


def test_alias_must_follow_its_anchor() -> None:
    assert "refers to no earlier" in _error("a: &x [1, *x]\n")[3]
    assert "refers to no earlier" in _error("a: *x\n")[3]


def test_complex_keys_are_rejected() -> None:
    assert "plain name" in _error("? [a, b]\n: 1\n")[3]


def test_unreadable_scalars_are_located() -> None:
    assert _error("a: 2022-02-30\n") == (
        1,
        4,
        "a",
        "cannot read '2022-02-30' as a date: day is out of range for month",
    )
    assert "as a whole number" in _error("a: " + "9" * 5000 + "\n")[3]


def test_tab_indentation_gets_a_hint() -> None:
    line, _, _, message = _error("a:\n\tb: 1\n")
    assert line == 2
    assert message.endswith("tabs cannot indent YAML, use spaces")


def test_depth_limit_is_exact() -> None:
    # The root mapping is level 1, so MAX_DEPTH - 1 nested lists reach the limit.
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    value, lists = parse_yaml(ok, "t.yaml").data["a"], 0
    while isinstance(value, list):
        value, lists = (value[0] if value else None), lists + 1
    assert lists == MAX_DEPTH - 1
    too_deep = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert "nested deeper than" in _error(too_deep)[3]


def test_empty_document_marker_is_empty() -> None:
    assert _error("---\n...\n")[:2] == (0, 0)


def test_size_limit_counts_utf8_bytes() -> None:
    wide = "a: " + "é" * (3 * 1024 * 1024) + "\n"  # 3 Mi characters, 6 MiB of UTF-8
    assert "larger than 5 MB" in _error(wide)[3]
