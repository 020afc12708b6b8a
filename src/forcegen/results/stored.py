"""The series of a stored run, read from its result folder only when used.

:meth:`ResultFolder.load <forcegen.results.folder.ResultFolder.load>` returns a
:class:`~forcegen.results.result.Result` whose ``data`` is a :class:`StoredSeries`: a
``dict`` of series name → array that reads a series from the replicate files the first
time it is looked up. What the folder computed at save — the quantiles, the
per-replicate summary totals and the digest (:mod:`forcegen.results.digest`) — is
answered from those files instead: ``Result.summary``, ``Result.quantiles``,
``Result.total("strength", categories="deployed")``, and the report, the answers and
the figures built on them never read a replicate block. The numbers are the ones the
series would give (tested); a result whose ``data`` is changed (an item set or
deleted) stops using the stored summaries (:attr:`StoredSeries.intact`).

A series is read when first looked up, so a run deleted from its store in between
cannot be read any more: that is a :class:`~forcegen.errors.StoreError` naming it.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import TYPE_CHECKING, Any

from numpy.typing import NDArray

if TYPE_CHECKING:
    from forcegen.results.digest import Digest
    from forcegen.results.folder import ResultFolder

__all__ = ["StoredSeries"]


class StoredSeries(dict[str, NDArray[Any]]):
    """Series name → ``(run, date, entity[, category])`` array, each read on first use.

    Iterating, ``len``, ``in`` and ``keys()`` see every series of the run without
    reading any; ``values()``, ``items()``, ``copy()``, comparison and pickling read
    them all (they hand out every array).

    Args:
        names: The series this result holds (all, or those asked for at load).
        read: Reads one series from the folder.
        folder: The result folder (for its stored quantiles, totals and digest).
    """

    def __init__(
        self,
        names: list[str],
        read: Callable[[str], NDArray[Any]],
        folder: ResultFolder,
    ) -> None:
        super().__init__()
        self._names = list(names)
        self._read = read
        self.folder = folder
        self.intact = True
        """No series was set or deleted: the folder's stored summaries describe it."""
        self._digest: Digest | None = None

    # -- lazy reading ----------------------------------------------------------------
    def __missing__(self, name: str) -> NDArray[Any]:
        if name not in self._names:
            raise KeyError(name)
        values = self._read(name)
        dict.__setitem__(self, name, values)
        return values

    def loaded(self) -> list[str]:
        """Names of the series read so far."""
        return list(dict.keys(self))

    def _load_all(self) -> None:
        for name in self._names:
            self[name]

    # -- the mapping: every series, read or not -----------------------------------------
    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __repr__(self) -> str:
        return f"StoredSeries({self._names!r}, read: {self.loaded()!r})"

    def get(self, name: str, default: Any = None) -> Any:
        """The series ``name``, read if needed, or ``default`` when the result has none."""
        return self[name] if name in self._names else default

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        """Every series name (reads all: a dict's key view reflects its contents)."""
        self._load_all()
        return dict.keys(self)

    def values(self) -> ValuesView[NDArray[Any]]:  # type: ignore[override]
        """Every array (reads all)."""
        self._load_all()
        return dict.values(self)

    def items(self) -> ItemsView[str, NDArray[Any]]:  # type: ignore[override]
        """Every (name, array) (reads all)."""
        self._load_all()
        return dict.items(self)

    def copy(self) -> dict[str, NDArray[Any]]:
        """A plain dict of every series (reads all)."""
        return dict(self.items())

    def __eq__(self, other: object) -> bool:
        self._load_all()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (e.g. sent to a Dask worker) as the plain dict of its arrays: the
        # folder may not exist where it is unpickled.
        return (dict, (self.copy(),))

    # -- changes: the stored summaries no longer describe the data ----------------------
    def __setitem__(self, name: str, value: NDArray[Any]) -> None:
        self.intact = False
        if name not in self._names:
            self._names.append(name)
        dict.__setitem__(self, name, value)

    def __delitem__(self, name: str) -> None:
        if name not in self._names:
            raise KeyError(name)
        self.intact = False
        self._names.remove(name)
        if dict.__contains__(self, name):
            dict.__delitem__(self, name)

    def pop(self, name: str, *default: Any) -> Any:
        """Remove and return a series (read if needed)."""
        if name not in self._names:
            if default:
                return default[0]
            raise KeyError(name)
        value = self[name]
        del self[name]
        return value

    def popitem(self) -> tuple[str, NDArray[Any]]:
        """Remove and return the last series."""
        if not self._names:
            raise KeyError("popitem(): no series")
        name = self._names[-1]
        return name, self.pop(name)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """The series ``name``, or set it to ``default`` when the result has none."""
        if name in self._names:
            return self[name]
        self[name] = default
        return default

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set series from a mapping or pairs (marks the result changed)."""
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def clear(self) -> None:
        """Remove every series."""
        self.intact = False
        self._names.clear()
        dict.clear(self)

    # -- what the folder computed at save ------------------------------------------------
    @property
    def runs(self) -> int:
        """Replicates (from the folder's provenance; no series read)."""
        return self.folder.runs

    def digest(self) -> Digest:
        """The run's :class:`~forcegen.results.digest.Digest`, read once."""
        if self._digest is None:
            self._digest = self.folder.digest()
        return self._digest
