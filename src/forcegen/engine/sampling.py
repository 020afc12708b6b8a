"""Parameter values per replicate: sampled quantiles, expected values or given values.

A :class:`ParameterSet` maps each parameter's readable name (see
:mod:`forcegen.scenario.walk`) to its values for a block of replicates: shape ``(R,)``
for a single distribution, ``(R, steps)`` for a dated series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from forcegen.engine.series_steps import step_quantiles
from forcegen.engine.streams import BLOCK_SIZE, PARAMETER_DOMAIN, stream
from forcegen.errors import UsageError
from forcegen.scenario.bounds import SAMPLED_QUANTILE
from forcegen.scenario.model import Scenario
from forcegen.scenario.params import Param
from forcegen.scenario.walk import ParamRef, iter_params

__all__ = ["ParameterSet", "sample_block", "uncertain_parameters"]

FloatArray = NDArray[np.float64]

# Quantiles are kept off 0 and 1 so unbounded distributions give finite values; the
# scenario checks test every value up to the same quantile.
_U_EPS = SAMPLED_QUANTILE


@dataclass(frozen=True)
class ParameterSet:
    """Values of every scenario parameter for one block of replicates.

    Attributes:
        values: Parameter name → array ``(R,)`` or ``(R, steps)``.
        quantiles: Name → the uniform quantiles ``(R,)`` used, for uncertain parameters
            that were sampled (empty when sampling is off).
    """

    values: dict[str, FloatArray]
    quantiles: dict[str, FloatArray] = field(default_factory=dict)

    def get(self, ref: ParamRef) -> FloatArray:
        """Values of one parameter."""
        return self.values[ref.name]


def uncertain_parameters(scenario: Scenario) -> list[ParamRef]:
    """Parameters whose value is a distribution rather than a point (the inputs that
    sensitivity analysis and calibration act on), in document order."""
    return [ref for ref in iter_params(scenario) if ref.param.is_uncertain]


def sample_block(
    scenario: Scenario,
    *,
    seed: int,
    block: int,
    sample: bool,
    given: Mapping[str, FloatArray] | None = None,
    given_quantiles: Mapping[str, FloatArray] | None = None,
) -> ParameterSet:
    """Parameter values for replicates ``block*BLOCK_SIZE … (block+1)*BLOCK_SIZE - 1``.

    Args:
        scenario: The scenario.
        seed: The run's seed.
        block: Block index.
        sample: Draw each uncertain parameter from its distribution (one quantile per
            replicate, shared by the steps of a series unless it states a
            ``step_correlation`` below 1); otherwise use expected values.
        given: Name → values for *all* replicates of the run (shape ``(runs,)`` or
            ``(runs, steps)``), overriding sampling — used by sensitivity analysis,
            calibration and solvers. Arrays shorter than the block are padded with
            their last value (padding replicates are discarded by the caller).
        given_quantiles: Name → quantiles in (0, 1) for all replicates, shape ``(runs,)``;
            the value is the parameter's inverse CDF there (works for series too; a
            series with a ``step_correlation`` below 1 takes it as its common factor).
    """
    refs = list(iter_params(scenario))
    known = {ref.name for ref in refs}
    for mapping in (given, given_quantiles):
        unknown = sorted(set(mapping or {}) - known)
        if unknown:
            raise UsageError(f"unknown parameter name(s): {', '.join(unknown)}")
    values: dict[str, FloatArray] = {}
    quantiles: dict[str, FloatArray] = {}
    lo, hi = block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE
    for ref in refs:
        if given and ref.name in given:
            values[ref.name] = _block_slice(np.asarray(given[ref.name], dtype=np.float64), lo, hi)
            continue
        param = ref.param
        if given_quantiles and ref.name in given_quantiles:
            u = _block_slice(np.asarray(given_quantiles[ref.name], dtype=np.float64), lo, hi)
            u = np.clip(u, _U_EPS, 1.0 - _U_EPS)
            quantiles[ref.name] = u
            values[ref.name] = _values_at(param, u, seed, block, ref.name)
        elif sample and param.is_uncertain:
            u = stream(seed, PARAMETER_DOMAIN, block, ref.name).random(BLOCK_SIZE)
            u = np.clip(u, _U_EPS, 1.0 - _U_EPS)
            quantiles[ref.name] = u
            values[ref.name] = _values_at(param, u, seed, block, ref.name)
        else:
            expected = param.expected()
            shape = (BLOCK_SIZE,) if not param.is_series else (BLOCK_SIZE, expected.size)
            values[ref.name] = np.broadcast_to(
                expected if param.is_series else expected[0], shape
            ).copy()
    return ParameterSet(values=values, quantiles=quantiles)


def _values_at(param: Param, u: FloatArray, seed: int, block: int, name: str) -> FloatArray:
    """Values at the parameter's quantiles ``u``; the steps of a series with a
    ``step_correlation`` below 1 get their own quantiles around ``u`` (a Gaussian
    copula, :mod:`forcegen.engine.series_steps`), from a stream of their own so that the
    series' quantile ``u`` and every other parameter keep theirs."""
    if param.steps_move_together:
        return param.values(u)
    assert param.step_correlation is not None
    steps = len(param.distributions)
    noise = stream(seed, PARAMETER_DOMAIN, block, f"{name}#steps").standard_normal(
        (u.shape[0], steps)
    )
    return param.step_values(step_quantiles(u, param.step_correlation, noise, _U_EPS))


def _block_slice(full: FloatArray, lo: int, hi: int) -> FloatArray:
    part = full[lo:hi]
    if part.shape[0] == 0:
        part = full[-1:]
    if part.shape[0] < hi - lo:
        pad = np.repeat(part[-1:], hi - lo - part.shape[0], axis=0)
        part = np.concatenate([part, pad], axis=0)
    return part
