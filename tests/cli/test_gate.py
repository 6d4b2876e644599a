"""The release gate: --fail-on, --strict, JUnit XML, --json, the GitHub step summary, summary.md."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.cli.helpers import balanced_rows, invoke, run_args, write_csv

WARN_POLICY = """\
fairgate: 1
id: gate-test
version: "1"
title: Gate test
groups: {min_count: 5}
rules:
  - id: sr-warn
    title: selection-rate ratio (warning)
    metric: selection_rate
    min_value: 0.8
    severity: warn
  - id: tpr-small
    title: needs more people than we have
    metric: true_positive_rate
    compare: absolute_difference
    max_value: 0.5
    min_count: 1000
"""


def _rows():
    rows = []
    for i in range(50):
        rows.append(("a", int(i % 2 == 0), int(i % 10 < 6)))
        rows.append(("b<b>", int(i % 2 == 0), int(i % 10 < 2)))
    return rows


def _args(tmp_path, *extra):
    policy = tmp_path / "p.yaml"
    policy.write_text(WARN_POLICY)
    data = write_csv(tmp_path / "d.csv", _rows())
    return run_args(data, tmp_path / "out", "--no-pdf", *extra, policy=policy)


@pytest.mark.parametrize(("extra", "code"), [((), 0), (("--fail-on", "warn"), 1), (("--strict",), 1)])
def test_fail_on_and_strict_decide_the_exit_code(tmp_path, capsys, extra, code):
    invoke(capsys, _args(tmp_path, *extra), exit_code=code)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [f["status"] for f in doc["findings"]] == ["WARN", "INSUFFICIENT_DATA"]
    assert doc["exit_code"] == code
    assert doc["audit"]["gate"] == {"fail_on": "warn" if "warn" in extra else "fail", "strict": "--strict" in extra}


def test_junit_has_one_case_per_rule(tmp_path, capsys):
    junit = tmp_path / "junit.xml"
    invoke(capsys, _args(tmp_path, "--junit", junit, "--fail-on", "warn"), exit_code=1)
    suite = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"sr-warn", "tpr-small"}
    assert cases["sr-warn"].find("failure").get("type") == "WARN"
    assert cases["tpr-small"].find("skipped") is not None
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"


def test_json_on_stdout_is_the_results_file(tmp_path, capsys):
    ran = invoke(capsys, _args(tmp_path, "--json"), exit_code=0)
    assert ran.out == (tmp_path / "out" / "results.json").read_text()


def test_step_summary_is_appended_with_escaped_markdown(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "step.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    invoke(capsys, _args(tmp_path), exit_code=0)
    text = summary.read_text()
    assert text.startswith("previous step\n## Fairgate audit: ⚠️ WARN")
    assert "b\\<b\\>" in text and "<b>" not in text.replace("b\\<b\\>", "")
    assert (tmp_path / "out" / "summary.md").read_text() == text.removeprefix("previous step\n")


def test_passing_audit_has_no_failures_in_junit(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    junit = tmp_path / "j.xml"
    invoke(
        capsys,
        run_args(data, tmp_path / "out", "--no-pdf", "--junit", junit),
        exit_code=0,
    )
    assert ET.parse(junit).getroot().get("failures") == "0"


def test_junit_has_the_structure_ci_systems_require(tmp_path, capsys):
    """The elements and attributes the JUnit XML schema (Jenkins/Surefire) requires, with consistent counts."""
    junit = tmp_path / "junit.xml"
    invoke(capsys, _args(tmp_path, "--junit", junit, "--strict"), exit_code=1)
    raw = junit.read_bytes()
    assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    suite = ET.fromstring(raw)
    assert suite.tag == "testsuite" and suite.get("name")
    cases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(cases) == 2
    assert all(c.get("name") and c.get("classname") for c in cases)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    assert (int(suite.get("failures")), int(suite.get("skipped")), int(suite.get("errors"))) == (failures, skipped, 0)
    assert failures == 1  # --strict: INSUFFICIENT_DATA fails; the WARN rule does not under --fail-on fail
    for case in cases:
        for child in case:
            assert child.tag in {"failure", "skipped", "system-out"}
            if child.tag == "failure":
                assert child.get("message") and child.get("type")


def test_junit_inside_an_out_directory_the_run_creates(tmp_path, capsys):
    """CI examples write `--out audit-out --junit audit-out/junit.xml` on a fresh checkout."""
    out = tmp_path / "fresh" / "audit-out"
    args = _args(tmp_path)
    args[args.index("--out") + 1] = out
    invoke(capsys, [*args, "--junit", out / "junit.xml"], exit_code=0)
    assert ET.parse(out / "junit.xml").getroot().get("tests") == "2"
    # outside --out too: every output file's directory is created (issue 21)
    invoke(capsys, [*args, "--junit", tmp_path / "elsewhere" / "junit.xml"], exit_code=0)
    assert (tmp_path / "elsewhere" / "junit.xml").is_file()
