"""The report's "Fit to the public record" section, on a constructed ledger.

Rows at the simulated median (inside their bands by construction) and rows a hundred
times off (outside by construction) of the report-test scenario: the section appears
only when asked, lists every usable row, lists exactly the rows outside their 90 %
band as disagreements, marks unverified and out-of-sample rows, and is well-formed,
self-contained HTML.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from report_cases import YAML, report_scenario

from forcegen.observations.check import check
from forcegen.observations.ledger import LEDGER_COLUMNS, load_ledger
from forcegen.observations.mapping import load_mapping
from forcegen.observations.measure import resolve
from forcegen.report.fit import FitSection, annotated_table, disagreements
from forcegen.report.html import render_report
from forcegen.results.result import Result

CliResult = tuple[int, str, str]

MAPPING = """\
schema: 1
war_start: 2022-01-01
models:
  independent_count: {kind: count, range: [0.9, 1.0], log_sd: 0.05}
  official_claim: {kind: claim, range: [0.9, 1.1], log_sd: 0.1}
  estimate: {kind: estimate, log_sd: 0.3}
  unverified_report: {kind: report, range: [0.8, 1.25], log_sd: 0.3}
before_start: {}
quantities:
  deployed: {measure: stock, of: ["strength[deployed]"], family: strength}
  killed: {measure: flow, of: ["outflow[killed]"], running_total: true, family: deaths}
  prisoners_recruited:
    {measure: flow, of: ["inflow[prisoners:recruited]"], running_total: true, family: recruits}
  not_modelled: {unusable: not a model quantity}
"""
CUTOFF = dt.date(2022, 2, 15)
START = dt.date(2022, 1, 1)
FAR = {"far-up", "far-down", "far-bound"}
"""The rows built to lie outside their 90 % band."""


def _median(result: Result, series: str, category: str, day: int, *, flow: bool) -> float:
    values = result.total(series, categories=category)
    per_run = values[:, : day + 1].sum(axis=1) if flow else values[:, day]
    return float(np.median(per_run))


def _rows(result: Result) -> list[dict[str, str]]:
    """Ledger rows: medians (inside), hundredfold misses (outside), a one-sided figure
    far above everything (outside), one that every replicate passes (inside), and a
    row the scenario cannot use."""

    def at(day: int) -> str:
        return (START + dt.timedelta(days=day)).isoformat()

    dep = {d: _median(result, "strength", "deployed", d, flow=False) for d in (20, 40, 60, 80)}
    killed = {d: _median(result, "outflow", "killed", d, flow=True) for d in (30, 70)}
    base = {c: "" for c in LEDGER_COLUMNS}
    base.update(
        unit="people",
        category="test",
        claimant="Counter",
        source_title="A title",
        source_url="https://example.org/source",
        role="outcome",
        verification="estimate",
        bound="",
    )
    spec = [
        ("dep-20", "deployed", at(20), dep[20], "estimate", ""),
        ("dep-40", "deployed", at(40), dep[40], "official_claim", ""),
        ("dep-60", "deployed", at(60), dep[60], "unverified_report", ""),
        ("far-up", "deployed", at(80), dep[80] * 100, "unverified_report", ""),
        ("far-bound", "deployed", at(70), dep[80] * 100, "estimate", "lower"),
        ("easy-bound", "deployed", at(50), dep[40] / 100, "estimate", "lower"),
        ("k-30", "killed", at(30), killed[30], "estimate", ""),
        ("far-down", "killed", at(70), killed[70] / 100, "independent_count", ""),
        ("nm", "not_modelled", at(10), 5.0, "estimate", ""),
    ]
    rows = []
    for rid, quantity, date, value, status, bound in spec:
        r = dict(base)
        r.update(
            id=rid,
            quantity=quantity,
            date=date,
            value=f"{value:.6g}",
            verification=status,
            bound=bound,
            claimant=f"Claimant of {rid}",
        )
        rows.append(r)
    return rows


def _ledger_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*LEDGER_COLUMNS, "bound"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def files(small_result: Result, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("fit")
    ledger = folder / "ledger.csv"
    ledger.write_text(_ledger_text(_rows(small_result)), encoding="utf-8")
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return ledger, mapping


@pytest.fixture(scope="module")
def section(small_result: Result, files: tuple[Path, Path]) -> FitSection:
    ledger, mapping = files
    resolved = resolve(load_ledger(ledger), small_result.scenario, load_mapping(mapping))
    return FitSection(check(small_result, resolved, seed=1), "ledger.csv", CUTOFF, "--cutoff")


@pytest.fixture(scope="module")
def page(small_result: Result, section: FitSection) -> str:
    return render_report(small_result, fit=section)


def _fit_part(page: str) -> str:
    start = page.index("<section id='fit'>")
    return page[start : page.index("</section>", start)]


class _Strict(HTMLParser):
    """Tag balance (every non-void element closed in order), ids, hrefs and srcs."""

    VOID: ClassVar[set[str]] = {"meta", "img", "br", "col", "hr", "input", "link", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "src" in a:
            self.srcs.append(a["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'} at {self.getpos()}")
            return
        self.stack.pop()


def test_the_section_appears_only_when_asked(small_result: Result, page: str) -> None:
    plain = render_report(small_result)
    assert "id='fit'" not in plain
    assert "Fit to the public record" not in plain
    assert "<section id='fit'><h2>Fit to the public record</h2>" in page
    assert "<a href='#fit'>Fit to the public record</a>" in page


def test_every_usable_observation_is_listed_and_the_unusable_with_why(
    section: FitSection, page: str
) -> None:
    part = _fit_part(page)
    usable = [m.row.id for m in section.checked.resolved.measurements]
    assert sorted(usable) == sorted(
        ["dep-20", "dep-40", "dep-60", "far-up", "far-bound", "easy-bound", "k-30", "far-down"]
    )
    for rid in usable:
        assert part.count(f"<tr id='obs-{rid}'") == 1, rid
    assert "8 of 9 outcome rows" in part
    assert "not a model quantity" in part[part.index("id='fit-unusable'") :]


def test_the_disagreements_are_exactly_the_rows_outside_the_90_percent_band(
    section: FitSection, page: str
) -> None:
    table = annotated_table(section)
    outside = set(table.loc[~table["inside90"], "id"])
    # By construction: the hundredfold misses, and the lower bound above every replicate.
    assert outside == FAR
    assert set(disagreements(table)["id"]) == FAR
    part = _fit_part(page)
    listed = part[part.index("id='fit-disagree'") : part.index("id='fit-series'")]
    assert set(re.findall(r"href='#obs-([^']+)'", listed)) == FAR
    assert "3 of 8 usable observations" in listed
    # Listed plainly: claimant, source and status of each.
    for rid in FAR:
        assert f"Claimant of {rid}" in listed
    assert listed.count("A title") == 3
    assert "independent_count" in listed
    assert "unverified_report" in listed


def test_unverified_rows_are_marked_in_every_table_and_caption(page: str) -> None:
    part = _fit_part(page)
    for rid in ("dep-60", "far-up"):
        row = re.search(rf"<tr id='obs-{rid}' class='unverified'>.*?</tr>", part)
        assert row is not None, rid
        assert "⚠ unverified" in row.group(0)
    assert "<tr id='obs-dep-20'>" in part  # an estimate is not marked
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", part)
    assert len(captions) == 2  # deployed and killed
    assert "Rows resting on unverified reports (⚠ unverified): dep-60, far-up." in captions[0]
    assert "None of these rows rests on an unverified report." in captions[1]
    listed = part[part.index("id='fit-disagree'") : part.index("id='fit-series'")]
    assert "Rows resting on unverified reports (⚠ unverified): far-up." in listed
    assert "2 of the 8 usable rows rest on unverified reports" in part


def test_rows_after_the_cutoff_are_out_of_sample(section: FitSection, page: str) -> None:
    table = annotated_table(section).set_index("id")
    later = {i for i in table.index if table.loc[i, "out_of_sample"]}
    # Days 20, 30 and 40 are on or before 15 February (day 45); the rest are after it.
    assert later == {"dep-60", "far-up", "far-bound", "easy-bound", "far-down"}
    part = _fit_part(page)
    row = re.search(r"<tr id='obs-dep-20'>.*?</tr>", part)
    assert row is not None
    assert "<td>in sample</td>" in row.group(0)
    row = re.search(r"<tr id='obs-far-down'>.*?</tr>", part)
    assert row is not None
    assert "<td>out of sample</td>" in row.group(0)
    assert f"after {CUTOFF}" in part


def test_the_page_is_well_formed_and_makes_no_external_request(page: str) -> None:
    parser = _Strict()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    assert len(set(parser.ids)) == len(parser.ids), "ids are unique"
    assert all(h.startswith("#") for h in parser.hrefs)
    assert not {h[1:] for h in parser.hrefs} - set(parser.ids), "every anchor resolves"
    assert all(s.startswith("data:image/png;base64,") for s in parser.srcs)
    # Addresses appear only as the text of a source, never as a link or a resource.
    without_sources = re.sub(r"<span class='url'>[^<]*</span>", "", page)
    without_sources = re.sub(r"<p class='url'>[^<]*</p>", "", without_sources)
    part = _fit_part(without_sources)
    assert not re.search(r"https?://", part)
    assert "https://example.org/source" in _fit_part(page)


def test_report_cli_with_observations(
    tmp_path: Path, files: tuple[Path, Path], run_cli: Callable[..., CliResult]
) -> None:
    ledger, mapping = files
    scenario = tmp_path / "report-test.yaml"
    scenario.write_text(YAML, encoding="utf-8")
    out = tmp_path / "r.html"
    args = ["report", str(scenario), "--runs", "40", "--no-store", "-o", str(out)]
    code, _, err = run_cli(
        *args, "--observations", str(ledger), "--mapping", str(mapping), "--cutoff", "2022-02-15"
    )
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "<section id='fit'>" in text
    assert "(--cutoff)" in text
    # A bad ledger is refused, located, before anything is simulated.
    bad = tmp_path / "bad.csv"
    bad.write_text(_ledger_text([{**_rows_stub(), "value": "zero"}]), encoding="utf-8")
    code, _, err = run_cli(*args, "--force", "--observations", str(bad), "--mapping", str(mapping))
    assert code == 2
    assert f"{bad}:2:" in err
    assert "simulated" not in err
    assert "Traceback" not in err
    code, _, err = run_cli(*args, "--force", "--cutoff", "2022-02-15")
    assert code == 2
    assert "--observations" in err


def _rows_stub() -> dict[str, str]:
    row = {c: "" for c in LEDGER_COLUMNS}
    row.update(
        id="x",
        date="2022-01-10",
        quantity="deployed",
        unit="people",
        category="test",
        claimant="C",
        source_title="T",
        verification="estimate",
        role="outcome",
        bound="",
    )
    return row


def test_the_report_scenario_is_the_one_checked(small_result: Result) -> None:
    # The constructed ledger relies on the report-test scenario's dates.
    assert small_result.scenario.start_date == START
    assert report_scenario().horizon_days == 90
