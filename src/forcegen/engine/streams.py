"""Random streams: the reproducibility contract in one place.

Replicates are simulated in fixed blocks of :data:`BLOCK_SIZE`. A block's parameter
values are sampled from a stream named by the parameter, derived as::

    SeedSequence(seed, spawn_key=(PARAMETER_DOMAIN, block, crc32(name)))

Its transitions (one per channel and kind: enlistment, exits, renewals, …) draw
counter-based numbers keyed by (seed, stream name, replicate, day, slot) instead
(:mod:`forcegen.engine.counters`), so that a changed count cannot shift the numbers of
any other decision.

Consequences, each tested:

* replicate *k* is identical whether 10 or 10,000 replicates run, in one process,
  several, or on a Dask cluster (blocks are independent, and always full);
* two scenarios run with the same seed share the streams of every channel,
  transition and parameter they have in common (**common random numbers**), so that
  their difference reflects the scenarios, not the noise;
* adding a channel or parameter does not disturb the streams of the others.
"""

from __future__ import annotations

import zlib
from functools import cache

import numpy as np

__all__ = ["BLOCK_SIZE", "PARAMETER_DOMAIN", "blocks_for", "stream"]

BLOCK_SIZE = 128
"""Replicates per block. Part of the reproducibility contract: changing it changes results."""

PARAMETER_DOMAIN = 1
"""Domain of the parameter streams (the first word of their spawn key)."""


@cache
def _name_key(name: str) -> int:
    # crc32 is stable across processes and Python versions, unlike hash().
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, domain: int, block: int, name: str) -> np.random.Generator:
    """The generator for ``name`` in ``block`` of a run seeded with ``seed``.

    Args:
        seed: The run's seed (a non-negative integer).
        domain: :data:`PARAMETER_DOMAIN` (the only domain now in use; transitions
            draw counter-based numbers instead).
        block: Block index (replicates ``block*BLOCK_SIZE`` to ``(block+1)*BLOCK_SIZE - 1``).
        name: What the stream draws, e.g. ``"losses.killed_per_day"`` or
            ``"channel/prisoners/exits"``.
    """
    seq = np.random.SeedSequence(entropy=seed, spawn_key=(domain, block, _name_key(name)))
    return np.random.Generator(np.random.PCG64(seq))


def blocks_for(runs: int) -> int:
    """Number of blocks needed for ``runs`` replicates."""
    return -(-runs // BLOCK_SIZE)
