"""A small thread-safe memo: the last few values computed, by key.

The explorer's server answers several requests at once (one thread each), and a page
asks for the same things again and again: the scenario of a lever position seen
before, the figures of a setting already drawn. :class:`Memo` keeps the most recently
used values and forgets the oldest.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from forcegen.scenario.load import scenario_hash
from forcegen.scenario.model import Scenario

__all__ = ["Memo", "hash_of"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """The last ``size`` values by key.

    Args:
        size: Values kept (at least 1).
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``, made by ``make()`` when not kept (two threads asking
        for the same new key may both make it; the values are equal)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` as the value of ``key``."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)


_HASHES: Memo[int, tuple[Scenario, str]] = Memo(256)


def hash_of(scenario: Scenario) -> str:
    """:func:`~forcegen.scenario.load.scenario_hash` of ``scenario``, kept for the
    same object (a lever move asked for it five times, 15–25 ms each on a loaded
    machine). Scenarios are not changed once validated, so an object's hash holds."""
    kept = _HASHES.get(id(scenario), lambda: (scenario, scenario_hash(scenario)))
    if kept[0] is scenario:
        return kept[1]
    # Another object at a freed object's address: hash it afresh.
    fresh = scenario_hash(scenario)
    _HASHES.put(id(scenario), (scenario, fresh))
    return fresh
