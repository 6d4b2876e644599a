"""Audits over time windows: per-window rules, drift findings, the latest window's verdict.

The decision log is built from exact counts (no sampling noise): women's true positive rate
falls from ~80% to 55% from July 2024, and from September their share of the log falls from
1/2 to 1/3. Each drift check must fire from its month on and never before.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

from tests.cli.helpers import invoke

POLICY = """\
fairgate: 1
id: monitor-test
version: "1"
title: Monitoring test
groups: {min_count: 30, intersections: false}
rules:
  - id: tpr-gap
    title: True positive rate within 10 points of the best group's
    metric: true_positive_rate
    compare: difference
    against: max
    min_value: -0.1
    severity: warn
monitoring:
  period_column: decided_at
  period: month
  drift:
    - id: tpr-drift
      kind: metric
      metric: true_positive_rate
      max_change: 0.1
      severity: block
    - id: mix-shift
      kind: shares
      feature: sex
      max_change: 0.1
    - id: gap-drift
      kind: disparity
      rule: tpr-gap
      max_change: 0.1
      baseline: previous
"""
TPR_DRIFT_FROM, SHARE_SHIFT_FROM = 7, 9


def _log(seed: int = 0) -> pd.DataFrame:
    rows = []
    for month in range(1, 13):
        for sex in ("F", "M"):
            half = 100 if sex == "F" and month >= SHARE_SHIFT_FROM else 200
            tpr = 0.55 if sex == "F" and month >= TPR_DRIFT_FROM else (0.78 if month % 2 else 0.82)
            tp = round(half * tpr)
            fp = round(half * 0.2)
            cells = [(1, 1)] * tp + [(1, 0)] * (half - tp) + [(0, 1)] * fp + [(0, 0)] * (half - fp)
            for i, (y, yhat) in enumerate(cells):
                rows.append(
                    {
                        "decided_at": f"2024-{month:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
                        "sex": sex,
                        "outcome": y,
                        "decision": yhat,
                    }
                )
    frame = pd.DataFrame(rows)
    undated = frame.sample(5, random_state=seed).assign(decided_at="")
    return pd.concat([frame, undated], ignore_index=True).sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "decisions.csv"
    _log().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "monitor.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def _args(data, policy, out, *extra):
    return [
        "run",
        "--data",
        data,
        "--policy",
        policy,
        "--label",
        "outcome",
        "--predictions",
        "decision",
        "--sensitive",
        "sex",
        "--out",
        out,
        "--no-pdf",
        *extra,
    ]


@pytest.fixture(scope="module")
def monitored(log_csv, policy_file, tmp_path_factory):
    from audit.cli import main

    out = tmp_path_factory.mktemp("out")
    code = main([str(a) for a in _args(log_csv, policy_file, out)])
    return code, json.loads((out / "results.json").read_text())


def _drift(doc, rule_id):
    return {d["window"]: d for d in doc["monitoring"]["drift"] if d["rule_id"] == rule_id}


def test_metric_drift_fires_from_the_planted_month_and_not_before(monitored):
    _, doc = monitored
    drift = _drift(doc, "tpr-drift")
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    assert list(drift) == months
    assert drift["2024-01"]["status"] == "INSUFFICIENT_DATA"  # the baseline itself
    assert [drift[m]["status"] for m in months[1 : TPR_DRIFT_FROM - 1]] == ["PASS"] * (TPR_DRIFT_FROM - 2)
    assert [drift[m]["status"] for m in months[TPR_DRIFT_FROM - 1 :]] == ["FAIL"] * (13 - TPR_DRIFT_FROM)
    july = drift["2024-07"]
    assert [g["label"] for g in july["groups"] if g["drifted"]] == ["F"]
    f = next(g for g in july["groups"] if g["label"] == "F")
    assert f["baseline"] == pytest.approx(156 / 200) and f["current"] == pytest.approx(110 / 200)
    assert f["ci"][1] < -0.1  # Newcombe interval of the change wholly beyond the tolerance
    assert "fell from 78.0% in 2024-01 to 55.0% in 2024-07" in july["message"]


def test_share_drift_fires_when_the_mix_shifts(monitored):
    _, doc = monitored
    drift = _drift(doc, "mix-shift")
    statuses = {m: d["status"] for m, d in drift.items()}
    assert all(statuses[f"2024-{m:02d}"] == "PASS" for m in range(2, SHARE_SHIFT_FROM))
    assert all(statuses[f"2024-{m:02d}"] == "WARN" for m in range(SHARE_SHIFT_FROM, 13))
    september = drift["2024-09"]
    assert september["tvd"] == pytest.approx(0.5 - 1 / 3)  # F: 1/2 → 1/3


def test_disparity_drift_against_the_previous_window_fires_once(monitored):
    _, doc = monitored
    statuses = {m: d["status"] for m, d in _drift(doc, "gap-drift").items()}
    # the gap opens in July (vs June); from August on the previous window already had it
    assert statuses["2024-07"] == "WARN"
    assert statuses["2024-08"] == "PASS" and statuses["2024-12"] == "PASS"
    drift = _drift(doc, "gap-drift")
    assert drift["2024-07"]["message"].startswith("Rule 'tpr-gap': the difference of F (sex) went from 0.000")
    for month in ("2024-08", "2024-12"):  # never an improvement presented as the change to worry about
        message = drift[month]["message"]
        worst = max(drift[month]["groups"], key=lambda g: g["worse_by"])
        assert ("got worse" in message) and (worst["worse_by"] <= 0 or "most worsened" in message)


def test_windows_sum_to_the_whole_and_match_an_unwindowed_audit(monitored, log_csv, tmp_path, capsys):
    _, doc = monitored
    windows = doc["monitoring"]["windows"]
    whole = _log()
    assert doc["monitoring"]["rows_without_time"] == 5
    assert sum(w["rows"] for w in windows) == len(whole) - 5
    # an ordinary audit of the same file counts every dated and undated row once
    plain = tmp_path / "plain.yaml"
    plain.write_text(POLICY.split("monitoring:")[0], encoding="utf-8")
    invoke(capsys, _args(log_csv, plain, tmp_path / "p"), exit_code=0)
    flat = json.loads((tmp_path / "p" / "results.json").read_text())
    summed: dict[str, np.ndarray] = {}
    for w in windows:
        for g in w["groups"]:
            c = g["counts"]
            summed[g["id"]] = summed.get(g["id"], 0) + np.array([c["tn"], c["fp"], c["fn"], c["tp"]])
    dated = whole[whole["decided_at"] != ""]
    for g in flat["groups"]:
        if g["id"] == "overall":
            continue
        rows = dated[dated["sex"] == g["features"]["sex"]]
        expected = [
            int(((rows.outcome == y) & (rows.decision == p)).sum()) for y, p in ((0, 0), (0, 1), (1, 0), (1, 1))
        ]
        assert summed[g["id"]].tolist() == expected


def test_each_window_is_judged_like_an_audit_of_its_rows(monitored):
    _, doc = monitored
    whole = _log()
    for w in doc["monitoring"]["windows"]:
        rows = whole[whole["decided_at"].str.startswith(w["label"])]
        for d in (d for d in w["disparities"] if d["rule_id"] == "tpr-gap"):
            for g in d["groups"]:
                sub = rows[rows.sex == g["label"]]
                tpr = recall_score(sub.outcome, sub.decision)
                best = max(recall_score(rows[rows.sex == s].outcome, rows[rows.sex == s].decision) for s in "FM")
                assert g["value"] == pytest.approx(tpr - best)


def test_the_latest_window_decides_the_verdict_and_exit_code(monitored):
    code, doc = monitored
    assert code == 1 and doc["exit_code"] == 1 and doc["verdict"] == "FAIL"
    latest = doc["monitoring"]["windows"][-1]
    assert latest["label"] == "2024-12" and latest["verdict"] == "FAIL"
    assert doc["audit"]["rows"] == latest["rows"]  # the report's tables describe the latest window
    assert doc["audit"]["excluded_rows"] == {"no time": 5}


def test_before_the_drift_the_run_passes(log_csv, policy_file, tmp_path, capsys):
    early = tmp_path / "early.csv"
    frame = pd.read_csv(log_csv, dtype={"decided_at": str}, keep_default_na=False)
    frame[frame.decided_at.str[:7] < "2024-07"].to_csv(early, index=False)
    ran = invoke(capsys, _args(early, policy_file, tmp_path / "o"), exit_code=0)
    assert "2024-06 PASS" in ran.out


def test_monitor_command_is_the_windowed_run(log_csv, policy_file, tmp_path, capsys, monitored):
    invoke(
        capsys,
        [
            "monitor",
            "--data",
            log_csv,
            "--policy",
            policy_file,
            "--label",
            "outcome",
            "--predictions",
            "decision",
            "--sensitive",
            "sex",
            "--out",
            tmp_path / "m",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "m" / "results.json").read_text())
    assert doc["monitoring"] == monitored[1]["monitoring"]
    listed = json.loads(invoke(capsys, ["history", "--action", "monitor", "--json"], exit_code=0).out)
    assert [r["action"] for r in listed] == ["monitor"] and listed[0]["verdict"] == "FAIL"


def test_launch_baseline_drift_compares_with_a_launch_audit(log_csv, policy_file, tmp_path, capsys):
    launch_csv = tmp_path / "launch.csv"
    frame = pd.read_csv(log_csv, dtype={"decided_at": str}, keep_default_na=False)
    frame[frame.decided_at.str[:7] == "2024-02"].to_csv(launch_csv, index=False)
    plain = tmp_path / "plain.yaml"
    plain.write_text(POLICY.split("monitoring:")[0], encoding="utf-8")
    invoke(capsys, _args(launch_csv, plain, tmp_path / "launch"), exit_code=0)
    policy = tmp_path / "launch-policy.yaml"
    policy.write_text(POLICY.replace("      severity: block\n", "      severity: block\n      baseline: launch\n"))
    invoke(
        capsys, _args(log_csv, policy, tmp_path / "o", "--baseline", tmp_path / "launch" / "results.json"), exit_code=1
    )
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    drift = _drift(doc, "tpr-drift")
    assert drift["2024-01"]["baseline"] == "launch" and drift["2024-01"]["status"] == "PASS"
    assert drift["2024-07"]["status"] == "FAIL"


def test_monitor_without_a_period_column_is_a_usage_error(log_csv, tmp_path, capsys):
    ran = invoke(
        capsys,
        [
            "monitor",
            "--data",
            log_csv,
            "--policy",
            "four-fifths",
            "--predictions",
            "decision",
            "--sensitive",
            "sex",
            "--out",
            tmp_path / "m",
        ],
        exit_code=2,
    )
    assert "--period-column" in ran.err


def test_dates_that_do_not_parse_are_named(tmp_path, capsys, policy_file):
    bad = tmp_path / "bad.csv"
    frame = _log().head(200).copy()
    frame.loc[3, "decided_at"] = "last tuesday"
    frame.to_csv(bad, index=False)
    ran = invoke(capsys, _args(bad, policy_file, tmp_path / "o"), exit_code=2)
    assert "period column 'decided_at'" in ran.err and "last tuesday" in ran.err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("period", "labels"),
    [
        ("week", ["2024-W01", "2024-W09", "2025-W01"]),
        ("quarter", ["2024-Q1", "2024-Q1", "2024-Q4"]),
        ("year", ["2024", "2024", "2024"]),
        ("day", ["2024-01-01", "2024-03-01", "2024-12-30"]),
    ],
)
def test_period_labels(period, labels):
    from audit.tables.windows import parse_times, period_labels, window_bounds

    times = parse_times(pd.Series(["2024-01-01", "2024-03-01T10:00:00+02:00", "2024-12-30"]), where="t")
    got = period_labels(times, period).tolist()
    assert got == labels
    for label, moment in zip(got, ["2024-01-01", "2024-03-01", "2024-12-30"], strict=True):
        start, end = window_bounds(label, period)
        assert start <= moment <= end


def test_evidence_report_summary_and_junit_carry_the_trends(monitored, tmp_path):
    import jsonschema

    from audit.report.html import ReportContext, render_html
    from audit.report.junit import render_junit
    from audit.report.markdown import render_markdown
    from audit.util.resources import schema_path

    _, doc = monitored
    jsonschema.validate(doc, json.loads(schema_path("results.schema.json").read_text()))
    html = render_html(doc, context=ReportContext(generated_at="2025-01-01T00:00:00Z", signers=[]))
    section = html.split("<h1>Trends over time</h1>")[1].split("</section>")[0]
    assert section.count("<tr") == 13  # header + 12 windows
    assert "Drift: tpr-drift" in section and "data:image/svg+xml;base64," in section
    assert "fell from 78.0% in 2024-01 to 55.0% in 2024-12" in section
    summary = render_markdown(doc)
    assert "2024-06 ✅ PASS · 2024-07 ❌ FAIL" in summary
    assert "| Drift: tpr-drift (2024-12 vs 2024-01) | ❌ FAIL |" in summary  # a judged item in the main table
    junit = render_junit(doc).decode()
    assert 'name="tpr-drift (2024-12 vs 2024-01)"' in junit and 'failures="1"' in junit


def test_a_windowed_audit_recomputes_to_the_same_evidence(monitored, log_csv):
    from audit.recompute import recompute

    checked = recompute(monitored[1], data=log_csv, model=None)
    assert checked.identical, checked.problems


def test_monitor_over_a_glob_of_monthly_parquet_files(tmp_path, capsys, policy_file, monitored):
    """A nightly job reads a directory of decision logs: the same windows and drift as one file."""
    logs = tmp_path / "logs"
    logs.mkdir()
    frame = _log()
    for month, part in frame.groupby(frame.decided_at.str[:7]):
        part.to_parquet(logs / f"{month or 'undated'}.parquet")
    invoke(
        capsys,
        [
            "monitor",
            "--data",
            str(logs / "*.parquet"),
            "--policy",
            policy_file,
            "--label",
            "outcome",
            "--predictions",
            "decision",
            "--sensitive",
            "sex",
            "--out",
            tmp_path / "m",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "m" / "results.json").read_text())
    assert doc["monitoring"] == monitored[1]["monitoring"]
    assert doc["provenance"]["inputs"][0]["path"].endswith("*.parquet")


def test_a_numeric_column_that_is_not_a_time_is_refused(tmp_path, capsys, policy_file):
    """--period-column age: as epoch seconds every row would fall on 1 January 1970, one window."""
    data = tmp_path / "d.csv"
    frame = _log().head(300).assign(age=lambda f: 20 + f.index % 50, epoch=1_700_000_000)
    frame.to_csv(data, index=False)
    ran = invoke(capsys, [*_args(data, policy_file, tmp_path / "o"), "--period-column", "age"], exit_code=2)
    assert "period column 'age'" in ran.err and "before 1980" in ran.err
    invoke(capsys, [*_args(data, policy_file, tmp_path / "o2"), "--period-column", "epoch"], exit_code=0)
    assert json.loads((tmp_path / "o2" / "results.json").read_text())["monitoring"]["windows"][0]["label"] == "2023-11"


def _reference_policy(tmp_path, reference: str):
    text = POLICY.replace("against: max", f"against: reference\n    reference: {{sex: {reference}}}")
    path = tmp_path / "reference.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_window_without_the_reference_group_is_not_judged_and_the_others_are(log_csv, tmp_path, capsys):
    """No M in March: that window's rule is not judged (the run goes on); a typo that no window has stops it."""
    gap = tmp_path / "gap.csv"
    frame = pd.read_csv(log_csv, dtype={"decided_at": str}, keep_default_na=False)
    frame[~((frame.decided_at.str[:7] == "2024-03") & (frame.sex == "M"))].to_csv(gap, index=False)
    out = tmp_path / "o"
    invoke(capsys, _args(gap, _reference_policy(tmp_path, "M"), out), exit_code=1)
    windows = {w["label"]: w for w in json.loads((out / "results.json").read_text())["monitoring"]["windows"]}

    def rule_status(label):
        return next(f["status"] for f in windows[label]["findings"] if f["rule_id"] == "tpr-gap")

    assert rule_status("2024-03") == "INSUFFICIENT_DATA"
    assert rule_status("2024-02") == "PASS" and rule_status("2024-12") == "WARN"  # F's TPR 0.55 vs M's 0.82
    typo = invoke(capsys, _args(gap, _reference_policy(tmp_path, "Male"), tmp_path / "t"), exit_code=2)
    assert "rule 'tpr-gap': reference group 'Male' does not occur in sex" in typo.err
    assert not (tmp_path / "t").exists()
