"""Headline numbers of a result, each with its band across replicates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from forcegen.scenario.model import EXIT_CAUSES, Scenario

__all__ = ["ALL", "SUMMARY_COLUMNS", "Band", "Summary", "summarise"]

ALL = "*"
"""Label of a channel or cause column meaning "summed over all of them"."""

SUMMARY_COLUMNS = (
    "quantity",
    "channel",
    "cause",
    "median",
    "low",
    "high",
    "unit",
    "q_low",
    "q_high",
)
"""Columns of :meth:`Summary.to_frame`, in order."""


@dataclass(frozen=True)
class Band:
    """Median and a central interval across replicates."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: NDArray[np.float64], q: tuple[float, float]) -> Band:
        """Band of per-replicate ``values``."""
        lo, med, hi = np.quantile(values, [q[0], 0.5, q[1]])
        return cls(float(med), float(lo), float(hi))

    def scaled(self, factor: float) -> Band:
        """The band with every value multiplied by ``factor`` (e.g. to billions)."""
        return Band(self.median * factor, self.low * factor, self.high * factor)

    def format(self, digits: int = 0) -> str:
        """``median [low–high]`` with thousands separators."""
        f = f"{{:,.{digits}f}}"
        return f"{f.format(self.median)} [{f.format(self.low)}–{f.format(self.high)}]"


@dataclass(frozen=True, repr=False)
class Summary:
    """Headline answers of one ensemble.

    Printed (``str``, ``repr``) it is an aligned text table; in a notebook, an HTML
    table (``_repr_html_``); :meth:`to_frame` and :meth:`to_dict` give the numbers.

    Attributes:
        scenario: Scenario name.
        runs: Replicates.
        end_date: Last simulated day.
        q: Quantiles of the bands, e.g. (0.05, 0.95).
        strength_start: Deployed strength at the end of the first day (people).
        strength_end: Deployed strength at the horizon (people).
        in_service_end: Everyone in service at the horizon: training + deployed +
            recovering (people).
        strength_end_by_channel: Channel → deployed strength at the horizon.
        recruits_by_channel: Channel → cumulative recruits over the horizon (people).
        losses_by_cause: Exit cause → cumulative exits over the horizon (people).
        cost_paid: Total payments made over the horizon (scenario currency).
        cost_unpaid: Total promised but not paid (scenario currency).
        currency: The scenario's currency.
    """

    scenario: str
    runs: int
    mode: str
    seed: int
    end_date: str
    q: tuple[float, float]
    strength_start: Band
    strength_end: Band
    in_service_end: Band
    strength_end_by_channel: dict[str, Band]
    recruits_by_channel: dict[str, Band]
    losses_by_cause: dict[str, Band]
    cost_paid: Band
    cost_unpaid: Band
    currency: str

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) rows in display order."""
        return [(label, value) for _, label, value in self.keyed_rows()]

    def keyed_rows(self) -> list[tuple[str, str, str]]:
        """(key, label, value) rows in display order; the key names the per-replicate
        total behind the row as :class:`~forcegen.results.reduce.SummaryTotals` does
        (``strength_end``, ``strength_end/CHANNEL``, ``recruits/CHANNEL``,
        ``losses/CAUSE``, ``cost_paid``, ...)."""
        pct = f"{self.q[0]:.0%}–{self.q[1]:.0%}"
        rows = [
            (
                "strength_end",
                f"Deployed strength on {self.end_date} (median [{pct}])",
                self.strength_end.format(),
            ),
            ("strength_start", "Deployed strength at start", self.strength_start.format()),
            (
                "in_service_end",
                "In service at horizon (training + deployed + recovering + absent)",
                self.in_service_end.format(),
            ),
        ]
        rows += [
            (f"strength_end/{ch}", f"  deployed, {ch}", b.format())
            for ch, b in self.strength_end_by_channel.items()
        ]
        rows += [
            (f"recruits/{ch}", f"Recruits, {ch} (cumulative)", b.format())
            for ch, b in self.recruits_by_channel.items()
        ]
        rows += [
            (f"losses/{cause}", f"Exits, {cause} (cumulative)", b.format())
            for cause, b in self.losses_by_cause.items()
            if b.high > 0
        ]
        billions = 1e9
        rows += [
            (
                "cost_paid",
                f"Cost paid (billion {self.currency}, total)",
                self.cost_paid.scaled(1 / billions).format(1),
            ),
            (
                "cost_unpaid",
                f"Promised but unpaid (billion {self.currency}, total)",
                self.cost_unpaid.scaled(1 / billions).format(1),
            ),
        ]
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The headline numbers as tidy rows (:data:`SUMMARY_COLUMNS`).

        ``quantity`` is one of ``deployed_start`` (deployed strength at the end of the
        first day), ``deployed_end`` (at the horizon), ``in_service_end`` (training +
        deployed + recovering at the horizon), ``recruits`` (cumulative over the
        horizon), ``exits`` (cumulative over the horizon, one row per cause),
        ``cost_paid`` and ``cost_unpaid`` (totals over the horizon). ``channel`` is a
        channel id or :data:`ALL` (``"*"``: summed over all channels); ``cause`` is an
        exit cause for ``exits`` and missing otherwise. ``median``, ``low`` and
        ``high`` are the median and the ``q_low``/``q_high`` quantiles across
        replicates, in ``unit``: ``people``, or the scenario's currency for costs.
        Every exit cause is listed, zeros included (:meth:`rows` hides them).
        """
        rows: list[tuple[str, str, str | None, Band, str]] = [
            ("deployed_start", ALL, None, self.strength_start, "people"),
            ("deployed_end", ALL, None, self.strength_end, "people"),
            ("in_service_end", ALL, None, self.in_service_end, "people"),
        ]
        rows += [
            ("deployed_end", ch, None, b, "people")
            for ch, b in self.strength_end_by_channel.items()
        ]
        rows += [("recruits", ch, None, b, "people") for ch, b in self.recruits_by_channel.items()]
        rows += [("exits", ALL, cause, b, "people") for cause, b in self.losses_by_cause.items()]
        rows += [
            ("cost_paid", ALL, None, self.cost_paid, self.currency),
            ("cost_unpaid", ALL, None, self.cost_unpaid, self.currency),
        ]
        return pd.DataFrame(
            [
                (quantity, channel, cause, b.median, b.low, b.high, unit, *self.q)
                for quantity, channel, cause, b, unit in rows
            ],
            columns=list(SUMMARY_COLUMNS),
        )

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (bands as ``{"median", "low", "high"}``;
        people, and the scenario's currency for ``cost_paid``/``cost_unpaid``)."""
        out = dataclasses.asdict(self)
        out["q"] = list(self.q)
        return out

    @property
    def title(self) -> str:
        """``NAME: RUNS runs, MODE, seed SEED``."""
        return f"{self.scenario}: {self.runs} runs, {self.mode}, seed {self.seed}"

    def to_text(self) -> str:
        """The headline numbers as an aligned plain-text table: the title, then one
        line per quantity with its median and band right-aligned (people; costs in
        billions of the scenario currency)."""
        pct = f"{self.q[0]:.0%}–{self.q[1]:.0%}"
        cells = [("quantity", "median", f"[{pct}]")]
        for label, value in self.rows():
            median, _, band = value.partition(" [")
            cells.append((label, median, f"[{band}" if band else ""))
        widths = [max(len(row[i]) for row in cells) for i in range(3)]
        lines = [self.title]
        for i, (label, median, band) in enumerate(cells):
            line = f"{label:<{widths[0]}}  {median:>{widths[1]}}  {band:<{widths[2]}}"
            lines.append(line.rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """A small HTML table (notebooks)."""
        body = "".join(
            f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{html.escape(v)}</td></tr>"
            for k, v in self.rows()
        )
        head = (
            f"<b>{html.escape(self.scenario)}</b>: {self.runs} runs, {self.mode}, seed {self.seed}"
        )
        return f"<div>{head}<table>{body}</table></div>"


class Totals(Protocol):
    """What :func:`summarise` reads of a result: :class:`forcegen.results.result.Result`
    (a protocol, so that this module does not import the one that calls it)."""

    scenario: Scenario
    mode: str
    seed: int

    @property
    def runs(self) -> int:
        """Replicates."""
        ...

    @property
    def channels(self) -> Sequence[str]:
        """Channel names."""
        ...

    @property
    def end_date(self) -> dt.date:
        """Last simulated date."""
        ...

    def total(
        self,
        name: str = "strength",
        *,
        channels: Iterable[str] | str | None = None,
        categories: Iterable[str] | str | None = None,
    ) -> NDArray[np.float64]:
        """``(run, date)`` sums of a series (people or roubles)."""
        ...


def summarise(result: Totals, q: tuple[float, float] = (0.05, 0.95)) -> Summary:
    """Compute the :class:`Summary` of ``result``."""
    deployed = result.total("strength", categories="deployed")
    everyone = result.total("strength")
    by_channel = {
        ch: Band.of(result.total("strength", channels=ch, categories="deployed")[:, -1], q)
        for ch in result.channels
    }
    recruits = {
        ch: Band.of(result.total("inflow", channels=ch, categories="recruited").sum(axis=1), q)
        for ch in result.channels
    }
    losses = {
        cause: Band.of(result.total("outflow", categories=cause).sum(axis=1), q)
        for cause in EXIT_CAUSES
    }
    return Summary(
        scenario=result.scenario.name,
        runs=result.runs,
        mode=result.mode,
        seed=result.seed,
        end_date=str(result.end_date),
        q=q,
        strength_start=Band.of(deployed[:, 0], q),
        strength_end=Band.of(deployed[:, -1], q),
        in_service_end=Band.of(everyone[:, -1], q),
        strength_end_by_channel=by_channel,
        recruits_by_channel=recruits,
        losses_by_cause=losses,
        cost_paid=Band.of(result.total("cost").sum(axis=1), q),
        cost_unpaid=Band.of(result.total("unpaid").sum(axis=1), q),
        currency=result.scenario.currency,
    )
