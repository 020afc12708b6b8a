"""The Python API as the README shows it: answers, figures and the report as methods of
a Result (parallel to ``forcegen ask/plot/report``), and a readable Summary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from forcegen.analysis.answers import costs, prob_hold, prob_hold_through, time_below
from forcegen.errors import UsageError
from forcegen.report.figures import FIGURES
from forcegen.results.result import Result


def test_answers_are_methods_of_the_result(small_result: Result) -> None:
    tb = small_result.time_below(1900)
    assert np.array_equal(tb.first_day, time_below(small_result, 1900).first_day)
    assert tb.probability == time_below(small_result, 1900).probability

    on = small_result.prob_hold(1800, by="2022-02-15")
    assert on == prob_hold(small_result, 1800, by="2022-02-15")
    assert (on.successes, on.trials) == (
        prob_hold(small_result, 1800, by="2022-02-15").successes,
        128,
    )
    through = small_result.prob_hold(1800, "2022-02-15", through=True)
    assert through == prob_hold_through(small_result, 1800, until="2022-02-15")
    assert float(through) <= float(on)

    assert small_result.costs().total() == costs(small_result).total()
    usd = small_result.costs(convert_to="USD").total().median
    assert usd < small_result.costs().total().median  # 55-75 roubles to the dollar


def test_start_needs_through(small_result: Result) -> None:
    with pytest.raises(UsageError, match="through=True"):
        small_result.prob_hold(1800, start="2022-01-10")


@pytest.mark.parametrize("kind", list(FIGURES))
def test_plot_returns_a_figure_of_each_kind(small_result: Result, kind: str) -> None:
    fig = small_result.plot(kind)
    assert isinstance(fig, Figure)
    assert fig.axes
    fig.clear()


def test_plot_refuses_unknown_kinds_and_misplaced_currency(small_result: Result) -> None:
    with pytest.raises(UsageError, match="did you mean 'fan'"):
        small_result.plot("fna")
    with pytest.raises(UsageError, match="cost"):
        small_result.plot("fan", currency="USD")
    assert isinstance(small_result.plot("cost", currency="USD"), Figure)


def test_summary_prints_as_an_aligned_table(small_result: Result) -> None:
    summary = small_result.summary()
    text = str(summary)
    assert repr(summary) == text
    assert "Summary(" not in text
    assert "Band(" not in text
    lines = text.splitlines()
    assert lines[0] == "report-test: 128 runs, stochastic, seed 3"
    assert lines[1].split() == ["quantity", "median", "[5%–95%]"]
    # Every median ends, and every band starts, in one column.
    body = [line for line in lines[3:] if "[" in line]
    assert len(body) == len(summary.rows())
    assert len({line.index("[") for line in body[1:]} | {lines[1].index("[")}) == 1
    assert "<table>" in summary._repr_html_()


def test_report_method_answers_the_users_questions(small_result: Result, tmp_path: Path) -> None:
    path = small_result.report(tmp_path / "r.html", below=[1900], hold=1800, by="2022-02-15")
    text = path.read_text(encoding="utf-8")
    assert "falls below 1,900 people" in text
    assert "at least 1,800 people on 2022-02-15" in text
    assert "of the initial deployed strength" not in text  # the fractions give way


def test_results_do_not_import_analysis_until_asked() -> None:
    code = (
        "import sys\n"
        "from forcegen.results.result import Result\n"
        "assert not [m for m in sys.modules if m.startswith(('forcegen.analysis', "
        "'forcegen.report'))], 'imported too early'\n"
        "assert all(hasattr(Result, m) for m in ('time_below', 'prob_hold', 'costs', 'plot'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_readme_python_snippet_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    snippet = next(b for b in blocks if "fg.Sim(" in b)
    small, n = re.subn(r"runs=\d+", "runs=2", snippet)
    assert n == 1
    monkeypatch.chdir(tmp_path)
    exec(compile(small, "README.md", "exec"), {})
    assert "russia-2022-covert: 2 runs" in capsys.readouterr().out
    assert (tmp_path / "fan.png").stat().st_size > 0
