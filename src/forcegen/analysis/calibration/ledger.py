"""``forcegen calibrate`` on a public-record ledger: the tempered SMC of
:mod:`forcegen.observations.smc`, and what it writes.

A ledger (the public-record columns, ``docs/calibration.md``) is told from the older
observed-data CSV by its header (:func:`is_ledger`). The calibration uses every usable
row (published and covering periods up to an optional cut-off); the result
(:class:`LedgerCalibration`) holds the posterior table, the diagnostics, the training
rows against their posterior predictive bands (observation model and discrepancy
applied: the *training coverage*), and writes the calibrated scenario with its
posterior sample beside it — every calibrated parameter, observation factor,
before-start rate and the model discrepancy, jointly, one row per particle — in the
format :mod:`forcegen.analysis.posterior_runs` reads, so that runs of the calibrated
scenario draw from it jointly. Parameters not calibrated are held at their expected
values, in the calibration and in those runs (``others=expected``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from forcegen._version import __version__
from forcegen.analysis.calibration.common import FloatArray, Progress
from forcegen.analysis.calibration.diagnostics import _summarise
from forcegen.analysis.calibration.outputs import (
    POSTERIOR_MARKER,
    SUMMARY_COLUMNS,
    _is_calibrated_yaml,
    _is_particles_csv,
    calibrated_document,
    calibrated_name,
    parameter_values,
)
from forcegen.analysis.posterior_runs import DISCREPANCY
from forcegen.analysis.sensitivity import (
    dask_client,
    resolve_parameters,
    simulate_design,
    through_day,
)
from forcegen.engine.simulate import Mode
from forcegen.errors import OutputError, UsageError
from forcegen.observations.check import (
    CHECK_COLUMNS,
    PosteriorDraws,
    predictive_draws,
    score_table,
)
from forcegen.observations.measure import Measurement, Resolved, Truth
from forcegen.observations.smc import (
    MAX_DISCREPANCY,
    MAX_MOVES,
    MIN_MOVES,
    PARTICLES,
    POPULATIONS,
    LedgerPosterior,
    smc_calibrate,
)
from forcegen.results.outputs import Recognise, atomic_file, check_file_target, csv_header_is
from forcegen.safetext import csv_safe

__all__ = [
    "LedgerCalibration",
    "calibrate_ledger",
    "check_ledger_outputs",
    "is_ledger",
    "ledger_output_files",
    "posterior_draws",
    "training_rows",
]

PREDICTIVE_DRAWS = 2000
"""At least this many posterior predictive draws per training row (particles are
observed several times, with independent errors, when there are fewer)."""


def is_ledger(path: str | Path) -> bool:
    """Whether ``path`` is a public-record ledger rather than an observed-data CSV of
    the older format: a YAML file, or a CSV whose header (the first line that is not
    a ``#`` comment) names a ``quantity`` column and no ``series`` column. Unreadable
    files count as the older format, whose reader reports the problem."""
    target = Path(path)
    if target.suffix.lower() in (".yaml", ".yml"):
        return True
    try:
        with target.open("r", encoding="utf-8-sig", newline="") as handle:
            for line in handle:
                if line.strip() and not line.lstrip().startswith("#"):
                    header = next(csv.reader(io.StringIO(line)), [])
                    names = {h.strip().lower() for h in header}
                    return "quantity" in names and "series" not in names
                # Only the first lines are needed; a huge file is not read whole.
    except (OSError, UnicodeDecodeError):
        return False
    return False


def training_rows(resolved: Resolved, cutoff: dt.date | None) -> Resolved:
    """The rows a calibration may use: all usable rows, or with ``cutoff`` those
    published on or before it and covering periods that end by then (as
    ``forcegen backtest`` trains)."""
    if cutoff is None:
        return resolved
    day = (cutoff - resolved.scenario.start_date).days
    keep = [m.row.published_date <= cutoff and m.last_day <= day for m in resolved.measurements]
    return resolved.subset(keep)


def _group_ranges(resolved: Resolved) -> tuple[FloatArray, FloatArray]:
    """Range of each factor group (that of its first row)."""
    first: dict[str, Measurement] = {}
    for m in resolved.measurements:
        if m.factor_uncertain:
            first.setdefault(m.group, m)
    lo = np.array([first[g].model.low for g in resolved.groups], dtype=np.float64)
    hi = np.array([first[g].model.high for g in resolved.groups], dtype=np.float64)
    return lo, hi


def _offset_ranges(resolved: Resolved) -> tuple[FloatArray, FloatArray]:
    before = [resolved.mapping.before_start[t] for t in resolved.offsets]
    return (
        np.array([b.low for b in before], dtype=np.float64),
        np.array([b.high for b in before], dtype=np.float64),
    )


def posterior_draws(
    nuisance: pd.DataFrame, resolved: Resolved, seed: int
) -> tuple[PosteriorDraws, list[str]]:
    """Factor, before-start and discrepancy draws per replicate for ``resolved``
    from the nuisance columns of a posterior sample (one row per replicate, as
    :attr:`forcegen.analysis.posterior_runs.JointDraws.nuisance`), and what was
    not in the sample.

    A factor value is mapped back to its quantile on its group's range (that of the
    group's first row; rows of one group share one quantile, as in the calibration).
    A group, before-start term or discrepancy the sample lacks is drawn from its
    prior (uniform quantiles from a stream of ``seed``; no discrepancy) and listed.
    """
    runs = len(nuisance)
    rng = np.random.default_rng([seed, 83])
    lo, hi = _group_ranges(resolved)
    factors = rng.random((runs, len(resolved.groups)))
    missing: list[str] = []
    for j, g in enumerate(resolved.groups):
        column = f"factor:{g}"
        if column in nuisance.columns:
            values = nuisance[column].to_numpy(dtype=np.float64)
            factors[:, j] = np.clip((values - lo[j]) / (hi[j] - lo[j]), 0.0, 1.0)
        else:
            missing.append(column)
    olo, ohi = _offset_ranges(resolved)
    offsets = rng.random((runs, len(resolved.offsets)))
    for j, t in enumerate(resolved.offsets):
        column = f"before:{t}"
        if column in nuisance.columns:
            values = nuisance[column].to_numpy(dtype=np.float64)
            # A range of one value (``uniform(0, 0)``) has one quantile's worth of truth.
            span = ohi[j] - olo[j]
            offsets[:, j] = np.clip((values - olo[j]) / span, 0.0, 1.0) if span > 0 else 0.5
        else:
            missing.append(column)
    tau = (
        nuisance[DISCREPANCY].to_numpy(dtype=np.float64)
        if DISCREPANCY in nuisance.columns
        else None
    )
    if tau is None:
        missing.append(DISCREPANCY)
    return PosteriorDraws(factors, offsets, tau), missing


@dataclass
class LedgerCalibration:
    """A scenario calibrated to a ledger (see :func:`calibrate_ledger`).

    Attributes:
        posterior: The SMC posterior (equally weighted particles, diagnostics).
        observations: The ledger file.
        cutoff: Rows known after this date were left out (None: every usable row).
        summary: Prior and posterior of each calibrated parameter (per uncertain step
            of a dated series), factor group, before-start rate and the discrepancy
            (:data:`~forcegen.analysis.calibration.SUMMARY_COLUMNS`).
        fitted: Parameter name → truncated normal fitted per step (written to the
            scenario for runs without the sample).
        fit: Each training row against its posterior predictive distribution
            (observation model and discrepancy applied; ``check.csv``'s columns).
        notes: Caveats.
        elapsed_seconds: Wall time, calibration and predictive check.
    """

    posterior: LedgerPosterior
    observations: str
    cutoff: dt.date | None
    summary: pd.DataFrame
    fitted: dict[str, list[tuple[float, float, float, float] | None]]
    fit: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    _forced: bool = field(default=False, init=False, repr=False)

    @property
    def resolved(self) -> Resolved:
        """The training rows."""
        return self.posterior.resolved

    @property
    def name(self) -> str:
        """Name of the calibrated scenario: ``<scenario>-calibrated``."""
        return calibrated_name(self.resolved.scenario.name)

    @property
    def coverage90(self) -> float:
        """Share of training rows inside their posterior predictive 90 % band."""
        return float(self.fit["inside90"].mean()) if len(self.fit) else math.nan

    @property
    def coverage50(self) -> float:
        """Share of training rows inside their posterior predictive 50 % band."""
        return float(self.fit["inside50"].mean()) if len(self.fit) else math.nan

    def diagnostic_failures(self) -> list[str]:
        """What failed (final temperature not 1, ESS or distinct particles below
        30 %), with what to try; empty when the posterior passed."""
        return self.posterior.diagnostics.failures()

    @property
    def forced(self) -> bool:
        """Whether :meth:`write` wrote it although its diagnostics failed."""
        return self._forced

    def particle_values(self) -> pd.DataFrame:
        """The posterior sample in the units of what it describes: ``weight`` (equal:
        SMC particles after resampling and moves), every calibrated parameter
        (``name@from`` per step of a dated series), each factor group's factor
        (``factor:<group>``, on its first row's range), each before-start rate
        (``before:<term>``, people a day) and the discrepancy (log-scale sd)."""
        post = self.posterior
        n = post.particles.shape[0]
        k = len(post.parameters)
        columns: dict[str, FloatArray] = {"weight": np.full(n, 1.0 / n)}
        columns.update(
            parameter_values(self.resolved.scenario, post.parameters, post.particles[:, :k])
        )
        resolved = self.resolved
        lo, hi = _group_ranges(resolved)
        g = len(resolved.groups)
        for j, group in enumerate(resolved.groups):
            columns[f"factor:{group}"] = lo[j] + (hi[j] - lo[j]) * post.particles[:, k + j]
        olo, ohi = _offset_ranges(resolved)
        for j, term in enumerate(resolved.offsets):
            u = post.particles[:, k + g + j]
            columns[f"before:{term}"] = olo[j] + (ohi[j] - olo[j]) * u
        if post.discrepancy:
            columns[DISCREPANCY] = MAX_DISCREPANCY * post.particles[:, -1]
        return pd.DataFrame(columns)

    def scenario_document(self) -> dict[str, Any]:
        """The calibrated scenario as plain data (see
        :func:`~forcegen.analysis.calibration.outputs.calibrated_document`)."""
        post = self.posterior
        diag = post.diagnostics
        data = Path(self.observations).name
        known = f", rows known by {self.cutoff}" if self.cutoff else ""
        rhat = f", largest R-hat {diag.max_rhat:.3f}" if diag.rhat else ""
        description = (
            f"Calibrated to {data} ({len(self.resolved.measurements)} usable rows{known}) "
            f"by tempered SMC on the {post.mode} trajectory ({diag.populations} "
            f"populations, {post.particles.shape[0]} particles in all, final temperature "
            f"{diag.final_temperature:.3g}, ESS {diag.ess_share:.0%}{rhat}); "
            f"calibrated parameters: {', '.join(post.parameters)}; "
            "the other uncertain parameters held at their expected values; "
            f"{self.coverage90:.0%} of the training rows inside their posterior "
            "predictive 90 % band. The posterior sample is in "
            f"{self.name}-particles.csv beside this file."
        )
        method = (
            f"{data} by tempered SMC ({post.mode}), final temperature "
            f"{diag.final_temperature:.3g}, others at their expected values"
        )
        return calibrated_document(
            self.resolved.scenario,
            post.parameters,
            self.fitted,
            self.summary,
            description=description,
            method=method,
            failures=self.diagnostic_failures() if self._forced else [],
        )

    def to_yaml(self) -> str:
        """The calibrated scenario as YAML text, with a header comment."""
        header = (
            f"# {self.name}: generated by `forcegen calibrate` from scenario "
            f"{self.resolved.scenario.name}\n# and the ledger {self.observations}.\n"
            "# Calibrated parameters carry fitted posterior distributions (see their notes);\n"
            f"# runs of this file draw them jointly from {self.name}-particles.csv beside it.\n"
            f"# forcegen {__version__}, seed {self.posterior.seed}.\n"
        )
        body = yaml.safe_dump(
            self.scenario_document(), sort_keys=False, allow_unicode=True, width=100
        )
        return header + body

    def marker(self) -> str:
        """First line of the particles file: the marker and the calibration's settings
        (read back by :mod:`forcegen.analysis.posterior_runs`)."""
        diag = self.posterior.diagnostics
        status = "failed" if self._forced else "passed"
        # The cut-off lets `forcegen report --observations` mark the rows the
        # calibration did not see as out of sample without being told again.
        cutoff = f"; cutoff={self.cutoff.isoformat()}" if self.cutoff else ""
        rhat = f"; max_rhat={diag.max_rhat:.4f}" if diag.rhat else ""
        return (
            f"{POSTERIOR_MARKER}; others=expected; mode={self.posterior.mode}; method=smc; "
            f"diagnostics={status}; temperature={diag.final_temperature:.4g}; "
            f"ess_share={diag.ess_share:.3f}; unique_share={diag.unique_share:.3f}; "
            f"populations={diag.populations}{rhat}; seed={self.posterior.seed}{cutoff}; "
            f"forcegen={__version__}"
        )

    def write(
        self, out: str | Path, *, force: bool = False, allow_failed: bool = False
    ) -> dict[str, Path]:
        """Write ``<name>.yaml``, ``<name>-particles.csv``, ``<name>-posterior.csv``
        and ``<name>-fit.csv`` into folder ``out``, together or not at all.

        When the diagnostics fail nothing is written and :class:`UsageError` says why
        and what to try, unless ``allow_failed``: then the scenario's title and
        description and the particles' marker line say it is unreliable. An existing
        file of one of those names is replaced only when forcegen wrote it, or with
        ``force``."""
        failures = self.diagnostic_failures()
        if failures and not allow_failed:
            raise UsageError(
                "refusing to write a calibrated scenario from a posterior that failed its "
                "diagnostics: "
                + "; ".join(failures)
                + " (or pass --accept-failed to write it anyway, marked as unreliable)"
            )
        self._forced = bool(failures)
        check_ledger_outputs(out, self.resolved.scenario.name, force=force)
        files = ledger_output_files(out, self.name)
        text = self.to_yaml()
        with ExitStack() as stack:
            tmp = {
                what: stack.enter_context(atomic_file(path, force=force, recognise=recognise))
                for what, (path, recognise) in files.items()
            }
            tmp["scenario"].write_text(text, encoding="utf-8")
            with tmp["particles"].open("w", encoding="utf-8", newline="") as handle:
                handle.write(self.marker() + "\n")
                self.particle_values().to_csv(handle, index=False, lineterminator="\n")
            csv_safe(self.summary).to_csv(tmp["summary"], index=False)
            csv_safe(self.fit).to_csv(tmp["fit"], index=False)
        return {what: path for what, (path, _) in files.items()}


def ledger_output_files(out: str | Path, name: str) -> dict[str, tuple[Path, Recognise]]:
    """The files :meth:`LedgerCalibration.write` writes for calibrated scenario
    ``name``, each with how an earlier one of forcegen's is recognised."""
    folder = Path(out)
    return {
        "scenario": (folder / f"{name}.yaml", _is_calibrated_yaml),
        "particles": (folder / f"{name}-particles.csv", _is_particles_csv),
        "summary": (folder / f"{name}-posterior.csv", csv_header_is(",".join(SUMMARY_COLUMNS))),
        "fit": (folder / f"{name}-fit.csv", csv_header_is(",".join(CHECK_COLUMNS))),
    }


def check_ledger_outputs(out: str | Path, scenario_name: str, *, force: bool = False) -> None:
    """Refuse (:class:`OutputError`) before calibrating when the files could not be
    written into ``out`` (see :func:`check_outputs`)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    for path, recognise in ledger_output_files(folder, calibrated_name(scenario_name)).values():
        check_file_target(path, force=force, recognise=recognise)


def calibrate_ledger(
    resolved: Resolved,
    observations: str | Path,
    *,
    cutoff: dt.date | None = None,
    params: list[str] | None = None,
    max_params: int = 6,
    particles: int = PARTICLES,
    populations: int = POPULATIONS,
    moves: int = MIN_MOVES,
    max_moves: int = MAX_MOVES,
    budget: int = 200_000,
    seed: int = 0,
    mode: Mode = "mean-field",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> LedgerCalibration:
    """Calibrate ``resolved``'s scenario to its usable rows (known by ``cutoff``) with
    :func:`~forcegen.observations.smc.smc_calibrate`, summarise the posterior and
    check the training rows against the posterior predictive.

    Raises:
        UsageError: No usable row (known by the cut-off), or bad arguments.
    """
    import time

    start = time.perf_counter()
    train = training_rows(resolved, cutoff)
    if not train.measurements:
        when = f" known by {cutoff}" if cutoff else ""
        raise UsageError(
            f"no usable observation{when} in {observations} for {resolved.scenario.name}"
        )
    with dask_client(workers, scheduler) as client:
        post = smc_calibrate(
            train,
            params=params,
            max_params=max_params,
            particles=particles,
            populations=populations,
            moves=moves,
            max_moves=max_moves,
            budget=budget,
            seed=seed,
            mode=mode,
            client=client,
            progress=progress,
        )
        scen = train.scenario
        n = post.particles.shape[0]
        # The posterior predictive of the training rows: each particle's trajectory,
        # its own factors, before-start rates and discrepancy, and fresh errors.
        flows = simulate_design(
            through_day(scen, train.last_day),
            n,
            post.parameter_quantiles(),
            Truth.of(train).flows,
            seed=int(np.random.SeedSequence([seed, 63]).generate_state(1)[0]),
            mode=mode,
            client=client,
        )
    rng = np.random.default_rng([seed, 64])
    repeats = max(1, math.ceil(PREDICTIVE_DRAWS / n))
    predictive = predictive_draws(
        train,
        np.repeat(flows, repeats, axis=0),
        rng,
        posterior=_repeat(post.draws(train), repeats),
    )
    fit = score_table(train.measurements, predictive)
    summary, fitted = _ledger_summary(post)
    notes = [
        "the other uncertain parameters were held at their expected values: the posterior "
        "is conditional on them, and runs of the calibrated scenario hold them there too"
    ]
    outside = int((~fit["inside90"]).sum())
    if outside:
        notes.append(
            f"{outside} of {len(fit)} training rows fall outside their posterior predictive "
            "90 % band: the model cannot reproduce them (listed in the fit table)"
        )
    if post.discrepancy:
        tau = MAX_DISCREPANCY * np.median(post.particles[:, -1])
        notes.append(
            f"model discrepancy: median {tau:.2f} (log-scale sd added to every row's error; "
            "what the model misses beyond the sources' stated errors)"
        )
    dropped = len(resolved.measurements) - len(train.measurements)
    if dropped:
        notes.append(f"{dropped} usable rows known after {cutoff} were left out")
    return LedgerCalibration(
        posterior=post,
        observations=str(observations),
        cutoff=cutoff,
        summary=summary,
        fitted=fitted,
        fit=fit,
        notes=notes,
        elapsed_seconds=time.perf_counter() - start,
    )


def _repeat(draws: PosteriorDraws, repeats: int) -> PosteriorDraws:
    return PosteriorDraws(
        np.repeat(draws.factors, repeats, axis=0),
        np.repeat(draws.offsets, repeats, axis=0),
        None if draws.discrepancy is None else np.repeat(draws.discrepancy, repeats),
    )


def _ledger_summary(
    post: LedgerPosterior,
) -> tuple[pd.DataFrame, dict[str, list[tuple[float, float, float, float] | None]]]:
    """Prior and posterior of parameters and factor groups (as for ABC-SMC), then of
    before-start rates and the discrepancy."""
    resolved = post.resolved
    scen = resolved.scenario
    refs = resolve_parameters(scen, post.parameters)
    k, g = len(refs), len(resolved.groups)
    weights = np.full(post.particles.shape[0], 1.0 / post.particles.shape[0])
    lo, hi = _group_ranges(resolved)
    theta = post.particles[:, : k + g]
    table, fitted = _summarise(scen, refs, theta, weights, resolved.groups, lo, hi)
    extra: list[dict[str, Any]] = []
    olo, ohi = _offset_ranges(resolved)
    for j, term in enumerate(resolved.offsets):
        values = olo[j] + (ohi[j] - olo[j]) * post.particles[:, k + g + j]
        extra.append(
            _uniform_row(
                f"before:{term}",
                "people/day",
                olo[j],
                ohi[j],
                values,
                resolved.mapping.before_start[term].why,
            )
        )
    if post.discrepancy:
        values = MAX_DISCREPANCY * post.particles[:, -1]
        extra.append(
            _uniform_row(
                DISCREPANCY,
                "log-scale sd",
                0.0,
                MAX_DISCREPANCY,
                values,
                "model discrepancy (not written to the scenario)",
            )
        )
    if extra:
        frame = pd.DataFrame(extra)
        frame["shrinkage"] = 1.0 - (frame["post_q95"] - frame["post_q05"]) / (
            frame["prior_q95"] - frame["prior_q05"]
        )
        table = pd.concat([table, frame[list(table.columns)]], ignore_index=True)
    return table[list(SUMMARY_COLUMNS)], fitted


def _uniform_row(
    name: str, unit: str, low: float, high: float, values: FloatArray, why: str
) -> dict[str, Any]:
    q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    return {
        "parameter": name,
        "step": "",
        "unit": unit,
        "prior": f"uniform({low:g}, {high:g})",
        "prior_mean": 0.5 * (low + high),
        "prior_q05": low + 0.05 * (high - low),
        "prior_q95": low + 0.95 * (high - low),
        "post_mean": float(np.mean(values)),
        "post_median": float(q50),
        "post_q05": float(q05),
        "post_q95": float(q95),
        "fitted": "",
        "fit_ks": math.nan,
        "evidence": why,
    }
