"""A value a hair outside the limit never prints as the limit: b's impact ratio of 0.7996 against "at least
80%" read "80.0%" in the report's tables, the cover's list of groups outside the limit and summary.md's
observed column, beside FAIL — on a recorded feature and on a probabilistic one alike."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from audit.pipeline import run_audit
from audit.report.html import ReportContext, render_html
from audit.report.html.format import fmt_contrast
from audit.report.markdown import render_markdown
from audit.report.results import canonical_json


def near_rows() -> pd.DataFrame:
    """a: 2,500 of 5,000 selected (50%); b: 1,999 of 5,000 (39.98%): b's ratio 0.7996, one decision short."""
    a = [("a", 1)] * 2500 + [("a", 0)] * 2500
    b = [("b", 1)] * 1999 + [("b", 0)] * 3001
    frame = pd.DataFrame(a + b, columns=["grp", "approved"])
    frame["p_a"] = (frame["grp"] == "a").astype(float)
    frame["p_b"] = 1.0 - frame["p_a"]
    return frame


@pytest.mark.parametrize(
    ("value", "limits", "text"),
    [
        (0.7996, [0.8, None], "79.96%"),
        (0.8, [0.8, None], "80.0%"),  # at the limit: the limit
        (0.80004, [0.8, None], "80.004%"),
        (0.7, [0.8, None], "70.0%"),
        (1.25004, [None, 1.25], "125.004%"),
    ],
)
def test_a_contrast_gets_the_decimals_it_needs_not_to_read_as_a_limit(value, limits, text):
    assert fmt_contrast(value, "ratio", limits=limits) == text


def test_a_difference_and_an_odds_ratio_too_and_no_limits_one_decimal():
    assert fmt_contrast(0.7996, "ratio") == "80.0%"
    assert fmt_contrast(-0.10004, "difference", limits=[-0.1, 0.1]) == "−10.004 pts"
    assert fmt_contrast(1.2504, "odds_ratio", limits=[None, 1.25]) == "1.2504"


@pytest.mark.parametrize("proxy", [False, True])
def test_every_printer_shows_the_failing_ratio_apart_from_the_limit(proxy):
    frame = near_rows()
    given = dict(sensitive_proba=["grp=p_a,p_b"]) if proxy else dict(sensitive=["grp"])
    result = run_audit(
        data=frame[["approved", "p_a", "p_b"]] if proxy else frame[["approved", "grp"]],
        policy="four-fifths",
        predictions="approved",
        positive_label="1",
        ledger=False,
        audit_date="2024-06-01",
        **given,
    )
    assert result.exit_code == 1
    document = result.to_dict()
    summary = render_markdown(document)
    (row,) = [line for line in summary.splitlines() if line.startswith("| Selection-rate")]
    assert "| ❌ FAIL | 79.96% |" in row
    html = render_html(json.loads(canonical_json(document)), context=ReportContext(generated_at="2025-01-31T09:30:00Z"))
    assert "79.96%" in html and ">80.0%<" not in html
    if proxy:
        assert "(79.96% to 79.96%) are all outside the limit" in result.items[0].message


def test_a_value_at_the_limit_but_for_float_noise_prints_as_the_limit():
    """35/50 against 28/50 is 0.8 exactly, computed as 0.8000000000000002: it reads 80.0%, not 80.00000000%."""
    assert fmt_contrast(0.8000000000000002, "ratio", limits=[0.8, None]) == "80.0%"
    assert fmt_contrast(0.09999999999999998, "absolute_difference", limits=[None, 0.1]) == "10.0 pts"
    rows = [("A", 1)] * 35 + [("A", 0)] * 15 + [("B", 1)] * 28 + [("B", 0)] * 22
    result = run_audit(
        data=pd.DataFrame(rows, columns=["sex", "approved"]),
        policy="four-fifths",
        predictions="approved",
        positive_label="1",
        sensitive=["sex"],
        ledger=False,
        audit_date="2024-06-01",
    )
    assert result.exit_code == 0
    document = result.to_dict()
    (row,) = [line for line in render_markdown(document).splitlines() if line.startswith("| Selection-rate")]
    assert "| ✅ PASS | 80.0% |" in row
    html = render_html(json.loads(canonical_json(document)), context=ReportContext(generated_at="2025-01-31T09:30:00Z"))
    assert "80.0000" not in html
