"""JUnit XML for CI systems: one test case per policy rule.

A FAIL finding (and a WARN one under ``--fail-on warn``) is a ``<failure>`` carrying the finding's
plain sentence; INSUFFICIENT_DATA is ``<skipped>`` unless ``--strict`` makes it a failure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def render_junit(document: dict[str, Any], *, fail_on: str = "fail", strict: bool = False) -> bytes:
    findings = list(document["findings"]) + [
        {"rule_id": r["check_id"], "status": r["status"], "message": r["message"]}
        for r in document.get("representativeness", [])
    ] + [{"rule_id": c["check_id"], "status": c["status"], "message": c["message"]} for c in document.get("checks", [])
         ] + [  # drift checks of the latest window, when the audit ran per time window
        {"rule_id": f"{d['rule_id']} ({d['window']} vs {d['baseline']})", "status": d["status"],
         "message": d["message"]}
        for d in (document.get("monitoring") or {}).get("drift", [])
        if d["baseline"] is not None and d["window"] == document["monitoring"]["windows"][-1]["label"]
    ]
    suite = ET.Element("testsuite", name=f"fairgate:{document['policy']['id']}", tests=str(len(findings)))
    failures = skipped = 0
    for f in findings:
        case = ET.SubElement(suite, "testcase", classname=f"fairgate.{document['policy']['id']}",
                             name=f["rule_id"])
        status = f["status"]
        if status == "FAIL" or (status == "WARN" and fail_on == "warn") or (
                status == "INSUFFICIENT_DATA" and strict):
            failures += 1
            ET.SubElement(case, "failure", message=f["message"], type=status).text = f["message"]
        elif status == "INSUFFICIENT_DATA":
            skipped += 1
            ET.SubElement(case, "skipped", message=f["message"])
        elif status in ("WARN", "WAIVED", "INFO"):
            ET.SubElement(case, "system-out").text = f"{status}: {f['message']}"
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="utf-8", xml_declaration=True) + b"\n"
