"""Runs of a calibrated scenario that draw its calibrated parameters jointly.

``forcegen calibrate`` writes the posterior sample beside the calibrated scenario
(``<name>-particles.csv``: a weight per particle and every calibrated parameter's
value). The scenario file itself can only hold independent distributions, which
lose the posterior's correlations; a run of a scenario file with such a sample beside
it therefore resamples whole particles (by weight, from a stream of the run's seed)
and gives their values to every replicate. The parameters the calibration did not
calibrate are treated as it treated them: held at their expected values when it held
them there (``others=expected``), drawn from their priors when it drew them.

Columns that are not scenario parameters — observation factors (``factor:…``),
before-start rates (``before:…``) and the model discrepancy (``discrepancy``) of a
ledger calibration — are carried along row by row (:attr:`JointDraws.nuisance`), so
that ``forcegen check`` can apply each replicate's own factors.

A built-in scenario finds its sample in the built-in folder
(``<name>-particles.csv`` beside ``<name>.yaml``): a calibrated scenario shipped as a
built-in runs by name from its posterior sample, as its file would.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.errors import Problem, ScenarioError
from forcegen.scenario.model import Scenario
from forcegen.scenario.walk import iter_params

__all__ = [
    "MARKER",
    "JointDraws",
    "joint_draws",
    "joint_for_source",
    "particles_beside",
    "particles_for",
    "read_header",
]

FloatArray = NDArray[np.float64]
MARKER = "# forcegen posterior sample"
"""First line of a posterior sample file; ``others=…`` follows on it."""
NUISANCE_PREFIXES = ("factor:", "before:")
"""Columns of a posterior sample that are not scenario parameters (with
:data:`DISCREPANCY`): observation factors and before-start rates."""
DISCREPANCY = "discrepancy"
"""Column of the model discrepancy τ (log-scale sd) of a ledger calibration."""


def is_nuisance(column: str) -> bool:
    """Whether a posterior sample column is not a scenario parameter (the weight,
    an observation factor, a before-start rate or the model discrepancy)."""
    return column in ("weight", DISCREPANCY) or column.startswith(NUISANCE_PREFIXES)


@dataclass(frozen=True)
class JointDraws:
    """Values of the calibrated parameters for every replicate of a run.

    Attributes:
        path: The posterior sample file.
        given: Parameter name → values per replicate (``(runs,)`` or ``(runs, steps)``).
        sample_others: Whether the other uncertain parameters are drawn from their
            priors (as in a calibration with ``others=prior``) or held at their
            expected values (``others=expected``).
        nuisance: The picked particles' other columns (factors, before-start rates,
            discrepancy), one row per replicate, in the file's units.
        settings: The ``key=value`` settings of the marker line.
    """

    path: Path
    given: dict[str, FloatArray]
    sample_others: bool
    nuisance: pd.DataFrame = field(default_factory=pd.DataFrame)
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether the sample was written although its calibration failed its
        diagnostics (``diagnostics=failed`` on the marker line)."""
        return self.settings.get("diagnostics", "") == "failed"

    def describe(self) -> str:
        """One line for the user."""
        others = (
            "drawn from their priors" if self.sample_others else "held at their expected values"
        )
        text = (
            f"calibrated parameters drawn jointly from the posterior sample {self.path}; "
            f"the other uncertain parameters {others}, as in the calibration"
        )
        if self.failed:
            text += (
                "; WARNING: this posterior FAILED its diagnostics and was written anyway "
                "(unreliable)"
            )
        return text


def particles_beside(scenario_path: str | Path) -> Path | None:
    """The posterior sample written beside a calibrated scenario file, if there is one
    (``X.yaml`` → ``X-particles.csv`` starting with :data:`MARKER`)."""
    path = Path(scenario_path)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return None
    candidate = path.with_name(f"{path.stem}-particles.csv")
    try:
        with candidate.open("r", encoding="utf-8") as handle:
            first = handle.readline()
    except OSError:
        return None
    return candidate if first.startswith(MARKER) else None


def particles_for(source: str | Path) -> Path | None:
    """The posterior sample of a scenario given as a file (:func:`particles_beside`)
    or as a built-in name (``<name>-particles.csv`` in the built-in folder); None
    when it has none. An existing file wins over a built-in name, as when loading."""
    from forcegen.scenario.load import builtin_particles

    text = str(source)
    if isinstance(source, Path) or Path(text).is_file() or text.endswith((".yaml", ".yml")):
        return particles_beside(source)
    if "/" in text or "\\" in text:
        return particles_beside(source)
    found = builtin_particles(text)
    return None if found is None else Path(str(found))


def read_header(path: Path) -> dict[str, str]:
    """The ``key=value`` settings on the marker line."""
    with path.open("r", encoding="utf-8") as handle:
        first = handle.readline().strip()
    return _settings(first)


def _settings(first: str) -> dict[str, str]:
    out = {}
    for part in first[len(MARKER) :].split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def joint_draws(path: Path, scenario: Scenario, runs: int, seed: int) -> JointDraws:
    """Resample ``runs`` particles of the sample at ``path`` by weight.

    Raises:
        ScenarioError: The file does not fit the scenario (unknown parameters,
            missing weights).
    """
    text = path.read_text(encoding="utf-8")
    header = _settings(text.split("\n", 1)[0].strip())
    frame = pd.read_csv(io.StringIO(text), comment=None, skiprows=1)
    if "weight" not in frame.columns or frame.empty:
        raise ScenarioError(
            [Problem(str(path), 2, 1, "weight", "expected a weight column and rows")]
        )
    weights = frame["weight"].to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
        raise ScenarioError([Problem(str(path), 2, 1, "weight", "weights must be >= 0, not all 0")])
    rng = np.random.default_rng([seed, 7301])
    pick = rng.choice(len(weights), size=runs, p=weights / weights.sum())
    refs = {ref.name: ref for ref in iter_params(scenario)}
    columns: dict[str, list[tuple[str, str]]] = {}
    for column in frame.columns:
        if is_nuisance(str(column)):
            continue
        name, _, step = column.partition("@")
        if name not in refs:
            raise ScenarioError(
                [Problem(str(path), 2, 1, column, f"no parameter {name!r} in {scenario.name}")]
            )
        columns.setdefault(name, []).append((step, column))
    given: dict[str, FloatArray] = {}
    for name, parts in columns.items():
        if parts[0][0]:
            # A dated series: one column per step, in step order.
            ordered = sorted(parts)
            values = frame[[c for _, c in ordered]].to_numpy(dtype=np.float64)
            given[name] = values[pick]
        else:
            given[name] = frame[parts[0][1]].to_numpy(dtype=np.float64)[pick]
    others = [c for c in frame.columns if is_nuisance(str(c)) and c != "weight"]
    nuisance = frame[others].iloc[pick].reset_index(drop=True)
    return JointDraws(path, given, header.get("others", "expected") == "prior", nuisance, header)


def joint_for_source(
    source: str | Path, scenario: Scenario, runs: int, seed: int
) -> JointDraws | None:
    """:func:`joint_draws` for a scenario given as a file with a posterior sample
    beside it, or as a built-in name with one in the built-in folder
    (:func:`particles_for`); None for scenarios without one."""
    path = particles_for(source)
    return None if path is None else joint_draws(path, scenario, runs, seed)
