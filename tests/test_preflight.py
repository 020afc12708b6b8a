"""The pre-flight estimate (forcegen.preflight): memory and time before simulating, and
a refusal, with the estimate and what to change, when the memory is not there.

Issue #12: ``--runs 1000000000`` was accepted with no estimate, and ``horizon_days:
36500`` with ``--runs 2`` ran for minutes with nothing said. These tests never simulate
a refused run: a refusal comes before the first block (the timeouts make the old
behaviour, which started simulating, fail quickly).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import forcegen as fg
from forcegen import preflight
from forcegen.engine.compile import compile_block
from forcegen.engine.sampling import sample_block
from forcegen.preflight import ResourceError, estimate, parse_size
from forcegen.results.reduce import StrengthQuantiles, SummaryTotals
from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Param

Run = Callable[..., tuple[int, str, str]]
BUILTIN = "russia-2022-covert"


def with_horizon(days: int) -> Scenario:
    return fg.load(BUILTIN).model_copy(update={"horizon_days": days})


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("args", "kept", "advice"),
    [
        (["--no-store"], "blocks reduced as they finish", "fewer replicates (about "),
        (["--store", "{tmp}/s.duckdb"], "blocks written to disk", "`forcegen ensemble`"),
    ],
)
def test_a_billion_runs_are_refused_with_the_estimate(
    run_cli: Run, tmp_path: Path, args: list[str], kept: str, advice: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = run_cli("run", BUILTIN, "--runs", "1000000000", *args)
    assert code == 2, (out, err)
    message = " ".join(err.split())
    assert message.startswith("error: not simulated: estimated ")
    assert "for 1,000,000,000 replicates × 1,095 days × 4 channels" in message
    assert kept in message
    assert advice in message
    assert "--max-memory SIZE (or FORCEGEN_MAX_MEMORY=SIZE)" in message
    assert not (tmp_path / "s.duckdb").exists()  # refused before the store is opened


@pytest.mark.timeout(60)
def test_ensemble_keeping_strength_counts_it(run_cli: Run) -> None:
    code, _, err = run_cli("ensemble", BUILTIN, "--runs", "1000000000", "--keep", "strength")
    assert code == 2
    assert "TB of memory" in err
    assert "--keep summary" in " ".join(err.split())


@pytest.mark.timeout(60)
def test_the_python_api_refuses_a_result_that_cannot_fit() -> None:
    with pytest.raises(ResourceError, match=r"every replicate held in memory.*`forcegen run`"):
        fg.Sim(BUILTIN, runs=10**8).run()


@pytest.mark.timeout(60)
def test_max_memory_is_the_limit_given(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run_cli("run", BUILTIN, "--runs", "300", "--no-store", "--max-memory", "10M")
    assert code == 2
    assert "more than the 10 MB allowed (--max-memory)" in " ".join(err.split())
    monkeypatch.setenv("FORCEGEN_MAX_MEMORY", "1k")
    with pytest.raises(ResourceError, match="allowed"):
        fg.Sim(BUILTIN, runs=1).run()
    code, _, err = run_cli("run", BUILTIN, "--runs", "3", "--no-store", "--max-memory", "lots")
    assert code == 2
    assert "expected a memory size such as 8G" in err


@pytest.mark.timeout(60)
def test_a_long_horizon_is_announced_before_it_starts(run_cli: Run, tmp_path: Path) -> None:
    """100 years × 2 replicates: the estimate (minutes) is printed on stderr before the
    bar, and the run is refused if it does not fit (here: a limit of 1 GB)."""
    builtin = Path(fg.__file__).parent / "scenario" / "builtin"
    text = (builtin / f"{BUILTIN}.yaml").read_text(encoding="utf-8")
    path = tmp_path / "long.yaml"
    path.write_text(text.replace("horizon_days: 1095", "horizon_days: 36500"), encoding="utf-8")
    for ledger in builtin.glob("ledger*.yaml"):
        (tmp_path / ledger.name).write_text(ledger.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run_cli("run", str(path), "--runs", "2", "--no-store", "--max-memory", "1G")
    assert code == 2
    message = " ".join(err.split())
    assert "for 2 replicates × 36,500 days × 4 channels" in message
    assert "min" in message.split("of memory and ")[1].split(" for ")[0]


def test_large_estimates_are_printed_first(run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "_LARGE_SECONDS", 0.0)
    code, _, err = run_cli("run", BUILTIN, "--runs", "1", "--no-store", "--mode", "mean-field")
    assert code == 0, err
    assert err.startswith("forcegen: estimated ")
    assert "blocks reduced as they finish" in err


def test_the_estimate_follows_what_the_run_keeps() -> None:
    sim = fg.Sim(BUILTIN, runs=10_000)
    result, folder = sim.estimate("result"), sim.estimate("folder")
    reduced = sim.estimate("reduced", [SummaryTotals()])
    strength = sim.estimate("reduced", [SummaryTotals(), StrengthQuantiles()])
    assert result.memory_bytes > 10 * folder.memory_bytes
    assert folder.memory_bytes > strength.memory_bytes > reduced.memory_bytes
    # A Result grows by ~1 kB a replicate-day here; a streamed run by a few bytes.
    assert 900 < result.per_run_bytes / 1095 < 1100
    assert folder.per_run_bytes / 1095 < 50
    assert reduced.per_run_bytes < 200
    assert result.seconds < folder.seconds  # writing and summarising the folder


def test_the_estimate_counts_compressed_age_slots() -> None:
    base = fg.load(BUILTIN)
    term = Param.point(36_500.0, assumption="longest")
    contract = base.channels[0].contract.model_copy(update={"term_days": term})
    scn = base.model_copy(
        update={"channels": [base.channels[0].model_copy(update={"contract": contract})]}
    )
    est = estimate(fg.Sim(scn, runs=1), "result")
    assert est.slots == (1_219,)  # young ages (120) + horizon + 4, as the engine
    # With sampled terms: the most any replicate can need, as the engine sizes them.
    builtin = fg.load(BUILTIN)
    slots = estimate(fg.Sim(builtin, runs=1), "result").slots
    plan = compile_block(builtin, sample_block(builtin, seed=1, block=0, sample=True))
    assert all(ch.n_ages <= s for ch, s in zip(plan.channels, slots, strict=True))
    assert slots[0] == 367  # contract terms up to 365 days


@pytest.mark.parametrize(
    ("text", "size"),
    [("8G", 8e9), ("512MB", 512e6), ("2GiB", 2**31), ("1e9", 1e9), ("300 kb", 3e5), (5e6, 5e6)],
)
def test_sizes(text: str | float, size: float) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "8 X", ""])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(fg.errors.UsageError):
        parse_size(text)


def test_available_memory_is_read() -> None:
    found = preflight.available_memory()
    if sys.platform.startswith("linux"):
        assert found is not None
        assert 0 < found < 2**60


@pytest.mark.slow
@pytest.mark.parametrize("holding", ["result", "folder", "reduced"])
def test_the_estimate_is_within_a_factor_of_two_of_the_peak(holding: str, tmp_path: Path) -> None:
    """Measured in a fresh process: peak resident memory added by a 384-replicate run
    of the built-in scenario, against the estimate."""
    code = f"""
import resource, pathlib, forcegen as fg
from forcegen.sim import run_to_folder
from forcegen.distributed import run_reduced
from forcegen.results.reduce import SummaryTotals
from forcegen.engine.kernels import compile_kernels
compile_kernels()
sim = fg.Sim("{BUILTIN}", runs=384, seed=1, threads=1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if "{holding}" == "result":
    est = sim.estimate("result"); sim.run()
elif "{holding}" == "folder":
    est = sim.estimate("folder"); run_to_folder(sim, pathlib.Path(r"{tmp_path}"))
else:
    est = sim.estimate("reduced", [SummaryTotals()]); run_reduced(sim, SummaryTotals())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(after - before, est.memory_bytes)
"""
    env = {**os.environ, "FORCEGEN_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    measured, estimated = (float(x) for x in done.stdout.split())
    assert measured / 2 <= estimated <= measured * 2, (measured, estimated)
