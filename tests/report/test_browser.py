"""The HTML copy in a real headless browser (Chromium over CDP, tests/report/browser.py): no
request leaves the page and the Content-Security-Policy lets only its own script run; the layout
at phone (375 px) and desktop (1280 px) width; sorting from the keyboard; filtering by name and
to the groups outside a limit; the dark palette; and the report without JavaScript.

Screenshots are written to the test's tmp_path (``<name>-375.png``, ``<name>-1280.png``, ``-dark``)
for a person to look at; the assertions measure the layout rather than compare pixels.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from audit.report.html import ReportContext, render_html
from tests.report.browser import Browser, Page, headless_chromium
from tests.report.test_report import HOSTILE_IMG, _audit

pytestmark = pytest.mark.slow  # starts a browser

WHEN = "2025-01-31T09:30:00Z"
#: Background traffic of Chromium itself (time, sign-in), not of any page: it reaches the proxy socket.
BROWSER_SERVICES = (b"google.com", b"googleapis.com", b"gvt1.com", b"gstatic.com")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    document = _audit(tmp, "equalized-odds", label="y")
    path = tmp / "report.html"
    path.write_text(render_html(document, context=ReportContext(generated_at=WHEN, medium="html")), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Browser:
    with headless_chromium() as running:
        yield running


@pytest.fixture
def page(browser, report) -> Page:
    return browser.open(report, width=1280)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _page_traffic(browser: Browser) -> list[bytes]:
    # a connection that sent nothing asked for nothing (Chromium's own speculative connects, seen under load);
    # the page's requests themselves are checked through the browser's network events first
    lines = [c.split(b"\r\n")[0] for c in browser.proxy_connections if c]
    return [line for line in lines if not any(host in line for host in BROWSER_SERVICES)]


def test_no_request_leaves_the_page_and_only_its_own_script_runs(browser, page, report):
    assert page.evaluate("document.documentElement.classList.contains('explore')")  # the script ran
    requests = page.requests()
    assert requests[0] == report.resolve().as_uri()
    assert all(url.startswith("data:image/svg+xml;base64,") for url in requests[1:]), requests
    assert page.problems() == []  # no CSP violation, no script error
    assert _page_traffic(browser) == []


def test_the_checks_would_see_a_request_and_a_script_the_policy_refuses(browser, report, tmp_path):
    """Negative controls: an external image is seen (CDP and the proxy socket), and a script whose
    hash is not in the policy does not run and is reported."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text('<meta charset="utf-8"><p>x</p><img src="http://fairgate-probe.invalid/x.png">', encoding="utf-8")
    page = browser.open(leaky)
    page.evaluate("new Promise(r => setTimeout(r, 300))")
    assert "http://fairgate-probe.invalid/x.png" in page.requests()
    assert any(b"fairgate-probe.invalid" in line for line in _page_traffic(browser))
    tampered = tmp_path / "tampered.html"
    html = report.read_text(encoding="utf-8")
    tampered.write_text(html.replace('"use strict";', '"use strict"; ', 1), encoding="utf-8")
    page = browser.open(tampered)
    assert not page.evaluate("document.documentElement.classList.contains('explore')")
    assert any("Content Security Policy" in p for p in page.problems()), page.problems()
    assert HOSTILE_IMG not in html


@pytest.mark.parametrize("width", [375, 1280])
def test_layout_at_phone_and_desktop_width(page, width, tmp_path):
    page.viewport(width, 900)
    layout = page.evaluate(
        """(() => {
          const chart = document.querySelector('figure.chart');
          const img = chart.querySelector('img');
          const toc = document.getElementById('contents');
          return {
            scroll: document.documentElement.scrollWidth,
            tocLinks: toc.querySelectorAll('a').length,
            tocWidth: toc.getBoundingClientRect().width,
            img: img.getBoundingClientRect().width,
            natural: img.naturalWidth,
            figure: chart.clientWidth,
            figureScrolls: chart.scrollWidth > chart.clientWidth,
            tables: document.querySelectorAll('.scroll-box > table.data').length,
            bar: document.querySelector('.explore-bar').getBoundingClientRect().width,
          };
        })()"""
    )
    assert layout["scroll"] <= width, layout  # the page itself never scrolls sideways
    assert layout["tocLinks"] >= 6 and 0 < layout["tocWidth"] <= width
    assert layout["tables"] >= 2 and 0 < layout["bar"] <= width
    if width == 375:
        # the chart keeps at least 600 px (its text at least 93% of the A4 size) and scrolls in its box
        assert layout["img"] >= 600 and layout["figureScrolls"], layout
    else:
        assert layout["img"] == pytest.approx(layout["figure"], abs=1) and not layout["figureScrolls"], layout
    for name, selector in (("top", None), ("chart", "figure.chart"), ("table", "table.finding-table")):
        page.evaluate(
            "window.scrollTo(0, 0)" if selector is None else f"document.querySelector('{selector}').scrollIntoView()"
        )
        shot = page.screenshot(tmp_path / f"{name}-{width}.png")
        assert _png_size(shot) == (width, 900)


def test_sorting_from_the_keyboard(page):
    page.evaluate("document.querySelector('table.finding-table thead th:nth-child(2) button').focus()")
    values = "Array.from(document.querySelector('table.finding-table').tBodies[0].rows, r => r.cells[1].dataset.sort)"
    before = page.evaluate(values)
    page.press("Enter", "Enter", 13, "\r")
    ascending = page.evaluate(values)
    assert [float(v) for v in ascending] == sorted(float(v) for v in before)
    assert page.evaluate("document.querySelector('table.finding-table thead th:nth-child(2)').ariaSort") == "ascending"
    page.press(" ", "Space", 32, " ")
    descending = page.evaluate(values)
    assert [float(v) for v in descending] == sorted((float(v) for v in before), reverse=True)
    header = "document.querySelector('table.finding-table thead th:nth-child(2)')"
    assert page.evaluate(f"{header}.getAttribute('aria-sort')") == "descending"
    # the metric column: an undefined value (no data-sort) goes last in both directions
    page.evaluate("document.querySelector('table.metrics-table:last-of-type thead th:nth-child(5) button').click()")
    last = page.evaluate(
        "Array.from(document.querySelectorAll('table.metrics-table')).map(t => "
        "Array.from(t.tBodies[0].rows, r => r.cells[4].hasAttribute('data-sort')))"
    )
    for column in last:
        assert column == sorted(column, reverse=True)  # every defined value before every undefined one


def test_filtering_by_name_and_to_groups_outside_a_limit(page):
    page.evaluate("document.getElementById('group-filter').focus()")
    page.call("Input.insertText", text="alpha")
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('table.finding-table tbody tr, table.metrics-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.querySelector('.col-group').textContent)"
    )
    assert shown and all("alpha" in name.lower() for name in shown)
    assert "Showing" in page.evaluate("document.querySelector('.explore-status').textContent")
    page.evaluate("document.getElementById('group-filter').value = ''")
    page.evaluate("document.getElementById('group-filter').dispatchEvent(new Event('input'))")
    page.evaluate("document.getElementById('outside-only').click()")
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('table.finding-table tbody tr'),"
        " r => [!r.hidden, r.hasAttribute('data-outside')])"
    )
    assert any(outside for _, outside in rows) and all(visible == outside for visible, outside in rows)
    notes = page.evaluate("Array.from(document.querySelectorAll('.filter-note'), n => n.hidden ? '' : n.textContent)")
    assert any(n.startswith("Showing") or n.startswith("No group") for n in notes)
    page.evaluate("document.getElementById('outside-only').click()")
    assert page.evaluate("Array.from(document.querySelectorAll('tbody tr')).every(r => !r.hidden)")


def test_dark_palette(page, tmp_path):
    page.viewport(375, 900, dark=True)
    colours = page.evaluate(
        "[getComputedStyle(document.documentElement).backgroundColor, getComputedStyle(document.body).color,"
        " getComputedStyle(document.querySelector('.badge')).backgroundColor]"
    )
    assert colours[0] == "rgb(22, 24, 27)" and colours[1] == "rgb(230, 230, 230)", colours
    page.evaluate("document.querySelector('table.finding-table').scrollIntoView()")
    page.screenshot(tmp_path / "table-375-dark.png")
    page.viewport(1280, 900, dark=False)
    light = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert light in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")


def test_without_javascript_everything_is_still_there(browser, report):
    page = browser.open(report)
    page.call("Emulation.setScriptExecutionDisabled", value=True)
    loads = sum(e["method"] == "Page.loadEventFired" for e in page.events)
    page.call("Page.reload")
    while sum(e["method"] == "Page.loadEventFired" for e in page.events) == loads:
        page.evaluate("1")  # no timers run without JavaScript: wait for the load event over CDP
    state = page.evaluate(
        "[document.documentElement.classList.contains('explore'), !!document.querySelector('.explore-bar'),"
        " document.querySelectorAll('#contents a').length, document.querySelectorAll('tbody tr[hidden]').length,"
        " document.querySelectorAll('figure.chart img').length]"
    )
    assert state[:2] == [False, False] and state[2] >= 6 and state[3] == 0 and state[4] >= 1
