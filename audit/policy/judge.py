"""Judge every rule kind of a policy, apply its waivers, and reach the verdict.

The one place the rule kinds meet: group-metric and multi-metric rules (``audit.findings``),
representativeness, data requirements and score rules — then waivers, then the verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from audit.findings import Finding, Status, evaluate, verdict
from audit.measures.groups import Scope
from audit.policy.schema import Policy
from audit.policy.waivers import WaiverRecord, apply
from audit.tables.quality import DataQuality


@dataclass(frozen=True)
class Judgement:
    findings: tuple[Finding, ...]
    representation: tuple[Any, ...]
    checks: tuple[Any, ...]  # audit.policy.rules.common.CheckResult
    waivers: tuple[WaiverRecord, ...]
    verdict: Status


def gate_statuses(findings: Any, representation: Any, checks: Any) -> list[Status]:
    """Statuses that can move the gate: info-severity rules never do."""
    return ([f.status for f in findings if f.rule.severity != "info"]
            + [Status(r.status) for r in representation if r.check.severity != "info"]
            + [Status(c.status) for c in checks if c.severity != "info"])


def judge(policy: Policy, scopes: tuple[Scope, ...], *, has_label: bool, seed: int, representation: tuple,
          quality: DataQuality | None, label: str | None, score_metrics: dict[str, dict[str, Any]],
          audit_date: dt.date) -> Judgement:
    from audit.policy.rules import data_requirements, score_smd

    findings = tuple(evaluate(policy, scopes, has_label=has_label, seed=seed))
    checks: list[Any] = []
    if policy.data_requirements:
        assert quality is not None
        checks += data_requirements.evaluate(policy, quality, scopes, label=label, has_label=has_label,
                                             audit_date=audit_date)
    checks += score_smd.evaluate(policy, scopes, score_metrics)
    findings, representation, checks_t, records = apply(policy, findings=findings, representation=representation,
                                                        checks=tuple(checks), audit_date=audit_date)
    others = [s.value for s in gate_statuses((), representation, checks_t)]
    gated = [f for f in findings if f.rule.severity != "info"]
    return Judgement(findings, representation, checks_t, records, verdict(gated, tuple(others)))
