"""A report for many groups (issue 23): above ``SUMMARY_THRESHOLD`` groups in a scope the PDF's
charts and tables show the groups that fail or come closest, say so in a sentence, and attach
every group's row as groups.csv; the HTML copy and results.json keep every group."""

from __future__ import annotations

import csv
import io
import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from audit.pipeline import run_audit
from audit.report.html import ReportContext, render_html
from audit.report.many_groups import (
    CSV_NAME,
    SHOWN_ROWS,
    SUMMARY_THRESHOLD,
    groups_csv,
    shown_rows,
    summarised_scopes,
)
from audit.report.pdf import render_pdf
from audit.report.results import canonical_json

SITES, BANDS = 16, 5  # 80 intersections: one scope over the threshold, the others under it
WHEN = "2025-03-01T08:00:00Z"


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("many-groups") / "decisions.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["site", "band", "label", "pred"])
        for s in range(SITES):
            for b in range(BANDS):
                selected = 4 + (s * 7 + b * 3) % 17  # of 40: 10%–50% selected, many below 80% of the top
                for i in range(40):
                    out.writerow([f"site-{s:02d}", "ABCDE"[b], i % 2, int(i < selected)])
    result = run_audit(
        data=path,
        policy="four-fifths",
        predictions="pred",
        label="label",
        sensitive=["site", "band"],
        command=["test"],
    )
    return result.to_dict()


def test_only_the_scope_over_the_threshold_is_summarised(document):
    assert SITES * BANDS > SUMMARY_THRESHOLD > SITES
    assert summarised_scopes(document) == {"site × band"}


def test_shown_rows_are_the_comparator_then_the_failing_groups_furthest_out(document):
    d = next(d for d in document["disparities"] if d["scope"] == "site × band")
    rows = shown_rows(document, d)
    assert rows[0]["status"] == "COMPARATOR"
    shown = rows[1:]
    assert len(shown) == SHOWN_ROWS
    failing = sorted(o["value"] for o in d["groups"] if o["status"] in ("FAIL", "NOT_SIGNIFICANT"))
    assert len(failing) > SHOWN_ROWS  # the cut leaves failing groups out: those shown are the worst
    assert all(o["status"] in ("FAIL", "NOT_SIGNIFICANT") for o in shown)
    assert [o["value"] for o in shown] == failing[:SHOWN_ROWS]


def test_groups_csv_has_every_group_once_with_its_figures(document):
    rows = list(csv.DictReader(io.StringIO(groups_csv(document).decode("utf-8"))))
    assert [(r["scope"], r["group"]) for r in rows] == [(g["scope"], g["id"]) for g in document["groups"]]
    by_id = {(g["scope"], g["id"]): g for g in document["groups"]}
    for r in rows:
        g = by_id[(r["scope"], r["group"])]
        assert int(r["n"]) == g["n"]
        assert float(r["selection_rate"]) == g["metrics"]["selection_rate"]["value"]
    judged = {(d["scope"], o["group"]): o for d in document["disparities"] for o in d["groups"]}
    for r in rows:
        o = judged.get((r["scope"], r["group"]))
        assert r["selection-rate-impact-ratio.status"] == (o["status"] if o else "")


def _finding_rows(html: str, scope: str) -> int:
    table = re.search(
        r'<table class="data finding-table">\s*<caption>Scope: ' + re.escape(scope) + r"\b.*?</table>", html, re.S
    )
    assert table is not None
    return len(re.findall(r"<tr class=\"row-", table.group(0)))


def test_pdf_html_bounds_the_rows_and_says_where_the_rest_is(document):
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    assert _finding_rows(html, "site × band") == SHOWN_ROWS + 1  # and the comparator
    assert _finding_rows(html, "site") == SITES  # under the threshold: every group
    assert f"This scope has {SITES * BANDS} groups" in html
    assert CSV_NAME in html
    assert "more (groups.csv)" in html  # the cover's list of failing groups says how many it leaves out


def test_html_copy_keeps_every_group(document):
    html = render_html(document, context=ReportContext(generated_at=WHEN, medium="html"))
    assert _finding_rows(html, "site × band") == SITES * BANDS
    assert "This scope has" not in html


@pytest.mark.slow
def test_pdf_attaches_groups_csv_and_stays_short(document):
    pdf = render_pdf(document, context=ReportContext(generated_at=WHEN), results_json=canonical_json(document))
    reader = PdfReader(BytesIO(pdf))
    attachments = {name: b"".join(data) for name, data in reader.attachments.items()}
    assert set(attachments) == {"results.json", CSV_NAME}
    assert attachments[CSV_NAME] == groups_csv(document)
    assert attachments["results.json"] == canonical_json(document)
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert f"This scope has {SITES * BANDS} groups" in text
    assert len(reader.pages) < 20
