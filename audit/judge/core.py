"""Judge every kind of item a policy defines, apply its waivers, and reach the verdict.

The one place statuses are decided: group-metric and multi-metric rules (``rules``),
representativeness (``representation``), data requirements, score rules, drift per window
(``windows``, ``drift``) and a baseline comparison — then waivers, then one list of judged items
that every printer walks, and the verdict over it. The exit code is ``status.gate`` over the same
list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from audit.judge import unknowns
from audit.judge.checks import CheckResult
from audit.judge.finding import Finding
from audit.judge.rules import evaluate
from audit.judge.status import Status, fails_gate, gate, gates, verdict
from audit.judge.waivers import WaiverRecord, apply
from audit.measures.groups import Scope
from audit.measures.representativeness import Representation
from audit.policy.schema import Policy, Waiver
from audit.tables.quality import DataQuality

#: Kinds of judged item, in the order printers list them.
ITEM_KINDS = (
    "rule",
    "unknowns",
    "proxy_rule",
    "representativeness",
    "data_requirement",
    "score_rule",
    "drift",
    "window",
    "comparison",
)


@dataclass(frozen=True)
class JudgedItem:
    """One thing the verdict rests on, as every printer shows it."""

    kind: str  # one of ITEM_KINDS
    id: str
    title: str
    status: Status
    severity: str  # block | warn | info
    message: str
    waivers: tuple[str, ...] = ()

    @property
    def gates(self) -> bool:
        """Whether this item can move the verdict (info-severity items never do)."""
        return gates(self.status, self.severity)

    def fails(self, *, fail_on: str = "fail", strict: bool = False) -> bool:
        return fails_gate(self.status, self.severity, fail_on=fail_on, strict=strict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "severity": self.severity,
            "gates": self.gates,
            "message": self.message,
            "waivers": list(self.waivers),
        }


@dataclass(frozen=True)
class Judgement:
    findings: tuple[Finding, ...]
    representation: tuple[Representation, ...]
    checks: tuple[CheckResult, ...]
    waivers: tuple[WaiverRecord, ...]

    def items(self) -> tuple[JudgedItem, ...]:
        return items_of(self.findings, self.representation, self.checks)

    @property
    def verdict(self) -> Status:
        return verdict_of(self.items())


def items_of(
    findings: Iterable[Finding],
    representation: Iterable[Representation] = (),
    checks: Iterable[CheckResult] = (),
    proxied: Iterable[JudgedItem] = (),
) -> tuple[JudgedItem, ...]:
    """Every judged item in the order printers list them: rules (each followed by its unknown-category
    warning), the rules on a probabilistic feature (``proxied``, audit.judge.proxy), representativeness,
    data requirements and score rules."""
    out = []
    for f in findings:
        out.append(JudgedItem("rule", f.rule.id, f.rule.title, f.status, f.rule.severity, f.message, f.waivers))
        warned = unknowns.warning(f)  # passes on the known rows, fails in the unknowns' worst case
        if warned is not None:
            status, severity, message = warned
            title = f"{f.rule.title} — worst case of the unknown categories"
            out.append(JudgedItem("unknowns", f"{f.rule.id}.unknowns", title, status, severity, message))
    out += proxied
    for r in representation:
        assert r.status is not None
        out.append(
            JudgedItem(
                "representativeness",
                r.check.id,
                r.check.title or f"Representation of {r.check.feature} vs the reference population",
                Status(r.status),
                r.check.severity,
                r.message,
            )
        )
    for c in checks:
        kind = "score_rule" if c.kind == "score_smd" else "data_requirement"
        out.append(JudgedItem(kind, c.id, c.check.title or c.id, c.status, c.severity, c.message, c.waivers))
    return tuple(out)


def verdict_of(items: Iterable[JudgedItem]) -> Status:
    return verdict((i.status, i.severity) for i in items)


def exit_code_of(items: Iterable[JudgedItem], *, fail_on: str = "fail", strict: bool = False) -> int:
    return gate(((i.status, i.severity) for i in items), fail_on=fail_on, strict=strict)


def judge(
    policy: Policy,
    scopes: tuple[Scope, ...],
    *,
    has_label: bool,
    seed: int,
    representation: tuple[Representation, ...],
    quality: DataQuality | None,
    label: str | None,
    score_metrics: dict[str, dict[str, Any]],
    audit_date: dt.date,
    scoring: bool = False,
    judged_elsewhere: Callable[[Waiver], bool] | None = None,
) -> Judgement:
    """The policy's rules, representation checks and data requirements judged, waivers applied.
    ``judged_elsewhere``: see :func:`audit.judge.waivers.apply` (the groups of a probabilistic feature)."""
    from audit.judge import data_requirements, score_smd
    from audit.judge.representation import judge_representation

    findings = tuple(evaluate(policy, scopes, has_label=has_label, seed=seed, scoring=scoring))
    reps = tuple(judge_representation(r, level=policy.confidence_level) for r in representation)
    checks: list[CheckResult] = []
    if policy.data_requirements:
        assert quality is not None
        checks += data_requirements.evaluate(
            policy, quality, scopes, label=label, has_label=has_label, audit_date=audit_date
        )
    checks += score_smd.evaluate(policy, scopes, score_metrics)
    findings, reps, checks_t, records = apply(
        policy,
        findings=findings,
        representation=reps,
        checks=tuple(checks),
        audit_date=audit_date,
        judged_elsewhere=judged_elsewhere,
    )
    return Judgement(findings, reps, checks_t, records)


def comparison_item(comparison: dict[str, Any]) -> JudgedItem:
    """The comparison with a baseline (``run --baseline``, ``compare``) as one judged item: a blocking
    rule that regressed beyond noise fails it; a warning rule's regression warns; a comparison whose
    status is INSUFFICIENT_DATA (a rule, or all, with no group to compare) is INSUFFICIENT_DATA,
    never a pass."""
    from audit.judge.compare import ComparisonStatus, comparison_status

    changes = comparison.get("changes") or []
    regressed = [c for c in changes if c.get("regressed")]
    compared = comparison_status(comparison)
    if comparison.get("blocking_regression"):
        status = Status.FAIL
    elif regressed:
        status = Status.WARN
    elif not changes or compared is ComparisonStatus.INSUFFICIENT_DATA:
        status = Status.INSUFFICIENT_DATA
    else:
        status = Status.PASS
    if regressed:
        worst = max(regressed, key=lambda c: c["worse_by"])
        message = (
            f"{len(regressed)} group comparison(s) regressed against the baseline; most: rule "
            f"{worst['rule_id']!r}, {worst['group']} {worst['baseline']:.3f} → {worst['candidate']:.3f}."
        )
    elif status is Status.INSUFFICIENT_DATA:
        lacking = [r["rule_id"] for r in comparison.get("rules") or [] if r.get("status") == compared.value]
        message = (
            "No group could be compared with the baseline: nothing shows the candidate is no worse."
            if not changes
            else f"No regression against the baseline in {len(changes)} group comparison(s), but rule(s) "
            f"{', '.join(lacking) or '(unnamed)'} had no group judged in both: nothing shows the candidate "
            "is no worse there."
        )
    else:
        message = f"No regression against the baseline in {len(changes)} group comparison(s)."
    return JudgedItem(
        "comparison", "baseline-comparison", "Comparison with the baseline audit", status, "block", message
    )
