"""Segments (issue 18, item 2): `segment_by` evaluates every rule within each segment, checked against
fairlearn's MetricFrame with control_features; the segmented selection ratio is in tests/measures/
test_stratified.py. Same evidence on every engine, the pooled audit unchanged, bad columns exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.helpers import invoke, skewed_rows, write_csv
from tests.conftest import shared_data

POLICY = """\
fairgate: 1
id: segmented
version: "1"
title: Segmented
columns: {label: y_true, prediction: y_pred, positive_label: 1, sensitive: [sensitive_feature]}
groups: {min_count: 1}
segment_by: [control_feature]
rules:
  - {id: air, title: Selection ratio, metric: selection_rate, compare: ratio, min_value: 0.8}
  - {id: tpr, title: Recall gap, metric: true_positive_rate, compare: difference, min_value: -0.2}
"""


def _run(tmp_path, capsys, *, engine="numpy", policy=POLICY, code=1, formats="json"):
    path = tmp_path / f"p-{engine}.yaml"
    path.write_text(policy)
    out = tmp_path / f"out-{engine}-{abs(hash(policy))}"
    args = ["run", "--data", shared_data("fairlearn_userguide_control_example.csv"), "--policy", path]
    invoke(capsys, [*args, "--out", out, "--engine", engine, "--no-ledger", "--format", formats], exit_code=code)
    doc = json.loads((out / "results.json").read_text())
    return doc | {"_out": out} if formats != "json" else doc


def test_rules_per_segment_agree_with_fairlearn_control_features(tmp_path, capsys):
    from fairlearn.metrics import MetricFrame, selection_rate
    from sklearn.metrics import recall_score

    doc = _run(tmp_path, capsys)
    data = pd.read_csv(shared_data("fairlearn_userguide_control_example.csv"))
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "recall": recall_score},
        y_true=data["y_true"],
        y_pred=data["y_pred"],
        sensitive_features=data["sensitive_feature"],
        control_features=data["control_feature"],
    )
    segments = {s["segment"]["control_feature"]: s for s in doc["segments"]["segments"]}
    assert sorted(segments) == ["H", "L"] and doc["segments"]["columns"] == ["control_feature"]
    assert sum(s["rows"] for s in segments.values()) == doc["audit"]["rows"] == 30
    for control, seg in segments.items():
        for d in seg["disparities"]:
            metric = "selection_rate" if d["rule_id"] == "air" else "recall"
            for g in d["groups"]:
                level = g["group"].split("=", 1)[1]
                assert g["metric_value"] == pytest.approx(frame.by_group[metric][(control, level)])
        observed = {f["rule_id"]: f["observed"] for f in seg["findings"]}
        # against max: the worst ratio is min/max, the worst difference −(max − min), per control level
        assert observed["air"] == pytest.approx(frame.ratio()["selection_rate"][control])
        assert observed["tpr"] == pytest.approx(-frame.difference()["recall"][control])
    # and the segments' groups are the rows of fairlearn's control × sensitive cells
    for control, seg in segments.items():
        sizes = {g["label"]: g["n"] for g in seg["groups"] if g["scope"] == "sensitive_feature"}
        expected = data[data["control_feature"] == control].groupby("sensitive_feature").size().to_dict()
        assert sizes == expected


def test_the_segmented_selection_ratio_is_recorded_per_group_and_reported(tmp_path, capsys):
    doc = _run(tmp_path, capsys, formats="json,md,html")
    ratios = {r["group"]: r for r in doc["segments"]["selection_rate"]}
    assert sorted(ratios) == ["sensitive_feature=A", "sensitive_feature=B"]
    a = ratios["sensitive_feature=A"]
    assert a["comparator"] == "sensitive_feature=C" and a["strata"] == 2
    # statsmodels StratifiedTable on the same two strata (tests/measures/test_stratified.py)
    assert a["odds_ratio"] == pytest.approx(0.09523809523809525)
    assert a["cmh_p_value"] == pytest.approx(0.051252582857369666)
    assert a["breslow_day_p_value"] == pytest.approx(0.3499286976020477)
    assert [s["ratio"] for s in a["segments"]] == pytest.approx([(2 / 5) / (3 / 4), (2 / 5) / (4 / 4)])
    summary = (doc["_out"] / "summary.md").read_text()
    assert "**Within segments** (control\\_feature" in summary and "| 0.457 (0.205–1.020) | 0.095 | 0.0513 |" in summary
    report = (doc["_out"] / "report.html").read_text()
    assert "Within segments (control_feature)" in report and "Segmented adverse impact ratio" in report


def test_engines_agree_and_the_pooled_audit_is_unchanged(tmp_path, capsys):
    pytest.importorskip("duckdb")
    numpy, duck = _run(tmp_path, capsys), _run(tmp_path, capsys, engine="duckdb")
    assert numpy["segments"] == duck["segments"] and numpy["groups"] == duck["groups"]
    plain = _run(tmp_path, capsys, policy=POLICY.replace("segment_by: [control_feature]\n", ""))
    assert "segments" not in plain
    for key in ("groups", "disparities", "findings", "items", "verdict"):
        assert plain[key] == numpy[key], key


@pytest.mark.parametrize(
    ("segment_by", "fragment"),
    [
        ("[nosuch]", "segment_by: no column named 'nosuch'"),
        ("[group]", "segment_by: 'group' is a sensitive feature"),
    ],
)
def test_a_bad_segment_column_is_exit_2_naming_it(tmp_path, capsys, segment_by, fragment):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    policy = tmp_path / "p.yaml"
    policy.write_text(f"fairgate: 1\nextends: four-fifths\nid: s\nversion: '1'\ntitle: s\nsegment_by: {segment_by}\n")
    args = ["run", "--data", data, "--policy", policy, "--label", "label", "--predictions", "pred"]
    ran = invoke(capsys, [*args, "--sensitive", "group", "--out", tmp_path / "out"], exit_code=2)
    lines = ran.err.strip().splitlines()
    assert fragment in lines[0] and lines[0].startswith("error:") and lines[1].startswith("hint: ")
    assert len(lines) == 2 and not (tmp_path / "out").exists()


def test_the_terminal_and_junit_list_every_rule_within_each_segment(tmp_path, capsys):
    """Per-segment findings reach the plain terminal and JUnit (as evidence cases that never fail), with the
    statuses results.json gives them; the gate's failures are the pooled items' only."""
    import xml.etree.ElementTree as ET

    from audit.cli import main

    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    args = ["run", "--data", shared_data("fairlearn_userguide_control_example.csv"), "--policy", path, "--out", out]
    code = main([str(a) for a in [*args, "--no-ledger", "--format", "json", "--junit", junit]])
    printed = capsys.readouterr().out
    doc = json.loads((out / "results.json").read_text())
    assert code == doc["exit_code"]
    assert "within segments (control_feature; evidence only, the verdict is the pooled audit's):" in printed
    suite = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    for segment in doc["segments"]["segments"]:
        where = f"control_feature={segment['segment']['control_feature']}"
        for finding in segment["findings"]:
            line = f"  {finding['status']:<17} {finding['rule_id']} [{where}]: {finding['message']}"
            assert line in printed.splitlines()
            case = cases[f"{finding['rule_id']} [{where}]"]
            assert case.find("failure") is None
            assert case.find("system-out").text.startswith(f"{finding['status']} (evidence, not gated here): ")
    gated = [i for i in doc["items"] if i["status"] == "FAIL"]
    assert int(suite.get("failures")) == len(gated) and int(suite.get("tests")) == len(doc["items"]) + 4
