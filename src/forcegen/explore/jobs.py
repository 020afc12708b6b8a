"""The explorer's simulations: mean-field at once, the ensemble in the background.

* :meth:`Simulations.mean_field` — one mean-field trajectory (parameters at their
  means), computed in the request that asks for it and cached.
* :meth:`Simulations.want` — the ensembles the page needs now (the current setting,
  and the pinned baseline if any). They run one after another, the baseline first, in
  one worker process (so that a running ensemble does not hold the interpreter lock
  the next mean-field redraw needs); an ensemble no longer wanted is abandoned at its
  next simulated day, so moving a lever never waits for a stale ensemble.
* :meth:`Simulations.levers` — the sensitivity screen (:mod:`forcegen.explore.levers`),
  once per scenario.

Every ensemble of one explorer session uses the same seed, so replicate *k* of the
baseline and of the current setting draw from the same random streams (common random
numbers): their paired difference is the edit's effect, not chance. Results are cached
by (scenario hash, seed); the cache holds a few ensembles and drops the oldest.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from forcegen.errors import ForcegenError
from forcegen.explore.levers import SCREEN_REPLICATES, Lever, levers, rank_inputs
from forcegen.explore.memo import hash_of
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim

__all__ = ["EnsembleState", "Simulations"]

KEEP_ENSEMBLES = 4
"""Finished ensembles kept in memory (each is a few hundred MB at most for the
built-ins at 256 replicates)."""
KEEP_MEAN_FIELD = 32
"""Mean-field trajectories kept (a few MB each)."""


@dataclass(frozen=True)
class EnsembleState:
    """Where one ensemble stands.

    Attributes:
        done: Replicates simulated so far.
        total: Replicates asked for.
        result: The ensemble, once finished.
        error: Why it failed (a user error's message), if it did.
    """

    done: int
    total: int
    result: Result | None = None
    error: str | None = None


class _Abandoned(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from the progress callback to stop an ensemble no longer wanted."""


# -- the worker process -------------------------------------------------------------
# Shared with the worker when it starts: replicates done, and the id of the job the
# server still wants (-1: none), which the worker checks after each simulated day.
_DONE: Any = None
_WANTED: Any = None


def _worker_init(done: Any, wanted: Any) -> None:
    global _DONE, _WANTED
    _DONE, _WANTED = done, wanted


def _worker_run(job: int, scenario: Scenario, runs: int, seed: int, threads: int | None) -> Result:
    """One ensemble, in the worker process."""

    def progress(done: int, _total: int) -> None:
        if _WANTED.value != job:
            raise _Abandoned
        _DONE.value = done

    return Sim(scenario, runs=runs, seed=seed, threads=threads).run(progress=progress)


class Simulations:
    """Mean-field trajectories, screens and ensembles for one explorer server.

    Args:
        runs: Replicates per ensemble.
        seed: Seed of every simulation.
        threads: Threads per ensemble (:class:`~forcegen.sim.Sim`); default as Sim's.
        lever_count: Sliders offered per scenario.
    """

    def __init__(
        self, *, runs: int, seed: int, threads: int | None = None, lever_count: int = 6
    ) -> None:
        self.runs = runs
        self.seed = seed
        self.threads = threads
        self.lever_count = lever_count
        self._lock = threading.Condition()
        self._mean: OrderedDict[str, Result] = OrderedDict()
        self._done: OrderedDict[str, Result] = OrderedDict()
        self._errors: dict[str, str] = {}
        self._levers: dict[str, list[Lever]] = {}
        self._wanted: list[tuple[str, Scenario]] = []
        self._running: str | None = None
        self._worker: threading.Thread | None = None
        self._closed = False
        # Spawned, not forked: the server's threads and Numba do not survive a fork.
        context = multiprocessing.get_context("spawn")
        self._shared_done = context.Value("q", 0)
        self._shared_wanted = context.Value("q", -1)
        self._jobs = 0
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=context,
            initializer=_worker_init,
            initargs=(self._shared_done, self._shared_wanted),
        )

    # -- mean field ------------------------------------------------------------------
    def mean_field(self, scenario: Scenario) -> Result:
        """The mean-field trajectory of ``scenario`` (every parameter at its mean)."""
        key = hash_of(scenario)
        with self._lock:
            if key in self._mean:
                self._mean.move_to_end(key)
                return self._mean[key]
        result = Sim(
            scenario,
            runs=1,
            seed=self.seed,
            mode="mean-field",
            sample_parameters=False,
            threads=self.threads,
        ).run()
        with self._lock:
            self._mean[key] = result
            while len(self._mean) > KEEP_MEAN_FIELD:
                self._mean.popitem(last=False)
        return result

    # -- levers ----------------------------------------------------------------------
    def levers(self, scenario: Scenario) -> list[Lever]:
        """The levers of ``scenario``, from a mean-field screen of
        :data:`~forcegen.explore.levers.SCREEN_REPLICATES` sampled replicates."""
        key = hash_of(scenario)
        with self._lock:
            if key in self._levers:
                return self._levers[key]
        screen = Sim(
            scenario,
            runs=SCREEN_REPLICATES,
            seed=self.seed,
            mode="mean-field",
            threads=self.threads,
        ).run()
        headline = screen.total("strength", categories="deployed")[:, -1]
        values = {k: v for k, v in screen.parameters.items() if v.ndim == 1}
        chosen = levers(scenario, rank_inputs(values, headline), self.lever_count)
        with self._lock:
            self._levers[key] = chosen
        return chosen

    # -- ensembles -------------------------------------------------------------------
    def want(self, scenarios: list[Scenario]) -> list[str]:
        """Ask for the ensembles of ``scenarios`` (in order of priority); any other
        ensemble still running is abandoned. Returns their keys."""
        keys = [hash_of(s) for s in scenarios]
        with self._lock:
            self._wanted = list(zip(keys, scenarios, strict=True))
            if self._running is not None and self._running not in keys:
                self._shared_wanted.value = -1  # the worker stops at its next day
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._work, name="forcegen-explore-ensembles", daemon=True
                )
                self._worker.start()
            self._lock.notify_all()
        return keys

    def state(self, key: str) -> EnsembleState:
        """Where the ensemble with scenario hash ``key`` stands."""
        with self._lock:
            if key in self._done:
                return EnsembleState(self.runs, self.runs, self._done[key])
            if key in self._errors:
                return EnsembleState(0, self.runs, None, self._errors[key])
            if key == self._running:
                return EnsembleState(int(self._shared_done.value), self.runs)
            return EnsembleState(0, self.runs)

    def wait(self, key: str, timeout: float) -> EnsembleState:
        """:meth:`state` once the ensemble has finished or failed, or after
        ``timeout`` seconds (for scripts and tests)."""
        with self._lock:
            self._lock.wait_for(lambda: key in self._done or key in self._errors, timeout)
        return self.state(key)

    def worker_pid(self, timeout: float = 600.0) -> int:
        """The process id of the ensemble worker (starting it if it is not running):
        one process serves every ensemble, so the imports and the compiled engine are
        paid for once per server, not once per lever move. Waits for the ensemble
        running, if any (at most ``timeout`` seconds)."""
        pid: int = self._pool.submit(os.getpid).result(timeout=timeout)
        return pid

    def close(self) -> None:
        """Abandon every ensemble and stop the background thread."""
        with self._lock:
            self._closed = True
            self._wanted = []
            self._shared_wanted.value = -1
            self._lock.notify_all()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _next(self) -> tuple[str, Scenario] | None:
        for key, scenario in self._wanted:
            if key not in self._done and key not in self._errors:
                return key, scenario
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._closed or self._next() is not None)
                if self._closed:
                    return
                job = self._next()
                assert job is not None
                key, scenario = job
                self._running = key
                self._jobs += 1
                self._shared_done.value = 0
                self._shared_wanted.value = self._jobs
                future = self._pool.submit(
                    _worker_run, self._jobs, scenario, self.runs, self.seed, self.threads
                )
            try:
                result: Result | None = future.result()
            except _Abandoned:
                result = None
            except Exception as exc:
                # A user error, or a crashed worker or a bug: shown on the page
                # rather than leaving its progress bar waiting.
                if self._closed:
                    return
                why = str(exc) if isinstance(exc, ForcegenError) else f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self._errors[key] = why
                    self._running = None
                    self._lock.notify_all()
                continue
            with self._lock:
                self._running = None
                if result is not None:
                    self._done[key] = result
                    while len(self._done) > KEEP_ENSEMBLES:
                        self._done.popitem(last=False)
                self._lock.notify_all()
