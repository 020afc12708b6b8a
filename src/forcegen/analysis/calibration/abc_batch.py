"""pyabc plumbing of the ABC-SMC calibration: a sampler that evaluates pyabc's
proposals in batches (as the replicates of one simulation, reproducibly from the
seed), the unit-cube prior, a fast transition, and the handling of pyabc's logging
and of numpy's global random state."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    pass

from forcegen.analysis.calibration.common import FloatArray, Progress

MAX_BATCH = 2048
"""Largest batch of proposals simulated at once (memory and waste bound)."""


# -------------------------------------------------------------------- pyabc batching
class _Deferred(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by the model while a batch is being collected: the proposal is recorded
    and simulated later, together with the rest of the batch."""


@dataclass
class _Batches:
    """State shared by the batched model and sampler."""

    keys: list[str]
    simulate: Callable[[FloatArray, int], FloatArray]  # (B, k) proposals, batch no → (B, n)
    seed: int
    budget: int
    round_to: int
    progress: Progress | None
    simulations: int = 0
    batches: int = 0
    recording: bool = True
    proposals: list[FloatArray] = field(default_factory=list)
    results: FloatArray | None = None
    cursor: int = 0


def _make_model(state: _Batches) -> Any:
    import pyabc

    class BatchModel(pyabc.Model):  # type: ignore[misc]
        """Record proposals while collecting, return simulated statistics on replay."""

        def sample(self, pars: Mapping[str, float]) -> dict[str, FloatArray]:
            theta = np.array([float(pars[k]) for k in state.keys])
            if state.recording:
                state.proposals.append(theta)
                raise _Deferred
            i = state.cursor
            if state.results is None or not np.array_equal(theta, state.proposals[i]):
                raise RuntimeError(
                    "pyabc proposal replay diverged from the recorded batch; the batched "
                    "sampler needs pyabc's proposal draws to depend only on numpy's global "
                    "random state"
                )
            # pyabc's stochastic acceptor draws its uniform next, from numpy's global
            # state: give it a stream of its own, independent of the proposal draws.
            ss = np.random.SeedSequence([state.seed, 1, state.batches, i])
            np.random.seed(int(ss.generate_state(1, dtype=np.uint32)[0]))  # noqa: NPY002 - pyabc uses the global state
            return {"y": state.results[i]}

    return BatchModel(name="forcegen")


def _make_sampler(state: _Batches) -> Any:
    import pyabc

    class BatchSampler(pyabc.sampler.Sampler):  # type: ignore[misc]
        """Evaluate pyabc's proposals in batches, as the replicates of one simulation.

        pyabc's ``simulate_one`` draws a proposal from numpy's global random state,
        simulates it and decides acceptance. For each batch this sampler (1) calls it
        with the model in *recording* mode, which stores the proposal and aborts, after
        saving the random state before each call; (2) simulates all recorded proposals
        at once; (3) restores each saved state and calls ``simulate_one`` again, which
        re-draws the identical proposal and now gets its simulated statistics. The run
        is deterministic given the seed, whatever the batch size.
        """

        def __init__(self) -> None:
            super().__init__()
            self.rate = 0.3

        def sample_until_n_accepted(
            self,
            n: int,
            simulate_one: Callable[[], Any],
            t: int,
            *,
            max_eval: float = np.inf,
            all_accepted: bool = False,
            ana_vars: Any = None,
        ) -> Any:
            sample = self._create_empty_sample()
            evaluated = accepted = 0
            while accepted < n and evaluated < max_eval:
                left = state.budget - state.simulations
                if left <= 0:
                    break
                need = n - accepted
                # Proposals simulated after the population is full are wasted, so aim
                # below the need: at first with last generation's acceptance rate (3/4
                # of the need, as the rate changes between generations), then with
                # this generation's own rate.
                if all_accepted:
                    size = need
                elif evaluated == 0:
                    size = math.ceil(0.75 * need / max(self.rate, 0.01))
                else:
                    size = math.ceil(need / max(accepted / evaluated, 0.01))
                size = max(min(size, MAX_BATCH, left), min(32, left))
                size = min(-(-size // state.round_to) * state.round_to, max(left, 1))
                states = []
                state.recording, state.proposals = True, []
                for _ in range(size):
                    states.append(np.random.get_state())  # noqa: NPY002 - pyabc uses the global state
                    try:
                        simulate_one()
                    except _Deferred:
                        continue
                    raise RuntimeError("pyabc evaluated a proposal outside a batch")
                after = np.random.get_state()  # noqa: NPY002 - pyabc uses the global state
                state.results = state.simulate(np.stack(state.proposals), state.batches)
                state.simulations += size
                state.recording = False
                for i in range(size):
                    np.random.set_state(states[i])  # noqa: NPY002 - pyabc uses the global state
                    state.cursor = i
                    particle = simulate_one()
                    sample.append(particle)
                    evaluated += 1
                    if particle.accepted:
                        accepted += 1
                        if accepted == n:
                            break
                np.random.set_state(after)  # noqa: NPY002 - pyabc uses the global state
                state.batches += 1
                state.recording = True
                if not all_accepted:
                    self.rate = accepted / evaluated
                if state.progress is not None:
                    state.progress(state.simulations, state.budget)
            self.nr_evaluations_ = evaluated
            if accepted < n:
                sample.ok = False
            return sample

    return BatchSampler()


def _make_prior(keys: list[str]) -> Any:
    import pyabc

    class UnitCube(pyabc.DistributionBase):  # type: ignore[misc]
        """Independent Uniform(0, 1) prior on every key: the quantile space in which
        the priors are exactly the scenario's distributions (and the observation
        factors' uniform ranges). Same law as ``pyabc.Distribution`` of uniform RVs,
        without per-key scipy calls in pyabc's hot loop."""

        def rvs(self, *args: Any, **kwargs: Any) -> Any:
            u = np.random.random_sample(len(keys))  # noqa: NPY002 - pyabc's global state
            return pyabc.Parameter(dict(zip(keys, u.tolist(), strict=True)))

        def pdf(self, x: Mapping[str, float]) -> float:
            return float(all(0.0 <= x[k] <= 1.0 for k in keys))

    return UnitCube()


def _make_model_prior() -> Any:
    import pyabc

    class OneModel(pyabc.RVBase):  # type: ignore[misc]
        """The model index prior of a single-model run (always 0): what pyabc's default
        ``RV("randint", 0, 1)`` is, without a scipy call per proposal. It draws no
        random number."""

        def copy(self) -> OneModel:
            return OneModel()

        def rvs(self, *args: Any, **kwargs: Any) -> float:
            return 0

        def pmf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return 1.0 if x == 0 else 0.0

        def pdf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return self.pmf(x)

        def cdf(self, x: float, *args: Any, **kwargs: Any) -> float:
            return 1.0 if x >= 0 else 0.0

    return OneModel()


def _make_transition() -> Any:
    import pyabc

    class FastTransition(pyabc.MultivariateNormalTransition):  # type: ignore[misc]
        """pyabc's multivariate normal KDE transition (same fit, same law), with a
        single draw done on arrays: pyabc's version indexes a DataFrame and factorises
        the covariance on every call, which dominated the run time."""

        def fit(self, X: pd.DataFrame, w: FloatArray) -> None:  # noqa: N803 - pyabc signature
            super().fit(X, w)
            d = self.cov.shape[0]
            jitter = 1e-12 * max(float(np.trace(self.cov)) / d, 1e-300)
            self._chol = np.linalg.cholesky(self.cov + jitter * np.eye(d))
            self._cumw = np.cumsum(self.w / np.sum(self.w))
            self._cols = list(X.columns)

        def rvs_single(self) -> Any:
            u = np.random.random_sample()  # noqa: NPY002 - pyabc's global state
            i = min(int(np.searchsorted(self._cumw, u, side="right")), len(self._cumw) - 1)
            z = np.random.standard_normal(len(self._cols))  # noqa: NPY002
            x = self._X_arr[i] + self._chol @ z
            return pyabc.Parameter(dict(zip(self._cols, x.tolist(), strict=True)))

    return FastTransition()


@contextmanager
def _quiet_pyabc() -> Iterator[None]:
    """pyabc logs every generation at INFO; keep it to warnings during a run."""
    loggers = [logging.getLogger(name) for name in ("ABC", "pyabc")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextmanager
def _global_numpy_seed(seed: int) -> Iterator[None]:
    """pyabc draws from numpy's global random state: seed it, and restore the caller's
    state afterwards."""
    saved = np.random.get_state()  # noqa: NPY002 - pyabc uses the global state
    np.random.seed(int(np.random.SeedSequence([seed, 0]).generate_state(1, np.uint32)[0]))  # noqa: NPY002 - pyabc uses the global state
    try:
        yield
    finally:
        np.random.set_state(saved)  # noqa: NPY002 - pyabc uses the global state
