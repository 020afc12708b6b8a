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
    value = pg.evaluate(
        """() => {
            const gd = document.querySelector('#fan .js-plotly-plot');
            const t = gd.data.find(d => d.name === 'mean field');
            return t.y[t.y.length - 1];
        }"""
    )
    return float(value)


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
        "const t = gd.data.find(d => d.name === 'mean field');"
        "return t.y[t.y.length - 1] !== old; }",
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
        "const t = gd.data.find(d => d.name === 'mean field');"
        "return t.y[t.y.length - 1] !== old; }",
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
