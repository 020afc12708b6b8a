"""Starting points for a new scenario: the commented template, or a copy of a built-in.

:func:`new_scenario_files` returns the files ``forcegen new`` writes, as text; it reads
only forcegen's own package data and writes nothing.
"""

from __future__ import annotations

import re
from importlib import resources

from forcegen.errors import UsageError
from forcegen.scenario.load import list_builtin
from forcegen.scenario.yamlsource import parse_yaml

__all__ = ["NAME_PATTERN", "new_scenario_files", "template_text"]

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""What a scenario name may be: lower-case letters, digits, ``_`` and ``-``, starting
with a letter or digit, at most 64 characters (the ``name:`` rule)."""

_NAME_LINE = re.compile(r"^name:.*$", flags=re.M)


def template_text() -> str:
    """The commented template of a small army (``forcegen new NAME``), named
    ``my-army``; it validates as it is."""
    item = resources.files("forcegen.scenario").joinpath("templates", "new.yaml")
    return item.read_text(encoding="utf-8")


def new_scenario_files(name: str, *, source: str | None = None) -> dict[str, str]:
    """The files of a new scenario called ``name``: file name → text.

    Args:
        name: The scenario's name (see :data:`NAME_PATTERN`); the scenario file is
            ``NAME.yaml``.
        source: A built-in scenario to copy (``forcegen scenarios`` lists them); its
            ledger files come along under their own names. None: the template.

    Raises:
        UsageError: A name that is not a valid scenario name, or an unknown built-in.
    """
    if not NAME_PATTERN.match(name):
        raise UsageError(
            f"a scenario name is lower-case letters, digits, '_' and '-', starting with a "
            f"letter or digit (at most 64 characters); got {name!r}"
        )
    if source is None:
        return {f"{name}.yaml": _renamed(template_text(), name)}
    builtins = list_builtin()
    if source not in builtins:
        raise UsageError(
            f"no built-in scenario {source!r}; built-ins: {', '.join(builtins) or 'none'}"
        )
    folder = resources.files("forcegen.scenario").joinpath("builtin")
    text = folder.joinpath(f"{source}.yaml").read_text(encoding="utf-8")
    header = (
        f"# Copied from the built-in scenario {source} by `forcegen new {name} --from "
        f"{source}`;\n# the ledger files it names were copied beside it.\n"
    )
    files = {f"{name}.yaml": header + _renamed(text, name)}
    ledgers = parse_yaml(text, source).data.get("ledger_files") or []
    for ledger in ledgers:
        files[str(ledger)] = folder.joinpath(str(ledger)).read_text(encoding="utf-8")
    return files


def _renamed(text: str, name: str) -> str:
    """``text`` with its top-level ``name:`` line naming ``name``."""
    renamed, count = _NAME_LINE.subn(f"name: {name}", text, count=1)
    if count != 1:  # pragma: no cover - forcegen's own files all have a name line
        raise AssertionError("scenario text without a top-level name: line")
    return renamed
