"""The Dash layout and callbacks of the explorer (see :mod:`forcegen.explore.app`).

Callbacks are registered with ``app.callback(...)(function)`` so that each function
keeps its own type hints. The flow:

* a control changes → :func:`_apply` builds the scenario (or shows the problems
  beside the controls), computes its mean-field trajectory and asks for its ensemble;
  the sliders reach it through a debounce in the browser (assets/debounce.js), so
  that a key held down or pressed ten times asks for two redraws, not ten;
* a timer (:func:`_tick`) shows the ensemble's progress and says when it is ready;
* :func:`_charts` draws whatever is ready for the current setting and the baseline,
  only the figures that differ from those the page shows (each figure has a
  signature: what it is drawn from), and keeps the last figures drawn.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from forcegen.errors import ForcegenError
from forcegen.explore import charts, views
from forcegen.explore.app import (
    _SIZE_FIELDS,
    Explorer,
    _event_amount,
    as_json,
    build_from_page,
    event_label,
    param_options,
    parse_question,
    setting_from_page,
    yaml_download,
)
from forcegen.explore.levers import Lever, format_value
from forcegen.explore.memo import Memo
from forcegen.explore.setting import Base, Edit, Setting
from forcegen.report.html import questions_for
from forcegen.scenario.load import list_builtin
from forcegen.scenario.model import Scenario

__all__ = ["make_app"]

_ASSETS = Path(__file__).with_name("assets")
DEBOUNCE_MS = 300
"""A slider moved again within this many milliseconds of its last move waits until it
rests for as long; the first move of a pause is sent at once (assets/debounce.js)."""
_GRAPH_CONFIG: Any = {
    "responsive": True,
    "displaylogo": False,
    "toImageButtonOptions": {"format": "svg", "filename": "forcegen-explore"},
}


# ------------------------------------------------------------------------- layout
def _graph(gid: str) -> dcc.Graph:
    return dcc.Graph(id=gid, config=_GRAPH_CONFIG, className="fg-graph")


def _error(control: str) -> html.Div:
    return html.Div(id={"type": "err", "control": control}, className="fg-error")


def lever_controls(levers: list[Lever]) -> list[Any]:
    """A slider per lever, with its prior, its evidence status and its error line."""
    out: list[Any] = []
    for i, lv in enumerate(levers):
        out.append(
            html.Div(
                className="fg-lever",
                children=[
                    html.Div(
                        className="fg-lever-head",
                        children=[
                            html.Span(lv.name, className="fg-name"),
                            html.Span(
                                lv.status,
                                className=f"fg-status fg-status-{lv.status}",
                                title="evidence: " + (", ".join(lv.claims) or "none cited"),
                            ),
                        ],
                    ),
                    html.Div(
                        f"prior {lv.prior} {lv.unit}; slider {format_value(lv.low)} to "
                        f"{format_value(lv.high)}; ρ with strength at the horizon {lv.rho:+.2f}",
                        className="fg-note",
                    ),
                    dcc.Slider(
                        id={"type": "lever", "index": i},
                        min=lv.low,
                        max=lv.high,
                        step=lv.step,
                        value=lv.start,
                        marks=None,
                        tooltip={
                            "placement": "bottom",
                            "always_visible": True,
                            "transform": "forcegenValue",
                        },
                        updatemode="mouseup",
                        allow_direct_input=False,
                    ),
                    _error(f"lever:{lv.name}"),
                ],
            )
        )
    return out


def event_controls(base: Base) -> list[Any]:
    """Per event: on/off, its date and (for calls-up, widenings and pay changes) its
    amount."""
    out: list[Any] = []
    for i, event in enumerate(base.scenario.events):
        size_field = _SIZE_FIELDS.get(event.type)
        amount = _event_amount(event, size_field) if size_field else None
        parts: list[Any] = [
            dcc.Checklist(
                id={"type": "ev-on", "index": i},
                options=[{"label": f" {event_label(event)}", "value": "on"}],
                value=["on"],
                className="fg-check",
            ),
            html.Label(
                [
                    "date ",
                    dcc.Input(
                        id={"type": "ev-date", "index": i},
                        value=event.date.isoformat(),
                        type="text",
                        debounce=True,
                        className="fg-input",
                    ),
                ]
            ),
        ]
        parts.append(
            html.Label(
                [
                    f"{size_field} " if size_field else "",
                    dcc.Input(
                        id={"type": "ev-size", "index": i},
                        value=amount or "",
                        type="text",
                        debounce=True,
                        className="fg-input" if size_field else "fg-hidden",
                    ),
                ]
            )
        )
        parts += [_error(f"event-date:{i}"), _error(f"event-size:{i}")]
        out.append(html.Div(parts, className="fg-event"))
    return out


def _default_question(scenario: Scenario) -> str:
    q = questions_for(scenario)
    if q is not None and q.below:
        return format_value(q.below[0])
    # Without questions, as the report does: 75 % of the initial deployed strength.
    initial = 0.0
    for channel in scenario.channels:
        initial += float(channel.initial.deployed.expected()[0])
    return format_value(round(0.75 * initial, -3))


def _layout(explorer: Explorer, base_id: str) -> Any:
    base = explorer.bases[base_id]
    sc = base.scenario
    levers = explorer.sims.levers(sc)
    channels = [{"label": "all channels", "value": "*"}] + [
        {"label": c.id, "value": c.id} for c in sc.channels
    ]
    return html.Div(
        className="fg-page",
        children=[
            html.Header(
                className="fg-header",
                children=[
                    html.H1("forcegen explore"),
                    html.Div(
                        className="fg-open",
                        children=[
                            dcc.Dropdown(
                                id="source-choice",
                                options=list_builtin(),
                                value=base.label if base.label in list_builtin() else None,
                                placeholder="built-in scenario",
                                clearable=True,
                                className="fg-dropdown",
                            ),
                            dcc.Input(
                                id="source-text",
                                placeholder="or a file.yaml / run id",
                                type="text",
                                className="fg-input",
                            ),
                            html.Button("Open", id="open", className="fg-button"),
                        ],
                    ),
                    html.Div(id="source-msg", className="fg-error"),
                    html.Div(
                        f"{sc.title or sc.name} — {base.label}; {sc.start_date} to "
                        f"{sc.end_date}; seed {base.seed}; {explorer.sims.runs} replicates "
                        "per ensemble",
                        id="scenario-title",
                        className="fg-note",
                    ),
                ],
            ),
            html.Div(id="top-msg", className="fg-error"),
            html.Div(
                className="fg-main",
                children=[
                    html.Aside(
                        className="fg-controls",
                        children=[
                            html.H2("Levers"),
                            html.Div(
                                "The inputs that move deployed strength at the horizon "
                                "most (screen of sampled mean-field replicates). Moving one "
                                "fixes it at that value.",
                                className="fg-note",
                            ),
                            html.Div(lever_controls(levers), id="levers"),
                            html.H2("Events"),
                            html.Div(event_controls(base), id="events"),
                            html.H2("Any parameter"),
                            dcc.Dropdown(
                                id="search-name",
                                options=param_options(sc),
                                placeholder="search a parameter",
                                className="fg-dropdown",
                            ),
                            dcc.Input(
                                id="search-value",
                                placeholder="0.0004, range:1,2, normal:5,1 …",
                                type="text",
                                className="fg-input",
                            ),
                            html.Button("Set", id="search-set", className="fg-button"),
                            html.Button("Clear", id="search-clear", className="fg-button"),
                            html.Ul(id="searched-list", className="fg-note"),
                            _error("search"),
                            html.H2("Question"),
                            dcc.RadioItems(
                                id="q-kind",
                                options=[
                                    {"label": " falls below N", "value": "below"},
                                    {"label": " holds N by date", "value": "hold"},
                                ],
                                value="below",
                                inline=True,
                            ),
                            dcc.Input(
                                id="q-number",
                                value=_default_question(sc),
                                type="text",
                                debounce=True,
                                className="fg-input",
                            ),
                            dcc.Input(
                                id="q-by",
                                value=sc.end_date.isoformat(),
                                type="text",
                                debounce=True,
                                className="fg-input",
                            ),
                            html.Div(id="q-error", className="fg-error"),
                            html.H2("Compare"),
                            html.Button("Pin as baseline", id="pin-btn", className="fg-button"),
                            html.Button("Unpin", id="unpin-btn", className="fg-button"),
                            html.Div(id="pin-note", className="fg-note"),
                            html.H2("Take it away"),
                            html.Button("Scenario YAML", id="dl-yaml-btn", className="fg-button"),
                            html.Button("Fan PNG", id="dl-png-btn", className="fg-button"),
                            html.Button("Fan SVG", id="dl-svg-btn", className="fg-button"),
                            html.Button("HTML report", id="dl-html-btn", className="fg-button"),
                            html.Div(id="dl-msg", className="fg-error"),
                            dcc.Download(id="dl-yaml"),
                            dcc.Download(id="dl-png"),
                            dcc.Download(id="dl-svg"),
                            dcc.Download(id="dl-html"),
                        ],
                    ),
                    html.Main(
                        className="fg-charts",
                        children=[
                            html.Div(id="answer", className="fg-answer"),
                            html.Div(id="progress", className="fg-progress"),
                            dcc.Dropdown(
                                id="channel",
                                options=channels,
                                value="*",
                                clearable=False,
                                className="fg-dropdown",
                            ),
                            _graph("fan"),
                            _graph("diff"),
                            _graph("recruits"),
                            _graph("exits"),
                            _graph("cost"),
                        ],
                    ),
                ],
            ),
            dcc.Store(id="base", data=base_id),
            dcc.Store(id="lever-values", data=[lv.start for lv in levers]),
            dcc.Store(id="debounce-ms", data=DEBOUNCE_MS),
            dcc.Store(id="shown", data=None),
            dcc.Store(id="searched", data=[]),
            dcc.Store(id="current", data=None),
            dcc.Store(id="pin", data=None),
            dcc.Store(id="ready", data=None),
            dcc.Store(id="progress-seen", data=None),
            dcc.Location(id="url", refresh=True),
            dcc.Interval(id="tick", interval=400),
        ],
    )


# ---------------------------------------------------------------------- progress
@dataclass(frozen=True)
class ProgressRow:
    """One ensemble's progress as the page shows it.

    Attributes:
        label: ``"now"`` or ``"baseline"``.
        done: Replicates finished.
        total: Replicates asked for.
        error: Why the ensemble failed (None when it did not).
        finished: Whether its result is ready.
    """

    label: str
    done: int
    total: int
    error: str | None
    finished: bool

    def key(self) -> list[Any]:
        """What the row shows, as JSON-able data (compared between timer ticks)."""
        return [self.label, self.done, self.total, self.error or "", self.finished]


def progress_view(rows: list[ProgressRow], seen: list[list[Any]] | None) -> tuple[Any, Any]:
    """The progress bars and their key, or ``no_update`` for both when the page shows
    them already: the timer fires every 400 ms, and resending unchanged bars would
    make the browser re-render them (and the server serialise them) for nothing.

    Args:
        rows: The ensembles shown, baseline first.
        seen: The key of what the page shows (``None`` before the first tick).
    """
    key = [row.key() for row in rows]
    if key == seen:
        return no_update, no_update
    parts = [
        html.Div(
            [
                html.Progress(value=str(row.done), max=str(row.total)),
                html.Span(
                    f" ensemble ({row.label}): failed: {row.error}"
                    if row.error
                    else f" ensemble ({row.label}): {row.done} / {row.total} replicates"
                ),
            ],
            className="fg-progress-row " + ("fg-done" if row.finished else "fg-running"),
        )
        for row in rows
    ]
    return parts, key


# ---------------------------------------------------------------------- callbacks
def _setting_json(setting: Setting) -> dict[str, Any]:
    return {
        "edits": [[e.control, e.path, e.value] for e in setting.edits],
        "off": sorted(setting.switched_off),
    }


def _setting_of(data: dict[str, Any]) -> Setting:
    edits = tuple(Edit(str(c), str(p), str(v)) for c, p, v in data["edits"])
    return Setting(edits, frozenset(int(i) for i in data["off"]))


def make_app(explorer: Explorer, first: str) -> Dash:
    """The Dash app of ``explorer``, opening on base ``first``."""
    app = Dash(
        __name__,
        title="forcegen explore",
        assets_folder=str(_ASSETS),
        serve_locally=True,
        update_title="",
    )
    state: dict[str, str] = {"base": first}
    # Kept per server, shared by its pages: scenarios built per setting (with the
    # controls that made each edit, whose problems are shown beside them), and figures
    # and answer panels per signature (a few hundred kB each).
    built: Memo[tuple[str, str], tuple[Scenario | None, dict[str, list[str]]]] = Memo(64)
    figures: Memo[str, charts.Figure] = Memo(48)
    answers: Memo[str, Any] = Memo(32)
    app.layout = lambda: _layout(explorer, state["base"])

    def _open(n: int | None, choice: str | None, text: str | None) -> Any:
        if not n:
            raise PreventUpdate
        source = (text or "").strip() or (choice or "")
        if not source:
            return "choose a built-in scenario, or type a file path or run id", no_update
        try:
            state["base"] = explorer.open(source)
        except ForcegenError as exc:
            return str(exc), no_update
        return "", "/"

    app.callback(
        Output("source-msg", "children"),
        Output("url", "href"),
        Input("open", "n_clicks"),
        State("source-choice", "value"),
        State("source-text", "value"),
        prevent_initial_call=True,
    )(_open)

    def _search(
        n_set: int | None, n_clear: int | None, name: str | None, value: str | None, items: Any
    ) -> Any:
        items = list(items or [])
        if ctx.triggered_id == "search-clear":
            return [], []
        if not name or value in (None, ""):
            raise PreventUpdate
        items = [i for i in items if i["name"] != name] + [{"name": name, "value": value}]
        return items, [html.Li(f"{i['name']} = {i['value']}") for i in items]

    app.callback(
        Output("searched", "data"),
        Output("searched-list", "children"),
        Input("search-set", "n_clicks"),
        Input("search-clear", "n_clicks"),
        State("search-name", "value"),
        State("search-value", "value"),
        State("searched", "data"),
        prevent_initial_call=True,
    )(_search)

    def _apply(
        lever_values: list[Any],
        event_on: list[Any],
        event_dates: list[Any],
        event_sizes: list[Any],
        searched: list[dict[str, str]],
        base_id: str,
        pin: dict[str, Any] | None,
    ) -> Any:
        base = explorer.bases[base_id]
        levers = explorer.sims.levers(base.scenario)
        setting = setting_from_page(
            base, levers, lever_values, event_on, event_dates, event_sizes, searched or []
        )
        scenario, problems = built.get(
            (base_id, as_json(_setting_json(setting))),
            lambda: build_from_page(base, setting),
        )
        controls = [o["id"]["control"] for o in ctx.outputs_list[1]]
        errors = ["\n".join(problems.get(c, [])) for c in controls]
        shown = set(controls)
        rest = [m for c, ms in problems.items() if c not in shown for m in ms]
        if scenario is None:
            return no_update, errors, "\n".join(rest)
        key = explorer.remember(scenario)
        explorer.sims.mean_field(scenario)
        wanted = [explorer.scenarios[pin["hash"]]] if pin else []
        explorer.sims.want([*wanted, scenario])
        current = {"base": base_id, "hash": key, "setting": _setting_json(setting)}
        return current, errors, ""

    app.callback(
        Output("current", "data"),
        Output({"type": "err", "control": ALL}, "children"),
        Output("top-msg", "children"),
        Input("lever-values", "data"),
        Input({"type": "ev-on", "index": ALL}, "value"),
        Input({"type": "ev-date", "index": ALL}, "value"),
        Input({"type": "ev-size", "index": ALL}, "value"),
        Input("searched", "data"),
        State("base", "data"),
        State("pin", "data"),
    )(_apply)

    clientside: Any = app.clientside_callback  # Dash gives it no type hints
    clientside(
        ClientsideFunction(namespace="forcegen", function_name="debounce"),
        Output("lever-values", "data"),
        Input({"type": "lever", "index": ALL}, "value"),
        State("debounce-ms", "data"),
        prevent_initial_call=True,
    )

    def _pin(n_pin: int | None, n_unpin: int | None, current: dict[str, Any] | None) -> Any:
        if ctx.triggered_id == "unpin-btn" or current is None:
            return None, "no baseline pinned"
        explorer.sims.want([explorer.scenarios[current["hash"]]])
        edits = current["setting"]["edits"]
        what = "; ".join(f"{p} = {v}" for _, p, v in edits) or "the scenario as loaded"
        return {"hash": current["hash"], "setting": current["setting"]}, f"baseline: {what}"

    app.callback(
        Output("pin", "data"),
        Output("pin-note", "children"),
        Input("pin-btn", "n_clicks"),
        Input("unpin-btn", "n_clicks"),
        State("current", "data"),
        prevent_initial_call=True,
    )(_pin)

    def _tick(
        _n: int | None,
        current: dict[str, Any] | None,
        pin: dict[str, Any] | None,
        ready: dict[str, Any] | None,
        seen: list[list[Any]] | None,
    ) -> Any:
        if current is None:
            raise PreventUpdate
        keys = ([pin["hash"]] if pin else []) + [current["hash"]]
        explorer.sims.want([explorer.scenarios[k] for k in keys])
        states = {k: explorer.sims.state(k) for k in keys}
        now = states[current["hash"]]
        rows = [
            ProgressRow(label, s.done, s.total, s.error, s.result is not None)
            for label, key in (("baseline", pin["hash"] if pin else None), ("now", current["hash"]))
            if key is not None
            for s in (states[key],)
        ]
        parts, key = progress_view(rows, seen)
        new_ready = {
            "now": current["hash"] if now.result is not None else None,
            "pin": pin["hash"] if pin and states[pin["hash"]].result is not None else None,
        }
        return parts, key, (no_update if new_ready == ready else new_ready)

    app.callback(
        Output("progress", "children"),
        Output("progress-seen", "data"),
        Output("ready", "data"),
        Input("tick", "n_intervals"),
        State("current", "data"),
        State("pin", "data"),
        State("ready", "data"),
        State("progress-seen", "data"),
    )(_tick)

    def _charts(
        current: dict[str, Any] | None,
        ready: dict[str, Any] | None,
        pin: dict[str, Any] | None,
        channel: str | None,
        kind: str,
        number: Any,
        by: Any,
        shown: list[str] | None,
    ) -> Any:
        if current is None:
            raise PreventUpdate
        now_key = current["hash"]
        pin_key = pin["hash"] if pin else None
        ens = explorer.sims.state(now_key).result
        base = explorer.sims.state(pin_key).result if pin_key else None
        ch = None if channel in (None, "*") else channel
        signatures = _signatures(now_key, ens is not None, pin_key, base is not None, ch)
        scenario = explorer.scenarios[now_key]

        def mean_field() -> Any:
            return explorer.sims.mean_field(scenario)

        def draw(which: str) -> charts.Figure:
            if which == "fan":
                return charts.fan_figure(
                    mean_field(), ens, channel=ch, baseline=base, observed=explorer.observed
                )
            if which == "diff":
                if pin is None:
                    note = "pin a baseline to see the paired difference"
                    return charts.difference_figure(None, note)
                if ens is None or base is None:
                    return charts.difference_figure(None, "waiting for both ensembles …")
                return charts.difference_figure(views.paired_difference(ens, base, ch), "")
            if which == "cost":
                return charts.cost_figure(mean_field(), ens)
            flows = ens if ens is not None else mean_field()
            source = "ensemble mean" if ens is not None else "mean field"
            if which == "recruits":
                return charts.flows_figure(flows, "inflow", f"Recruits by month ({source})")
            return charts.flows_figure(flows, "outflow", f"Exits by month, by cause ({source})")

        before = shown if isinstance(shown, list) and len(shown) == len(_FIGURES) else []
        out: list[Any] = []
        for i, (which, sig) in enumerate(zip(_FIGURES, signatures, strict=True)):
            if before and before[i] == sig:
                out.append(no_update)  # the page shows it already
            else:
                out.append(figures.get(sig, functools.partial(draw, which)))
        try:
            question = parse_question(kind, number, by, scenario)
        except ForcegenError as exc:
            return *out, no_update, str(exc), signatures
        asked = as_json([signatures[0], question])
        panel = answers.get(asked, lambda: _answer(mean_field(), ens, base, question))
        return *out, panel, "", signatures

    app.callback(
        Output("fan", "figure"),
        Output("diff", "figure"),
        Output("recruits", "figure"),
        Output("exits", "figure"),
        Output("cost", "figure"),
        Output("answer", "children"),
        Output("q-error", "children"),
        Output("shown", "data"),
        Input("current", "data"),
        Input("ready", "data"),
        Input("pin", "data"),
        Input("channel", "value"),
        Input("q-kind", "value"),
        Input("q-number", "value"),
        Input("q-by", "value"),
        State("shown", "data"),
    )(_charts)

    _downloads(app, explorer)
    return app


_FIGURES = ("fan", "diff", "recruits", "exits", "cost")
"""The charts, in the order of :func:`_signatures`."""


def _signatures(
    now: str, now_ready: bool, pin: str | None, pin_ready: bool, channel: str | None
) -> list[str]:
    """What each chart of :data:`_FIGURES` is drawn from, as a text: equal texts, equal
    figures (the scenario hashes, whether their ensembles are ready, the channel)."""
    ens = now if now_ready else ""
    base = pin if pin and pin_ready else ""
    if pin is None:
        diff = "diff|none"
    elif not (ens and base):
        diff = "diff|waiting"
    else:
        diff = f"diff|{ens}|{base}|{channel}"
    return [
        f"fan|{now}|{ens}|{pin}|{base}|{channel}",
        diff,
        f"recruits|{now}|{ens}",
        f"exits|{now}|{ens}",
        f"cost|{now}|{ens}",
    ]


def _answer(mf: Any, ens: Any, base: Any, question: dict[str, Any]) -> Any:
    """The answer panel: the probability over the ensemble (and the baseline), the
    inputs it rests on, or the mean-field indication while the ensemble runs."""
    below = question.get("below")
    if ens is None:
        if below is not None:
            when = views.first_below(mf, below)
            line = (
                f"mean field: deployed strength falls below {below:,.0f} on {when}"
                if when
                else f"mean field: deployed strength stays at or above {below:,.0f}"
            )
        else:
            line = "mean field: the probability comes with the ensemble"
        return [html.Div(line, className="fg-mf"), html.Div("probability: computing …")]
    a = views.answer(ens, below=below, hold=question.get("hold"), by=question.get("by"))
    p = a.probability
    parts: list[Any] = [
        html.Div(
            [
                html.Span(f"{float(p):.0%}", id="probability", className="fg-prob"),
                html.Span(
                    f" P({a.text}); 95 % interval {p.low:.0%}–{p.high:.0%} over "
                    f"{p.trials} replicates"
                ),
            ]
        )
    ]
    if base is not None:
        b = views.answer(base, below=below, hold=question.get("hold"), by=question.get("by"))
        parts.append(
            html.Div(
                f"baseline: {float(b.probability):.0%} → now {float(p):.0%} "
                f"({float(p) - float(b.probability):+.0%}, same random numbers)",
                id="baseline-probability",
            )
        )
    basis = a.basis
    if basis.inputs:
        items = [
            html.Li(("⚠ " if w.weak else "") + w.describe(), className="fg-basis-item")
            for w in basis.inputs[:5]
        ]
        parts += [html.Div("rests mostly on:"), html.Ul(items, id="basis")]
    else:
        parts.append(html.Div(f"basis: {basis.note}", id="basis"))
    return parts


def _downloads(app: Dash, explorer: Explorer) -> None:
    # dash.dcc's send_* helpers carry no type hints.
    _dcc: Any = importlib.import_module("dash.dcc")

    def _current(current: dict[str, Any] | None) -> tuple[Base, Setting, Scenario]:
        if current is None:
            raise PreventUpdate
        base = explorer.bases[current["base"]]
        return base, _setting_of(current["setting"]), explorer.scenarios[current["hash"]]

    def _yaml(n: int | None, current: dict[str, Any] | None) -> Any:
        if not n:
            raise PreventUpdate
        base, setting, scenario = _current(current)
        name, text = yaml_download(base, setting, scenario)
        return _dcc.send_string(text, name), ""

    app.callback(
        Output("dl-yaml", "data"),
        Output("dl-msg", "children", allow_duplicate=True),
        Input("dl-yaml-btn", "n_clicks"),
        State("current", "data"),
        prevent_initial_call=True,
    )(_yaml)

    def _figure(fmt: str) -> Any:
        def send(n: int | None, current: dict[str, Any] | None) -> Any:
            if not n:
                raise PreventUpdate
            from forcegen.report.figures import fan_chart, figure_to_bytes

            _, _, scenario = _current(current)
            assert current is not None
            result = explorer.sims.state(current["hash"]).result
            result = result if result is not None else explorer.sims.mean_field(scenario)
            data = figure_to_bytes(fan_chart(result), fmt, dpi=150)
            return _dcc.send_bytes(data, f"{scenario.name}-fan.{fmt}"), ""

        return send

    for fmt in ("png", "svg"):
        app.callback(
            Output(f"dl-{fmt}", "data"),
            Output("dl-msg", "children", allow_duplicate=True),
            Input(f"dl-{fmt}-btn", "n_clicks"),
            State("current", "data"),
            prevent_initial_call=True,
        )(_figure(fmt))

    def _report(n: int | None, current: dict[str, Any] | None, pin: Any) -> Any:
        if not n:
            raise PreventUpdate
        from forcegen.report.html import render_report

        _, _, scenario = _current(current)
        assert current is not None
        result = explorer.sims.state(current["hash"]).result
        if result is None:
            return no_update, "the report needs the ensemble: wait until it has finished"
        others = []
        if pin and pin["hash"] != current["hash"]:
            base = explorer.sims.state(pin["hash"]).result
            others = [base] if base is not None else []
        html_text = render_report(result, comparison=others or None)
        stamp = dt.date.today().isoformat()
        return _dcc.send_string(html_text, f"{scenario.name}-report-{stamp}.html"), ""

    app.callback(
        Output("dl-html", "data"),
        Output("dl-msg", "children", allow_duplicate=True),
        Input("dl-html-btn", "n_clicks"),
        State("current", "data"),
        State("pin", "data"),
        prevent_initial_call=True,
    )(_report)
