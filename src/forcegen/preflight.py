"""Before simulating: how much memory and time a run will take, and a refusal when the
memory is not there.

The estimate follows what the run holds (docs/benchmarks.md measures the same):

* **block** — one block of :data:`~forcegen.engine.streams.BLOCK_SIZE` replicates
  being simulated: its output, ``BLOCK_SIZE × days × (120 × channels + 4 × pools)``
  bytes (20 people counts in 32-bit integers and 10 money figures in 32-bit floats a
  channel), and each channel's age slots, ``2 × BLOCK_SIZE × slots × 8`` bytes; one
  per worker process, or one per thread when a process simulates several blocks at
  once (:attr:`forcegen.sim.Sim.blocks_at_once`);
* **result** — :meth:`forcegen.sim.Sim.run` and every command that builds a
  :class:`~forcegen.results.result.Result` (report, ask, compare, plot, solve, ...)
  keep every replicate: the blocks, then their concatenation (2 × the blocks at the
  peak);
* **folder** — ``forcegen run`` writes blocks to disk as they finish (1.3 × a block
  while it is encoded, and the Parquet libraries), then computes quantiles over every
  replicate, about five float64 ``(runs, days)`` arrays at a time
  (:func:`forcegen.results.folder.compute_quantiles`);
* **reduced** — ``forcegen ensemble`` folds blocks into per-replicate numbers: the
  summary's (``8 × (channels × 2 + 13)`` bytes a replicate), deployed strength by day
  with ``--keep strength`` (4 bytes a replicate-day), the parameter values.

Time is ``blocks × days × Σ channels (0.8 ms + 6 ns × BLOCK_SIZE × slots)`` (12 ns a
slot in the mean-field mode), divided among worker processes, and a quarter more to
write and summarise a result folder: measured on two cores, within a factor of about 2.

The memory available is the system's (``MemAvailable``) or the cgroup's limit, whichever
is smaller; ``max_memory`` (``--max-memory``, ``FORCEGEN_MAX_MEMORY``) replaces it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from forcegen.engine.compile import age_slots
from forcegen.engine.sampling import uncertain_parameters
from forcegen.engine.streams import BLOCK_SIZE, blocks_for
from forcegen.errors import UsageError
from forcegen.scenario.bounds import largest
from forcegen.scenario.model import EXIT_CAUSES, Scenario

__all__ = [
    "MAX_MEMORY_ENV",
    "Estimate",
    "Holding",
    "ResourceError",
    "RunShape",
    "available_memory",
    "estimate",
    "format_bytes",
    "format_seconds",
    "parse_size",
]

MAX_MEMORY_ENV = "FORCEGEN_MAX_MEMORY"
"""Environment variable giving the memory a run may use (as ``--max-memory``)."""

Holding = Literal["result", "folder", "reduced"]
"""What the run keeps: every replicate in memory, a result folder on disk, or reduced
per-replicate numbers (see the module docstring)."""

# Measured on the built-in scenarios (2-core machine; see the module docstring).
_CHANNEL_DAY_SECONDS = 0.8e-3
_SLOT_SECONDS = {"stochastic": 6e-9, "mean-field": 12e-9}
_FOLDER_TIME_FACTOR = 1.25
_RESULT_PEAK = 2.0  # blocks, then their concatenation
_BLOCK_COPIES: dict[str, float] = {"folder": 1.3, "reduced": 1.2}  # a block while reduced
_LIBRARY_BYTES = {"result": 0.0, "folder": 100e6, "reduced": 0.0}  # Parquet, Arrow
_QUANTILE_ARRAYS = 5  # float64 (runs, days) arrays while quantiles are computed
_WORKING_BYTES = 50e6  # schedules, kernels' temporaries, Python objects
_WORKER_PROCESS_BYTES = 250e6  # a Dask worker process with forcegen imported
_LARGE_SECONDS = 60.0
_LARGE_BYTES = 1e9


class ResourceError(UsageError):
    """A run would need more memory than it may use; nothing was simulated."""


@dataclass(frozen=True)
class Estimate:
    """Memory and time a run is expected to take.

    Attributes:
        holding: What the run keeps (:data:`Holding`).
        runs: Replicates.
        days: Simulated days.
        channels: Channels.
        slots: Age slots per channel (the largest a replicate can draw).
        fixed_bytes: Memory whatever the number of replicates (bytes).
        per_run_bytes: Memory per replicate (bytes).
        seconds: Expected wall time.
        keeps_days: A reducer keeps a series per replicate and day (``--keep strength``).
    """

    holding: Holding
    runs: int
    days: int
    channels: int
    slots: tuple[int, ...]
    fixed_bytes: float
    per_run_bytes: float
    seconds: float
    keeps_days: bool = False

    @property
    def memory_bytes(self) -> float:
        """Expected peak memory of the run, beyond what the process holds already."""
        return self.fixed_bytes + self.per_run_bytes * self.runs

    def runs_within(self, limit: float) -> int:
        """Most replicates whose estimate fits in ``limit`` bytes (0 if none)."""
        if self.per_run_bytes <= 0:
            return self.runs if self.fixed_bytes <= limit else 0
        return max(0, int((limit - self.fixed_bytes) // self.per_run_bytes))

    @property
    def large(self) -> bool:
        """Worth announcing before the run (a minute or more, or a gigabyte or more)."""
        return self.seconds >= _LARGE_SECONDS or self.memory_bytes >= _LARGE_BYTES

    def brief(self) -> str:
        """``est. 36 s, 0.3 GB`` (for a progress bar)."""
        return f"est. {format_seconds(self.seconds)}, {format_bytes(self.memory_bytes)}"

    def describe(self) -> str:
        """One line: the estimate and what it is made of."""
        slots = max(self.slots, default=0)
        kept = {
            "result": "every replicate held in memory",
            "folder": "blocks written to disk, then quantiles over every replicate",
            "reduced": "blocks reduced as they finish",
        }[self.holding]
        return (
            f"estimated {format_bytes(self.memory_bytes)} of memory and "
            f"{format_seconds(self.seconds)} for {self.runs:,} replicates × {self.days:,} days "
            f"× {self.channels} channels (up to {slots:,} age slots each; {kept})"
        )


class RunShape(Protocol):
    """What :func:`estimate` reads of a simulation (:class:`forcegen.sim.Sim`): a
    protocol, so that this module does not import the one that calls it."""

    @property
    def scenario(self) -> Scenario:
        """The scenario simulated."""
        ...

    @property
    def runs(self) -> int:
        """Replicates."""
        ...

    @property
    def mode(self) -> str:
        """``"stochastic"`` or ``"mean-field"``."""
        ...

    @property
    def workers(self) -> int | None:
        """Local worker processes; None or 1 runs in this process."""
        ...

    @property
    def scheduler(self) -> str | None:
        """Address of a Dask scheduler, if any."""
        ...

    @property
    def blocks_at_once(self) -> int:
        """Blocks simulated at once in this process (threads)."""
        ...


def estimate(
    sim: RunShape, holding: Holding, reducers: Iterable[object] = (), *, keep_strength: bool = False
) -> Estimate:
    """The :class:`Estimate` of simulating ``sim`` while keeping ``holding``.

    Args:
        sim: The simulation.
        holding: What the run keeps.
        reducers: For ``"reduced"`` and ``"folder"``: the reducers the blocks are
            folded into (their storage is counted by kind).
        keep_strength: Count a deployed-strength reducer even if none is given.
    """
    from forcegen.results.reduce import DailyTotals, ParameterValues, SummaryTotals

    scenario = sim.scenario
    days, runs = scenario.horizon_days, sim.runs
    channels, pools = len(scenario.channels), len(scenario.pools)
    slots = channel_slots(scenario)
    rows = BLOCK_SIZE if sim.mode == "stochastic" else min(BLOCK_SIZE, runs)
    per_replicate_day = 120 * channels + 4 * pools
    block_output = rows * days * per_replicate_day
    block_ages = sum(2 * rows * s * 8 for s in slots)
    workers = 1 if sim.scheduler else max(sim.workers or 1, 1)
    parallel = min(workers, blocks_for(runs))
    # Blocks held at once: one per worker, or several in this process's threads
    # (their time is not divided by them: the threads share the interpreter lock).
    in_flight = min(max(workers, sim.blocks_at_once), blocks_for(runs))
    worker_bytes = (_WORKER_PROCESS_BYTES if workers > 1 else 0.0) * workers
    params = sum(max(len(ref.param.distributions), 1) for ref in uncertain_parameters(scenario))
    summary_per_run = 8.0 * (2 * channels + len(EXIT_CAUSES) + 5)
    keeps_days = False
    if holding == "result":
        fixed = block_ages * in_flight + _WORKING_BYTES + worker_bytes
        per_run = _RESULT_PEAK * days * per_replicate_day + 8.0 * params
        # Blocks are whole: the last one's padding is held too (stochastic mode).
        padding = (blocks_for(runs) * BLOCK_SIZE - runs) if sim.mode == "stochastic" else 0
        fixed += _RESULT_PEAK * padding * days * per_replicate_day
    else:
        fixed = (_BLOCK_COPIES[holding] * block_output + block_ages) * in_flight
        fixed += _WORKING_BYTES + _LIBRARY_BYTES[holding] + worker_bytes
        per_run = 0.0
        if holding == "folder":
            per_run += _QUANTILE_ARRAYS * 8.0 * days + summary_per_run + 8.0 * params
        found = list(reducers)
        keeps_days = keep_strength or any(isinstance(r, DailyTotals) for r in found)
        for r in found:
            if isinstance(r, DailyTotals):
                per_run += 4.0 * days + 2 * 8.0 * 64  # int32 storage, a slice of dates
            elif isinstance(r, SummaryTotals) and holding == "reduced":
                per_run += summary_per_run
            elif isinstance(r, ParameterValues) and holding == "reduced":
                per_run += 8.0 * params
        if keep_strength and not any(isinstance(r, DailyTotals) for r in found):
            per_run += 4.0 * days + 2 * 8.0 * 64
    per_channel_day = sum(_CHANNEL_DAY_SECONDS + _SLOT_SECONDS[sim.mode] * rows * s for s in slots)
    seconds = blocks_for(runs) * days * per_channel_day / parallel
    if holding == "folder":
        seconds *= _FOLDER_TIME_FACTOR
    return Estimate(
        holding=holding,
        runs=runs,
        days=days,
        channels=channels,
        slots=tuple(slots),
        fixed_bytes=float(fixed),
        per_run_bytes=float(per_run),
        seconds=float(seconds),
        keeps_days=holding != "result" and keeps_days,
    )


def channel_slots(scenario: Scenario) -> list[int]:
    """The most age slots each channel can need (its largest term, training, minimum
    service and the service multipliers' breakpoints; see
    :func:`forcegen.engine.compile.age_slots`)."""
    breakpoints = [m.until_day for m in scenario.losses.service_multipliers]
    out = []
    for ch in scenario.channels:
        training = _days(largest(ch.training_days))
        min_service = _days(largest(ch.contract.min_service_days))
        if ch.contract.term_days is None:
            window = max([training + 1, min_service + 1, *breakpoints])
            out.append(age_slots(None, window, scenario.horizon_days))
        else:
            term = max(_days(largest(ch.contract.term_days)), training + 1)
            young = max([training, min_service, *breakpoints])
            out.append(age_slots(term, young, scenario.horizon_days))
    return out


def _days(value: float) -> int:
    return int(np.rint(max(value, 0.0))) if math.isfinite(value) else 0


def check(est: Estimate, limit: float | None, *, explicit: bool) -> None:
    """Raise :class:`ResourceError` when ``est`` needs more than ``limit`` bytes.

    Args:
        est: The estimate.
        limit: Bytes the run may use; None when unknown (nothing is refused).
        explicit: Whether the limit was given (``--max-memory``) rather than found.
    """
    if limit is None or est.memory_bytes <= limit:
        return
    allowed = "allowed (--max-memory)" if explicit else "available"
    fits = est.runs_within(limit)
    fewer = f"fewer replicates (about {fits:,} fit)" if fits >= 1 else "a shorter horizon"
    ways = {
        "result": f"{fewer}, `forcegen run` (which writes replicates to disk as they "
        "finish) or `forcegen ensemble` (which reduces them)",
        "folder": f"{fewer} or `forcegen ensemble` (bounded memory: it keeps "
        "per-replicate numbers, not every day)",
        "reduced": f"{fewer} or --keep summary" if est.keeps_days else fewer,
    }[est.holding]
    raise ResourceError(
        f"not simulated: {est.describe()}, more than the {format_bytes(limit)} {allowed}. "
        f"Use {ways}, or allow more memory with --max-memory SIZE (or "
        f"{MAX_MEMORY_ENV}=SIZE)."
    )


# ------------------------------------------------------------------------ memory
_CGROUP_V1 = "/sys/fs/cgroup/memory"


def available_memory() -> float | None:
    """Bytes this process can still allocate: the system's available memory, or the
    room left under a cgroup limit if smaller; None when neither can be read."""
    found: list[float] = []
    meminfo = _read("/proc/meminfo")
    if meminfo is not None:
        match = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.MULTILINE)
        if match:
            found.append(float(match.group(1)) * 1024)
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        limit, usage = _read(limit_file), _read(usage_file)
        if limit and usage and limit.strip().isdigit() and usage.strip().isdigit():
            cap = float(limit)
            if cap < 2**60:  # "max" or a huge number: no limit
                found.append(max(cap - float(usage), 0.0))
    if not found:
        try:
            found.append(float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1e3,
    "m": 1e6,
    "g": 1e9,
    "t": 1e12,
    "ki": 2**10,
    "mi": 2**20,
    "gi": 2**30,
    "ti": 2**40,
}


def parse_size(text: str | float) -> float:
    """Bytes in a size such as ``8G``, ``512MB``, ``1.5TiB`` or ``1e9`` (decimal units;
    ``Ki``/``Mi``/``Gi``/``Ti`` binary).

    Raises:
        UsageError: Not a size.
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        match = re.fullmatch(
            r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]i?)?[bB]?\s*", str(text)
        )
        if match is None:
            raise UsageError(f"expected a memory size such as 8G, 512M or 2GiB, got {str(text)!r}")
        value = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"a memory size must be a positive number of bytes, got {text!r}")
    return value


def format_bytes(n: float) -> str:
    """``0.3 GB``, ``12 MB``, ``140 TB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{max(n, 0) / 1e6:,.0f} MB"


def format_seconds(s: float) -> str:
    """``36 s``, ``4 min``, ``3.2 h``, ``12 days``."""
    if s < 90:
        return f"{max(s, 1):.0f} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    if s < 48 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.0f} days"
