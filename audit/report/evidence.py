"""Build the results.json document from an audit's result (an ``AuditOutcome``: ``AuditResult`` is one).

Everything a reviewer needs to check a claim is here: every group's confusion counts (so any
metric can be recomputed by hand), every metric with its interval and the counts it rests on,
every comparison a rule made, the findings, and the identity of every input.
"""

from __future__ import annotations

from typing import Any

from audit.judge.finding import Finding, GroupOutcome, Sensitivity
from audit.judge.rules import DECISION_MODES, SMALL_GROUPS
from audit.judge.status import Outcome, Status
from audit.judge.unknowns import MODE_WORDS, worst_and_best
from audit.measures.disparities import ScopeDisparity
from audit.measures.groups import Group
from audit.measures.unknowns import PROPORTIONAL
from audit.policy.schema import Rule
from audit.report.base import AuditOutcome
from audit.report.crosswalk import crosswalk_for
from audit.report.results import SCHEMA_VERSION


def result_document(result: AuditOutcome) -> dict[str, Any]:
    document = _document(result)
    crosswalk = crosswalk_for(document)  # what the frameworks the policy serves ask, and where the report answers
    return document | ({"crosswalk": crosswalk} if crosswalk is not None else {})


def _document(result: AuditOutcome) -> dict[str, Any]:
    pol = result.policy
    items = result.items
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fairgate", "version": result.versions.get("fairgate", "unknown")},
        "verdict": result.verdict.value,
        "exit_code": result.exit_code,
        "summary": _summary([i.status for i in items]),
        "policy": {
            "id": pol.policy.id,
            "version": pol.policy.version,
            "title": pol.policy.title,
            "source": pol.source,
            "sha256": pol.sha256,
            "document": pol.policy.model_dump(mode="json", exclude={"proxy"} if pol.policy.proxy is None else None),
        }
        | _extends(pol),
        "audit": {
            "rows": result.rows,
            "task": result.task,
            "has_label": result.table.has_label if result.table is not None else True,
            "label": result.roles.label,
            "positive_label": result.roles.positive_label,
            "sensitive_features": list(result.roles.sensitive),
            "predictions": _prediction_source(result),
            "confidence_level": pol.policy.confidence_level,
            "min_count": pol.policy.groups.min_count,
            "seed": result.seed,
            "unknown_counts": _unknown_counts(result),
            "excluded_rows": dict(result.excluded_rows),
            **({"excluded_unknown_counts": dict(result.excluded_unknown)} if result.excluded_unknown else {}),
            **({"where": [dict(r) for r in result.row_filter]} if result.row_filter else {}),
            "gate": {"fail_on": result.fail_on, "strict": result.strict},
        }
        | _audit_date(result),
        "groups": [_group(g, result.score_metrics.get(g.id)) for scope in result.scopes for g in scope.groups],
        **({"score_accuracy": result.score_accuracy} if result.score_accuracy is not None else {}),
        "disparities": [
            _disparity(f.rule.id, d, outs) | _bounds(f.rule, d) for f in result.findings for d, outs in f.scopes
        ],
        "findings": [_finding(f) for f in result.findings],
        # every judged item the verdict rests on, in the order printers list them (summary counts these)
        "items": [i.to_dict() for i in items],
        "representativeness": [_representation(r) for r in result.representation],
        **_policy_sections(result),
        **({"monitoring": result.monitoring.to_dict()} if result.monitoring is not None else {}),
        **({"comparison": result.comparison} if result.comparison is not None else {}),
        **({"segments": result.segments.to_dict()} if result.segments is not None else {}),
        **_proxy(result),
        **({"context": result.context.recorded()} if result.context is not None else {}),
        # every input that shaped the audit, as given (``verify --recompute`` replays it)
        **({"request": result.request.to_dict()} if result.request is not None else {}),
        "provenance": {
            "inputs": [i.to_dict() for i in result.inputs],
            "versions": dict(sorted(result.versions.items())),
            "command": list(result.command),
        },
        # the audit ledger's head before this audit was recorded (the CLI adds it to the document itself)
        **({"ledger": dict(ledger)} if (ledger := getattr(result, "ledger", None)) else {}),
    }


def _proxy(result: AuditOutcome) -> dict[str, Any]:
    outcome = getattr(result, "proxy", None)
    if outcome is None:
        return {}
    from audit.report.proxy import proxy_section

    return {"proxy": proxy_section(outcome, level=result.policy.policy.confidence_level)}


def _summary(statuses: list[Status]) -> dict[str, int]:
    """How many judged items have each status; ``rules`` is their total (the counts sum to it).
    WAIVED and INFO appear only when present (older evidence has neither)."""
    main = {
        s.value.lower(): statuses.count(s) for s in (Status.PASS, Status.WARN, Status.FAIL, Status.INSUFFICIENT_DATA)
    }
    extra = {s.value.lower(): statuses.count(s) for s in (Status.WAIVED, Status.INFO) if s in statuses}
    return main | {"rules": len(statuses)} | extra


def _extends(pol: Any) -> dict[str, Any]:
    """The chain of extended policy files (nearest first), each with its sha256: provenance."""
    if not pol.extends:
        return {}
    return {"extends": [{"source": e.source, "path": e.path, "sha256": e.sha256} for e in pol.extends]}


def _audit_date(result: AuditOutcome) -> dict[str, Any]:
    return {"audit_date": result.audit_date} if result.audit_date else {}


def _policy_sections(result: AuditOutcome) -> dict[str, Any]:
    """Data requirements, score rules and waivers: present only when the policy has them."""
    from audit.judge.kinds import KINDS, SEVERITIES

    out: dict[str, Any] = {}
    if result.checks:
        out["checks"] = [_check(c) for c in result.checks]
    if result.waivers:
        out["waivers"] = [w.to_dict() for w in result.waivers]
    if result.quality is not None:
        q = result.quality
        out["data_quality"] = {
            "rows": q.rows,
            "missing": dict(q.missing),
            "duplicate_rows": q.duplicate_rows,
            "timestamp": None
            if q.timestamp is None
            else {
                "column": q.timestamp.column,
                "oldest": q.timestamp.oldest.isoformat() if q.timestamp.oldest else None,
                "newest": q.timestamp.newest.isoformat() if q.timestamp.newest else None,
                "missing": q.timestamp.missing,
                "unparseable": q.timestamp.unparseable,
            },
        }
    kinds = ["multi_metric" if f.rule.metrics else "group_metric" for f in result.findings]
    kinds += ["representativeness"] * bool(result.representation) + [c.kind for c in result.checks]
    severities = {f.rule.severity for f in result.findings} | {r.check.severity for r in result.representation}
    severities |= {c.severity for c in result.checks}
    if set(kinds) - {"group_metric", "representativeness"} or "info" in severities or result.waivers:
        out["rule_kinds"] = {k: KINDS[k] for k in dict.fromkeys(kinds)}
        out["severities"] = {k: v for k, v in SEVERITIES.items() if k in severities}
    return out


def _check(c: Any) -> dict[str, Any]:
    check = c.check
    spec = check.model_dump(mode="json", exclude={"id", "title", "severity", "explanation", "citation"})
    from audit.judge.kinds import CHECK_WORDS

    kind_name = spec.get("check") or c.kind
    return {
        "check_id": check.id,
        "kind": c.kind,
        "title": check.title or CHECK_WORDS.get(kind_name, kind_name).capitalize(),
        "status": c.status.value,
        "severity": check.severity,
        "measures": CHECK_WORDS.get(kind_name, "standardized mean difference of scores vs the highest-mean group"),
        "spec": spec,
        "items": [
            {
                "subject": i.subject,
                "value": i.value,
                "limit": i.limit,
                "status": i.status.value,
                "detail": i.detail,
                "features": dict(i.features),
                "ci": list(i.ci) if i.ci else None,
            }
            for i in c.items
        ],
        "message": c.message,
        "explanation": check.explanation,
        "citation": check.citation,
    }


def _representation(r: Any) -> dict[str, Any]:
    check = r.check
    return {
        "check_id": check.id,
        "title": check.title or f"Representation of {check.feature} vs the reference population",
        "feature": check.feature,
        "status": Status(r.status).value,
        "severity": check.severity,
        "reference": {
            "source": check.reference.source,
            "year": check.reference.year,
            "csv": check.reference.csv,
            "dimension": check.reference.dimension,
        },
        "min_representation_ratio": check.min_representation_ratio,
        "max_share_gap": check.max_share_gap,
        "n": r.n,
        "unknown": r.unknown,
        "mapping": {k: [v] if isinstance(v, str) else list(v) for k, v in sorted(check.mapping.items())},
        "unmapped": dict(r.unmapped),
        "unmatched_reference": list(r.unmatched_reference),
        "chi2": r.chi2,
        "p_value": r.p_value,
        "tvd": r.tvd,
        "groups": [
            {
                "group": g.group,
                "data_values": list(g.data_values),
                "reference_groups": list(g.reference_groups),
                "count": g.count,
                "observed_share": g.observed,
                "expected_share": g.expected,
                "representation_ratio": g.ratio,
                "ci": list(g.ratio_ci),
                "ci_method": "wilson (reference treated as known)",
                "gap": g.gap,
                "status": Outcome(g.status).value,
            }
            for g in r.groups
        ],
        "message": r.message,
        "explanation": check.explanation,
        "citation": check.citation,
    }


def _unknown_counts(result: AuditOutcome) -> dict[str, int]:
    """Rows whose value of each sensitive feature is missing (reported, and not judged by default)."""
    out = {}
    for scope in result.scopes:
        if len(scope.features) == 1:
            out[scope.features[0]] = sum(g.n for g in scope.groups if g.has_unknown)
    return out


def _prediction_source(result: AuditOutcome) -> dict[str, Any]:
    roles = result.roles
    if roles.source == "model":
        return {"source": "model", **(result.model or {})}
    if roles.source == "prediction_column":
        return {"source": "prediction_column", "column": roles.prediction}
    return {
        "source": "score_threshold",
        "column": roles.score,
        "threshold": result.score_threshold,
        "rule": "score > sample median" if roles.threshold == "median" else "score >= threshold",
    }


def _group(group: Group, scores: dict[str, Any] | None) -> dict[str, Any]:
    tn, fp, fn, tp = (int(x) for x in group.counts.reshape(4))
    extra = {} if scores is None else {"score_metrics": {name: mv.to_dict() for name, mv in scores.items()}}
    if group.size is None:  # classification: the confusion counts every metric is computed from
        extra["counts"] = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
    return extra | {
        "id": group.id,
        "scope": group.scope,
        "label": group.label,
        "features": dict(group.features),
        "n": group.n,
        "metrics": {name: mv.to_dict() for name, mv in group.metrics.items()},
    }


def _disparity(rule_id: str, d: ScopeDisparity, outcomes: tuple[GroupOutcome, ...]) -> dict[str, Any]:
    return {
        "rule_id": rule_id,
        "metric": d.metric,
        "scope": d.scope.name,
        "compare": d.compare,
        "against": d.against,
        "comparator": d.comparator.id if d.comparator else None,
        "comparator_value": d.comparator.metrics[d.metric].value if d.comparator else None,
        "note": d.comparator_note,
        "groups": [
            {
                "group": o.comparison.group.id,
                "metric_value": o.comparison.group.metrics[d.metric].value,
                "value": o.comparison.value,
                "ci": list(o.comparison.ci) if o.comparison.ci else None,
                "ci_method": o.comparison.ci_method,
                "status": o.status.value,
                "reason": o.comparison.reason if o.status in _EXPLAINED else None,
                "small": o.comparison.small,
                "p_value": o.comparison.p_value,
                "p_adjusted": o.comparison.p_adjusted,
                "test_method": o.comparison.test_method,
                "decision_note": o.note,
            }
            | _shortfall(o)
            for o in outcomes
        ],
        "extreme": None
        if d.extreme is None
        else {
            "value": d.extreme.value,
            "ci": list(d.extreme.ci) if d.extreme.ci else None,
            "ci_method": d.extreme.ci_method,
            "groups": list(d.extreme.groups),
        },
    }


def _shortfall(o: GroupOutcome) -> dict[str, Any]:
    """The group's shortfall (selection-rate ratio rules, below the limit), when there is one."""
    if o.shortfall is None:
        return {}
    return {"shortfall": {"to_limit": o.shortfall.to_limit, "to_parity": o.shortfall.to_parity}}


#: Outcomes whose reason (why not judged, or how a small group was decided) the evidence records.
_EXPLAINED = (Outcome.NOT_JUDGED, Outcome.INCONCLUSIVE, Outcome.NOT_SIGNIFICANT, Outcome.FAIL, Outcome.PASS)


def _finding(f: Finding) -> dict[str, Any]:
    rule = f.rule
    return (
        {
            "rule_id": rule.id,
            "title": rule.title,
            "status": f.status.value,
            "severity": rule.severity,
            "metric": rule.metric or ", ".join(rule.metric_names),
            "compare": rule.compare,
            "against": rule.against,
            "decide_on": rule.decide_on,
            "decision_rule": DECISION_MODES[rule.decide_on],
            "small_groups": SMALL_GROUPS,
            "min_value": rule.min_value,
            "max_value": rule.max_value,
            "observed": f.observed,
            "worst_group": f.worst.comparison.group.id if f.worst else None,
            "failing_groups": [o.comparison.group.id for o in f.failing],
            "groups_not_judged": f.not_judged,
            "message": f.message,
            "explanation": rule.explanation,
            "citation": rule.citation,
        }
        | ({"metrics": list(rule.metrics)} if rule.metrics else {})
        | ({"waivers": list(f.waivers)} if f.waivers else {})
        | ({"unknowns": _sensitivity(f.unknowns)} if f.unknowns is not None else {})
    )


def _bounds(rule: Rule, d: ScopeDisparity) -> dict[str, Any]:
    """The scope's rows of unknown category and each judged group's range over their assignments
    (only when the scope has such rows: evidence without unknowns is unchanged)."""
    b = d.unknowns
    if b is None:
        return {}
    groups = []
    for g in b.groups:
        worst, best = worst_and_best(rule, g)
        groups.append(
            {
                "group": g.group,
                "low": float(g.low),
                "high": float(g.high),
                "low_attained": g.low_attained,
                "proportional": float(g.proportional),
                "worst": float(worst),
                "best": float(best),
            }
        )
    return {
        "unknowns": {
            "rows": b.rows,
            "favourable": b.favourable,
            "base": b.base,
            "reason": b.reason,
            "proportional_means": PROPORTIONAL,
            "groups": groups,
        }
    }


def _sensitivity(s: Sensitivity) -> dict[str, Any]:
    def figure(f: tuple[float, str, str] | None) -> dict[str, Any] | None:
        return None if f is None else {"value": f[0], "group": f[1], "scope": f[2]}

    return {
        "mode": s.mode,
        "judged_on": MODE_WORDS[s.mode],
        "rows": s.rows,
        "worst": figure(s.worst),
        "best": figure(s.best),
        "proportional": figure(s.proportional),
        "worst_fails": s.worst_fails,
        "unbounded": [{"scope": scope, "reason": why} for scope, why in s.unbounded],
    }
