"""JUnit XML for CI systems: one test case per judged item (rules, data checks, drift, comparison).

An item that fails the gate (``audit.judge.status.fails_gate``: FAIL; WARN under ``--fail-on warn``;
INSUFFICIENT_DATA under ``--strict``) is a ``<failure>`` carrying the item's plain sentence;
INSUFFICIENT_DATA otherwise is ``<skipped>``; WARN, WAIVED and INFO pass with their sentence in
``<system-out>``. The same gate decides the exit code, so JUnit and the exit code always agree.

With segments (the policy's ``segment_by``), the rules within each segment (results.json ``segments``, and
``proxy.segments`` for a probabilistic feature) follow as test cases of their own, named ``RULE [segment]``
or ``RULE.FEATURE [segment]``; so do the rules on a probabilistic feature within each time window
(``proxy.windows``: ``RULE.FEATURE [window LABEL]``). They are never gated here (a segment does not change
the verdict; a window's findings count in its window's verdict, which is an item of its own under
``verdict_from: worst``), so each passes with its status and sentence in ``<system-out>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from audit.judge.status import Status, fails_gate
from audit.util.display import visible

#: What a passing test case carries besides passing, per status (every Status is here: tested).
OUTPUT = {
    Status.PASS: None,
    Status.WARN: "system-out",
    Status.FAIL: "system-out",  # only reached for an info-severity item, which never fails the gate
    Status.INSUFFICIENT_DATA: "skipped",
    Status.WAIVED: "system-out",
    Status.INFO: "system-out",
}


def render_junit(document: dict[str, Any], *, fail_on: str = "fail", strict: bool = False) -> bytes:
    # every text from the data made visible: XML 1.0 cannot even hold most control characters
    items = [{**i, "id": visible(i["id"]), "message": visible(i["message"])} for i in document["items"]]
    suite = ET.Element("testsuite", name=f"fairgate:{visible(document['policy']['id'])}", tests=str(len(items)))
    failures = skipped = 0
    for item in items:
        case = ET.SubElement(
            suite, "testcase", classname=f"fairgate.{visible(document['policy']['id'])}", name=item["id"]
        )
        status = Status(item["status"])
        if fails_gate(status, item["severity"], fail_on=fail_on, strict=strict):
            failures += 1
            ET.SubElement(case, "failure", message=item["message"], type=status.value).text = item["message"]
            continue
        output = OUTPUT[status]
        if output == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=item["message"])
        elif output == "system-out":
            ET.SubElement(case, "system-out").text = f"{status.value}: {item['message']}"
    evidence = _segment_cases(document)
    for name, state, message in evidence:
        case = ET.SubElement(
            suite, "testcase", classname=f"fairgate.{visible(document['policy']['id'])}.segments", name=name
        )
        ET.SubElement(case, "system-out").text = f"{state} (evidence, not gated here): {message}"
    if evidence:
        suite.set("tests", str(len(items) + len(evidence)))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True) + b"\n"


def _segment_cases(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, status, sentence) of every rule within a segment, and of every rule on a probabilistic feature
    within a segment or a time window (a window's findings gate through its window's verdict, when that is
    an item: never here)."""
    out = []
    for s in (document.get("segments") or {}).get("segments", []):
        where = ", ".join(f"{k}={v}" for k, v in s["segment"].items())
        out += [(visible(f"{f['rule_id']} [{where}]"), f["status"], visible(f["message"])) for f in s["findings"]]
    proxy = document.get("proxy") or {}
    for s in (proxy.get("segments") or {}).get("segments", []):
        where = ", ".join(f"{k}={v}" for k, v in s["segment"].items())
        out += [(visible(f"{f['id']} [{where}]"), f["status"], visible(f["message"])) for f in s["findings"]]
    for w in (proxy.get("windows") or {}).get("windows", []):
        where = f"window {w['label']}"
        out += [(visible(f"{f['id']} [{where}]"), f["status"], visible(f["message"])) for f in w["findings"]]
    return out
