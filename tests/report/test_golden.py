"""Golden HTML: the report for a small fixed audit, compared character for character.

Refresh after an intended change with ``pytest tests/report/test_golden.py --update-golden``
(or ``FAIRGATE_UPDATE_GOLDEN=1``) and review the diff of ``tests/report/golden/``. Normalized
before comparing: Fairgate's and the libraries' versions, the inlined stylesheet (report.css as is),
and the chart images (their bytes depend on matplotlib's version; tests/report/test_report.py and
test_charts.py check that they are deterministic).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from audit.pipeline import run_audit
from audit.report.html import ReportContext, render_html

GOLDEN = Path(__file__).parent / "golden"
WHEN = "2025-06-30T12:00:00Z"
# (sex, race) → (n, positive outcomes, true positives, false positives)
CELLS = {
    ("Female", "0.0"): (60, 30, 24, 6),
    ("Female", "1.0"): (40, 20, 10, 4),
    ("Male", "0.0"): (70, 35, 30, 10),
    ("Male", "1.0"): (50, 25, 20, 8),
    ("Male", ""): (12, 6, 4, 2),  # unknown race: reported, not judged
}


def _document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)  # the provenance records the path as given: keep it relative
    with open("data.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["sex", "minority", "y", "pred"])
        for (sex, race), (n, pos, tp, fp) in CELLS.items():
            for i in range(n):
                positive = i < pos
                j = i if positive else i - pos
                out.writerow([sex, race, int(positive), int(j < tp if positive else j < fp)])
    result = run_audit(
        data=Path("data.csv"),
        policy="equalized-odds",
        predictions="pred",
        label="y",
        sensitive=["sex", "minority"],
        seed=0,
        command=["fairgate", "run", "--data", "data.csv", "--policy", "equalized-odds"],
        ledger=False,  # the golden report shows no ledger anchor
    )
    return result.to_dict()


def normalize(html: str) -> str:
    html = re.sub(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+", "data:image/svg+xml;base64,CHART", html)
    html = re.sub(r"Fairgate \d+\.\d+\.\d+\S*", "Fairgate VERSION", html)
    # the stylesheet is report_templates/report.css verbatim: the golden file is about content
    html = re.sub(r"<style>.*?</style>", "<style>report.css</style>", html, count=1, flags=re.S)
    return html


def _normalized_document(document: dict) -> dict:
    versions = {name: "VERSION" for name in document["provenance"]["versions"]}
    return {
        **document,
        "tool": {**document["tool"], "version": "VERSION"},
        "provenance": {**document["provenance"], "versions": versions},
    }


def test_report_html_matches_golden(tmp_path, monkeypatch, request):
    document = _normalized_document(_document(tmp_path, monkeypatch))
    html = normalize(render_html(document, context=ReportContext(generated_at=WHEN)))
    golden = GOLDEN / "report.html"
    if request.config.getoption("--update-golden") or os.environ.get("FAIRGATE_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(html, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    if html != expected:
        new = tmp_path / "report.html"
        new.write_text(html, encoding="utf-8")
        lines = zip(html.splitlines(), expected.splitlines(), strict=False)
        first = next((i for i, (a, b) in enumerate(lines, 1) if a != b), None)
        pytest.fail(
            f"report HTML differs from {golden} (first at line {first}); new output in {new}; "
            "refresh with --update-golden if the change is intended"
        )


def test_golden_fixture_shows_what_it_should(tmp_path, monkeypatch):
    """The golden audit is worth comparing: a failing rule, an unknown group, 0/1-coded floats."""
    document = _document(tmp_path, monkeypatch)
    assert any(f["status"] in ("FAIL", "WARN") for f in document["findings"])
    labels = {g["label"] for g in document["groups"]}
    assert "Female × 0.0" in labels  # recorded as read ...
    html = render_html(document, context=ReportContext(generated_at=WHEN))
    shown = html.split("6. Provenance")[0]  # the provenance quotes the policy and inputs as recorded
    assert "Female × 0<" in html and "Female × 0.0" not in shown  # ... printed as 0
    assert "1 (minority)" in shown and "1.0 (minority)" not in shown  # in the recorded sentences too
    assert "unknown value" in html
