"""Run replicate blocks on Dask: local worker processes or an existing cluster.

Why results do not depend on where blocks run: block *b* draws only from streams
derived from ``(seed, b)`` (see :mod:`forcegen.engine.streams`) and its parameter
values from the same key, so a block is a pure function of (scenario, seed, block,
options). Whatever the number of workers, the grouping of blocks into tasks
(``chunk``) or the order in which tasks finish, the blocks are the same arrays; they
are sorted by block before assembly. The same holds for :func:`run_reduced`, whose
reducers store per-replicate values at fixed positions.

Fault tolerance: a task that *raises* is retried ``TASK_RETRIES`` times; a task whose
worker *dies* (killed, out of memory) is re-run on another worker by the scheduler
(``distributed.scheduler.allowed-failures``, 3 by default). Either way the re-run is
bit-for-bit the same block. The simulation is shipped once per run as the result of
a small task (not ``scatter``), so the scheduler can recompute it if the worker
holding it dies.

Workers of an existing scheduler must have the same forcegen version installed.
"""

from __future__ import annotations

import copy
import importlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from forcegen._version import __version__
from forcegen.engine.sampling import ParameterSet, sample_block
from forcegen.engine.simulate import BlockRun, Mode
from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import UsageError
from forcegen.results.reduce import Reducer, RunInfo, block_view
from forcegen.scenario.load import scenario_hash
from forcegen.scenario.model import Scenario

__all__ = [
    "TASK_RETRIES",
    "Ensemble",
    "local_cluster",
    "run_blocks_distributed",
    "run_info",
    "run_reduced",
]

Progress = Callable[[int, int], None]
"""Called as ``progress(blocks_done, blocks_total)``."""
R = TypeVar("R", bound="Reducer | Sequence[Reducer]")

TASK_RETRIES = 2
"""Extra attempts for a task that raises (worker deaths are handled by the scheduler)."""
CONNECT_TIMEOUT = "10s"
"""How long to wait for an existing scheduler to answer."""


class Ensemble(Protocol):
    """What this module needs of an ensemble simulation: :class:`forcegen.sim.Sim`.

    Spelled out as a protocol so that this module (a way of running blocks) does not
    import the simulation front end that calls it, which would make an import cycle.
    """

    scenario: Scenario
    runs: int
    """Replicates in the ensemble."""
    seed: int
    mode: Mode
    sample_parameters: bool
    given: dict[str, NDArray[np.float64]]
    given_quantiles: dict[str, NDArray[np.float64]]
    workers: int | None
    """Local worker processes; None or 1 runs in this process."""
    scheduler: str | None
    result: Any
    """The last assembled result (dropped before shipping to workers)."""

    @property
    def blocks(self) -> int:
        """Number of replicate blocks."""
        ...

    def run_one_block(self, block: int, on_day: Callable[[int], None] | None = None) -> BlockRun:
        """Simulate one block of replicates."""
        ...

    def run_here(self, progress: Callable[[int, int], None] | None = None) -> Iterator[BlockRun]:
        """Simulate every block in this process, yielding each as it finishes."""
        ...

    def block_progress(
        self, progress: Callable[[int, int], None] | None
    ) -> Callable[[int, int], None] | None:
        """A ``(blocks_done, blocks_total)`` callback reporting replicates."""
        ...

    def check_resources(self, holding: Any = "result", reducers: Sequence[object] = ()) -> Any:
        """Refuse a run that would not fit in memory."""
        ...


E = TypeVar("E", bound=Ensemble)


# ---------------------------------------------------------------------- public API
def run_blocks_distributed(
    sim: Ensemble,
    progress: Progress | None = None,
    *,
    chunk: int = 1,
    client: Any = None,
) -> list[BlockRun]:
    """Simulate every block of ``sim`` on Dask and return them (in completion order).

    Uses ``client`` if given; otherwise connects to ``sim.scheduler`` (``sim.workers``
    is then ignored: the cluster has its own) or, without one, starts a loopback
    :func:`local_cluster` of ``sim.workers`` processes; closes what it opened. In a
    script, call it (or ``Sim.run``) under ``if __name__ == "__main__":`` — worker
    processes are spawned and re-import the main module.

    Args:
        sim: The simulation (not modified).
        progress: Called after each finished task with blocks done and total.
        chunk: Blocks per task. Larger chunks mean fewer, longer tasks; results are
            the same for every value.
        client: An existing ``distributed.Client`` to use (left open).
    """
    _check(sim, chunk)
    shipped = _shippable(sim)
    total = sim.blocks
    runs: list[BlockRun] = []
    with _client_for(sim, client) as cl:
        for part in _gather(cl, _run_chunk, shipped, None, total, chunk):
            runs.extend(part)
            if progress is not None:
                progress(len(runs), total)
    return runs


def run_reduced(
    sim: Ensemble,
    reducers: R,
    progress: Progress | None = None,
    *,
    chunk: int = 1,
    client: Any = None,
    check: bool = True,
) -> R:
    """Simulate ``sim`` block by block, folding each block into ``reducers`` as it
    finishes and dropping it, so memory stays bounded whatever ``sim.runs``.

    Runs in this process when ``sim.workers`` is at most 1 and there is no scheduler
    or client; otherwise on Dask, where each block is reduced on its worker and only
    the small parts travel back. Results do not depend on either choice.

    Args:
        sim: The simulation (its ``result`` is left untouched).
        reducers: One :class:`~forcegen.results.reduce.Reducer` or a sequence of them;
            returned, filled.
        progress: Called with replicates done and total (see :data:`forcegen.sim.Progress`).
        chunk: Blocks per Dask task (no effect on results).
        client: An existing ``distributed.Client`` to use (left open).
        check: Refuse first a run whose reducers and blocks are estimated not to fit
            in memory (:meth:`forcegen.sim.Sim.check_resources`).

    Raises:
        ResourceError: The run would not fit in memory.

    Example::

        summary, strength = run_reduced(Sim("russia-2022-covert", runs=100_000),
                                        [SummaryTotals(), StrengthQuantiles()])
        strength.quantiles()
    """
    info = run_info(sim, _check(sim, chunk))
    many: list[Reducer] = [reducers] if isinstance(reducers, Reducer) else list(reducers)
    if check:
        sim.check_resources("reduced", many)
    # Workers get empty copies: the filled storage stays here and is never shipped.
    templates = [copy.deepcopy(r) for r in many]
    for r in many:
        r.begin(info)
    total = sim.blocks
    if client is None and (sim.workers or 1) <= 1 and not sim.scheduler:
        # Progress comes from the blocks' days (several blocks may be under way).
        local = ([(run.block, _extract(info, templates, run))] for run in sim.run_here(progress))
        _fold(many, local, total, None)
        return reducers
    shipped = _shippable(sim)
    with _client_for(sim, client) as cl:
        chunks = _gather(cl, _reduce_chunk, shipped, (info, templates), total, chunk)
        _fold(many, chunks, total, sim.block_progress(progress))
    return reducers


def _fold(
    reducers: list[Reducer],
    chunks: Iterable[list[tuple[int, list[Any]]]],
    total: int,
    progress: Progress | None,
) -> None:
    """Add each block's extracted parts to the reducers as chunks of blocks arrive,
    reporting progress after each chunk."""
    done = 0
    for results in chunks:
        for block, parts in results:
            for r, part in zip(reducers, parts, strict=True):
                r.add(block * BLOCK_SIZE, part)
            done += 1
        if progress is not None:
            progress(done, total)


def run_info(sim: Ensemble, block0: ParameterSet | None = None) -> RunInfo:
    """What reducers need to know about ``sim``'s ensemble.

    Args:
        sim: The simulation.
        block0: Block 0's parameter values, if already sampled.
    """
    params = block0 if block0 is not None else _check(sim, 1)
    # The parameters a Result records: those sampled, plus any given by the caller
    # (the same rule as forcegen.sim.assemble).
    names = set(params.quantiles) | set(sim.given) | set(sim.given_quantiles)
    return RunInfo(
        scenario=sim.scenario,
        scenario_hash=scenario_hash(sim.scenario),
        runs=sim.runs,
        seed=sim.seed,
        mode=sim.mode,
        sample_parameters=sim.sample_parameters,
        version=__version__,
        parameter_names=tuple(sorted(names)),
    )


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A ``distributed.Client`` of a loopback-only cluster of ``workers``
    single-threaded processes (typed ``Any``: distributed ships no annotations).

    Processes rather than threads because the engine is Python-and-NumPy code that
    holds the GIL most of the time; one thread each so workers do not compete for the
    cores they are meant to use. No dashboard: nothing listens beyond 127.0.0.1.
    """
    dd = _distributed()
    try:
        cluster = dd.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # The scheduler serves health and metrics routes even without a dashboard,
            # by default on port 8787 (another cluster may hold it): any loopback port.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            # Worker restarts after a crash log warnings; the run itself recovers.
            silence_logs=logging.ERROR,
        )
    except RuntimeError as exc:
        raise UsageError(
            f"could not start {workers} local Dask worker processes ({exc}). Workers are "
            "spawned and re-import the main module: in a script, run the simulation "
            'under `if __name__ == "__main__":`.'
        ) from exc
    try:
        client: Any = dd.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


# ---------------------------------------------------------------------- internals
def _check(sim: Ensemble, chunk: int) -> ParameterSet:
    """Fail early, here, on bad options; returns block 0's parameter values."""
    if chunk < 1:
        raise UsageError(f"chunk must be at least 1, got {chunk}")
    if sim.workers is not None and sim.workers < 1:
        raise UsageError(f"workers must be at least 1, got {sim.workers}")
    # Sampling block 0 is cheap and raises on unknown parameter names, which would
    # otherwise fail on a worker, once per retry.
    return sample_block(
        sim.scenario,
        seed=sim.seed,
        block=0,
        sample=sim.sample_parameters,
        given=sim.given or None,
        given_quantiles=sim.given_quantiles or None,
    )


def _shippable(sim: E) -> E:
    """A copy of ``sim`` to send to workers: without a previous result (which can be
    gigabytes) and without workers or scheduler (a worker never starts a cluster).
    Same class, so a subclass's ``run_one_block`` is what runs remotely."""
    shipped = copy.copy(sim)
    shipped.result = None
    shipped.workers = None
    shipped.scheduler = None
    return shipped


@contextmanager
def _client_for(sim: Ensemble, client: Any) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    if sim.scheduler:
        try:
            opened: Any = _distributed().Client(sim.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"cannot connect to the Dask scheduler at {sim.scheduler}: {exc}"
            ) from exc
        try:
            yield opened
        finally:
            opened.close()
        return
    with local_cluster(sim.workers or 1) as local:
        yield local


def _gather(
    client: Any,
    fn: Callable[..., list[Any]],
    shipped: Ensemble,
    extra: Any,
    total: int,
    chunk: int,
) -> Iterator[list[Any]]:
    """Submit ``fn(sim, extra, blocks)`` per group of ``chunk`` blocks; yield results as
    tasks finish, releasing each so workers can free its memory."""
    token = uuid.uuid4().hex[:12]
    # The simulation travels once, as the result of a task: if the worker holding it
    # dies, the scheduler recomputes it (scattered data would be lost for good).
    sim_future = client.submit(_identity, shipped, key=f"forcegen-sim-{token}", pure=False)
    extra_future = client.submit(_identity, extra, key=f"forcegen-extra-{token}", pure=False)
    futures = [
        client.submit(
            fn,
            sim_future,
            extra_future,
            list(range(lo, min(lo + chunk, total))),
            key=f"forcegen-blocks-{lo}-{min(lo + chunk, total) - 1}-{token}",
            retries=TASK_RETRIES,
            pure=False,
        )
        for lo in range(0, total, chunk)
    ]
    # Only the futures not yet finished are kept: a finished one is dropped as soon as
    # its result is here, so that its worker frees the memory.
    outstanding = {f.key: f for f in futures}
    del futures
    try:
        # Results are fetched here, one finished future at a time, not by as_completed
        # (``with_results=True``): its concurrent gathers can wait forever for results
        # already in memory (seen here; dask/distributed#7331).
        for future in _distributed().as_completed(list(outstanding.values())):
            result = future.result()
            del outstanding[future.key]
            future.release()
            yield result
    finally:
        # On error (or if the caller stops early) nothing is left running on a cluster
        # the caller may keep using.
        client.cancel([sim_future, extra_future, *outstanding.values()])


def _distributed() -> Any:
    # Imported on use (Dask takes a second to import and most runs never need it),
    # and typed as Any: distributed ships no type annotations.
    return importlib.import_module("distributed")


def _identity(value: Any) -> Any:
    return value


def _run_chunk(sim: Ensemble, _extra: Any, blocks: list[int]) -> list[BlockRun]:
    """Worker task: simulate ``blocks``."""
    return [sim.run_one_block(b) for b in blocks]


def _reduce_chunk(
    sim: Ensemble, extra: tuple[RunInfo, list[Reducer]], blocks: list[int]
) -> list[tuple[int, list[Any]]]:
    """Worker task: simulate ``blocks`` and keep only each reducer's part of each."""
    info, templates = extra
    return [(b, _extract(info, templates, sim.run_one_block(b))) for b in blocks]


def _extract(info: RunInfo, templates: Sequence[Reducer], run: BlockRun) -> list[Any]:
    view = block_view(info, run)
    return [r.extract(view) for r in templates]
