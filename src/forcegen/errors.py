"""One exception hierarchy for everything a user can get wrong.

The CLI turns any :class:`ForcegenError` into located messages on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "MAX_PROBLEMS",
    "ForcegenError",
    "OutputError",
    "Problem",
    "ScenarioError",
    "StoreError",
    "UsageError",
    "capped_problems",
]

MAX_PROBLEMS = 100
"""Most located problems shown per file; the rest are counted ("… and N more")."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a user's input.

    Attributes:
        file: Path of the file as the user named it (or ``<string>``).
        line: 1-based line number, or 0 when the problem concerns the file as a whole.
        column: 1-based column number, or 0 when unknown.
        field: Dotted path of the offending field (``channels[0].contract.term_days``),
            or ``""`` for the document itself.
        message: What was found and what was expected.
        severity: ``"error"`` or ``"warning"``.
    """

    file: str
    line: int
    column: int
    field: str
    message: str
    severity: str = "error"

    def format(self) -> str:
        """Render as ``FILE:LINE:COL: field.path: message`` (the format editors parse)."""
        where = self.field or "<document>"
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.column}: {where}: {prefix}{self.message}"


class ForcegenError(Exception):
    """Base class of every error caused by user input rather than by a bug."""


@dataclass
class ScenarioError(ForcegenError):
    """A scenario (or a file it includes, or an observed-data file) is invalid.

    Attributes:
        problems: The problems found (a reader of a huge file may keep only the first
            :data:`MAX_PROBLEMS` of each file).
        omitted: File → number of further problems found there but not kept.
    """

    problems: list[Problem] = field(default_factory=list)
    omitted: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(p.format() for p in capped_problems(self.problems, self.omitted))


def capped_problems(
    problems: list[Problem], omitted: dict[str, int] | None = None, limit: int = MAX_PROBLEMS
) -> list[Problem]:
    """The first ``limit`` problems of each file, in their order, then for each file
    with more (kept beyond the limit, or ``omitted``) one problem at line 0 saying
    ``… and N more problems``: what a person can read, and how much remains."""
    shown: list[Problem] = []
    count: dict[str, int] = {}
    for problem in problems:
        seen = count.get(problem.file, 0)
        count[problem.file] = seen + 1
        if seen < limit:
            shown.append(problem)
    rest = {f: n - limit for f, n in count.items() if n > limit}
    for file, n in (omitted or {}).items():
        rest[file] = rest.get(file, 0) + n
    for file, n in rest.items():
        if n > 0:
            noun = "problem" if n == 1 else "problems"
            shown.append(Problem(file, 0, 0, "", f"… and {n:,} more {noun}"))
    return shown


class StoreError(ForcegenError):
    """The results store cannot be opened, read or written as asked."""


class OutputError(ForcegenError):
    """An output file or folder cannot be written as asked: it would replace something
    forcegen did not write, or the operating system refused (full disk, permissions)."""


class UsageError(ForcegenError):
    """A command or API call was given arguments that do not fit together."""
