"""GitHub Actions annotations and the SVG status badge (audit/report/ci.py), alone and through `fairgate run`."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from audit.judge.status import Status
from audit.report.ci import BADGE_COLOURS, github_annotations, render_badge
from tests.cli.helpers import balanced_rows, invoke, run_args, skewed_rows, write_csv


def _doc(*items, verdict="FAIL", policy_id="four-fifths"):
    keys = ("id", "status", "severity", "message")
    return {"items": [dict(zip(keys, i, strict=True)) for i in items], "verdict": verdict,
            "policy": {"id": policy_id, "version": "1.0.0"}}  # fmt: skip


def test_annotations_follow_the_gate():
    doc = _doc(
        ("impact-ratio", "FAIL", "block", "b was selected at 33%"),
        ("tpr-gap", "WARN", "warn", "a gap"),
        ("small", "INSUFFICIENT_DATA", "block", "too few"),
        ("fine", "PASS", "block", "ok"),
        ("waived", "WAIVED", "block", "waived"),
        ("context", "WARN", "info", "for context"),
    )
    assert github_annotations(doc) == [
        "::error title=Fairgate FAIL%3A impact-ratio::b was selected at 33%25",
        "::warning title=Fairgate WARN%3A tpr-gap::a gap",
        "::warning title=Fairgate INSUFFICIENT_DATA%3A small::too few",
    ]
    tightened = github_annotations(doc, fail_on="warn", strict=True)
    assert [line.split(" ", 1)[0] for line in tightened] == ["::error", "::error", "::error"]


def test_annotation_text_cannot_end_the_command_or_inject_another():
    (line,) = github_annotations(_doc(("r,x:y", "FAIL", "block", "line one\n::error::forged\r%")))
    assert line == "::error title=Fairgate FAIL%3A r%2Cx%3Ay::line one\\x0a::error::forged\\x0d%25"
    assert "\n" not in line and "\r" not in line


def test_the_badge_is_deterministic_escaped_svg_in_the_verdict_colour():
    doc = _doc(verdict="INSUFFICIENT_DATA", policy_id='<script>alert("x")</script>&')
    svg = render_badge(doc)
    assert svg == render_badge(doc)
    root = ET.fromstring(svg)  # well-formed: the policy id is text, not markup
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"<script>" not in svg and b"&lt;script&gt;" in svg
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["fairness", "INSUFFICIENT DATA"]
    assert BADGE_COLOURS[Status.INSUFFICIENT_DATA].encode() in svg
    assert set(BADGE_COLOURS) == set(Status)  # every verdict has a colour


def test_run_in_github_actions_annotates_and_appends_the_step_summary(tmp_path, capsys, monkeypatch):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    badge = tmp_path / "badge" / "fairness.svg"
    ran = invoke(capsys, run_args(data, tmp_path / "out", "--no-pdf", "--badge", badge), exit_code=1)
    errors = [line for line in ran.out.splitlines() if line.startswith("::error ")]
    assert errors and errors[0].startswith("::error title=Fairgate FAIL%3A selection-rate-impact-ratio::")
    assert summary.read_text().startswith("earlier step\n") and "four-fifths" in summary.read_text()
    assert [t.text for t in ET.parse(badge).getroot().iter("{http://www.w3.org/2000/svg}text")] == ["fairness", "FAIL"]
    # --json: stdout is results.json alone; the annotations go to stderr (the runner reads both)
    ran = invoke(capsys, run_args(data, tmp_path / "out2", "--no-pdf", "--json"), exit_code=1)
    assert json.loads(ran.out)["verdict"] == "FAIL" and "::error title=" in ran.err


def test_no_annotations_outside_github_actions(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(capsys, run_args(data, tmp_path / "out", "--no-pdf"), exit_code=1)
    assert "::error" not in ran.out + ran.err
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    passing = write_csv(tmp_path / "p.csv", balanced_rows())
    ran = invoke(capsys, run_args(passing, tmp_path / "p", "--no-pdf"), exit_code=0)
    assert "::" not in ran.out  # a pass needs no annotation
