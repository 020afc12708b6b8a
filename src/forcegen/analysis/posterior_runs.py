"""Runs of a calibrated scenario that draw its calibrated parameters jointly.

``forcegen calibrate`` writes the posterior sample beside the calibrated scenario
(``<name>-particles.csv``: a weight per particle and every calibrated parameter's
value). The scenario file itself can only hold independent distributions, which
lose the posterior's correlations; a run of a scenario file with such a sample beside
it therefore resamples whole particles (by weight, from a stream of the run's seed)
and gives their values to every replicate. The parameters the calibration did not
calibrate are treated as it treated them: held at their expected values when it held
them there (``others=expected``), drawn from their priors when it drew them.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    "read_header",
]

FloatArray = NDArray[np.float64]
MARKER = "# forcegen posterior sample"
"""First line of a posterior sample file; ``others=…`` follows on it."""


@dataclass(frozen=True)
class JointDraws:
    """Values of the calibrated parameters for every replicate of a run.

    Attributes:
        path: The posterior sample file.
        given: Parameter name → values per replicate (``(runs,)`` or ``(runs, steps)``).
        sample_others: Whether the other uncertain parameters are drawn from their
            priors (as in a calibration with ``others=prior``) or held at their
            expected values (``others=expected``).
    """

    path: Path
    given: dict[str, FloatArray]
    sample_others: bool

    def describe(self) -> str:
        """One line for the user."""
        others = (
            "drawn from their priors" if self.sample_others else "held at their expected values"
        )
        return (
            f"calibrated parameters drawn jointly from the posterior sample {self.path}; "
            f"the other uncertain parameters {others}, as in the calibration"
        )


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


def read_header(path: Path) -> dict[str, str]:
    """The ``key=value`` settings on the marker line."""
    with path.open("r", encoding="utf-8") as handle:
        first = handle.readline().strip()
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
    header = read_header(path)
    frame = pd.read_csv(path, comment=None, skiprows=1)
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
        if column == "weight" or column.startswith("factor:"):
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
    return JointDraws(path, given, header.get("others", "expected") == "prior")


def joint_for_source(
    source: str | Path, scenario: Scenario, runs: int, seed: int
) -> JointDraws | None:
    """:func:`joint_draws` for a scenario given as a file with a posterior sample
    beside it; None for built-in names and files without one."""
    path = particles_beside(source)
    return None if path is None else joint_draws(path, scenario, runs, seed)
