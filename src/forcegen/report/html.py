"""One self-contained HTML report of a result: answers, figures, inputs, evidence.

:func:`write_report` writes a single file that opens offline: figures are embedded as
base64 PNG, CSS is inline, there is no script, and every link is an in-page
``#anchor`` (addresses of sources are shown as text, never fetched). All text that
comes from the scenario is escaped, since a scenario is user input.

What a headline "rests mostly on". Each headline row names the sampled inputs that
move its number most across the replicates of the run, with their evidence status,
and carries the marker (⚠ and the weak statuses) when one of those rests on an
assumption, an unverified report, a denial or nothing
(:mod:`forcegen.analysis.basis`; docs/evidence.md); the marker links to the method
in the evidence appendix. The appendix also lists, for each group of headlines,
every input that *feeds* it in the model (:func:`headline_bases`), by this rule:

* **strength, hold probabilities, time below, losses by cause, in service** — every
  parameter and event: strength is a stock fed by every flow, and every flow (and so
  every loss) scales with it;
* **cost** — every parameter and event as well (payments are rates times flows and
  stocks); the appendix lists the pay inputs (pay packages, exchange rates,
  ``change_pay`` events) that enter directly, apart from the rest;
* **recruits of a channel (and its share of all recruits)** — only the inputs of
  enlistment, which in the model does not depend on losses or on the force: the
  channel's enlistment parameters; for a behavioural channel also its pay, contract
  term (bonuses are spread over it) and the exchange rates of its pay and pool wage;
  its pool; the channels drawing earlier from the same pool (with the same inputs);
  and the events that target any of these channels or the pool. The share of all
  recruits rests on every channel's recruitment inputs.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from forcegen._version import __version__
from forcegen.analysis.answers import (
    Costs,
    costs,
    day_index,
    exchange_rate,
    prob_hold,
    prob_hold_through,
    time_below,
)
from forcegen.analysis.basis import (
    ALPHA,
    MIN_RHO,
    below_outcomes,
    first_days,
    hold_outcomes,
    screen,
)
from forcegen.analysis.compare import Comparison, compare
from forcegen.errors import UsageError
from forcegen.report import figures as figs
from forcegen.results.digest import summary_totals
from forcegen.results.outputs import atomic_file, has_marker
from forcegen.results.result import Result
from forcegen.results.summary import Band, Summary
from forcegen.scenario.evidence import WEAK_STATUSES, Basis, EvidenceTable, evidence_table
from forcegen.scenario.model import EXIT_CAUSES, ChangePay, Questions, Scenario
from forcegen.scenario.walk import iter_params

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from forcegen.report.fit import FitSection

__all__ = [
    "GENERATOR",
    "HeadlineBasis",
    "headline_bases",
    "is_report",
    "questions_for",
    "render_report",
    "write_report",
]

GENERATOR = f'<meta name="generator" content="forcegen {__version__}">'
"""The tag that marks a report as forcegen's (so a re-run may replace it)."""

is_report = has_marker(b'<meta name="generator" content="forcegen', b"<title>forcegen report")
"""Whether an existing file is a forcegen report: the generator tag, or the title that
reports written before the tag existed begin with."""

WEAK_MARK = "⚠ rests mostly on weak inputs"
"""The marker's legend in the report's note; each marked headline number shows ⚠ with
the weak statuses of the inputs it rests on most (e.g. ``⚠ assumption, denied``)."""


# --------------------------------------------------------------------- the rule
@dataclass(frozen=True)
class HeadlineBasis:
    """The inputs a group of headline numbers rests on.

    Attributes:
        key: Anchor key (``all``, ``cost``, ``recruits-<channel>``, ``recruit-shares``).
        title: Heading in the appendix.
        rule: The rule in words.
        names: Parameter and event names selected (each also selects what is under
            it, as :meth:`EvidenceTable.rests_on_weak` does).
        direct: For ``cost``, the names that enter directly (pay inputs).
    """

    key: str
    title: str
    rule: str
    names: tuple[str, ...]
    direct: tuple[str, ...] = ()


def headline_bases(scenario: Scenario, table: EvidenceTable) -> dict[str, HeadlineBasis]:
    """The inputs each kind of headline number rests on (see the module docstring)."""
    everything = tuple(table.bases)
    pay_names: list[str] = [f"channels.{c.id}.pay" for c in scenario.channels]
    pay_names += [f"exchange_rates.{k}" for k in scenario.exchange_rates]
    pay_names += [f"events.{i}" for i, e in enumerate(scenario.events) if isinstance(e, ChangePay)]
    out = {
        "all": HeadlineBasis(
            "all",
            "Strength, hold probabilities, time below, losses, people in service",
            "Every parameter and event: strength is a stock fed by every flow, and every "
            "flow, losses included, scales with it.",
            everything,
        ),
        "cost": HeadlineBasis(
            "cost",
            "Cost",
            "Every parameter and event: payments are pay rates times flows and stocks of "
            "people. The pay inputs (pay packages, exchange rates, pay-change events) "
            "enter directly and are listed first.",
            everything,
            tuple(_existing(table, pay_names)),
        ),
    }
    shares: list[str] = []
    for ch in scenario.channels:
        names = _existing(table, _recruit_inputs(scenario, ch.id))
        shares += names
        out[f"recruits-{ch.id}"] = HeadlineBasis(
            f"recruits-{ch.id}",
            f"Recruits of channel {ch.id}",
            "Enlistment inputs only (enlistment does not depend on losses in the model): "
            "the channel's enlistment parameters; for a behavioural channel also its pay, "
            "contract term and the exchange rates of its pay and pool wage; its pool; "
            "channels drawing earlier from the same pool; events targeting these.",
            tuple(names),
        )
    out["recruit-shares"] = HeadlineBasis(
        "recruit-shares",
        "Shares of recruits by channel",
        "The recruitment inputs of every channel (a share divides one channel's recruits "
        "by all recruits).",
        tuple(dict.fromkeys(shares)),
    )
    return out


def _recruit_inputs(scenario: Scenario, channel: str) -> list[str]:
    order = [c.id for c in scenario.channels]
    ch = scenario.channel(channel)
    if ch.pool is not None:
        upto = scenario.channels[: order.index(channel) + 1]
        drawing = [c for c in upto if c.pool == ch.pool]
    else:
        drawing = [ch]
    names: list[str] = []
    ids = {c.id for c in drawing}
    for c in drawing:
        names.append(f"channels.{c.id}.enlistment")
        if c.enlistment.model == "behavioural":
            names += [f"channels.{c.id}.pay", f"channels.{c.id}.contract.term_days"]
            currencies = {c.pay.currency, scenario.pool(ch.pool).currency if ch.pool else None}
            names += [f"exchange_rates.{k}" for k in currencies if k in scenario.exchange_rates]
    if ch.pool is not None:
        names.append(f"pools.{ch.pool}")
    for i, ev in enumerate(scenario.events):
        if getattr(ev, "channel", None) in ids or (
            ch.pool is not None and getattr(ev, "pool", None) == ch.pool
        ):
            names.append(f"events.{i}")
    return names


def _existing(table: EvidenceTable, names: Iterable[str]) -> list[str]:
    """Names that select at least one parameter or event (absent optional parameters,
    such as the term of an indefinite contract, select nothing)."""
    return [n for n in dict.fromkeys(names) if _selected(table, [n])]


def _selected(table: EvidenceTable, names: Iterable[str]) -> list[Basis]:
    """Bases selected by ``names``, with the rule of ``EvidenceTable.rests_on_weak``."""
    chosen: dict[str, Basis] = {}
    for name in names:
        for key, basis in table.bases.items():
            if key == name or key.startswith(name + ".") or name.startswith(key + "."):
                chosen[key] = basis
    return list(chosen.values())


# --------------------------------------------------------------------- helpers
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_ID_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _anchor(prefix: str, name: str) -> str:
    """A valid, unique HTML id for ``name``; names are mostly safe already, but
    exchange-rate keys are free text."""
    safe = _ID_SAFE.sub("_", name)
    if safe != name:
        safe += f"-{zlib.crc32(name.encode('utf-8')):08x}"
    return f"{prefix}-{safe}"


def _fmt(value: float, digits: int = 0) -> str:
    if not np.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def _band(b: Band, digits: int = 0, scale: float = 1.0) -> str:
    """``median [low–high]``; amounts divided by ``scale`` keep about three
    significant figures."""
    med, lo, hi = b.median / scale, b.low / scale, b.high / scale
    if scale != 1.0:
        size = abs(med)
        digits = 2 if size < 10 else 1 if size < 100 else 0
    return (
        f"<span class='num'>{_fmt(med, digits)}</span> "
        f"<span class='band'>[{_fmt(lo, digits)}–{_fmt(hi, digits)}]</span>"
    )


def _money_scale(value: float) -> tuple[float, str]:
    """A divisor and its word for amounts of about ``value`` (currency)."""
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(value) >= scale:
            return scale, word
    return 1.0, ""


def _money(b: Band, currency: str) -> tuple[str, str]:
    """(unit label such as ``billion RUB``, band HTML) for an amount of money."""
    scale, word = _money_scale(b.median)
    return f"{word} {currency}".strip(), _band(b, scale=scale)


def _status_badge(status: str) -> str:
    return f"<span class='status st-{_e(status)}'>{_e(status)}</span>"


def _png(fig: Figure) -> str:
    data = base64.b64encode(figs.figure_to_bytes(fig, "png", dpi=110)).decode("ascii")
    return f"data:image/png;base64,{data}"


@dataclass(frozen=True)
class _Row:
    key: str
    label: str
    value: str
    basis: str
    # The answer per replicate, ranked against the sampled inputs for the row's own
    # "rests mostly on" (forcegen.analysis.basis).
    values: NDArray[np.float64] | None = None


# --------------------------------------------------------------------- questions
def questions_for(
    scenario: Scenario,
    *,
    below: Sequence[float] | None = None,
    hold: float | None = None,
    by: dt.date | str | None = None,
) -> Questions | None:
    """The questions a report leads with: those given (``--below``, ``--hold``,
    ``--by``; people and a date), else the scenario's own ``questions:``, else None
    (the report then uses fractions of the initial deployed strength).

    Raises:
        UsageError: A threshold that is not a positive number of people, ``by``
            without ``hold``, or ``by`` outside the simulated horizon.
    """
    if not below and hold is None and by is None:
        return scenario.questions
    if by is not None and hold is None:
        raise UsageError("--by is the date of --hold; give --hold N (people) too")
    levels = [float(x) for x in below or []]
    for level in [*levels, *([] if hold is None else [float(hold)])]:
        if not (np.isfinite(level) and level > 0):
            raise UsageError(f"thresholds are positive numbers of people, got {level:g}")
    day: dt.date | None = None
    if by is not None:
        try:
            day = by if isinstance(by, dt.date) else dt.date.fromisoformat(str(by))
        except ValueError:
            raise UsageError(f"--by: expected a date YYYY-MM-DD, got {by!r}") from None
        if not scenario.start_date <= day <= scenario.end_date:
            raise UsageError(
                f"--by {day} is outside the simulated horizon "
                f"{scenario.start_date} to {scenario.end_date}"
            )
    return Questions(below=levels, hold=None if hold is None else float(hold), by=day)


def _question_rows(
    result: Result, asked: Questions, q: tuple[float, float]
) -> tuple[list[_Row], list[float], list[str]]:
    """Headline rows answering the user's questions, and the below-figure's
    thresholds (people) and labels."""
    rows: list[_Row] = []
    end = result.end_date
    days = result.scenario.horizon_days
    for level in asked.below:
        below = time_below(result, level)
        p = below.probability
        rows.append(
            _Row(
                f"asked-below-{level:g}",
                f"Probability deployed strength falls below {level:,.0f} people by {end}",
                f"<span class='num'>{_e(p.format())}</span>",
                "all",
                below_outcomes(result, level),
            )
        )
        qd = below.quantiles((q[0], 0.5, q[1]))
        when = (
            f"median {qd[0.5].date()} <span class='band'>[{qd[q[0]].date()} – "
            f"{qd[q[1]].date()}]</span>"
            if p.successes
            else "does not happen in any replicate"
        )
        rows.append(
            _Row(
                f"asked-when-{level:g}",
                f"If it falls below {level:,.0f}: first date, among the {p.successes} of "
                f"{result.runs} replicates where it does",
                when,
                "all",
                first_days(below.first_day, days),
            )
        )
    if asked.hold is not None:
        day = asked.by or end
        on = prob_hold(result, asked.hold, by=day)
        through = prob_hold_through(result, asked.hold, until=day)
        last = day_index(result, day)
        rows.append(
            _Row(
                "asked-hold",
                f"Probability deployed strength is at least {asked.hold:,.0f} people on {day}",
                f"<span class='num'>{_e(on.format())}</span>",
                "all",
                hold_outcomes(result, asked.hold, last),
            )
        )
        rows.append(
            _Row(
                "asked-hold-through",
                f"Probability it is at least {asked.hold:,.0f} on every day through {day}",
                f"<span class='num'>{_e(through.format())}</span>",
                "all",
                hold_outcomes(result, asked.hold, last, through=True),
            )
        )
    levels = list(asked.below)
    return rows, levels, [f"below {x:,.0f}" for x in levels]


# --------------------------------------------------------------------- report
def render_report(
    result: Result,
    *,
    store_run_id: str | None = None,
    comparison: Comparison | Sequence[Result] | None = None,
    thresholds: Sequence[float] = (0.75, 0.5),
    q: tuple[float, float] = (0.05, 0.95),
    questions: Questions | None = None,
    fit: FitSection | None = None,
) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    sc = result.scenario
    table = evidence_table(sc)
    bases = headline_bases(sc, table)
    weak = {k: table.rests_on_weak(b.names) if b.names else None for k, b in bases.items()}
    summary = result.summary(q)
    # Per-replicate totals and daily deployed strength: for a stored run, read from
    # what was computed at save (no replicate block is read); the same numbers.
    totals = summary_totals(result)
    c = costs(result, q=q)
    pct = f"{q[0]:.0%}–{q[1]:.0%}"

    # -- headline rows
    rows: list[_Row] = []
    deployed0 = summary.strength_start.median
    deployed = result.total("strength", categories="deployed")
    rows.append(
        _Row(
            "strength-end",
            f"Deployed strength on {summary.end_date} (people)",
            _band(summary.strength_end),
            "all",
            deployed[:, -1],
        )
    )
    rows.append(
        _Row(
            "strength-start",
            f"Deployed strength on {sc.start_date} (people)",
            _band(summary.strength_start),
            "all",
            deployed[:, 0],
        )
    )
    rows.append(
        _Row(
            "in-service-end",
            "In service at the horizon: training + deployed + recovering + absent (people)",
            _band(summary.in_service_end),
            "all",
            totals["in_service_end"],
        )
    )
    # The user's questions (people) come first when there are any; otherwise the
    # thresholds are fractions of the initial deployed force, and with none deployed
    # on the first day there is nothing to hold, so those rows and the figure go.
    asked_rows: list[_Row] = []
    asked_levels: list[float] = []
    asked_labels: list[str] = []
    if questions is not None:
        asked_rows, asked_levels, asked_labels = _question_rows(result, questions, q)
        rows[:0] = asked_rows  # the user's questions first
    used = list(thresholds) if deployed0 > 0 and questions is None else []
    for frac in used:
        level = round(frac * deployed0)
        what = f"{frac:.0%} of the initial deployed strength ({level:,} people)"
        through = prob_hold_through(result, level)
        at_end = prob_hold(result, level)
        below = time_below(result, level)
        last = sc.horizon_days - 1
        rows.append(
            _Row(
                f"hold-{frac:g}",
                f"Probability deployed strength stays at or above {what} on every day",
                f"<span class='num'>{_e(through.format())}</span>",
                "all",
                hold_outcomes(result, level, last, through=True),
            )
        )
        rows.append(
            _Row(
                f"end-{frac:g}",
                f"Probability it is at or above {what} on {summary.end_date}",
                f"<span class='num'>{_e(at_end.format())}</span>",
                "all",
                hold_outcomes(result, level, last),
            )
        )
        qd = below.quantiles((q[0], 0.5, q[1]))
        when = (
            f"median {qd[0.5].date()} <span class='band'>[{qd[q[0]].date()} – "
            f"{qd[q[1]].date()}]</span>"
            if below.probability.successes
            else "does not happen in any replicate"
        )
        rows.append(
            _Row(
                f"below-{frac:g}",
                f"If it falls below {what}: first date, among the "
                f"{below.probability.successes} of {result.runs} replicates where it does",
                when,
                "all",
                first_days(below.first_day, sc.horizon_days),
            )
        )
    recruits_all = np.zeros(result.runs)
    for ch in result.channels:
        recruits_all += totals[f"recruits/{ch}"]
    for ch in result.channels:
        per = totals[f"recruits/{ch}"]
        rows.append(
            _Row(
                f"recruits-{ch}",
                f"Recruits, {ch}, over the horizon (people)",
                _band(summary.recruits_by_channel[ch]),
                f"recruits-{ch}",
                per,
            )
        )
        share = np.where(recruits_all > 0, per / np.where(recruits_all > 0, recruits_all, 1), 0)
        rows.append(
            _Row(
                f"share-{ch}",
                f"Share of all recruits from {ch} (%)",
                _band(Band.of(share * 100.0, q), 1),
                "recruit-shares",
                share * 100.0,
            )
        )
    for cause in EXIT_CAUSES:
        band = summary.losses_by_cause[cause]
        if band.high > 0:
            label = f"Exits, {cause.replace('_', ' ')}, over the horizon (people)"
            if cause == "transferred":  # not a loss to the force: renewed elsewhere
                label = "Moved to another channel on renewal, over the horizon (people)"
            exits = totals[f"losses/{cause}"]
            rows.append(_Row(f"loss-{cause}", label, _band(band), "all", exits))
    cur = sc.currency
    paid = c.per_replicate()
    with np.errstate(divide="ignore", invalid="ignore"):
        per_recruit = np.where(c.recruits > 0, paid / c.recruits, np.nan)
        per_day = np.where(c.deployed_person_days > 0, paid / c.deployed_person_days, np.nan)
    money_rows = [
        ("cost-paid", "Cost paid, total", cur, c.total(), paid),
        (
            "cost-unpaid",
            "Promised but not paid, total",
            cur,
            c.total(paid=False),
            c.per_replicate(paid=False),
        ),
        ("cost-recruit", "Paid per recruit", cur, c.per_recruit, per_recruit),
        (
            "cost-person-day",
            "Paid per deployed person-day",
            cur,
            c.per_deployed_person_day,
            per_day,
        ),
    ]
    for other in sorted(sc.exchange_rates):
        converted = costs(result, convert_to=other, q=q)
        money_rows.append(
            (
                f"cost-paid-{_anchor('x', other)}",
                f"Cost paid, total, converted to {other} at the sampled rate",
                other,
                converted.total(),
                converted.per_replicate(),
            )
        )
    for key, label, currency, band, values in money_rows:
        unit, value = _money(band, currency)
        rows.append(_Row(key, f"{label} ({unit})", value, "cost", values))

    # -- figures
    thresholds_people: list[float] = [round(f * deployed0) for f in used]
    below_labels = [
        f"below {f:.0%} of initial ({t:,})" for f, t in zip(used, thresholds_people, strict=True)
    ]
    if asked_levels:
        thresholds_people, below_labels = list(asked_levels), asked_labels
    figure_list: list[tuple[str, str, Figure]] = [
        ("fig-fan", "Deployed strength, all channels and by channel", figs.fan_chart(result))
    ]
    if thresholds_people:
        below_fig = figs.below_chart(result, thresholds_people, labels=below_labels)
        figure_list.append(
            (
                "fig-below",
                "Probability deployed strength has fallen below the thresholds",
                below_fig,
            )
        )
    figure_list += [
        ("fig-inflows", "Recruits per month by channel", figs.inflows_chart(result)),
        ("fig-outflows", "Exits per month by cause", figs.outflows_chart(result)),
        ("fig-losses", "Cumulative exits by cause", figs.losses_chart(result)),
        ("fig-cost", "Cost per month by kind", figs.cost_chart(result)),
        ("fig-pools", "Pools of eligible people", figs.pools_chart(result)),
    ]
    comp: Comparison | None = None
    if comparison is not None:
        if isinstance(comparison, Comparison):
            comp = comparison
        else:
            others = list(comparison)
            comp = compare([result, *others])
            figure_list.append(
                ("fig-compare", "Scenario comparison", figs.comparison_chart([result, *others]))
            )
    figure_html = "".join(
        f"<figure id='{fid}'><img src='{_png(f)}' alt='{_e(caption)}'>"
        f"<figcaption>{_e(caption)}</figcaption></figure>"
        for fid, caption, f in figure_list
    )
    for _, _, f in figure_list:
        f.clear()  # free the figures' memory (they are not attached to pyplot)

    # -- assemble
    parts = [
        _head(sc),
        _header(result, store_run_id),
        _note(table),
        _toc(comp is not None, fit is not None),
        "<section id='headlines'><h2>Headline answers</h2>",
        f"<p class='hint'>Bands: median [{pct}] of {result.runs} replicates. Probabilities "
        "are shares of replicates, with a 95 % Wilson interval for the Monte-Carlo error "
        "only; parameter uncertainty is inside the share when parameters are sampled "
        f"({'they are' if result.sample_parameters else 'they are not'} here).</p>",
        _headline_table(rows, _rests_cells(result, rows)),
        "</section>",
        f"<section id='figures'><h2>Figures</h2>{figure_html}</section>",
        _tables(result, c, summary, pct),
        _comparison_html(comp) if comp is not None else "",
        _fit_html(fit) if fit is not None else "",
        _parameters_html(result, table),
        _appendix(sc, table, bases, weak, rows),
        _footer(result),
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(
    result: Result,
    path: str | Path,
    *,
    store_run_id: str | None = None,
    comparison: Comparison | Sequence[Result] | None = None,
    thresholds: Sequence[float] = (0.75, 0.5),
    questions: Questions | None = None,
    force: bool = False,
    fit: FitSection | None = None,
) -> Path:
    """Write the self-contained HTML report of ``result`` to ``path``.

    The file is written whole or not at all (:func:`~forcegen.results.outputs.atomic_file`);
    an existing file is replaced only when it is a forcegen report (:data:`is_report`)
    or ``force`` is true.

    Args:
        result: The ensemble to report.
        path: Output file (``.html``); parent folders are created.
        store_run_id: Run id in the results store, shown for provenance.
        comparison: Other results run with the same seed (compared with ``result``
            and overlaid in a figure), or a ready :class:`Comparison` (tables only).
        thresholds: Fractions of the median initial deployed strength for the hold
            probabilities and times below (e.g. 0.75 and 0.5), when there are no
            ``questions``.
        questions: The user's questions (thresholds in people, a date; see
            :func:`questions_for`), answered first in place of ``thresholds``.
        force: Replace an existing file even if forcegen did not write it.
        fit: The run checked against an observation ledger: adds the section "Fit to
            the public record" (:mod:`forcegen.report.fit`); None leaves it out.

    Returns:
        The path written.

    Raises:
        OutputError: ``path`` is a folder, not forcegen's (without ``force``), or the
            operating system refused the write (full disk, permissions).
    """
    if any(not 0 < f < 10 for f in thresholds):
        raise UsageError("thresholds are fractions of the initial deployed strength, e.g. 0.75")
    out = Path(path)
    text = render_report(
        result,
        store_run_id=store_run_id,
        comparison=comparison,
        thresholds=thresholds,
        questions=questions,
        fit=fit,
    )
    with atomic_file(out, force=force, recognise=is_report) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out


# --------------------------------------------------------------------- sections
_CSS = """
:root{--ink:#1d1d1f;--muted:#5f6368;--rule:#d9d9de;--warn:#8a4b00;--warnbg:#fff2dc}
*{box-sizing:border-box}
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);max-width:1040px;margin:0 auto;padding:24px 28px 64px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 10px;
border-bottom:1px solid var(--rule);padding-bottom:4px}h3{font-size:16px;margin:22px 0 6px}
.sub{color:var(--muted);margin:0 0 12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;font-size:13px;
color:var(--muted);margin:10px 0}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.note{background:var(--warnbg);border-left:4px solid #e69f00;padding:10px 14px;margin:16px 0}
nav ol{columns:2;font-size:14px;margin:6px 0}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:8px 0 14px}
th,td{border-bottom:1px solid var(--rule);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f7;font-weight:600}
td.v{text-align:right}
.num{font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}
.band{color:var(--muted);font-variant-numeric:tabular-nums;white-space:nowrap}
.scroll{overflow-x:auto}
td.mono,a.mono{overflow-wrap:anywhere}
table.params{table-layout:fixed}
table.params col.c1{width:27%}table.params col.c2{width:9%}table.params col.c3{width:17%}
table.params col.c4{width:15%}table.params col.c5{width:32%}
a.weak{display:inline-block;font-size:12px;color:var(--warn);background:var(--warnbg);
border:1px solid #f0c987;border-radius:4px;padding:0 5px;text-decoration:none;
white-space:nowrap}
a.weak:hover{text-decoration:underline}
.status{display:inline-block;font-size:11.5px;border-radius:3px;padding:0 5px;
white-space:nowrap;border:1px solid transparent}
.st-official-claim{background:#e3effa;border-color:#9cc3e8}
.st-independent-count{background:#e0f3ec;border-color:#8fd0b8}
.st-estimate{background:#eeeef8;border-color:#b7b7da}
.st-unverified-report{background:#fff0d6;border-color:#f0c07a}
.st-denied{background:#fbe3de;border-color:#eba797}
.st-assumption{background:#f1f1f1;border-color:#c9c9c9}
.st-default{background:#f7f7f7;border-color:#dddddd;color:#666}
figure{margin:18px 0;padding:0}figure img{max-width:100%;height:auto;display:block;
border:1px solid var(--rule)}figcaption{font-size:13px;color:var(--muted);margin-top:4px}
.hint{font-size:13px;color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.claim{border:1px solid var(--rule);border-radius:6px;padding:8px 12px;margin:10px 0}
.claim .stmt{margin:4px 0}.claim dl{display:grid;grid-template-columns:max-content 1fr;
gap:0 12px;font-size:13px;margin:4px 0}.claim dt{color:var(--muted)}.claim dd{margin:0}
.url{word-break:break-all;color:var(--muted)}
ul.names{columns:2;font-size:12.5px;margin:4px 0 8px}
:target{outline:2px solid #e69f00;outline-offset:2px}
footer{margin-top:40px;font-size:12.5px;color:var(--muted)}
h4{font-size:15px;margin:20px 0 4px}
.unv{font-size:11.5px;color:var(--warn);white-space:nowrap}
tr.unverified td{background:#fbf6ff}
table.obs{font-size:12.5px;min-width:720px}
table.obs td.id{white-space:nowrap;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table.obs .url{font-size:11px}
table.obs td.src{min-width:220px}
details{margin:12px 0;font-size:13px}
@media print{a.weak{border:none}nav{display:none}}
"""


def _head(sc: Scenario) -> str:
    title = f"forcegen report — {sc.title or sc.name}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"{GENERATOR}"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
    )


def _header(result: Result, run_id: str | None) -> str:
    sc = result.scenario
    meta = [
        ("Scenario", f"{sc.name} (hash {result.scenario_hash[:12]})"),
        ("Period", f"{sc.start_date} to {result.end_date} ({sc.horizon_days} days)"),
        (
            "Ensemble",
            f"{result.runs} replicates, seed {result.seed}, {result.mode}, parameters "
            f"{'sampled per replicate' if result.sample_parameters else 'at their means'}",
        ),
        ("forcegen", f"version {result.version}; simulated in {result.elapsed_seconds:.1f} s"),
    ]
    if run_id is not None:
        meta.append(("Stored run", run_id))
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta)
    desc = f"<p class='sub'>{_e(sc.description)}</p>" if sc.description else ""
    return f"<header><h1>{_e(sc.title or sc.name)}</h1>{desc}<dl class='meta'>{items}</dl></header>"


def _param_bases(table: EvidenceTable) -> list[Basis]:
    return [b for n, b in table.bases.items() if not _is_event(n)]


def _is_event(name: str) -> bool:
    return name.startswith("events.") and name.count(".") == 1


def _note(table: EvidenceTable) -> str:
    params = _param_bases(table)
    status = {u.claim.id: u.claim.status for u in table.claims}
    stated = sum(b.assumption is not None and not b.default for b in params)
    default = sum(b.assumption is not None and b.default for b in params)
    unverified = sum(any(status.get(c) == "unverified-report" for c in b.claims) for b in params)
    denied = sum(any(status.get(c) == "denied" for c in b.claims) for b in params)
    unsourced = len(table.unsourced)
    extra = f", and {unsourced} have no source or assumption at all" if unsourced else ""
    return (
        "<section class='note' id='note'><strong>Read with care.</strong> Several inputs "
        "of this scenario are unverified or assumed. Of its "
        f"{len(params)} parameters, {stated} state an assumption (some alongside cited "
        f"claims), {default} take a model default, {unverified} cite unverified reports "
        f"and {denied} cite claims that were denied{extra}. The numbers below show what "
        "follows from these inputs under the model; they are neither forecasts nor "
        "observations. Each headline number names the uncertain inputs that move it most "
        "across the replicates, with their status; numbers marked "
        f"<span class='status st-unverified-report'>{_e(WEAK_MARK)}</span> rest mostly on "
        "an assumption, an unverified report or a denied claim "
        "(<a href='#basis-method'>how this is found</a>).</section>"
    )


def _fit_html(fit: FitSection) -> str:
    from forcegen.report.fit import fit_html

    return fit_html(fit, _png)


def _toc(with_comparison: bool, with_fit: bool = False) -> str:
    items = [
        ("headlines", "Headline answers"),
        ("figures", "Figures"),
        ("tables", "Tables"),
        *([("comparison", "Comparison")] if with_comparison else []),
        *([("fit", "Fit to the public record")] if with_fit else []),
        ("parameters", "Parameters and sampled ranges"),
        ("appendix", "Evidence appendix"),
    ]
    li = "".join(f"<li><a href='#{k}'>{_e(v)}</a></li>" for k, v in items)
    return f"<nav><ol>{li}</ol></nav>"


def _headline_table(rows: Sequence[_Row], rests: Mapping[str, str]) -> str:
    body = "".join(
        f"<tr id='h-{_e(r.key)}'><td>{_e(r.label)}</td><td class='v'>{r.value}</td>"
        f"<td>{rests.get(r.key, '')}</td></tr>"
        for r in rows
    )
    return (
        "<table class='headlines'><thead><tr><th>Quantity</th><th>Value</th>"
        f"<th>Rests mostly on</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _rests_cells(result: Result, rows: Sequence[_Row], top: int = 3) -> dict[str, str]:
    """Each headline row's "rests mostly on" cell: the sampled inputs that move its
    answer most across the replicates, with their evidence status (linked to the
    parameter table), and the marker when one of them is weak
    (:mod:`forcegen.analysis.basis`)."""
    inputs = screen(result)
    cells: dict[str, str] = {}
    for r in rows:
        if r.values is None:
            continue
        b = inputs.basis(r.values)
        if not b.inputs:
            cells[r.key] = f"<span class='hint'>{_e(b.brief())}</span>"
            continue
        named = "; ".join(
            f"<a class='mono' href='#{_anchor('param', w.name)}'>{_e(w.name)}</a> "
            f"{_status_badge(w.status)} <span class='band'>ρ {_rho(w.rho)}</span>"
            for w in b.inputs[:top]
        )
        if len(b.inputs) > top:
            named += f" <span class='hint'>{_e(b.more(top).strip())}</span>"
        marker = f"<a class='weak' href='#basis-method'>{_e(b.marker())}</a> " if b.marked else ""
        cells[r.key] = marker + named
    return cells


def _rho(value: float) -> str:
    return ("−" if value < 0 else "+") + f"{abs(value):.2f}"


def _tables(result: Result, c: Costs, summary: Summary, pct: str) -> str:
    sc = result.scenario
    out = ["<section id='tables'><h2>Tables</h2>"]
    # strength and recruits by channel
    head = (
        f"<tr><th>Channel</th><th>Deployed on {summary.end_date}</th>"
        f"<th>Recruits over the horizon</th><th>Kind</th><th>Enlistment</th></tr>"
    )
    body = "".join(
        f"<tr><td>{_e(ch.id)}<br><span class='hint'>{_e(ch.label)}</span></td>"
        f"<td class='v'>{_band(summary.strength_end_by_channel[ch.id])}</td>"
        f"<td class='v'>{_band(summary.recruits_by_channel[ch.id])}</td>"
        f"<td>{_e(ch.kind)}</td><td>{_e(ch.enlistment.model)}</td></tr>"
        for ch in sc.channels
    )
    out.append(f"<h3>By channel (people; median [{pct}])</h3><table>{head}{body}</table>")
    # losses by cause
    body = "".join(
        f"<tr><td>{_e(cause.replace('_', ' '))}</td><td class='v'>{_band(b)}</td></tr>"
        for cause, b in summary.losses_by_cause.items()
    )
    out.append(
        f"<h3>Exits by cause over the horizon (people; median [{pct}])</h3>"
        f"<table><tr><th>Cause</th><th>Exits</th></tr>{body}</table>"
    )
    # costs by kind
    cur = c.currency
    scale, word = _money_scale(c.total().median)
    body = "".join(
        f"<tr><td>{_e(kind.replace('_', ' '))}</td>"
        f"<td class='v'>{_band(c.total(kind), scale=scale)}</td>"
        f"<td class='v'>{_band(c.total(kind, paid=False), scale=scale)}</td></tr>"
        for kind in c.kinds
    )
    body += (
        f"<tr><th>total</th><td class='v'>{_band(c.total(), scale=scale)}</td>"
        f"<td class='v'>{_band(c.total(paid=False), scale=scale)}</td></tr>"
    )
    unit = f"{word} {cur}".strip()
    out.append(
        f"<h3>Cost by kind over the horizon ({_e(unit)}; median [{pct}])</h3>"
        f"<table><tr><th>Kind</th><th>Paid</th><th>Promised, not paid</th></tr>{body}</table>"
    )
    rates = []
    for other in sorted(sc.exchange_rates):
        rate = exchange_rate(result, other)
        lo, hi = np.quantile(rate, [0.05, 0.95])
        rates.append(f"{_e(other)}: {lo:,.4g}–{hi:,.4g} {_e(cur)} per {_e(other)}")
    if rates:
        out.append(
            "<p class='hint'>Exchange rates used (5–95 % of replicates): "
            + "; ".join(rates)
            + ". Costs are recorded in the scenario currency at each replicate's rate.</p>"
        )
    out.append("</section>")
    return "".join(out)


def _comparison_html(comp: Comparison) -> str:
    out = ["<section id='comparison'><h2>Comparison</h2>"]
    out.append(
        f"<p class='hint'>Paired per-replicate differences against {_e(comp.names[0])}, "
        f"{comp.runs} replicates run with seed {comp.seed} (common random numbers). "
        f"Bands: median [{comp.q[0]:.0%}–{comp.q[1]:.0%}].</p>"
    )
    for pair in comp.pairs:
        out.append(f"<h3>{_e(pair.other)} − {_e(pair.base)}</h3>")
        cells = []
        for qd in pair.quantities:
            scale, name = 1.0, qd.name
            if qd.unit not in ("people", "person-days"):  # money: scale to millions etc.
                scale, word = _money_scale(max(abs(qd.base.median), abs(qd.other.median)))
                name = qd.name.replace(f"({qd.unit})", f"({word} {qd.unit})".replace("( ", "("))
            cells.append(
                f"<tr><td>{_e(name)}</td><td class='v'>{_band(qd.base, scale=scale)}</td>"
                f"<td class='v'>{_band(qd.other, scale=scale)}</td>"
                f"<td class='v'>{_band(qd.difference, scale=scale)}</td>"
                f"<td class='v'>{qd.share_higher:.0%}</td></tr>"
            )
        body = "".join(cells)
        out.append(
            f"<table><tr><th>Quantity</th><th>{_e(pair.base)}</th><th>{_e(pair.other)}</th>"
            "<th>Difference</th><th>Replicates higher</th></tr>"
            f"{body}</table>"
        )
        if pair.parameters:
            body = "".join(
                f"<tr><td class='mono'>{_e(p.name)}</td><td>{_e(p.change)}</td>"
                f"<td>{_e(p.before or '')}</td><td>{_e(p.after or '')}</td></tr>"
                for p in pair.parameters
            )
            out.append(
                "<p>Parameters that differ:</p><table><tr><th>Parameter</th><th>Change</th>"
                f"<th>{_e(pair.base)}</th><th>{_e(pair.other)}</th></tr>{body}</table>"
            )
        if pair.structure:
            items = "".join(f"<li>{_e(line)}</li>" for line in pair.structure)
            out.append(f"<p>Other differences:</p><ul>{items}</ul>")
    out.append("</section>")
    return "".join(out)


def _num(x: float) -> str:
    """Compact number: thousands separated from 1,000 up, else four significant digits."""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _sampled(values: NDArray[np.float64] | None) -> str:
    if values is None:
        return "<span class='hint'>not sampled (point value)</span>"
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        lo, hi = np.quantile(arr, [0.05, 0.95])
        return f"{_num(lo)} – {_num(hi)}"
    steps = []
    for k in range(arr.shape[1]):
        lo, hi = np.quantile(arr[:, k], [0.05, 0.95])
        steps.append(f"{_num(lo)}–{_num(hi)}")
    return "per step: " + "; ".join(steps)


def _basis_cell(table: EvidenceTable, name: str, claims: Mapping[str, str]) -> str:
    basis = table.bases.get(name)
    if basis is None:
        return ""
    bits = [
        f"<a href='#{_anchor('claim', c)}'>{_status_badge(claims[c])} {_e(c)}</a>"
        for c in basis.claims
    ]
    if basis.assumption is not None:
        kind = "default" if basis.default else "assumption"
        bits.append(f"{_status_badge(kind)} {_e(basis.assumption)}")
    if not bits:
        bits.append("<span class='status st-denied'>unsourced</span>")
    return "<br>".join(bits)


def _parameters_html(result: Result, table: EvidenceTable) -> str:
    sc = result.scenario
    claims = {u.claim.id: u.claim.status for u in table.claims}
    main: list[str] = []
    defaults: list[str] = []
    for ref in iter_params(sc):
        basis = table.bases.get(ref.name)
        note = f"<br><span class='hint'>{_e(ref.param.note)}</span>" if ref.param.note else ""
        row = (
            f"<tr id='{_anchor('param', ref.name)}'><td class='mono'>{_e(ref.name)}</td>"
            f"<td>{_e(ref.unit)}</td><td>{_e(ref.param.describe())}</td>"
            f"<td class='v'>{_sampled(result.parameters.get(ref.name))}</td>"
            f"<td>{_basis_cell(table, ref.name, claims)}{note}</td></tr>"
        )
        (defaults if basis is not None and basis.default else main).append(row)
    head = (
        "<colgroup><col class='c1'><col class='c2'><col class='c3'><col class='c4'>"
        "<col class='c5'></colgroup>"
        "<tr><th>Parameter</th><th>Unit</th><th>Distribution</th>"
        "<th>Sampled 5–95 %</th><th>Evidence / assumption</th></tr>"
    )
    out = [
        "<section id='parameters'><h2>Parameters and sampled ranges</h2>",
        "<p class='hint'>Every parameter of the scenario, its distribution, the 5–95 % "
        "range of the values drawn in this ensemble, and what it rests on.</p>",
        f"<table class='params'>{head}{''.join(main)}</table>",
    ]
    if defaults:
        out.append(
            f"<h3>Model defaults ({len(defaults)})</h3><p class='hint'>Parameters the "
            "scenario does not set; they take the model's default value.</p>"
            f"<table class='params'>{head}{''.join(defaults)}</table>"
        )
    out.append("</section>")
    return "".join(out)


def _names_list(names: Iterable[str], prefix: str = "param", *, fold: int = 12) -> str:
    """Linked list of parameter names; folded into a ``<details>`` when longer than
    ``fold`` (anchors point at the headings around it, never inside)."""
    chosen = list(names)
    items = "".join(
        f"<li><a class='mono' href='#{_anchor(prefix, n)}'>{_e(n)}</a></li>" for n in chosen
    )
    if not items:
        return ""
    listing = f"<ul class='names'>{items}</ul>"
    if len(chosen) > fold:
        return f"<details><summary>show all {len(chosen)}</summary>{listing}</details>"
    return listing


def _resting_groups(
    groups: Sequence[str],
    bases: Mapping[str, HeadlineBasis],
    rows_by_basis: Mapping[str, Sequence[_Row]],
) -> str:
    """Headline numbers resting on a claim, by group: a group of many numbers is named
    and counted (linking to its basis); a small one lists its numbers."""
    if not groups:
        return "<p class='hint'>No headline number.</p>"
    items = []
    for key in groups:
        rows = rows_by_basis[key]
        head = f"<a href='#basis-{_e(key)}'>{_e(bases[key].title)}</a>"
        if len(rows) > 3:
            items.append(f"<li>{head}: all {len(rows)} numbers of this group</li>")
        else:
            links = ", ".join(f"<a href='#h-{_e(r.key)}'>{_e(r.label)}</a>" for r in rows)
            items.append(f"<li>{head}: {links}</li>")
    return f"<ul>{''.join(items)}</ul>"


def _appendix(
    sc: Scenario,
    table: EvidenceTable,
    bases: Mapping[str, HeadlineBasis],
    weak: Mapping[str, object],
    rows: Sequence[_Row],
) -> str:
    out = [
        "<section id='appendix'><h2>Evidence appendix</h2>",
        "<p class='hint'>Every claim of the scenario's evidence ledger with its verification "
        "status as the source gives it, the parameters and events resting on it, and the "
        "headline numbers that rest on those. Source addresses are shown as text; this "
        "report links to nothing outside itself.</p>",
    ]
    counts = ", ".join(f"{v} {k}" for k, v in table.claims_by_status.items() if v)
    out.append(f"<p>{len(table.claims)} claims: {_e(counts or 'none')}.</p>")
    rows_by_basis: dict[str, list[_Row]] = {}
    for r in rows:
        rows_by_basis.setdefault(r.basis, []).append(r)
    selected = {k: {b.name for b in _selected(table, hb.names)} for k, hb in bases.items()}
    for use in table.claims:
        cl = use.claim
        users = set(use.parameters) | set(use.events)
        groups = [k for k, sel in selected.items() if users & sel and rows_by_basis.get(k)]
        value = ""
        if cl.value is not None:
            value = f"{cl.value:,g}"
        elif cl.range is not None:
            value = f"{cl.range[0]:,g} – {cl.range[1]:,g}"
        if value and cl.unit:
            value += f" {cl.unit}"
        fields = [
            ("Claimant", cl.claimant),
            ("Publication", cl.publication),
            ("Published", str(cl.published)),
        ]
        if value:
            fields.append(("Value", value))
        if cl.note:
            fields.append(("Note", cl.note))
        dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in fields)
        if cl.url:
            dl += f"<dt>Address</dt><dd class='url'>{_e(cl.url)}</dd>"
        params = _names_list(use.parameters) or "<p class='hint'>No parameter cites it.</p>"
        events = "<p>Events: " + ", ".join(_e(n) for n in use.events) + "</p>" if use.events else ""
        results = _resting_groups(groups, bases, rows_by_basis)
        out.append(
            f"<div class='claim' id='{_anchor('claim', cl.id)}'>"
            f"<div>{_status_badge(cl.status)} <strong class='mono'>{_e(cl.id)}</strong></div>"
            f"<p class='stmt'>{_e(cl.statement)}</p><dl>{dl}</dl>"
            f"<p><strong>Parameters resting on it</strong></p>{params}{events}"
            f"<p><strong>Headline numbers resting on it</strong></p>{results}</div>"
        )
    # what each group of headline numbers rests on
    out.append(
        "<h3 id='basis-method'>How “rests mostly on” is found</h3><p>Every replicate "
        "draws its own value of each uncertain input and gives its own answer. For each "
        "headline number, the inputs named are those whose values are most strongly "
        "associated with the number across the replicates of this run: the Spearman rank "
        f"correlation ρ (shown with its sign) reaches at least {MIN_RHO:g}, and more than "
        "an input unrelated to the number would reach by chance among this many inputs "
        f"and replicates ({ALPHA:.0%} level, Bonferroni). A probability is ranked as the "
        "yes/no of each replicate, a first date below with “never” after the horizon. "
        "⚠ with the weak statuses marks a number when a named input rests on an "
        "assumption (stated or a model default), an unverified report, a denied claim or "
        "nothing; a number whose named inputs rest on official claims, independent counts "
        "or estimates carries none.</p><p class='hint'>Limits: the correlation measures "
        "association within the sampled ranges, not causation; all inputs vary together, "
        "so a weak or non-monotone effect can go unnamed, and with few replicates only "
        "strong ones are named. Point values do not vary and are never named, however "
        "they are sourced: they are listed in the parameter table and below.</p>"
        "<h3 id='bases'>Inputs that feed the headline numbers in the model</h3>"
        "<p class='hint'>Everything a group of headline numbers can depend on in the "
        "model, sampled or not, whether or not it moves the numbers in this run.</p>"
    )
    status = {u.claim.id: u.claim.status for u in table.claims}
    for key, hb in bases.items():
        chosen = _selected(table, hb.names)
        direct = {b.name for b in _selected(table, hb.direct)} if hb.direct else set()
        weak_claims = sorted({c for b in chosen for c in b.claims if status[c] in WEAK_STATUSES})
        stated = [b.name for b in chosen if b.assumption is not None and not b.default]
        default = [b.name for b in chosen if b.assumption is not None and b.default]
        claim_items = "".join(
            f"<li><a href='#{_anchor('claim', c)}'>{_status_badge(status[c])} {_e(c)}</a></li>"
            for c in weak_claims
        )
        flagged = "includes weak inputs" if weak.get(key) else "no weak input"
        parts = [
            f"<div class='claim' id='basis-{_e(key)}'><strong>{_e(hb.title)}</strong> "
            f"<span class='hint'>({flagged}; {len(chosen)} inputs)</span>",
            f"<p class='hint'>{_e(hb.rule)}</p>",
        ]
        if claim_items and not direct:
            parts.append(f"<p>Unverified or denied claims:</p><ul class='names'>{claim_items}</ul>")
        if direct:
            # Only the direct inputs are listed; the rest are those of the "all" group.
            weak_direct = sorted(
                {
                    c
                    for b in chosen
                    if b.name in direct
                    for c in b.claims
                    if status[c] in WEAK_STATUSES
                }
            )
            d_stated = [n for n in stated if n in direct]
            d_default = [n for n in default if n in direct]
            links = ", ".join(f"<a href='#{_anchor('claim', c)}'>{_e(c)}</a>" for c in weak_direct)
            parts.append(
                f"<p>Pay inputs entering directly: {len(d_stated)} state assumptions, "
                f"{len(d_default)} are model defaults"
                + (f"; unverified or denied claims among them: {links}" if links else "")
                + ".</p>"
                + _names_list(d_stated + d_default)
                + "<p>Through the flows and stocks of people, cost also rests on every "
                "input listed under <a href='#basis-all'>the first group</a>.</p>"
            )
            stated, default = [], []
        if stated:
            parts.append(
                f"<p>Inputs stating assumptions ({len(stated)}):</p>" + _names_list(stated)
            )
        if default:
            parts.append(f"<p>Model defaults ({len(default)}):</p>" + _names_list(default))
        event_names = [b.name for b in chosen if _is_event(b.name)]
        if event_names:
            parts.append("<p>Events: " + ", ".join(_e(n) for n in event_names) + "</p>")
        parts.append("</div>")
        out.append("".join(parts))
    # assumptions grouped by rationale
    out.append("<h3 id='assumptions'>Assumptions</h3>")
    items = []
    for a in table.assumptions:
        label = "default" if a.default else "assumption"
        names = ", ".join(
            f"<a class='mono' href='#{_anchor('param', n)}'>{_e(n)}</a>" for n in a.parameters
        )
        evs = (", " + ", ".join(_e(n) for n in a.events)) if a.events else ""
        items.append(f"<li>{_status_badge(label)} {_e(a.rationale)} — {names}{evs}</li>")
    out.append(f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>")
    if table.unsourced:
        out.append("<h3>Unsourced parameters</h3>" + _names_list(table.unsourced))
    out.append("</section>")
    return "".join(out)


def _footer(result: Result) -> str:
    return (
        "<footer>Generated by forcegen "
        f"{_e(result.version)}. The result is a pure function of the scenario (hash "
        f"{_e(result.scenario_hash[:12])}), the seed ({result.seed}) and the version: "
        "rerunning them reproduces every number here.</footer>"
    )
