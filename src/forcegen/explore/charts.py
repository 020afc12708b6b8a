"""Plotly figures of the explorer (hover values, zoom, PNG from the mode bar).

Each function draws numbers from :mod:`forcegen.explore.views`; none computes
anything of its own. Colours follow the static figures (forcegen.report.figures).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import NDArray

from forcegen.analysis.calibration import ObservedRow
from forcegen.explore.views import Bands, bands, cumulative_cost, deployed, monthly
from forcegen.report.figures import PALETTE
from forcegen.results.result import Result

__all__ = ["cost_figure", "difference_figure", "fan_figure", "flows_figure", "message_figure"]

_LAYOUT = {
    "margin": {"l": 56, "r": 12, "t": 40, "b": 40},
    "hovermode": "x unified",
    "legend": {"orientation": "h", "y": -0.18},
    "template": "plotly_white",
    "autosize": True,
    "height": 340,
}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


MAX_BAND_POINTS = 400
"""Most points per band edge sent to the page: a three-year daily band is thinned to
every third day, which a chart a few hundred pixels wide cannot tell apart, and the
page gets a third of the data to redraw (the mean-field line stays daily)."""


def _thin(n: int) -> NDArray[np.intp]:
    """Indices of at most :data:`MAX_BAND_POINTS` of ``n`` days, first and last kept."""
    step = max(1, -(-n // MAX_BAND_POINTS))
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _band(fig: go.Figure, b: Bands, lo: float, hi: float, colour: str, name: str) -> None:
    keep = _thin(len(b.dates))
    dates = b.dates[keep]
    x = list(dates) + list(dates[::-1])
    y = np.concatenate([b.q[hi][keep], b.q[lo][keep][::-1]])
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            fill="toself",
            fillcolor=_rgba(colour, 0.18 if hi - lo > 0.6 else 0.32),
            line={"width": 0},
            hoverinfo="skip",
            name=name,
        )
    )


def _fan(fig: go.Figure, b: Bands, colour: str, label: str) -> None:
    _band(fig, b, 0.05, 0.95, colour, f"{label}: 90 % band")
    _band(fig, b, 0.25, 0.75, colour, f"{label}: 50 % band")
    keep = _thin(len(b.dates))
    fig.add_trace(
        go.Scatter(
            x=b.dates[keep],
            y=b.q[0.5][keep],
            name=f"{label}: median",
            line={"color": colour, "width": 2},
        )
    )


def fan_figure(
    mean_field: Result,
    ensemble: Result | None,
    *,
    channel: str | None,
    baseline: Result | None = None,
    observed: Sequence[ObservedRow] = (),
) -> go.Figure:
    """Deployed strength: the ensemble's fan (when ready), the mean-field line, the
    pinned baseline's median and 90 % band, and observations with their intervals."""
    fig = go.Figure()
    what = "all channels" if channel is None else channel
    if baseline is not None:
        base = bands(deployed(baseline, channel), baseline.dates)
        _band(fig, base, 0.05, 0.95, "#888888", "baseline: 90 % band")
        keep = _thin(len(base.dates))
        fig.add_trace(
            go.Scatter(
                x=base.dates[keep],
                y=base.q[0.5][keep],
                name="baseline: median",
                line={"color": "#666666", "width": 1.5, "dash": "dot"},
            )
        )
    colour = PALETTE[0] if channel is None else _channel_colour(mean_field, channel)
    if ensemble is not None:
        _fan(fig, bands(deployed(ensemble, channel), ensemble.dates), colour, "now")
    fig.add_trace(
        go.Scatter(
            x=mean_field.dates,
            # A plain list, which the page reads back as numbers (tests, hover).
            y=deployed(mean_field, channel)[0].tolist(),
            name="mean field",
            line={"color": "#222222", "width": 1.5, "dash": "dash"},
        )
    )
    rows = [r for r in observed if _observed_deployed(r, channel)]
    if rows:
        fig.add_trace(
            go.Scatter(
                x=[r.date for r in rows],
                y=[r.value for r in rows],
                mode="markers",
                name="observed",
                marker={"color": "#b2182b", "size": 8, "symbol": "diamond"},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [(r.high - r.value) if r.high is not None else 0 for r in rows],
                    "arrayminus": [(r.value - r.low) if r.low is not None else 0 for r in rows],
                },
                text=[r.source for r in rows],
            )
        )
    fig.update_layout(title=f"Deployed strength, {what} (people)", **_LAYOUT)
    fig.update_yaxes(rangemode="tozero", tickformat=",.0f")
    return fig


def _observed_deployed(row: ObservedRow, channel: str | None) -> bool:
    return row.series == "strength" and row.cause in (None, "deployed") and row.channel == channel


def _channel_colour(result: Result, channel: str) -> str:
    return PALETTE[result.channels.index(channel) % len(PALETTE)]


def difference_figure(diff: Bands | None, note: str) -> go.Figure:
    """The paired difference now − baseline (people), or ``note`` while there is none."""
    if diff is None:
        return message_figure("Now − baseline (people)", note)
    fig = go.Figure()
    _fan(fig, diff, "#2166ac", "now − baseline")
    fig.add_hline(y=0, line={"color": "#444444", "width": 1})
    fig.update_layout(title="Now − baseline, deployed, paired by replicate (people)", **_LAYOUT)
    fig.update_yaxes(tickformat=",.0f")
    return fig


def flows_figure(result: Result, series: str, title: str) -> go.Figure:
    """Monthly recruits by channel (``inflow``) or exits by cause (``outflow``),
    stacked (people per month; the ensemble mean, or the mean-field values)."""
    by = "channel" if series == "inflow" else "category"
    table = monthly(result, series, by)
    fig = go.Figure()
    for i, name in enumerate(table.columns):
        if not np.any(table[name].to_numpy() > 0):
            continue
        fig.add_trace(
            go.Bar(
                x=table.index,
                y=table[name],
                name=str(name),
                marker_color=PALETTE[i % len(PALETTE)],
            )
        )
    fig.update_layout(title=title, barmode="stack", **_LAYOUT)
    fig.update_yaxes(tickformat=",.0f")
    return fig


def cost_figure(mean_field: Result, ensemble: Result | None) -> go.Figure:
    """Cumulative paid cost: the ensemble's fan when ready and the mean-field line."""
    currency = mean_field.scenario.currency
    fig = go.Figure()
    if ensemble is not None:
        _fan(fig, bands(cumulative_cost(ensemble), ensemble.dates), PALETTE[2], "now")
    fig.add_trace(
        go.Scatter(
            x=mean_field.dates,
            y=cumulative_cost(mean_field)[0],
            name="mean field",
            line={"color": "#222222", "width": 1.5, "dash": "dash"},
        )
    )
    fig.update_layout(title=f"Cost paid since the start ({currency})", **_LAYOUT)
    fig.update_yaxes(rangemode="tozero", tickformat=".3s")
    return fig


def message_figure(title: str, text: str) -> go.Figure:
    """An empty chart saying why it is empty."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(title=title, **{**_LAYOUT, "height": 200})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def dates_of(result: Result) -> pd.DatetimeIndex:
    """The simulated days of ``result``."""
    return result.dates
