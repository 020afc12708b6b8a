"""The result of a calibration (:class:`CalibrationResult`) and what it writes: the
calibrated scenario, the summary and fit tables, the posterior sample beside the
scenario and the figures, each replaced only when forcegen wrote it."""

from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from forcegen.analysis.posterior_runs import MARKER
from forcegen.analysis.sensitivity import (
    resolve_parameters,
)
from forcegen.engine.simulate import Mode
from forcegen.errors import OutputError, UsageError
from forcegen.results.outputs import (
    Recognise,
    atomic_file,
    check_file_target,
    csv_header_is,
    figure_metadata,
    has_marker,
    looks_like_forcegen_figure,
)
from forcegen.safetext import csv_safe
from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Distribution
from forcegen.scenario.walk import ParamRef

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from forcegen.analysis.calibration.common import FloatArray, Others, _sig, _steps
from forcegen.analysis.calibration.diagnostics import diagnostic_failures
from forcegen.analysis.calibration.figures import _fit_figure, _posterior_figure
from forcegen.analysis.calibration.observed import ObservedData


@dataclass
class CalibrationResult:
    """Posterior of the calibrated parameters, fit diagnostics and the calibrated scenario.

    Attributes:
        scenario: The scenario calibrated (priors).
        observed: The observations.
        parameters: Names of the calibrated scenario parameters.
        factors: Observed-series labels whose count fraction / claim factor was inferred.
        particles: Final ABC population in quantile space, one column per parameter
            name and per ``factor:<label>`` (the factor's quantile on its prior range).
        weights: Normalised importance weights of the particles.
        summary: One row per calibrated parameter (and per uncertain step of a dated
            series; ``step`` is its start date) and per factor: ``prior``, prior and
            posterior mean, median, 5 % and 95 % quantiles (parameter units), the
            fitted distribution written to the scenario and its KS distance to the
            posterior sample, and the evidence the parameter rested on.
        fit: One row per observation: observed value and interval, model, posterior
            predictive median and 5–95 % interval *including* observation error, and
            whether the observation lies inside it.
        bands: Posterior predictive bands of each observed series by day (factor
            applied, observation error not): columns ``group``, ``date``, ``q05``,
            ``q25``, ``q50``, ``q75``, ``q95``.
        temperatures: Temperature of each ABC-SMC generation (1 = exact posterior).
        simulations: Model simulations run (each one replicate).
        evaluations: Particles pyabc evaluated (simulations minus unused ones).
        ess: Effective sample size of the final population.
        seed, mode, others: Settings of the run.
        screening: Morris screening table when the parameters were chosen
            automatically, else None.
        notes: Caveats to show with the posterior.
        elapsed_seconds: Wall time.
    """

    scenario: Scenario
    observed: ObservedData
    parameters: list[str]
    factors: list[str]
    particles: pd.DataFrame
    weights: FloatArray
    summary: pd.DataFrame
    fit: pd.DataFrame
    bands: pd.DataFrame
    temperatures: list[float]
    simulations: int
    evaluations: int
    ess: float
    seed: int
    mode: Mode
    others: Others
    default_log_sd: float
    fitted: dict[str, list[tuple[float, float, float, float] | None]]
    screening: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def final_temperature(self) -> float:
        """Temperature of the final population; 1 means the exact posterior of the
        stated error model, above 1 a tempered (wider) approximation."""
        return self.temperatures[-1] if self.temperatures else math.inf

    @property
    def name(self) -> str:
        """Name of the calibrated scenario: ``<scenario>-calibrated``."""
        return calibrated_name(self.scenario.name)

    def diagnostic_failures(self) -> list[str]:
        """Why this posterior cannot be trusted, with what to try; empty when the
        final temperature is 1 and the effective sample size is at least
        :data:`MIN_ESS_SHARE` of the population."""
        return diagnostic_failures(self.final_temperature, self.ess, len(self.weights))

    @property
    def forced(self) -> bool:
        """Whether the calibrated scenario is written although diagnostics failed
        (set by :meth:`write` with ``allow_failed``); every report made from it says so."""
        return self._forced

    _forced: bool = field(default=False, init=False, repr=False)

    # -- calibrated scenario -----------------------------------------------------------
    def scenario_document(self) -> dict[str, Any]:
        """The calibrated scenario as plain data (what :meth:`to_yaml` writes).

        The original scenario with ledger claims inlined (so the file stands alone),
        named ``<name>-calibrated``; each calibrated parameter is replaced by a normal
        distribution truncated to its prior's support, fitted to the posterior, keeping
        its ``evidence`` and ``assumption`` and with a ``note`` naming the data used.
        """
        data_name = Path(self.observed.path).name
        description = (
            f"Calibrated to {data_name} ({len(self.observed.rows)} observations of "
            f"{', '.join(self.observed.groups)}) by ABC-SMC (pyabc); calibrated "
            f"parameters: {', '.join(self.parameters)}."
        )
        method = (
            f"{data_name} ({', '.join(self.observed.groups)}; sources: "
            f"{'; '.join(self.observed.sources)}) by ABC-SMC, final temperature "
            f"{self.final_temperature:.3g}"
        )
        return calibrated_document(
            self.scenario,
            self.parameters,
            self.fitted,
            self.summary,
            description=description,
            method=method,
            failures=self.diagnostic_failures() if self._forced else [],
            forced_by=self._forced_by,
        )

    _forced_by: str = field(default="--accept-failed", init=False, repr=False)

    def particle_values(self) -> pd.DataFrame:
        """The posterior sample in parameter units: ``weight``, then one column per
        calibrated parameter (per step for a dated series: ``name@from``) and per
        factor. Rows are particles, so the columns keep their joint distribution."""
        columns: dict[str, FloatArray] = {"weight": self.weights}
        columns.update(
            parameter_values(
                self.scenario, self.parameters, self.particles.iloc[:, : len(self.parameters)]
            )
        )
        for group in self.factors:
            model = self.observed.models[group]
            u = self.particles[f"factor:{group}"].to_numpy(dtype=np.float64)
            columns[f"factor:{group}"] = model.low + (model.high - model.low) * u
        return pd.DataFrame(columns)

    def to_yaml(self) -> str:
        """The calibrated scenario as YAML text, with a header comment."""
        header = (
            f"# {self.name}: generated by `forcegen calibrate` from scenario "
            f"{self.scenario.name}\n# and observations {self.observed.path}.\n"
            "# Calibrated parameters carry posterior distributions (see their notes);\n"
            "# everything else is the original scenario, ledger claims inlined.\n"
        )
        body = yaml.safe_dump(
            self.scenario_document(), sort_keys=False, allow_unicode=True, width=100
        )
        return header + body

    def write_scenario(self, path: str | Path, *, force: bool = False) -> Path:
        """Write :meth:`to_yaml` to ``path``, whole or not at all; returns it.

        An existing file is replaced only when it is a calibrated scenario forcegen
        wrote (its header comment) or ``force`` is true; else :class:`OutputError`.
        """
        target = Path(path)
        text = self.to_yaml()
        with atomic_file(target, force=force, recognise=_is_calibrated_yaml) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return target

    def calibrated_scenario(self) -> Scenario:
        """The calibrated scenario, validated like any loaded file."""
        from forcegen.scenario.load import load_scenario_text

        return load_scenario_text(self.to_yaml(), f"<{self.name}>")

    # -- figures -----------------------------------------------------------------------
    def posterior_figure(self, path: str | Path | None = None, *, force: bool = False) -> Figure:
        """Prior and posterior density of each calibrated parameter and factor, with the
        fitted distribution written to the scenario (dashed). Saved to ``path`` (PNG,
        SVG or PDF by suffix; an existing file only if forcegen's, or ``force``)."""
        return _posterior_figure(self, path, force)

    def fit_figure(self, path: str | Path | None = None, *, force: bool = False) -> Figure:
        """Each observed series: posterior predictive median and 50 %/90 % bands of the
        observable (factor applied) by day, and the observations with their intervals.
        Saved to ``path`` as :meth:`posterior_figure` is."""
        return _fit_figure(self, path, force)

    def write(
        self,
        out: str | Path,
        *,
        force: bool = False,
        allow_failed: bool = False,
        forced_by: str = "--accept-failed",
    ) -> dict[str, Path]:
        """Write the calibrated scenario, the summaries and both figures into folder
        ``out`` (created if needed): ``<name>.yaml``, ``<name>-posterior.csv``,
        ``<name>-fit.csv``, ``<name>-posterior.png``, ``<name>-fit.png``, and the
        posterior sample itself, ``<name>-particles.csv`` (one row per particle: its
        weight and every calibrated parameter's and factor's value, jointly).

        When the diagnostics fail (:meth:`diagnostic_failures`) nothing is written
        and :class:`UsageError` says why and what to try, unless ``allow_failed``:
        then the scenario's title and description say that it is unreliable (and
        that it was written with ``forced_by``, the option the user gave).

        Other files in ``out`` are left alone. An existing file of one of those names
        is replaced only when forcegen wrote it (or ``force``): otherwise
        :class:`OutputError` before anything is written. The six files are replaced
        together at the end: a failure (full disk, Ctrl-C) while writing them leaves
        every earlier file as it was.
        """
        failures = self.diagnostic_failures()
        if failures and not allow_failed:
            raise UsageError(
                "refusing to write a calibrated scenario from a posterior that failed its "
                "diagnostics: " + "; ".join(failures) + " (or pass --accept-failed to "
                "write it anyway, marked as unreliable)"
            )
        self._forced = bool(failures)
        self._forced_by = forced_by
        files = output_files(out, self.name)
        check_outputs(out, self.scenario.name, force=force)
        text = self.to_yaml()
        figures = {"posterior_figure": self.posterior_figure(), "fit_figure": self.fit_figure()}
        with ExitStack() as stack:
            tmp = {
                what: stack.enter_context(atomic_file(path, force=force, recognise=recognise))
                for what, (path, recognise) in files.items()
            }
            tmp["scenario"].write_text(text, encoding="utf-8")
            # Observation sources and labels are the user's text: a spreadsheet must
            # not evaluate one as a formula.
            csv_safe(self.summary).to_csv(tmp["summary"], index=False)
            csv_safe(self.fit).to_csv(tmp["fit"], index=False)
            # The marker line says how the other parameters were treated, so that runs
            # drawing from the sample treat them alike (analysis/posterior_runs.py).
            with tmp["particles"].open("w", encoding="utf-8", newline="") as handle:
                # A failed posterior written anyway says so here too: runs drawing
                # from the sample warn (posterior_runs.JointDraws.failed).
                status = "; diagnostics=failed" if self._forced else ""
                handle.write(
                    f"{POSTERIOR_MARKER}; others={self.others}; mode={self.mode}{status}\n"
                )
                self.particle_values().to_csv(handle, index=False, lineterminator="\n")
            for what, fig in figures.items():
                fig.savefig(tmp[what], format="png", dpi=110, metadata=figure_metadata("png"))
        return {what: path for what, (path, _) in files.items()}


SUMMARY_COLUMNS: tuple[str, ...] = (
    "parameter",
    "step",
    "unit",
    "prior",
    "prior_mean",
    "prior_q05",
    "prior_q95",
    "post_mean",
    "post_median",
    "post_q05",
    "post_q95",
    "shrinkage",
    "fitted",
    "fit_ks",
    "evidence",
)
"""Columns of :attr:`CalibrationResult.summary` (and of ``<name>-posterior.csv``)."""

FIT_COLUMNS: tuple[str, ...] = (
    "line",
    "date",
    "group",
    "model",
    "observed",
    "low",
    "high",
    "pred_median",
    "pred_q05",
    "pred_q95",
    "inside",
    "source",
)
"""Columns of :attr:`CalibrationResult.fit` (and of ``<name>-fit.csv``)."""

_is_calibrated_yaml = has_marker(b"generated by `forcegen calibrate`")


POSTERIOR_MARKER = MARKER
"""First line of ``<name>-particles.csv`` (see ``forcegen.analysis.posterior_runs``)."""
_is_particles_csv = has_marker(POSTERIOR_MARKER.encode())


def calibrated_name(scenario_name: str) -> str:
    """Name of the calibrated scenario of ``scenario_name``: ``<scenario>-calibrated``
    (the scenario's name shortened so the result is a valid name)."""
    return f"{scenario_name[:53]}-calibrated"


def output_files(out: str | Path, name: str) -> dict[str, tuple[Path, Recognise]]:
    """The files :meth:`CalibrationResult.write` writes into folder ``out`` for the
    calibrated scenario ``name``, each with how an earlier one of forcegen's is
    recognised: the scenario's header comment, the CSV tables' header line (they
    carry no other mark), the figures' metadata."""
    folder = Path(out)
    return {
        "scenario": (folder / f"{name}.yaml", _is_calibrated_yaml),
        "summary": (folder / f"{name}-posterior.csv", csv_header_is(",".join(SUMMARY_COLUMNS))),
        "fit": (folder / f"{name}-fit.csv", csv_header_is(",".join(FIT_COLUMNS))),
        "particles": (folder / f"{name}-particles.csv", _is_particles_csv),
        "posterior_figure": (folder / f"{name}-posterior.png", looks_like_forcegen_figure),
        "fit_figure": (folder / f"{name}-fit.png", looks_like_forcegen_figure),
    }


def check_outputs(out: str | Path, scenario_name: str, *, force: bool = False) -> None:
    """Refuse (:class:`OutputError`) before calibrating when :meth:`CalibrationResult.write`
    could not write into ``out``: a file there of one of its names that forcegen did
    not write (unless ``force``), a folder of such a name, or ``out`` being a file."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {folder}: it is a file, not a folder")
    for path, recognise in output_files(folder, calibrated_name(scenario_name)).values():
        check_file_target(path, force=force, recognise=recognise)


def _node(doc: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    last = path[-1]
    if not isinstance(node[last], dict):
        node[last] = {}
    child: dict[str, Any] = node[last]
    return child


def _dist_document(
    prior: Distribution, fit: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    if fit is None:
        # Only point-valued steps of a dated series are left without a fit.
        assert prior.name == "fixed", prior.describe()
        return {"value": prior.a}
    mean, sd, low, high = fit
    out: dict[str, Any] = {"dist": "normal", "mean": _sig(mean), "sd": _sig(sd)}
    if math.isfinite(low):
        out["low"] = low
    if math.isfinite(high):
        out["high"] = high
    return out


def parameter_values(
    scenario: Scenario, parameters: list[str], quantiles: pd.DataFrame | FloatArray
) -> dict[str, FloatArray]:
    """Calibrated parameters' values (parameter units) from their quantiles, one
    column per parameter (per step for a dated series: ``name@from``), in the layout
    of a posterior sample file (:mod:`forcegen.analysis.posterior_runs`)."""
    u_all = np.asarray(quantiles, dtype=np.float64)
    refs = resolve_parameters(scenario, parameters)
    columns: dict[str, FloatArray] = {}
    for j, ref in enumerate(refs):
        u = np.clip(u_all[:, j], 1e-9, 1 - 1e-9)
        for dist, step in zip(ref.param.distributions, _steps(ref), strict=True):
            key = ref.name if step is None else f"{ref.name}@{step.isoformat()}"
            columns[key] = np.asarray(dist.ppf(u), dtype=np.float64)
    return columns


def calibrated_document(
    scenario: Scenario,
    parameters: list[str],
    fitted: dict[str, list[tuple[float, float, float, float] | None]],
    summary: pd.DataFrame,
    *,
    description: str,
    method: str,
    failures: list[str],
    forced_by: str = "--accept-failed",
) -> dict[str, Any]:
    """A calibrated scenario as plain data: ``scenario`` with its ledger claims inlined
    (the file stands alone), named ``<name>-calibrated``, each calibrated parameter
    replaced by its fitted distribution (``fitted``, from :func:`~forcegen.analysis.
    calibration.diagnostics.summarise`), keeping its evidence and assumption, with a
    note saying it was calibrated to ``method`` (the data and the method).

    ``failures`` non-empty means the posterior failed its diagnostics and is written
    anyway (``forced_by`` names the option): the title and description, which every
    report made from the scenario shows, then say so.
    """
    doc: dict[str, Any] = scenario.model_dump(
        mode="json", by_alias=True, exclude_unset=True, exclude_none=True
    )
    doc["ledger_files"] = []
    doc["claims"] = [c.model_dump(mode="json", exclude_none=True) for c in scenario.claims]
    doc["name"] = calibrated_name(scenario.name)
    doc["title"] = (scenario.title or scenario.name) + " (calibrated)"
    doc["description"] = (
        (scenario.description + " " if scenario.description else "") + description
    ).strip()
    if failures:
        # Title and description are in every report made from the scenario.
        doc["title"] = (
            scenario.title or scenario.name
        ) + f" (calibrated, DIAGNOSTICS FAILED: written with {forced_by})"
        doc["description"] = (
            f"UNRELIABLE CALIBRATION, written with {forced_by} although its diagnostics "
            "failed: " + "; ".join(failures) + ". " + doc["description"]
        )
    refs = {ref.name: ref for ref in resolve_parameters(scenario, parameters)}
    for name in parameters:
        ref = refs[name]
        node = _node(doc, ref.path)
        node.clear()
        row = summary[summary["parameter"] == name].iloc[0]
        node.update(_param_document(ref, fitted[name], row, method))
    return doc


def _param_document(
    ref: ParamRef,
    fits: list[tuple[float, float, float, float] | None],
    row: pd.Series,
    method: str,
) -> dict[str, Any]:
    param = ref.param
    note = (
        f"Calibrated to {method}; posterior fitted as a normal truncated to the "
        f"prior support; prior was {param.describe()}; posterior mean "
        f"{row['post_mean']:.4g}, 5-95% [{row['post_q05']:.4g}, {row['post_q95']:.4g}]."
    )
    if param.note:
        note = param.note.strip() + " " + note
    out: dict[str, Any] = {}
    if param.series is None:
        out.update(_dist_document(param.distribution, fits[0]))
    else:
        steps = []
        for step, fit in zip(param.series, fits, strict=True):
            entry: dict[str, Any] = {"from": step.from_date.isoformat()}
            entry.update(_dist_document(step.distribution, fit))
            steps.append(entry)
        out["series"] = steps
    if param.evidence:
        out["evidence"] = list(param.evidence)
    if param.assumption is not None:
        out["assumption"] = param.assumption
    out["note"] = note
    return out
