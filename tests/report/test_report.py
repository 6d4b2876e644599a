"""The PDF/HTML report: content, evidence attachment, draft marking, escaping, no fetching,
errors, deterministic charts.

Documents are built here by running the real pipeline on a small CSV written to tmp_path, with
group names chosen to be hostile (HTML, a file:// image, a script, matplotlib mathtext).
"""

from __future__ import annotations

import base64
import csv
import functools
import re
import shutil
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from audit.errors import RenderError
from audit.pipeline import run_audit
from audit.report import fetcher as fetcher_module
from audit.report import html as html_module
from audit.report.charts import finding_charts
from audit.report.fetcher import BundleFetcher
from audit.report.html import ReportContext, fmt_contrast, fmt_pct, render_html
from audit.report.html import render as html_render
from audit.report.pdf import html_to_pdf, render_pdf
from audit.report.results import canonical_json

HOSTILE_IMG = '<img src="file:///etc/hostname">'
HOSTILE_SCRIPT = '<script>alert("x")</script>'
MATH = "Beta $\\alpha$ & co"  # mathtext and an ampersand: must be drawn and printed literally
TINY = "Tiny"  # no one with a positive outcome: its true positive rate is undefined
WHEN = "2025-01-31T09:30:00Z"
SIGNER = {
    "name": "Ada Example",
    "role": "author",
    "development_only": False,
    "fingerprint": "ab" * 32,
}

# group → (n, positives, true positives, false positives)
GROUPS = {
    "Alpha": (240, 120, 96, 36),
    MATH: (240, 120, 66, 18),
    HOSTILE_IMG: (160, 80, 40, 8),
    HOSTILE_SCRIPT: (160, 80, 60, 22),
    TINY: (8, 0, 0, 2),
}


def _write_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["grp", "sex", "y", "pred"])
        for name, (n, positives, tp, fp) in GROUPS.items():
            for i in range(n):
                positive = i < positives
                j = i if positive else i - positives
                pred = j < tp if positive else j < fp
                out.writerow([name, "F" if i % 2 else "M", int(positive), int(pred)])
    return path


def _audit(tmp: Path, policy: str, **kw) -> dict:
    data = _write_csv(tmp / "data.csv")
    result = run_audit(
        data=data,
        policy=policy,
        predictions="pred",
        sensitive=["grp", "sex"],
        command=["fairgate", "audit", "--data", str(data), "--policy", policy],
        **kw,
    )
    return result.to_dict()


@functools.lru_cache(maxsize=4)
def _text(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    return _audit(tmp_path_factory.mktemp("eo"), "equalized-odds", label="y")


@pytest.fixture(scope="module")
def results_json(document) -> bytes:
    return canonical_json(document)


@pytest.fixture(scope="module")
def unsigned(document, results_json) -> tuple[bytes, list[str]]:
    """(pdf, urls requested) for the unsigned report."""
    seen: list[BundleFetcher] = []

    class Recording(BundleFetcher):
        def __init__(self) -> None:
            super().__init__()
            seen.append(self)

    mp = pytest.MonkeyPatch()
    mp.setattr(fetcher_module, "BundleFetcher", Recording)
    try:
        pdf = render_pdf(document, context=ReportContext(generated_at=WHEN), results_json=results_json)
    finally:
        mp.undo()
    return pdf, [url for f in seen for url in f.requested]


@pytest.fixture(scope="module")
def signed(document, results_json) -> bytes:
    return render_pdf(
        document,
        context=ReportContext(generated_at=WHEN, signers=[SIGNER]),
        results_json=results_json,
    )


def test_fixture_covers_what_the_report_must_show(document):
    statuses = {f["status"] for f in document["findings"]}
    assert document["verdict"] == "FAIL" and "FAIL" in statuses
    labels = {g["label"] for g in document["groups"]}
    assert {HOSTILE_IMG, HOSTILE_SCRIPT, MATH, TINY} <= labels
    tiny = next(g for g in document["groups"] if g["label"] == TINY)
    assert tiny["metrics"]["true_positive_rate"]["value"] is None


def test_pdf_states_verdict_policy_and_every_finding(document, unsigned):
    pdf, _ = unsigned
    assert pdf.startswith(b"%PDF-")
    pages = _text(pdf)
    text = " ".join(pages)
    assert "FAIL" in pages[0] and "Verdict" in pages[0]
    assert document["policy"]["id"] in pages[0]
    for finding in document["findings"]:
        assert finding["rule_id"] in text
        first_words = " ".join(finding["message"].split()[:5])
        assert first_words in text, first_words
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert "Group metrics" in text and "Methodology" in text and "Limitations" in text
    assert "Provenance" in text and "Approver" in text
    info = PdfReader(BytesIO(pdf)).metadata
    assert document["policy"]["id"] in info.title and "FAIL" in info.title
    assert info["/CreationDate"].startswith("D:20250131093000")


def test_results_json_is_attached_byte_for_byte_as_pdfa3_data(unsigned, results_json):
    pdf, _ = unsigned
    reader = PdfReader(BytesIO(pdf))
    assert reader.attachments["results.json"] == [results_json]
    catalog = reader.trailer["/Root"]
    # WeasyPrint 70 lists the one file spec twice in /AF; what matters is that each is "Data".
    specs = {ref.idnum: ref.get_object() for ref in catalog["/AF"]}
    assert len(specs) == 1
    (spec,) = specs.values()
    assert spec["/AFRelationship"] == "/Data" and spec["/UF"] == "results.json"
    xmp = catalog["/Metadata"].get_object().get_data()
    assert re.search(rb'pdfaid:part[=>"\s]+3', xmp) and re.search(rb'pdfaid:conformance[=>"\s]+B', xmp)
    assert catalog["/OutputIntents"]  # PDF/A needs the sRGB output intent


def test_unsigned_draft_on_every_page(unsigned):
    pdf, _ = unsigned
    pages = _text(pdf)
    assert len(pages) >= 4
    assert all("UNSIGNED DRAFT" in page for page in pages)


def test_signed_report_names_signer_and_is_not_a_draft(signed):
    text = " ".join(_text(signed))
    assert "UNSIGNED DRAFT" not in text and "unsigned draft" not in text.lower()
    assert SIGNER["name"] in text
    assert "DEVELOPMENT KEY" not in text
    assert "unsigned" not in PdfReader(BytesIO(signed)).metadata.title


def test_hostile_group_names_are_text_and_nothing_is_fetched(document, unsigned):
    pdf, requested = unsigned
    text = " ".join(_text(pdf))
    assert HOSTILE_IMG in text and HOSTILE_SCRIPT in text and MATH in text
    # Only the charts were fetched, and only as data: URIs.
    assert requested and all(url.startswith("data:image/svg+xml;base64,") for url in requested)

    html = render_html(document, context=ReportContext(generated_at=WHEN))
    assert "<script" not in html.lower()
    assert HOSTILE_IMG not in html
    assert "&lt;img src=&#34;file:///etc/hostname&#34;&gt;" in html
    assert "&lt;script&gt;" in html
    # Every URL attribute in the page is ours: chart data URIs and in-page anchors.
    for attr, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        assert value.startswith("data:image/svg+xml;base64," if attr == "src" else "#"), (
            attr,
            value[:60],
        )


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="file:///etc/hostname">',
        "<style>body { background: url(file:///etc/hostname) }</style>",
        '<link rel="attachment" href="file:///etc/hostname">',
        '<img src="http://127.0.0.1:9/x.png">',
    ],
)
def test_any_non_data_url_aborts_the_render(snippet):
    fetcher = BundleFetcher()
    head = f"<!DOCTYPE html><html><head><title>t</title>{snippet}</head>"
    page = f"{head}<body><p>x</p>{snippet}</body></html>"
    with pytest.raises(RenderError, match="outside the report bundle"):
        html_to_pdf(page, created=html_module.parse_generated_at(WHEN), fetcher=fetcher)
    assert fetcher.refused and all(not url.startswith("data:") for url in fetcher.refused)


@pytest.mark.slow
def test_template_errors_are_render_errors(document, tmp_path, monkeypatch):
    broken = tmp_path / "templates"
    shutil.copytree(html_render.templates_dir(), broken)
    monkeypatch.setattr(html_render, "templates_dir", lambda: broken)

    (broken / "sections" / "limitations.html.j2").write_text("{{ no_such_value }}", encoding="utf-8")
    with pytest.raises(RenderError, match="report template error") as undefined:
        render_html(document, context=ReportContext(generated_at=WHEN))
    assert "\n" not in str(undefined.value)

    (broken / "sections" / "limitations.html.j2").write_text("{% if %}", encoding="utf-8")
    with pytest.raises(RenderError, match=r"limitations\.html\.j2:1"):
        render_html(document, context=ReportContext(generated_at=WHEN))


def test_bad_inputs_are_render_errors(document, results_json):
    ctx = ReportContext(generated_at=WHEN)
    with pytest.raises(RenderError, match="results document cannot be rendered"):
        render_html({k: v for k, v in document.items() if k != "findings"}, context=ctx)
    with pytest.raises(RenderError, match="time zone"):
        render_html(document, context=ReportContext(generated_at="2025-01-31T09:30:00"))
    with pytest.raises(RenderError, match="schema version"):
        render_html({**document, "schema_version": "9.9"}, context=ctx)
    other = canonical_json({**document, "verdict": "PASS"})
    with pytest.raises(RenderError, match="disagree"):
        render_pdf(document, context=ctx, results_json=other)


def test_charts_are_deterministic_self_contained_svg(document):
    for finding in document["findings"]:
        first = finding_charts(document, finding["rule_id"])
        second = finding_charts(document, finding["rule_id"])
        assert first == second
        if finding["status"] == "INSUFFICIENT_DATA":
            continue
        assert first, finding["rule_id"]
        svg = base64.b64decode(first[0].data_uri.split(",", 1)[1])
        assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
        assert (
            b"<dc:date>" not in svg
            and b"<image" not in svg
            and b"http://"
            not in svg.replace(b"http://www.w3.org", b"")
            .replace(b"http://purl.org", b"")
            .replace(b"http://creativecommons.org", b"")
        )


def test_charts_paginate_many_groups(document):
    rule = next(f["rule_id"] for f in document["findings"] if f["status"] != "INSUFFICIENT_DATA")
    charts = finding_charts(document, rule, max_rows=3)
    drawn = sum(c.rows for c in charts)
    assert len(charts) >= 2 and all(c.rows <= 3 for c in charts) and charts[1].continued
    judged = sum(
        1
        for d in document["disparities"]
        if d["rule_id"] == rule
        for g in d["groups"]
        if g["status"] != "NOT_JUDGED" and g["value"] is not None  # an undefined value has no point to draw
    )
    assert drawn == judged


def test_undefined_is_shown_as_undefined_never_zero(document):
    assert fmt_pct(None) == "undefined" and fmt_contrast(None, "ratio") == "undefined"
    assert fmt_pct(0.0) == "0.0%" and fmt_contrast(-0.0001, "difference") == "0.0 pts"
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    group_metrics = html[html.index("3. Group metrics") : html.index("4. Methodology")]
    row = re.search(r'<td class="col-group">Tiny\b.*?</tr>', group_metrics, re.S).group(0)
    cells = re.findall(r'<td class="num"( data-sort="[^"]*")?>(.*?)</td>', row, re.S)
    # columns: n, selection rate, base rate, true positive rate, ...
    assert "undefined" in cells[3][1] and "%" not in cells[3][1]
    assert cells[3][0] == ""  # and it has no number to sort by: a browser sorts it last
    assert cells[2] == (' data-sort="0.0"', cells[2][1])
    assert "0.0%" in cells[2][1]  # a true zero (no positive outcomes) stays 0


def test_every_claim_is_traceable_in_the_html(document):
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    for finding in document["findings"]:
        assert finding["decision_rule"] in html  # how groups were judged, as the engine applied it
    judged = [o for d in document["disparities"] for o in d["groups"] if o["status"] in ("PASS", "FAIL")]
    # counts behind each rate, and each comparison's adjusted p-value, are printed
    alpha = next(g for g in document["groups"] if g["id"] == "grp=Alpha")["metrics"]["true_positive_rate"]
    assert f"{alpha['numerator']} / {alpha['denominator']}" in html
    assert any(o["p_adjusted"] is not None for o in judged) and "adjusted p" in html
    assert document["provenance"]["inputs"][0]["sha256"] in html  # full hash in the appendix


def test_development_key_is_marked_and_not_a_draft(document):
    dev = {**SIGNER, "development_only": True}
    html = render_html(document, context=ReportContext(generated_at=WHEN, signers=[dev]))
    assert "DEVELOPMENT KEY" in html and "not valid as evidence" in html
    assert "UNSIGNED DRAFT" not in html


def test_label_less_audit_shows_only_selection_rate(tmp_path):
    # a warning-only error-rate rule: without labels it cannot be judged (blocking ones refuse to run)
    policy = tmp_path / "warn-tpr.yaml"
    policy.write_text(
        "fairgate: 1\nid: warn-tpr\nversion: '1'\ntitle: TPR gap (warning)\nrules:\n"
        "  - {id: tpr, title: TPR gap, metric: true_positive_rate, compare: absolute_difference,"
        " max_value: 0.1, severity: warn, explanation: Error-rate parity.}\n"
    )
    document = _audit(tmp_path, str(policy))
    assert document["verdict"] == "INSUFFICIENT_DATA"
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    group_metrics = html[html.index("3. Group metrics") : html.index("4. Methodology")]
    assert "Selection rate" in group_metrics and "True positive rate" not in group_metrics
    assert "INSUFFICIENT DATA" in html and "This is not a pass" in html


@pytest.mark.slow
def test_same_inputs_give_the_same_pdf(document, results_json, unsigned):
    again = render_pdf(document, context=ReportContext(generated_at=WHEN), results_json=results_json)
    assert again == unsigned[0]
