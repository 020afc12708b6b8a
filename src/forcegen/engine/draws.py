"""How a transition turns a probability into a number of people: the two modes.

The daily step (:mod:`forcegen.engine.step`) is written once against :class:`Draws`.
:class:`StochasticDraws` samples integers (binomial, Poisson) from named streams;
:class:`ExpectedDraws` returns expectations, which makes the very same step the
mean-field model. One semantics, two modes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.streams import TRANSITION_DOMAIN, stream

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
    """Integer draws from per-(block, stream name) generators."""

    @property
    def dtype(self) -> type[np.int64]:
        """Counts are integers."""
        return np.int64

    def __init__(self, seed: int, block: int) -> None:
        self._seed = seed
        self._block = block
        self._gens: dict[str, np.random.Generator] = {}

    def _gen(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = stream(self._seed, TRANSITION_DOMAIN, self._block, name)
            self._gens[name] = gen
        return gen

    def binomial(self, name: str, n: Array, p: FloatArray) -> Array:
        return self._gen(name).binomial(n, p)

    def poisson(self, name: str, lam: FloatArray) -> Array:
        return self._gen(name).poisson(lam)

    def spread(
        self,
        name: str,
        n: Array,
        width: NDArray[np.int64],
        weights: Sequence[NDArray[np.int64] | None] | None = None,
    ) -> list[Array]:
        gen = self._gen(name)
        shares = _shares(width, weights)
        return [
            gen.multinomial(int(k), p) if p.size > 0 else np.zeros(0, dtype=np.int64)
            for k, p in zip(n, shares, strict=True)
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
    ) -> tuple[Array, Array, Array]:
        from forcegen.engine.kernels import exits  # imports Numba: only when drawing

        return exits(
            self._gen(f"{name}/returned"),
            self._gen(f"{name}/exits"),
            svc,
            rec,
            start,
            segment,
            probs,
            keep,
            recovery,
        )


class ExpectedDraws:
    """Expected values: turns the step into the deterministic mean-field model."""

    @property
    def dtype(self) -> type[np.float64]:
        """Counts are real numbers."""
        return np.float64

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
    ) -> tuple[Array, Array, Array]:
        total = probs.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, np.minimum(total, 1.0) / total, 0.0)
        effective = probs * scale[..., None]  # (R, G, K); rows sum to min(total, 1)
        rows = np.arange(svc.shape[0])[:, None]
        exposed = np.arange(svc.shape[1]) >= start
        people = np.where(exposed, svc, 0.0)
        back = np.where(exposed, rec, 0.0) * recovery[:, None]
        kept = people * effective[rows, segment, keep]
        svc += back - people * effective.sum(axis=-1)[rows, segment]
        rec += kept - back
        # People per (replicate, segment), then expected leavers by cause.
        flat = (segment + rows * probs.shape[1]).ravel()
        per_segment = np.bincount(
            flat, weights=people.ravel(), minlength=probs.shape[0] * probs.shape[1]
        ).reshape(probs.shape[:2])
        by_cause = np.einsum("rg,rgk->rk", per_segment, effective)
        for stock in (svc, rec):
            stock[:, -1] += stock[:, -2]
            stock[:, 1:-1] = stock[:, :-2]
            stock[:, 0] = 0
        return back.sum(axis=1), kept.sum(axis=1), by_cause
