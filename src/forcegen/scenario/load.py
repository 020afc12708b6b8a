"""Load a scenario from a file or a built-in name: parse, validate, merge ledgers, check.

This is the only module of :mod:`forcegen.scenario` that reads files. Built-in
scenarios are the ``*.yaml`` files in ``forcegen/scenario/builtin/`` (found with
:mod:`importlib.resources`); a file there whose name starts or ends with the word
``ledger`` (``ledger-ap-2022-08.yaml``, ``covert.ledger.yaml``) is an evidence ledger,
not a scenario.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.checks import SourceMap, scenario_problems, validate_document
from forcegen.scenario.extends import EXTENDS_KEY, Merged, merge_documents
from forcegen.scenario.extends import relocate_problems as relocate_merged
from forcegen.scenario.model import Claim, Scenario
from forcegen.scenario.overrides import apply_overrides, relocate_problems
from forcegen.scenario.yamlsource import MAX_BYTES, YamlDocument, parse_yaml

__all__ = [
    "LedgerFile",
    "LoadedScenario",
    "builtin_particles",
    "builtin_title",
    "list_builtin",
    "load_scenario",
    "load_scenario_text",
    "load_scenario_text_with_warnings",
    "load_scenario_with_warnings",
    "scenario_hash",
]

_SUFFIXES = (".yaml", ".yml")


class LedgerFile(BaseModel):
    """A YAML file of evidence claims that scenarios include through ``ledger_files``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(default="", description="What the ledger collects.")
    claims: list[Claim] = Field(description="The claims, cited by id from scenarios.")


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with what else loading it produced.

    Attributes:
        scenario: The scenario, ledger claims merged into ``claims``.
        warnings: Problems that do not stop a run (unused claims, unsourced values...).
        source_text: Text of the scenario file, to store alongside results.
        path: File the scenario came from (``None`` for text given directly).
    """

    scenario: Scenario
    warnings: list[Problem] = field(default_factory=list)
    source_text: str = ""
    path: str | None = None


# ------------------------------------------------------------------------------ API
def load_scenario(
    source: str | Path, *, strict: bool | None = None, overrides: Sequence[str] = ()
) -> Scenario:
    """Load and check a scenario file or built-in scenario (see
    :func:`load_scenario_with_warnings`); warnings are dropped."""
    return load_scenario_with_warnings(source, strict=strict, overrides=overrides).scenario


def load_scenario_with_warnings(
    source: str | Path, *, strict: bool | None = None, overrides: Sequence[str] = ()
) -> LoadedScenario:
    """Load and check a scenario.

    Args:
        source: Path of a YAML file, or the name of a built-in scenario
            (see :func:`list_builtin`). An existing file wins over a built-in name.
        strict: Make parameters without evidence or assumption an error. Defaults to
            True for built-in scenarios and False for files.
        overrides: ``PATH=VALUE`` texts applied to the file's data before it is
            validated (:mod:`forcegen.scenario.overrides`); problems with them are
            located at ``--set:N:COL``.

    Raises:
        ScenarioError: With every error found (in the scenario and its ledgers).
    """
    text_source = str(source)
    if isinstance(source, Path) or Path(text_source).is_file() or _looks_like_path(text_source):
        path = Path(source)
        raw = _read(path, text_source)
        return _load(
            raw,
            text_source,
            _FileFolder(path.parent),
            strict=bool(strict),
            path=text_source,
            overrides=overrides,
        )
    if text_source in list_builtin():
        item = _builtin_dir().joinpath(text_source + ".yaml")
        raw = _read(item, str(item))
        folder = _ResourceFolder(_builtin_dir())
        return _load(
            raw, str(item), folder, strict=strict is not False, path=str(item), overrides=overrides
        )
    raise ScenarioError([Problem(text_source, 0, 0, "", _not_found(text_source))])


def load_scenario_text(
    text: str | bytes,
    file: str = "<string>",
    *,
    strict: bool = False,
    base_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> Scenario:
    """Load and check a scenario given as YAML text (see
    :func:`load_scenario_text_with_warnings`); warnings are dropped."""
    return load_scenario_text_with_warnings(
        text, file, strict=strict, base_dir=base_dir, overrides=overrides
    ).scenario


def load_scenario_text_with_warnings(
    text: str | bytes,
    file: str = "<string>",
    *,
    strict: bool = False,
    base_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
) -> LoadedScenario:
    """Load and check a scenario given as YAML text.

    Args:
        text: The YAML document (str, or UTF-8 bytes).
        file: Name used in problems.
        strict: Make parameters without evidence or assumption an error.
        base_dir: Folder that ``ledger_files`` are relative to; the current one when
            omitted.
        overrides: ``PATH=VALUE`` texts applied before validation, as for
            :func:`load_scenario_with_warnings` (problems located at ``--set:N:COL``).

    Raises:
        ScenarioError: With every error found.
    """
    folder = _FileFolder(Path(base_dir) if base_dir is not None else Path.cwd())
    return _load(text, file, folder, strict=strict, path=None, overrides=overrides)


def list_builtin() -> list[str]:
    """Names of the built-in scenarios (file stems), sorted."""
    folder = _builtin_dir()
    if not folder.is_dir():
        return []
    stems = [item.name[: -len(".yaml")] for item in folder.iterdir() if item.name.endswith(".yaml")]
    return sorted(stem for stem in stems if stem and not _is_ledger_name(stem))


def builtin_particles(name: str) -> Path | None:
    """The posterior sample shipped beside built-in ``name`` (``<name>-particles.csv``
    in the built-in folder, for a calibrated built-in), or None. Read by
    :mod:`forcegen.analysis.posterior_runs`, so runs of the built-in draw its
    calibrated parameters jointly, as runs of its file would."""
    if name not in list_builtin():
        return None
    item = _builtin_dir().joinpath(name + "-particles.csv")
    # An installed package is a folder on disk; a zipped one would need extracting.
    return Path(str(item)) if item.is_file() and Path(str(item)).is_file() else None


def builtin_title(name: str) -> str:
    """Title of a built-in scenario (its ``title:``, or ``""``); reads the YAML only.

    Raises:
        ScenarioError: ``name`` is not a built-in scenario, or its file is not YAML.
    """
    if name not in list_builtin():
        raise ScenarioError([Problem(name, 0, 0, "", _not_found(name))])
    item = _builtin_dir().joinpath(name + ".yaml")
    title = parse_yaml(_read(item, str(item)), str(item)).data.get("title", "")
    return title if isinstance(title, str) else str(title)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 (hex) of a canonical JSON dump of the validated scenario, merged ledger
    claims included: equal for scenarios that mean the same, whatever their YAML
    layout (key order, comments, flow or block style).

    The names listed in ``ledger_files`` are part of the dump, so moving claims into a
    ledger of another name changes the hash; dropping them would change every
    published hash of a built-in that cites a ledger, so they stay."""
    dumped = scenario.model_dump(mode="python", by_alias=True)
    if dumped.get("questions") is None:
        # Scenarios without questions keep the hashes they had before questions existed.
        dumped.pop("questions", None)
    _drop_absent_pay_fields(dumped)
    _drop_later_defaults(dumped)
    # Likewise for later optional fields left out: a scenario that does not use them
    # keeps its hash (and gives the same results).
    dumped = _without_absent(dumped, _LATER_OPTIONAL_FIELDS)
    canonical = json.dumps(
        dumped, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- internals
def _drop_absent_pay_fields(dumped: dict[str, Any]) -> None:
    """Leave out priced-recruitment and retention fields at their defaults, so that
    scenarios without them keep the hashes they had before these fields existed."""
    for pool in dumped.get("pools") or []:
        if pool.get("reservation_wage") is None:
            pool.pop("reservation_wage", None)
        if not pool.get("regions"):
            pool.pop("regions", None)
    for channel in dumped.get("channels") or []:
        contract = channel.get("contract")
        if isinstance(contract, dict) and contract.get("retention") is None:
            contract.pop("retention", None)


_LATER_OPTIONAL_FIELDS = frozenset({"step_correlation", "conscription"})
"""Optional fields added to the language after scenario hashes were first published;
when absent (None) they are left out of the hash."""


def _without_absent(value: Any, names: frozenset[str]) -> Any:
    """``value`` (a dump of dicts and lists) without the keys in ``names`` whose value
    is None, at any depth."""
    if isinstance(value, dict):
        return {
            k: _without_absent(v, names) for k, v in value.items() if not (k in names and v is None)
        }
    if isinstance(value, list):
        return [_without_absent(v, names) for v in value]
    return value


def _drop_later_defaults(dumped: dict[str, Any]) -> None:
    """Remove, in place, fields added with issue #13 (exposure, returns to duty, waves
    sized in arrivals) where they hold their defaults, so that scenarios which do not
    use them keep the hashes they had before these fields existed."""
    for channel in dumped.get("channels") or []:
        if channel.get("front_share") is None:
            channel.pop("front_share", None)
    losses = dumped.get("losses") or {}
    if not losses.get("returns_to_duty"):
        losses.pop("returns_to_duty", None)
    if losses.get("exposure") is None:
        losses.pop("exposure", None)
    for event in dumped.get("events") or []:
        if event.get("type") == "mobilisation_wave" and event.get("size_counts") == "calls":
            event.pop("size_counts", None)


# ---------------------------------------------------------------------- internals
def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot hash a {type(value).__name__}")  # pragma: no cover


def _is_ledger_name(stem: str) -> bool:
    words = stem.replace("_", "-").replace(".", "-").split("-")
    return "ledger" in (words[0], words[-1])


def _builtin_dir() -> Traversable:
    return resources.files("forcegen.scenario").joinpath("builtin")


def _looks_like_path(source: str) -> bool:
    return source.endswith(_SUFFIXES) or "/" in source or "\\" in source


def _not_found(name: str) -> str:
    names = list_builtin()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    known = ", ".join(names) if names else "none installed"
    return f"no such file, and no built-in scenario of that name{hint} (built-ins: {known})"


def _read(item: Path | Traversable, shown: str) -> bytes:
    """Read at most one byte more than the size limit, so that a huge (or endless)
    file costs bounded memory; :func:`parse_yaml` rejects anything over the limit."""
    try:
        with item.open("rb") as handle:
            data: bytes = handle.read(MAX_BYTES + 1)
            return data
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ScenarioError([Problem(shown, 0, 0, "", f"cannot read file: {reason}")]) from None


@dataclass(frozen=True)
class _FileFolder:
    """Ledger files next to a scenario file (or in a chosen folder)."""

    root: Path

    def locate(self, name: str) -> tuple[Path | Traversable, str]:
        path = self.root / name
        return path, str(path)


@dataclass(frozen=True)
class _ResourceFolder:
    """Ledger files among the built-in scenarios."""

    root: Traversable

    def locate(self, name: str) -> tuple[Path | Traversable, str]:
        item = self.root
        for part in name.split("/"):
            item = item.joinpath(part)
        return item, str(item)


def _load(
    raw: str | bytes,
    file: str,
    folder: _FileFolder | _ResourceFolder,
    *,
    strict: bool,
    path: str | None,
    overrides: Sequence[str] = (),
) -> LoadedScenario:
    parsed = parse_yaml(raw, file)
    merged, folders = _extend(parsed, folder, _identity(folder, file), ())

    def ledger_folder(index: int) -> _FileFolder | _ResourceFolder:
        return folders.get(merged.file_at(("ledger_files", index)), folder)

    doc = merged.doc
    try:
        if not overrides:
            loaded = _check(doc, ledger_folder, strict=strict, path=path)
            return LoadedScenario(
                loaded.scenario,
                relocate_merged(loaded.warnings, merged),
                loaded.source_text,
                loaded.path,
            )
        data, targets = apply_overrides(doc.data, overrides, Scenario)
        changed = YamlDocument(data, doc.locations, doc.file, doc.key_locations, doc.text)
        try:
            loaded = _check(changed, ledger_folder, strict=strict, path=path)
        except ScenarioError as exc:
            problems = relocate_problems(exc.problems, doc.file, targets)
            raise ScenarioError(problems, exc.omitted) from None
        warnings = relocate_problems(loaded.warnings, doc.file, targets)
        return LoadedScenario(
            loaded.scenario, relocate_merged(warnings, merged), loaded.source_text, loaded.path
        )
    except ScenarioError as exc:
        raise ScenarioError(relocate_merged(exc.problems, merged), exc.omitted) from None


_Folder = _FileFolder | _ResourceFolder


def _identity(folder: _Folder, file: str) -> str:
    """What names one scenario file, for finding cycles of ``extends:``."""
    if isinstance(folder, _FileFolder) and Path(file).is_file():
        return str(Path(file).resolve())
    return file


def _extend(
    doc: YamlDocument, folder: _Folder, identity: str, chain: tuple[str, ...]
) -> tuple[Merged, dict[str, _Folder]]:
    """``doc`` with its ``extends:`` (and its base's, and so on) resolved; and the
    folder of each file involved, for their ledger files."""
    if EXTENDS_KEY not in doc.data:
        return Merged.single(doc), {doc.file: folder}
    name = doc.data[EXTENDS_KEY]
    line, column = doc.locate((EXTENDS_KEY,))

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(doc.file, line, column, EXTENDS_KEY, message)])

    if not isinstance(name, str) or not name.strip():
        raise fail("expected the name of a built-in scenario or the path of a YAML file")
    item, shown, base_folder = _find_base(name, folder, fail)
    base_identity = _identity(base_folder, shown)
    seen = (*chain, identity)
    if base_identity in seen:
        loop = [*seen[seen.index(base_identity) :], base_identity]
        raise fail("extends goes round in a circle: " + " -> ".join(loop))
    try:
        raw = _read(item, shown)
    except ScenarioError:
        raise fail(f"cannot read the scenario it extends, {shown}") from None
    base_doc = parse_yaml(raw, shown)
    base, folders = _extend(base_doc, base_folder, base_identity, seen)
    merged = merge_documents(base, doc)
    return merged, {**folders, doc.file: folder}


def _find_base(
    name: str, folder: _Folder, fail: Callable[[str], ScenarioError]
) -> tuple[Path | Traversable, str, _Folder]:
    """The file ``extends: name`` means: a path relative to the extending file, else a
    built-in scenario."""
    if isinstance(folder, _FileFolder):
        candidate = folder.root / name
        if candidate.is_file() or _looks_like_path(name):
            return candidate, str(candidate), _FileFolder(candidate.parent)
    else:
        item, shown = folder.locate(name)
        if item.is_file():
            return item, shown, folder
    if name in list_builtin():
        item = _builtin_dir().joinpath(name + ".yaml")
        return item, str(item), _ResourceFolder(_builtin_dir())
    raise fail(_not_found(name))


def _check(
    doc: YamlDocument,
    folder_of: Callable[[int], _FileFolder | _ResourceFolder],
    *,
    strict: bool,
    path: str | None,
) -> LoadedScenario:
    _require_fields(doc, Scenario, "a scenario", "name, start_date, channels")
    errors: list[Problem] = []
    scenario: Scenario | None = None
    try:
        scenario = validate_document(doc, Scenario)
    except ScenarioError as exc:
        errors += exc.problems
    ledger_names = scenario.ledger_files if scenario is not None else _raw_ledgers(doc)
    ledgers: list[tuple[YamlDocument, LedgerFile]] = []
    for i, name in enumerate(ledger_names):
        try:
            ledgers.append(_load_ledger(doc, i, name, folder_of(i)))
        except ScenarioError as exc:
            errors += exc.problems
    if errors or scenario is None:
        raise ScenarioError(errors)
    merged, sources = _merge(scenario, doc, ledgers)
    found = scenario_problems(merged, sources, strict=strict)
    errors = [p for p in found if p.severity == "error"]
    if errors:
        raise ScenarioError(errors)
    warnings = [p for p in found if p.severity != "error"]
    return LoadedScenario(merged, warnings, doc.text, path)


def _raw_ledgers(doc: YamlDocument) -> list[str]:
    """Ledger names from a document that did not validate, to check those too."""
    names = doc.data.get("ledger_files")
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    return []


def _load_ledger(
    doc: YamlDocument, index: int, name: str, folder: _FileFolder | _ResourceFolder
) -> tuple[YamlDocument, LedgerFile]:
    item, shown = folder.locate(name)
    try:
        raw = _read(item, shown)
    except ScenarioError:
        line, column = doc.locate(("ledger_files", index))
        message = f"cannot read ledger file {shown}"
        problem = Problem(doc.file, line, column, f"ledger_files[{index}]", message)
        raise ScenarioError([problem]) from None
    ledger_doc = parse_yaml(raw, shown)
    _require_fields(ledger_doc, LedgerFile, "an evidence ledger", "claims")
    return ledger_doc, validate_document(ledger_doc, LedgerFile)


def _require_fields(doc: YamlDocument, model: type[BaseModel], what: str, keys: str) -> None:
    """Refuse a mapping none of whose keys is a field of ``model`` as not ``what``,
    without naming its keys: such a file is something else (a password file reads as
    a YAML mapping of its lines), and its content is no business of an error message.
    """
    fields = [f.alias or name for name, f in model.model_fields.items()]
    if doc.data and not any(key in fields for key in doc.data):
        line, column = doc.locate(())
        message = (
            f"not {what}: expected a YAML mapping of keys such as {keys}; "
            f"none of the {len(doc.data):,} keys of this file is one"
        )
        raise ScenarioError([Problem(doc.file, line, column, "", message)])


def _merge(
    scenario: Scenario, doc: YamlDocument, ledgers: list[tuple[YamlDocument, LedgerFile]]
) -> tuple[Scenario, SourceMap]:
    claims = list(scenario.claims)
    origins: dict[int, tuple[YamlDocument, tuple[str | int, ...]]] = {}
    for ledger_doc, ledger in ledgers:
        for j, claim in enumerate(ledger.claims):
            origins[len(claims)] = (ledger_doc, ("claims", j))
            claims.append(claim)
    # The claims were validated as Claim objects already; nothing else changes.
    merged = scenario.model_copy(update={"claims": claims})
    return merged, SourceMap(doc, origins)
