"""NYC LL144: the DCWP rule's worked example, reproduced through `fairgate run` end to end."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import invoke
from tests.conftest import REPO, shared_data

#: The audit's context every LL144 audit needs (the policies require it): the shipped example's.
CONTEXT = REPO / "examples" / "ll144" / "context.yaml"

# Published in 6 RCNY § 5-301(b) (resume-screening example): applicants, selected, impact ratio.
PUBLISHED_SEX = {"Male": (1390, 667, 1.00), "Female": (1181, 555, 0.979)}
PUBLISHED_RACE = {
    "Hispanic or Latino": (408, 204, 0.97),
    "White": (797, 412, 1.00),
    "Black or African American": (390, 170, 0.84),
    "Native Hawaiian or Pacific Islander": (119, 52, 0.85),
    "Asian": (616, 302, 0.95),
    "Native American or Alaska Native": (41, 18, 0.85),
    "Two or More Races": (213, 96, 0.87),
}


def _audit(tmp_path, capsys, data, sensitive):
    args = [
        "run",
        "--data",
        data,
        "--policy",
        "nyc-ll144",
        "--predictions",
        "selected",
        "--out",
        tmp_path / "out",
        "--no-pdf",
        "--context",
        CONTEXT,
    ]
    for s in sensitive:
        args += ["--sensitive", s]
    invoke(capsys, args, exit_code=0)  # LL144 warns, never blocks
    return json.loads((tmp_path / "out" / "results.json").read_text())


def _ratios(doc, scope):
    d = next(d for d in doc["disparities"] if d["scope"] == scope)
    by_id = {g["id"]: g for g in doc["groups"]}
    return {
        by_id[g["group"]]["label"]: (by_id[g["group"]]["n"], by_id[g["group"]]["counts"]["fp"], g["value"])
        for g in d["groups"]
        if g["value"] is not None
    }


def test_sex_table_and_unknowns(tmp_path, capsys):
    doc = _audit(tmp_path, capsys, shared_data("ll144_selection_example_individuals.csv"), ["sex", "race_ethnicity"])
    ours = _ratios(doc, "sex")
    for label, (n, selected, ratio) in PUBLISHED_SEX.items():
        got_n, got_selected, got_ratio = ours[label]
        assert (got_n, got_selected) == (n, selected)
        assert round(got_ratio, 3) == pytest.approx(ratio)
    # "250 individuals with an unknown sex or race/ethnicity category": reported, not judged
    assert doc["audit"]["unknown_counts"] == {"sex": 250, "race_ethnicity": 250}
    # every published sex and race ratio is ≥ 0.8; only intersectional categories fall below it
    finding = doc["findings"][0]
    assert finding["status"] == "WARN"
    assert finding["failing_groups"] and all("&" in g for g in finding["failing_groups"])


def test_race_table(tmp_path, capsys):
    doc = _audit(
        tmp_path, capsys, shared_data("ll144_selection_example_race_table_individuals.csv"), ["race_ethnicity"]
    )
    ours = _ratios(doc, "race_ethnicity")
    for label, (n, selected, ratio) in PUBLISHED_RACE.items():
        got_n, got_selected, got_ratio = ours[label]
        assert (got_n, got_selected) == (n, selected)
        assert round(got_ratio, 2) == pytest.approx(ratio)


# 6 RCNY § 5-301(c) "culture fit" scoring example: per sex × race cell, applicants above the median
# / applicants (SOURCES.md lists the published cells); 84 of 168 above the median of 92.5.
PUBLISHED_SCORING_CELLS = sorted(
    [
        (12, 16),
        (6, 12),
        (7, 20),
        (10, 20),
        (3, 4),
        (7, 12),
        (5, 8),
        (6, 12),
        (8, 20),
        (6, 12),
        (2, 4),
        (3, 12),
        (5, 8),
        (4, 8),
    ]
)


def test_scoring_rates_with_median_threshold(tmp_path, capsys):
    data = shared_data("ll144_scoring_example_individuals.csv")
    invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "nyc-ll144",
            "--scores",
            "score",
            "--threshold",
            "median",
            "--out",
            tmp_path / "out",
            "--no-pdf",
            "--context",
            CONTEXT,
        ],
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["audit"]["predictions"] == {
        "source": "score_threshold",
        "column": "score",
        "threshold": 92.5,
        "rule": "score > sample median",
    }
    assert doc["audit"]["excluded_rows"] == {"no score": 15}  # the 15 unknown-category individuals
    cells = sorted((g["counts"]["fp"], g["n"]) for g in doc["groups"] if g["scope"] == "sex × race_ethnicity")
    assert cells == PUBLISHED_SCORING_CELLS
    overall = next(g for g in doc["groups"] if g["id"] == "overall")
    assert overall["metrics"]["selection_rate"]["value"] == 0.5  # 84 of 168
    assert overall["score_metrics"]["scoring_rate"]["value"] == 0.5


def test_scoring_audits_speak_of_scoring_rates_and_the_median_everywhere(tmp_path, capsys):
    """Issue 15 (10): under nyc-ll144-scoring the rate is a *scoring* rate (6 RCNY § 5-300) and the
    decision is "above the median", in every printer: terminal, summary.md, HTML cover, findings,
    group tables, methodology and the charts' axis."""
    import base64
    import re

    from audit.report.html import ReportContext, render_html

    data = shared_data("ll144_scoring_example_individuals.csv")
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "nyc-ll144-scoring",
            "--out",
            tmp_path / "out",
            "--no-pdf",
            "--context",
            CONTEXT,
        ],
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    summary = (tmp_path / "out" / "summary.md").read_text()
    html = render_html(doc, context=ReportContext(generated_at="2025-01-01T00:00:00Z", signers=[]))
    charts = " ".join(base64.b64decode(m).decode() for m in re.findall(r"data:image/svg\+xml;base64,([^\"']+)", html))
    body = html.split('<section class="policy-terms">')[0]  # the policy's own text is quoted as written
    body = body.split('<section class="limitations">')[0] + body.split('<section class="methodology">')[-1]
    for text in (ran.out, summary, doc["findings"][0]["message"], body):
        assert "scoring rate" in text.lower()
        assert "selection rate" not in text.lower() and "was selected" not in text and "≥" not in text
    cover = html.split('<section class="cover">')[1].split("</section>")[0]
    assert "is above the median of the sample's scores (92.5)" in cover and "&#8805;" not in cover
    assert '<th class="num">Impact ratio' in html and '<th class="num">Scoring rate' in html
    assert "scoring rate" in charts and "selection rate" not in charts


def test_worst_and_best_case_impact_ratios_of_the_unknown_categories(tmp_path, capsys):
    """Issue 19 (1): the example's 250 applicants of unknown category (none selected), assigned to the
    known categories in every possible way: the report shows each category's worst and best case."""
    from fractions import Fraction

    data = shared_data("ll144_selection_example_individuals.csv")
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        data,
        "--policy",
        "nyc-ll144",
        "--predictions",
        "selected",
        "--out",
        out,
        "--context",
        CONTEXT,
    ]
    invoke(capsys, [*args, "--no-pdf", "--format", "json,html,md"], exit_code=0)
    doc = json.loads((out / "results.json").read_text())
    sex = next(d for d in doc["disparities"] if d["scope"] == "sex" and d["rule_id"] == "ll144-impact-ratio")
    bounds = {b["group"]: b for b in sex["unknowns"]["groups"]}
    assert (sex["unknowns"]["rows"], sex["unknowns"]["favourable"]) == (250, 0)
    # by hand: the worst case for a category puts the 250 unselected applicants in it (its rate falls) and
    # compares it with the other category; the best puts them in the other, which then falls below it
    female_worst = Fraction(555, 1181 + 250) / Fraction(667, 1390)  # Male stays the highest
    male_worst = Fraction(667, 1390 + 250) / Fraction(555, 1181)  # Female becomes the highest
    assert bounds["sex=Female"]["worst"] == pytest.approx(float(female_worst))  # 0.808
    assert bounds["sex=Male"]["worst"] == pytest.approx(float(male_worst))  # 0.865
    assert bounds["sex=Female"]["best"] == bounds["sex=Male"]["best"] == 1.0  # 667/1640 < 555/1181
    # spread proportionally (and all unselected) the unknowns scale every rate alike: ratios unchanged
    assert bounds["sex=Female"]["proportional"] == pytest.approx(555 / 1181 / (667 / 1390))
    finding = doc["findings"][0]["unknowns"]
    assert finding["rows"] == 250 and finding["mode"] == "ignore" and finding["worst_fails"]
    html = (out / "report.html").read_text()
    section = html.split("<h3>Unknown categories</h3>", 1)[1].split("</table>", 1)[0]
    assert "Scope: sex — 250 rows of unknown value" in section
    female = section.split("<td>Female</td>", 1)[1].split("</tr>", 1)[0]
    assert [c.split("<")[0] for c in female.split('class="num">')[1:]] == ["97.9%", "80.8%", "97.9%", "100.0%"]
    male = section.split("<td>Male</td>", 1)[1].split("</tr>", 1)[0]
    assert "86.5%" in male
    assert "Unknown categories" in (out / "summary.md").read_text()
