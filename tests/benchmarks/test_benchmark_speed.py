"""benchmarks/speed.py: interleaved baseline/branch measurements, medians and ratios
(the timing itself is replaced by a fake; the real one takes minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import speed


def test_run_interleaves_and_reports_medians_and_ratios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, str, int]] = []
    # Baseline takes 3, 5, 4 s; branch 1, 2, 9 s (medians 4 and 2): ratio 2.
    times = {"baseline": iter([3.0, 5.0, 4.0]), "branch": iter([1.0, 2.0, 9.0])}
    sources = {"baseline": Path("/base/src"), "branch": speed.ROOT / "src"}

    def fake_measure(source: Path, kind: str, runs: int) -> dict[str, float]:
        name = "baseline" if source == sources["baseline"] else "branch"
        calls.append((name, kind, runs))
        t = next(times[name])
        return {"wall": t, "cpu": t / 2}

    monkeypatch.setattr(speed, "baseline_source", lambda rev: sources["baseline"])
    monkeypatch.setattr(speed, "measure", fake_measure)
    report = speed.run(["process"], 64, 3, "abc1234")
    # Alternating order: neither side always runs first.
    assert [c[0] for c in calls] == [
        "baseline",
        "branch",
        "branch",
        "baseline",
        "baseline",
        "branch",
    ]
    assert {c[1:] for c in calls} == {("process", 64)}
    res = report["results"]["process"]
    assert res["median"]["baseline"] == {"wall": 4.0, "cpu": 2.0}
    assert res["median"]["branch"] == {"wall": 2.0, "cpu": 1.0}
    assert res["ratio_wall"] == 2.0
    assert res["ratio_cpu"] == 2.0
    table = speed.markdown(report)
    assert "| 64 replicates, one process | 4.000 | 2.000 | ×2.00 |" in table
    assert "baseline `abc1234`" in table
