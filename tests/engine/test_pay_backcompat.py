"""Scenarios without priced recruitment or pay-driven retention are untouched.

The covert built-in keeps the scenario hash it was published with (0.4.0); the
mobilisation built-in changed on purpose in 0.5.0 (its hash is pinned in
tests/scenario/test_extends.py). The replicate digests pin the two built-ins' block 0
(both modes, parameters sampled) as 0.5.0 gives them; when they were introduced they
were checked equal to the code before priced recruitment and retention existed. A
deliberate change of the random streams, the output layout or the built-ins changes
them, and they are then recomputed with the code before that change and compared.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from forcegen.engine.compile import compile_block
from forcegen.engine.sampling import sample_block
from forcegen.engine.simulate import Mode, run_block
from forcegen.scenario.load import scenario_hash
from forcegen.sim import load

BEFORE = {
    "russia-2022-covert": (
        "49f5bae9df0cd1b95730f680470625d2375200138cb82208d91605b28c4d7cfd",
        "b42b9e6e0041e4178370f06991236bba76e6c45614478365fd38be7abc1fbece",
    ),
    "russia-2022-mobilisation": (
        "2aa64938c2ce0d5168637868339d1fd157dc52b9ee9336d73ded3d44bc7ce588",
        "ce7daef5878bc33618483bba12e03f35d2a2c9822013f453e1775eca454d46e3",
    ),
}
SERIES = ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid")


def output_digest(name: str) -> str:
    sc = load(name)
    h = hashlib.sha256()
    modes: tuple[Mode, ...] = ("stochastic", "mean-field")
    for mode in modes:
        out = run_block(sc, seed=3, block=0, mode=mode, sample_parameters=True).output
        for series in SERIES:
            h.update(np.ascontiguousarray(getattr(out, series)).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_builtin_hash_unchanged(name: str) -> None:
    assert scenario_hash(load(name)) == BEFORE[name][0]


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_builtin_plan_has_no_priced_or_service_parts(name: str) -> None:
    sc = load(name)
    plan = compile_block(sc, sample_block(sc, seed=0, block=0, sample=False))
    assert not plan.priced.pools
    assert not plan.priced.channels
    assert all(ch.retention_service is None for ch in plan.channels)


@pytest.mark.slow  # a full block of each built-in in both modes: ~15 s of CPU each
@pytest.mark.parametrize("name", sorted(BEFORE))
def test_builtin_replicates_bit_identical(name: str) -> None:
    assert output_digest(name) == BEFORE[name][1]
