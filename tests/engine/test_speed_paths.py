"""The engine's faster paths give the same numbers as the slower ones, bit for bit.

* The mean-field kernel (:func:`forcegen.engine.kernels.expected_exits`) against the
  NumPy expressions it replaced (kept here as the reference) and against its own
  uncompiled source, on random states (hypothesis).
* The stochastic exits kernel split over threads by replicate rows against one part.
* Whole blocks of the built-ins with every kernel uncompiled against compiled, in
  both modes, and threads against none.
* The mean-field mode's exit rates kept from one day to the next against rates
  prepared every day.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from test_legal_waves_exposure import crowded_scenario

from forcegen.engine import counters, kernels
from forcegen.engine.compile import compile_block
from forcegen.engine.counters import counter_key, stream_id
from forcegen.engine.draws import ExpectedDraws
from forcegen.engine.kernels import exits, expected_exits
from forcegen.engine.sampling import ParameterSet, sample_block
from forcegen.engine.simulate import Mode, run_block
from forcegen.engine.step import simulate_block
from forcegen.sim import load

FloatArray = NDArray[np.float64]
SERIES = ("strength", "inflow", "outflow", "transition", "pool", "cost", "unpaid")


def numpy_expected_exits(
    svc: FloatArray,
    rec: FloatArray,
    start: int,
    segment: NDArray[np.int64],
    probs: FloatArray,
    keep: int,
    recovery: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The mean-field exits of forcegen 0.5.0 (``ExpectedDraws.exits_and_ageing``),
    verbatim: the reference the compiled kernel must match bit for bit."""
    total = probs.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > 0, np.minimum(total, 1.0) / total, 0.0)
    effective = probs * scale[..., None]
    rows = np.arange(svc.shape[0])[:, None]
    exposed = np.arange(svc.shape[1]) >= start
    people = np.where(exposed, svc, 0.0)
    back = np.where(exposed, rec, 0.0) * recovery[:, None]
    kept = people * effective[rows, segment, keep]
    svc += back - people * effective.sum(axis=-1)[rows, segment]
    rec += kept - back
    flat = (segment + rows * probs.shape[1]).ravel()
    per_segment = np.bincount(
        flat, weights=people.ravel(), minlength=probs.shape[0] * probs.shape[1]
    ).reshape(probs.shape[:2])
    by_cause = np.einsum("rg,rgk->rk", per_segment, effective)
    for stock in (svc, rec):
        stock[:, -1] += stock[:, -2]
        stock[:, 1:-1] = stock[:, :-2]
        stock[:, 0] = 0
    return back.sum(axis=1), kept.sum(axis=1), by_cause


def random_state(seed: int, runs: int, slots: int, groups: int, *, integer: bool) -> dict[str, Any]:
    """A day's state with sparse and crowded slots, some segments over probability 1."""
    rng = np.random.default_rng(seed)
    people = rng.choice([0, 0, 1, 3, 40, 900, 20_000], size=(runs, slots))
    recovering = rng.choice([0, 0, 2, 50, 3_000], size=(runs, slots))
    probs = rng.uniform(0.0, 0.02, size=(runs, groups, 7))
    probs[:, 0, :] *= rng.choice([0.0, 1.0, 200.0])  # empty, ordinary or over 1 in total
    dtype = np.int64 if integer else np.float64
    extra = 0.0 if integer else rng.uniform(0.0, 1.0, size=(runs, slots))
    return {
        "svc": (people + extra).astype(dtype),
        "rec": (recovering + extra).astype(dtype),
        "start": int(rng.integers(0, slots)),
        "segment": rng.integers(0, groups, size=(runs, slots)),
        "probs": probs,
        "keep": 6,
        "recovery": rng.uniform(0.0, 0.2, size=runs),
    }


def same_bits(a: NDArray[Any], b: NDArray[Any]) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    runs=st.integers(1, 5),
    slots=st.integers(2, 40),
    groups=st.integers(1, 4),
)
def test_expected_exits_match_numpy_bit_for_bit(
    seed: int, runs: int, slots: int, groups: int
) -> None:
    state = random_state(seed, runs, slots, groups, integer=False)
    outputs = []
    for fn in (numpy_expected_exits, expected_exits):
        svc, rec = state["svc"].copy(), state["rec"].copy()
        args = (svc, rec, state["start"], state["segment"], state["probs"])
        res = fn(*args, state["keep"], state["recovery"])
        outputs.append((svc, rec, *res))
    uncompiled_svc, uncompiled_rec = state["svc"].copy(), state["rec"].copy()
    res = expected_exits(
        uncompiled_svc,
        uncompiled_rec,
        state["start"],
        state["segment"],
        state["probs"],
        state["keep"],
        state["recovery"],
        compiled=False,
    )
    outputs.append((uncompiled_svc, uncompiled_rec, *res))
    reference = outputs[0]
    for other in outputs[1:]:
        for x, y in zip(reference, other, strict=True):
            assert same_bits(np.asarray(x), np.asarray(y))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), runs=st.integers(1, 9), parts=st.integers(2, 5))
def test_exits_split_over_threads_equal_one_part(seed: int, runs: int, parts: int) -> None:
    """Rows drawn in parts (threads) give the counts of one pass: every replicate's
    numbers are its own."""
    state = random_state(seed, runs, 30, 3, integer=True)
    results = []
    with ThreadPoolExecutor(parts - 1) as pool:
        for split in ({}, {"pool": pool, "parts": parts}):
            svc, rec = state["svc"].copy(), state["rec"].copy()
            out = exits(
                counter_key(seed),
                stream_id("t/returned"),
                stream_id("t/exits"),
                3,
                128,
                svc,
                rec,
                state["start"],
                state["segment"],
                state["probs"],
                state["keep"],
                state["recovery"],
                **split,
            )
            results.append((svc, rec, *out))
    for x, y in zip(*results, strict=True):
        assert same_bits(x, y)


# Short horizons (the uncompiled kernels are slow), past the mobilisation's call-up.
HORIZON = {"russia-2022-covert": 30, "russia-2022-mobilisation": 50}


def digest(name: str, mode: Mode, *, threads: int = 1) -> str:
    """SHA-256 of every output series of the first 3 replicates over a short horizon."""
    sc = load(name, overrides=[f"horizon_days={HORIZON[name]}"])
    out = run_block(sc, seed=11, block=0, mode=mode, rows=3, threads=threads).output
    h = hashlib.sha256()
    for series in SERIES:
        h.update(np.ascontiguousarray(getattr(out, series)).tobytes())
    return h.hexdigest()


@pytest.fixture
def uncompiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kernel of the daily step runs as plain Python."""
    python_counters = {
        "binomials": counters.binomials_python,
        "poissons": counters.poissons_python,
        "multinomial": counters.multinomial_python,
    }
    monkeypatch.setattr(counters, "_compiled", python_counters.__getitem__)
    monkeypatch.setattr(kernels, "_compiled", lambda: kernels.exits_python)
    monkeypatch.setattr(kernels, "_compiled_stocks", lambda: kernels.stocks_python)
    monkeypatch.setattr(kernels, "_compiled_expected", lambda: kernels.expected_exits_python)


@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
@pytest.mark.parametrize("name", ["russia-2022-covert", "russia-2022-mobilisation"])
def test_uncompiled_block_equals_compiled(name: str, mode: Mode, request: Any) -> None:
    compiled = digest(name, mode)
    request.getfixturevalue("uncompiled")
    assert digest(name, mode) == compiled


@pytest.mark.parametrize("mode", ["stochastic", "mean-field"])
def test_threads_do_not_change_a_block(mode: Mode) -> None:
    one = digest("russia-2022-covert", mode)
    assert digest("russia-2022-covert", mode, threads=2) == one
    assert digest("russia-2022-covert", mode, threads=3) == one


class _Forgetful(ExpectedDraws):
    """Mean-field draws that prepare the exit rates again every day."""

    def start_day(self, day: int) -> None:
        self._rates.clear()


def _mean_field_block(sc: Any, draws: ExpectedDraws) -> list[NDArray[Any]]:
    params = sample_block(sc, seed=0, block=0, sample=True)
    rows = {k: v[:4] for k, v in params.values.items()}  # 4 sampled replicates
    quantiles = {k: v[:4] for k, v in params.quantiles.items()}
    plan = compile_block(sc, ParameterSet(values=rows, quantiles=quantiles))
    breakpoints = [m.until_day for m in sc.losses.service_multipliers]
    out = simulate_block(plan, draws, breakpoints)
    return [getattr(out, series) for series in SERIES]


@pytest.mark.parametrize(
    "name", ["russia-2022-covert", "russia-2022-mobilisation", "russia-2022-2026"]
)
def test_mean_field_rates_kept_between_days_change_nothing(name: str) -> None:
    """The mean-field mode keeps each channel's prepared exit rates while the step hands
    over the same probabilities: whole sampled blocks (parameters, events and stepping
    schedules of the built-ins; the priced pools and conscripts of the last) are the
    same bit for bit as when they are prepared every day."""
    sc = load(name)
    kept = _mean_field_block(sc, ExpectedDraws())
    again = _mean_field_block(sc, _Forgetful())
    for a, b in zip(kept, again, strict=True):
        assert same_bits(a, b)


@pytest.mark.parametrize(("exponent", "prepared"), [(None, 1), (2.0, 100)])
def test_mean_field_rates_follow_crowding_at_the_front(
    exponent: float | None, prepared: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Lanchester-style losses the probabilities are new every day (scaled by the
    day's crowding at the front), so the rates are prepared on each of the 100 days;
    without, once. Either way the block is the one prepared afresh every day gives."""
    calls = [0]
    prepare = kernels.expected_rates

    def counted(*args: Any) -> kernels.ExpectedRates:
        calls[0] += 1
        return prepare(*args)

    sc = crowded_scenario(exponent)
    again = _mean_field_block(sc, _Forgetful())
    monkeypatch.setattr(kernels, "expected_rates", counted)
    kept = _mean_field_block(sc, ExpectedDraws())
    assert calls[0] == prepared
    for a, b in zip(kept, again, strict=True):
        assert same_bits(a, b)
