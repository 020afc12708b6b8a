"""``forcegen backtest``: calibrate on what was known at a cut-off, forecast the rest.

Training rows are those published on or before the cut-off *and* covering periods that
end by then; every other usable row is a test row (including figures about earlier
periods published later: they were not known at the cut-off). Test rows are forecast
by four forecasters and scored on the log scale (90 % interval score and CRPS):

* ``posterior``: the scenario calibrated to the training rows (:mod:`.smc`), its
  particles simulated to the end of the test period, with their factors and
  before-start rates;
* ``prior``: the scenario as written (parameters drawn from their priors, factors
  from their ranges);
* ``last_value``: each series' last training value carried forward;
* ``linear``: each series extrapolated linearly (by date) through its last two
  training values.

A baseline is a point forecast; it is given the spread a user would attach to it: the
observation's own error combined with the size of the series' last change on the log
scale (``sqrt(log_sd² + (log(y_last / y_prev))²)``). A series without training values
(or with one, for ``linear``) cannot be forecast by that baseline: its rows are left
out of that baseline's comparison and counted.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.analysis.sensitivity import simulate_design, through_day
from forcegen.engine.simulate import Mode
from forcegen.errors import UsageError
from forcegen.observations.check import predictive_draws, score_table
from forcegen.observations.measure import Measurement, Resolved, Truth
from forcegen.observations.scoring import ALPHA, LOG_FLOOR, crps_sample, interval_score
from forcegen.observations.smc import PARTICLES, LedgerPosterior, Progress, smc_calibrate
from forcegen.results.outputs import (
    atomic_file,
    csv_header_is,
    figure_metadata,
    looks_like_forcegen_figure,
)
from forcegen.safetext import csv_safe, literal_figure_text
from forcegen.sim import Sim

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORECASTERS", "BacktestResult", "backtest", "baseline_forecast", "split"]

FloatArray = NDArray[np.float64]
FORECASTERS = ("posterior", "prior", "last_value", "linear")
"""The forecasters compared, in table order."""
_Z95 = 1.6448536269514722


def split(resolved: Resolved, cutoff: dt.date) -> tuple[Resolved, Resolved]:
    """``(training, test)``: rows published and covering periods up to ``cutoff``,
    and the rest."""
    day = (cutoff - resolved.scenario.start_date).days
    train = [m.row.published_date <= cutoff and m.last_day <= day for m in resolved.measurements]
    return resolved.subset(train), resolved.subset([not t for t in train])


def _end(m: Measurement) -> dt.date:
    return m.row.period_end.as_end() if m.row.period_end is not None else m.row.published_date


def baseline_forecast(
    train: list[Measurement], target: Measurement, kind: str
) -> tuple[float, float] | None:
    """``(median, log_sd)`` of a naive forecast of ``target`` from the training rows
    of its series, or None when the series has too few (see the module docstring)."""
    same = sorted(
        (m for m in train if m.row.quantity == target.row.quantity),
        key=lambda m: (_end(m), m.row.id),
    )
    if not same or (kind == "linear" and len(same) < 2):
        return None
    last = same[-1]
    change = 0.0
    if len(same) >= 2:
        prev = same[-2]
        change = abs(math.log(last.observed / prev.observed))
    spread = math.sqrt(target.log_sd**2 + change**2)
    if kind == "last_value":
        return last.observed, spread
    prev = same[-2]
    span = (_end(last) - _end(prev)).days
    if span <= 0:
        return last.observed, spread
    slope = (last.observed - prev.observed) / span
    value = last.observed + slope * (_end(target) - _end(last)).days
    return max(value, LOG_FLOOR), spread


@dataclass
class BacktestResult:
    """A backtest at one cut-off (see :func:`backtest`).

    Attributes:
        cutoff: The cut-off date.
        train: Training measurements.
        test: Test measurements.
        posterior: The calibration on the training rows.
        scores: One row per test observation and forecaster: ``id``, ``quantity``,
            ``family``, ``forecaster``, ``q05``, ``q50``, ``q95``, ``observed``,
            ``inside50``, ``inside90``, ``interval_score``, ``crps``.
        summary: Per family (and ``all``) and forecaster: rows scored, coverage,
            mean scores, and the interval-score ratio of the posterior to it (over the
            rows both scored).
        train_fit: The training rows against the posterior predictive
            (:data:`~forcegen.observations.check.CHECK_COLUMNS`): in-sample fit.
        notes: Caveats.
    """

    cutoff: dt.date
    train: Resolved
    test: Resolved
    posterior: LedgerPosterior
    scores: pd.DataFrame
    summary: pd.DataFrame
    train_fit: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def figure(self) -> Figure:
        """Mean interval score by family and forecaster (lower is better)."""
        from matplotlib.figure import Figure

        table = self.summary[self.summary["family"] != "all"]
        families = list(dict.fromkeys(table["family"]))
        fig = Figure(figsize=(max(6.0, 0.9 * len(families) + 2), 3.8), layout="constrained")
        ax = fig.subplots()
        width = 0.8 / len(FORECASTERS)
        x = np.arange(len(families))
        for j, name in enumerate(FORECASTERS):
            part = table[table["forecaster"] == name].set_index("family")
            values = [float(part["interval_score"].get(f, np.nan)) for f in families]
            ax.bar(x + (j - 1.5) * width, values, width, label=name)
        ax.set_xticks(x, families, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("mean 90% interval score (log scale units)", fontsize=8)
        ax.set_title(
            f"{self.train.scenario.name}: backtest at {self.cutoff} "
            f"({len(self.train.measurements)} training, {len(self.test.measurements)} test rows)",
            fontsize=9,
            loc="left",
        )
        ax.legend(fontsize=7)
        literal_figure_text(fig)
        return fig

    def write(self, out: str | Path, *, force: bool = False) -> dict[str, Path]:
        """Write ``backtest-<cutoff>-scores.csv``, ``-summary.csv``, ``-posterior.csv``
        (the particles) and ``-scores.png`` into ``out``."""
        folder = Path(out)
        stem = f"backtest-{self.cutoff.isoformat()}"
        frames = {
            "scores": self.scores,
            "summary": self.summary,
            "posterior": self.posterior.frame(),
            "train-fit": self.train_fit,
        }
        paths: dict[str, Path] = {}
        with ExitStack() as stack:
            for what, frame in frames.items():
                target = folder / f"{stem}-{what}.csv"
                header = ",".join(str(c) for c in frame.columns)
                tmp = stack.enter_context(
                    atomic_file(target, force=force, recognise=csv_header_is(header))
                )
                csv_safe(frame).to_csv(tmp, index=False)
                paths[what] = target
            target = folder / f"{stem}-scores.png"
            tmp = stack.enter_context(
                atomic_file(target, force=force, recognise=looks_like_forcegen_figure)
            )
            self.figure().savefig(tmp, format="png", dpi=100, metadata=figure_metadata("png"))
            paths["figure"] = target
        return paths


def _score_rows(
    ms: tuple[Measurement, ...], draws: FloatArray, forecaster: str
) -> list[dict[str, Any]]:
    rows = []
    qs = np.quantile(draws, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    for i, m in enumerate(ms):
        y = m.observed
        sample = np.log(draws[:, i])
        rows.append(_row(m, forecaster, qs[:, i], y, sample))
    return rows


def _row(
    m: Measurement, forecaster: str, qs: FloatArray, y: float, log_sample: FloatArray
) -> dict[str, Any]:
    point = m.row.bound == "point"
    return {
        "id": m.row.id,
        "quantity": m.row.quantity,
        "family": m.spec.family,
        "forecaster": forecaster,
        "q05": float(qs[0]),
        "q50": float(qs[2]),
        "q95": float(qs[4]),
        "observed": y,
        "inside50": bool(qs[1] <= y <= qs[3]),
        "inside90": bool(qs[0] <= y <= qs[4]),
        "interval_score": interval_score(
            math.log(max(qs[0], LOG_FLOOR)), math.log(max(qs[4], LOG_FLOOR)), math.log(y), ALPHA
        )
        if point
        else math.nan,
        "crps": crps_sample(log_sample, math.log(y)) if point else math.nan,
    }


def backtest(
    resolved: Resolved,
    cutoff: dt.date,
    *,
    params: list[str] | None = None,
    max_params: int = 6,
    particles: int = PARTICLES,
    budget: int = 200_000,
    prior_runs: int = 200,
    seed: int = 0,
    mode: Mode = "mean-field",
    client: Any = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Calibrate on the rows known at ``cutoff``, forecast the others, and score the
    posterior against the prior and two naive baselines (module docstring).

    Raises:
        UsageError: No training or no test rows at this cut-off.
    """
    import time

    start = time.perf_counter()
    train, test = split(resolved, cutoff)
    if not train.measurements:
        raise UsageError(f"no usable observation is known by {cutoff}; choose a later cut-off")
    if not test.measurements:
        raise UsageError(f"every usable observation is known by {cutoff}; nothing to forecast")
    posterior = smc_calibrate(
        train,
        params=params,
        max_params=max_params,
        particles=particles,
        budget=budget,
        seed=seed,
        mode=mode,
        client=client,
        progress=progress,
    )
    rng = np.random.default_rng([seed, 61])
    # One simulation of the particles for training and test rows: the training fit
    # (how much of what it was calibrated on the posterior reproduces) comes free.
    horizon = through_day(resolved.scenario, resolved.last_day)
    pooled = posterior.particles.shape[0]  # every population's particles
    post_flows = simulate_design(
        horizon,
        pooled,
        posterior.parameter_quantiles(),
        Truth.of(resolved).flows,
        seed=int(np.random.SeedSequence([seed, 62]).generate_state(1)[0]),
        mode=mode,
        client=client,
    )
    repeats = max(1, math.ceil(2000 / pooled))
    every = predictive_draws(
        resolved, post_flows, rng, repeats=repeats, posterior=posterior.draws(resolved)
    )
    in_test = np.array([m in test.measurements for m in resolved.measurements])
    post_draws = every[:, in_test]
    train_fit = score_table(train.measurements, every[:, ~in_test])
    truth = Truth.of(test)
    prior_result = Sim(
        through_day(resolved.scenario, test.last_day), runs=prior_runs, seed=seed
    ).run()
    prior_draws = predictive_draws(
        test, truth.flows(prior_result), rng, repeats=max(1, math.ceil(2000 / prior_runs))
    )
    rows = _score_rows(test.measurements, post_draws, "posterior")
    rows += _score_rows(test.measurements, prior_draws, "prior")
    train_ms = list(train.measurements)
    missing = {"last_value": 0, "linear": 0}
    for kind in ("last_value", "linear"):
        for m in test.measurements:
            forecast = baseline_forecast(train_ms, m, kind)
            if forecast is None:
                missing[kind] += 1
                continue
            median, spread = forecast
            sample = math.log(median) + spread * rng.standard_normal(2000)
            qs = np.exp(np.quantile(sample, [0.05, 0.25, 0.5, 0.75, 0.95]))
            rows.append(_row(m, kind, qs, m.observed, sample))
    scores = pd.DataFrame(rows)
    notes = [
        f"{n} test rows have no {k.replace('_', ' ')} baseline (too few training values of "
        "their series); ratios use the rows both forecasters scored"
        for k, n in missing.items()
        if n
    ]
    if not posterior.diagnostics.passed:
        notes.append(
            "the calibration's diagnostics failed: " + "; ".join(posterior.diagnostics.failures())
        )
    return BacktestResult(
        cutoff=cutoff,
        train=train,
        test=test,
        posterior=posterior,
        scores=scores,
        summary=summarise_scores(scores),
        train_fit=train_fit,
        notes=notes,
        elapsed_seconds=time.perf_counter() - start,
    )


def summarise_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per family (and ``all``) and forecaster: rows, coverage, mean scores, and
    ``is_ratio`` = posterior interval score / this forecaster's, summed over the rows
    both scored (below 1: the posterior is better)."""
    out = []
    scored = scores[scores["interval_score"].notna()]
    families = ["all", *dict.fromkeys(scored["family"])]
    for family in families:
        part = scored if family == "all" else scored[scored["family"] == family]
        post = part[part["forecaster"] == "posterior"].set_index("id")
        for name in FORECASTERS:
            mine = part[part["forecaster"] == name].set_index("id")
            if mine.empty:
                continue
            common = post.index.intersection(mine.index)
            denominator = float(mine.loc[common, "interval_score"].sum())
            ratio = (
                float(post.loc[common, "interval_score"].sum()) / denominator
                if len(common) and denominator > 0
                else math.nan
            )
            out.append(
                {
                    "family": family,
                    "forecaster": name,
                    "rows": len(mine),
                    "inside50": float(mine["inside50"].mean()),
                    "inside90": float(mine["inside90"].mean()),
                    "interval_score": float(mine["interval_score"].mean()),
                    "crps": float(mine["crps"].mean()),
                    "is_ratio": ratio,
                }
            )
    return pd.DataFrame(out)
