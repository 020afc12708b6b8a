"""Publication-quality figures of results, in one consistent style.

Every function takes a :class:`~forcegen.results.result.Result` (or several) and
returns a :class:`matplotlib.figure.Figure` drawn on the Agg canvas: no display, no
pyplot global state, safe in servers and tests. Style: :data:`STYLE` (a small set of
rcParams applied while a figure is built and saved), colour-blind-safe palettes
(Okabe–Ito for channels, payment kinds and scenarios; Paul Tol's "muted" for exit
causes), labelled axes with units, and a footnote on every figure naming the
simulation and the standing of its inputs.

Figures: :func:`fan_chart` (deployed strength, total and by channel),
:func:`inflows_chart` (monthly recruits by channel), :func:`outflows_chart` (monthly
exits by cause), :func:`losses_chart` (cumulative exits by cause), :func:`cost_chart`
(monthly cost by kind, paid and unpaid), :func:`comparison_chart` (several results
overlaid, with paired differences), :func:`pools_chart` (pool depletion) and
:func:`below_chart` (probability of having fallen below thresholds). Save with
:func:`save_figure`.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from numpy.typing import NDArray

from forcegen.analysis.answers import costs as compute_costs
from forcegen.analysis.answers import time_below
from forcegen.errors import UsageError
from forcegen.results.digest import ALL, digest_of
from forcegen.results.outputs import figure_metadata, write_figure
from forcegen.results.result import Result
from forcegen.safetext import LITERAL_TEXT_RC
from forcegen.scenario.evidence import WEAK_STATUSES, evidence_table
from forcegen.scenario.model import EXIT_CAUSES, STATES

__all__ = [
    "CAUSE_COLOURS",
    "FIGURE_KINDS",
    "KIND_COLOURS",
    "PALETTE",
    "STYLE",
    "below_chart",
    "comparison_chart",
    "cost_chart",
    "fan_chart",
    "figure_style",
    "figure_to_bytes",
    "inflows_chart",
    "losses_chart",
    "outflows_chart",
    "pools_chart",
    "save_figure",
]

FloatArray = NDArray[np.float64]

# Okabe & Ito (2008), reordered so the first colours are the most distinct on white;
# yellow comes late because thin lines of it are hard to see.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#999999",  # grey
)
"""Colours of channels, payment kinds and compared scenarios, in order."""

CAUSE_COLOURS: dict[str, str] = {
    # Paul Tol's "muted" scheme: ten colour-blind-safe colours, enough for every cause.
    "killed": "#882255",
    "wounded_discharged": "#CC6677",
    "missing": "#AA4499",
    "deserted": "#DDCC77",
    "refused": "#999933",
    "terminated": "#44AA99",
    "expired": "#88CCEE",
    "released": "#117733",
    "withdrawn": "#332288",
    "transferred": "#BBBBBB",
}
"""Colour of each exit cause."""

KIND_COLOURS: dict[str, str] = {
    "salary": PALETTE[0],
    "sign_up_bonus": PALETTE[1],
    "deployment_bonus": PALETTE[5],
    "death_compensation": PALETTE[3],
    "wound_compensation": PALETTE[4],
}
"""Colour of each kind of payment."""

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "lines.linewidth": 1.6,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 150,
    "svg.fonttype": "none",  # keep text as text in SVG (searchable, smaller)
    "pdf.fonttype": 42,  # embed TrueType so PDF text stays editable
    # Labels, titles and legends hold scenario names and channel labels: drawn as
    # written ("$" a dollar, not mathtext, which fails on "$_$"), never as LaTeX.
    **LITERAL_TEXT_RC,
}
"""rcParams of every forcegen figure."""

FIGURE_KINDS: tuple[str, ...] = ("fan", "inflows", "outflows", "losses", "cost", "pools")
"""Names of the single-result figures, as ``forcegen plot --kind`` takes them."""

_BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)
_COMBAT = ("killed", "wounded_discharged", "missing")
_FOOT_FONT = 6.5  # points
_WIDTH = 9.0  # inches: the HTML report shows figures at about 900 px


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply :data:`STYLE` for the duration of the block."""
    with mpl.rc_context(cast(Any, STYLE)):
        yield


# ---------------------------------------------------------------------- figure frame
def _new_figure(height: float, width: float = _WIDTH) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # render with Agg: no display needed
    return fig


def _people(x: float, _pos: object = None) -> str:
    return f"{x:,.0f}"


class _DateLocator(mdates.AutoDateLocator):
    """:class:`~matplotlib.dates.AutoDateLocator` that remembers its ticks by view
    interval. Matplotlib asks every date axis for its ticks a dozen times per saved
    figure (two layout passes, tight boxes, drawing), each time running a dateutil
    rule; forcegen's figures all span the same days, so the same ticks are computed
    once per process. The ticks are those AutoDateLocator gives (it looks only at the
    interval and its own settings)."""

    _seen: ClassVar[dict[tuple[Any, ...], NDArray[np.float64]]] = {}

    def __call__(self) -> Any:
        if self.axis is None:
            return super().__call__()  # type: ignore[no-untyped-call]
        lo, hi = self.axis.get_view_interval()
        key = (float(lo), float(hi), repr(self.minticks), repr(self.maxticks),
               self.interval_multiples, str(self.tz))  # fmt: skip
        ticks = self._seen.get(key)
        if ticks is None:
            ticks = np.asarray(super().__call__(), dtype=np.float64)  # type: ignore[no-untyped-call]
            if len(self._seen) < 256:
                self._seen[key] = ticks
        return ticks.copy()


class _DateFormatter(mdates.ConciseDateFormatter):
    """:class:`~matplotlib.dates.ConciseDateFormatter` that remembers its labels (and
    offset text) by tick values, for the same reason as :class:`_DateLocator`."""

    _seen: ClassVar[dict[tuple[Any, ...], tuple[list[str], str]]] = {}

    def format_ticks(self, values: Any) -> list[str]:
        axis = self._locator.axis
        inverted = bool(axis is not None and axis.get_inverted())
        key = (tuple(float(v) for v in values), inverted, str(self._tz), self._usetex)
        hit = self._seen.get(key)
        if hit is None:
            labels = list(super().format_ticks(values))  # type: ignore[no-untyped-call]
            hit = (labels, self._offset_string)
            if len(self._seen) < 256:
                self._seen[key] = hit
        self._offset_string = hit[1]
        return list(hit[0])


def _format_dates(ax: Axes) -> None:
    locator = _DateLocator(minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_DateFormatter(locator))  # type: ignore[no-untyped-call]


def _evidence_line(results: Sequence[Result]) -> str:
    """How many inputs are assumptions or rest on weak claims, for the footnote."""
    parts = []
    for r in results:
        table = evidence_table(r.scenario)
        params = [b for n, b in table.bases.items() if not _is_event(n)]
        status = {use.claim.id: use.claim.status for use in table.claims}
        stated = sum(b.assumption is not None and not b.default for b in params)
        defaults = sum(b.assumption is not None and b.default for b in params)
        weak = sum(any(status.get(c) in WEAK_STATUSES for c in b.claims) for b in params)
        parts.append(
            f"{r.scenario.name}: of {len(params)} parameters, {stated} state an assumption "
            f"(some alongside claims), {defaults} are model defaults, {weak} cite "
            "unverified or denied claims"
        )
    return "; ".join(parts) + " — see the evidence appendix of the report."


def _is_event(name: str) -> bool:
    return name.startswith("events.") and name.count(".") == 1


def _footnote(fig: Figure, results: Sequence[Result], note: str = "") -> None:
    """Source and evidence footnote under the axes; reserves room for it."""
    r = results[0]
    sampled = "parameters sampled" if r.sample_parameters else "parameters at their means"
    sizes = sorted({x.runs for x in results})
    runs = f"{sizes[0]}" if len(sizes) == 1 else "/".join(f"{x.runs}" for x in results)
    each = " each" if len(results) > 1 and len(sizes) == 1 else ""
    source = (
        f"Source: forcegen {r.version} simulation, {runs} replicates{each}, seed {r.seed}, "
        f"{r.mode}, {sampled}. Model output under the scenario's inputs, not a forecast. "
    )
    text = source + (note + " " if note else "") + "Inputs — " + _evidence_line(results)
    width_chars = int(fig.get_figwidth() * 72 / (_FOOT_FONT * 0.6))
    lines = textwrap.wrap(text, width_chars)
    height_in = (len(lines) * 1.35 + 0.8) * _FOOT_FONT / 72
    frac = min(0.35, height_in / fig.get_figheight())
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.set(rect=(0.0, frac, 1.0, 1.0 - frac))  # type: ignore[call-arg]
    fig.text(
        0.01,
        0.008,
        "\n".join(lines),
        fontsize=_FOOT_FONT,
        color="#444444",
        ha="left",
        va="bottom",
        linespacing=1.35,
    )


def _band_legend(
    ax: Axes, colour: str = "#333333", loc: Literal["upper right", "lower left"] = "upper right"
) -> None:
    handles = [
        Line2D([], [], color=colour, lw=1.8, label="median"),
        Patch(facecolor=colour, alpha=0.35, label="50 % of replicates"),
        Patch(facecolor=colour, alpha=0.15, label="90 % of replicates"),
    ]
    ax.legend(handles=handles, loc=loc)


def _bands(
    result: Result,
    series: str,
    *,
    channels: str | None = None,
    categories: str | None = None,
    levels: Sequence[float] = _BANDS,
    cumulative: bool = False,
) -> FloatArray:
    """``(levels, days)`` quantiles across replicates of a sum (:meth:`Result.quantiles`:
    for a stored run, those computed at save)."""
    table = result.quantiles(
        series, levels, channels=channels, categories=categories, cumulative=cumulative
    )
    return np.ascontiguousarray(table.to_numpy().T)


def _fan(
    ax: Axes,
    dates: pd.DatetimeIndex,
    q: FloatArray,
    colour: str,
    label: str | None = None,
    *,
    inner: bool = True,
) -> None:
    """Median line with the 90 % (and 50 %) bands across replicates; ``q`` holds the
    :data:`_BANDS` quantiles by day."""
    x = dates.to_pydatetime()
    ax.fill_between(x, q[0], q[4], color=colour, alpha=0.15, lw=0)
    if inner:
        ax.fill_between(x, q[1], q[3], color=colour, alpha=0.35, lw=0)
    ax.plot(x, q[2], color=colour, lw=1.8, label=label)


# ---------------------------------------------------------------------- strength
def fan_chart(
    result: Result,
    *,
    state: str = "deployed",
    by_channel: bool = True,
) -> Figure:
    """Fan chart of strength (people) over time: all channels, then one panel per
    channel, each with its median and 50 % / 90 % bands across replicates.

    Args:
        result: The ensemble.
        state: ``deployed`` (in theatre), ``training``, ``recovering``, ``absent``
            (caught deserters and refusers not yet back on duty) or ``all``.
        by_channel: Add a panel per channel under the total.
    """
    states: Any = None if state == "all" else state
    if state != "all" and state not in STATES:
        raise UsageError(f"unknown state {state!r}; expected all, {', '.join(STATES)}")
    channels = result.channels if by_channel and len(result.channels) > 1 else []
    rows = 1 + math.ceil(len(channels) / 2)
    what = "In service" if state == "all" else f"{state.capitalize()} strength"
    with figure_style():
        fig = _new_figure(3.0 + 2.0 * (rows - 1) + 0.5)
        grid = fig.add_gridspec(rows, 2, height_ratios=[1.5] + [1.0] * (rows - 1))
        ax = fig.add_subplot(grid[0, :])
        _fan(ax, result.dates, _bands(result, "strength", categories=states), "#222222")
        ax.set_title(f"{what}, all channels")
        ax.set_ylabel("people")
        ax.yaxis.set_major_formatter(FuncFormatter(_people))
        ax.set_ylim(bottom=0)
        _format_dates(ax)
        _band_legend(ax, "#222222")
        for i, ch in enumerate(channels):
            sub = fig.add_subplot(grid[1 + i // 2, i % 2], sharex=ax)
            colour = PALETTE[result.channels.index(ch) % len(PALETTE)]
            _fan(
                sub,
                result.dates,
                _bands(result, "strength", channels=ch, categories=states),
                colour,
            )
            sub.set_title(_channel_label(result, ch), fontsize=9)
            sub.set_ylabel("people")
            sub.yaxis.set_major_formatter(FuncFormatter(_people))
            sub.set_ylim(bottom=0)
            _format_dates(sub)
        fig.suptitle(f"{what} — {_title(result)}", fontsize=11, fontweight="bold")
        _footnote(fig, [result], "End-of-day stocks. Bands: central 50 % and 90 % of replicates.")
    return fig


# ---------------------------------------------------------------------- flows
def _stacked_months(
    ax: Axes,
    starts: pd.DatetimeIndex,
    days: FloatArray,
    parts: list[tuple[str, str, FloatArray]],
    total: FloatArray,
    scale: float = 1.0,
) -> None:
    """Stacked bars of the per-part medians of monthly sums, with the median and 90 %
    band of the monthly total as black marks (the stacked medians need not add up to
    the median total)."""
    x = mdates.date2num(starts.to_pydatetime())  # type: ignore[no-untyped-call]
    width = days * 0.85
    bottom = np.zeros(len(starts))
    for label, colour, values in parts:
        med = np.median(values, axis=0) / scale
        _bars(ax, x, width, bottom, bottom + med, colour, label)
        bottom = bottom + med
    ax.autoscale_view()
    lo, med, hi = np.quantile(total, [0.05, 0.5, 0.95], axis=0) / scale
    centre = x + width / 2
    ax.errorbar(
        centre,
        med,
        yerr=[med - lo, hi - med],
        fmt="o",
        ms=2.2,
        color="#333333",
        elinewidth=0.6,
        alpha=0.8,
        capsize=0,
        label="total: median, 90 %",
    )
    ax.xaxis_date()
    _format_dates(ax)


def _bars(
    ax: Axes,
    x: FloatArray,
    width: FloatArray,
    bottom: FloatArray,
    top: FloatArray,
    colour: str,
    label: str,
) -> None:
    """One part of a stacked bar chart, as ``ax.bar(x, top - bottom, width,
    bottom=bottom, align="edge", color=colour, lw=0)`` draws it, but as one collection
    of rectangles rather than one artist per bar: the same pixels (compared byte for
    byte in the tests) for a fraction of the time (hundreds of bars per figure)."""
    right = x + width
    corners = [(x, bottom), (right, bottom), (right, top), (x, top), (x, bottom)]
    verts = np.stack([np.stack(c, axis=1) for c in corners], axis=1)
    bars = PolyCollection(
        list(verts), closed=False, facecolors=colour, edgecolors="none", linewidths=0, label=label
    )
    bars.sticky_edges.y.append(0.0)  # as bars: the value axis starts at zero
    ax.add_collection(bars, autolim=True)


def inflows_chart(result: Result) -> Figure:
    """Recruits per calendar month by channel (stacked medians across replicates),
    with the median and 90 % band of the monthly total (people per month)."""
    digest = digest_of(result)
    days = digest.days_in_month.astype(np.float64)
    parts = [
        (
            _channel_label(result, ch),
            PALETTE[i % len(PALETTE)],
            digest.monthly("inflow", ch, "recruited"),
        )
        for i, ch in enumerate(result.channels)
    ]
    total = digest.monthly("inflow", ALL, "recruited")
    return _monthly_stack_figure(
        result, digest.months, days, parts, total, "Recruits per month by channel", "recruits"
    )


def outflows_chart(result: Result) -> Figure:
    """Exits per calendar month by cause (stacked medians across replicates), with the
    median and 90 % band of the monthly total (people per month). Transfers between
    channels are not exits from the force and are left out."""
    digest = digest_of(result)
    days = digest.days_in_month.astype(np.float64)
    causes = [c for c in EXIT_CAUSES if c != "transferred"]
    parts = []
    total = np.zeros((result.runs, len(digest.months)))
    for cause in causes:
        values = digest.monthly("outflow", ALL, cause)
        # Monthly sums of whole people: adding them per cause gives the same total as
        # summing the causes day by day first.
        total += values
        if values.any():
            parts.append((cause.replace("_", " "), CAUSE_COLOURS[cause], values))
    return _monthly_stack_figure(
        result, digest.months, days, parts, total, "Exits per month by cause", "exits"
    )


def _monthly_stack_figure(
    result: Result,
    starts: pd.DatetimeIndex,
    days: FloatArray,
    parts: list[tuple[str, str, FloatArray]],
    total: FloatArray,
    title: str,
    what: str,
) -> Figure:
    """A stacked chart of monthly medians by part with the total's median and 90 % band
    (people per month); transfers between channels are never counted."""
    with figure_style():
        fig = _new_figure(4.6)
        ax = fig.add_subplot()
        _stacked_months(ax, starts, days, parts, total)
        ax.set_title(f"{title} — {_title(result)}")
        ax.set_ylabel(f"{what} per month (people)")
        ax.yaxis.set_major_formatter(FuncFormatter(_people))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        _footnote(
            fig,
            [result],
            f"{_partial_note(days)} {_STACK_NOTE} Transfers between channels excluded.",
        )
    return fig


def losses_chart(result: Result) -> Figure:
    """Cumulative exits by cause since the start date (people): combat losses (killed,
    wounded and discharged, missing) and other exits, each cause's median with its
    50 % band across replicates."""
    groups = [
        ("Combat losses", list(_COMBAT)),
        ("Other exits", [c for c in EXIT_CAUSES if c not in _COMBAT and c != "transferred"]),
    ]
    digest = digest_of(result)
    with figure_style():
        fig = _new_figure(4.2)
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (title, causes) in zip(axes, groups, strict=True):
            drawn = 0
            for cause in causes:
                # Exits are never negative: some exit in some month is some cumulative
                # exit at the horizon.
                if not digest.monthly("outflow", ALL, cause).any():
                    continue
                q = _bands(
                    result, "outflow", categories=cause, levels=(0.25, 0.5, 0.75), cumulative=True
                )
                x = result.dates.to_pydatetime()
                colour = CAUSE_COLOURS[cause]
                ax.fill_between(x, q[0], q[2], color=colour, alpha=0.25, lw=0)
                ax.plot(x, q[1], color=colour, label=cause.replace("_", " "))
                drawn += 1
            ax.set_title(title)
            ax.set_ylabel("cumulative exits (people)")
            ax.yaxis.set_major_formatter(FuncFormatter(_people))
            ax.set_ylim(bottom=0)
            _format_dates(ax)
            if drawn:
                ax.legend(loc="upper left")
            else:
                ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", color="#666666")
        fig.suptitle(
            f"Cumulative exits by cause — {_title(result)}", fontsize=11, fontweight="bold"
        )
        _footnote(fig, [result], "Lines: medians; shading: central 50 % of replicates.")
    return fig


def cost_chart(result: Result, *, convert_to: str | None = None) -> Figure:
    """Cost per calendar month by kind of payment: paid (top) and promised but unpaid
    (bottom); stacked medians across replicates with the median and 90 % band of the
    monthly total (currency per month, scaled to thousands, millions or billions)."""
    c = compute_costs(result, convert_to=convert_to)
    days = c.days_in_month.astype(np.float64)
    totals = c.paid.sum(axis=(2, 3))
    scale, word = _money_scale(float(np.median(totals, axis=0).max(initial=0.0)))
    unit = f"{word}{c.currency} per month".strip()
    with figure_style():
        fig = _new_figure(6.4)
        axes = fig.subplots(2, 1, sharex=True, height_ratios=[2.0, 1.0])
        for ax, paid, title in (
            (axes[0], True, "Paid"),
            (axes[1], False, "Promised but not paid"),
        ):
            arr = c.paid if paid else c.unpaid
            parts = [
                (kind.replace("_", " "), KIND_COLOURS[kind], arr[..., k].sum(axis=2))
                for k, kind in enumerate(c.kinds)
                if arr[..., k].any()
            ]
            _stacked_months(ax, c.months, days, parts, arr.sum(axis=(2, 3)), scale)
            ax.set_title(title)
            ax.set_ylabel(unit)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.3g}"))
            ax.set_ylim(bottom=0)
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.suptitle(f"Cost per month by kind — {_title(result)}", fontsize=11, fontweight="bold")
        rate = ""
        if c.currency != c.scenario_currency:
            lo, hi = np.quantile(c.exchange_rate, [0.05, 0.95])
            rate = (
                f" Converted from {c.scenario_currency} at {lo:,.4g}–{hi:,.4g} "
                f"{c.scenario_currency} per {c.currency} (5–95 % of replicates)."
            )
        _footnote(fig, [result], f"{_partial_note(days)} {_STACK_NOTE}{rate}")
    return fig


def pools_chart(result: Result) -> Figure:
    """Eligible people left in each pool over time (people): median with 50 % / 90 %
    bands across replicates, one panel per pool."""
    pools = result.pools
    rows = max(1, math.ceil(len(pools) / 2))
    with figure_style():
        fig = _new_figure(0.6 + 2.4 * rows)
        if not pools:
            ax = fig.add_subplot()
            ax.text(0.5, 0.5, "The scenario has no pools (unlimited recruitment).",
                    transform=ax.transAxes, ha="center")  # fmt: skip
            ax.set_axis_off()
        for i, pool in enumerate(pools):
            ax = fig.add_subplot(rows, 2 if len(pools) > 1 else 1, i + 1)
            _fan(ax, result.dates, _bands(result, "pool", channels=pool), PALETTE[i % len(PALETTE)])
            label = result.scenario.pool(pool).label or pool
            ax.set_title(textwrap.shorten(label, 50, placeholder="…"), fontsize=9)
            ax.set_ylabel("eligible people")
            ax.yaxis.set_major_formatter(FuncFormatter(_people))
            ax.set_ylim(bottom=0)
            _format_dates(ax)
            if i == 0:
                _band_legend(ax, PALETTE[0], loc="lower left")
        fig.suptitle(f"Pools of eligible people — {_title(result)}", fontsize=11, fontweight="bold")
        _footnote(
            fig, [result], "End-of-day pool sizes after enlistment, replenishment and widening."
        )
    return fig


def below_chart(
    result: Result, thresholds: Sequence[float], *, labels: Sequence[str] | None = None
) -> Figure:
    """Probability that deployed strength has fallen below each threshold by each date
    (cumulative share of replicates; a Kaplan–Meier curve with censoring only at the
    horizon)."""
    with figure_style():
        fig = _new_figure(3.6)
        ax = fig.add_subplot()
        for i, threshold in enumerate(thresholds):
            tb = time_below(result, threshold)
            name = labels[i] if labels is not None else f"below {threshold:,.0f}"
            x = result.dates.to_pydatetime()
            ax.step(x, tb.curve.to_numpy() * 100, where="post", color=PALETTE[i % len(PALETTE)],
                    label=name)  # fmt: skip
        ax.set_ylim(0, 100)
        ax.set_ylabel("replicates fallen below (%)")
        ax.set_title(
            f"Probability deployed strength has fallen below a threshold — {_title(result)}"
        )
        _format_dates(ax)
        ax.legend(loc="upper left")
        _footnote(fig, [result], f"Share of {result.runs} replicates; Monte-Carlo error about "
                  f"±{100 / math.sqrt(result.runs):.0f} points at most.")  # fmt: skip
    return fig


def comparison_chart(results: Sequence[Result]) -> Figure:
    """Deployed strength of several results overlaid (median and 90 % band each) and,
    when they share a seed, the paired difference of each against the first (median
    with 50 % / 90 % bands of the per-replicate differences) (people)."""
    if not results:
        raise UsageError("comparison_chart needs at least one result")
    from forcegen.analysis.compare import compare

    paired = len(results) > 1 and all(r.seed == results[0].seed for r in results)
    with figure_style():
        fig = _new_figure(6.2 if paired else 4.0)
        if paired:
            top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[1.6, 1.0])
        else:
            top, bottom = fig.add_subplot(), None
        for i, r in enumerate(results):
            colour = PALETTE[i % len(PALETTE)]
            _fan(top, r.dates, _bands(r, "strength", categories="deployed"), colour,
                 label=r.scenario.name, inner=False)  # fmt: skip
        top.set_title("Deployed strength (median and 90 % of replicates)")
        top.set_ylabel("people")
        top.yaxis.set_major_formatter(FuncFormatter(_people))
        top.set_ylim(bottom=0)
        top.legend(loc="upper right")
        _format_dates(top)
        note = ""
        if bottom is not None:
            comparison = compare(results)
            for i, pair in enumerate(comparison.pairs, start=1):
                colour = PALETTE[i % len(PALETTE)]
                d = pair.strength_difference
                x = pd.DatetimeIndex(d.index).to_pydatetime()
                bottom.fill_between(x, d[0.05], d[0.95], color=colour, alpha=0.15, lw=0)
                bottom.fill_between(x, d[0.25], d[0.75], color=colour, alpha=0.35, lw=0)
                bottom.plot(x, d[0.5], color=colour, label=f"{pair.other} − {pair.base}")
            bottom.axhline(0, color="black", lw=0.8)
            bottom.set_title("Paired difference from the first scenario (same replicates)")
            bottom.set_ylabel("difference (people)")
            bottom.yaxis.set_major_formatter(FuncFormatter(_people))
            bottom.legend(loc="upper left")
            _format_dates(bottom)
            note = "Same seed: replicate k of each scenario shares its random numbers."
        elif len(results) > 1:
            note = "Different seeds: no paired differences shown."
        fig.suptitle("Scenario comparison", fontsize=11, fontweight="bold")
        _footnote(fig, list(results), note)
    return fig


# ---------------------------------------------------------------------- helpers
def _title(result: Result) -> str:
    return result.scenario.name


def _channel_label(result: Result, channel: str) -> str:
    label = result.scenario.channel(channel).label
    return textwrap.shorten(label, 48, placeholder="…") if label else channel


def _partial_note(days: FloatArray) -> str:
    partial = [i for i in (0, len(days) - 1) if days[i] < 28]
    if not partial:
        return "Calendar months."
    return "Calendar months; the first and last may be partial (fewer simulated days)."


_STACK_NOTE = "Bars: median of each part; they need not add up to the median total."


def _money_scale(peak: float) -> tuple[float, str]:
    for scale, word in ((1e9, "billion "), (1e6, "million "), (1e3, "thousand ")):
        if peak >= scale:
            return scale, word
    return 1.0, ""


# ---------------------------------------------------------------------- output
def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150, force: bool = False) -> Path:
    """Write ``fig`` to ``path``; the format follows the suffix (``.png``, ``.svg``,
    ``.pdf``). Missing parent folders are created. Returns the path.

    The file is written whole or not at all, and an existing file is replaced only
    when it is a forcegen figure or ``force`` is true
    (:func:`~forcegen.results.outputs.write_figure`).

    Raises:
        UsageError: Another suffix.
        OutputError: The target may not or cannot be written.
    """
    with figure_style():
        return write_figure(fig, path, dpi=dpi, force=force)


def figure_to_bytes(fig: Figure, fmt: str = "png", *, dpi: int = 110) -> bytes:
    """The figure encoded as PNG or SVG bytes (for embedding in the HTML report)."""
    buffer = io.BytesIO()
    with figure_style():
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=_metadata(fmt))
    return buffer.getvalue()


def _metadata(fmt: str) -> dict[str, Any] | None:
    # One definition for every figure forcegen writes: it names forcegen in the file
    # (so a re-run recognises it) and fixes the dates (byte-stable outputs).
    return figure_metadata(fmt)


FIGURES: dict[str, Callable[[Result], Figure]] = {
    "fan": fan_chart,
    "inflows": inflows_chart,
    "outflows": outflows_chart,
    "losses": losses_chart,
    "cost": cost_chart,
    "pools": pools_chart,
}
"""``forcegen plot --kind`` name → figure function."""
