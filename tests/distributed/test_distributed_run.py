"""Blocks run on Dask give bit-for-bit the single-process result, whatever the number
of workers or the chunking, and survive failing tasks and dying workers."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from dist_helpers import RUNS, SEED, AlwaysFailSim, FailOnceSim, KillOnceSim

import forcegen.distributed as fd
from forcegen.errors import UsageError
from forcegen.results.result import Result
from forcegen.scenario.model import Scenario
from forcegen.sim import Sim, assemble


def assert_identical(a: Result, b: Result) -> None:
    """Every series and every parameter array equal, element by element."""
    assert a.data.keys() == b.data.keys()
    for name in a.data:
        assert a.data[name].dtype == b.data[name].dtype, name
        assert np.array_equal(a.data[name], b.data[name]), name
    assert a.parameters.keys() == b.parameters.keys()
    for name in a.parameters:
        assert np.array_equal(a.parameters[name], b.parameters[name]), name
    assert (a.seed, a.scenario_hash, a.mode) == (b.seed, b.scenario_hash, b.mode)


def run_on(client: Any, sim: Sim, chunk: int = 1) -> Result:
    blocks = fd.run_blocks_distributed(sim, client=client, chunk=chunk)
    blocks.sort(key=lambda br: br.block)
    return assemble(sim, blocks, 0.0)


def test_sim_pickles(scenario: Scenario) -> None:
    sim = Sim(scenario, runs=RUNS, seed=SEED, given={"losses.wounded_per_day": [0.003]})
    back = pickle.loads(pickle.dumps(sim))
    assert back.scenario == sim.scenario
    assert (back.runs, back.seed, back.mode) == (sim.runs, sim.seed, sim.mode)
    assert np.array_equal(back.given["losses.wounded_per_day"], [0.003])


def test_shipped_copy_leaves_result_and_workers_behind(scenario: Scenario) -> None:
    sim = Sim(scenario, runs=10, seed=SEED, workers=2)
    sim.result = Sim(scenario, runs=10, seed=SEED).run()
    shipped = fd._shippable(sim)
    assert shipped.result is None
    assert shipped.workers is None
    assert shipped.scheduler is None
    assert sim.result is not None
    assert sim.workers == 2
    assert len(pickle.dumps(shipped)) < 200_000


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_two_workers_via_scheduler_address(
    cluster2: Any, reference: Result, scenario: Scenario, chunk: int
) -> None:
    # Sim.run() → run_blocks_distributed with sim.scheduler: the documented path.
    sim = Sim(scenario, runs=RUNS, seed=SEED, scheduler=cluster2.scheduler.address)
    result = sim.run() if chunk == 1 else run_on(cluster2, sim, chunk)
    assert_identical(reference, result)


@pytest.mark.parametrize("chunk", [1, 4])
def test_one_worker(cluster1: Any, reference: Result, scenario: Scenario, chunk: int) -> None:
    assert_identical(reference, run_on(cluster1, Sim(scenario, runs=RUNS, seed=SEED), chunk))


def test_mean_field_and_given_values(cluster2: Any, scenario: Scenario) -> None:
    given = {"losses.killed_per_day": np.linspace(0.001, 0.003, RUNS)}
    options: dict[str, Any] = {"runs": RUNS, "seed": 3, "given": given}
    for mode in ("stochastic", "mean-field"):
        local = Sim(scenario, mode=mode, sample_parameters=False, **options).run()
        remote = run_on(cluster2, Sim(scenario, mode=mode, sample_parameters=False, **options))
        assert_identical(local, remote)


def test_workers_option_starts_and_closes_a_local_cluster(
    reference: Result, scenario: Scenario
) -> None:
    calls: list[tuple[int, int]] = []
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = Sim(scenario, runs=RUNS, seed=SEED, workers=2).run(
        progress=lambda done, total: calls.append((done, total))
    )
    assert_identical(reference, result)
    # replicates done of the total, after each block (the last one partly kept)
    assert calls == [(128, RUNS), (256, RUNS), (RUNS, RUNS)]
    after = {
        p.pid
        for p in psutil.Process().children(recursive=True)
        # multiprocessing's resource tracker is a singleton that lives as long as this
        # process once anything has used it: not a worker
        if p.is_running() and "resource_tracker" not in " ".join(p.cmdline())
    }
    assert after <= before  # the worker processes are gone


def test_worker_killed_mid_run(reference: Result, scenario: Scenario, tmp_path: Path) -> None:
    # A cluster of its own: a worker restart leaves scheduler state behind that the
    # shared clusters' other tests should not depend on.
    sim = KillOnceSim(scenario, runs=RUNS, seed=SEED)
    sim.marker = str(tmp_path / "killed")
    with fd.local_cluster(1) as client:
        pids_before = set(client.run(lambda: psutil.Process().pid).values())
        assert_identical(reference, run_on(client, sim))
        # The first attempt at block 1 really ran, in a worker that then died.
        killed_pid = int(Path(sim.marker).read_text())
        assert killed_pid in pids_before
        assert killed_pid not in set(client.run(lambda: psutil.Process().pid).values())


def test_raising_task_is_retried(
    cluster2: Any, reference: Result, scenario: Scenario, tmp_path: Path
) -> None:
    sim = FailOnceSim(scenario, runs=RUNS, seed=SEED)
    sim.marker = str(tmp_path / "failed")
    assert_identical(reference, run_on(cluster2, sim))
    assert Path(sim.marker).exists()


def test_permanent_failure_propagates(cluster2: Any, scenario: Scenario) -> None:
    with pytest.raises(RuntimeError, match="permanent failure"):
        run_on(cluster2, AlwaysFailSim(scenario, runs=RUNS, seed=SEED))


def test_unreachable_scheduler_is_a_usage_error(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fd, "CONNECT_TIMEOUT", "0.5s")
    for address in ("tcp://127.0.0.1:9", "not-an-address"):
        with pytest.raises(UsageError, match="cannot connect"):
            Sim(scenario, runs=10, scheduler=address).run()


def test_bad_options_fail_before_any_work(scenario: Scenario) -> None:
    with pytest.raises(UsageError, match="chunk"):
        fd.run_blocks_distributed(Sim(scenario, runs=10), chunk=0)
    with pytest.raises(UsageError, match="unknown parameter"):
        fd.run_blocks_distributed(Sim(scenario, runs=10, given={"nope": [1.0]}), chunk=1)


def test_clusters_listen_on_loopback_only(cluster2: Any) -> None:
    me = psutil.Process()
    ours = {me.pid} | {p.pid for p in me.children(recursive=True)}
    listening = [
        c.laddr
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.pid in ours
    ]
    assert listening  # the scheduler and workers are among them
    assert {addr.ip for addr in listening} <= {"127.0.0.1", "::1"}
