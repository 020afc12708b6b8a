"""Write a result to a folder: tidy Parquet series plus ``run.json`` (provenance).

The folder is written under a temporary name and renamed into place at the end, so an
interrupted or failed write never leaves a half-written result where one is expected,
and an earlier result at the same path stays intact until the new one is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

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
    """Write ``series.parquet`` (tidy rows, see :meth:`Result.to_pandas`) and
    ``run.json`` into ``out_dir``, atomically replacing any earlier result there."""
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        schema = tidy_schema()
        with pq.ParquetWriter(tmp / "series.parquet", schema, compression="zstd") as writer:
            for lo in range(0, result.runs, _RUN_CHUNK):
                runs = range(lo, min(lo + _RUN_CHUNK, result.runs))
                frame = result.to_pandas(runs=runs)
                frame["run"] = frame["run"].astype(np.int32)
                frame["date"] = frame["date"].dt.date
                table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                writer.write_table(table)
        (tmp / "run.json").write_text(json.dumps(provenance(result), indent=2) + "\n")
        if target.exists():
            backup = target.with_name(f".{target.name}.old")
            if backup.exists():
                shutil.rmtree(backup)
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
