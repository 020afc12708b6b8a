"""Where a lever move's time goes in ``forcegen explore``, outside the simulation.

    python -m benchmarks.explore_redraw [--scenario russia-2022-covert] [--moves 5]

Serves nothing: the explorer's Dash app answers its own callback requests in this
process (Flask's test client), as the browser would send them after a lever move:
the callback that applies the controls (builds and validates the scenario, runs its
mean-field trajectory, asks for its ensemble) and the one that draws the charts and
the answer. The time spent in ``Sim.run`` (the engine) is measured apart and taken
off, so what is left is forcegen's own overhead: validation, figures, JSON. The
baseline's 256-replicate ensemble is finished first, so the charts of the loaded
setting have their bands.

Two kinds of move, ``--moves`` each: the first lever to values not seen before, and
back to the loaded setting (seen before). Prints medians; docs/benchmarks.md keeps
them (by hand: not part of ``make bench``). ``--profile FILE`` writes a cProfile of
the moves.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import time
from typing import Any

import forcegen.explore.jobs as jobs
from forcegen.explore.app import _SIZE_FIELDS, _event_amount, create_app
from forcegen.explore.server import make_explorer

_IN_SIM = [0.0]


def _timed_sims() -> None:
    """Count the time spent in ``Sim.run`` inside this process."""
    run = jobs.Sim.run

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return run(self, *args, **kwargs)
        finally:
            _IN_SIM[0] += time.perf_counter() - start

    jobs.Sim.run = timed  # type: ignore[method-assign]


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="russia-2022-covert")
    parser.add_argument("--moves", type=int, default=5)
    parser.add_argument("--runs", type=int, default=256)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()
    _timed_sims()
    explorer, base_id = make_explorer(args.scenario, runs=args.runs, seed=1)
    app = create_app(explorer, base_id)
    client = app.server.test_client()
    client.get("/")
    base = explorer.bases[base_id]
    levers = explorer.sims.levers(base.scenario)
    events = base.scenario.events
    controls = [f"lever:{lv.name}" for lv in levers]
    for i in range(len(events)):
        controls += [f"event-date:{i}", f"event-size:{i}"]
    controls.append("search")
    apply_id = next(k for k in app.callback_map if k.startswith("..current.data"))
    charts_id = next(k for k in app.callback_map if k.startswith("..fan.figure"))

    def sizes() -> list[Any]:
        out = []
        for e in events:
            field = _SIZE_FIELDS.get(e.type)
            out.append((_event_amount(e, field) if field else None) or "")
        return out

    def apply_body(values: list[float]) -> dict[str, Any]:
        def each(kind: str, vals: list[Any]) -> list[dict[str, Any]]:
            return [
                {"id": {"index": i, "type": kind}, "property": "value", "value": v}
                for i, v in enumerate(vals)
            ]

        return {
            "output": apply_id,
            "outputs": [
                {"id": "current", "property": "data"},
                [{"id": {"control": c, "type": "err"}, "property": "children"} for c in controls],
                {"id": "top-msg", "property": "children"},
            ],
            "inputs": [
                {"id": "lever-values", "property": "data", "value": values},
                each("ev-on", [["on"]] * len(events)),
                each("ev-date", [e.date.isoformat() for e in events]),
                each("ev-size", sizes()),
                {"id": "searched", "property": "data", "value": []},
            ],
            "changedPropIds": ["lever-values.data"],
            "state": [
                {"id": "base", "property": "data", "value": base_id},
                {"id": "pin", "property": "data"},
            ],
        }

    def charts_body(current: Any, ready: Any, shown: Any) -> dict[str, Any]:
        figs = ("fan", "diff", "recruits", "exits", "cost")
        return {
            "output": charts_id,
            "outputs": [{"id": g, "property": "figure"} for g in figs]
            + [
                {"id": "answer", "property": "children"},
                {"id": "q-error", "property": "children"},
                {"id": "shown", "property": "data"},
            ],
            "inputs": [
                {"id": "current", "property": "data", "value": current},
                {"id": "ready", "property": "data", "value": ready},
                {"id": "pin", "property": "data"},
                {"id": "channel", "property": "value", "value": "*"},
                {"id": "q-kind", "property": "value", "value": "below"},
                {"id": "q-number", "property": "value", "value": "100000"},
                {"id": "q-by", "property": "value", "value": base.scenario.end_date.isoformat()},
            ],
            "changedPropIds": ["current.data"],
            "state": [{"id": "shown", "property": "data", "value": shown}],
        }

    def post(body: dict[str, Any]) -> tuple[float, float, Any, int]:
        _IN_SIM[0] = 0.0
        start = time.perf_counter()
        response = client.post("/_dash-update-component", json=body)
        seconds = time.perf_counter() - start
        if response.status_code not in (200, 204):
            raise RuntimeError(f"callback failed: {response.status_code}")
        data = response.get_json() if response.status_code == 200 else None
        return seconds, _IN_SIM[0], data, len(response.data)

    start_values = [lv.start for lv in levers]
    _, _, out, _ = post(apply_body(start_values))
    loaded = out["response"]["current"]["data"]
    explorer.sims.wait(loaded["hash"], 1800)
    ready = {"now": loaded["hash"], "pin": None}
    _, _, out, _ = post(charts_body(loaded, ready, None))
    shown = out["response"]["shown"]["data"]
    profile = cProfile.Profile() if args.profile else None
    rows: dict[str, list[tuple[float, float, float, int]]] = {"new": [], "seen": []}
    lever = levers[0]
    if profile:
        profile.enable()
    for k in range(1, args.moves + 1):
        values = list(start_values)
        values[0] = lever.low + (lever.high - lever.low) * k / (args.moves + 2)
        a = post(apply_body(values))
        current = a[2]["response"]["current"]["data"]
        c = post(charts_body(current, ready, shown))
        shown = c[2]["response"]["shown"]["data"]
        rows["new"].append((a[0] + c[0], a[1] + c[1], a[0] + c[0] - a[1] - c[1], c[3]))
        a = post(apply_body(start_values))
        c = post(charts_body(loaded, ready, shown))
        shown = c[2]["response"]["shown"]["data"]
        rows["seen"].append((a[0] + c[0], a[1] + c[1], a[0] + c[0] - a[1] - c[1], c[3]))
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    explorer.sims.close()
    print(
        f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"scenario {args.scenario}; {args.runs} replicates; {args.moves} moves each"
    )
    print("| lever move | total s | in Sim.run s | outside the engine s | chart bytes |")
    print("|---|---:|---:|---:|---:|")
    for kind, label in (("new", "to a new value"), ("seen", "back to the loaded setting")):
        r = rows[kind]
        med = [statistics.median(x[i] for x in r) for i in range(4)]
        print(f"| {label} | {med[0]:.3f} | {med[1]:.3f} | {med[2]:.3f} | {med[3]:,.0f} |")


if __name__ == "__main__":
    main()
