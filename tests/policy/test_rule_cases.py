"""Rule cases as data: count tables in, expected statuses out (tests/policy/cases/*.yaml).

Each case gives a policy (inline), the confusion counts of every finest group, optionally the
data-quality counts and score SMDs, the audit date, and the expected status of every rule (and,
where given, of single groups). One parametrized test runs them all through ``judge`` — the same
path ``fairgate run`` takes after counting.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml

from audit.judge.core import judge
from audit.measures.groups import build_scopes
from audit.measures.values import MetricValue
from audit.policy.schema import Policy
from audit.tables.groups import GroupTable, level_sort_key
from audit.tables.quality import DataQuality, TimestampRange

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _load_cases():
    for path in CASES:
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{path.stem}:{case['name']}")


def _table(case) -> GroupTable:
    features = tuple(case["features"])
    rows = sorted(case["groups"], key=lambda g: level_sort_key(tuple(str(v) for v in g["key"])))
    counts = np.array([[[g["tn"], g["fp"]], [g["fn"], g["tp"]]] for g in rows], dtype=np.int64)
    return GroupTable(
        features, tuple(tuple(str(v) for v in g["key"]) for g in rows), counts, has_label=case.get("has_label", True)
    )


def _quality(case) -> DataQuality | None:
    q = case.get("quality")
    if q is None:
        return None
    ts = q.get("timestamp")
    return DataQuality(
        q["rows"],
        dict(q.get("missing", {})),
        q.get("duplicate_rows"),
        None if ts is None else TimestampRange(ts["column"], ts["oldest"], ts["newest"], 0, 0),
    )


@pytest.mark.parametrize("case", list(_load_cases()))
def test_rule_case(case):
    policy = Policy.model_validate(
        {"fairgate": 1, "id": "case", "version": "1", "title": case["name"], **case["policy"]}
    )
    table = _table(case)
    scopes = build_scopes(table, intersections=policy.groups.intersections, level=policy.confidence_level)
    smd = {
        gid: {"smd_vs_highest": MetricValue(v, None, None, None, None, None)}
        for gid, v in (case.get("smd") or {}).items()
    }
    result = judge(
        policy,
        scopes,
        has_label=table.has_label,
        seed=0,
        representation=(),
        quality=_quality(case),
        label=case.get("label", "y"),
        score_metrics=smd,
        audit_date=case.get("audit_date", dt.date(2026, 1, 1)),
    )
    got = {f.rule.id: f.status.value for f in result.findings} | {c.id: c.status for c in result.checks}
    assert got == case["expect"]
    assert result.verdict.value == case["verdict"]
    for rule_id, groups in (case.get("expect_groups") or {}).items():
        finding = next((f for f in result.findings if f.rule.id == rule_id), None)
        if finding is not None:
            statuses = {o.comparison.group.id: o.status for _, outs in finding.scopes for o in outs}
        else:
            check = next(c for c in result.checks if c.id == rule_id)
            statuses = {i.subject: i.status for i in check.items}
        for group, status in groups.items():
            assert statuses[group] == status, (rule_id, group, statuses)
    for fragment in case.get("message_contains", []):
        messages = " ".join([f.message for f in result.findings] + [c.message for c in result.checks])
        assert fragment in messages
