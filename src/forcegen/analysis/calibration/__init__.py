"""Calibration to observed data: which parameter values are consistent with what was seen.

Method (see ``docs/calibration.md`` for the justification of each choice):

* **Data**: a CSV of observations (:func:`load_observed`), each a value of an output
  series on a date, with an optional stated interval and an **observation model** per
  observed series: ``exact``; ``count:A..B`` (observed = fraction × true, fraction
  uniform on [A, B] — e.g. counted deaths are a fraction of true deaths); or
  ``claim:A..B`` (observed = true × factor, factor uniform on [A, B] — a claimant's
  inflation or understatement). The fraction or factor is an extra unknown, inferred
  with the parameters.
* **Error model**: on a log scale, ``log(observed) = log(factor × simulated) + e``
  with ``e ~ Normal(0, s²)``; ``[low, high]`` is read as the 95 % interval,
  ``s = ln(high/low) / (2 × 1.96)``; rows without an interval get ``default_log_sd``.
* **Inference**: pyabc ABC-SMC with its *stochastic acceptor* and a normal kernel equal
  to that error model, tempered down to temperature 1 — at temperature 1 this samples
  the exact posterior of the stated error model (Wilkinson 2013), not an
  ε-approximation.
* **Priors** are the scenario's own distributions: every calibrated parameter is
  sampled as its quantile ``u`` ~ Uniform(0, 1) and mapped through its inverse CDF by
  the engine (``Sim(given_quantiles=...)``).
* **Batching**: a custom pyabc sampler collects a whole batch of proposals, simulates
  them as the replicates of one :class:`~forcegen.sim.Sim` run, and then lets pyabc
  evaluate them one by one (:class:`_BatchSampler`), reproducibly from the seed.
* **Other uncertain parameters** are held at their expected values
  (``others="expected"``, default: the posterior is conditional on them) or drawn from
  their priors in every simulation (``others="prior"``: marginal, much costlier).

The posterior is written back as a new scenario (:meth:`CalibrationResult.write_scenario`):
each calibrated parameter becomes a normal distribution truncated to its prior support,
fitted to the posterior sample by weighted maximum likelihood.

Modules (each one job; imports run one way, top to bottom):

* :mod:`.common`: shared types and small helpers;
* :mod:`.observed`: the observed-data CSV and the simulated value of each observation;
* :mod:`.synthetic`: synthetic observations from known values, for validation;
* :mod:`.diagnostics`: whether a posterior can be trusted, its summary and
  posterior predictive check;
* :mod:`.figures` and :mod:`.outputs`: :class:`CalibrationResult` and what it writes;
* :mod:`.abc_batch` and :mod:`.inference`: the pyabc run.

This package re-exports the public names, so ``from forcegen.analysis.calibration
import calibrate`` works as it did when it was one module.
"""

from forcegen.analysis.calibration.common import FloatArray, Others, Progress
from forcegen.analysis.calibration.diagnostics import (
    MIN_ESS_SHARE,
    diagnostic_failures,
    fit_truncated_normal,
)
from forcegen.analysis.calibration.inference import calibrate, screen_parameters
from forcegen.analysis.calibration.observed import (
    OBSERVED_COLUMNS,
    OBSERVED_SERIES,
    ObservationModel,
    ObservedData,
    ObservedRow,
    load_observed,
)
from forcegen.analysis.calibration.observed import (
    _Observables as _Observables,
)
from forcegen.analysis.calibration.outputs import (
    FIT_COLUMNS,
    POSTERIOR_MARKER,
    SUMMARY_COLUMNS,
    CalibrationResult,
    calibrated_name,
    check_outputs,
    output_files,
)
from forcegen.analysis.calibration.synthetic import (
    SyntheticSeries,
    synthetic_observations,
    write_observed,
)

__all__ = [
    "FIT_COLUMNS",
    "MIN_ESS_SHARE",
    "OBSERVED_COLUMNS",
    "OBSERVED_SERIES",
    "POSTERIOR_MARKER",
    "SUMMARY_COLUMNS",
    "CalibrationResult",
    "FloatArray",
    "ObservationModel",
    "ObservedData",
    "ObservedRow",
    "Others",
    "Progress",
    "SyntheticSeries",
    "calibrate",
    "calibrated_name",
    "check_outputs",
    "diagnostic_failures",
    "fit_truncated_normal",
    "load_observed",
    "output_files",
    "screen_parameters",
    "synthetic_observations",
    "write_observed",
]
