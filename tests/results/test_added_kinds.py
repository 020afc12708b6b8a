"""Run folders written before a category was added to a series (transition kinds
``called`` and ``converted``) still load: the missing cells read as 0."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from forcegen.engine.step import TRANSITION_KINDS
from forcegen.results.arrays import block_table, read_series, write_block
from forcegen.results.result import SERIES


def test_a_block_without_the_new_transition_kinds_reads_them_as_zero(tmp_path: Path) -> None:
    runs, days, channels, pools = 2, 3, ["a", "b"], ["p"]
    rng = np.random.default_rng(0)
    data = {}
    for name, spec in SERIES.items():
        n_ent = len(channels) if spec.entity == "channel" else len(pools)
        shape = (runs, days, n_ent) + ((len(spec.labels),) if spec.category else ())
        data[name] = rng.integers(1, 100, size=shape).astype(np.int32)
    table = block_table(data, 0, dt.date(2023, 1, 1), channels, pools)
    old = [f"transition/{c}/{k}" for c in channels for k in ("called", "converted")]
    write_block(table.drop_columns(old), tmp_path / "block.parquet")
    got = read_series(
        [tmp_path / "block.parquet"], "transition", runs, days, channels, pools, np.dtype("int32")
    )
    new = [TRANSITION_KINDS.index("called"), TRANSITION_KINDS.index("converted")]
    kept = [k for k in range(len(TRANSITION_KINDS)) if k not in new]
    np.testing.assert_array_equal(got[..., kept], data["transition"][..., kept])
    assert not got[..., new].any()
