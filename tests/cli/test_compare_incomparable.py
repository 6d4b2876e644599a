"""`compare` and `run --baseline` never pass when nothing is comparable (issue 15, item 8).

Two audits of different sensitive features, or under policies with no rule measuring the same
thing, are refused (exit 2, nothing written); comparable audits whose rules share no judged group
are INSUFFICIENT_DATA (exit 0, 1 under --strict), never NO_REGRESSION.
"""

from __future__ import annotations

import json

import jsonschema

from audit.util.resources import schema_path
from tests.cli.helpers import invoke, write_csv

POLICY = """\
fairgate: 1
id: cmp-test
version: "1"
title: Comparison test
groups: {{min_count: 5}}
rules:
  - id: sr
    title: selection-rate ratio
    metric: {metric}
    compare: {compare}
    min_value: 0.8
"""


def _policy(tmp_path, name="p.yaml", *, rule_id="sr", metric="selection_rate", compare="ratio"):
    path = tmp_path / name
    path.write_text(POLICY.format(metric=metric, compare=compare).replace("id: sr", f"id: {rule_id}"))
    return path


def _rows(rates, n=200, *, positives=True):
    """``n`` people per group; group g is selected at ``rates[g]`` (labels half positive, or all negative)."""
    return [(g, int(positives and i % 2 == 0), int(i < rate * n)) for g, rate in rates.items() for i in range(n)]


def _audit(tmp_path, capsys, name, rates, *, policy=None, column="group", exit_code=0, extra=(), positives=True):
    """Run an audit and return its results.json."""
    data = write_csv(tmp_path / f"{name}.csv", _rows(rates, positives=positives), header=(column, "label", "pred"))
    invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            policy or _policy(tmp_path),
            "--label",
            "label",
            "--predictions",
            "pred",
            "--sensitive",
            column,
            "--out",
            tmp_path / name,
            "--format",
            "json",
            *extra,
        ],
        exit_code=exit_code,
    )
    return tmp_path / name / "results.json"


def _validate(comparison):
    """A comparison document (compare --json, or results.json's `comparison`) matches the shipped schema."""
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.validate(
        comparison,
        {**schema["properties"]["comparison"], "$defs": schema["$defs"]},
        cls=jsonschema.Draft202012Validator,
    )


def _compare(capsys, base, cand, *extra, exit_code):
    return invoke(capsys, ["compare", base, cand, *extra], exit_code=exit_code)


# --- refused: nothing could ever be compared (exit 2, nothing written) ----------------------------


def test_different_sensitive_features_are_refused_naming_both_files(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    cand = _audit(tmp_path, capsys, "cand", {"F": 0.5, "M": 0.5}, column="sex")
    md = tmp_path / "cmp.md"
    ran = _compare(capsys, base, cand, "--markdown", md, exit_code=2)
    first = ran.err.splitlines()[0]
    assert first.startswith(f"error: cannot compare {base} with {cand}: ")
    assert "different sensitive features" in first and "group" in first and "sex" in first
    assert any(line.startswith("hint: ") for line in ran.err.splitlines())
    assert ran.out == "" and not md.exists()


def test_policies_without_a_rule_in_common_are_refused(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    other = _policy(tmp_path, "other.yaml", rule_id="tpr")
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.5, "b": 0.5}, policy=other)
    md = tmp_path / "cmp.md"
    ran = _compare(capsys, base, cand, "--markdown", md, exit_code=2)
    assert f"cannot compare {base} with {cand}: their policies have no rule in common" in ran.err
    assert not md.exists()
    # judged under one policy given explicitly, the two are comparable again
    assert json.loads(_compare(capsys, base, cand, "--policy", other, "--json", exit_code=0).out)["changes"]


def test_a_shared_rule_id_measuring_another_metric_is_refused(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    tpr = _policy(tmp_path, "tpr.yaml", metric="true_positive_rate", compare="difference")
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.5, "b": 0.5}, policy=tpr, exit_code=1)
    ran = _compare(capsys, base, cand, exit_code=2)
    assert f"cannot compare {base} with {cand}: rule 'sr' measures selection_rate (ratio)" in ran.err
    assert "true_positive_rate (difference)" in ran.err and ran.out == ""


def test_run_with_an_incomparable_baseline_stops_before_writing_anything(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    data = write_csv(tmp_path / "sex.csv", _rows({"F": 0.5, "M": 0.5}), header=("sex", "label", "pred"))
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            _policy(tmp_path),
            "--label",
            "label",
            "--predictions",
            "pred",
            "--sensitive",
            "sex",
            "--out",
            out,
            "--junit",
            junit,
            "--baseline",
            base,
        ],
        exit_code=2,
    )
    assert f"error: cannot compare {base} with this audit of {data}: they audit different sensitive features" in ran.err
    assert not out.exists() and not junit.exists()


# --- comparable, but nothing (or not everything) to compare: INSUFFICIENT_DATA ---------------------


def test_disjoint_groups_are_insufficient_data_not_no_regression(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    cand = _audit(tmp_path, capsys, "cand", {"c": 0.5, "d": 0.5})
    doc = json.loads(_compare(capsys, base, cand, "--json", exit_code=0).out)
    _validate(doc)
    assert doc["status"] == "INSUFFICIENT_DATA" and doc["changes"] == [] and doc["regressed"] is False
    assert [(r["rule_id"], r["status"], r["comparisons"]) for r in doc["rules"]] == [("sr", "INSUFFICIENT_DATA", 0)]
    assert "group=a" in doc["rules"][0]["reason"] and "group=c" in doc["rules"][0]["reason"]
    ran = _compare(capsys, base, cand, "--markdown", tmp_path / "cmp.md", exit_code=0)
    assert "comparison with baseline: INSUFFICIENT_DATA (0 group comparisons)" in ran.out
    assert "no regression" not in ran.out.lower()
    markdown = (tmp_path / "cmp.md").read_text()
    assert "INSUFFICIENT_DATA" in markdown and "NO_REGRESSION" not in markdown
    _compare(capsys, base, cand, "--strict", exit_code=1)


def test_groups_shared_only_as_the_comparator_are_insufficient_data(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.6, "b": 0.55})
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.6, "c": 0.55})  # a is the highest-rate comparator in both
    doc = json.loads(_compare(capsys, base, cand, "--json", exit_code=0).out)
    assert doc["status"] == "INSUFFICIENT_DATA" and doc["changes"] == []
    assert "comparator in both" in doc["rules"][0]["reason"]


def test_one_rule_without_a_comparable_group_makes_the_whole_comparison_insufficient(tmp_path, capsys):
    policy = tmp_path / "two.yaml"
    policy.write_text(
        POLICY.format(metric="selection_rate", compare="ratio")
        + "  - {id: tpr, title: t, metric: true_positive_rate, compare: absolute_difference,"
        " max_value: 0.5}\n"
    )
    # nobody has a positive label: the true-positive rate is undefined (0/0) for every group in both
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5}, policy=policy, positives=False)
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.5, "b": 0.5}, policy=policy, positives=False)
    doc = json.loads(_compare(capsys, base, cand, "--json", exit_code=0).out)
    assert {r["rule_id"]: r["status"] for r in doc["rules"]} == {"sr": "NO_REGRESSION", "tpr": "INSUFFICIENT_DATA"}
    assert doc["changes"] and doc["status"] == "INSUFFICIENT_DATA" and "tpr" in doc["reason"]
    _compare(capsys, base, cand, "--strict", exit_code=1)


def test_run_with_a_baseline_of_other_groups_is_insufficient_data(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    schema = json.loads(schema_path("results.schema.json").read_text())
    for strict, code in ((False, 0), (True, 1)):
        name = "strict" if strict else "plain"
        junit = tmp_path / f"{name}.xml"
        results = _audit(
            tmp_path,
            capsys,
            name,
            {"c": 0.5, "d": 0.5},
            exit_code=code,
            extra=("--baseline", base, "--format", "json,html,md", "--junit", junit, *(["--strict"] if strict else [])),
        )
        doc = json.loads(results.read_text())
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
        assert doc["comparison"]["status"] == "INSUFFICIENT_DATA"
        item = next(i for i in doc["items"] if i["kind"] == "comparison")
        assert item["status"] == "INSUFFICIENT_DATA" and doc["exit_code"] == code
        assert doc["verdict"] == "INSUFFICIENT_DATA"
        html = (results.parent / "report.html").read_text()
        assert "Comparison status: <strong>INSUFFICIENT_DATA</strong>" in html
        assert "INSUFFICIENT_DATA" in (results.parent / "summary.md").read_text().split("Fairgate comparison")[1]
        case = next(c for c in ET.parse(junit).getroot() if c.get("name") == "baseline-comparison")
        assert case.find("failure" if strict else "skipped") is not None


# --- comparable and compared: REGRESSED or NO_REGRESSION -------------------------------------------


def test_a_real_regression_is_regressed_and_exits_1(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.6, "b": 0.2}, exit_code=1)
    doc = json.loads(_compare(capsys, base, cand, "--json", exit_code=1).out)
    _validate(doc)
    assert doc["status"] == "REGRESSED" and doc["regressed"] and doc["blocking_regression"]
    assert doc["rules"][0]["status"] == "REGRESSED"
    ran = _compare(capsys, base, cand, "--markdown", tmp_path / "cmp.md", exit_code=1)
    assert "comparison with baseline: REGRESSED" in ran.out
    assert "REGRESSED" in (tmp_path / "cmp.md").read_text()


def test_no_regression_is_no_regression_and_exits_0(tmp_path, capsys):
    base = _audit(tmp_path, capsys, "base", {"a": 0.5, "b": 0.5})
    cand = _audit(tmp_path, capsys, "cand", {"a": 0.5, "b": 0.48})
    doc = json.loads(_compare(capsys, base, cand, "--json", "--strict", exit_code=0).out)
    _validate(doc)
    assert doc["status"] == "NO_REGRESSION" and doc["changes"] and not doc["regressed"]
    assert [r["status"] for r in doc["rules"]] == ["NO_REGRESSION"]
    ran = _compare(capsys, base, cand, "--markdown", tmp_path / "cmp.md", exit_code=0)
    assert "comparison with baseline: NO_REGRESSION" in ran.out
    assert "NO_REGRESSION" in (tmp_path / "cmp.md").read_text()


def test_every_comparison_status_is_in_the_markdown_table():
    from audit.judge.compare import ComparisonStatus
    from audit.report.markdown import COMPARISON_STATE

    assert set(COMPARISON_STATE) == {s.value for s in ComparisonStatus}


def test_printers_read_an_older_comparison_without_a_status():
    """results.json written before `status` existed: zero comparisons still read as INSUFFICIENT_DATA."""
    from audit.judge.core import comparison_item
    from audit.report.markdown import render_comparison_markdown

    old = {"regressed": False, "blocking_regression": False, "changes": []}
    assert "INSUFFICIENT_DATA" in render_comparison_markdown(old)
    assert comparison_item(old).status.value == "INSUFFICIENT_DATA"
