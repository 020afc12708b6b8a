"""A result folder: one ensemble on disk, written block by block as it is simulated.

Layout (``LAYOUT``; see ``docs/store.md``)::

    run.json             provenance: scenario (canonical JSON and source text), seed,
                         forcegen version, mode, replicates, dates, channels, pools,
                         numpy dtype of every series
    replicates/          block-00000.parquet, block-00001.parquet, ... — every series
                         of every replicate and day (see forcegen.results.arrays)
    parameters.parquet   sampled parameter values, one row per replicate
    totals.parquet       the per-replicate numbers behind the summary
    quantiles.parquet    daily quantiles and means across replicates, computed once
    daily.parquet        per replicate and day, deployed strength (the digest:
    monthly.parquet      per replicate and month, recruits, exits, payments;
                         see forcegen.results.digest)

The same folder is what ``forcegen run --out DIR`` writes and what the results store
keeps for each run (``<store>.runs/<run id>/``), so one reader serves both. Files are
immutable once written, which is why the store and ``--out`` may share them as hard
links.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

from forcegen.engine.streams import BLOCK_SIZE
from forcegen.errors import OutputError, StoreError, UsageError
from forcegen.results.arrays import (
    Cell,
    block_table,
    cells,
    read_parquet,
    read_series,
    write_block,
)
from forcegen.results.digest import (
    DAILY_FILE,
    MONTHLY_FILE,
    Digest,
    DigestCollector,
    digest_from_columns,
    read_digest,
    write_digest,
)
from forcegen.results.reduce import Reducer, RunInfo, SummaryTotals, summary_of
from forcegen.results.result import SERIES, Result
from forcegen.results.stored import StoredSeries
from forcegen.results.summary import Summary
from forcegen.scenario.model import Scenario

__all__ = [
    "LAYOUT",
    "QUANTILE_LEVELS",
    "BlockWriter",
    "ResultFolder",
    "check_dir_target",
    "finish_folder",
    "is_result_folder",
    "link_tree",
    "write_result_dir",
    "write_result_folder",
]

LAYOUT = 2
"""Version of the folder layout (1 was 0.3's tidy ``series.parquet``)."""
FORMAT = "forcegen-result"
QUANTILE_LEVELS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantile levels stored in ``quantiles.parquet``."""
ALL = "*"
"""In ``quantiles.parquet``, an entity or category summed over all of its labels."""

_KNOWN = frozenset(
    {
        "run.json",
        "replicates",
        "parameters.parquet",
        "totals.parquet",
        "quantiles.parquet",
        DAILY_FILE,
        MONTHLY_FILE,
    }
)
# What 0.3 wrote into --out folders; recognised so that a new run may replace it.
_LEGACY = frozenset({"run.json", "series.parquet"})
# Bytes of (runs, days) sums waiting for their quantiles (see compute_quantiles).
_PENDING_BYTES = 256 * 2**20
_FLOWS = frozenset({"inflow", "outflow", "transition", "cost", "unpaid"})

Progress = Callable[[int, int], None]


def block_file(folder: Path, block: int) -> Path:
    """Path of block ``block``'s replicate file in ``folder``."""
    return folder / "replicates" / f"block-{block:05d}.parquet"


def is_result_folder(path: Path) -> bool:
    """Whether ``path`` is a folder holding nothing but a forcegen result (this layout
    or 0.3's), so that a new result may replace it."""
    try:
        names = {p.name for p in path.iterdir()}
        meta = json.loads((path / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict) or "forcegen_version" not in meta:
        return False
    return names <= _KNOWN or names <= _LEGACY


def check_dir_target(path: Path, *, recognise: Callable[[Path], bool]) -> None:
    """Refuse (:class:`OutputError`) an output folder that is a file, or a folder holding
    anything but a previous forcegen result — before any work is done."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write the folder {path}: a file of that name exists")
    if path.is_dir() and any(path.iterdir()) and not recognise(path):
        raise OutputError(
            f"refusing to write into {path}: it holds files that are not a forcegen "
            "result; give a new or empty folder"
        )


def link_tree(source: Path, target: Path) -> None:
    """Give ``target`` (an empty folder) the files of ``source``, as hard links where
    the file system allows (result files are never modified, so sharing them costs no
    space and no time), as copies elsewhere."""
    for item in sorted(source.rglob("*")):
        dest = target / item.relative_to(source)
        if item.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            continue
        try:
            os.link(item, dest)
        except OSError:
            shutil.copy2(item, dest)


# ------------------------------------------------------------------------------ writing
class BlockWriter(Reducer):
    """Writes each block's replicates to ``<folder>/replicates/`` as it finishes.

    A :class:`~forcegen.results.reduce.Reducer`, so it runs inside
    :func:`forcegen.distributed.run_reduced` next to the summary reducers and memory
    stays at a block whatever the number of replicates; on Dask a block is encoded and
    compressed on its worker and only the Parquet bytes travel.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.dtypes: dict[str, str] = {}

    def begin(self, info: RunInfo) -> None:
        """Create the replicates folder."""
        super().begin(info)
        (self.folder / "replicates").mkdir(parents=True, exist_ok=True)

    def extract(self, view: Result) -> tuple[dict[str, str], bytes]:
        """The numpy dtype of each series and the block as Parquet bytes."""
        sink = pa.BufferOutputStream()
        write_block(_block_table(view), sink)
        dtypes = {name: str(arr.dtype) for name, arr in view.data.items()}
        return dtypes, bytes(sink.getvalue().to_pybytes())

    def add(self, first_run: int, part: tuple[dict[str, str], bytes]) -> None:
        """Write the block's file."""
        dtypes, data = part
        self.dtypes = dtypes
        block_file(self.folder, first_run // BLOCK_SIZE).write_bytes(data)


def _block_table(view: Result) -> pa.Table:
    return block_table(
        view.data, view.first_run, view.scenario.start_date, view.channels, view.pools
    )


def finish_folder(
    folder: Path,
    info: RunInfo,
    *,
    totals: dict[str, NDArray[np.float64]],
    parameters: dict[str, NDArray[np.float64]],
    dtypes: dict[str, str],
    elapsed_seconds: float,
    scenario_text: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Complete a folder whose replicate files are written: quantiles, the digest
    (:mod:`forcegen.results.digest`, computed in the same pass over the columns),
    summary totals, parameters and, last, ``run.json`` (a folder without it is
    unfinished).

    Args:
        folder: The folder (its ``replicates/`` complete).
        info: The ensemble.
        totals: Per-replicate summary totals (:class:`SummaryTotals` values).
        parameters: Sampled values per replicate, ``(runs,)`` or ``(runs, steps)``.
        dtypes: Series name → numpy dtype name of its array.
        elapsed_seconds: Wall time of the simulation (seconds).
        scenario_text: The YAML the scenario was read from, when known.
        progress: Called with (combinations done, total) while computing quantiles.
    """
    files = sorted((folder / "replicates").glob("block-*.parquet"))
    collector = DigestCollector(info.runs, info.dates, [c.id for c in info.scenario.channels])
    quantiles = compute_quantiles(files, info, progress=progress, collector=collector)
    pq.write_table(quantiles, folder / "quantiles.parquet", compression="zstd")
    write_digest(collector.digest(), folder, info.scenario.start_date)
    pq.write_table(
        pa.table({"replicate": np.arange(info.runs, dtype=np.int32), **totals}),
        folder / "totals.parquet",
        compression="zstd",
    )
    pq.write_table(_parameter_table(parameters, info.runs), folder / "parameters.parquet")
    scenario_json = info.scenario.model_dump_json(by_alias=True, exclude_none=True)
    meta = {
        "format": FORMAT,
        "layout": LAYOUT,
        "scenario": info.scenario.name,
        "scenario_hash": info.scenario_hash,
        "seed": info.seed,
        "forcegen_version": info.version,
        "mode": info.mode,
        "runs": info.runs,
        "sample_parameters": info.sample_parameters,
        "start_date": str(info.scenario.start_date),
        "horizon_days": info.scenario.horizon_days,
        "currency": info.scenario.currency,
        "elapsed_seconds": elapsed_seconds,
        "channels": [c.id for c in info.scenario.channels],
        "pools": [p.id for p in info.scenario.pools],
        "dtypes": dtypes,
        "series": {
            name: {"unit": s.unit, "description": s.description} for name, s in SERIES.items()
        },
        "parameters": sorted(parameters),
        "scenario_json": scenario_json,
        "scenario_text": scenario_text,
    }
    (folder / "run.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")


def write_result_folder(
    result: Result,
    folder: Path,
    *,
    scenario_text: str | None = None,
    progress: Progress | None = None,
) -> None:
    """Write an in-memory :class:`Result` into an empty ``folder`` in this layout."""
    info = result_info(result)
    (folder / "replicates").mkdir(parents=True, exist_ok=True)
    totals = SummaryTotals()
    totals.begin(info)
    for block, lo in enumerate(range(0, result.runs, BLOCK_SIZE)):
        view = _slice(result, lo, min(lo + BLOCK_SIZE, result.runs))
        write_block(_block_table(view), block_file(folder, block))
        totals.add(lo, totals.extract(view))
    finish_folder(
        folder,
        info,
        totals=totals.values,
        parameters={k: np.asarray(v, dtype=np.float64) for k, v in result.parameters.items()},
        dtypes={name: str(result.data[name].dtype) for name in SERIES},
        elapsed_seconds=result.elapsed_seconds,
        scenario_text=scenario_text,
        progress=progress,
    )


def write_result_dir(result: Result, out_dir: str | os.PathLike[str]) -> Path:
    """Write an in-memory ``result`` as a result folder at ``out_dir`` (what ``forcegen
    run --out`` writes): a new or empty folder, or one holding a previous forcegen
    result, which is replaced atomically; anything else is refused with an
    :class:`~forcegen.errors.OutputError`. Returns the folder."""
    from forcegen.results.outputs import atomic_dir

    with atomic_dir(out_dir, recognise=is_result_folder) as tmp:
        write_result_folder(result, tmp)
    return Path(out_dir)


def result_info(result: Result) -> RunInfo:
    """The :class:`~forcegen.results.reduce.RunInfo` of an in-memory result."""
    return RunInfo(
        scenario=result.scenario,
        scenario_hash=result.scenario_hash,
        runs=result.runs,
        seed=result.seed,
        mode=result.mode,
        sample_parameters=result.sample_parameters,
        version=result.version,
        parameter_names=tuple(sorted(result.parameters)),
    )


def _slice(result: Result, lo: int, hi: int) -> Result:
    return dataclasses.replace(
        result,
        data={k: v[lo:hi] for k, v in result.data.items()},
        parameters={k: v[lo:hi] for k, v in result.parameters.items()},
        first_run=result.first_run + lo,
    )


def _parameter_table(parameters: dict[str, NDArray[np.float64]], runs: int) -> pa.Table:
    """One row per replicate; a dated series' steps as ``name[0]``, ``name[1]``, ..."""
    columns: dict[str, Any] = {"replicate": np.arange(runs, dtype=np.int32)}
    for name in sorted(parameters):
        arr = np.asarray(parameters[name], dtype=np.float64)
        if arr.ndim == 1:
            columns[name] = arr
        elif arr.ndim == 2:
            for step in range(arr.shape[1]):
                columns[f"{name}[{step}]"] = np.ascontiguousarray(arr[:, step])
        else:
            raise StoreError(f"parameter {name!r} has {arr.ndim} dimensions; expected 1 or 2")
    return pa.table(columns)


def _read_parameters(path: Path) -> dict[str, NDArray[np.float64]]:
    table = read_parquet(path)
    out: dict[str, NDArray[np.float64]] = {}
    steps: dict[str, list[tuple[int, NDArray[np.float64]]]] = {}
    for name in table.column_names:
        if name == "replicate":
            continue
        values = table.column(name).to_numpy().astype(np.float64)
        if name.endswith("]") and "[" in name:
            base, _, index = name[:-1].rpartition("[")
            steps.setdefault(base, []).append((int(index), values))
        else:
            out[name] = values
    for base, parts in steps.items():
        parts.sort(key=lambda p: p[0])
        out[base] = np.stack([v for _, v in parts], axis=1)
    return out


# ---------------------------------------------------------------------------- quantiles
def stored_sums(series: str, channels: Sequence[str], pools: Sequence[str]) -> int:
    """How many sums of ``series`` ``quantiles.parquet`` holds daily: every cell, every
    entity over its categories, every category over the entities, and the total."""
    spec = SERIES[series]
    n_ent = len(channels if spec.entity == "channel" else pools)
    if n_ent == 0:
        return 0
    n_cat = len(spec.labels) if spec.category is not None else 0
    return (n_ent + 1) * (n_cat + 1)


def compute_quantiles(
    files: Sequence[Path],
    info: RunInfo,
    *,
    progress: Progress | None = None,
    collector: DigestCollector | None = None,
) -> pa.Table:
    """Daily mean and :data:`QUANTILE_LEVELS` across replicates of every sum
    :func:`stored_sums` counts, and for flows the same of the running totals of the
    sums over more than one cell.

    Totals are float64 and added in the order :meth:`Result.total` uses (categories
    within an entity, then entities), so the values equal :meth:`Result.quantiles`.
    One column is read at a time and at most three ``(runs, days)`` float64 sums are
    held, plus the quantile's temporaries (about 5 × 8.8 MB per 1,000 three-year
    replicates).

    A ``collector`` is shown every cell and sum as it is computed, and keeps what the
    digest needs (:mod:`forcegen.results.digest`): no column is read twice for it.
    """
    channels = [c.id for c in info.scenario.channels]
    pools = [p.id for p in info.scenario.pools]
    total_sums = sum(stored_sums(name, channels, pools) for name in SERIES)
    handles = [pq.ParquetFile(path) for path in files]
    n = info.runs * info.days
    frames: list[pd.DataFrame] = []
    done = 0
    # Quantiles of different sums are independent and numpy's partition releases the
    # GIL: a few threads compute them while this one reads and adds columns (measured
    # 1.9x on 2 idle cores). At most `limit` sums wait, bounding memory.
    workers = min(len(os.sched_getaffinity(0)), 4)
    limit = max(1, min(2 * workers, _PENDING_BYTES // max(n * 8, 1)))
    pending: deque[Future[list[pd.DataFrame]]] = deque()

    def collect(until: int) -> None:
        nonlocal done
        while len(pending) > until:
            frames.extend(pending.popleft().result())
            done += 1
            if progress is not None:
                progress(done, total_sums)

    def emit(name: str, entity: str, category: str, values: NDArray[np.float64]) -> None:
        # `values` is never modified after this call (callers add into other arrays).
        if collector is not None:
            collector.observe(name, entity, category, values)
        pending.append(pool.submit(_frames_of, name, entity, category, values, info))
        collect(limit)

    with ThreadPoolExecutor(workers) as pool:
        for name, spec in SERIES.items():
            every = cells(name, channels, pools)
            if not every:
                continue
            entities = list(dict.fromkeys(c.entity for c in every))
            # Entities first (each cell, each entity's total, the grand total), then each
            # category over the entities, reading its cells again: three (runs, days)
            # arrays at a time rather than one per category.
            grand = np.zeros(n)
            for entity in entities:
                entity_total = np.zeros(n)
                for cell in (c for c in every if c.entity == entity):
                    column = _read_column(handles, cell.column, n)
                    if cell.category is not None:
                        emit(name, entity, cell.category, column)
                    entity_total += column
                emit(name, entity, ALL, entity_total)
                grand += entity_total
            del entity_total
            emit(name, ALL, ALL, grand)
            del grand
            for category in spec.labels if spec.category is not None else ():
                category_total = np.zeros(n)
                for cell in (c for c in every if c.category == category):
                    category_total += _read_column(handles, cell.column, n)
                emit(name, ALL, category, category_total)
        collect(0)
    table = pd.concat(frames, ignore_index=True)
    return pa.Table.from_pandas(table, preserve_index=False)


def _frames_of(
    name: str, entity: str, category: str, values: NDArray[np.float64], info: RunInfo
) -> list[pd.DataFrame]:
    """Quantile rows of one sum: daily, and for flows summed over more than one cell
    also its running total."""
    total = values.reshape(info.runs, info.days)
    out = [_quantile_frame(name, entity, category, total, info, cumulative=False)]
    if name in _FLOWS and (entity == ALL or category == ALL):
        running = np.cumsum(total, axis=1)
        out.append(_quantile_frame(name, entity, category, running, info, cumulative=True))
    return out


def _read_column(handles: Sequence[pq.ParquetFile], column: str, n: int) -> NDArray[np.float64]:
    """One cell over all block files, as float64."""
    out = np.empty(n)
    row = 0
    for handle in handles:
        values = handle.read(columns=[column]).column(0).to_numpy()
        out[row : row + values.size] = values
        row += values.size
    if row != n:
        raise StoreError(f"{row} rows of replicates on disk, expected {n}")
    return out


def sum_cells(
    files: Sequence[Path], chosen: Sequence[Cell], runs: int, days: int
) -> NDArray[np.float64]:
    """The ``(runs, days)`` float64 total of the ``chosen`` cells, read one column at a
    time, added in the order of :meth:`Result.total` (categories within each entity,
    then the entities) so that float sums (money) are bit-identical to it."""
    handles = [pq.ParquetFile(path) for path in files]
    n = runs * days
    total = np.zeros(n)
    by_entity: dict[str, list[Cell]] = {}
    for c in chosen:
        by_entity.setdefault(c.entity, []).append(c)
    for group in by_entity.values():
        sub = np.zeros(n)
        for c in group:
            sub += _read_column(handles, c.column, n)
        total += sub
    return total.reshape(runs, days)


def _quantile_frame(
    series: str,
    entity: str,
    category: str,
    total: NDArray[np.float64],
    info: RunInfo,
    *,
    cumulative: bool,
) -> pd.DataFrame:
    # Quantiles along the contiguous axis of the transposed totals: the same numbers as
    # along axis 0, ~30 % faster (numpy partitions each row in place).
    by_day = np.ascontiguousarray(total.T)
    table = np.quantile(by_day, QUANTILE_LEVELS, axis=1).T
    frame = pd.DataFrame(table, columns=[_qcol(q) for q in QUANTILE_LEVELS])
    frame.insert(0, "mean", by_day.mean(axis=1))
    frame.insert(0, "date", info.dates.date)
    frame.insert(0, "cumulative", cumulative)
    frame.insert(0, "category", category)
    frame.insert(0, "entity", entity)
    frame.insert(0, "series", series)
    return frame


def _qcol(q: float) -> str:
    return f"q{q:g}"


# ------------------------------------------------------------------------------ reading
class ResultFolder:
    """Read access to a result folder (``forcegen run --out`` or a stored run).

    Args:
        path: The folder.

    Raises:
        StoreError: It is not a finished result folder of a layout this forcegen reads.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Validated once: load, summary and info each need it (show needs two of them).
        self._scenario: Scenario | None = None
        self._quantile_index: dict[tuple[str, str, str, bool], pd.DataFrame] | None = None
        try:
            self.meta: dict[str, Any] = json.loads((self.path / "run.json").read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.path} is not a forcegen result folder: {exc}") from None
        if self.meta.get("format") != FORMAT or self.meta.get("layout") != LAYOUT:
            raise StoreError(
                f"{self.path} holds a result of layout {self.meta.get('layout', 1)} "
                f"(forcegen {self.meta.get('forcegen_version', '?')}); this forcegen reads "
                f"layout {LAYOUT}: run the scenario again with the same seed to rebuild it"
            )

    @property
    def runs(self) -> int:
        """Number of replicates."""
        return int(self.meta["runs"])

    @property
    def days(self) -> int:
        """Number of simulated days."""
        return int(self.meta["horizon_days"])

    @property
    def channels(self) -> list[str]:
        """Channel ids, in scenario order."""
        return [str(c) for c in self.meta["channels"]]

    @property
    def pools(self) -> list[str]:
        """Pool ids, in scenario order."""
        return [str(p) for p in self.meta["pools"]]

    @property
    def dates(self) -> pd.DatetimeIndex:
        """Simulated days."""
        return pd.date_range(self.meta["start_date"], periods=self.days)

    def scenario(self) -> Scenario:
        """The scenario, from its canonical JSON.

        Raises:
            StoreError: The stored scenario does not validate (``run.json`` was
                edited or damaged).
        """
        if self._scenario is None:
            self._scenario = stored_scenario(self.meta.get("scenario_json"), self._what())
        return self._scenario

    def _what(self) -> str:
        """How to name this folder in messages: a stored run by its id and store."""
        parent = self.path.parent
        if parent.name.endswith(".runs"):
            return f"run {self.path.name} in store {parent.with_name(parent.name[:-5])}"
        return f"result folder {self.path}"

    def files(self) -> list[Path]:
        """The replicate files, in block order."""
        files = sorted((self.path / "replicates").glob("block-*.parquet"))
        expected = -(-self.runs // BLOCK_SIZE)
        if len(files) != expected:
            raise StoreError(
                f"{self.path}: {len(files)} replicate files, expected {expected}; "
                "the result is incomplete or damaged"
            )
        return files

    def info(self) -> RunInfo:
        """The ensemble's :class:`~forcegen.results.reduce.RunInfo`."""
        return RunInfo(
            scenario=self.scenario(),
            scenario_hash=str(self.meta["scenario_hash"]),
            runs=self.runs,
            seed=int(self.meta["seed"]),
            mode=str(self.meta["mode"]),
            sample_parameters=bool(self.meta["sample_parameters"]),
            version=str(self.meta["forcegen_version"]),
            parameter_names=tuple(self.meta["parameters"]),
        )

    def load(self, series: Iterable[str] | None = None) -> Result:
        """The :class:`Result`, arrays in their original dtypes. With ``series``, only
        those are part of ``Result.data``.

        Each series is read from the replicate files when first looked up
        (:class:`~forcegen.results.stored.StoredSeries`); summaries, quantiles and
        deployed strength are answered from the files computed at save without
        reading any.
        """
        names = list(SERIES) if series is None else list(series)
        for name in names:
            if name not in SERIES:
                raise UsageError(f"unknown series {name!r}; expected one of {', '.join(SERIES)}")
        files = self.files()
        dtypes = self.meta["dtypes"]

        def read(name: str) -> NDArray[Any]:
            try:
                return read_series(
                    files,
                    name,
                    self.runs,
                    self.days,
                    self.channels,
                    self.pools,
                    np.dtype(dtypes[name]),
                )
            except (OSError, pa.ArrowException) as exc:
                raise StoreError(
                    f"{self._what()}: cannot read its series {name!r} ({exc}); it was "
                    "deleted or damaged after it was opened"
                ) from None

        data = StoredSeries(names, read, self)
        return Result(
            scenario=self.scenario(),
            scenario_hash=str(self.meta["scenario_hash"]),
            seed=int(self.meta["seed"]),
            version=str(self.meta["forcegen_version"]),
            mode=str(self.meta["mode"]),
            sample_parameters=bool(self.meta["sample_parameters"]),
            data=data,
            parameters=self.parameters(),
            elapsed_seconds=float(self.meta["elapsed_seconds"]),
        )

    def digest(self) -> Digest:
        """The per-replicate sums a report needs (:mod:`forcegen.results.digest`), from
        ``daily.parquet`` and ``monthly.parquet``; for a folder saved before they were
        kept, computed from the replicate files (reading only the columns needed)."""
        stored = read_digest(self.path, self.runs, self.dates, self.channels)
        if stored is not None:
            return stored
        handles = [pq.ParquetFile(path) for path in self.files()]
        n = self.runs * self.days
        try:
            return digest_from_columns(
                lambda column: _read_column(handles, column, n),
                self.runs,
                self.dates,
                self.channels,
            )
        except (OSError, pa.ArrowException, KeyError) as exc:
            raise StoreError(f"{self._what()}: cannot read its replicates ({exc})") from None

    def parameters(self) -> dict[str, NDArray[np.float64]]:
        """Sampled parameter values per replicate."""
        return _read_parameters(self.path / "parameters.parquet")

    def totals(self) -> dict[str, NDArray[np.float64]]:
        """Per-replicate summary totals (:class:`SummaryTotals` keys)."""
        table = read_parquet(self.path / "totals.parquet")
        return {
            name: table.column(name).to_numpy().astype(np.float64)
            for name in table.column_names
            if name != "replicate"
        }

    def summary(self, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
        """Headline numbers, from the stored per-replicate totals (no series read)."""
        return summary_of(
            self.totals(),
            self.scenario(),
            self.runs,
            str(self.meta["mode"]),
            int(self.meta["seed"]),
            q,
        )

    def stored_quantiles(self) -> pd.DataFrame:
        """The whole ``quantiles.parquet`` table: ``series, entity, category,
        cumulative, date, mean, q0.05 … q0.95`` (``*`` = summed over all)."""
        table: pd.DataFrame = read_parquet(self.path / "quantiles.parquet").to_pandas()
        return table

    def quantiles(
        self,
        series: str = "strength",
        q: Sequence[float] = QUANTILE_LEVELS,
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
        cumulative: bool = False,
    ) -> pd.DataFrame:
        """As :meth:`Result.quantiles`: one row per date, one column per quantile.

        Read from ``quantiles.parquet`` when the selection is one it holds and the
        levels are among :data:`QUANTILE_LEVELS`; otherwise computed from the cells
        needed (only those columns are read).
        """
        if series not in SERIES:
            raise UsageError(f"unknown series {series!r}; expected one of {', '.join(SERIES)}")
        spec = SERIES[series]
        levels = [float(x) for x in q]
        if not levels or any(not 0.0 <= x <= 1.0 for x in levels):
            raise UsageError(f"quantiles must be between 0 and 1, got {list(q)}")
        every = cells(series, self.channels, self.pools)
        entities = list(dict.fromkeys(c.entity for c in every)) or (
            self.channels if spec.entity == "channel" else self.pools
        )
        ent = _pick(entities, channels, spec.entity)
        if spec.category is None:
            if categories is not None:
                raise UsageError(f"series {series!r} has no categories")
            cat: list[str] | None = None
        else:
            cat = _pick(list(spec.labels), categories, spec.category)
        chosen = [
            c
            for c in every
            if (ent is None or c.entity in ent) and (cat is None or c.category in cat)
        ]
        key = _stored_key(ent, cat)
        if key is not None and all(x in QUANTILE_LEVELS for x in levels):
            stored = self._stored(series, key, cumulative and series in _FLOWS)
            if stored is not None and not (cumulative and series not in _FLOWS):
                frame = stored[[_qcol(x) for x in levels]]
                frame.columns = pd.Index(levels)
                return frame
        total = sum_cells(self.files(), chosen, self.runs, self.days)
        if cumulative:
            np.cumsum(total, axis=1, out=total)
        table = np.quantile(total, levels, axis=0).T
        return pd.DataFrame(table, index=self.dates, columns=levels)

    def _stored(self, series: str, key: tuple[str, str], cumulative: bool) -> pd.DataFrame | None:
        entity, category = key
        table = self._stored_index().get((series, entity, category, cumulative))
        if table is None or len(table) != self.days:
            return None
        table = table.copy()
        table.index = self.dates
        return table

    def _stored_index(self) -> dict[tuple[str, str, str, bool], pd.DataFrame]:
        """``quantiles.parquet`` by (series, entity, category, cumulative), read once:
        a report asks for some twenty sums, and reading the file with a filter read
        all of it each time (0.1–0.2 s per sum)."""
        if self._quantile_index is None:
            table = self.stored_quantiles()
            keys = ["series", "entity", "category", "cumulative"]
            self._quantile_index = {
                (str(s), str(e), str(c), bool(cum)): part.drop(columns=keys).reset_index(drop=True)
                for (s, e, c, cum), part in table.groupby(keys, sort=False, observed=True)
            }
        return self._quantile_index


def stored_scenario(text: Any, what: str) -> Scenario:
    """The :class:`Scenario` from a stored canonical JSON text, or a
    :class:`StoreError` naming ``what`` (e.g. ``run 3f9a0c1e in store x.duckdb``)
    when it does not validate: a store is a file anyone can edit, and what it holds
    is checked like any other input rather than failing with a traceback."""
    from pydantic import ValidationError

    if not isinstance(text, str | bytes):
        raise StoreError(f"{what}: no stored scenario (scenario_json is missing)")
    try:
        return Scenario.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0] if errors else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        detail = f"; first: {where or '<document>'}: {first['msg']}" if first else ""
        raise StoreError(
            f"{what}: its stored scenario does not validate ({len(errors)} problem(s)"
            f"{detail}); the store was edited or damaged: delete the run, or run the "
            "scenario again with the same seed"
        ) from None


def _pick(labels: list[str], chosen: Iterable[str] | str | None, what: str) -> list[str] | None:
    if chosen is None:
        return None
    names = [chosen] if isinstance(chosen, str) else [str(c) for c in chosen]
    missing = [n for n in names if n not in labels]
    if missing:
        raise UsageError(f"unknown {what}(s) {missing}; expected one of {labels}")
    return names


def _stored_key(ent: list[str] | None, cat: list[str] | None) -> tuple[str, str] | None:
    """The (entity, category) row key of a selection, if it is one of a single label or
    all of them (whether the key is actually stored is checked on read)."""
    if ent is not None and len(ent) != 1:
        return None
    if cat is not None and len(cat) != 1:
        return None
    return (ALL if ent is None else ent[0], ALL if cat is None else cat[0])
