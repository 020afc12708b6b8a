"""Results as files: the tidy row layout of exports and :func:`write_result_dir`.

A result folder is written under a temporary name and renamed into place at the end,
so an interrupted or failed write never leaves a half-written result where one is
expected, and an earlier result at the same path stays intact until the new one is
complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from forcegen.results.result import SERIES, Result

__all__ = ["provenance", "tidy_schema", "write_result_dir"]

_RUN_CHUNK = 64  # replicates per Parquet row group: bounds memory for large ensembles


def provenance(result: Result) -> dict[str, Any]:
    """What determines the result (scenario, seed, version) and how it was run."""
    return {
        "scenario": result.scenario.name,
        "scenario_hash": result.scenario_hash,
        "seed": result.seed,
        "forcegen_version": result.version,
        "mode": result.mode,
        "runs": result.runs,
        "sample_parameters": result.sample_parameters,
        "start_date": str(result.scenario.start_date),
        "horizon_days": result.scenario.horizon_days,
        "currency": result.scenario.currency,
        "elapsed_seconds": round(result.elapsed_seconds, 3),
        "series": {
            name: {"unit": s.unit, "description": s.description} for name, s in SERIES.items()
        },
        "parameters": {name: np.asarray(v).tolist() for name, v in result.parameters.items()},
    }


def tidy_schema(dictionary: bool = True) -> pa.Schema:
    """Arrow schema of the tidy rows (see :meth:`Result.to_pandas`): labels
    dictionary-encoded, or plain strings."""
    label = pa.dictionary(pa.int32(), pa.string()) if dictionary else pa.string()
    return pa.schema(
        [
            ("run", pa.int32()),
            ("date", pa.date32()),
            ("series", label),
            ("channel", label),
            ("pool", label),
            ("state", label),
            ("cause", label),
            ("kind", label),
            ("value", pa.float64()),
        ]
    )


def write_result_dir(result: Result, out_dir: str | Path) -> Path:
    """Write ``result`` as a result folder (see :mod:`forcegen.results.folder`) at
    ``out_dir``: a new or empty folder, or one holding a previous forcegen result,
    which is replaced atomically; anything else is refused with an OutputError."""
    from forcegen.results.folder import is_result_folder, write_result_folder
    from forcegen.results.outputs import atomic_dir

    with atomic_dir(out_dir, recognise=is_result_folder) as tmp:
        write_result_folder(result, tmp)
    return Path(out_dir)
