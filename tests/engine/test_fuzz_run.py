"""Property: any mutation of a built-in scenario that validates runs to completion for
two replicates, within time and memory bounds, with no negative stock, finite money and
exact conservation of people (issue #12).

Mutations act on the parsed YAML of ``russia-2022-covert`` or
``russia-2022-mobilisation``: numbers replaced (edge values of the bounds in
``forcegen.scenario.bounds``, magnitudes from 1e-9 to 1e300), dates moved or replaced,
parameters turned into wide ranges or lognormals, keys deleted, channels and events
duplicated. A mutation that does not validate must fail with located problems (the
loader's own fuzzer, ``tests/scenario/test_fuzz.py``, covers broken documents). One
that validates is simulated for two replicates with the engine's entry points
(parameters sampled, the plan compiled, the day loop, the guards), unless the
pre-flight estimate says it does not fit the budget, in which case ``Sim`` must refuse
it before simulating.

Two profiles: :data:`QUICK` examples in the default suite (``make test``, about 30 s on
one core), :data:`LONG` with ``-m slow`` (``make slow``).
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

import forcegen as fg
from forcegen.engine.compile import Plan, compile_block
from forcegen.engine.draws import StochasticDraws
from forcegen.engine.guard import OutOfRangeError, check_block, explain
from forcegen.engine.sampling import ParameterSet, sample_block
from forcegen.engine.step import BlockOutput, simulate_block
from forcegen.errors import Problem, ScenarioError
from forcegen.preflight import ResourceError
from forcegen.scenario import bounds
from forcegen.scenario.load import load_scenario_text
from forcegen.scenario.model import Scenario

QUICK = 48
LONG = 400
REPLICATES = 2
MEMORY_BUDGET = 2e9
"""Bytes a two-replicate run may be estimated to take (``Sim.run``, whole blocks)."""
SECONDS_PER_DAY_CHANNEL = 2e-3
"""CPU seconds a day and channel may take for two replicates (measured: ~0.2 ms)."""
SECONDS_PER_SLOT_DAY = 2e-7
"""... and per age slot and day (measured: ~12 ns for two replicates)."""

Path_ = tuple[str | int, ...]
BUILTINS = ("russia-2022-covert", "russia-2022-mobilisation")
EDGES: tuple[float, ...] = (
    0,
    1e-9,
    0.5,
    1,
    -1,
    2,
    365,
    bounds.MAX_DAYS,
    bounds.MAX_DAYS + 1,
    1e6,
    bounds.MAX_PEOPLE,
    bounds.MAX_PEOPLE + 1,
    2**31,
    3e9,
    bounds.MAX_MONEY,
    1e16,
    1e300,
    1e308,
)
NUMBERS = (
    st.sampled_from(EDGES)
    | st.integers(0, 10**10)
    | st.floats(0, 1)
    | st.floats(0, 1e16, allow_nan=False, allow_infinity=False)
)
DATES = st.sampled_from(
    [dt.date(1900, 1, 1), dt.date(2200, 12, 31), dt.date(1899, 12, 31), dt.date(9999, 12, 31)]
) | st.integers(-40_000, 40_000)


def _builtin_dir() -> Path:
    return Path(str(resources.files("forcegen.scenario").joinpath("builtin")))


@functools.cache
def _document(name: str) -> dict[str, Any]:
    text = (_builtin_dir() / f"{name}.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _leaves(node: Any, path: Path_ = ()) -> list[tuple[Path_, Any]]:
    """Every (path, value) below ``node`` (containers included)."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    found: list[tuple[Path_, Any]] = []
    for key, child in items:
        found.append(((*path, key), child))
        found += _leaves(child, (*path, key))
    return found


def _parent(data: Any, path: Path_) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _is_param(node: Any) -> bool:
    keys = {"value", "range", "dist", "series"}
    return isinstance(node, dict) and bool(keys & set(node)) and "id" not in node


def _mutate(data: dict[str, Any], draw: st.DrawFn) -> str:
    """Apply one mutation in place; returns what it was (for hypothesis' statistics)."""
    leaves = _leaves(data)
    kind = draw(
        st.sampled_from(["number", "number", "date", "param", "delete", "duplicate", "horizon"])
    )
    if kind == "horizon":
        data["horizon_days"] = draw(st.sampled_from([1, 30, 400, 2000, bounds.MAX_DAYS]))
        return kind
    if kind == "number":
        numbers = [
            (p, v)
            for p, v in leaves
            if isinstance(v, int | float) and not isinstance(v, bool) and p[0] != "claims"
        ]
        path, old = draw(st.sampled_from(numbers))
        how = draw(st.sampled_from(["scale", "scale", "edge", "any"]))
        if how == "scale":  # mostly still valid: the same value, orders of magnitude apart
            new = old * draw(st.sampled_from([0, 1e-3, 0.1, 0.5, 2, 10, 1e3, 1e6]))
        else:
            new = draw(st.sampled_from(EDGES) if how == "edge" else NUMBERS)
        _parent(data, path)[path[-1]] = int(new) if isinstance(old, int) and new < 2**62 else new
    elif kind == "date":
        dates = [(p, v) for p, v in leaves if isinstance(v, dt.date)]
        path, old = draw(st.sampled_from(dates))
        new = draw(DATES)
        if isinstance(new, int):
            try:
                new = old + dt.timedelta(days=new)
            except OverflowError:
                new = dt.date(9999, 12, 31)
        _parent(data, path)[path[-1]] = new
    elif kind == "param":
        params = [(p, v) for p, v in leaves if _is_param(v)]
        path, old = draw(st.sampled_from(params))
        low, high = sorted((draw(NUMBERS), draw(NUMBERS)))
        shape = draw(st.sampled_from(["range", "lognormal", "value"]))
        new: dict[str, Any] = {"assumption": "fuzz"}
        if shape == "range":
            new["range"] = [low, high]
        elif shape == "lognormal" and 0 < low < high:
            new |= {"dist": "lognormal", "median": low, "p95": high}
        else:
            new["value"] = high
        _parent(data, path)[path[-1]] = new
    elif kind == "delete":
        path, _ = draw(st.sampled_from(leaves))
        del _parent(data, path)[path[-1]]
    else:
        lists = [p for p in (("channels",), ("events",), ("pools",)) if data.get(p[0])]
        (key,) = draw(st.sampled_from(lists))
        item = copy.deepcopy(draw(st.sampled_from(data[key])))
        if isinstance(item, dict) and "id" in item:
            item["id"] = f"{item['id']}-copy"
        data[key].append(item)
    return kind


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(BUILTINS))
    data = copy.deepcopy(_document(name))
    kinds = [_mutate(data, draw) for _ in range(draw(st.integers(1, 2)))]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), kinds


def _two_replicates(scn: Scenario, seed: int) -> tuple[Plan, BlockOutput]:
    """Two replicates through the engine's entry points, guards included (what
    ``run_block`` does for a whole block, cut to two rows)."""
    params = sample_block(scn, seed=seed, block=0, sample=True)
    params = ParameterSet(
        values={k: v[:REPLICATES] for k, v in params.values.items()},
        quantiles={k: v[:REPLICATES] for k, v in params.quantiles.items()},
    )
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            plan = compile_block(scn, params)
            breakpoints = [m.until_day for m in scn.losses.service_multipliers]
            out = simulate_block(plan, StochasticDraws(seed, 0), breakpoints)
        check_block(vars(out), integer=True)
    except OutOfRangeError as breach:
        raise explain(breach, scn, params, 0) from None
    return plan, out


def _initial(plan: Plan) -> NDArray[np.int64]:
    """``(R, C)`` initial force in whole people, as the engine places it."""
    return np.stack(
        [
            np.rint(ch.initial_training)
            + np.rint(ch.initial_deployed)
            + np.rint(ch.initial_recovering)
            for ch in plan.channels
        ],
        axis=1,
    ).astype(np.int64)


def _assert_sound(plan: Plan, out: BlockOutput) -> None:
    for name in ("strength", "inflow", "outflow", "transition", "pool"):
        arr = getattr(out, name)
        assert np.issubdtype(arr.dtype, np.integer), name
        assert arr.min(initial=0) >= 0, f"{name} negative: {arr.min()}"
    for name in ("cost", "unpaid"):
        arr = getattr(out, name)
        assert np.isfinite(arr).all(), name
        assert arr.min(initial=0) >= 0, name
    strength = out.strength.astype(np.int64).sum(axis=-1)  # (R, T, C)
    before = np.concatenate([_initial(plan)[:, None, :], strength[:, :-1]], axis=1)
    net = out.inflow.astype(np.int64).sum(axis=-1) - out.outflow.astype(np.int64).sum(axis=-1)
    bad = np.argwhere(strength - before != net)
    assert bad.size == 0, f"not conserved at (replicate, day, channel) {bad[:5].tolist()}"


def _time_limit(scn: Scenario) -> float:
    from forcegen.preflight import channel_slots

    days = scn.horizon_days
    return 5.0 + days * (
        SECONDS_PER_DAY_CHANNEL * len(scn.channels) + SECONDS_PER_SLOT_DAY * sum(channel_slots(scn))
    )


def _load(text: str) -> tuple[Scenario | None, list[Problem]]:
    try:
        return load_scenario_text(text, "fuzz.yaml", base_dir=_builtin_dir()), []
    except ScenarioError as exc:
        return None, exc.problems


def _check(case: tuple[str, list[str]], seed: int) -> None:
    text, kinds = case
    for kind in kinds:
        event(f"mutation: {kind}")
    scn, problems = _load(text)
    if scn is None:
        event("refused by validation")
        assert problems
        assert all(p.file.endswith(".yaml") and p.message for p in problems)
        return
    sim = fg.Sim(scn, runs=REPLICATES, seed=seed, max_memory=MEMORY_BUDGET)
    est = sim.estimate("result")
    if est.memory_bytes > MEMORY_BUDGET:
        event("refused by the pre-flight estimate")
        with pytest.raises(ResourceError, match="not simulated"):
            sim.check_resources("result")
        return
    event("simulated")
    start = time.process_time()
    plan, out = _two_replicates(scn, seed)
    seconds = time.process_time() - start
    _assert_sound(plan, out)
    assert seconds <= _time_limit(scn), (seconds, _time_limit(scn))


_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=QUICK, **_SETTINGS)  # type: ignore[arg-type]
@given(case=mutated(), seed=st.integers(0, 2**32 - 1))
def test_mutated_builtins_that_validate_run_soundly(case: tuple[str, list[str]], seed: int) -> None:
    _check(case, seed)


@pytest.mark.slow
@settings(max_examples=LONG, **_SETTINGS)  # type: ignore[arg-type]
@given(case=mutated(), seed=st.integers(0, 2**32 - 1))
def test_mutated_builtins_that_validate_run_soundly_long(
    case: tuple[str, list[str]], seed: int
) -> None:
    _check(case, seed)
