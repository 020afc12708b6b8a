"""YAML text → plain Python data plus the line and column of every node.

A scenario file is read in one bounded pass over the YAML *event* stream (the output
of PyYAML's safe parser, libyaml-accelerated when available). Our own iterative
composer builds the data, so that

* no Python object other than dict, list, str, int, float, bool, None and
  ``datetime.date``/``datetime.datetime`` is ever constructed (scalars go through
  :class:`yaml.SafeConstructor`; any other tag is rejected);
* nesting depth and the number of values — counting every alias expansion — are
  limited *while* reading, so deeply nested or "billion laughs" documents are
  rejected after a few events instead of exhausting the stack or memory;
* duplicate mapping keys are errors (PyYAML silently keeps the last one);
* every value and every mapping key gets a 1-based ``(line, column)``, keyed by its
  path (``("channels", 0, "contract", "term_days")``), so later problems can be
  located in the user's file.

Mapping keys are always strings — the key's text as written — because every key in
the scenario language is a name; ``1: x`` gives the key ``"1"``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.walk import format_path

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Location",
    "Path",
    "YamlDocument",
    "parse_yaml",
]

Path = tuple[str | int, ...]
"""Position of a node: mapping keys and list indices from the document root."""
Location = tuple[int, int]
"""1-based ``(line, column)`` in the file."""

MAX_BYTES = 5 * 1024 * 1024
"""Largest accepted file, in bytes (UTF-8). Real scenarios are a few kilobytes."""
MAX_DEPTH = 64
"""Deepest accepted nesting of mappings and lists. Scenarios need fewer than 10."""
MAX_NODES = 250_000
"""Most values (scalars, mappings, lists) in a document, counting each alias as the
full size of what it refers to. Daily series over decades stay far below this."""

_SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")
)
_TAG_WORDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:str": "text",
}
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# The characters YAML 1.1 allows in a stream (same set as PyYAML's reader); anything
# else is reported with its position before the parser sees it.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML document and where each of its parts was written.

    Attributes:
        data: The document: a mapping of plain Python values. Treat it as read-only.
        locations: Path → ``(line, column)`` of each value (1-based).
        file: File name as the user gave it (or ``<string>``).
        key_locations: Path of a mapping value → ``(line, column)`` of its key.
        text: The decoded source text.
    """

    data: dict[str, Any]
    locations: Mapping[Path, Location]
    file: str
    key_locations: Mapping[Path, Location] = field(default_factory=dict)
    text: str = ""

    def locate(self, path: Path) -> Location:
        """Location of the value at ``path``, else of its nearest existing ancestor,
        else ``(1, 1)``."""
        for end in range(len(path), -1, -1):
            found = self.locations.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def locate_key(self, path: Path) -> Location:
        """Location of the key holding the value at ``path``; of the value itself (or
        the nearest ancestor) when it has no key, e.g. a list item."""
        found = self.key_locations.get(path)
        return found if found is not None else self.locate(path)


class _StopError(Exception):
    """Internal: reading stopped at a located problem."""

    def __init__(self, message: str, where: Location, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.path = path


def parse_yaml(raw: bytes | str, file: str) -> YamlDocument:
    """Parse one YAML document into plain data and a location map.

    Args:
        raw: File contents: UTF-8 bytes (a leading byte-order mark is ignored) or text.
        file: Name used in problems.

    Raises:
        ScenarioError: The input is too large, not UTF-8, not YAML, nested deeper than
            :data:`MAX_DEPTH`, holds more than :data:`MAX_NODES` values, has duplicate
            keys, unsupported tags, several documents, or is not a mapping.
    """
    _check_size(raw, file)
    text = _decode(raw, file)
    _check_characters(text, file)
    try:
        data, locations, key_locations = _compose(yaml.parse(text, Loader=_LOADER))
    except _StopError as stop:
        raise _error(file, stop.where, stop.message, stop.path) from None
    except yaml.MarkedYAMLError as exc:
        where = _mark_location(exc)
        raise _error(file, where, _syntax_message(exc, text, where)) from None
    except yaml.YAMLError as exc:
        where = _offset_location(text, int(getattr(exc, "position", 0)))
        raise _error(file, where, f"not valid YAML: {exc}") from None
    root = _require_mapping(data, locations.get((), (0, 0)), file)
    return YamlDocument(root, locations, file, key_locations, text)


# ------------------------------------------------------------------------- before parse
def _error(file: str, where: Location, message: str, path: Path = ()) -> ScenarioError:
    return ScenarioError([Problem(file, where[0], where[1], format_path(path), message)])


def _check_size(raw: bytes | str, file: str) -> None:
    size = len(raw)
    # A character takes 1 to 4 UTF-8 bytes: encode (a bounded copy) only when that
    # range straddles the limit.
    if isinstance(raw, str) and MAX_BYTES // 4 < size <= MAX_BYTES:
        size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        limit = MAX_BYTES // (1024 * 1024)
        raise _error(file, (0, 0), f"file is larger than {limit} MB; a scenario needs far less")


def _decode(raw: bytes | str, file: str) -> str:
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        start = exc.start
        line = raw.count(b"\n", 0, start) + 1
        line_start = raw.rfind(b"\n", 0, start) + 1
        column = len(raw[line_start:start].decode("utf-8", "replace")) + 1
        message = (
            f"not UTF-8 text: byte 0x{raw[start]:02x} cannot be decoded "
            "(save the file as UTF-8; is it a binary file?)"
        )
        raise _error(file, (line, column), message) from None


def _offset_location(text: str, offset: int) -> Location:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return (line, column)


def _check_characters(text: str, file: str) -> None:
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        code = ord(bad.group())
        message = f"character U+{code:04X} is not allowed in YAML (is this a binary file?)"
        raise _error(file, _offset_location(text, bad.start()), message)


def _mark_location(exc: yaml.MarkedYAMLError) -> Location:
    mark = exc.problem_mark or exc.context_mark
    return (1, 1) if mark is None else (mark.line + 1, mark.column + 1)


def _syntax_message(exc: yaml.MarkedYAMLError, text: str, where: Location) -> str:
    problem = exc.problem or exc.context or "cannot parse"
    if "nesting depth" in problem:
        # libyaml's own depth limit can trip before ours, since its scanner reads ahead.
        return f"nested deeper than {MAX_DEPTH} levels; a scenario needs far fewer"
    message = f"YAML syntax error: {problem}"
    if exc.context and exc.problem:
        mark = exc.context_mark
        at = "" if mark is None else f" at line {mark.line + 1}, column {mark.column + 1}"
        message += f" ({exc.context}{at})"
    lines = text.splitlines()
    line = lines[where[0] - 1] if 0 < where[0] <= len(lines) else ""
    if "\t" in line[: where[1]]:
        message += "; tabs cannot indent YAML, use spaces"
    return message


def _require_mapping(data: Any, where: Location, file: str) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    if data is None:
        raise _error(file, (0, 0), "file is empty: expected a scenario (a YAML mapping)")
    message = (
        "not a scenario: expected a mapping of keys such as name, start_date, channels; "
        f"got {_kind(data)}"
    )
    raise _error(file, where, message)


def _kind(value: Any) -> str:
    # What the document is, never what it says: it may be any file, a password
    # file included, and this message is all that is shown of it.
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a text string"
    if isinstance(value, bool):
        return "a single value (true or false)"
    if isinstance(value, int | float):
        return "a single value (a number)"
    return "a single value"


# ----------------------------------------------------------------------------- compose
@dataclass
class _Frame:
    """A mapping or list being filled."""

    container: dict[str, Any] | list[Any]
    path: Path
    anchor: str | None
    size: int = 1
    pending_key: str | None = None
    key_at: Location = (0, 0)
    first_seen: dict[str, Location] = field(default_factory=dict)


@dataclass
class _Composer:
    """Builds plain data from YAML events, iteratively, within the size limits."""

    stack: list[_Frame] = field(default_factory=list)
    anchors: dict[str, tuple[Any, int]] = field(default_factory=dict)
    locations: dict[Path, Location] = field(default_factory=dict)
    key_locations: dict[Path, Location] = field(default_factory=dict)
    nodes: int = 0
    documents: int = 0
    root: Any = None

    def feed(self, event: Event) -> None:
        """Consume one parser event."""
        mark = event.start_mark
        at = (1, 1) if mark is None else (mark.line + 1, mark.column + 1)
        if isinstance(event, DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _StopError(
                    "a scenario file holds one YAML document; a second starts here", at
                )
        elif isinstance(event, ScalarEvent):
            self._count(1, at)
            if self._wants_key():
                self._take_key(event, at)
            else:
                self._place(_construct_scalar(event, at, self._here()), 1, at, event.anchor)
        elif isinstance(event, AliasEvent):
            self._alias(event, at)
        elif isinstance(event, CollectionStartEvent):
            self._open(event, at)
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            self._close()

    # -- helpers -----------------------------------------------------------------------
    def _count(self, size: int, at: Location) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise _StopError(
                f"more than {MAX_NODES:,} values (counting alias expansions); "
                "a scenario needs far fewer",
                at,
                self._here(),
            )

    def _here(self) -> Path:
        """Path the next value will get."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.container, list):
            return (*top.path, len(top.container))
        return (*top.path, top.pending_key or "")

    def _wants_key(self) -> bool:
        top = self.stack[-1] if self.stack else None
        return top is not None and isinstance(top.container, dict) and top.pending_key is None

    def _take_key(self, event: ScalarEvent, at: Location) -> None:
        top = self.stack[-1]
        key = event.value
        if key == "<<" and event.implicit[0]:
            raise _StopError("YAML merge keys (<<) are not supported; write the keys out", at)
        first = top.first_seen.get(key)
        if first is not None:
            message = f"duplicate key '{key}' (first given at line {first[0]}, column {first[1]})"
            raise _StopError(message, at, (*top.path, key))
        top.first_seen[key] = at
        top.pending_key = key
        top.key_at = at

    def _place(self, value: Any, size: int, at: Location, anchor: str | None) -> Path:
        """Attach a finished value to its parent (or make it the root); return its path."""
        if anchor is not None and not isinstance(value, dict | list):
            self.anchors[anchor] = (value, size)
        if not self.stack:
            self.root = value
            path: Path = ()
        else:
            top = self.stack[-1]
            if isinstance(top.container, list):
                path = (*top.path, len(top.container))
                top.container.append(value)
            else:
                assert top.pending_key is not None
                path = (*top.path, top.pending_key)
                top.container[top.pending_key] = value
                self.key_locations[path] = top.key_at
                top.pending_key = None
            top.size += size
        self.locations[path] = at
        return path

    def _alias(self, event: AliasEvent, at: Location) -> None:
        if self._wants_key():
            raise _StopError("an alias cannot be a mapping key", at)
        target = self.anchors.get(str(event.anchor))
        if target is None:
            message = f"alias *{event.anchor} refers to no earlier, complete &anchor"
            raise _StopError(message, at, self._here())
        value, size = target
        self._count(size, at)
        # A copy keeps the data a tree; its cost is bounded by the node count above.
        self._place(copy.deepcopy(value), size, at, None)

    def _open(self, event: CollectionStartEvent, at: Location) -> None:
        if self._wants_key():
            raise _StopError("a mapping key must be a plain name, not a mapping or list", at)
        if len(self.stack) >= MAX_DEPTH:
            raise _StopError(
                f"nested deeper than {MAX_DEPTH} levels; a scenario needs far fewer", at
            )
        is_map = isinstance(event, MappingStartEvent)
        expected = _MAP_TAG if is_map else _SEQ_TAG
        if event.tag not in (None, "!", expected):
            raise _StopError(f"unsupported YAML tag {event.tag}", at, self._here())
        self._count(1, at)
        container: dict[str, Any] | list[Any] = {} if is_map else []
        path = self._place(container, 0, at, None)
        self.stack.append(_Frame(container, path, event.anchor))

    def _close(self) -> None:
        frame = self.stack.pop()
        if self.stack:
            self.stack[-1].size += frame.size
        if frame.anchor is not None:
            self.anchors[frame.anchor] = (frame.container, frame.size)


def _construct_scalar(event: ScalarEvent, at: Location, path: Path) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = str(_RESOLVER.resolve(ScalarNode, event.value, event.implicit))  # type: ignore[no-untyped-call]
    if tag not in _SAFE_TAGS:
        raise _StopError(f"unsupported YAML tag {tag}", at, path)
    # The constructors read only the node's tag and value.
    node = ScalarNode(tag, event.value, style=event.style)
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        kind = _TAG_WORDS.get(tag, tag)
        shown = event.value if len(event.value) <= 40 else event.value[:37] + "..."
        reason = str(exc).split(";")[0]
        raise _StopError(f"cannot read '{shown}' as {kind}: {reason}", at, path) from None


def _compose(
    events: Iterable[Event],
) -> tuple[Any, dict[Path, Location], dict[Path, Location]]:
    composer = _Composer()
    for event in events:
        composer.feed(event)
        if isinstance(event, StreamEndEvent):
            break
    return composer.root, composer.locations, composer.key_locations
