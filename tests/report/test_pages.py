"""The printed report, read back from the PDF: a many-group audit whose long tables run over
several pages with their header rows repeated; every required section and every failed rule's
full sentence; a hostile column name printed as text; PDF/A-3b with the evidence attached."""

from __future__ import annotations

import csv
import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from audit.pipeline import run_audit
from audit.report.html import ReportContext, render_html
from audit.report.pdf import render_pdf
from audit.report.results import canonical_json

COLUMN = 'Region <b>&amp;</b> "zone"'  # a hostile sensitive column name
GROUPS = 36
WHEN = "2025-03-01T08:00:00Z"
SECTIONS = (
    "Verdict",
    "Executive summary",
    "2. Findings",
    "3. Group metrics",
    "4. Methodology",
    "5. Limitations",
    "6. Provenance",
    "Sign-off",
)


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> tuple[dict, bytes, list[str]]:
    tmp = tmp_path_factory.mktemp("many")
    data = tmp / "many.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([COLUMN, "pred"])
        for g in range(GROUPS):
            n = 40 + g % 7
            selected = n // 2 if g % 5 else n // 6  # every fifth group is selected far less often
            for i in range(n):
                out.writerow([f"zone-{g:03d}", int(i < selected)])
    document = run_audit(data=data, policy="four-fifths", predictions="pred", sensitive=[COLUMN]).to_dict()
    evidence = canonical_json(document)
    pdf = render_pdf(document, context=ReportContext(generated_at=WHEN), results_json=evidence)
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf)).pages]
    return document, pdf, pages


def _squash(text: str) -> str:
    """Whitespace removed: a sentence wrapped at a hyphen or a space still matches."""
    return "".join(text.split())


def test_every_section_and_every_failed_sentence_is_in_the_pdf(many):
    document, _, pages = many
    text = " ".join(pages)
    for section in SECTIONS:
        assert section in text, section
    failed = [f for f in document["findings"] if f["status"] in ("FAIL", "WARN")]
    assert failed
    for finding in failed:
        assert _squash(finding["message"]) in _squash(text), finding["rule_id"]
        assert _squash(finding["message"]) in _squash(pages[0])  # on the cover too


def test_long_tables_repeat_their_header_on_every_page(many):
    _, _, pages = many
    start = next(i for i, p in enumerate(pages) if "3. Group metrics" in p)
    end = next(i for i, p in enumerate(pages) if "4. Methodology" in p)
    table_pages = pages[start:end]
    assert len(table_pages) >= 2, "36 groups should not fit on one page"
    rows = [re.findall(r"zone-\d{3}", p) for p in table_pages]
    assert sum(len(set(r)) for r in rows) >= GROUPS
    for page in table_pages:
        # the header row (group, n, selection rate with its CI and counts) starts every page
        assert re.search(r"Group n Selection rate 95% CI · count / base", page), page[:200]
    # the finding's table (a selection-rate ratio: the impact ratio) runs over pages too, its header repeated
    finding_pages = [p for p in pages[1:start] if "zone-" in p and "Impact ratio" in p]
    assert len(finding_pages) >= 2


def test_hostile_column_name_is_text(many):
    document, _, pages = many
    text = " ".join(pages)
    assert f"Scope: {COLUMN}" in text
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    assert COLUMN not in html and "Region &lt;b&gt;&amp;amp;&lt;/b&gt; &#34;zone&#34;" in html


def test_pdfa3b_markers_and_evidence_attachment(many):
    document, pdf, _ = many
    reader = PdfReader(BytesIO(pdf))
    assert reader.attachments["results.json"] == [canonical_json(document)]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert re.search(rb'pdfaid:part[=>"\s]+3', xmp) and re.search(rb'pdfaid:conformance[=>"\s]+B', xmp)
    assert pdf.startswith(b"%PDF-1.7")
    assert b"/ID [" in pdf  # a file identifier (the content's MD5: the same for the same bytes)
