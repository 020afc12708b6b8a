"""How a transition turns a probability into a number of people: the two modes.

The daily step (:mod:`forcegen.engine.step`) is written once against :class:`Draws`.
:class:`StochasticDraws` samples integers (binomial, Poisson) from named streams;
:class:`ExpectedDraws` returns expectations, which makes the very same step the
mean-field model. One semantics, two modes.

Stochastic draws are counter-based (:mod:`forcegen.engine.counters`): the numbers of a
draw depend only on (seed, stream name, global replicate, day, slot, and how many times
the name was used earlier that day), and each count is drawn by inversion from one
uniform, so that two scenarios run with the same seed share their noise wherever they
share a decision, whatever their counts (common random numbers).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.streams import BLOCK_SIZE

__all__ = ["Draws", "ExpectedDraws", "StochasticDraws"]

Array = NDArray[Any]
"""People counts: int64 in the stochastic mode, float64 in the mean-field mode."""
FloatArray = NDArray[np.float64]


class Draws(Protocol):
    """Numbers of people moving, given who could move and with what probability."""

    @property
    def dtype(self) -> type[np.int64] | type[np.float64]:
        """Element type of the counts this mode produces."""
        ...

    def start_day(self, day: int) -> None:
        """Day ``day`` (0-based) begins: later draws are that day's. Draws before the
        first call (the initial force) belong to no day."""
        ...

    def binomial(self, name: str, n: Array, p: FloatArray) -> Array:
        """How many of ``n`` people move when each does with probability ``p``."""
        ...

    def poisson(self, name: str, lam: FloatArray) -> Array:
        """How many arrive when ``lam`` are expected."""
        ...

    def spread(
        self,
        name: str,
        n: Array,
        width: NDArray[np.int64],
        weights: Sequence[NDArray[np.int64] | None] | None = None,
    ) -> list[Array]:
        """Split ``n[r]`` people evenly at random over ``width[r]`` slots, per replicate;
        where ``weights[r]`` is given, slot ``k`` gets ``weights[r][k]`` shares."""
        ...

    def exits_and_ageing(
        self,
        name: str,
        svc: Array,
        rec: Array,
        start: int,
        segment: NDArray[np.int64],
        probs: FloatArray,
        keep: int,
        recovery: FloatArray,
        *,
        pool: Executor | None = None,
        parts: int = 1,
    ) -> tuple[Array, Array, Array]:
        """Returns from recovery and exits from service for one day, then a day of
        ageing, applied to ``svc`` and ``rec`` in place.

        Both are drawn from the start-of-day numbers in age slots ``start`` and above:
        each of the ``rec[r, a]`` recovering people returns to service with probability
        ``recovery[r]``; each of the ``svc[r, a]`` people leaves with daily probability
        ``min(sum_k probs[r, g, k], 1)``, ``g = segment[r, a]``, for cause ``k`` in
        proportion to ``probs[r, g, k]``. Leavers for cause ``keep`` go to recovery in
        the same age slot. Then everyone moves one age slot up; the last slot (the
        tail) keeps its people and gains the next-to-last's.

        ``pool`` and ``parts``: the stochastic mode may split the replicates into
        ``parts`` groups drawn in ``pool``'s threads at once; the result does not
        depend on it.

        Returns:
            People returning ``(R,)``, people leaving for cause ``keep`` ``(R,)``, and
            people leaving by cause ``(R, K)``.
        """
        ...


def _shares(
    width: NDArray[np.int64], weights: Sequence[NDArray[np.int64] | None] | None
) -> list[FloatArray]:
    """Per replicate, the share of each of its ``width[r]`` slots: equal (exactly
    ``1 / width``, as always), or in proportion to ``weights[r]``."""
    out: list[FloatArray] = []
    for r, w in enumerate(width):
        given = weights[r] if weights is not None else None
        if given is None:
            out.append(np.full(int(w), 1.0 / int(w)) if w > 0 else np.zeros(0))
        else:
            out.append(given / given.sum())
    return out


class StochasticDraws:
    """Integer draws from counter-based random numbers keyed by (seed, stream name,
    replicate, day, slot): see :mod:`forcegen.engine.counters`.

    Replicate rows are numbered globally (``block * BLOCK_SIZE + row``), so replicate
    ``k`` draws the same numbers whatever the block size, the number of runs, workers
    or threads.
    """

    @property
    def dtype(self) -> type[np.int64]:
        """Counts are integers."""
        return np.int64

    def __init__(self, seed: int, block: int) -> None:
        # Imports Numba: only when drawing.
        from forcegen.engine import counters

        self._counters = counters
        self._key = counters.counter_key(seed)
        self._rep0 = block * BLOCK_SIZE
        self._day = 0  # counter word of the day: day + 1, 0 before the first
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def start_day(self, day: int) -> None:
        self._day = day + 1
        self._calls.clear()

    def _stream(self, name: str) -> int:
        """Counter word of ``name``: a name used again the same day gets new numbers.
        Uses are numbered in call order, so draws made from parallel threads must use
        names of their own. (The step draws from one thread; its exits kernel splits
        replicates over threads only after the names are numbered.)"""
        with self._lock:  # kept: cheap, and safe if a caller draws from threads
            call = self._calls.get(name, 0)
            self._calls[name] = call + 1
        return self._counters.stream_id(name, call)

    def binomial(self, name: str, n: Array, p: FloatArray) -> Array:
        return self._counters.binomials(self._key, self._stream(name), self._day, self._rep0, n, p)

    def poisson(self, name: str, lam: FloatArray) -> Array:
        return self._counters.poissons(self._key, self._stream(name), self._day, self._rep0, lam)

    def spread(
        self,
        name: str,
        n: Array,
        width: NDArray[np.int64],
        weights: Sequence[NDArray[np.int64] | None] | None = None,
    ) -> list[Array]:
        stream = self._stream(name)
        shares = _shares(width, weights)
        return [
            self._counters.multinomial(self._key, stream, self._day, self._rep0 + r, int(k), p)
            for r, (k, p) in enumerate(zip(n, shares, strict=True))
        ]

    def exits_and_ageing(
        self,
        name: str,
        svc: Array,
        rec: Array,
        start: int,
        segment: NDArray[np.int64],
        probs: FloatArray,
        keep: int,
        recovery: FloatArray,
        *,
        pool: Executor | None = None,
        parts: int = 1,
    ) -> tuple[Array, Array, Array]:
        from forcegen.engine.kernels import exits  # imports Numba: only when drawing

        return exits(
            self._key,
            self._stream(f"{name}/returned"),
            self._stream(f"{name}/exits"),
            self._day,
            self._rep0,
            svc,
            rec,
            start,
            segment,
            probs,
            keep,
            recovery,
            pool=pool,
            parts=parts,
        )


class ExpectedDraws:
    """Expected values: turns the step into the deterministic mean-field model."""

    @property
    def dtype(self) -> type[np.float64]:
        """Counts are real numbers."""
        return np.float64

    def __init__(self) -> None:
        # Per stream name: the probabilities, segments and recovery rates last seen
        # (kept alive, so identity means sameness) and the rates prepared from them.
        self._rates: dict[str, tuple[tuple[NDArray[Any], ...], Any]] = {}

    def start_day(self, day: int) -> None:
        """Expected values do not depend on the day's numbers."""

    def binomial(self, name: str, n: Array, p: FloatArray) -> Array:
        return n * p

    def poisson(self, name: str, lam: FloatArray) -> Array:
        return np.asarray(lam, dtype=np.float64)

    def spread(
        self,
        name: str,
        n: Array,
        width: NDArray[np.int64],
        weights: Sequence[NDArray[np.int64] | None] | None = None,
    ) -> list[Array]:
        shares = _shares(width, weights)
        return [float(k) * p for k, p in zip(n, shares, strict=True)]

    def exits_and_ageing(
        self,
        name: str,
        svc: Array,
        rec: Array,
        start: int,
        segment: NDArray[np.int64],
        probs: FloatArray,
        keep: int,
        recovery: FloatArray,
        *,
        pool: Executor | None = None,
        parts: int = 1,
    ) -> tuple[Array, Array, Array]:
        from forcegen.engine.kernels import expected_exits_with, expected_rates

        # The step hands over the same probability array until one of its schedules
        # steps (forcegen.engine.step._exit_probabilities), so the rates prepared from
        # it are kept per stream while the arrays are the same objects.
        inputs = (probs, segment, recovery)
        seen = self._rates.get(name)
        if seen is None or any(a is not b for a, b in zip(seen[0], inputs, strict=True)):
            seen = (inputs, expected_rates(segment, probs, keep, recovery))
            self._rates[name] = seen
        return expected_exits_with(svc, rec, start, seen[1])
