"""Figures: the expected artists and labels, one style, and saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from forcegen.errors import UsageError
from forcegen.report import figures as fg
from forcegen.results.result import Result


def _texts(fig: Figure) -> str:
    """Every piece of text on the figure (titles, labels, legends, footnote)."""
    return "\n".join(t.get_text() for t in fig.findobj(mpl.text.Text))


def _check_frame(fig: Figure, result: Result) -> None:
    text = _texts(fig)
    assert "Source: forcegen" in text
    assert f"seed {result.seed}" in text
    assert "evidence appendix" in text
    assert result.scenario.name in text
    for ax in fig.axes:
        if ax.get_visible() and ax.axison:
            assert ax.get_ylabel(), "every axis has a y label with its unit"


def test_fan_chart_has_a_total_and_one_panel_per_channel(small_result: Result) -> None:
    fig = fg.fan_chart(small_result)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1 + len(small_result.channels)
    top = fig.axes[0]
    assert top.get_ylabel() == "people"
    assert "all channels" in top.get_title(loc="left")
    assert len(top.lines) == 1  # the median
    assert len(top.collections) == 2  # 90 % and 50 % bands
    assert [t.get_text() for t in top.get_legend().get_texts()] == [
        "median",
        "50 % of replicates",
        "90 % of replicates",
    ]
    assert "Regular contracts" in _texts(fig)
    _check_frame(fig, small_result)


@pytest.mark.parametrize("state", ["training", "recovering", "absent", "all"])
def test_fan_chart_of_each_state_plots_that_state(small_result: Result, state: str) -> None:
    fig = fg.fan_chart(small_result, state=state, by_channel=False)
    median = fig.axes[0].lines[0].get_ydata()
    strength = small_result.total("strength", categories=None if state == "all" else state)
    np.testing.assert_allclose(median, np.median(strength, axis=0))


def test_fan_chart_of_an_unknown_state_names_the_known_ones(small_result: Result) -> None:
    with pytest.raises(UsageError, match="unknown state 'asleep'; expected all, training"):
        fg.fan_chart(small_result, state="asleep")


def test_flow_charts_stack_months_by_channel_and_cause(small_result: Result) -> None:
    inflows = fg.inflows_chart(small_result)
    ax = inflows.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["Regular contracts", "Prisoners & <others>"]
    months = 3  # January, February, March 2022 (90 days)
    # One collection of bars per channel (drawn as ax.bar draws them, one artist each).
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert [c.get_label() for c in bars] == labels[:2]
    assert sum(len(c.get_paths()) for c in bars) == months * len(small_result.channels)
    assert "per month" in ax.get_ylabel()
    _check_frame(inflows, small_result)

    outflows = fg.outflows_chart(small_result)
    causes = [t.get_text() for t in outflows.axes[0].get_legend().get_texts()]
    assert "killed" in causes
    assert "transferred" not in causes
    _check_frame(outflows, small_result)


def test_bar_collections_draw_the_pixels_of_ax_bar() -> None:
    # The stacked monthly bars are one collection per part: the same PNG, byte for
    # byte, as one ax.bar per part.
    rng = np.random.default_rng(5)
    heights = rng.integers(0, 500, size=(3, 7)).astype(float)

    def draw(collections: bool) -> bytes:
        with fg.figure_style():
            fig = fg._new_figure(3.0)
            ax = fig.add_subplot()
            x = 19000.0 + 30.5 * np.arange(7)
            width = np.full(7, 26.0)
            bottom = np.zeros(7)
            for i, h in enumerate(heights):
                colour, label = fg.PALETTE[i], f"part {i}"
                if collections:
                    fg._bars(ax, x, width, bottom, bottom + h, colour, label)
                else:
                    ax.bar(x, h, width=width, bottom=bottom, align="edge", color=colour,
                           label=label, lw=0)  # fmt: skip
                bottom = bottom + h
            ax.autoscale_view()
            ax.legend(loc="upper left")
        return fg.figure_to_bytes(fig)

    assert draw(collections=True) == draw(collections=False)


def test_losses_chart_splits_combat_and_other_exits(small_result: Result) -> None:
    fig = fg.losses_chart(small_result)
    combat, other = fig.axes
    assert combat.get_title(loc="left") == "Combat losses"
    assert [line.get_label() for line in combat.lines] == [
        "killed",
        "wounded discharged",
        "missing",
    ]
    assert other.get_title(loc="left") == "Other exits"
    assert combat.get_ylabel() == "cumulative exits (people)"
    _check_frame(fig, small_result)


def test_cost_chart_in_the_scenario_and_a_converted_currency(small_result: Result) -> None:
    fig = fg.cost_chart(small_result)
    paid, unpaid = fig.axes
    assert "RUB per month" in paid.get_ylabel()
    assert paid.get_title(loc="left") == "Paid"
    assert unpaid.get_title(loc="left") == "Promised but not paid"
    _check_frame(fig, small_result)
    usd = fg.cost_chart(small_result, convert_to="USD")
    assert "USD per month" in usd.axes[0].get_ylabel()
    assert "Converted from RUB" in _texts(usd)


def test_pools_and_below_charts(small_result: Result) -> None:
    pools = fg.pools_chart(small_result)
    assert len(pools.axes) == len(small_result.pools) == 1
    assert pools.axes[0].get_ylabel() == "eligible people"
    assert pools.axes[0].get_title(loc="left") == "Prison <pool>"
    _check_frame(pools, small_result)
    below = fg.below_chart(small_result, [2500, 2000])
    assert len(below.axes[0].lines) == 2
    assert below.axes[0].get_ylim() == (0.0, 100.0)


def test_comparison_chart_overlays_and_pairs(small_result: Result, other_result: Result) -> None:
    fig = fg.comparison_chart([small_result, other_result])
    overlay, diff = fig.axes
    assert [t.get_text() for t in overlay.get_legend().get_texts()] == [
        "report-test",
        "report-test-more",
    ]
    assert diff.get_ylabel() == "difference (people)"
    assert "report-test-more − report-test" in [line.get_label() for line in diff.lines]
    text = _texts(fig)
    assert "Same seed" in text
    assert "report-test-more:" in text  # the evidence footnote covers both scenarios
    single = fg.comparison_chart([small_result])
    assert len(single.axes) == 1


def test_every_figure_uses_the_palette(small_result: Result) -> None:
    fig = fg.inflows_chart(small_result)
    colours = {mpl.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    assert colours <= {c.lower() for c in fg.PALETTE}


@pytest.mark.parametrize(
    ("suffix", "magic"), [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")]
)
def test_save_figure_writes_each_format(
    small_result: Result, tmp_path: Path, suffix: str, magic: bytes
) -> None:
    path = fg.save_figure(fg.fan_chart(small_result), tmp_path / "deep" / f"fan.{suffix}")
    assert path.read_bytes().startswith(magic)


def test_save_figure_rejects_unknown_formats(small_result: Result, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.png, \.svg or \.pdf"):
        fg.save_figure(fg.pools_chart(small_result), tmp_path / "fig.jpg")


def test_figure_functions_listed_for_the_cli() -> None:
    assert tuple(fg.FIGURES) == fg.FIGURE_KINDS
