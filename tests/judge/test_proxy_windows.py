"""Rules on a probabilistic feature within time windows (``--period-column``; audit.judge.proxy_segments): each
window judged on its own expected counts, counted in its window's verdict (which gates under
``verdict_from: worst``), the run's own items describing the verdict's window — at the edges: a group exactly
at min_count in a window and just under it, zero expected size in a window, a window whose rows have no
probabilities, rows without a time, a waiver; drift rules not evaluated on the feature; every printer shows
the per-window findings and ``verify --recompute`` reproduces them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from audit.judge.status import Status
from audit.pipeline import run_audit
from tests.judge.test_proxy_gate import LEVELS, PROBA, people, policy


def timed() -> list[dict]:
    """January: white 40/50 = 0.8, black 18/30 = 0.6 — 0.75 of white's, below 0.8, black's expected size exactly
    min_count (30). February: white 40/50, black 38/50 — 0.95. Nobody is hispanic or api."""
    return (
        people("white", 50, 40, day="2024-01-10")
        + people("black", 30, 18, day="2024-01-20")
        + people("white", 50, 40, day="2024-02-10")
        + people("black", 50, 38, day="2024-02-20")
    )


def monitored(doc: dict, verdict_from: str = "latest") -> dict:
    return {**doc, "monitoring": {"period": "month", "verdict_from": verdict_from}}


def audit(rows: list[dict], doc: dict | None = None, verdict_from: str = "latest", sensitive=()):
    return run_audit(
        data=pd.DataFrame(rows),
        policy=monitored(doc or policy(), verdict_from),
        predictions="approved",
        positive_label="1",
        sensitive=list(sensitive),
        sensitive_proba=[PROBA],
        period_column="day",
        ledger=False,
        audit_date="2024-06-01",
    )


def window_docs(result) -> dict[str, dict]:
    return {w["label"]: w for w in result.to_dict()["proxy"]["windows"]["windows"]}


def rule_rows(window: dict) -> dict[str, dict]:
    (rule,) = window["rules"]
    return {g["group"]: g for g in rule["groups"]}


def verdicts(result) -> dict[str, str]:
    return {w["label"]: w["verdict"] for w in result.to_dict()["monitoring"]["windows"]}


def test_each_window_is_judged_and_counts_in_its_windows_verdict():
    result = audit(timed())
    windows = window_docs(result)
    assert list(windows) == ["2024-01", "2024-02"]
    jan, feb = windows["2024-01"], windows["2024-02"]
    assert (jan["rows"], feb["rows"]) == (80, 100)
    assert [(f["id"], f["status"]) for f in jan["findings"]] == [("impact.race", "FAIL")]
    assert [(f["id"], f["status"]) for f in feb["findings"]] == [("impact.race", "PASS")]
    black = rule_rows(jan)["black"]
    assert black["estimate"] == pytest.approx(0.75) and black["expected_n"] == 30.0 and black["small"] is False
    assert black["bounds"] == pytest.approx([0.75, 0.75])
    assert verdicts(result) == {"2024-01": "FAIL", "2024-02": "PASS"}  # January's verdict counts the proxy
    # the run's items describe the latest window (February), as the recorded features' do
    assert [(i.id, i.status) for i in result.items] == [("impact.race", Status.PASS)]
    assert result.to_dict()["proxy"]["rows"] == 100 and result.exit_code == 0
    monitoring = result.to_dict()["monitoring"]
    assert [w["findings"] for w in monitoring["windows"]] == [[], []]  # no recorded feature: nothing scope-less
    drift = result.to_dict()["proxy"]["windows"]["drift"]
    assert drift["evaluated"] is False and "integer counts" in drift["reason"]


def test_verdict_from_worst_gates_on_a_windows_proxy_finding():
    result = audit(timed(), verdict_from="worst")
    ids = {i.id: i for i in result.items}
    assert ids["impact.race"].status is Status.PASS  # February's rows
    assert ids["window 2024-01"].status is Status.FAIL and "impact.race FAIL" in ids["window 2024-01"].message
    assert result.verdict is Status.FAIL and result.exit_code == 1


def test_verdict_from_pooled_judges_every_window_together():
    result = audit(timed(), verdict_from="pooled")
    assert result.to_dict()["proxy"]["rows"] == 180
    black = {g["group"]: g for g in result.to_dict()["proxy"]["rules"][0]["groups"]}["black"]
    assert black["estimate"] == pytest.approx((56 / 80) / 0.8)
    assert set(window_docs(result)) == {"2024-01", "2024-02"}


@pytest.mark.parametrize(("p_black", "small", "status"), [(1.0, False, "FAIL"), (0.99, True, "WARN")])
def test_a_windows_group_exactly_at_min_count_is_judged_just_under_it_is_small(p_black, small, status):
    rows = timed()
    last = 50 + 29  # January's last black person (not selected)
    rows[last] = dict(rows[last], p_black=p_black, p_white=1.0 - p_black)
    jan = window_docs(audit(rows))["2024-01"]
    black = rule_rows(jan)["black"]
    assert black["expected_n"] == pytest.approx(29 + p_black, abs=1e-8)
    assert (black["expected_n"] == 30.0) is not small and black["small"] is small
    assert jan["findings"][0]["status"] == status


def test_zero_expected_size_in_a_window_and_a_window_without_probabilities():
    unknown = {"p_white": None, "p_black": None, "p_hispanic": None, "p_api": None, "approved": 1}
    rows = [*timed(), *people("api", 40, 32, day="2024-02-25"), *([unknown | {"day": "2024-03-05"}] * 9)]
    result = audit(rows, verdict_from="pooled")
    windows = window_docs(result)
    jan_groups = {g["group"]: g for g in windows["2024-01"]["groups"]}
    assert set(jan_groups) == set(LEVELS) and jan_groups["api"]["expected_n"] == 0.0
    assert jan_groups["api"]["metrics"]["selection_rate"]["estimate"] is None and "api" not in rule_rows(
        windows["2024-01"]
    )
    assert "api" in rule_rows(windows["2024-02"])
    march = windows["2024-03"]
    assert march["rows"] == 9 and march["unknown_rows"] == 9
    assert all(g["expected_n"] == 0.0 for g in march["groups"])
    assert [f["status"] for f in march["findings"]] == ["INSUFFICIENT_DATA"]  # never PASS
    assert verdicts(result)["2024-03"] == "INSUFFICIENT_DATA"


def test_rows_without_a_time_are_in_no_window():
    rows = [*timed(), *people("black", 20, 0, day=None)]
    result = audit(rows, verdict_from="pooled")
    assert sum(w["rows"] for w in window_docs(result).values()) == 180
    assert result.to_dict()["monitoring"]["rows_without_time"] == 20


@pytest.mark.parametrize("waiver", ["black", "race=black", "*"])
def test_a_waiver_applies_within_the_windows_and_their_verdicts(waiver):
    result = audit(timed(), policy(waiver=waiver), verdict_from="worst")
    jan = window_docs(result)["2024-01"]
    assert jan["findings"][0]["status"] == "WAIVED" and rule_rows(jan)["black"]["outcome"] == "WAIVED"
    assert verdicts(result)["2024-01"] == "PASS" and result.exit_code == 0  # WAIVED counts as PASS in a verdict


def test_beside_a_recorded_feature_each_window_holds_both():
    rows = [dict(r, sex="F" if i % 2 else "M") for i, r in enumerate(timed())]
    result = audit(rows, sensitive=("sex",))
    for w in window_docs(result).values():
        assert [f["id"] for f in w["findings"]] == ["impact.race", "impact.race × sex"]
        assert w["intersections"][0]["scope"] == "race × sex"
    monitoring = result.to_dict()["monitoring"]
    assert [[f["rule_id"] for f in w["findings"]] for w in monitoring["windows"]] == [["impact"], ["impact"]]


def test_every_printer_shows_the_windows_and_verify_recompute_reproduces_them(tmp_path, capsys):
    import jsonschema
    import yaml

    from audit.cli import main
    from audit.recompute import recompute
    from audit.util.resources import schema_path

    data = tmp_path / "d.csv"
    pd.DataFrame(timed()).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(monitored(policy())))
    out = tmp_path / "out"
    args = ["run", "--data", data, "--policy", tmp_path / "p.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive-proba", PROBA, "--period-column", "day", "--out", out]
    args += ["--format", "json,html,md", "--junit", tmp_path / "junit.xml", "--audit-date", "2024-06-01", "--no-ledger"]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 0, captured.err  # the latest window passes
    doc = json.loads((out / "results.json").read_text())
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.validate({"proxy": doc["proxy"]}, schema | {"required": []})
    assert "per window (each window's verdict counts them):" in captured.out
    assert "FAIL              impact.race [window 2024-01]: On race" in captured.out
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"impact.race", "impact.race [window 2024-01]", "impact.race [window 2024-02]"}
    assert suite.get("failures") == "0"
    summary = (out / "summary.md").read_text()
    assert "- 2024-01 (80 rows): impact.race ❌ FAIL" in summary and "Drift rules on the probabilistic" in summary
    html = (out / "report.html").read_text()
    section = html.split('<section class="proxy">', 1)[1].split("</section>", 1)[0]
    assert "Window 2024-01 (80 rows)" in section and "impact.race (window 2024-01): FAIL" in section
    replay = recompute(doc, data=data, model=None)
    assert replay.identical, replay.problems


@pytest.mark.parametrize(
    "drift",
    [
        {"id": "shift", "kind": "shares", "feature": "race", "max_change": 0.1},
        {"id": "shift", "kind": "disparity", "rule": "impact", "max_change": 0.1},
    ],
)
def test_a_drift_rule_on_the_probabilistic_feature_says_it_is_not_evaluated_never_pass(drift):
    doc = monitored(policy()) | {"monitoring": {"period": "month", "drift": [drift]}}
    result = run_audit(
        data=pd.DataFrame(timed()),
        policy=doc,
        predictions="approved",
        positive_label="1",
        sensitive_proba=[PROBA],
        period_column="day",
        ledger=False,
        audit_date="2024-06-01",
    )
    (item,) = [i for i in result.items if i.kind == "drift"]
    assert item.status is Status.INSUFFICIENT_DATA
    assert item.message.startswith("Drift on 'race' is not evaluated on a probabilistic feature")


def test_fairgate_monitor_takes_the_probabilistic_feature(tmp_path, capsys):
    """`fairgate monitor` (a decision log, window by window) accepts --sensitive-proba as `run` does: under
    verdict_from: worst, January's proxy finding fails the job."""
    import yaml

    from audit.cli import main
    from audit.recompute import recompute

    data = tmp_path / "log.csv"
    pd.DataFrame(timed()).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(monitored(policy(), "worst")))
    out = tmp_path / "out"
    args = ["monitor", "--data", data, "--policy", tmp_path / "p.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive-proba", PROBA, "--period-column", "day", "--out", out]
    args += ["--format", "json", "--audit-date", "2024-06-01", "--no-ledger"]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    doc = json.loads((out / "results.json").read_text())
    assert {i["id"]: i["status"] for i in doc["items"]}["window 2024-01"] == "FAIL"
    assert [w["label"] for w in doc["proxy"]["windows"]["windows"]] == ["2024-01", "2024-02"]
    replay = recompute(doc, data=data, model=None)
    assert replay.identical, replay.problems
