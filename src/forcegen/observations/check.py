"""``forcegen check``: every observation of a ledger against a predictive ensemble.

For each usable observation: the predictive distribution of what its source would
report (simulated truth × the source's factor × error, the factor drawn from its
range, or from a posterior when given), its 5–95 % quantiles, the percentile the
observation falls at, whether it lies inside the central 50 % and 90 % bands, and two
proper scores on the log scale (the 90 % interval score and the CRPS). Summaries by
series (quantity) and by source (claimant); a figure per series with the
observations over the predictive bands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.observations.measure import DAYS_PER_YEAR, Measurement, Resolved, Truth
from forcegen.observations.scoring import (
    QUANTILES,
    crps_sample,
    interval_score,
    observe,
    percentile_of,
    quantiles,
)
from forcegen.results.outputs import (
    atomic_file,
    csv_header_is,
    figure_metadata,
    looks_like_forcegen_figure,
)
from forcegen.results.result import Result
from forcegen.safetext import csv_safe, literal_figure_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CHECK_COLUMNS",
    "STATUS_COLOURS",
    "UNVERIFIED",
    "CheckResult",
    "PosteriorDraws",
    "check",
    "known_by",
    "predictive_draws",
    "score_table",
    "summarise",
]

FloatArray = NDArray[np.float64]
MIN_DRAWS = 2000
"""At least this many predictive draws: each replicate is observed several times
(independent factor and error draws) when a run has fewer replicates."""
FAN_STEP_DAYS = 7
"""Spacing of the days of a figure's predictive fan."""

CHECK_COLUMNS: tuple[str, ...] = (
    "id",
    "quantity",
    "first",
    "date",
    "verification",
    "claimant",
    "model",
    "bound",
    "observed",
    "q05",
    "q25",
    "q50",
    "q75",
    "q95",
    "percentile",
    "inside50",
    "inside90",
    "interval_score",
    "crps",
    "source",
    "notes",
)
"""Columns of :attr:`CheckResult.table` (and ``check.csv``)."""


@dataclass(frozen=True)
class PosteriorDraws:
    """Joint draws of the observation factors and before-start rates (quantiles in
    [0, 1]), one row per replicate — from a posterior, or None for the prior.

    Attributes:
        factors: ``(runs, groups)``, columns in :attr:`Resolved.groups` order.
        offsets: ``(runs, offsets)``, columns in :attr:`Resolved.offsets` order.
        discrepancy: ``(runs,)`` model discrepancy (log-scale sd added in quadrature
            to every observation's error), or None for none.
    """

    factors: FloatArray
    offsets: FloatArray
    discrepancy: FloatArray | None = None


def predictive_draws(
    resolved: Resolved,
    flows: FloatArray,
    rng: np.random.Generator,
    *,
    repeats: int = 1,
    posterior: PosteriorDraws | None = None,
) -> FloatArray:
    """``(runs × repeats, n)`` draws of what each observation's source would report.

    Args:
        resolved: The measurements.
        flows: :meth:`Truth.flows` of a result, ``(runs, n, 2)``.
        rng: Random generator of factors, before-start rates and errors.
        repeats: Observations drawn per replicate.
        posterior: Factors and before-start rates per replicate; None: drawn from
            their uniform prior ranges.
    """
    truth_of = Truth.of(resolved)
    ms = resolved.measurements
    runs = flows.shape[0]
    groups, offsets = resolved.groups, resolved.offsets
    size = runs * repeats
    if posterior is None:
        fu = rng.random((size, len(groups)))
        ou = rng.random((size, len(offsets)))
    else:
        fu = np.repeat(posterior.factors, repeats, axis=0)
        ou = np.repeat(posterior.offsets, repeats, axis=0)
    before = [resolved.mapping.before_start[t] for t in offsets]
    lo = np.array([b.low for b in before])
    hi = np.array([b.high for b in before])
    rates = lo + (hi - lo) * ou if offsets else None
    truth = truth_of.finish(np.repeat(flows, repeats, axis=0), rates)
    sd: FloatArray = log_sds(ms)
    if posterior is not None and posterior.discrepancy is not None:
        tau = np.repeat(posterior.discrepancy, repeats)
        sd = np.sqrt(sd[None, :] ** 2 + tau[:, None] ** 2)
    return observe(truth, factor_matrix(ms, groups, fu), sd, rng)


def factor_matrix(
    ms: tuple[Measurement, ...] | list[Measurement], groups: list[str], fu: FloatArray
) -> FloatArray:
    """``(draws, n)`` observation factors from the unknowns' quantiles ``fu`` (columns
    in ``groups`` order, :attr:`Resolved.groups`).

    A row's factor is ``f0 × exp(drift × years)``: ``f0`` uniform on the model's range
    (its group's column), ``drift`` uniform on the model's drift range (the column
    ``group~drift``, or the point when the range is one), ``years`` the row's
    :attr:`~forcegen.observations.measure.Measurement.years`. A model without drift
    gives ``f0`` unchanged."""
    out = np.ones((fu.shape[0], len(ms)))
    for i, m in enumerate(ms):
        if m.factor_uncertain:
            g = groups.index(m.group)
            out[:, i] = m.model.low + (m.model.high - m.model.low) * fu[:, g]
        else:
            out[:, i] = m.model.low
        if not m.model.drifts:
            continue
        lo, hi = m.model.drift_low, m.model.drift_high
        if m.drift_uncertain:
            drift = lo + (hi - lo) * fu[:, groups.index(m.drift_group)]
            out[:, i] *= np.exp(drift * m.years)
        else:
            out[:, i] *= math.exp(lo * m.years)
    return out


def log_sds(ms: tuple[Measurement, ...] | list[Measurement]) -> FloatArray:
    """Log-scale error sd of each measurement."""
    return np.array([m.log_sd for m in ms], dtype=np.float64)


def score_table(
    measurements: tuple[Measurement, ...] | list[Measurement], draws: FloatArray
) -> pd.DataFrame:
    """One row per measurement (:data:`CHECK_COLUMNS`): predictive quantiles,
    percentile, inside the 50 %/90 % bands, interval score and CRPS (log scale).

    One-sided figures (``bound`` lower/upper) count as inside a band when the band
    reaches past them; they get no scores (NaN)."""
    qs = quantiles(draws)
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(measurements):
        y = m.observed
        sample = draws[:, i]
        pct = percentile_of(sample, y)
        bound = m.row.bound
        if bound == "lower":
            inside50, inside90 = pct <= 0.75, pct <= 0.95
            score = crps = math.nan
        elif bound == "upper":
            inside50, inside90 = pct >= 0.25, pct >= 0.05
            score = crps = math.nan
        else:
            inside50 = bool(qs[1, i] <= y <= qs[3, i])
            inside90 = bool(qs[0, i] <= y <= qs[4, i])
            logs = np.log(sample)
            lq = np.log(qs[[0, 4], i])
            score = interval_score(float(lq[0]), float(lq[1]), math.log(y))
            crps = crps_sample(logs, math.log(y))
        rows.append(
            {
                "id": m.row.id,
                "quantity": m.row.quantity,
                "first": m.row.period_start.as_start().isoformat()
                if m.row.period_start is not None
                else "",
                "date": (
                    m.row.period_end.as_end()
                    if m.row.period_end is not None
                    else m.row.published_date
                ).isoformat(),
                "verification": m.row.verification,
                "claimant": m.row.claimant,
                "model": _describe(m),
                "bound": m.row.bound,
                "observed": y,
                **{f"q{round(q * 100):02d}": float(qs[j, i]) for j, q in enumerate(QUANTILES)},
                "percentile": pct,
                "inside50": bool(inside50),
                "inside90": bool(inside90),
                "interval_score": score,
                "crps": crps,
                "source": m.row.source,
                "notes": "; ".join(m.notes),
            }
        )
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def _describe(m: Measurement) -> str:
    model = m.model
    if model.kind == "estimate":
        return f"estimate ±{m.log_sd:.2g} log"
    what = "fraction" if model.kind == "count" else "factor"
    drift = ""
    if model.drifts:
        span = (
            f"{model.drift_low:+g}"
            if not m.drift_uncertain
            else f"{model.drift_low:+g} to {model.drift_high:+g}"
        )
        drift = f" × exp(drift {span}/yr × {m.years:.2f} yr)"
    return f"{model.kind}: {what} {model.low:g}–{model.high:g}{drift}, error {m.log_sd:.2g} log"


def summarise(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per value of column ``by``: observations, share inside the 50 % and 90 %
    bands, median percentile, mean interval score and CRPS."""
    grouped = table.groupby(by, sort=False)
    out = pd.DataFrame(
        {
            "observations": grouped.size(),
            "inside50": grouped["inside50"].mean(),
            "inside90": grouped["inside90"].mean(),
            "median_percentile": grouped["percentile"].median(),
            "interval_score": grouped["interval_score"].mean(),
            "crps": grouped["crps"].mean(),
        }
    )
    return out.reset_index()


@dataclass
class CheckResult:
    """Observations against a predictive ensemble (see :func:`check`).

    Attributes:
        resolved: The ledger resolved against the scenario.
        table: One row per usable observation (:data:`CHECK_COLUMNS`).
        by_series: :func:`summarise` by quantity.
        by_source: :func:`summarise` by claimant.
        fans: Predictive bands by day of each series whose rows share a period start
            (columns ``quantity``, ``date``, ``q05`` … ``q95``).
        runs: Replicates of the ensemble.
        label: What was checked (scenario name, or run id).
        notes: Caveats.
    """

    resolved: Resolved
    table: pd.DataFrame
    by_series: pd.DataFrame
    by_source: pd.DataFrame
    fans: pd.DataFrame
    runs: int
    label: str
    notes: list[str] = field(default_factory=list)

    @property
    def unusable(self) -> pd.DataFrame:
        """Outcome rows that could not be used, with why (``id``, ``quantity``, ``reason``)."""
        return pd.DataFrame(
            [
                {"id": u.row.id, "quantity": u.row.quantity, "reason": u.reason}
                for u in self.resolved.unusable
            ],
            columns=["id", "quantity", "reason"],
        )

    def figure(self, quantity: str, *, cutoff: dt.date | None = None) -> Figure:
        """Observations of one series over its predictive bands (:func:`series_figure`)."""
        return series_figure(self, quantity, cutoff=cutoff)

    def write(self, out: str | Path, *, force: bool = False) -> dict[str, Path]:
        """Write ``check.csv``, ``check-by-series.csv``, ``check-by-source.csv``,
        ``check-unusable.csv`` and one ``check-<quantity>.png`` per series into
        ``out``; files forcegen did not write are replaced only with ``force``."""
        folder = Path(out)
        frames = {
            "table": ("check.csv", self.table),
            "by_series": ("check-by-series.csv", self.by_series),
            "by_source": ("check-by-source.csv", self.by_source),
            "unusable": ("check-unusable.csv", self.unusable),
        }
        paths: dict[str, Path] = {}
        with ExitStack() as stack:
            for what, (name, frame) in frames.items():
                target = folder / name
                header = ",".join(str(c) for c in frame.columns)
                tmp = stack.enter_context(
                    atomic_file(target, force=force, recognise=csv_header_is(header))
                )
                csv_safe(frame).to_csv(tmp, index=False)
                paths[what] = target
            for quantity in dict.fromkeys(self.table["quantity"]):
                target = folder / f"check-{_slug(str(quantity))}.png"
                fig = self.figure(str(quantity))
                tmp = stack.enter_context(
                    atomic_file(target, force=force, recognise=looks_like_forcegen_figure)
                )
                fig.savefig(tmp, format="png", dpi=100, metadata=figure_metadata("png"))
                paths[f"figure:{quantity}"] = target
        return paths


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)[:80]


def check(
    result: Result,
    resolved: Resolved,
    *,
    seed: int = 0,
    posterior: PosteriorDraws | None = None,
    label: str | None = None,
) -> CheckResult:
    """Score every usable observation of ``resolved`` against ``result``'s ensemble.

    Args:
        result: A run of the scenario the ledger was resolved against (its replicates
            carry parameter and chance uncertainty).
        resolved: :func:`forcegen.observations.measure.resolve` of the ledger.
        seed: Seed of the factor, before-start and error draws.
        posterior: Joint factor/offset quantiles per replicate (a calibrated run), or
            None to draw them from their prior ranges.
        label: What is checked, for titles.
    """
    if result.scenario.name != resolved.scenario.name:
        raise ValueError("the result is not a run of the resolved scenario")
    if not resolved.measurements:
        raise ValueError("no usable observation to check")
    rng = np.random.default_rng([seed, 41])
    truth = Truth.of(resolved)
    flows = truth.flows(result)
    repeats = max(1, math.ceil(MIN_DRAWS / result.runs)) if posterior is None else 1
    draws = predictive_draws(resolved, flows, rng, repeats=repeats, posterior=posterior)
    table = score_table(resolved.measurements, draws)
    notes = []
    if result.runs < 100:
        notes.append(f"only {result.runs} replicates: the bands' tails rest on few simulations")
    return CheckResult(
        resolved=resolved,
        table=table,
        by_series=summarise(table, "quantity"),
        by_source=summarise(table, "claimant"),
        fans=_fans(result, resolved, rng, repeats),
        runs=result.runs,
        label=label or result.scenario.name,
        notes=notes,
    )


def _fans(
    result: Result, resolved: Resolved, rng: np.random.Generator, repeats: int
) -> pd.DataFrame:
    """Bands by day for each series whose observations share one period start (stocks,
    running totals): the measure of its first row, evaluated every week."""
    frames = []
    horizon = result.scenario.horizon_days
    by_quantity: dict[str, list[Measurement]] = {}
    for m in resolved.measurements:
        by_quantity.setdefault(m.row.quantity, []).append(m)
    for quantity, ms in by_quantity.items():
        template = ms[0]
        if template.spec.measure == "rate":
            continue
        if template.spec.measure != "stock" and len({m.first_day for m in ms}) > 1:
            continue
        # A single flow over its own period (a month's, a year's) is no series over
        # time: continuing it past its period would draw a running total it is not.
        if template.spec.measure != "stock" and not template.spec.running_total and len(ms) < 2:
            continue
        start = template.first_day if template.spec.measure != "stock" else 0
        days = list(range(start, horizon, FAN_STEP_DAYS))
        # A drifting factor is evaluated on each day of the fan, as on a row's date.
        pseudo = tuple(
            dataclasses.replace(
                template,
                last_day=d,
                years=template.years + (d - template.last_day) / DAYS_PER_YEAR,
            )
            for d in days
        )
        fan = dataclasses.replace(resolved, measurements=pseudo)
        draws = predictive_draws(fan, Truth.of(fan).flows(result), rng, repeats=repeats)
        qs = quantiles(draws)
        frame = pd.DataFrame(
            {
                "quantity": quantity,
                "date": pd.to_datetime(result.scenario.start_date)
                + pd.to_timedelta(days, unit="D"),
            }
        )
        for j, q in enumerate(QUANTILES):
            frame[f"q{round(q * 100):02d}"] = qs[j]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["quantity", "date", "q05", "q25", "q50", "q75", "q95"])
    return pd.concat(frames, ignore_index=True)


UNVERIFIED = "unverified_report"
"""The verification status of rows that rest on unverified claims (marked in every
figure and table of observations)."""
STATUS_COLOURS: dict[str, str] = {
    "independent_count": "#b2182b",
    "official_claim": "#e08214",
    "estimate": "#1b7837",
    "unverified_report": "#762a83",
}
"""Colour of an observation by its verification status in the figures."""


def known_by(m: Measurement, cutoff: dt.date) -> bool:
    """Whether a row was known at ``cutoff``: published on or before it and covering a
    period that ends by then (the training rule of ``forcegen backtest``)."""
    end = m.row.period_end.as_end() if m.row.period_end is not None else m.row.published_date
    return m.row.published_date <= cutoff and end <= cutoff


def series_figure(result: CheckResult, quantity: str, *, cutoff: dt.date | None = None) -> Figure:
    """One series: the predictive fan by day (if its rows share a period start), each
    observation's own 50 %/90 % predictive interval, and the observations, coloured by
    verification status: a dot for a figure (with the source's stated range as an
    error bar, when it gives one), ▲ for a lower bound ("more than"), ▼ for an upper
    bound. With ``cutoff``, rows not known by then (:func:`known_by`) are drawn
    hollow, right of a dashed line at the cut-off: out of sample. The title counts the
    rows resting on unverified reports."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    # Fixed margins, not constrained layout: a report draws one figure per series, and
    # the layout solver would double the drawing time of each.
    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.11, right=0.98, top=0.86, bottom=0.09)
    fan = result.fans[result.fans["quantity"] == quantity]
    if len(fan):
        x = fan["date"].to_numpy()
        ax.fill_between(x, fan["q05"], fan["q95"], color="#c6dbef", label="90% predictive")
        ax.fill_between(x, fan["q25"], fan["q75"], color="#6baed6", label="50% predictive")
        ax.plot(x, fan["q50"], color="#08306b", linewidth=1.0, label="median")
    chosen = (result.table["quantity"] == quantity).to_numpy()
    rows = result.table[chosen]
    ms = [m for m, keep in zip(result.resolved.measurements, chosen, strict=True) if keep]
    dates = pd.to_datetime(rows["date"]).to_numpy()
    ax.vlines(dates, rows["q05"], rows["q95"], color="#4292c6", linewidth=1.0)
    ax.vlines(dates, rows["q25"], rows["q75"], color="#08519c", linewidth=3.0)
    later = np.array([cutoff is not None and not known_by(m, cutoff) for m in ms], dtype=bool)
    markers = {"point": "o", "lower": "^", "upper": "v"}
    shown: set[str] = set()
    for i, m in enumerate(ms):
        status = m.row.verification
        colour = STATUS_COLOURS.get(status, "black")
        y = m.observed
        if m.row.low is not None and m.row.high is not None and m.row.bound == "point":
            # The source's own range, in model units (a percent as a share).
            scale = y / m.row.value
            ax.vlines(dates[i], m.row.low * scale, m.row.high * scale, color=colour, lw=0.8)
        label = f"observed ({status})" if status not in shown else None
        shown.add(status)
        ax.scatter(
            [dates[i]],
            [y],
            s=26,
            zorder=3,
            marker=markers.get(m.row.bound, "o"),
            facecolors="white" if later[i] else colour,
            edgecolors=colour,
            linewidths=1.2,
            label=label,
        )
    if cutoff is not None:
        ax.axvline(
            # Dates go through matplotlib's unit converters; its stubs say float.
            np.datetime64(cutoff),  # type: ignore[arg-type]
            color="#444444",
            linestyle="--",
            linewidth=0.9,
            label=f"cut-off {cutoff} (hollow: out of sample)",
        )
    if not len(fan):
        # Without a fan, a lone date would be centred in years of empty axis.
        span = [pd.Timestamp(d) for d in dates] + ([pd.Timestamp(cutoff)] if cutoff else [])
        margin = pd.Timedelta(days=45)
        ax.set_xlim(min(span) - margin, max(span) + margin)  # type: ignore[arg-type]
    ax.set_yscale("log")
    # The fan of a flow starts near zero on its first day; the axis shows the rows.
    lows = [*rows["q05"], *(m.observed for m in ms), *(m.observed * 0.5 for m in ms)]
    highs = [*rows["q95"], *(m.observed for m in ms)]
    bottom = min(v for v in lows if v > 0) / 1.5 if any(v > 0 for v in lows) else None
    if bottom is not None:
        top = max(max(highs), float(fan["q95"].max()) if len(fan) else 0.0) * 1.5
        ax.set_ylim(bottom, top)
    # Plain numbers: mathtext tick labels would be escaped by literal_figure_text.
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 else f"{v:.2g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    unverified = sum(m.row.verification == UNVERIFIED for m in ms)
    rests = f"; {unverified} rest on unverified reports" if unverified else "; none unverified"
    ax.set_title(
        f"{quantity}: observations over the predictive bands\nof {result.label} "
        f"({int(rows['inside90'].sum())} of {len(rows)} inside their 90% band{rests})",
        fontsize=9,
        loc="left",
    )
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="best")
    literal_figure_text(fig)
    return fig
