"""The report's "Fit to the public record" section: a run against an observation ledger.

:func:`fit_html` renders a :class:`FitSection` — a :class:`~forcegen.observations.check.
CheckResult` (every usable row's predictive band with its observation model applied,
percentile, 50 %/90 % coverage and interval score) and an optional cut-off — as HTML:
the sources the model disagrees with (rows outside their 90 % band, listed plainly as
a finding), summaries by series and by source, one figure and one table per series,
and the rows that could not be used, with why. Rows not known at the cut-off are
marked out of sample; rows resting on unverified reports are marked in every figure
caption and table. Source addresses are shown as text, never linked or fetched.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from forcegen.observations.check import UNVERIFIED, CheckResult, known_by
from forcegen.observations.measure import Measurement

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FitSection", "annotated_table", "disagreements", "fit_html"]

UNVERIFIED_MARK = "⚠ unverified"
"""The mark of a row resting on an unverified report."""


@dataclass(frozen=True)
class FitSection:
    """What the report's fit section shows.

    Attributes:
        checked: The run checked against the ledger.
        ledger: The ledger's name as shown (file name).
        cutoff: Rows not known by this date are out of sample; None: no cut-off.
        cutoff_basis: Where the cut-off comes from (``--cutoff``, or the calibration).
    """

    checked: CheckResult
    ledger: str
    cutoff: dt.date | None = None
    cutoff_basis: str = ""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def annotated_table(section: FitSection) -> pd.DataFrame:
    """The check table with the report's columns added: ``unverified`` (rests on an
    unverified report), ``out_of_sample`` (not known at the cut-off), ``low`` and
    ``high`` (the source's stated range in model units, NaN without one), ``title``
    and ``url`` of the source."""
    table = section.checked.table.copy()
    ms = section.checked.resolved.measurements
    table["unverified"] = [m.row.verification == UNVERIFIED for m in ms]
    cutoff = section.cutoff
    table["out_of_sample"] = [cutoff is not None and not known_by(m, cutoff) for m in ms]
    table["low"] = [_stated(m, m.row.low) for m in ms]
    table["high"] = [_stated(m, m.row.high) for m in ms]
    table["title"] = [m.row.source_title for m in ms]
    table["url"] = [m.row.source_url for m in ms]
    return table


def _stated(m: Measurement, value: float | None) -> float:
    # The source's range in model units: the same scale as its figure (percent → share).
    return math.nan if value is None else value * m.observed / m.row.value


def disagreements(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`annotated_table` outside their 90 % predictive band (one-sided
    figures: the band does not reach past them), in ledger order."""
    return table[~table["inside90"].astype(bool)]


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _observed(r: Mapping[Any, Any]) -> str:
    sign = {"lower": "&gt; ", "upper": "&lt; "}.get(str(r["bound"]), "")
    text = f"<span class='num'>{sign}{_num(float(r['observed']))}</span>"
    if math.isfinite(float(r["low"])) and math.isfinite(float(r["high"])):
        text += f" <span class='band'>[{_num(float(r['low']))}–{_num(float(r['high']))}]</span>"
    return text


def _status(status: str, unverified: bool) -> str:
    badge = f"<span class='status st-{_e(status.replace('_', '-'))}'>{_e(status)}</span>"
    return badge + (f" <span class='unv'>{_e(UNVERIFIED_MARK)}</span>" if unverified else "")


def _yes(flag: object) -> str:
    return "yes" if bool(flag) else "<strong>no</strong>"


def _sample(r: Mapping[Any, Any], cutoff: dt.date | None) -> str:
    if cutoff is None:
        return ""
    return "<td>out of sample</td>" if r["out_of_sample"] else "<td>in sample</td>"


def _unverified_note(rows: pd.DataFrame) -> str:
    ids = rows.loc[rows["unverified"], "id"].astype(str).tolist()
    if not ids:
        return "None of these rows rests on an unverified report."
    return f"Rows resting on unverified reports ({UNVERIFIED_MARK}): {', '.join(ids)}."


def _rows_table(rows: pd.DataFrame, cutoff: dt.date | None) -> str:
    sample_head = "<th>Sample</th>" if cutoff is not None else ""
    body = []
    for r in rows.to_dict("records"):
        period = f"{r['first']} – {r['date']}" if r["first"] else str(r["date"])
        cls = " class='unverified'" if r["unverified"] else ""
        body.append(
            f"<tr id='obs-{_e(r['id'])}'{cls}><td class='id'>{_e(r['id'])}</td>"
            f"<td>{_e(period)}</td><td>{_status(str(r['verification']), bool(r['unverified']))}"
            f"<br>{_e(r['claimant'])}</td>"
            f"<td class='v'>{_observed(r)}</td>"
            f"<td class='v'><span class='band'>{_num(r['q05'])} – {_num(r['q95'])}</span></td>"
            f"<td class='v'>{float(r['percentile']):.0%}</td>"
            f"<td>{_yes(r['inside50'])}</td><td>{_yes(r['inside90'])}</td>"
            f"<td class='v'>{_num(float(r['interval_score']))}</td>{_sample(r, cutoff)}</tr>"
        )
    return (
        "<div class='scroll'><table class='obs'><thead><tr><th>Row</th><th>Period or date</th>"
        "<th>Source</th><th>Observed [stated range]</th><th>5–95 % predictive</th>"
        "<th>Percentile</th><th>In 50 %</th><th>In 90 %</th><th>Interval score</th>"
        f"{sample_head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _disagreement_html(table: pd.DataFrame, cutoff: dt.date | None) -> str:
    rows = disagreements(table)
    head = (
        "<h3 id='fit-disagree'>Sources the model disagrees with</h3>"
        "<p class='hint'>Observations outside their 90 % predictive band (observation "
        "model applied). This is a finding about the model or about the source, not an "
        "error to hide: either the model misses what happened, or the source's figure "
        "does not mean what its observation model assumes.</p>"
    )
    if rows.empty:
        return head + "<p>None: every usable observation lies inside its 90 % band.</p>"
    sample_head = "<th>Sample</th>" if cutoff is not None else ""
    body = []
    for r in rows.to_dict("records"):
        side = "above" if float(r["percentile"]) > 0.5 else "below"
        cls = " class='unverified'" if r["unverified"] else ""
        url = f"<br><span class='url'>{_e(r['url'])}</span>" if r["url"] else ""
        body.append(
            f"<tr{cls}><td class='id'><a href='#obs-{_e(r['id'])}'>{_e(r['id'])}</a></td>"
            f"<td>{_e(r['quantity'])}<br><span class='hint'>{_e(r['date'])}</span></td>"
            f"<td class='src'>{_e(r['claimant'])}<br><span class='hint'>{_e(r['title'])}</span>"
            f"{url}</td>"
            f"<td>{_status(str(r['verification']), bool(r['unverified']))}</td>"
            f"<td class='v'>{_observed(r)}</td>"
            f"<td class='v'><span class='band'>{_num(r['q05'])} – {_num(r['q95'])}</span></td>"
            f"<td>{side} ({float(r['percentile']):.0%})</td>{_sample(r, cutoff)}</tr>"
        )
    return (
        head + f"<p>{len(rows)} of {len(table)} usable observations. "
        f"{_e(_unverified_note(rows))}</p>"
        "<div class='scroll'><table class='obs'><thead><tr><th>Row</th><th>Series, date</th>"
        "<th>Claimant, source</th><th>Status</th><th>Observed</th><th>5–95 % predictive</th>"
        f"<th>Side</th>{sample_head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _summary_html(table: pd.DataFrame, by: str, title: str, anchor: str) -> str:
    out = []
    for key, part in table.groupby(by, sort=False):
        statuses = ", ".join(dict.fromkeys(part["verification"].astype(str)))
        scored = part["interval_score"].dropna()
        unverified = int(part["unverified"].sum())
        out.append(
            f"<tr><td>{_e(key)}</td><td>{_e(statuses)}</td><td class='v'>{len(part)}</td>"
            f"<td class='v'>{part['inside50'].mean():.0%}</td>"
            f"<td class='v'>{part['inside90'].mean():.0%}</td>"
            f"<td class='v'>{part['percentile'].median():.0%}</td>"
            f"<td class='v'>{_num(float(scored.mean())) if len(scored) else '–'}</td>"
            f"<td class='v'>{unverified}</td></tr>"
        )
    return (
        f"<h3 id='{anchor}'>{_e(title)}</h3><div class='scroll'><table><thead><tr>"
        f"<th>{_e(by.capitalize())}</th><th>Status</th><th>Rows</th><th>In 50 %</th>"
        "<th>In 90 %</th><th>Median percentile</th><th>Mean interval score</th>"
        f"<th>Unverified rows</th></tr></thead><tbody>{''.join(out)}</tbody></table></div>"
    )


def _coverage_line(table: pd.DataFrame, cutoff: dt.date | None) -> str:
    def share(part: pd.DataFrame) -> str:
        return (
            f"{part['inside90'].mean():.0%} inside their 90 % band and "
            f"{part['inside50'].mean():.0%} inside their 50 % band ({len(part)} rows)"
        )

    line = f"All usable rows: {share(table)}."
    if cutoff is not None:
        inside, outside = table[~table["out_of_sample"]], table[table["out_of_sample"]]
        for name, part in (("In sample", inside), ("Out of sample", outside)):
            line += f" {name}: {share(part)}." if len(part) else f" {name}: no rows."
    return line


def fit_html(section: FitSection, png: Callable[[Figure], str]) -> str:
    """The section's HTML; ``png(figure)`` returns a figure's ``data:`` URI (the
    report's embedding, so the page stays one file)."""
    checked = section.checked
    resolved = checked.resolved
    table = annotated_table(section)
    n_out = len(resolved.measurements) + len(resolved.unusable)
    cutoff = section.cutoff
    if cutoff is not None:
        cut = (
            f"Rows published after {cutoff} or covering days after it are marked "
            f"<em>out of sample</em> ({_e(section.cutoff_basis)}); hollow markers in the "
            "figures."
        )
    else:
        cut = "No cut-off was given: no row is marked in or out of sample."
    unverified = table[table["unverified"]]
    parts = [
        "<section id='fit'><h2>Fit to the public record</h2>",
        f"<p>{len(resolved.measurements)} of {n_out} outcome rows of "
        f"<span class='mono'>{_e(section.ledger)}</span> can be compared with "
        f"{_e(resolved.scenario.name)} ({resolved.usable_share:.0%}). Each row is scored "
        f"against the predictive distribution of what <em>its source</em> would report: "
        f"the simulated truth of each of the {checked.runs} replicates times the source's "
        "observation factor (drawn from its range in the quantity mapping) times its "
        "error. Percentile: where the figure falls in that distribution; interval score: "
        "of the 90 % band on the log scale (lower is better). One-sided figures (&gt; or "
        "&lt;) count as inside when the band reaches past them and are not scored. "
        f"{_e(_coverage_line(table, cutoff))} {cut}</p>",
        "<p class='note'>The observation models are assumptions stated in the mapping "
        "(docs/calibration.md), and the figures are as their sources gave them: "
        f"{len(unverified)} of the {len(table)} usable rows rest on unverified reports "
        f"and are marked {_e(UNVERIFIED_MARK)}. Bands are wide when the scenario's "
        "inputs are uncertain, so a row inside its band says little on its own.</p>",
    ]
    parts.extend(f"<p class='hint'>{_e(note)}</p>" for note in checked.notes)
    parts.append(_disagreement_html(table, cutoff))
    parts.append(_summary_html(table, "quantity", "Summary by series", "fit-series"))
    parts.append(_summary_html(table, "claimant", "Summary by source", "fit-sources"))
    parts.append("<h3 id='fit-figures'>By series</h3>")
    for k, quantity in enumerate(dict.fromkeys(table["quantity"].astype(str))):
        rows = table[table["quantity"] == quantity]
        fig: Figure = checked.figure(quantity, cutoff=cutoff)
        caption = (
            f"{quantity}: observations (colour = verification status; ▲ more than, "
            f"▼ less than) over their predictive bands. {_unverified_note(rows)}"
        )
        parts.append(
            f"<h4 id='fit-{k}'>{_e(quantity)}</h4><figure><img src='{png(fig)}' "
            f"alt='{_e(caption)}'><figcaption>{_e(caption)}</figcaption></figure>"
        )
        fig.clear()
        parts.append(_rows_table(rows, cutoff))
        parts.append(f"<p class='hint'>{_e(_unverified_note(rows))}</p>")
    if resolved.unusable:
        items = "".join(
            f"<li><span class='mono'>{_e(u.row.id)}</span> ({_e(u.row.quantity)}): "
            f"{_e(u.reason)}</li>"
            for u in resolved.unusable
        )
        parts.append(
            f"<details id='fit-unusable'><summary>{len(resolved.unusable)} outcome rows "
            f"that cannot be compared with {_e(resolved.scenario.name)}, with why</summary>"
            f"<ul>{items}</ul></details>"
        )
    parts.append("</section>")
    return "".join(parts)
