"""The one-line path: ``fg.Sim(fg.load("russia-2022-covert"), runs=1000, seed=1).run()``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from forcegen._version import __version__
from forcegen.engine.local_blocks import run_blocks_here
from forcegen.engine.simulate import BlockRun, Mode, run_block
from forcegen.engine.streams import BLOCK_SIZE, blocks_for
from forcegen.errors import UsageError
from forcegen.preflight import (
    MAX_MEMORY_ENV,
    Estimate,
    Holding,
    available_memory,
    check,
    estimate,
    parse_size,
)
from forcegen.results.result import Result
from forcegen.results.summary import Summary
from forcegen.scenario.load import load_scenario, scenario_hash
from forcegen.scenario.model import Scenario

__all__ = ["THREADS_ENV", "Sim", "load"]

THREADS_ENV = "FORCEGEN_THREADS"
"""Environment variable setting :class:`Sim`'s ``threads`` when it is not given."""

FloatArray = NDArray[np.float64]
Progress = Callable[[int, int], None]
"""Called as ``progress(replicates_done, replicates_total)``: after each block, and in
this process also as each block's days are simulated (its replicates advance together,
so a block half-way through its horizon counts as half its replicates)."""


def load(source: str | Path, *, overrides: Sequence[str] = ()) -> Scenario:
    """Load a scenario from a YAML file or a built-in name (see ``forcegen scenarios``).

    Args:
        source: A YAML path or a built-in name.
        overrides: ``PATH=VALUE`` texts, as ``--set`` takes them on the command line
            (``"losses.killed_per_day=range:0.0002,0.0004"``; see
            :mod:`forcegen.scenario.overrides`), applied before validation.
    """
    return load_scenario(source, overrides=overrides)


class Sim:
    """An ensemble simulation of one scenario.

    Args:
        scenario: A :class:`Scenario`, a YAML path or a built-in name.
        runs: Number of replicates.
        seed: Seed; with the scenario and the package version it determines the result.
        mode: ``"stochastic"`` (integer people, random transitions) or ``"mean-field"``
            (the same equations in expectation).
        sample_parameters: Draw uncertain parameters once per replicate (default);
            otherwise use their expected values, so bands show chance alone.
        given: Parameter name → values for every replicate, overriding sampling.
        given_quantiles: Parameter name → quantiles in (0, 1) for every replicate.
        workers: Local worker processes (Dask); None or 1 runs in this process.
        scheduler: Address of an existing Dask scheduler (``tcp://host:port``).
        threads: Threads per process drawing the returns and exits of each
            channel's replicates in parallel (stochastic mode). Default:
            ``FORCEGEN_THREADS`` if set, else the cores this process may use (at
            most 4) when running in this process and 1 on Dask
            workers (whose processes already share the cores). Results do not depend
            on it.
        max_memory: Memory the run may take (bytes, or a size such as ``"8G"``);
            default ``FORCEGEN_MAX_MEMORY`` if set, else the memory available when
            the run starts. A run estimated to need more is refused before simulating
            (:class:`~forcegen.preflight.ResourceError`; see :mod:`forcegen.preflight`).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        runs: int = 100,
        seed: int = 0,
        mode: Mode = "stochastic",
        sample_parameters: bool = True,
        given: Mapping[str, FloatArray] | None = None,
        given_quantiles: Mapping[str, FloatArray] | None = None,
        workers: int | None = None,
        scheduler: str | None = None,
        threads: int | None = None,
        max_memory: float | str | None = None,
    ) -> None:
        if runs < 1:
            raise UsageError(f"runs must be at least 1, got {runs}")
        if seed < 0:
            raise UsageError(f"seed must be a non-negative integer, got {seed}")
        raw = os.environ.get(THREADS_ENV)
        if threads is None and raw is not None:
            if not raw.strip().isdigit():
                raise UsageError(f"{THREADS_ENV} must be a whole number, got {raw!r}")
            threads = int(raw)
        if threads is not None and threads < 1:
            raise UsageError(f"threads must be at least 1, got {threads}")
        if mode not in ("stochastic", "mean-field"):
            raise UsageError(f"mode must be 'stochastic' or 'mean-field', got {mode!r}")
        self.scenario = scenario if isinstance(scenario, Scenario) else load(scenario)
        self.runs = runs
        self.seed = seed
        self.mode: Mode = mode
        self.sample_parameters = sample_parameters
        self.given = dict(given or {})
        self.given_quantiles = dict(given_quantiles or {})
        self.workers = workers
        self.scheduler = scheduler
        self.threads = threads
        if max_memory is None and os.environ.get(MAX_MEMORY_ENV, "").strip():
            max_memory = os.environ[MAX_MEMORY_ENV]
        self.max_memory = None if max_memory is None else parse_size(max_memory)
        self.result: Result | None = None

    @property
    def blocks(self) -> int:
        """Number of replicate blocks simulated (the last one may be partly discarded)."""
        return blocks_for(self.runs)

    def rows(self, block: int) -> int:
        """Replicates of ``block`` that belong to the ensemble."""
        return max(0, min(BLOCK_SIZE, self.runs - block * BLOCK_SIZE))

    def run_one_block(
        self,
        block: int,
        on_day: Callable[[int], None] | None = None,
        threads: int | None = None,
    ) -> BlockRun:
        """Simulate one block (what a worker does); ``on_day`` is called with the days
        simulated so far; ``threads`` for its exits kernel (default: :meth:`_threads`)."""
        return run_block(
            self.scenario,
            seed=self.seed,
            block=block,
            mode=self.mode,
            sample_parameters=self.sample_parameters,
            given=self.given or None,
            given_quantiles=self.given_quantiles or None,
            rows=self.rows(block),
            threads=self._threads() if threads is None else threads,
            on_day=on_day,
        )

    @property
    def blocks_at_once(self) -> int:
        """Blocks simulated at once in this process: one per thread (:meth:`_threads`),
        at most the run's blocks; 1 when the blocks run on Dask workers."""
        if (self.workers or 1) > 1 or self.scheduler:
            return 1
        return max(1, min(self._threads(), self.blocks))

    def run_here(self, progress: Progress | None = None) -> Iterator[BlockRun]:
        """Simulate every block in this process, yielding each as it finishes: several
        at once in threads when :meth:`_threads` allows (see
        :mod:`forcegen.engine.local_blocks`; the blocks are the same either way)."""
        return run_blocks_here(
            self.run_one_block,
            [self.rows(b) for b in range(self.blocks)],
            self.scenario.horizon_days,
            threads=self._threads(),
            progress=progress,
        )

    def block_progress(self, progress: Progress | None) -> Callable[[int, int], None] | None:
        """A ``(blocks_done, blocks_total)`` callback reporting replicates to ``progress``
        (for blocks run elsewhere, which finish in any order)."""
        if progress is None:
            return None
        return lambda done, _total: progress(min(done * BLOCK_SIZE, self.runs), self.runs)

    def estimate(self, holding: Holding = "result", reducers: Sequence[object] = ()) -> Estimate:
        """Memory and time expected for this run, keeping ``holding`` (every replicate
        in memory, a result folder, or ``reducers``); see :mod:`forcegen.preflight`."""
        return estimate(self, holding, reducers)

    def check_resources(
        self, holding: Holding = "result", reducers: Sequence[object] = ()
    ) -> Estimate:
        """The :meth:`estimate`, after checking that it fits in ``max_memory`` (or the
        memory available).

        Raises:
            ResourceError: It does not; the message gives the estimate and what to
                change.
        """
        est = self.estimate(holding, reducers)
        limit = self.max_memory if self.max_memory is not None else available_memory()
        check(est, limit, explicit=self.max_memory is not None)
        return est

    def _threads(self) -> int:
        """Threads for the run: as given (argument or ``FORCEGEN_THREADS``), else 1 on
        Dask workers (the workers already use the cores) and the usable cores, at most
        4, in this process. In this process a run of several blocks simulates that many
        blocks at once, one thread each; a single block splits each channel's
        replicates over the threads in the compiled exits kernel (the rest of its day
        holds the GIL; docs/benchmarks.md, *Engine speed*)."""
        if self.threads is not None:
            return self.threads
        if (self.workers or 1) > 1 or self.scheduler:
            return 1
        return min(len(os.sched_getaffinity(0)), 4)

    def run(self, progress: Progress | None = None) -> Result:
        """Simulate every block and assemble the :class:`Result`.

        Raises:
            ResourceError: The replicates would not fit in memory (checked first).
        """
        self.check_resources("result")
        start = time.perf_counter()
        if (self.workers or 1) > 1 or self.scheduler:
            from forcegen.distributed import run_blocks_distributed

            blocks = run_blocks_distributed(self, progress=self.block_progress(progress))
        else:
            blocks = list(self.run_here(progress))
        blocks.sort(key=lambda br: br.block)
        self.result = assemble(self, blocks, time.perf_counter() - start)
        return self.result


def run_to_folder(
    sim: Sim,
    folder: Path,
    *,
    scenario_text: str | None = None,
    progress: Progress | None = None,
    saving: Progress | None = None,
) -> Summary:
    """Simulate ``sim`` into an empty result folder (see :mod:`forcegen.results.folder`),
    writing each block as it finishes, and return the summary.

    Memory stays at a few blocks whatever ``sim.runs``, plus the quantiles computed
    over every replicate at the end: no :class:`Result` is built. A run estimated not
    to fit in memory is refused first (:class:`~forcegen.preflight.ResourceError`).
    The folder is complete (``run.json`` written last) when this returns; on failure it
    is left partial, for the caller (a store's staging folder, an atomic output folder)
    to discard.

    Args:
        sim: The simulation.
        folder: An empty folder.
        scenario_text: The YAML the scenario was read from, kept in ``run.json``.
        progress: Replicates simulated (see :data:`Progress`).
        saving: Steps done and total while the quantiles are computed after the run.
    """
    from forcegen.distributed import run_reduced
    from forcegen.results.folder import BlockWriter, finish_folder
    from forcegen.results.reduce import ParameterValues, SummaryTotals

    totals, parameters, writer = SummaryTotals(), ParameterValues(), BlockWriter(folder)
    sim.check_resources("folder", [totals, parameters, writer])
    start = time.perf_counter()
    run_reduced(sim, [totals, parameters, writer], progress, check=False)
    elapsed = time.perf_counter() - start
    # The ensemble the reducers were started with (run_info would sample block 0 again).
    info = totals.info
    assert info is not None  # set by run_reduced's begin()
    finish_folder(
        folder,
        info,
        totals=totals.values,
        parameters=parameters.values,
        dtypes=writer.dtypes,
        elapsed_seconds=elapsed,
        scenario_text=scenario_text,
        progress=saving,
    )
    return totals.summary()


def assemble(sim: Sim, blocks: list[BlockRun], elapsed: float) -> Result:
    """Join block runs (sorted by block) into a :class:`Result`."""
    uncertain = set(blocks[0].parameters.quantiles) | set(sim.given) | set(sim.given_quantiles)
    parameters = {
        name: np.concatenate([b.parameters.values[name] for b in blocks], axis=0)[: sim.runs]
        for name in sorted(uncertain)
    }
    return Result.from_blocks(
        [b.output for b in blocks],
        sim.runs,
        scenario=sim.scenario,
        scenario_hash=scenario_hash(sim.scenario),
        seed=sim.seed,
        version=__version__,
        mode=sim.mode,
        sample_parameters=sim.sample_parameters,
        parameters=parameters,
        elapsed_seconds=elapsed,
    )
