"""Print the headline outputs of a scenario (by default the built-in
``russia-2022-mobilisation``): deployed strength on 2023-12-31, killed to that date and
to the horizon, recruits in 2023 and in 2024, early terminations from 2022-09-21,
mobilised arrivals and criminal cases to 2024-06-30.

Mean-field with every parameter at its expected value, and the mean (with 5–95 %
range) of a 200-replicate stochastic ensemble with sampled parameters, both seed 1.
These are the numbers of the table in docs/scenarios.md ("Changes to
russia-2022-mobilisation"); the "before" column came from the same script run on the
commit before the change.

Usage::

    .venv/bin/python scripts/mobilisation_headline.py [SCENARIO] [mean-field,stochastic]
"""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np

import forcegen as fg


def main(name: str, modes: list[str]) -> None:
    scn = fg.load(name)
    start = scn.start_date

    def day(d: dt.date) -> int:
        return (d - start).days

    e23 = day(dt.date(2023, 12, 31))
    y23 = slice(day(dt.date(2023, 1, 1)), e23 + 1)
    y24 = slice(day(dt.date(2024, 1, 1)), day(dt.date(2024, 12, 31)) + 1)
    rules = day(dt.date(2022, 9, 21))
    cases_to = day(dt.date(2024, 6, 30)) + 1
    for mode, runs in (("mean-field", 1), ("stochastic", 200)):
        if mode not in modes:
            continue
        sim = fg.Sim(scn, runs=runs, seed=1, mode=mode, sample_parameters=mode == "stochastic")
        r = sim.run()
        killed = r.total("outflow", categories="killed")
        recruits = r.total("inflow", categories="recruited")
        out = {
            "deployed 2023-12-31": r.total("strength", categories="deployed")[:, e23],
            "killed to 2023-12-31": killed[:, : e23 + 1].sum(axis=1),
            "killed to horizon": killed.sum(axis=1),
            "recruits 2023": recruits[:, y23].sum(axis=1),
            "recruits 2024": recruits[:, y24].sum(axis=1),
            "terminated from 2022-09-21": r.total("outflow", categories="terminated")[
                :, rules:
            ].sum(axis=1),
            "mobilised arrivals": r.total("transition", categories="mobilised").sum(axis=1),
            "criminal cases to 2024-06-30": r.total("transition", categories="prosecuted")[
                :, :cases_to
            ].sum(axis=1),
        }
        for label, v in out.items():
            if runs == 1:
                print(f"{mode:10s} {label:30s} {v[0]:12,.0f}")
            else:
                lo, hi = np.quantile(v, [0.05, 0.95])
                print(f"{mode:10s} {label:30s} {v.mean():12,.0f}  (5-95%: {lo:,.0f} – {hi:,.0f})")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "russia-2022-mobilisation",
        sys.argv[2].split(",") if len(sys.argv) > 2 else ["mean-field", "stochastic"],
    )
