"""The blocks of one run simulated in this process: one after another, or several at
once in threads.

Why threads for whole blocks: about 70 % of a stochastic block's time is the compiled
exits kernel, which releases the GIL, and the rest is interpreted NumPy work that
holds it. Splitting each kernel call over threads (``threads`` of
:func:`forcegen.engine.simulate.run_block`) leaves the other core idle during the
interpreted part; two blocks in two threads keep both cores busy, since one block's
kernel runs while the other's interpreted part holds the GIL (docs/benchmarks.md,
*Engine speed*). Every random number is keyed by its replicate, so the blocks are
the same whichever way they are run.

Blocks are handed over in the order they finish, at most ``at_once`` in memory at a
time beyond those the caller keeps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from forcegen.engine.simulate import BlockRun

__all__ = ["RunOne", "run_blocks_here"]

RunOne = Callable[[int, Callable[[int], None] | None, int], BlockRun]
"""Simulates block ``b`` with an ``on_day`` callback and the number of threads its
exits kernel may use: :meth:`forcegen.sim.Sim.run_one_block`."""


class _StoppedError(Exception):
    """Raised inside a block's thread to end it early (the run is abandoned)."""


class _Tally:
    """Replicates done over every block in flight, reported to ``progress``.

    A block of ``rows`` replicates that has simulated ``t`` of ``days`` days counts
    for ``rows * t / days`` replicates, so the total grows steadily whichever blocks
    run at once."""

    def __init__(
        self, rows: list[int], days: int, progress: Callable[[int, int], None] | None
    ) -> None:
        self._rows = rows
        self._days = max(days, 1)
        self._done = [0] * len(rows)  # days done, per block
        self._replicate_days = 0  # Σ rows × days done, kept as blocks report
        self._total = sum(rows)
        self._progress = progress
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def on_day(self, block: int) -> Callable[[int], None]:
        """The ``on_day`` callback of ``block``: records its progress and ends it
        (raises :class:`_StoppedError`) once the run is abandoned."""

        def report(days_done: int) -> None:
            if self.stop.is_set():
                raise _StoppedError
            if self._progress is None:
                return
            with self._lock:
                # Updated by the difference, not summed over every block: a run of
                # 100,000 replicates has 782 blocks, each reporting every day.
                self._replicate_days += self._rows[block] * (days_done - self._done[block])
                self._done[block] = days_done
                self._progress(self._replicate_days // self._days, self._total)

        return report


def run_blocks_here(
    run_one: RunOne,
    rows: list[int],
    days: int,
    *,
    threads: int,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[BlockRun]:
    """Simulate blocks ``0 … len(rows) - 1`` in this process and yield each as it
    finishes.

    With ``threads`` of 1, or a single block, the blocks run one after another in the
    calling thread, each with ``threads`` threads for its exits kernel. Otherwise
    ``min(threads, blocks)`` blocks run at once, each in its own thread with the
    threads left over for its kernel (usually 1).

    Args:
        run_one: Simulates one block (see :data:`RunOne`).
        rows: Replicates of each block that belong to the run (for progress).
        days: Days each block simulates (for progress).
        threads: Threads this run may use.
        progress: Called with replicates done and total, from the blocks' threads.

    Raises:
        Whatever a block raises: the other blocks are stopped at their next day and
        waited for first. The same happens if the caller stops iterating early.
    """
    tally = _Tally(rows, days, progress)
    at_once = max(1, min(threads, len(rows)))
    kernel_threads = max(1, threads // at_once)
    if at_once == 1:
        for block in range(len(rows)):
            yield run_one(block, tally.on_day(block), kernel_threads)
        return
    waiting = iter(range(len(rows)))
    running: set[Future[BlockRun]] = set()
    with ThreadPoolExecutor(at_once, thread_name_prefix="forcegen-blocks") as pool:
        try:
            for block in waiting:
                running.add(pool.submit(run_one, block, tally.on_day(block), kernel_threads))
                if len(running) == at_once:
                    break
            while running:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    run = future.result()
                    # Hand over first, then start the next block: at most `at_once`
                    # blocks are held here while the caller folds or keeps one.
                    yield run
                    following = next(waiting, None)
                    if following is not None:
                        on_day = tally.on_day(following)
                        running.add(pool.submit(run_one, following, on_day, kernel_threads))
        finally:
            # An error, an interrupt or the caller leaving: the blocks still running
            # stop at their next day; the pool's exit waits for them.
            tally.stop.set()
            for future in running:
                future.cancel()
