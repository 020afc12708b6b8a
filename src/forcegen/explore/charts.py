"""Plotly figures of the explorer (hover values, zoom, PNG from the mode bar).

Each function draws numbers from :mod:`forcegen.explore.views`; none computes
anything of its own. Colours follow the static figures (forcegen.report.figures).

Figures are plain Plotly JSON (dicts and lists), not ``plotly.graph_objects``
figures: building and validating a graph object, and copying its template, took
about 0.4 s per figure on the development machine, most of a redraw (see
docs/benchmarks.md, "The explorer: slider to chart"). The browser's plotly.js
validates the figure anyway. Long daily series are thinned to at most
:data:`MAX_POINTS` points (about one a week over three years), which a chart a few
hundred pixels wide cannot tell apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.analysis.calibration import ObservedRow
from forcegen.explore.views import Bands, bands, cumulative_cost, deployed, monthly
from forcegen.report.figures import PALETTE
from forcegen.results.result import Result

__all__ = [
    "MAX_POINTS",
    "Figure",
    "cost_figure",
    "difference_figure",
    "fan_figure",
    "flows_figure",
    "message_figure",
]

Figure = dict[str, Any]
"""A Plotly figure as JSON data: ``{"data": [traces], "layout": {...}}``."""

MAX_POINTS = 160
"""Most points per line or band edge sent to the page (first and last day kept)."""

_AXIS = {
    "gridcolor": "#EBF0F8",
    "linecolor": "#EBF0F8",
    "zerolinecolor": "#EBF0F8",
    "automargin": True,
}
# The few parts of Plotly's "plotly_white" template the charts use, written out: the
# template itself is tens of kilobytes per figure.
_TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "hoverlabel": {"align": "left"},
        "xaxis": _AXIS,
        "yaxis": _AXIS,
    }
}
_HEIGHT = 340


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title},
        "margin": {"l": 56, "r": 12, "t": 40, "b": 40},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        "template": _TEMPLATE,
        "autosize": True,
        "height": _HEIGHT,
        "xaxis": {},
        "yaxis": {},
    }
    layout.update(extra)
    return layout


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _thin(n: int) -> NDArray[np.intp]:
    """Indices of at most :data:`MAX_POINTS` of ``n`` days, first and last kept."""
    step = max(1, -(-n // MAX_POINTS))
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _days(dates: pd.DatetimeIndex, keep: NDArray[np.intp]) -> list[str]:
    """The kept days as ``YYYY-MM-DD`` (what Plotly reads as dates)."""
    return [str(d) for d in np.datetime_as_string(dates.values[keep], unit="D")]


def _numbers(values: NDArray[Any]) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]


def _line(
    dates: pd.DatetimeIndex, values: NDArray[Any], name: str, line: dict[str, Any]
) -> dict[str, Any]:
    keep = _thin(len(dates))
    return {
        "type": "scatter",
        "mode": "lines",
        "x": _days(dates, keep),
        "y": _numbers(np.asarray(values)[keep]),
        "name": name,
        "line": line,
    }


def _band(b: Bands, lo: float, hi: float, colour: str, name: str) -> dict[str, Any]:
    keep = _thin(len(b.dates))
    days = _days(b.dates, keep)
    y = np.concatenate([b.q[hi][keep], b.q[lo][keep][::-1]])
    return {
        "type": "scatter",
        "mode": "lines",
        "x": days + days[::-1],
        "y": _numbers(y),
        "fill": "toself",
        "fillcolor": _rgba(colour, 0.18 if hi - lo > 0.6 else 0.32),
        "line": {"width": 0},
        "hoverinfo": "skip",
        "name": name,
    }


def _fan(b: Bands, colour: str, label: str) -> list[dict[str, Any]]:
    return [
        _band(b, 0.05, 0.95, colour, f"{label}: 90 % band"),
        _band(b, 0.25, 0.75, colour, f"{label}: 50 % band"),
        _line(b.dates, b.q[0.5], f"{label}: median", {"color": colour, "width": 2}),
    ]


def fan_figure(
    mean_field: Result,
    ensemble: Result | None,
    *,
    channel: str | None,
    baseline: Result | None = None,
    observed: Sequence[ObservedRow] = (),
) -> Figure:
    """Deployed strength: the ensemble's fan (when ready), the mean-field line, the
    pinned baseline's median and 90 % band, and observations with their intervals."""
    data: list[dict[str, Any]] = []
    what = "all channels" if channel is None else channel
    if baseline is not None:
        base = bands(deployed(baseline, channel), baseline.dates)
        data.append(_band(base, 0.05, 0.95, "#888888", "baseline: 90 % band"))
        data.append(
            _line(
                base.dates,
                base.q[0.5],
                "baseline: median",
                {"color": "#666666", "width": 1.5, "dash": "dot"},
            )
        )
    colour = PALETTE[0] if channel is None else _channel_colour(mean_field, channel)
    if ensemble is not None:
        data += _fan(bands(deployed(ensemble, channel), ensemble.dates), colour, "now")
    data.append(
        _line(
            mean_field.dates,
            deployed(mean_field, channel)[0],
            "mean field",
            {"color": "#222222", "width": 1.5, "dash": "dash"},
        )
    )
    rows = [r for r in observed if _observed_deployed(r, channel)]
    if rows:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [r.date.isoformat() for r in rows],
                "y": [float(r.value) for r in rows],
                "name": "observed",
                "marker": {"color": "#b2182b", "size": 8, "symbol": "diamond"},
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [float(r.high - r.value) if r.high is not None else 0.0 for r in rows],
                    "arrayminus": [
                        float(r.value - r.low) if r.low is not None else 0.0 for r in rows
                    ],
                },
                "text": [r.source for r in rows],
            }
        )
    layout = _layout(
        f"Deployed strength, {what} (people)",
        yaxis={"rangemode": "tozero", "tickformat": ",.0f"},
    )
    return {"data": data, "layout": layout}


def _observed_deployed(row: ObservedRow, channel: str | None) -> bool:
    return row.series == "strength" and row.cause in (None, "deployed") and row.channel == channel


def _channel_colour(result: Result, channel: str) -> str:
    return PALETTE[result.channels.index(channel) % len(PALETTE)]


def difference_figure(diff: Bands | None, note: str) -> Figure:
    """The paired difference now − baseline (people), or ``note`` while there is none."""
    if diff is None:
        return message_figure("Now − baseline (people)", note)
    layout = _layout(
        "Now − baseline, deployed, paired by replicate (people)",
        yaxis={"tickformat": ",.0f"},
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": 0,
                "y1": 0,
                "line": {"color": "#444444", "width": 1},
            }
        ],
    )
    return {"data": _fan(diff, "#2166ac", "now − baseline"), "layout": layout}


def flows_figure(result: Result, series: str, title: str) -> Figure:
    """Monthly recruits by channel (``inflow``) or exits by cause (``outflow``),
    stacked (people per month; the ensemble mean, or the mean-field values)."""
    by = "channel" if series == "inflow" else "category"
    table = monthly(result, series, by)
    months = [d.date().isoformat() for d in table.index]
    data: list[dict[str, Any]] = []
    for i, name in enumerate(table.columns):
        values = table[name].to_numpy()
        if not np.any(values > 0):
            continue
        data.append(
            {
                "type": "bar",
                "x": months,
                "y": _numbers(values),
                "name": str(name),
                "marker": {"color": PALETTE[i % len(PALETTE)]},
            }
        )
    layout = _layout(title, barmode="stack", yaxis={"tickformat": ",.0f"})
    return {"data": data, "layout": layout}


def cost_figure(mean_field: Result, ensemble: Result | None) -> Figure:
    """Cumulative paid cost: the ensemble's fan when ready and the mean-field line."""
    currency = mean_field.scenario.currency
    data: list[dict[str, Any]] = []
    if ensemble is not None:
        data += _fan(bands(cumulative_cost(ensemble), ensemble.dates), PALETTE[2], "now")
    data.append(
        _line(
            mean_field.dates,
            cumulative_cost(mean_field)[0],
            "mean field",
            {"color": "#222222", "width": 1.5, "dash": "dash"},
        )
    )
    layout = _layout(
        f"Cost paid since the start ({currency})",
        yaxis={"rangemode": "tozero", "tickformat": ".3s"},
    )
    return {"data": data, "layout": layout}


def message_figure(title: str, text: str) -> Figure:
    """An empty chart saying why it is empty."""
    hidden = {"visible": False}
    layout = _layout(
        title,
        height=200,
        xaxis=hidden,
        yaxis=hidden,
        annotations=[
            {
                "text": text,
                "showarrow": False,
                "x": 0.5,
                "y": 0.5,
                "xref": "paper",
                "yref": "paper",
            }
        ],
    )
    return {"data": [], "layout": layout}


def dates_of(result: Result) -> pd.DatetimeIndex:
    """The simulated days of ``result``."""
    return result.dates
