"""Baseline vs candidate: is the new model fairer or worse than the one in production?

Both results.json files carry every group's confusion counts, so each rule is re-evaluated on
both under the *same* policy, and the change in each group's disparity gets a bootstrap interval:
the two files' counts are resampled independently (multinomial per group, as in
``audit.measures.bootstrap``) and the comparator is re-picked in every replicate. A group
*regresses* when its disparity moved in the bad direction by more than the policy's
``max_regression`` and the interval of the change excludes zero (so sampling noise alone never
blocks a release).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.errors import InputError
from audit.judge.rules import Finding, evaluate
from audit.measures.bootstrap import multinomial_bootstrap, percentile_interval
from audit.measures.groups import Group, Scope
from audit.measures.metrics import METRIC_NAMES, compute, vector_value
from audit.policy.schema import Policy, Rule

REPLICATES = 1000


@dataclass(frozen=True)
class GroupChange:
    rule_id: str
    compare: str
    scope: str
    group: str
    baseline: float
    candidate: float
    change: float  # candidate − baseline, in the rule's units (ratio or difference)
    ci: tuple[float, float] | None
    worse_by: float  # > 0 when the candidate is worse
    regressed: bool


def policy_of(document: dict[str, Any], where: str) -> Policy:
    try:
        return Policy.model_validate(document["policy"]["document"])
    except Exception as exc:  # a malformed evidence file, not a program error
        raise InputError(f"{where}: the embedded policy cannot be read ({str(exc).splitlines()[0]})") from exc


def scopes_of(document: dict[str, Any], *, level: float, where: str) -> tuple[Scope, ...]:
    """Rebuild the scopes and group metrics from the confusion counts recorded in a results file."""
    if document.get("schema_version") != "1.0":
        raise InputError(f"{where}: not a Fairgate results.json (schema_version 1.0)",
                         hint="name a results.json that `fairgate run` wrote (in its --out directory)")
    has_label = bool(document["audit"]["has_label"])
    by_scope: dict[str, list[Group]] = {}
    for g in document["groups"]:
        c = g["counts"]
        cells = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], dtype=np.int64)
        metrics = {m: compute(m, cells, has_label=has_label, level=level) for m in METRIC_NAMES}
        by_scope.setdefault(g["scope"], []).append(Group(g["scope"], dict(g["features"]), cells, metrics))
    return tuple(Scope(name, tuple(groups[0].features), tuple(groups)) for name, groups in by_scope.items())


def compare_documents(
    baseline: dict[str, Any], candidate: dict[str, Any], *, policy: Policy | None = None, seed: int = 0
) -> tuple[list[GroupChange], Policy]:
    policy = policy or policy_of(candidate, "candidate")
    level = policy.confidence_level
    base_scopes = scopes_of(baseline, level=level, where="baseline")
    cand_scopes = scopes_of(candidate, level=level, where="candidate")
    base = evaluate(policy, base_scopes, has_label=baseline["audit"]["has_label"], seed=seed)
    cand = evaluate(policy, cand_scopes, has_label=candidate["audit"]["has_label"], seed=seed)
    changes: list[GroupChange] = []
    for rule, fb, fc in zip(policy.rules, base, cand, strict=True):
        limit = rule.max_regression if rule.max_regression is not None else policy.max_regression
        for part_b, part_c in zip(fb.parts or (fb,), fc.parts or (fc,), strict=True):  # multi-metric: per metric
            changes += _rule_changes(part_b.rule, part_b, part_c, limit=limit, level=level, seed=seed)
    return changes, policy


def _higher_is_better(rule: Rule) -> bool:
    return rule.compare != "absolute_difference" and rule.min_value is not None


def _judged(finding: Finding) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(scope, group id) → (outcome, disparity) for groups the rule judged or compared against."""
    out = {}
    for disparity, outcomes in finding.scopes:
        for o in outcomes:
            if o.status in ("PASS", "FAIL", "COMPARATOR") and o.comparison.value is not None:
                out[(disparity.scope.name, o.comparison.group.id)] = (o, disparity)
    return out


def _rule_changes(rule: Rule, base: Finding, cand: Finding, *, limit: float, level: float,
                  seed: int) -> list[GroupChange]:
    b_judged, c_judged = _judged(base), _judged(cand)
    sign = -1.0 if _higher_is_better(rule) else 1.0
    changes = []
    for key in sorted(set(b_judged) & set(c_judged)):
        (bo, bd), (co, cd) = b_judged[key], c_judged[key]
        if bo.status == "COMPARATOR" and co.status == "COMPARATOR":
            continue
        b_val, c_val = bo.comparison.value, co.comparison.value
        change = c_val - b_val
        ci = _change_interval(rule, bd, cd, key[1], level=level, seed=seed)
        worse_by = sign * change
        beyond_noise = ci is not None and not (ci[0] <= 0 <= ci[1])
        changes.append(GroupChange(rule.id, rule.compare, key[0], key[1], b_val, c_val, change, ci, worse_by,
                                   worse_by > limit and beyond_noise))
    return changes


def _disparity_samples(rule: Rule, disparity, group_id: str, seed: int) -> np.ndarray:
    """Bootstrap replicates of one group's ratio/difference, comparator re-picked each time."""
    judged = [c.group for c in disparity.comparisons if c.group is disparity.comparator or c.judged]
    index = next(i for i, g in enumerate(judged) if g.id == group_id)
    draws = multinomial_bootstrap(np.stack([g.counts for g in judged]), replicates=REPLICATES, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = vector_value(rule.metric, draws)  # (B, groups)
        if rule.against == "reference":
            ref = values[:, judged.index(disparity.comparator)]
        else:
            ref = values.max(axis=1) if rule.against == "max" else values.min(axis=1)
        mine = values[:, index]
        if rule.compare == "ratio":
            return mine / ref
        diff = mine - ref
        return np.abs(diff) if rule.compare == "absolute_difference" else diff


def _change_interval(rule: Rule, base_d, cand_d, group_id: str, *, level: float,
                     seed: int) -> tuple[float, float] | None:
    b = _disparity_samples(rule, base_d, group_id, seed)
    c = _disparity_samples(rule, cand_d, group_id, seed + 1)
    return percentile_interval(c - b, level=level)


def comparison_document(changes: list[GroupChange], policy: Policy, baseline: dict, candidate: dict) -> dict:
    """The comparison as plain data (for --json, results.json and the report)."""
    blocking = {r.id for r in policy.rules if r.severity == "block"}
    regressed = [c for c in changes if c.regressed]
    return {
        "baseline": {"sha256": _dataset_hash(baseline), "verdict": baseline["verdict"]},
        "candidate": {"sha256": _dataset_hash(candidate), "verdict": candidate["verdict"]},
        "policy": {"id": policy.id, "version": policy.version, "max_regression": policy.max_regression},
        "method": f"bootstrap-percentile of the change (B={REPLICATES}, independent samples)",
        "regressed": bool(regressed),
        "blocking_regression": any(c.rule_id in blocking for c in regressed),
        "changes": [
            {"rule_id": c.rule_id, "compare": c.compare, "scope": c.scope, "group": c.group, "baseline": c.baseline,
             "candidate": c.candidate, "change": c.change, "ci": list(c.ci) if c.ci else None,
             "worse_by": c.worse_by, "regressed": c.regressed}
            for c in changes
        ],
    }


def _dataset_hash(document: dict) -> str | None:
    return next((i["sha256"] for i in document["provenance"]["inputs"] if i["role"] == "dataset"), None)


#: Public name for the per-group change of one rule between two evaluations (drift checks use it too).
rule_changes = _rule_changes
