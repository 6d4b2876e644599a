"""Verdicts at their edges (issue 15): exactly at a limit, one count either side, small groups judged
with an exact test, "outside but not significant", info severity, waived and info items in every
printer, waivers per window — each through the CLI, checked against independent arithmetic
(fractions, scipy's Fisher exact test)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from audit.judge.rules import evaluate
from audit.measures.groups import build_scopes
from audit.policy.schema import Policy
from audit.tables.groups import GroupTable
from tests.cli.helpers import invoke, run_args, write_csv
from tests.conftest import shared_data


def _decisions(groups: dict[str, tuple[int, int]]) -> list[tuple[str, int, int]]:
    """Rows (group, label, pred) with ``k`` of ``n`` selected per group (label = pred)."""
    return [(g, int(i < k), int(i < k)) for g, (k, n) in groups.items() for i in range(n)]


def _policy(tmp_path, rules: str, groups: str = "{min_count: 30}", extra: str = "") -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"fairgate: 1\nid: edge\nversion: '1'\ntitle: Edge cases\ngroups: {groups}\nrules:\n{rules}{extra}",
        encoding="utf-8",
    )
    return str(path)


def _run(tmp_path, capsys, groups, policy, *, exit_code, extra=()):
    data = write_csv(tmp_path / "d.csv", _decisions(groups))
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--format", "json,md", *extra, policy=policy),
        exit_code=exit_code,
    )
    return json.loads((tmp_path / "out" / "results.json").read_text())


FOUR_FIFTHS = "  - {id: air, title: impact ratio, metric: selection_rate, min_value: 0.8}\n"


# --- 1. exactly at the limit ---------------------------------------------------------------------


@pytest.mark.parametrize(("selected", "status", "code"), [(20, "PASS", 0), (19, "FAIL", 1), (21, "PASS", 0)])
def test_a_ratio_exactly_at_four_fifths_passes_and_one_count_below_fails(tmp_path, capsys, selected, status, code):
    doc = _run(tmp_path, capsys, {"a": (selected, 30), "b": (25, 30)}, _policy(tmp_path, FOUR_FIFTHS), exit_code=code)
    finding = doc["findings"][0]
    assert Fraction(selected * 30, 30 * 25) >= Fraction(4, 5) if status == "PASS" else True
    assert finding["status"] == status
    if selected == 20:
        assert "at 80% of the rate" in finding["message"] and "within the limit" in finding["message"]
    if selected == 19:  # 76% reads as 76%, below the 80% the sentence names
        assert "at 76% of the rate" in finding["message"] and "within the limit" not in finding["message"]


def test_a_difference_of_exactly_ten_points_meets_a_ten_point_tolerance(tmp_path, capsys):
    rules = "  - {id: tpr, title: TPR gap, metric: true_positive_rate, compare: absolute_difference, max_value: 0.1}\n"
    rows = (
        [("a", 1, int(i < 24)) for i in range(30)]
        + [("b", 1, int(i < 21)) for i in range(30)]
        + [(g, 0, 0) for g in "ab" for _ in range(10)]
    )
    data = write_csv(tmp_path / "d.csv", rows)
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--format", "json", policy=_policy(tmp_path, rules)),
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert Fraction(24, 30) - Fraction(21, 30) == Fraction(1, 10)
    assert doc["findings"][0]["status"] == "PASS"


def test_a_strict_bound_fails_exactly_at_the_limit(tmp_path, capsys):
    rules = "  - {id: air, title: impact ratio, metric: selection_rate, min_value: 0.8, strict_bounds: true}\n"
    doc = _run(tmp_path, capsys, {"a": (20, 30), "b": (25, 30)}, _policy(tmp_path, rules), exit_code=1)
    assert doc["findings"][0]["status"] == "FAIL"
    assert "more than 80%" in doc["findings"][0]["message"]


LIMITS = [Fraction(4, 5), Fraction(3, 4), Fraction(9, 10), Fraction(1, 2), Fraction(2, 3)]


@settings(max_examples=60, deadline=None)
@given(limit=st.sampled_from(LIMITS[:4]), t=st.integers(1, 12), n=st.integers(60, 400), c=st.integers(1, 4))
def test_property_a_ratio_exactly_at_a_limit_passes_at_least_and_fails_greater_than(limit, t, n, c):
    # comparator: k2 of n; group: k1 of n·c with k1/(n·c) = limit · k2/n exactly
    k2 = limit.denominator * t
    k1 = limit.numerator * t * c
    n = max(n, k2)
    assert Fraction(k1, n * c) / Fraction(k2, n) == limit
    table = GroupTable(
        ("g",),
        (("a",), ("b",)),
        np.array([[[n * c - k1, 0], [0, k1]], [[n - k2, 0], [0, k2]]], dtype=np.int64),
        has_label=True,
    )
    scopes = build_scopes(table, intersections=False, level=0.95)
    for strict, expected in ((False, "PASS"), (True, "FAIL")):
        policy = Policy.model_validate(
            {
                "fairgate": 1,
                "id": "p",
                "version": "1",
                "title": "t",
                "groups": {"min_count": 1},
                "rules": [
                    {
                        "id": "r",
                        "title": "r",
                        "metric": "selection_rate",
                        "min_value": float(limit),
                        "strict_bounds": strict,
                    }
                ],
            }
        )
        [finding] = evaluate(policy, scopes, has_label=True)
        assert finding.status.value == expected, (limit, k1, n * c, k2, n, strict)


# --- 2. small groups: an exact test, not silence (Ricci v. DeStefano) ----------------------------


def _ricci(tmp_path, position: str):
    import pandas as pd

    frame = pd.read_csv(shared_data("ricci.csv"))
    frame = frame[frame["Position"] == position].copy()
    frame["passed"] = (frame["Combine"] >= 70).map({True: "pass", False: "fail"})
    path = tmp_path / f"{position}.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize(("position", "verdict", "code"), [("Lieutenant", "FAIL", 1), ("Captain", "WARN", 0)])
def test_ricci_small_groups_are_judged_with_fishers_exact_test(tmp_path, capsys, position, verdict, code):
    path, frame = _ricci(tmp_path, position)
    invoke(
        capsys,
        [
            "run",
            "--data",
            path,
            "--predictions",
            "passed",
            "--positive-label",
            "pass",
            "--sensitive",
            "Race",
            "--policy",
            "four-fifths",
            "--out",
            tmp_path / "out",
            "--format",
            "json,md",
        ],
        exit_code=code,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["verdict"] == verdict
    rows = {o["group"]: o for d in doc["disparities"] for o in d["groups"]}
    counts = frame.groupby("Race")["passed"].agg(lambda s: ((s == "pass").sum(), len(s)))
    white_k, white_n = counts["W"]
    hisp_k, hisp_n = counts["H"]
    p = fisher_exact([[hisp_k, hisp_n - hisp_k], [white_k, white_n - white_k]])[1]
    assert rows["Race=H"]["p_value"] == pytest.approx(p, rel=1e-9)
    assert rows["Race=H"]["small"] is True and rows["Race=H"]["test_method"] == "fisher-exact"
    assert rows["Race=H"]["value"] == pytest.approx((hisp_k / hisp_n) / (white_k / white_n))
    if position == "Lieutenant":  # 3/15 vs 25/43: ratio 0.34, p ≈ 0.016 → the four-fifths violation stands
        assert (hisp_k, hisp_n, white_k, white_n) == (3, 15, 25, 43) and p == pytest.approx(0.016, abs=5e-4)
        assert rows["Race=H"]["status"] == "FAIL"
    else:  # 3/8 vs 16/25, p ≈ 0.24 → below the limit on small numbers; not significant: WARN
        assert rows["Race=H"]["status"] == "NOT_SIGNIFICANT"
        assert "below the limit on small numbers; not statistically significant" in doc["findings"][0]["message"]
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert verdict in summary


def test_a_small_group_inside_the_limit_with_a_wide_interval_is_insufficient_data(tmp_path, capsys):
    doc = _run(tmp_path, capsys, {"a": (9, 10), "b": (50, 60)}, _policy(tmp_path, FOUR_FIFTHS), exit_code=0)
    rows = {o["group"]: o for d in doc["disparities"] for o in d["groups"]}
    assert rows["group=a"]["status"] in ("INCONCLUSIVE", "PASS")
    # a at 90% vs b at 83%: a is the highest; b is large and compared against a small comparator
    assert doc["findings"][0]["status"] in ("INSUFFICIENT_DATA", "PASS")
    doc = _run(tmp_path, capsys, {"a": (7, 10), "b": (50, 60)}, _policy(tmp_path, FOUR_FIFTHS), exit_code=0)
    rows = {o["group"]: o for d in doc["disparities"] for o in d["groups"]}
    assert rows["group=a"]["status"] == "INCONCLUSIVE"  # 0.84 of b's rate, but the interval reaches below 0.8
    assert doc["findings"][0]["status"] == "INSUFFICIENT_DATA"
    assert doc["verdict"] == "INSUFFICIENT_DATA"


def test_an_empty_base_is_insufficient_data_not_a_pass(tmp_path, capsys):
    rules = "  - {id: tpr, title: TPR ratio, metric: true_positive_rate, min_value: 0.8}\n"
    rows = (
        [("a", 1, 1)] * 40 + [("a", 0, 0)] * 10 + [("b", 1, 1)] * 40 + [("b", 0, 0)] * 10 + [("c", 0, 0)] * 5
    )  # c has no one truly qualified: its TPR is undefined
    data = write_csv(tmp_path / "d.csv", rows)
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--format", "json", policy=_policy(tmp_path, rules)),
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    rows = {o["group"]: o for d in doc["disparities"] for o in d["groups"]}
    assert rows["group=c"]["status"] == "INCONCLUSIVE"
    assert doc["findings"][0]["status"] == "INSUFFICIENT_DATA"


# --- 3. outside the limit but not significant has its own state ----------------------------------


def test_below_the_limit_but_not_significant_is_said_and_drawn_as_such(tmp_path, capsys):
    rules = (
        "  - {id: air, title: impact ratio, metric: selection_rate, min_value: 0.9, "
        "decide_on: practical_significance}\n"
    )
    # 77/100 vs 100/100 would be significant; 27/50 vs 35/50 (ratio 0.77) is not
    doc = _run(tmp_path, capsys, {"a": (27, 50), "b": (35, 50)}, _policy(tmp_path, rules), exit_code=0)
    finding = doc["findings"][0]
    rows = {o["group"]: o for d in doc["disparities"] for o in d["groups"]}
    assert rows["group=a"]["status"] == "NOT_SIGNIFICANT"
    assert finding["status"] == "PASS"
    assert "within the limit" not in finding["message"]
    assert "below the limit, but not statistically significant" in finding["message"]
    from audit.report.charts import STYLES, finding_charts

    [chart] = finding_charts(doc, "air")
    import base64

    svg = base64.b64decode(chart.data_uri.split(",", 1)[1]).decode()
    assert STYLES["NOT_SIGNIFICANT"][0].lower() in svg.lower()  # its own colour and legend entry
    assert STYLES["NOT_SIGNIFICANT"][0] != STYLES["PASS"][0]


# --- 5. info severity is INFO everywhere ---------------------------------------------------------


def test_an_info_representativeness_check_is_info_in_every_output(tmp_path, capsys):
    extra = (
        "representativeness:\n  - id: shares\n    feature: group\n    severity: info\n"
        "    reference: {shares: {a: 0.9, b: 0.1}}\n    min_representation_ratio: 0.9\n"
    )
    policy = _policy(tmp_path, FOUR_FIFTHS, extra=extra)
    data = write_csv(tmp_path / "d.csv", _decisions({"a": (40, 50), "b": (40, 50)}))
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out", "--format", "json,md", "--junit", tmp_path / "junit.xml", policy=policy),
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["representativeness"][0]["status"] == "INFO"
    assert [i["status"] for i in doc["items"]] == ["PASS", "INFO"]
    assert doc["summary"] == {"rules": 2, "pass": 1, "warn": 0, "fail": 0, "insufficient_data": 0, "info": 1}
    assert "INFO" in (tmp_path / "out" / "summary.md").read_text()
    assert "INFO" in ran.out and "WARN" not in ran.out
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("failures") == "0"


# --- 6. WAIVED and INFO reach every printer ------------------------------------------------------

WAIVER = (
    "waivers:\n  - {rule: air, group: b, reason: remediation under way, approved_by: Risk Committee, "
    "expires: 2099-01-01}\n"
)
MIXED_RULES = FOUR_FIFTHS + (
    "  - {id: air-info, title: impact ratio (context), metric: selection_rate, min_value: 0.95, severity: info}\n"
)


def test_waived_and_info_items_reach_the_terminal_notebook_markdown_junit_and_cover(tmp_path, capsys, monkeypatch):
    import audit.util.progress

    monkeypatch.setattr(audit.util.progress, "styled_stdout", lambda: True)  # the rich table a terminal gets
    policy = _policy(tmp_path, MIXED_RULES, extra=WAIVER)
    data = write_csv(tmp_path / "d.csv", _decisions({"a": (40, 50), "b": (20, 50)}))
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out", "--format", "json,md,html", "--junit", tmp_path / "junit.xml", policy=policy),
        exit_code=0,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [i["status"] for i in doc["items"]] == ["WAIVED", "INFO"]
    assert doc["verdict"] == "PASS" and doc["exit_code"] == 0
    assert "WAIVED" in ran.out and "INFO" in ran.out
    from audit.report.notebook import render_notebook_html

    notebook = render_notebook_html(doc)
    assert "WAIVED" in notebook and "INFO" in notebook
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "WAIVED" in summary and "INFO" in summary
    html = (tmp_path / "out" / "report.html").read_text()
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert "Waived" in cover and "For context only" in cover
    assert "2 items checked" in cover and "1 WAIVED" in cover and "1 INFO" in cover
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "0"


# --- 7. windows are judged with waivers ----------------------------------------------------------


def test_a_waived_failure_in_one_window_does_not_fail_a_worst_window_verdict(tmp_path, capsys):
    rows = []
    for month, low in (("2026-01-15", 40), ("2026-02-15", 20)):
        rows += [(month, "a", int(i < 40), int(i < 40)) for i in range(50)] + [
            (month, "b", int(i < low), int(i < low)) for i in range(50)
        ]
    data = write_csv(tmp_path / "d.csv", rows, header=("when", "group", "label", "pred"))
    extra = WAIVER + "monitoring: {period: month, verdict_from: worst}\n"
    policy = _policy(tmp_path, FOUR_FIFTHS, extra=extra)
    args = [
        "run",
        "--data",
        data,
        "--policy",
        policy,
        "--label",
        "label",
        "--predictions",
        "pred",
        "--sensitive",
        "group",
        "--period-column",
        "when",
        "--out",
        tmp_path / "out",
        "--format",
        "json",
    ]
    invoke(capsys, args, exit_code=0)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [w["verdict"] for w in doc["monitoring"]["windows"]] == ["PASS", "PASS"]
    assert doc["monitoring"]["windows"][1]["findings"][0]["status"] == "WAIVED"
    # without the waiver the same data fails the February window and the run
    worst = "monitoring: {period: month, verdict_from: worst}\n"
    invoke(capsys, [*args[:4], _policy(tmp_path, FOUR_FIFTHS, extra=worst), *args[5:]], exit_code=1)
