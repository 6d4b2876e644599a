"""Rules on odds ratios (issue 18, item 5: `compare: odds_ratio`): exact at the limit, one count either
side, the value checked against fairlearn's selection rates, every printer, and the policy errors."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate

from tests.cli.helpers import invoke, run_args, write_csv


def _rows(groups: dict[str, tuple[int, int]]) -> list[tuple[str, int, int]]:
    return [(g, int(i < k), int(i < k)) for g, (k, n) in groups.items() for i in range(n)]


def _policy(tmp_path, rule: str) -> str:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "fairgate: 1\nid: odds\nversion: '1'\ntitle: Odds ratios\ngroups: {min_count: 30}\nrules:\n" + rule,
        encoding="utf-8",
    )
    return str(path)


RULE = "  - {id: or, title: selection odds, metric: selection_rate, compare: odds_ratio, min_value: 0.4}\n"


@pytest.mark.parametrize(("selected", "status", "code"), [(20, "PASS", 0), (19, "FAIL", 1), (21, "PASS", 0)])
def test_an_odds_ratio_exactly_at_the_limit_passes_and_one_count_below_fails(tmp_path, capsys, selected, status, code):
    # comparator 25 of 30 (odds 5); the group 20 of 30 (odds 2): exactly 0.4
    rows = _rows({"a": (selected, 30), "b": (25, 30)})
    data = write_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "out"
    invoke(
        capsys,
        run_args(data, out, "--format", "json,md", "--junit", out.parent / "junit.xml", policy=_policy(tmp_path, RULE)),
        exit_code=code,
    )
    doc = json.loads((out / "results.json").read_text())
    finding = doc["findings"][0]
    assert finding["status"] == status
    exact = Fraction(selected, 30 - selected) / Fraction(25, 5)
    assert (exact >= Fraction(2, 5)) == (status == "PASS")
    # the value, from fairlearn's selection rates (an independent count)
    frame = pd.DataFrame(rows, columns=["group", "label", "pred"])
    rates = MetricFrame(
        metrics=selection_rate, y_true=frame["label"], y_pred=frame["pred"], sensitive_features=frame["group"]
    ).by_group
    odds = rates / (1 - rates)
    assert finding["observed"] == pytest.approx(odds["a"] / odds["b"], rel=1e-12)
    if selected == 20:
        assert "is 0.40" in finding["message"] and "within the limit" in finding["message"]
    if selected == 19:  # 0.345 prints as 0.35, below the 0.40 the sentence names
        assert "is 0.35" in finding["message"] and "at least 0.40" in finding["message"]
    summary = (out / "summary.md").read_text()
    assert f"OR {float(exact):.2f}" in summary
    suite = ET.parse(out.parent / "junit.xml").getroot()
    failures = suite.findall(".//failure")
    assert bool(failures) == (status == "FAIL")


def test_a_value_a_hair_below_the_limit_never_prints_as_the_limit(tmp_path, capsys):
    # 199/101 over 2: 0.98515…; a limit of 0.985 must not read "0.99 … at least 0.99"
    rule = "  - {id: or, title: odds, metric: selection_rate, compare: odds_ratio, min_value: 0.986}\n"
    data = write_csv(tmp_path / "d.csv", _rows({"a": (199, 300), "b": (200, 300)}))
    invoke(capsys, run_args(data, tmp_path / "out", "--format", "json", policy=_policy(tmp_path, rule)), exit_code=1)
    message = json.loads((tmp_path / "out" / "results.json").read_text())["findings"][0]["message"]
    assert "is 0.985 " in message and "at least 0.99" not in message, message


def test_the_html_report_names_the_odds_ratio_and_its_interval_method(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", _rows({"a": (10, 60), "b": (40, 60), "c": (3, 20)}))
    out = tmp_path / "out"
    invoke(capsys, run_args(data, out, "--format", "json,html", policy=_policy(tmp_path, RULE)), exit_code=1)
    html = (out / "report.html").read_text()
    assert "Odds ratio to comparator" in html
    assert "odds ratio of each group" in html or "odds ratio to" in html
    doc = json.loads((out / "results.json").read_text())
    groups = {g["group"]: g for d in doc["disparities"] for g in d["groups"]}
    # a (10 of 60 vs 40 of 60) has every cell ≥ 5: Woolf; c (3 of 20) has a cell of 3: the exact interval
    assert groups["group=a"]["ci_method"] == "woolf-logit"
    assert groups["group=c"]["ci_method"] == "exact-conditional"
    assert groups["group=a"]["value"] == pytest.approx((10 / 50) / (40 / 20))


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (
            "{id: x, title: x, metric: balanced_accuracy, compare: odds_ratio, min_value: 0.5}",
            "balanced_accuracy is not one",
        ),
        ("{id: x, title: x, metric: count, compare: odds_ratio, min_value: 0.5}", "count is not one"),
        (
            "{id: x, title: x, metric: selection_rate, compare: odds_ratio, against: overall, min_value: 0.5}",
            "use against: max, min or reference",
        ),
        ("{id: x, title: x, metric: selection_rate, compare: odds_ratio, max_value: -1}", "cannot be negative"),
    ],
)
def test_odds_ratio_rules_the_policy_cannot_mean_are_refused_naming_the_rule(tmp_path, capsys, rule, words):
    data = write_csv(tmp_path / "d.csv", _rows({"a": (20, 30), "b": (25, 30)}))
    ran = invoke(capsys, run_args(data, tmp_path / "out", policy=_policy(tmp_path, f"  - {rule}\n")), exit_code=2)
    assert words in ran.err
    assert not (tmp_path / "out").exists()
