"""The HTML copy's explore layer, without a browser: the Content-Security-Policy and its hashes,
the contents list, the sort keys, what the script may not do, and the palette's contrast (light
and dark) computed from explore.css's variables. tests/report/test_browser.py runs it in Chromium."""

from __future__ import annotations

import base64
import colorsys
import hashlib
import itertools
import re

import pytest

from audit.report.html import ReportContext, render_html, template_source
from audit.report.html.explore import add_contents, security_policy
from tests.report.test_report import HOSTILE_IMG, HOSTILE_SCRIPT, _audit

WHEN = "2025-01-31T09:30:00Z"


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    return _audit(tmp_path_factory.mktemp("explore"), "equalized-odds", label="y")


@pytest.fixture(scope="module")
def html(document) -> str:
    return render_html(document, context=ReportContext(generated_at=WHEN, medium="html"))


@pytest.fixture(scope="module")
def pdf_html(document) -> str:
    return render_html(document, context=ReportContext(generated_at=WHEN))


def _policy(html: str) -> dict[str, list[str]]:
    content = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html).group(1)
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in content.split(";")) if d}


def _digest(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def test_the_pdf_gets_none_of_it(pdf_html):
    assert "<script" not in pdf_html and "Content-Security-Policy" not in pdf_html
    assert 'class="toc"' not in pdf_html and "prefers-color-scheme" not in pdf_html


def test_only_its_own_script_and_styles_may_run_and_nothing_be_fetched(html):
    policy = _policy(html)
    assert policy["default-src"] == ["'none'"]  # no fetch, font, frame, media, connection, worker ...
    assert policy["img-src"] == ["data:"]
    for directive in ("base-uri", "form-action", "object-src"):
        assert policy[directive] == ["'none'"]
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert scripts == [template_source("explore.js")] and len(styles) == 2
    assert policy["script-src"] == [_digest(s) for s in scripts]  # by hash: no 'unsafe-inline', no host
    assert policy["style-src"] == [_digest(s) for s in styles]
    assert html.index("Content-Security-Policy") < html.index("<style>")  # before what it governs
    # the hostile group names are text, never markup
    assert HOSTILE_SCRIPT not in html and HOSTILE_IMG not in html
    assert "&lt;script&gt;" in html


def test_the_policy_hashes_what_is_written():
    page = '<meta charset="utf-8"><style>a{}</style><script>1</script>'
    assert security_policy(page).startswith(f"default-src 'none'; img-src data:; style-src {_digest('a{}')}; ")
    assert f"script-src {_digest('1')};" in security_policy(page)
    assert "script-src 'none'" in security_policy('<meta charset="utf-8">')


def test_contents_lists_every_section_and_finding_and_every_link_lands(html):
    nav = re.search(r'<nav class="toc" id="contents".*?</nav>', html, re.S).group(0)
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', nav)
    body = html.replace(nav, "")
    headings = [
        re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h1(?: id=\"[^\"]*\")?>(.*?)</h1>", body, re.S)
    ]  # the cover's title has a class: it is not listed
    finding = r'<section class="finding[^"]*" id="finding-\d+">\s*<div class="finding-head">\s*<h2>(.*?)</h2>'
    finding_titles = re.findall(finding, body)
    assert [text for _, text in links] == [headings[0], *finding_titles, *headings[1:]]
    assert headings[:1] == ["2. Findings"] and "6. Provenance" in headings and finding_titles
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for target, _ in links:
        assert f'id="{target}"' in body
    assert html.index("</section>") < html.index('<nav class="toc"') < html.index('<section class="findings">')


def test_contents_text_is_escaped_again():
    page = (
        '<body><section class="cover"><h1 class="title">T</h1></section>\n'
        '<section class="findings"><h1>2. Findings</h1>\n'
        '<section class="finding" id="finding-1"><h2>2.1 a &lt;b onclick=x&gt; &amp; c</h2></section></section></body>'
    )
    out = add_contents(page)
    assert '<a href="#finding-1">2.1 a &lt;b onclick=x&gt; &amp; c</a>' in out
    assert '<h1 id="section-1">2. Findings</h1>' in out and "<b onclick" not in out
    assert add_contents("<body><p>no headings</p></body>") == "<body><p>no headings</p></body>"


def test_sort_keys_are_the_raw_numbers_of_the_evidence(html, document):
    keys = re.findall(r'data-sort="([^"]*)"', html)
    assert keys and all(float(k) == float(k) for k in keys)  # every one a number (no "None", no "%")
    # the first scope table of the first finding: n, metric, contrast as recorded in results.json
    row = re.search(r'<tr class="row-\w+"( data-outside)?>\s*<td class="col-group">Alpha</td>(.*?)</tr>', html, re.S)
    cells = re.findall(r'data-sort="([^"]*)"', row.group(2))
    group = next(g for g in document["groups"] if g["scope"] == "grp" and g["label"] == "Alpha")
    disparity = next(d for d in document["disparities"] if d["scope"] == "grp")
    judged = next(o for o in disparity["groups"] if o["group"] == group["id"])
    assert float(cells[0]) == group["n"]
    assert float(cells[1]) == group["metrics"][disparity["metric"]]["value"]
    assert float(cells[2]) == judged["value"]
    outside = re.findall(r'<tr class="row-(\w+)" data-outside>', html)
    assert outside and set(outside) <= {"fail", "notsig"}


def test_the_script_builds_no_markup_and_fetches_nothing():
    script = template_source("explore.js")
    code = "\n".join(line for line in script.splitlines() if not line.strip().startswith("//"))
    for forbidden in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "WebSocket",
        "sendBeacon",
        'setTimeout("',
    ):
        assert forbidden not in code, forbidden
    assert "</" not in script  # would end its <script> element
    css = re.sub(r"/\*.*?\*/", "", template_source("explore.css"), flags=re.S)  # its comment says "no url()"
    assert not re.search(r"url\(|@import|@font-face", css)


# --- the palette: explore.css's variables, light (:root) and dark (prefers-color-scheme) -------

TEXT = (
    "--fg",
    "--strong",
    "--muted",
    "--accent",
    "--fail",
    "--warn",
    "--pass",
    "--waived",
    "--insufficient",
    "--within",
    "--notsig",
)
SURFACES = ("--bg", "--surface", "--fail-surface")
BADGES = {
    "--badge-fail": "--badge-ink",
    "--badge-pass": "--badge-ink",
    "--badge-waived": "--badge-ink",
    "--badge-insufficient": "--badge-ink",
    "--badge-notsig": "--badge-ink",
    "--badge-warn": "--badge-warn-ink",
}
STATUSES = ("--badge-fail", "--badge-warn", "--badge-pass", "--badge-waived", "--badge-insufficient")


def _palettes() -> dict[str, dict[str, str]]:
    css = template_source("explore.css")
    light = re.search(r"^:root \{(.*?)\}", css, re.S | re.M).group(1)
    dark = re.search(r"prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", css, re.S).group(1)
    variable = r"(--[\w-]+):\s*(#[0-9a-fA-F]{6});"
    return {"light": dict(re.findall(variable, light)), "dark": dict(re.findall(variable, dark))}


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _lab(colour: str) -> tuple[float, float, float]:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_the_contrast_calculation():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_every_text_colour_reads_on_every_surface(palette):
    colours = _palettes()[palette]
    assert set(TEXT) | set(SURFACES) | set(BADGES) | set(BADGES.values()) <= set(colours)
    low = [
        (text, surface, round(contrast(colours[text], colours[surface]), 2))
        for text in TEXT
        for surface in SURFACES
        if contrast(colours[text], colours[surface]) < 4.5
    ]
    low += [
        (ink, badge, round(contrast(colours[ink], colours[badge]), 2))
        for badge, ink in BADGES.items()
        if contrast(colours[ink], colours[badge]) < 4.5
    ]
    assert not low, f"{palette}: text below 4.5:1 — {low}"


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_status_colours_stay_apart(palette):
    """FAIL, WARN, PASS, WAIVED and INSUFFICIENT DATA badges differ clearly in colour (CIELAB
    distance at least 25), and the grey one is the only one without a hue (a word goes with each)."""
    colours = _palettes()[palette]
    for a, b in itertools.combinations(STATUSES, 2):
        distance = sum((p - q) ** 2 for p, q in zip(_lab(colours[a]), _lab(colours[b]), strict=True)) ** 0.5
        assert distance >= 25, (palette, a, b, round(distance, 1))
    for name in STATUSES:
        rgb = [int(colours[name][i : i + 2], 16) / 255 for i in (1, 3, 5)]
        saturated = colorsys.rgb_to_hsv(*rgb)[1] > 0.3
        assert saturated == (name != "--badge-insufficient"), (palette, name)
