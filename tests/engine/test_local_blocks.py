"""Blocks simulated several at once in threads (forcegen.engine.local_blocks): the same
results as one after another, every block once, steady progress, and a failure or an
abandoned run stops the other blocks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_reproducibility import crn_scenario

from forcegen.distributed import run_reduced
from forcegen.engine.local_blocks import run_blocks_here
from forcegen.engine.simulate import Mode
from forcegen.results.reduce import SummaryTotals
from forcegen.sim import Sim


class FakeBlocks:
    """``run_one`` stand-in: walks ``days`` days calling ``on_day``, records how many
    blocks run at once and which kernel threads each got."""

    def __init__(self, days: int, fail: int | None = None) -> None:
        self.days = days
        self.fail = fail
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.kernel_threads: dict[int, int] = {}
        self.days_done: dict[int, int] = {}
        self.release = threading.Event()

    def __call__(self, block: int, on_day: Callable[[int], None] | None, threads: int) -> Any:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.kernel_threads[block] = threads
        try:
            if block == self.fail:
                raise RuntimeError(f"block {block} failed")
            for t in range(self.days):
                assert on_day is not None
                on_day(t)
                self.days_done[block] = t
                if self.days > 1000:
                    self.release.wait(0.001)  # a long block: other threads run meanwhile
            assert on_day is not None
            on_day(self.days)
            return block
        finally:
            with self.lock:
                self.now -= 1


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.integers(1, 128), min_size=1, max_size=7),
    threads=st.integers(1, 4),
    days=st.integers(0, 12),
)
def test_every_block_once_progress_steady(rows: list[int], threads: int, days: int) -> None:
    fake = FakeBlocks(days)
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def progress(done: int, total: int) -> None:
        with lock:
            seen.append((done, total))

    blocks = list(run_blocks_here(fake, rows, days, threads=threads, progress=progress))
    assert sorted(blocks) == list(range(len(rows)))
    assert fake.most <= max(1, min(threads, len(rows)))
    at_once = max(1, min(threads, len(rows)))
    assert set(fake.kernel_threads.values()) == {max(1, threads // at_once)}
    done = [d for d, _ in seen]
    assert done == sorted(done)  # never backwards
    assert {t for _, t in seen} == {sum(rows)}
    if days > 0:
        assert done[-1] == sum(rows)


def test_a_failing_block_stops_the_others() -> None:
    """Block 1 fails at once; block 0 (10,000 days, about 10 s) stops at its next day
    instead of running to its end, and the error reaches the caller."""
    fake = FakeBlocks(10_000, fail=1)
    with pytest.raises(RuntimeError, match="block 1 failed"):
        list(run_blocks_here(fake, [128, 128, 128], 10_000, threads=2))
    assert 2 not in fake.kernel_threads  # never started
    assert fake.days_done.get(0, 0) < 9_999
    assert fake.now == 0  # no block still running


def test_a_run_left_early_stops_its_blocks() -> None:
    fake = FakeBlocks(10_000)
    fast = FakeBlocks(1)

    def run_one(block: int, on_day: Callable[[int], None] | None, threads: int) -> Any:
        return (fast if block == 1 else fake)(block, on_day, threads)

    blocks = run_blocks_here(run_one, [128, 128, 128], 10_000, threads=2)
    assert next(blocks) == 1
    blocks.close()
    assert fake.days_done.get(0, 0) < 9_999
    assert fake.now == 0


def test_progress_that_raises_abandons_the_run() -> None:
    """The explorer abandons an ensemble by raising from its progress callback."""

    class AbandonedError(Exception):
        pass

    def progress(done: int, _total: int) -> None:
        if done > 0:
            raise AbandonedError

    fake = FakeBlocks(10_000)
    with pytest.raises(AbandonedError):
        list(run_blocks_here(fake, [128, 128], 10_000, threads=2, progress=progress))
    assert fake.now == 0


def _data(sim: Sim) -> dict[str, np.ndarray[Any, Any]]:
    result = sim.run()
    return {k: np.asarray(v) for k, v in result.data.items()}


@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
def test_blocks_at_once_give_the_same_run(mode: Mode) -> None:
    """A run of three blocks (300 replicates, the last block partly used), with one,
    two and three threads: the same numbers, bit for bit."""
    sc = crn_scenario(horizon=40)
    runs: list[dict[str, np.ndarray[Any, Any]]] = []
    for threads in (1, 2, 3):
        runs.append(_data(Sim(sc, runs=300, seed=4, threads=threads, mode=mode)))
    for other in runs[1:]:
        assert other.keys() == runs[0].keys()
        for key, values in runs[0].items():
            assert values.tobytes() == other[key].tobytes(), key


def test_reduced_runs_with_blocks_at_once_are_the_same() -> None:
    sc = crn_scenario(horizon=40)
    totals = []
    for threads in (1, 2):
        summary = run_reduced(Sim(sc, runs=300, seed=4, threads=threads), SummaryTotals())
        totals.append(summary.values)
    assert totals[0].keys() == totals[1].keys()
    for key, values in totals[0].items():
        np.testing.assert_array_equal(values, totals[1][key])


def test_blocks_at_once_and_the_memory_estimate() -> None:
    """Blocks at once: one per thread, at most the run's blocks, 1 on workers; the
    memory estimate holds that many blocks."""
    sc = crn_scenario(horizon=40)
    assert Sim(sc, runs=1000, threads=2).blocks_at_once == 2
    assert Sim(sc, runs=1000, threads=3).blocks_at_once == 3
    assert Sim(sc, runs=100, threads=2).blocks_at_once == 1  # one block
    assert Sim(sc, runs=1000, threads=2, workers=2).blocks_at_once == 1
    one = Sim(sc, runs=1000, threads=1).estimate("folder").memory_bytes
    two = Sim(sc, runs=1000, threads=2).estimate("folder").memory_bytes
    assert two > one


def test_progress_one_block_after_another_is_the_blocks_done_plus_this_ones_share() -> None:
    """One thread: after day ``t`` of block ``b`` the progress is the replicates of the
    blocks before it plus ``rows[b] * t // days`` (what it was before blocks ran at
    once)."""
    rows, days = [128, 128, 44], 7
    seen: list[int] = []
    list(
        run_blocks_here(
            FakeBlocks(days), rows, days, threads=1, progress=lambda d, _: seen.append(d)
        )
    )
    expected = [sum(rows[:b]) + rows[b] * t // days for b in range(3) for t in range(days + 1)]
    assert seen == expected
