"""Every status reaches every printer, and the printers agree with the exit code (issue 15).

A new Status or Outcome member must be added to every printer's table before anything can print
it: these tests fail first. Then, on fixtures covering each status, the JUnit failures, the exit
code, the cover's counts and the terminal agree.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from audit.judge.status import Outcome, Status, fails_gate
from tests.cli.helpers import run_args, write_csv


def test_every_status_is_in_every_printer_table():
    from audit.cli import STYLE
    from audit.report.html import _STATUS_CLASS, COVER_GROUPS, STATUS_WORDS
    from audit.report.junit import OUTPUT
    from audit.report.markdown import ICON
    from audit.report.notebook import COLOUR

    covered = {s for _, statuses in COVER_GROUPS for s in statuses}
    for status in Status:
        assert status in OUTPUT, ("junit", status)
        assert status in ICON, ("markdown", status)
        assert status in COLOUR, ("notebook", status)
        assert status.value in STYLE, ("terminal", status)
        assert status.value in STATUS_WORDS and status.value in _STATUS_CLASS, ("html", status)
        assert status.value in covered, ("cover", status)


def test_every_group_outcome_is_drawn_and_worded():
    from audit.report.charts import STYLES
    from audit.report.html import _STATUS_CLASS

    for outcome in Outcome:
        assert outcome.value in _STATUS_CLASS, outcome
        if outcome is not Outcome.NOT_JUDGED:  # not-judged groups have no value to draw
            assert outcome.value in STYLES, outcome


FIXTURES = {
    # name: (policy rules, groups {name: (selected, n)}, extra policy text)
    "pass": ("  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n", {"a": (40, 50), "b": (40, 50)}, ""),
    "fail": ("  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n", {"a": (40, 50), "b": (10, 50)}, ""),
    "warn": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8, severity: warn}\n",
        {"a": (40, 50), "b": (10, 50)},
        "",
    ),
    "insufficient": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n",
        {"a": (7, 10), "b": (50, 60)},
        "",
    ),
    "info": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8, severity: info}\n",
        {"a": (40, 50), "b": (10, 50)},
        "",
    ),
    "waived": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n",
        {"a": (40, 50), "b": (10, 50)},
        "waivers:\n  - {rule: r, reason: known, approved_by: Board, expires: 2099-01-01}\n",
    ),
    "odds-ratio-fail": (
        "  - {id: r, title: r, metric: selection_rate, compare: odds_ratio, min_value: 0.5}\n",
        {"a": (40, 50), "b": (10, 50)},
        "",
    ),
    "odds-ratio-insufficient": (
        "  - {id: r, title: r, metric: selection_rate, compare: odds_ratio, min_value: 0.5}\n",
        {"a": (7, 10), "b": (50, 60)},
        "",
    ),
    "small-warn": ("  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n", {"a": (5, 8), "b": (3, 8)}, ""),
    # the group "" is missing: rows of unknown category. The rule passes on the known rows; its worst
    # case over the unknown rows does not: a warning item of its own (r.unknowns), or a FAIL under worst_case
    "unknowns-warn": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n",
        {"a": (20, 40), "b": (16, 40), "": (10, 10)},
        "",
    ),
    "unknowns-worst-case": (
        "  - {id: r, title: r, metric: selection_rate, min_value: 0.8, unknown: worst_case}\n",
        {"a": (20, 40), "b": (16, 40), "": (10, 10)},
        "",
    ),
}


@pytest.mark.parametrize("name", list(FIXTURES))
@pytest.mark.parametrize(("fail_on", "strict"), [("fail", False), ("warn", False), ("fail", True)])
def test_junit_the_exit_code_the_cover_and_the_terminal_agree(tmp_path, capsys, name, fail_on, strict):
    rules, groups, extra = FIXTURES[name]
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"fairgate: 1\nid: agree\nversion: '1'\ntitle: t\ngroups: {{min_count: 30}}\nrules:\n{rules}{extra}"
    )
    rows = [(g, int(i < k), int(i < k)) for g, (k, n) in groups.items() for i in range(n)]
    data = write_csv(tmp_path / "d.csv", rows)
    args = run_args(
        data,
        tmp_path / "out",
        "--format",
        "json,html",
        "--junit",
        tmp_path / "junit.xml",
        "--fail-on",
        fail_on,
        *(["--strict"] if strict else []),
        policy=policy,
    )
    from audit.cli import main

    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    out = captured.out
    assert code in (0, 1), captured.err
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    items = doc["items"]
    expected = (
        1 if any(fails_gate(Status(i["status"]), i["severity"], fail_on=fail_on, strict=strict) for i in items) else 0
    )
    assert code == expected == doc["exit_code"]
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (int(suite.get("failures")) > 0) == (code == 1)
    assert int(suite.get("tests")) == len(items) == doc["summary"]["rules"]
    counts = {k: v for k, v in doc["summary"].items() if k != "rules"}
    assert sum(counts.values()) == doc["summary"]["rules"]
    html = (tmp_path / "out" / "report.html").read_text()
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert f"{len(items)} item" in cover
    for item in items:
        assert item["id"] in cover  # every item that drives the verdict is on the cover
    assert f"verdict: {doc['verdict']}" in out
    for item in items:
        assert f"{item['status']:<17} {item['id']}:" in out
    if name == "small-warn":
        assert doc["verdict"] == "WARN"
    if name == "unknowns-warn":
        assert [(i["id"], i["status"]) for i in items] == [("r", "PASS"), ("r.unknowns", "WARN")]
        assert doc["verdict"] == "WARN"
    if name == "unknowns-worst-case":
        assert [(i["id"], i["status"]) for i in items] == [("r", "FAIL")]
    if name == "waived":
        assert doc["verdict"] == "PASS" and items[0]["status"] == "WAIVED"
