"""The shared helpers that keep user text data (issue #12): spreadsheet formulas
neutralised in CSV cells but numbers left numbers, control characters removed from
terminal text, figure text literal, and problem lists bounded per file."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from forcegen.errors import MAX_PROBLEMS, Problem, ScenarioError, capped_problems
from forcegen.safetext import csv_cell, csv_safe, literal_figure_text, terminal_text


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+SUM(1,2)", "'+SUM(1,2)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-inf", "'-inf"),  # a spreadsheet reads this as a formula, not a number
        ("-5", "-5"),  # text that is a number stays that number
        ("+1.5e3", "+1.5e3"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_csv_cell(cell: object, written: object) -> None:
    assert csv_cell(cell) == written


def test_csv_safe_touches_text_cells_only() -> None:
    frame = pd.DataFrame(
        {
            "source": ['=HYPERLINK("http://x")', "plain", None],
            "value": [-1.0, -2.5, 3.0],
            "count": pd.array([-1, 2, 3], dtype="int64"),
            "label": pd.Categorical(["@x", "y", "@x"]),
            "mixed": ["-7", -7, "+x"],
        },
        index=pd.Index(["=a", "b", "c"], name="key"),
    )
    safe = csv_safe(frame)
    assert frame["source"].iloc[0].startswith("=")  # the input is left as it was
    assert list(safe.columns) == list(frame.columns)
    assert safe["value"].dtype == frame["value"].dtype
    assert safe["count"].dtype == frame["count"].dtype
    assert isinstance(safe["label"].dtype, pd.CategoricalDtype)
    back = pd.read_csv(io.StringIO(safe.to_csv()), index_col="key", keep_default_na=False)
    assert list(back.index) == ["'=a", "b", "c"]
    assert list(back["source"]) == ['\'=HYPERLINK("http://x")', "plain", ""]
    assert list(back["value"]) == [-1.0, -2.5, 3.0]  # negative numbers stay numbers
    assert list(back["count"]) == [-1, 2, 3]
    assert list(back["label"]) == ["'@x", "y", "'@x"]
    assert list(back["mixed"]) == ["-7", "-7", "'+x"]


def test_csv_safe_returns_a_frame_without_formulas_unchanged() -> None:
    frame = pd.DataFrame({"a": ["x", "y"], "b": [-1, 2]})
    assert csv_safe(frame) is frame


def test_terminal_text_keeps_newlines_and_tabs_only() -> None:
    raw = "a\x1b[31mb\x1b]8;;http://x\x07c\x9b2Jd\x00e\r\nf\tg\x7fh"
    assert terminal_text(raw) == "a[31mb]8;;http://xc2Jde\nf\tgh"


def test_terminal_text_drops_bidi_overrides_but_keeps_right_to_left_text() -> None:
    # "Trojan Source": a right-to-left override makes "001" display as "100".
    assert terminal_text("killed \u202e001\u202c per day") == "killed 001 per day"
    assert terminal_text("\u2066a\u2067b\u2068c\u2069") == "abc"
    hebrew = "\u05e9\u05dc\u05d5\u05dd \u200f42"
    assert terminal_text(hebrew) == hebrew


def test_literal_figure_text_draws_dollars() -> None:
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title("$_$")
    ax.plot([0, 1], label="US$ 5 and $^$")
    ax.legend()
    ax.set_xticks([0, 1], ["$\\frac$", "$x"])
    literal_figure_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")  # mathtext would fail on every one of these
    assert "US$ 5 and $^$" in buffer.getvalue().decode()


def test_problems_are_capped_per_file_and_the_rest_counted() -> None:
    many = [Problem("a.yaml", i, 1, "x", "bad") for i in range(1, 151)]
    few = [Problem("b.csv", 1, 1, "y", "bad")]
    shown = capped_problems(many + few, {"b.csv": 5})
    assert [p.file for p in shown].count("a.yaml") == MAX_PROBLEMS + 1
    assert shown[MAX_PROBLEMS - 1].line == MAX_PROBLEMS
    assert shown[-2].format() == "a.yaml:0:0: <document>: … and 50 more problems"
    assert shown[-1].format() == "b.csv:0:0: <document>: … and 5 more problems"
    assert str(ScenarioError(many)).count("\n") == MAX_PROBLEMS
