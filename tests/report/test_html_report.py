"""The HTML report: self-contained, escaped, evidence markers that resolve."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_cases import HOSTILE, report_scenario

from forcegen.analysis.compare import compare
from forcegen.report.html import WEAK_MARK, headline_bases, render_report, write_report
from forcegen.results.result import Result
from forcegen.scenario.evidence import evidence_table
from forcegen.sim import Sim


class _Collect(HTMLParser):
    """Ids, hrefs, srcs, tags and the rows of the headline table."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[str] = []
        self.row: str | None = None
        self.row_links: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
            if self.row is not None:
                self.row_links[self.row].append(a["href"])
        if "src" in a:
            self.srcs.append(a["src"])
        if tag == "tr" and a.get("id", "").startswith("h-"):
            self.row = a["id"]
            self.row_links[self.row] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None


@pytest.fixture(scope="module")
def page(small_result: Result, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_report(
        small_result, tmp_path_factory.mktemp("r") / "out" / "report.html", store_run_id="abc123"
    )
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    return parser


def test_one_self_contained_file(page: str, parsed: _Collect) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert "script" not in parsed.tags
    assert "link" not in parsed.tags
    assert all(src.startswith("data:image/png;base64,") for src in parsed.srcs)
    assert len(parsed.srcs) >= 7  # the figures
    assert all(href.startswith("#") for href in parsed.hrefs), "no external links"
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style
    assert "@import" not in style


def test_every_anchor_resolves(parsed: _Collect) -> None:
    ids = set(parsed.ids)
    assert len(ids) == len(parsed.ids), "ids are unique"
    missing = sorted({h[1:] for h in parsed.hrefs} - ids)
    assert not missing


def test_scenario_text_is_escaped(page: str) -> None:
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Report test &lt;i&gt;scenario&lt;/i&gt;" in page
    assert "Prisoners &amp; &lt;others&gt;" in page
    assert "<others>" not in page
    assert HOSTILE not in page


def test_headlines_resting_on_weak_inputs_are_marked(
    parsed: _Collect, page: str, small_result: Result
) -> None:
    marked = {row for row, links in parsed.row_links.items() if "#basis-method" in links}
    # Strength moves with the guessed hazard and the prisoner recruits (an unverified
    # report and a denial): marked, and the inputs named link to the parameter table.
    assert "h-strength-end" in marked
    links = parsed.row_links["h-strength-end"]
    assert "#param-losses.killed_per_day" in links
    assert "h-cost-paid" in marked
    # Regular recruits are a point value counted independently: only chance moves
    # them, so nothing is named and there is no marker.
    assert "h-recruits-regulars" not in marked
    assert parsed.row_links["h-recruits-regulars"] == []
    # Prisoner recruits rest on their sampled rate, which cites the denial: the
    # marker names that status, not a uniform text.
    assert parsed.row_links["h-recruits-prisoners"] == [
        "#basis-method",
        "#param-channels.prisoners.enlistment.recruits_per_day",
    ]
    row = page[page.index("id='h-recruits-prisoners'") :]
    assert row[: row.index("</tr>")].count("⚠ denied") == 1
    # The appendix still lists what feeds each group in the model.
    table = evidence_table(small_result.scenario)
    bases = headline_bases(small_result.scenario, table)
    assert not table.rests_on_weak(bases["recruits-regulars"].names)
    weak = table.rests_on_weak(bases["recruits-prisoners"].names)
    assert {c.id for c in weak.claims} == {"rumour-prison", "denial"}


def test_marker_text_and_plain_note(page: str) -> None:
    assert WEAK_MARK in page
    assert "Several inputs of this scenario are unverified or assumed" in page
    assert "neither forecasts nor observations" in page


def test_evidence_appendix_lists_every_claim(page: str, small_result: Result) -> None:
    appendix = page[page.index("id='appendix'") :]
    for claim in small_result.scenario.claims:
        assert f"id='claim-{claim.id}'" in appendix
        assert f"st-{claim.status}" in appendix
    # The address of a source is shown as text, not linked.
    assert "https://example.org/count" in appendix
    assert "href='https://" not in page
    # The unverified claim lists what rests on it.
    start = appendix.index("id='claim-rumour-prison'")
    block = appendix[start : appendix.index("<div class='claim'", start)]
    assert "pools.prison.initial_people" in block
    assert "#h-recruits-prisoners" in block


def test_parameters_table_shows_sampled_ranges(page: str, small_result: Result) -> None:
    params = page[page.index("id='parameters'") : page.index("id='appendix'")]
    assert "id='param-channels.prisoners.enlistment.recruits_per_day'" in params
    assert "uniform(5, 15)" in params
    values = small_result.parameters["channels.prisoners.enlistment.recruits_per_day"]
    assert values.min() >= 5
    assert re.search(r"\d+(\.\d+)? – \d+(\.\d+)?", params)
    assert "Model defaults" in params


def test_provenance_and_headline_numbers(page: str, small_result: Result) -> None:
    assert "abc123" in page
    assert f"{small_result.runs} replicates, seed {small_result.seed}" in page
    assert "Probability deployed strength stays at or above 75%" in page
    assert "Share of all recruits from prisoners" in page
    assert "converted to USD" in page


def test_comparison_section(small_result: Result, other_result: Result) -> None:
    html = render_report(small_result, comparison=[other_result])
    section = html[html.index("id='comparison'") :]
    assert "report-test-more − report-test" in section
    assert "channels.regulars.enlistment.recruits_per_day" in section
    assert "id='fig-compare'" in html
    ready = render_report(small_result, comparison=compare([small_result, other_result]))
    assert "id='comparison'" in ready
    assert "id='fig-compare'" not in ready


def test_write_report_creates_folders(small_result: Result, tmp_path: Path) -> None:
    path = write_report(small_result, tmp_path / "a" / "b" / "r.html", thresholds=(0.9,))
    text = path.read_text(encoding="utf-8")
    assert "90% of the initial deployed strength" in text


def test_no_initial_force_leaves_out_the_thresholds() -> None:
    # Thresholds are fractions of the initial deployed strength: none here (no regular
    # recruits, and the prisoners' first recruits deploy after a week of training).
    sc = report_scenario(
        initial="deployed: {value: 0, assumption: none}",
        regulars_rate="recruits_per_day: {value: 0, evidence: [count-regulars]}",
    )
    result = Sim(sc, runs=8, seed=1).run()
    html = render_report(result)
    assert "initial deployed strength" not in html
    assert "id='fig-below'" not in html
    assert "id='h-strength-end'" in html
