"""``extends:`` — a scenario written as another one plus its differences.

Resolved on the plain YAML data, before validation (as :mod:`.overrides` does for
``--set``). The base is loaded by the caller (:mod:`.load`, the only module that reads
files); this module merges a child document into its base:

* mappings are merged key by key (the child's value wins; keys new in the child are
  added after the base's);
* lists of mappings with an ``id`` (pools, channels, claims) are merged by id: a child
  item with a base item's id is merged into it, a new id is appended, and
  ``{id: x, remove: true}`` removes the base item ``x``;
* any other list, and any other value, is replaced by the child's.

The merged document keeps every value's ``(line, column)`` in the file it was written
in; :class:`Merged` records that file per path so problems can be moved there
(:func:`relocate_problems`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.walk import format_path
from forcegen.scenario.yamlsource import Location, Path, YamlDocument

__all__ = ["EXTENDS_KEY", "Merged", "merge_documents", "relocate_problems"]

EXTENDS_KEY = "extends"


@dataclass
class Merged:
    """A document merged from several files.

    Attributes:
        doc: The merged document, in the name of the extending (outermost) file.
        files: Path → file each value was written in (absent: the document's file).
    """

    doc: YamlDocument
    files: dict[Path, str] = field(default_factory=dict)

    def file_at(self, path: Path) -> str:
        """File of the value at ``path``, else of its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.files.get(path[:end])
            if found is not None:
                return found
        return self.doc.file

    @staticmethod
    def single(doc: YamlDocument) -> Merged:
        """A document of one file."""
        return Merged(doc, {})


@dataclass
class _Builder:
    data: dict[str, Any] = field(default_factory=dict)
    locations: dict[Path, Location] = field(default_factory=dict)
    key_locations: dict[Path, Location] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def merge_documents(base: Merged, child: YamlDocument) -> Merged:
    """``child`` (its ``extends:`` key dropped) merged into ``base``.

    Raises:
        ScenarioError: Removals of ids the base does not have, malformed ``remove:``.
    """
    out = _Builder()
    child_data = {k: v for k, v in child.data.items() if k != EXTENDS_KEY}
    top = _Source(child, None)
    out.locations[()] = child.locate(())
    out.files[()] = child.file
    out.data = _merge_map(base.doc.data, _Source(base.doc, base), (), child_data, top, (), (), out)
    if out.problems:
        raise ScenarioError(out.problems)
    doc = YamlDocument(out.data, out.locations, child.file, out.key_locations, child.text)
    return Merged(doc, out.files)


@dataclass(frozen=True)
class _Source:
    doc: YamlDocument
    merged: Merged | None

    def file_at(self, path: Path) -> str:
        return self.doc.file if self.merged is None else self.merged.file_at(path)


def _note(src: _Source, src_path: Path, out_path: Path, out: _Builder) -> None:
    """Record where the value at ``out_path`` came from."""
    where = src.doc.locations.get(src_path)
    if where is not None:
        out.locations[out_path] = where
    key_at = src.doc.key_locations.get(src_path)
    if key_at is not None:
        out.key_locations[out_path] = key_at
    out.files[out_path] = src.file_at(src_path)


def _copy(value: Any, src: _Source, src_path: Path, out_path: Path, out: _Builder) -> Any:
    """A copy of ``value`` with the locations of it and everything in it."""
    _note(src, src_path, out_path, out)
    if isinstance(value, dict):
        return {k: _copy(v, src, (*src_path, k), (*out_path, k), out) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v, src, (*src_path, i), (*out_path, i), out) for i, v in enumerate(value)]
    return value


def _merge_map(
    base: Mapping[str, Any],
    bsrc: _Source,
    bpath: Path,
    child: Mapping[str, Any],
    csrc: _Source,
    cpath: Path,
    opath: Path,
    out: _Builder,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in base.items():
        if key in child:
            result[key] = _merge_value(
                value, bsrc, (*bpath, key), child[key], csrc, (*cpath, key), (*opath, key), out
            )
        else:
            result[key] = _copy(value, bsrc, (*bpath, key), (*opath, key), out)
    for key, value in child.items():
        if key not in base:
            result[key] = _copy(value, csrc, (*cpath, key), (*opath, key), out)
    return result


def _merge_value(
    base: Any,
    bsrc: _Source,
    bpath: Path,
    child: Any,
    csrc: _Source,
    cpath: Path,
    opath: Path,
    out: _Builder,
) -> Any:
    if isinstance(base, dict) and isinstance(child, dict):
        _note(csrc, cpath, opath, out)
        return _merge_map(base, bsrc, bpath, child, csrc, cpath, opath, out)
    if isinstance(base, list) and isinstance(child, list) and _has_ids(base):
        _note(csrc, cpath, opath, out)
        return _merge_list(base, bsrc, bpath, child, csrc, cpath, opath, out)
    return _copy(child, csrc, cpath, opath, out)


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        ident = item.get("id")
        if isinstance(ident, str):
            return ident
    return None


def _has_ids(items: list[Any]) -> bool:
    return bool(items) and all(_item_id(item) is not None for item in items)


def _merge_list(
    base: list[Any],
    bsrc: _Source,
    bpath: Path,
    child: list[Any],
    csrc: _Source,
    cpath: Path,
    opath: Path,
    out: _Builder,
) -> list[Any]:
    """Merge by id: the base's items in order (changed or removed by the child's
    items of the same id), then the child's new items."""
    by_id: dict[str, int] = {}
    for j, item in enumerate(child):
        ident = _item_id(item)
        if ident is not None and ident not in by_id:
            by_id[ident] = j
    removed: set[int] = set()
    for j, item in enumerate(child):
        if isinstance(item, dict) and "remove" in item:
            _check_removal(item, base, csrc, (*cpath, j), out)
            removed.add(j)
    base_ids = {_item_id(item) for item in base}
    result: list[Any] = []
    for i, item in enumerate(base):
        match = by_id.get(str(_item_id(item)))
        if match is None:
            result.append(_copy(item, bsrc, (*bpath, i), (*opath, len(result)), out))
        elif match not in removed:
            where = (*opath, len(result))
            _note(csrc, (*cpath, match), where, out)
            merged = _merge_map(
                item, bsrc, (*bpath, i), child[match], csrc, (*cpath, match), where, out
            )
            result.append(merged)
    for j, item in enumerate(child):
        ident = _item_id(item)
        if j in removed or (ident is not None and ident in base_ids and by_id[ident] == j):
            continue
        result.append(_copy(item, csrc, (*cpath, j), (*opath, len(result)), out))
    return result


def _check_removal(
    item: dict[str, Any], base: list[Any], csrc: _Source, path: Path, out: _Builder
) -> None:
    doc = csrc.doc
    ident = _item_id(item)
    if item.get("remove") is not True or set(item) != {"id", "remove"} or ident is None:
        line, column = doc.locate_key((*path, "remove"))
        message = "to remove an inherited item write only its id and 'remove: true'"
        out.problems.append(Problem(doc.file, line, column, format_path(path), message))
        return
    known = [i for i in (_item_id(b) for b in base) if i is not None]
    if ident not in known:
        line, column = doc.locate((*path, "id"))
        message = f"cannot remove '{ident}': the base has no such item (items: {', '.join(known)})"
        out.problems.append(Problem(doc.file, line, column, format_path((*path, "id")), message))


def relocate_problems(problems: Iterable[Problem], merged: Merged) -> list[Problem]:
    """Problems located in the merged document moved to the file that holds the value
    (their line and column are already that file's)."""
    if not merged.files:
        return list(problems)
    by_field = {format_path(path): file for path, file in merged.files.items()}
    moved: list[Problem] = []
    for problem in problems:
        if problem.file != merged.doc.file:
            moved.append(problem)
            continue
        file = _file_of_field(problem.field, by_field, merged.doc.file)
        moved.append(
            Problem(
                file,
                problem.line,
                problem.column,
                problem.field,
                problem.message,
                problem.severity,
            )
        )
    return moved


def _file_of_field(name: str, by_field: Mapping[str, str], default: str) -> str:
    while name:
        found = by_field.get(name)
        if found is not None:
            return found
        cut = max(name.rfind("."), name.rfind("["))
        name = name[:cut] if cut > 0 else ""
    return by_field.get("", default)
