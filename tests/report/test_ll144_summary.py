"""The NYC LL144 public summary (6 RCNY § 5-303), checked item by item against the rule's list on the
rule's own worked examples, with every figure recomputed from the CSV with pandas."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.helpers import invoke
from tests.conftest import shared_data
from tests.policy.test_ll144 import CONTEXT

GOLDEN = Path(__file__).parent / "golden"
AUDIT_DATE = "2025-03-31"
EPOCH = "1743379200"  # 2025-03-31T00:00:00Z: the summary's generation date
CATEGORIES = ["sex", "race_ethnicity"]


def _summary(tmp_path, capsys, monkeypatch, data, *roles, policy="nyc-ll144", formats="json,ll144-summary-html"):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    out = tmp_path / "out"
    args = ["run", "--data", data, "--policy", policy, *roles, "--context", CONTEXT, "--out", out]
    invoke(capsys, [*args, "--audit-date", AUDIT_DATE, "--format", formats, "--no-ledger"], exit_code=0)
    results = out / "results.json"
    return (json.loads(results.read_text()) if results.exists() else None), out


def _rows(page: str, caption: str) -> dict[str, list[str]]:
    """The rows of the table whose caption ends with ``caption``: category → its cells, as text."""
    table = next(
        t for t in page.split('<table class="rates">')[1:] if re.search(rf"<caption>[^<]*: {caption}</caption>", t)
    )
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1], flags=re.S):
        cells = [
            html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


def _fact(page: str, heading: str) -> str:
    cell = page.split(f"<th>{heading}</th><td>", 1)[1].split("</td></tr>", 1)[0]
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def _expected(frame: pd.DataFrame, decided: pd.Series, columns: list[str]) -> dict[str, list[str]]:
    """Per category of ``columns`` (known categories only): applicants, decided, rate, impact ratio — by pandas."""
    known = frame[CATEGORIES].notna().all(axis=1)
    keys = frame.loc[known, columns].astype(str).agg(" × ".join, axis=1)
    counts = pd.DataFrame({"n": keys.groupby(keys).size(), "k": decided[known].groupby(keys).sum()})
    counts["rate"] = counts["k"] / counts["n"]
    counts["ratio"] = counts["rate"] / counts["rate"].max()
    return {
        label: [f"{int(r.n):,}", f"{int(r.k):,}", f"{r.rate * 100:.1f}%", f"{r.ratio:.3f}"]
        for label, r in counts.iterrows()
    }


def _check_against_the_rule(page: str, doc: dict, frame: pd.DataFrame, decided: pd.Series, *, scoring: bool) -> None:
    """Each item 6 RCNY § 5-303 requires, present with the right figures."""
    context = yaml_context()
    # (1) the date of the most recent bias audit
    assert _fact(page, "Date of the bias audit") == "31 March 2025" and doc["audit"]["audit_date"] == AUDIT_DATE
    # (2) the source and an explanation of the data used (historical data here)
    data = _fact(page, "Data used")
    assert "Historical data" in data and context["data"]["source"] in data
    assert " ".join(context["data"]["description"].split()) in data
    # (3) the number of individuals in an unknown category (sex or race/ethnicity missing)
    unknown = int(frame[CATEGORIES].isna().any(axis=1).sum())
    assert _fact(page, "Unknown category").startswith(f"{unknown:,} individuals")
    # (4) the number of applicants or candidates (everyone assessed)
    assert _fact(page, "Number of applicants").startswith(f"{len(frame):,} individuals assessed")
    # (5) selection or scoring rates and impact ratios for every category and intersectional category
    rate = "Scoring rate" if scoring else "Selection rate"
    assert f"<h2>{rate}s and impact ratios</h2>" in page and "Impact ratio" in page and "unknown category" in page
    assert ("selection rate" in page.lower()) != scoring  # the rule's word, and only it
    for caption, columns in (
        ("sex", ["sex"]),
        ("race_ethnicity", ["race_ethnicity"]),
        ("sex × race_ethnicity", CATEGORIES),
    ):
        assert _rows(page, caption) == _expected(frame, decided, columns), caption
    # (6) the distribution date of the AEDT
    assert _fact(page, "Distribution date of the AEDT") == "5 July 2023"
    assert "No category was excluded" in page  # the policy excludes none: the summary says so


def yaml_context() -> dict:
    import yaml

    return yaml.safe_load(CONTEXT.read_text())


def _golden(name: str, page: str, tmp_path: Path, request) -> None:
    page = re.sub(r"<style>.*?</style>", "<style>ll144_summary.css</style>", page, count=1, flags=re.S)
    page = re.sub(r"sha256 <code>[0-9a-f]{16}</code>", "sha256 <code>SHA256</code>", page)  # holds tool versions
    golden = GOLDEN / name
    if request.config.getoption("--update-golden") or os.environ.get("FAIRGATE_UPDATE_GOLDEN") == "1":
        golden.write_text(page, encoding="utf-8")
    if page != golden.read_text(encoding="utf-8"):
        (tmp_path / name).write_text(page, encoding="utf-8")
        pytest.fail(f"{golden} differs (new output in {tmp_path / name}); refresh with --update-golden if intended")


def test_selection_summary_has_every_item_of_the_rule(tmp_path, capsys, monkeypatch, request):
    data = shared_data("ll144_selection_example_individuals.csv")
    doc, out = _summary(tmp_path, capsys, monkeypatch, data, "--predictions", "selected")
    page = (out / "ll144-summary.html").read_text()
    frame = pd.read_csv(data)
    _check_against_the_rule(page, doc, frame, frame["selected"] == 1, scoring=False)
    assert _rows(page, "sex")["Female"][-1] == "0.979"  # as published in 6 RCNY § 5-301(b)
    _golden("ll144-summary-selection.html", page, tmp_path, request)


def test_scoring_summary_has_every_item_of_the_rule_and_counts_the_unscored_unknowns(
    tmp_path, capsys, monkeypatch, request
):
    data = shared_data("ll144_scoring_example_individuals.csv")
    doc, out = _summary(tmp_path, capsys, monkeypatch, data, policy="nyc-ll144-scoring")
    page = (out / "ll144-summary.html").read_text()
    frame = pd.read_csv(data)
    scored = frame["score"].notna() & frame[CATEGORIES].notna().all(axis=1)
    median = frame.loc[scored, "score"].median()
    assert median == 92.5 and doc["audit"]["predictions"]["threshold"] == median
    # the 15 people with no category and no score: left out of the rates, counted in the unknown category
    assert doc["audit"]["excluded_unknown_counts"] == {"sex": 15, "race_ethnicity": 15, "any": 15}
    _check_against_the_rule(page, doc, frame, frame["score"] > median, scoring=True)
    assert "Number above the median" in page and "scoring rate of the highest scoring category" in page
    assert _fact(page, "Number of applicants") == "183 individuals assessed by the AEDT; 168 with a score."
    _golden("ll144-summary-scoring.html", page, tmp_path, request)


def test_the_full_report_shows_the_unscored_unknowns_instead_of_saying_there_are_none(tmp_path, capsys, monkeypatch):
    data = shared_data("ll144_scoring_example_individuals.csv")
    _, out = _summary(tmp_path, capsys, monkeypatch, data, policy="nyc-ll144-scoring", formats="json,html")
    page = (out / "report.html").read_text()
    limits = " ".join(re.sub(r"<[^>]+>", " ", page.split("Unknown sensitive values.")[1].split("</li>")[0]).split())
    assert "No row lacked a value" not in limits
    assert (
        "Of the people left out of the audit (no score: 15), 15 had no value for sex (15) or race_ethnicity (15)"
        in limits
    )
    # and the cover shows the audit's context
    cover = page.split('<section class="cover">')[1].split("</section>")[0]
    assert "Audit context" in cover and "Example Audit Partners" in cover and "2023-07-05" in cover


def test_categories_under_two_percent_are_listed_without_a_ratio_and_the_summary_says_why(
    tmp_path, capsys, monkeypatch
):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nextends: nyc-ll144\nid: ll144-two-percent\nversion: '1'\ntitle: LL144, small categories out\n"
        "groups: {exclude_below_share: 0.02}\n"
    )
    data = shared_data("ll144_selection_example_individuals.csv")
    _, out = _summary(tmp_path, capsys, monkeypatch, data, "--predictions", "selected", policy=str(policy))
    page = (out / "ll144-summary.html").read_text()
    race = _rows(page, "race_ethnicity")
    assert race["Native American or Alaska Native"] == ["41", "18", "43.9%", "excluded*"]  # 41 of 2,571: 1.6%
    assert race["White"][-1] == "1.000"
    note = " ".join(page.split('<p class="note">* Excluded', 1)[1].split("</p>")[0].split())
    assert (
        "less than 2% of the data (6 RCNY § 5-301(d))" in note
        and "Native American or Alaska Native (41 applicants)" in note
    )
    assert "Justification:" in note


def test_a_policy_without_an_impact_ratio_rule_or_context_cannot_have_a_summary(tmp_path, capsys):
    data = shared_data("ll144_selection_example_individuals.csv")
    out = tmp_path / "out"
    ran = invoke(
        capsys,
        ["run", "--data", data, "--policy", "four-fifths", "--sensitive", "sex", "--predictions", "selected"]
        + ["--out", out, "--format", "json,ll144-summary", "--no-ledger"],
        exit_code=2,
    )
    assert "the LL144 summary needs the audit's context" in ran.err and not out.exists()


@pytest.mark.slow
def test_the_pdf_is_one_clean_page(tmp_path, capsys, monkeypatch):
    from pypdf import PdfReader

    data = shared_data("ll144_scoring_example_individuals.csv")
    _, out = _summary(tmp_path, capsys, monkeypatch, data, policy="nyc-ll144-scoring", formats="ll144-summary")
    assert sorted(p.name for p in out.iterdir()) == ["ll144-summary.html", "ll144-summary.pdf"]
    reader = PdfReader(out / "ll144-summary.pdf")
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for words in (
        "Date of the bias audit",
        "Distribution date of the AEDT",
        "Unknown category",
        "Scoring rate",
        "Impact ratio",
    ):
        assert words in text
