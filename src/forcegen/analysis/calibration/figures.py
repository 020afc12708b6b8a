"""Figures of a calibration: prior versus posterior of each calibrated parameter and
factor, and each observed series against its posterior predictive bands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from forcegen.analysis.sensitivity import (
    resolve_parameters,
)
from forcegen.results.outputs import (
    write_figure,
)
from forcegen.safetext import literal_figure_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from forcegen.analysis.calibration.common import FloatArray, _steps

if TYPE_CHECKING:
    from forcegen.analysis.calibration.outputs import CalibrationResult


# --------------------------------------------------------------------------- figures
def _posterior_figure(
    result: CalibrationResult, path: str | Path | None, force: bool = False
) -> Figure:
    from matplotlib.figure import Figure

    refs = resolve_parameters(result.scenario, result.parameters)
    panels: list[tuple[str, FloatArray, FloatArray, tuple[float, float, float, float] | None]] = []
    grid = (np.arange(4000) + 0.5) / 4000
    for j, ref in enumerate(refs):
        for dist, step, fit in zip(
            ref.param.distributions,
            _steps(ref),
            result.fitted[ref.name],
            strict=True,
        ):
            if fit is None:
                continue
            u = result.particles.iloc[:, j].to_numpy()
            title = ref.name
            if step is not None:
                # The steps of a dated series share one quantile: show the first.
                title += f" (step from {step}; all steps move together)"
            panels.append((title, dist.ppf(grid), dist.ppf(np.clip(u, 1e-9, 1 - 1e-9)), fit))
            break
    for group in result.factors:
        model = result.observed.models[group]
        u = result.particles[f"factor:{group}"].to_numpy()
        prior = model.low + (model.high - model.low) * grid
        panels.append(
            (
                f"{model.kind} factor of {group}",
                prior,
                model.low + (model.high - model.low) * u,
                None,
            )
        )
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.0 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, prior, post, fit) in zip(axes.flat, panels, strict=False):
        lo_x, hi_x = np.quantile(np.concatenate([prior, post]), [0.001, 0.999])
        bins = np.linspace(lo_x, hi_x, 41)
        ax.hist(prior, bins=bins, density=True, color="#bbbbbb", label="prior")
        ax.hist(
            post,
            bins=bins,
            weights=result.weights,
            density=True,
            color="#2166ac",
            alpha=0.65,
            label="posterior",
        )
        if fit is not None:
            mean, sd, low, high = fit
            xs = np.linspace(lo_x, hi_x, 300)
            pdf = stats.truncnorm.pdf(xs, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
            ax.plot(xs, pdf, "--", color="#b2182b", linewidth=1.2, label="written to scenario")
        ax.set_title(title, fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(
        f"{result.scenario.name}: prior vs posterior (ABC-SMC, final temperature "
        f"{result.final_temperature:.3g}, ESS {result.ess:.0f})",
        fontsize=10,
    )
    # Parameter and scenario names are the user's text: a "$" is a dollar.
    literal_figure_text(fig)
    if path is not None:
        write_figure(fig, path, dpi=110, force=force)
    return fig


def _fit_figure(result: CalibrationResult, path: str | Path | None, force: bool = False) -> Figure:
    from matplotlib.figure import Figure

    groups = result.observed.groups
    cols = min(2, len(groups))
    rows = -(-len(groups) // cols)
    fig = Figure(figsize=(6.0 * cols, 3.2 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=False):
        band = result.bands[result.bands["group"] == group]
        x = band["date"].to_numpy()
        ax.fill_between(x, band["q05"], band["q95"], color="#9ecae1", label="90% predictive")
        ax.fill_between(x, band["q25"], band["q75"], color="#4292c6", label="50% predictive")
        ax.plot(x, band["q50"], color="#08306b", linewidth=1.0, label="median")
        pts = result.fit[result.fit["group"] == group]
        dates = pd.to_datetime(pts["date"]).to_numpy()
        err = None
        if pts["low"].notna().any():
            low = pts["low"].fillna(pts["observed"]).to_numpy()
            high = pts["high"].fillna(pts["observed"]).to_numpy()
            err = np.vstack([pts["observed"].to_numpy() - low, high - pts["observed"].to_numpy()])
        ax.errorbar(
            dates,
            pts["observed"],
            yerr=err,
            fmt="o",
            color="#b2182b",
            markersize=3.5,
            capsize=2,
            linewidth=0.8,
            label="observed",
        )
        model = result.observed.models[group]
        ax.set_title(f"{group} — {model.describe()}", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"{result.scenario.name}: posterior predictive fit to {Path(result.observed.path).name}",
        fontsize=10,
    )
    literal_figure_text(fig)  # group names hold user ids; the file name is the user's
    if path is not None:
        write_figure(fig, path, dpi=110, force=force)
    return fig
