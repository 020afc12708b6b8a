"""Slider-to-chart time of candidate frameworks for ``forcegen explore``, and of the
explorer itself.

    python -m benchmarks.explore_frameworks [--scenario russia-2022-covert] [--moves 5]

Each candidate serves the same minimal page on 127.0.0.1: one slider (the daily death
rate) and one interactive chart of the mean-field deployed strength. Headless Chromium
(Debian's, through Playwright) moves the slider one step with the keyboard and the
clock stops when the chart's last value has changed in the page: the time a person
waits, framework and simulation together. The mean-field simulation alone is timed
too, so the framework's share is the difference. Candidates: Dash/Plotly (the choice)
and Panel/Bokeh (``pip install panel``; skipped when absent). Then the real explorer:
a lever move to the mean-field redraw, and a fresh 256-replicate ensemble.

Prints one Markdown table; docs/benchmarks.md keeps the numbers (by hand: this script
is not part of ``make bench``).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import forcegen as fg
from forcegen.explore.views import deployed

CHROMIUM = os.environ.get("FORCEGEN_CHROMIUM", "/usr/bin/chromium")
RATES = [0.0002 + 0.00002 * i for i in range(40)]


@functools.lru_cache(maxsize=64)
def mean_field_line(scenario: str, rate: float) -> tuple[list[str], list[float]]:
    """Dates and mean-field deployed strength with the death rate at ``rate`` (cached:
    moving the slider back shows the framework's own time)."""
    sc = fg.load(scenario, overrides=[f"losses.killed_per_day={rate:.6f}"])
    r = fg.Sim(sc, runs=1, mode="mean-field", sample_parameters=False).run()
    return [d.isoformat() for d in r.dates.date], deployed(r)[0].tolist()


def dash_app(scenario: str, port: int) -> Callable[[], None]:
    """A minimal Dash page; returns a function that stops it."""
    from dash import Dash, Input, Output, dcc, html
    from werkzeug.serving import make_server

    app = Dash(__name__, serve_locally=True)
    app.layout = html.Div(
        [
            dcc.Slider(id="s", min=0, max=len(RATES) - 1, step=1, value=0, marks=None),
            dcc.Graph(id="g"),
        ]
    )

    def update(i: int) -> Any:
        x, y = mean_field_line(scenario, RATES[int(i)])
        return {"data": [{"x": x, "y": y, "name": "mf"}]}

    app.callback(Output("g", "figure"), Input("s", "value"))(update)
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.shutdown


def panel_app(scenario: str, port: int) -> Callable[[], None]:
    """The same page in Panel (Bokeh), its assets served by itself."""
    os.environ.setdefault("BOKEH_RESOURCES", "server")
    import panel as pn
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    def page() -> Any:
        _, y = mean_field_line(scenario, RATES[0])
        source = ColumnDataSource({"x": np.arange(len(y)), "y": y}, name="mf")
        fig = figure(height=300, sizing_mode="stretch_width", tools="hover,xwheel_zoom,pan")
        fig.line("x", "y", source=source)
        slider = pn.widgets.IntSlider(name="rate", start=0, end=len(RATES) - 1, value=0)

        def moved(event: Any) -> None:
            _, new = mean_field_line(scenario, RATES[int(event.new)])
            source.data = {"x": np.arange(len(new)), "y": new}

        slider.param.watch(moved, "value")
        return pn.Column(slider, pn.pane.Bokeh(fig))

    server = pn.serve(page, port=port, address="127.0.0.1", show=False, threaded=True)
    return server.stop  # type: ignore[no-any-return]


def measure(url: str, last_value_js: str, thumb: str, moves: int) -> list[float]:
    """Seconds from a key press on the slider to a changed chart, per move: ``moves``
    steps right (new values, simulated), then as many back (cached values: the
    framework's round trip and redraw alone)."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_function(
            f"() => {{ try {{ return ({last_value_js}) > 0; }} catch (e) {{ return false; }} }}"
        )
        for key in ["ArrowRight"] * moves + ["ArrowLeft"] * moves:
            before = page.evaluate(f"() => {last_value_js}")
            page.locator(thumb).first.focus()
            # A move after a pause, as a person makes one (the explorer merges moves
            # that follow each other within 0.3 s: forcegen.explore.page.DEBOUNCE_MS).
            page.wait_for_timeout(500)
            start = time.perf_counter()
            page.locator(thumb).first.press(key)
            page.wait_for_function(f"(old) => ({last_value_js}) !== old", arg=before)
            times.append(time.perf_counter() - start)
        browser.close()
    return times


DASH_LAST = (
    "document.querySelector('#g .js-plotly-plot').data[0].y"
    "[document.querySelector('#g .js-plotly-plot').data[0].y.length - 1]"
)
PANEL_LAST = (
    "(() => { const d = Bokeh.documents[0].get_model_by_name('mf').data.y;"
    " return d[d.length - 1]; })()"
)


def explorer_times(scenario: str, moves: int, with_ensemble: bool = True) -> dict[str, float]:
    """The real explorer: lever move → mean-field redraw; and a 256-replicate ensemble."""
    from forcegen.explore.server import make_explorer, start

    explorer, base_id = make_explorer(scenario, runs=256, seed=1)
    running = start(explorer, base_id, port=0)
    try:
        redraw = measure(
            running.url,
            "(() => { const gd = document.querySelector('#fan .js-plotly-plot');"
            " const t = gd.data.find(d => d.name === 'mean field');"
            " return t.y[t.y.length - 1]; })()",
            "#levers [role=slider]",
            moves,
        )
    finally:
        running.stop()
    sc = explorer.bases[base_id].scenario
    ensemble = float("nan")
    if with_ensemble:
        start_t = time.perf_counter()
        fg.Sim(sc, runs=256, seed=2).run()
        ensemble = time.perf_counter() - start_t
    return {
        "redraw": statistics.median(redraw[:moves]),
        "cached": statistics.median(redraw[moves:]),
        "ensemble": ensemble,
    }


def _rows(name: str, times: list[float], moves: int) -> list[tuple[str, float, int]]:
    return [
        (f"{name}: slider → chart, new value (simulated)", statistics.median(times[:moves]), moves),
        (
            f"{name}: slider → chart, value seen before (framework only)",
            statistics.median(times[moves:]),
            moves,
        ),
    ]


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="russia-2022-covert")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--skip-explorer", action="store_true")
    parser.add_argument("--skip-ensemble", action="store_true")
    parser.add_argument(
        "--skip-frameworks", action="store_true", help="measure the real explorer only"
    )
    args = parser.parse_args()
    if args.skip_frameworks:
        ex = explorer_times(args.scenario, args.moves, not args.skip_ensemble)
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| measurement | median s | n |\n|---|---:|---:|")
        print(
            f"| forcegen explore: lever → mean-field redraw | {ex['redraw']:.2f} | {args.moves} |"
        )
        print(f"| forcegen explore: lever back → redraw | {ex['cached']:.2f} | {args.moves} |")
        print(f"| forcegen explore: 256-replicate ensemble | {ex['ensemble']:.2f} | 1 |")
        return
    mean_field_line(args.scenario, RATES[0])  # compile and cache before timing
    sim = []
    for rate in RATES[-5:]:  # not the rates the slider moves to: those must be new
        t = time.perf_counter()
        mean_field_line(args.scenario, rate)
        sim.append(time.perf_counter() - t)
    rows = [("mean-field simulation alone (load + run)", statistics.median(sim), len(sim))]
    stop = dash_app(args.scenario, 8761)
    try:
        t = measure("http://127.0.0.1:8761/", DASH_LAST, "[role=slider]", args.moves)
        rows += _rows("Dash 4 / Plotly", t, args.moves)
    finally:
        stop()
    try:
        stop = panel_app(args.scenario, 8762)
    except ImportError:
        print("panel is not installed: Panel/Bokeh skipped")
    else:
        try:
            t = measure("http://127.0.0.1:8762/", PANEL_LAST, ".noUi-handle", args.moves)
            rows += _rows("Panel / Bokeh", t, args.moves)
        finally:
            stop()
    if not args.skip_explorer:
        ex = explorer_times(args.scenario, args.moves)
        rows.append(("forcegen explore: lever → mean-field redraw", ex["redraw"], args.moves))
        rows.append(("forcegen explore: lever back → redraw (cached)", ex["cached"], args.moves))
        rows.append(("forcegen explore: 256-replicate ensemble", ex["ensemble"], 1))
    print(
        f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; scenario {args.scenario}"
    )
    print("| measurement | median s | n |\n|---|---:|---:|")
    for name, seconds, n in rows:
        print(f"| {name} | {seconds:.2f} | {n} |")


if __name__ == "__main__":
    main()
