"""The explorer in a real browser: Chromium driven by Playwright.

Debian's ``chromium`` is used as it is (no browser download): ``FORCEGEN_CHROMIUM``
names another binary. Without Playwright or Chromium the tests are skipped with the
reason, except under ``CI=true``, where they fail (``.ci/run`` installs Chromium).
Screenshots at 1280 and 390 px wide are kept in ``build/test-artifacts/explore/``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from forcegen.explore.server import Running
from forcegen.explore.setting import BY_HAND
from forcegen.scenario.load import load_scenario_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "explore"
WAIT_MS = 60_000
"""Longest wait for the page (a busy 2-core machine simulates 32 replicates in a few
seconds; the rest is margin)."""


def _chromium() -> str | None:
    chosen = os.environ.get("FORCEGEN_CHROMIUM")
    if chosen:
        return chosen
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (module-wide)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    if executable is None:
        _unavailable("no Chromium found (apt-get install chromium, or set FORCEGEN_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: Running) -> Iterator[Any]:
    """A fresh page of the explorer at 1280 × 900, recording every request."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.requests = requests
    pg.goto(server.url)
    pg.wait_for_selector("#probability")
    try:
        yield pg
    finally:
        context.close()


def _mean_field_end(pg: Any) -> float:
    """Last value of the mean-field line of the fan chart (people)."""
    # Waits for the chart: Dash may be re-rendering it (the node is replaced), and a
    # query in between finds no plot yet.
    handle = pg.wait_for_function(
        """() => {
            const gd = document.querySelector('#fan .js-plotly-plot');
            const t = gd && gd.data && gd.data.find(d => d.name === 'mean field');
            return t ? String(t.y[t.y.length - 1]) : null;
        }"""
    )
    return float(handle.json_value())


def _wait_change(pg: Any, selector: str, before: str) -> str:
    pg.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); "
        "return e && e.innerText !== old; }",
        arg=[selector, before],
    )
    return str(pg.inner_text(selector))


def _move_first_lever_to_end(pg: Any, key: str = "End") -> None:
    thumb = pg.locator("#levers [role=slider]").first
    thumb.focus()
    thumb.press(key)


def _wait_ensemble(pg: Any) -> None:
    pg.wait_for_function(
        "() => document.querySelectorAll('.fg-progress-row').length > 0 && "
        "[...document.querySelectorAll('.fg-progress-row')]"
        ".every(e => e.classList.contains('fg-done'))"
    )


def test_page_offline_screenshot_and_slider(page: Any, server: Running) -> None:
    """Loads with no request outside 127.0.0.1; a slider redraws the mean-field line and
    then updates the probability from the new ensemble."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _wait_ensemble(page)
    page.screenshot(path=str(ARTIFACTS / "explore-1280.png"), full_page=True)
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith("data:")}
    assert hosts == {"127.0.0.1"}, f"requests outside 127.0.0.1: {hosts}"
    assert "P(deployed strength falls below 9,000" in page.inner_text("#answer")
    assert "rests mostly on" in page.inner_text("#answer") or "basis:" in page.inner_text("#answer")

    before_mf = _mean_field_end(page)
    before_p = page.inner_text("#probability")
    start = time.perf_counter()
    _move_first_lever_to_end(page)  # the enlistment rate to its 99th percentile
    page.wait_for_function(
        "(old) => { const gd = document.querySelector('#fan .js-plotly-plot');"
        "const t = gd && gd.data && gd.data.find(d => d.name === 'mean field');"
        "return !!t && t.y[t.y.length - 1] !== old; }",
        arg=before_mf,
    )
    redraw = time.perf_counter() - start
    assert _mean_field_end(page) > before_mf  # more recruits: more deployed
    after_p = _wait_change(page, "#probability", before_p)
    assert float(after_p.rstrip("%")) < float(before_p.rstrip("%"))
    print(f"slider-to-mean-field redraw {redraw:.2f} s")


def test_phone_width(browser: Any, server: Running) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        pg = context.new_page()
        pg.set_default_timeout(WAIT_MS)
        pg.goto(server.url)
        pg.wait_for_selector("#probability")
        _wait_ensemble(pg)
        pg.screenshot(path=str(ARTIFACTS / "explore-390.png"), full_page=True)
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide at 390 px: something is clipped"
        for graph in ("fan", "recruits", "exits", "cost"):
            box = pg.evaluate(
                f"JSON.stringify(document.querySelector('#{graph}').getBoundingClientRect())"
            )
            rect = json.loads(box)
            assert 300 <= rect["width"] <= 390, (graph, rect)
            assert rect["height"] >= 200, (graph, rect)
        # On a phone the answer comes before the controls.
        answer_top = pg.evaluate("document.querySelector('#answer').getBoundingClientRect().top")
        levers_top = pg.evaluate("document.querySelector('#levers').getBoundingClientRect().top")
        assert answer_top < levers_top
    finally:
        context.close()


def test_pin_compare_and_download_yaml(page: Any, tmp_path: Path) -> None:
    _wait_ensemble(page)
    page.click("#pin-btn")
    page.wait_for_selector("text=baseline: the scenario as loaded")
    before = _mean_field_end(page)
    _move_first_lever_to_end(page, "Home")  # the enlistment rate to its lowest
    # The new setting is applied (mean-field redrawn) before its ensemble is awaited.
    page.wait_for_function(
        "(old) => { const gd = document.querySelector('#fan .js-plotly-plot');"
        "const t = gd && gd.data && gd.data.find(d => d.name === 'mean field');"
        "return !!t && t.y[t.y.length - 1] !== old; }",
        arg=before,
    )
    page.wait_for_selector("#baseline-probability")
    text = page.inner_text("#baseline-probability")
    assert "baseline:" in text
    assert "same random numbers" in text
    names = page.evaluate(
        "() => document.querySelector('#diff .js-plotly-plot').data.map(d => d.name)"
    )
    assert "now − baseline: median" in names
    with page.expect_download() as info:
        page.click("#dl-yaml-btn")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8")
    scenario = load_scenario_text(text, str(target), strict=True)
    rate = scenario.channels[0].enlistment.base_rate_per_day  # type: ignore[union-attr]
    assert rate.assumption is not None
    assert rate.assumption.startswith(BY_HAND)
    assert "previous value: lognormal" in rate.assumption
    assert rate.value == 0.0


def test_question_and_bad_input_beside_the_control(page: Any, server: Running) -> None:
    page.check("input[value=hold]")
    page.fill("#q-number", "8000")
    page.press("#q-number", "Enter")
    page.wait_for_selector("text=at least 8,000 people deployed")
    page.fill("#q-number", "eight thousand")
    page.press("#q-number", "Enter")
    page.wait_for_selector("#q-error:has-text('expected a number of people')")
    date_box = page.locator("[id*='ev-date']").first
    date_box.fill("2030-01-01")
    date_box.press("Enter")
    error = page.locator("[id*='event-date:0']")
    error.wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.fg-error')]"
        ".some(e => e.innerText.includes('after the last simulated day'))"
    )
    assert "--set:1:" in error.inner_text()
    # The server still answers.
    page.goto(server.url)
    page.wait_for_selector("#probability")


def _apply_requests(pg: Any) -> list[dict[str, Any]]:
    """Start recording the requests of the callback that applies the controls."""
    seen: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if "_dash-update-component" not in request.url or not request.post_data:
            return
        body = json.loads(request.post_data)
        if str(body.get("output", "")).startswith("..current.data"):
            seen.append(body)

    pg.on("request", record)
    return seen


def test_key_presses_do_not_queue_a_redraw_each(page: Any) -> None:
    """Ten quick presses on a slider ask the server for a few redraws, not ten, and
    the last one carries the slider's final value."""
    _wait_ensemble(page)
    applies = _apply_requests(page)
    thumb = page.locator("#levers [role=slider]").first
    thumb.focus()
    start_value = float(thumb.get_attribute("aria-valuenow"))
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    final = float(thumb.get_attribute("aria-valuenow"))
    assert final > start_value

    def last_value() -> float | None:
        if not applies:
            return None
        return float(applies[-1]["inputs"][0]["value"][0])

    deadline = time.monotonic() + WAIT_MS / 1000
    while last_value() != pytest.approx(final) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert last_value() == pytest.approx(final)
    page.wait_for_timeout(1000)  # any request still queued would be sent by now
    assert 1 <= len(applies) <= 3, f"{len(applies)} redraws asked for 10 key presses"


def test_the_search_box_sets_any_parameter(page: Any) -> None:
    before = _mean_field_end(page)
    page.click("#search-name")
    page.keyboard.type("losses.killed_per_day")
    # Click the option once the list shows it (Enter could pick before it filters).
    page.get_by_text("losses.killed_per_day — now", exact=False).first.click()
    page.wait_for_selector("#search-name:has-text('losses.killed_per_day')")
    page.fill("#search-value", "0.003")
    page.click("#search-set")
    page.wait_for_selector("#searched-list:has-text('losses.killed_per_day = 0.003')")
    page.wait_for_function(
        "(old) => { const gd = document.querySelector('#fan .js-plotly-plot');"
        "const t = gd && gd.data && gd.data.find(d => d.name === 'mean field');"
        "return !!t && t.y[t.y.length - 1] !== old; }",
        arg=before,
    )
    assert _mean_field_end(page) < before  # more killed a day: fewer deployed
    page.click("#search-clear")
    page.wait_for_function("() => document.querySelector('#searched-list').innerText === ''")


def test_downloads_png_svg_and_html_report(page: Any, tmp_path: Path) -> None:
    _wait_ensemble(page)
    saved: dict[str, bytes] = {}
    for button in ("dl-png-btn", "dl-svg-btn", "dl-html-btn"):
        with page.expect_download() as info:
            page.click(f"#{button}")
        target = tmp_path / info.value.suggested_filename
        info.value.save_as(target)
        saved[button] = target.read_bytes()
    assert saved["dl-png-btn"].startswith(b"\x89PNG\r\n\x1a\n")
    assert len(saved["dl-png-btn"]) > 5_000
    assert b"<svg" in saved["dl-svg-btn"][:2_000]
    assert b"</svg>" in saved["dl-svg-btn"]
    report = saved["dl-html-btn"].decode("utf-8")
    assert report.lstrip().lower().startswith("<!doctype html")
    assert "</html>" in report
    assert len(report) > 10_000


# Writes made by the server's threads while the audit below is on: (event, path).
_WRITES: list[tuple[str, str]] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple[Any, ...]) -> None:
    # Audit hooks cannot be removed: this one does nothing unless a test switched it
    # on, and records only the server's threads (not the test's own downloads).
    if _WRITES is None or threading.current_thread() is threading.main_thread():
        return
    if event == "open" and len(args) >= 3 and isinstance(args[0], str | bytes | Path):
        mode, flags = args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing:
            _WRITES.append((event, os.fsdecode(args[0])))
    elif event in {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree"}:
        _WRITES.append((event, os.fsdecode(args[0])))


def test_the_server_writes_nothing_outside_its_working_directory(
    browser: Any, small_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Levers, a pin, an ensemble and every download, with the server's threads
    audited: no file is opened for writing, created, renamed or removed outside the
    working directory (it writes nothing at all: downloads are sent from memory).
    The ensemble worker process only simulates and is not audited; $HOME gets
    nothing but matplotlib's own font cache."""
    global _WRITES
    from forcegen.explore.server import make_explorer, start

    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    sys.addaudithook(_audit)
    explorer, base_id = make_explorer(str(small_path), runs=16, seed=2, threads=1)
    running = start(explorer, base_id, port=0)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    _WRITES = []
    try:
        # The audit sees a thread's write outside the working directory.
        probe = threading.Thread(target=(tmp_path / "probe.txt").write_text, args=("x",))
        probe.start()
        probe.join()
        assert [p for _, p in _WRITES] == [str(tmp_path / "probe.txt")]
        _WRITES.clear()
        pg = context.new_page()
        pg.set_default_timeout(WAIT_MS)
        pg.goto(running.url)
        pg.wait_for_selector("#probability")
        _wait_ensemble(pg)
        pg.click("#pin-btn")
        _move_first_lever_to_end(pg)
        pg.wait_for_selector("#baseline-probability")
        for button in ("dl-yaml-btn", "dl-png-btn", "dl-svg-btn", "dl-html-btn"):
            with pg.expect_download() as info:
                pg.click(f"#{button}")
            info.value.save_as(tmp_path / "downloads" / info.value.suggested_filename)
        writes = list(_WRITES)
    finally:
        _WRITES = None
        context.close()
        running.stop()
    outside = [(e, p) for e, p in writes if not Path(p).resolve().is_relative_to(work)]
    assert outside == [], f"the server wrote outside {work}: {outside}"
    assert sorted(p.name for p in work.iterdir()) == []
    # Matplotlib (the PNG/SVG figures) keeps its font list in $HOME/.cache/matplotlib
    # and makes $HOME/.config/matplotlib when they are missing, when forcegen is
    # imported (before serving): a library's own cache, the one write allowed here.
    in_home = {str(p.relative_to(home)) for p in home.rglob("*")}
    matplotlib_cache = {".cache", ".cache/matplotlib", ".config", ".config/matplotlib"}
    others = {p for p in in_home - matplotlib_cache if not p.startswith(".cache/matplotlib/")}
    assert others == set(), sorted(others)


def test_slider_tooltips_format_values_as_the_server_does(page: Any) -> None:
    """The tooltip's formatter (assets/format.js) agrees with ``format_value``, which
    writes the same values into the notes and the downloaded YAML."""
    from forcegen.explore.levers import format_value

    values = [
        0.0,
        3.0,
        125000.0,
        7.192585940677707e-05,
        0.085,
        0.6,
        29.5,
        1.5e-05,
        0.00012345,
        12345.678,
        0.99995,
        9999.5,
        -0.25,
        1e-4,
        2.5e20,
    ]
    got = page.evaluate("vs => vs.map(v => window.dccFunctions.forcegenValue(v))", values)
    assert got == [format_value(v) for v in values]
    tooltip = page.locator(".dash-slider-tooltip").first.inner_text()
    assert len(tooltip) <= 10, tooltip
