"""Uncertain parameters: point values, distributions and dated series, with their sources.

Every numeric input of a scenario is a :class:`Param`. In YAML it may be written as

* a bare number (``180``) — a point value with no stated source;
* a mapping: ``{value: 180}``, ``{range: [150, 210]}`` (uniform),
  ``{dist: triangular, low: 1, mode: 2, high: 4}``,
  ``{dist: normal, mean: 0, sd: 1, low: -2, high: 2}`` (truncated to the bounds),
  ``{dist: lognormal, median: 0.001, p95: 0.004}``, ``{dist: beta, alpha: 2, beta: 8}``;
* a dated series of those: ``{series: [{from: 2022-08-01, value: 300}, ...]}``;

and any mapping may carry ``evidence: [claim-id, ...]`` (ledger claims it rests on)
and/or ``assumption: "one-line rationale"``.

Sampling contract: each uncertain parameter is driven by **one** uniform quantile
``u`` per replicate; its value is the inverse CDF at ``u``. By default all steps of a
dated series share that ``u`` (they move together), so a series is one uncertain input
to sensitivity analysis and calibration, not many. A series may state
``step_correlation: rho`` (0 … 1): the rank correlation between the values of any two
of its steps, through a Gaussian copula whose common factor is ``u``
(:func:`forcegen.engine.series_steps.step_quantiles`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PrivateAttr,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = [
    "Distribution",
    "Param",
    "SeriesStep",
]

FloatArray = NDArray[np.float64]


def _stats() -> Any:
    """``scipy.stats``, imported when a distribution needs it: the import takes ~0.6 s,
    which every command paid at start-up when it was imported with this module."""
    from scipy import stats

    return stats


# scipy.stats.norm.ppf(0.95) to the last bit (tests/report/test_report_speed.py): a
# lognormal's p95 is median·exp(σ·z95), and validating a scenario or describing a
# parameter should not import scipy.stats (~0.6 s) for this one number.
_Z95 = 1.6448536269514722

DistName = Literal["fixed", "uniform", "triangular", "normal", "lognormal", "beta"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A resolved one-dimensional distribution, sampled through its inverse CDF."""

    name: DistName
    a: float = 0.0
    b: float = 0.0
    c: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    @property
    def is_uncertain(self) -> bool:
        """False for a point value."""
        return self.name != "fixed"

    def ppf(self, u: FloatArray) -> FloatArray:
        """Inverse CDF: the values at quantiles ``u`` (in the open interval (0, 1))."""
        u = np.asarray(u, dtype=np.float64)
        match self.name:
            case "fixed":
                return np.full(u.shape, self.a)
            case "uniform":
                return self.low + (self.high - self.low) * u
            case "triangular":
                width = self.high - self.low
                if width == 0:
                    return np.full(u.shape, self.low)
                c = (self.a - self.low) / width
                return np.asarray(_stats().triang.ppf(u, c, loc=self.low, scale=width))
            case "normal":
                return np.asarray(self._truncnorm().ppf(u))
            case "lognormal":
                return np.asarray(self.a * np.exp(self.b * _stats().norm.ppf(u)))
            case "beta":
                return np.asarray(_stats().beta.ppf(u, self.a, self.b))
        raise AssertionError(self.name)  # pragma: no cover

    def _truncnorm(self) -> Any:
        mean, sd = self.a, self.b
        return _stats().truncnorm(
            (self.low - mean) / sd, (self.high - mean) / sd, loc=mean, scale=sd
        )

    @property
    def mean(self) -> float:
        """Expected value."""
        match self.name:
            case "fixed":
                return self.a
            case "uniform":
                return 0.5 * (self.low + self.high)
            case "triangular":
                return (self.low + self.a + self.high) / 3.0
            case "normal":
                return float(self._truncnorm().mean())
            case "lognormal":
                return self.a * math.exp(0.5 * self.b**2)
            case "beta":
                return self.a / (self.a + self.b)
        raise AssertionError(self.name)  # pragma: no cover

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can take."""
        if self.name == "fixed":
            return (self.a, self.a)
        return (self.low, self.high)

    def describe(self) -> str:
        """Short human-readable form, e.g. ``uniform(150, 210)``."""
        match self.name:
            case "fixed":
                return f"{self.a:g}"
            case "uniform":
                return f"uniform({self.low:g}, {self.high:g})"
            case "triangular":
                return f"triangular({self.low:g}, {self.a:g}, {self.high:g})"
            case "normal":
                return f"normal({self.a:g}, sd={self.b:g}) in [{self.low:g}, {self.high:g}]"
            case "lognormal":
                p95 = self.a * math.exp(self.b * _Z95)
                return f"lognormal(median={self.a:g}, p95={p95:g})"
            case "beta":
                return f"beta({self.a:g}, {self.b:g})"
        raise AssertionError(self.name)  # pragma: no cover


_NEEDS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "p95"),
    "beta": ("alpha", "beta"),
}
_ALLOWED: dict[str, frozenset[str]] = {
    "fixed": frozenset({"value"}),
    "uniform": frozenset({"low", "high"}),
    "triangular": frozenset({"low", "mode", "high"}),
    "normal": frozenset({"mean", "sd", "low", "high"}),
    "lognormal": frozenset({"median", "p95"}),
    "beta": frozenset({"alpha", "beta"}),
}
_SHAPE_FIELDS = ("value", "low", "high", "mode", "mean", "sd", "median", "p95", "alpha", "beta")


class _DistFields(BaseModel):
    """The flat YAML fields that describe one distribution."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    dist: DistName | None = Field(
        default=None,
        description="Distribution name; implied by `value` (fixed) or `range` (uniform).",
    )
    value: float | None = Field(default=None, description="Point value.")
    range: tuple[float, float] | None = Field(
        default=None, description="Shorthand for a uniform distribution: [low, high]."
    )
    low: float | None = Field(default=None, description="Lower bound.")
    high: float | None = Field(default=None, description="Upper bound.")
    mode: float | None = Field(default=None, description="Most likely value (triangular).")
    mean: float | None = Field(default=None, description="Mean (normal).")
    sd: float | None = Field(default=None, description="Standard deviation (normal), > 0.")
    median: float | None = Field(default=None, description="Median (lognormal), > 0.")
    p95: float | None = Field(default=None, description="95th percentile (lognormal).")
    alpha: float | None = Field(default=None, description="First shape parameter (beta), > 0.")
    beta: float | None = Field(default=None, description="Second shape parameter (beta), > 0.")

    _resolved: Distribution | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _resolve(self) -> _DistFields:
        self._resolved = _build_distribution(self)
        return self

    @property
    def distribution(self) -> Distribution:
        """The resolved distribution."""
        assert self._resolved is not None
        return self._resolved


def _build_distribution(f: _DistFields) -> Distribution:
    """Turn the flat fields into a :class:`Distribution`, or raise ``ValueError`` saying
    which fields a distribution of that kind needs."""
    given = {k for k in _SHAPE_FIELDS if getattr(f, k) is not None}
    low, high = f.low, f.high
    name: str | None = f.dist
    if f.range is not None:
        if low is not None or high is not None:
            raise ValueError("give either range: [low, high] or low/high, not both")
        if name not in (None, "uniform"):
            raise ValueError(f"range: [low, high] means a uniform distribution, not {name}")
        name = "uniform"
        low, high = f.range
        given |= {"low", "high"}
    if name is None:
        if "value" in given:
            name = "fixed"
        else:
            raise ValueError(
                "expected a number, `value: X`, `range: [low, high]`, or `dist:` with its "
                "fields (fixed, uniform, triangular, normal, lognormal, beta)"
            )
    missing = [k for k in _NEEDS[name] if k not in given]
    if missing:
        need = ", ".join(_NEEDS[name])
        raise ValueError(f"{name} distribution needs {need}; missing {', '.join(missing)}")
    extra = sorted(given - _ALLOWED[name])
    if extra:
        raise ValueError(f"{name} distribution does not take {', '.join(extra)}")
    match name:
        case "fixed":
            assert f.value is not None
            return Distribution("fixed", a=f.value, low=f.value, high=f.value)
        case "uniform":
            assert low is not None
            assert high is not None
            if not low <= high:
                raise ValueError(f"low ({low:g}) must not exceed high ({high:g})")
            return Distribution("uniform", low=low, high=high)
        case "triangular":
            assert low is not None
            assert high is not None
            assert f.mode is not None
            if not low <= f.mode <= high:
                raise ValueError(f"expected low <= mode <= high, got {low:g}, {f.mode:g}, {high:g}")
            return Distribution("triangular", a=f.mode, low=low, high=high)
        case "normal":
            assert f.mean is not None
            assert f.sd is not None
            if not f.sd > 0:
                raise ValueError(f"sd must be > 0, got {f.sd:g}")
            lo = -math.inf if low is None else low
            hi = math.inf if high is None else high
            if not lo < hi:
                raise ValueError(f"low ({lo:g}) must be below high ({hi:g})")
            return Distribution("normal", a=f.mean, b=f.sd, low=lo, high=hi)
        case "lognormal":
            assert f.median is not None
            assert f.p95 is not None
            if not 0 < f.median < f.p95:
                raise ValueError(
                    f"expected 0 < median < p95, got median {f.median:g}, p95 {f.p95:g}"
                )
            sigma = math.log(f.p95 / f.median) / _Z95
            return Distribution("lognormal", a=f.median, b=sigma, low=0.0, high=math.inf)
        case "beta":
            assert f.alpha is not None
            assert f.beta is not None
            if not (f.alpha > 0 and f.beta > 0):
                raise ValueError(f"alpha and beta must be > 0, got {f.alpha:g}, {f.beta:g}")
            return Distribution("beta", a=f.alpha, b=f.beta, low=0.0, high=1.0)
    raise AssertionError(name)  # pragma: no cover


def _number_or_mapping(raw: Any) -> Any:
    if isinstance(raw, bool):
        raise ValueError("expected a number or a parameter mapping, got a boolean")
    if isinstance(raw, int | float):
        return {"value": raw}
    return raw


class SeriesStep(_DistFields):
    """One step of a dated series: its distribution applies from ``from`` until the next step."""

    from_date: dt.date = Field(alias="from", description="First day this step applies.")

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, raw: Any) -> Any:
        return _number_or_mapping(raw)


class Param(_DistFields):
    """An uncertain numeric input with its sources.

    Either a single distribution (flat fields) or ``series`` (a dated series of
    distributions). Units are given by the name of the field holding the parameter
    (``term_days``, ``salary_per_month``, ``killed_per_day``...).
    """

    series: list[SeriesStep] | None = Field(
        default=None,
        min_length=1,
        description="Dated steps; before the first step its value applies.",
    )
    evidence: list[str] = Field(
        default_factory=list, description="Ids of ledger claims this value rests on."
    )
    assumption: str | None = Field(
        default=None,
        description="One-line rationale when the value is an assumption, not a sourced claim.",
    )
    note: str | None = Field(default=None, description="Remark shown in reports.")
    step_correlation: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Series only: rank (Spearman) correlation between the values of any "
        "two steps, 0 (independent) to 1 (one shared quantile, the default) [share]",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_number(cls, raw: Any) -> Any:
        return _number_or_mapping(raw)

    @model_validator(mode="wrap")
    @classmethod
    def _series_or_dist(cls, raw: Any, handler: Any) -> Any:
        # A series carries no distribution fields of its own; skip _resolve for it.
        if isinstance(raw, dict) and "series" in raw:
            shape = sorted(k for k in raw if k in _SHAPE_FIELDS or k in ("dist", "range"))
            if shape:
                raise ValueError(
                    f"a series parameter takes its values in its steps, not {', '.join(shape)}"
                )
        return handler(raw)

    @model_validator(mode="after")
    def _resolve(self) -> Param:
        if self.step_correlation is not None and self.series is None:
            raise ValueError("step_correlation applies to a dated series (`series:`) only")
        if self.series is not None:
            dates = [s.from_date for s in self.series]
            for a, b in itertools.pairwise(dates):
                if not a < b:
                    raise ValueError(f"series dates must increase: {b} does not follow {a}")
            self._resolved = None
            return self
        self._resolved = _build_distribution(self)
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        object_schema = handler(schema)
        return {"anyOf": [{"type": "number"}, object_schema]}

    # -- queries -----------------------------------------------------------------------
    @property
    def distributions(self) -> list[Distribution]:
        """Every distribution in the parameter (one, or one per series step)."""
        if self.series is not None:
            return [s.distribution for s in self.series]
        return [self.distribution]

    @property
    def is_sourced(self) -> bool:
        """True when the value cites at least one claim or states an assumption."""
        return bool(self.evidence) or self.assumption is not None

    @property
    def is_uncertain(self) -> bool:
        """True when any of its distributions is not a point value."""
        return any(d.is_uncertain for d in self.distributions)

    @property
    def is_series(self) -> bool:
        """True for a dated series."""
        return self.series is not None

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value any step can take."""
        bounds = [d.support for d in self.distributions]
        return (min(b[0] for b in bounds), max(b[1] for b in bounds))

    def values(self, u: FloatArray) -> FloatArray:
        """Values at quantiles ``u``: shape ``u.shape`` for a single distribution, or
        ``u.shape + (n_steps,)`` for a series."""
        if self.series is None:
            return self.distribution.ppf(u)
        return np.stack([d.ppf(u) for d in self.distributions], axis=-1)

    def expected(self) -> FloatArray:
        """Means (one per series step, or a single one), for runs without sampling."""
        return np.array([d.mean for d in self.distributions])

    @property
    def steps_move_together(self) -> bool:
        """True when every step is driven by the one quantile (no ``step_correlation``
        below 1, or a single distribution)."""
        return self.step_correlation is None or self.step_correlation >= 1.0

    def step_values(self, u: FloatArray) -> FloatArray:
        """Values of a series at per-step quantiles ``u`` of shape ``(..., n_steps)``."""
        return np.stack([d.ppf(u[..., k]) for k, d in enumerate(self.distributions)], axis=-1)

    def step_dates(self) -> list[dt.date]:
        """Start dates of the series steps (empty for a single distribution)."""
        return [] if self.series is None else [s.from_date for s in self.series]

    def describe(self) -> str:
        """Short human-readable form of the value or series."""
        if self.series is None:
            return self.distribution.describe()
        return "; ".join(f"from {s.from_date}: {s.distribution.describe()}" for s in self.series)

    @classmethod
    def point(cls, value: float, assumption: str | None = None) -> Param:
        """A point-valued parameter built in code (tests, solvers)."""
        return cls(value=value, assumption=assumption)
