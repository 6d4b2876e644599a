"""Baseline vs candidate: is the new model fairer or worse than the one in production?

Both results.json files carry every group's confusion counts, so each rule is re-evaluated on
both under the *same* policy, and the change in each group's disparity gets a bootstrap interval:
the two files' counts are resampled independently (multinomial per group, as in
``audit.measures.bootstrap``) and the comparator is re-picked in every replicate. A group
*regresses* when its disparity moved in the bad direction by more than the policy's
``max_regression`` and the interval of the change excludes zero (so sampling noise alone never
blocks a release).

Two files are compared only when they can be: the same sensitive features and, unless ``--policy``
judges both under one policy, policies that share a rule measuring the same thing — anything else
is refused (``UsageError``, exit 2). A rule none of whose groups was judged with a value in both
files is INSUFFICIENT_DATA, never "no regression"; the comparison's status is REGRESSED,
INSUFFICIENT_DATA or NO_REGRESSION, and zero group comparisons is never NO_REGRESSION.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from audit.errors import InputError, UsageError
from audit.judge.finding import Finding, GroupOutcome
from audit.judge.rules import evaluate
from audit.measures.bootstrap import multinomial_bootstrap, percentile_interval
from audit.measures.disparities import ScopeDisparity
from audit.measures.groups import Group, Scope, population_of
from audit.measures.metrics import METRIC_NAMES, compute, scope_shares, vector_value
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


class ComparisonStatus(StrEnum):
    REGRESSED = "REGRESSED"  # some group got worse beyond the tolerance and noise
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"  # nothing regressed, but a rule (or all) had no group to compare
    NO_REGRESSION = "NO_REGRESSION"


@dataclass(frozen=True)
class RuleComparison:
    """One policy rule's comparison: its group changes and what they add up to."""

    rule: Rule
    changes: tuple[GroupChange, ...]
    status: ComparisonStatus
    reason: str


@dataclass(frozen=True)
class Comparison:
    policy: Policy
    rules: tuple[RuleComparison, ...]

    @property
    def changes(self) -> list[GroupChange]:
        return [c for r in self.rules for c in r.changes]

    @property
    def status(self) -> ComparisonStatus:
        """REGRESSED > INSUFFICIENT_DATA > NO_REGRESSION; no group comparison at all is never NO_REGRESSION."""
        statuses = {r.status for r in self.rules}
        if ComparisonStatus.REGRESSED in statuses:
            return ComparisonStatus.REGRESSED
        if ComparisonStatus.INSUFFICIENT_DATA in statuses or not self.changes:
            return ComparisonStatus.INSUFFICIENT_DATA
        return ComparisonStatus.NO_REGRESSION

    @property
    def reason(self) -> str:
        changes = self.changes
        regressed = [c for c in changes if c.regressed]
        if regressed:
            return f"{len(regressed)} of {len(changes)} group comparison(s) regressed beyond the tolerance and noise."
        if not changes:
            return (
                "No group was judged with a value in both files under any rule: nothing shows the "
                "candidate is no worse."
            )
        lacking = [r.rule.id for r in self.rules if r.status is ComparisonStatus.INSUFFICIENT_DATA]
        if lacking:
            return (
                f"No regression in {len(changes)} group comparison(s), but rule(s) {', '.join(lacking)} had "
                "no group to compare."
            )
        return f"No regression in {len(changes)} group comparison(s)."


def policy_of(document: dict[str, Any], where: str) -> Policy:
    try:
        return Policy.model_validate(document["policy"]["document"])
    except Exception as exc:  # a malformed evidence file, not a program error
        raise InputError(f"{where}: the embedded policy cannot be read ({str(exc).splitlines()[0]})") from exc


def check_comparable(
    baseline: dict[str, Any],
    *,
    features: Sequence[str] | None,
    policy: Policy,
    names: tuple[str, str],
    policy_given: bool = False,
) -> None:
    """Refuse (``UsageError``, exit 2) two audits that cannot be compared at all.

    ``features`` are the candidate's sensitive features, ``policy`` the one both are judged under (the
    candidate's own, or one given with ``--policy`` — then ``policy_given`` and the two files' own
    policies need not agree). ``names`` name the baseline and the candidate in the message.
    """
    where = f"cannot compare {names[0]} with {names[1]}"
    base_features = (baseline.get("audit") or {}).get("sensitive_features")
    if base_features is not None and features is not None and set(base_features) != set(features):
        raise UsageError(
            f"{where}: they audit different sensitive features ({_listed(base_features)} in the "
            f"baseline, {_listed(features)} in the candidate)",
            hint="compare audits of the same sensitive features (--sensitive)",
        )
    if not policy.rules:
        raise UsageError(
            f"{where}: policy {policy.id} {policy.version} has no group rule to compare",
            hint="judge both under a policy with rules (--policy)",
        )
    if policy_given:
        return
    base_policy = policy_of(baseline, names[0])
    base_rules = {r.id: r for r in base_policy.rules}
    common = [r for r in policy.rules if r.id in base_rules]
    if not common:
        raise UsageError(
            f"{where}: their policies have no rule in common ({base_policy.id} {base_policy.version}: "
            f"{_listed([r.id for r in base_policy.rules])}; {policy.id} {policy.version}: "
            f"{_listed([r.id for r in policy.rules])})",
            hint="compare audits made under the same policy, or judge both under one with --policy",
        )
    for rule in common:
        theirs = base_rules[rule.id]
        if _measures(theirs) != _measures(rule):
            raise UsageError(
                f"{where}: rule {rule.id!r} measures {_measures(theirs)} in the baseline's policy but "
                f"{_measures(rule)} in the candidate's",
                hint="compare audits made under the same policy, or judge both under one with --policy",
            )


def _measures(rule: Rule) -> str:
    return f"{'+'.join(rule.metric_names)} ({rule.compare})"


def _listed(names: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(str(n) for n in list(names)[:most])
    return (shown + (f" and {len(names) - most} more" if len(names) > most else "")) or "none"


def scopes_of(document: dict[str, Any], *, level: float, where: str) -> tuple[Scope, ...]:
    """Rebuild the scopes and group metrics from the confusion counts recorded in a results file."""
    if document.get("schema_version") != "1.0":
        raise InputError(
            f"{where}: not a Fairgate results.json (schema_version 1.0)",
            hint="name a results.json that `fairgate run` wrote (in its --out directory)",
        )
    has_label = bool(document["audit"]["has_label"])
    by_scope: dict[str, list[Group]] = {}
    for g in document["groups"]:
        c = g["counts"]
        cells = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]], dtype=np.int64)
        metrics = {m: compute(m, cells, has_label=has_label, level=level) for m in METRIC_NAMES}
        by_scope.setdefault(g["scope"], []).append(Group(g["scope"], dict(g["features"]), cells, metrics))
    scopes = []
    for name, groups in by_scope.items():
        shares = scope_shares([g.counts for g in groups])
        scoped = tuple(dataclasses.replace(g, metrics=g.metrics | s) for g, s in zip(groups, shares, strict=True))
        population = population_of(name, list(scoped), has_label=has_label, level=level) if groups[0].features else None
        scopes.append(Scope(name, tuple(groups[0].features), scoped, population))
    return tuple(scopes)


def compare_documents(
    baseline: dict[str, Any],
    candidate: dict[str, Any],
    *,
    policy: Policy | None = None,
    seed: int = 0,
    names: tuple[str, str] = ("the baseline", "the candidate"),
    policy_is_candidates: bool = False,
) -> Comparison:
    """Compare two results documents under ``policy`` (default: the candidate's own); refuses
    (``UsageError``) two that cannot be compared at all (``check_comparable``). ``policy_is_candidates``:
    the given policy is the candidate's own (``run --baseline``), so the baseline's must still agree with it."""
    given = policy is not None and not policy_is_candidates
    base_where, cand_where = names
    level_policy = policy or policy_of(candidate, cand_where)
    level = level_policy.confidence_level
    base_scopes = scopes_of(baseline, level=level, where=base_where)
    cand_scopes = scopes_of(candidate, level=level, where=cand_where)
    check_comparable(
        baseline,
        features=(candidate.get("audit") or {}).get("sensitive_features"),
        policy=level_policy,
        names=names,
        policy_given=given,
    )
    policy = level_policy
    base = evaluate(policy, base_scopes, has_label=baseline["audit"]["has_label"], seed=seed)
    cand = evaluate(policy, cand_scopes, has_label=candidate["audit"]["has_label"], seed=seed)
    rules = []
    for rule, fb, fc in zip(policy.rules, base, cand, strict=True):
        limit = rule.max_regression if rule.max_regression is not None else policy.max_regression
        rules.append(_rule_comparison(rule, fb, fc, limit=limit, level=level, seed=seed))
    return Comparison(policy, tuple(rules))


def _rule_comparison(rule: Rule, fb: Finding, fc: Finding, *, limit: float, level: float, seed: int) -> RuleComparison:
    changes: list[GroupChange] = []
    in_base: set[tuple[str, str]] = set()
    in_cand: set[tuple[str, str]] = set()
    for part_b, part_c in zip(fb.parts or (fb,), fc.parts or (fc,), strict=True):  # multi-metric: per metric
        changes += _rule_changes(part_b.rule, part_b, part_c, limit=limit, level=level, seed=seed)
        in_base |= set(_judged(part_b))
        in_cand |= set(_judged(part_c))
    regressed = [c for c in changes if c.regressed]
    if regressed:
        worst = max(regressed, key=lambda c: c.worse_by)
        return RuleComparison(
            rule,
            tuple(changes),
            ComparisonStatus.REGRESSED,
            f"{len(regressed)} of {len(changes)} group comparison(s) regressed; most: {worst.group} "
            f"{worst.baseline:.3f} → {worst.candidate:.3f}.",
        )
    if changes:
        return RuleComparison(
            rule,
            tuple(changes),
            ComparisonStatus.NO_REGRESSION,
            f"No group got worse beyond the tolerance ({limit:g}) and noise in {len(changes)} group comparison(s).",
        )
    if in_base & in_cand:
        why = (
            "The only groups judged in both files are the comparator in both: no disparity could be compared, "
            "so nothing shows the candidate is no worse."
        )
    else:
        why = (
            f"No group was judged with a value in both files (baseline: {_listed(_group_ids(in_base))}; "
            f"candidate: {_listed(_group_ids(in_cand))}), so nothing shows the candidate is no worse."
        )
    return RuleComparison(rule, (), ComparisonStatus.INSUFFICIENT_DATA, why)


def _group_ids(keys: set[tuple[str, str]]) -> list[str]:
    return sorted({group for _scope, group in keys})


def _higher_is_better(rule: Rule) -> bool:
    return rule.compare != "absolute_difference" and rule.min_value is not None


def _judged(finding: Finding) -> dict[tuple[str, str], tuple[float, GroupOutcome, ScopeDisparity]]:
    """(scope, group id) → (value, outcome, disparity) for groups the rule judged or compared against."""
    out = {}
    for disparity, outcomes in finding.scopes:
        for o in outcomes:
            if o.status in ("PASS", "FAIL", "COMPARATOR") and o.comparison.value is not None:
                out[(disparity.scope.name, o.comparison.group.id)] = (o.comparison.value, o, disparity)
    return out


def _rule_changes(
    rule: Rule, base: Finding, cand: Finding, *, limit: float, level: float, seed: int
) -> list[GroupChange]:
    b_judged, c_judged = _judged(base), _judged(cand)
    sign = -1.0 if _higher_is_better(rule) else 1.0
    changes = []
    for key in sorted(set(b_judged) & set(c_judged)):
        (b_val, bo, bd), (c_val, co, cd) = b_judged[key], c_judged[key]
        if bo.status == "COMPARATOR" and co.status == "COMPARATOR":
            continue
        change = c_val - b_val
        ci = _change_interval(rule, bd, cd, key[1], level=level, seed=seed)
        worse_by = sign * change
        beyond_noise = ci is not None and not (ci[0] <= 0 <= ci[1])
        changes.append(
            GroupChange(
                rule.id,
                rule.compare,
                key[0],
                key[1],
                b_val,
                c_val,
                change,
                ci,
                worse_by,
                worse_by > limit and beyond_noise,
            )
        )
    return changes


def _disparity_samples(rule: Rule, disparity: ScopeDisparity, group_id: str, seed: int) -> np.ndarray:
    """Bootstrap replicates of one group's ratio/difference, comparator re-picked each time."""
    judged = [c.group for c in disparity.comparisons if c.group is disparity.comparator or c.judged]
    if rule.against == "overall":  # the population is every known group, judged or not: resample them all
        known = [g for g in disparity.scope.groups if not g.has_unknown]
        judged = [*known, *(g for g in judged if g.has_unknown)]
    index = next(i for i, g in enumerate(judged) if g.id == group_id)
    draws = multinomial_bootstrap(np.stack([g.counts for g in judged]), replicates=REPLICATES, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = vector_value(disparity.metric, draws)  # (B, groups)
        if rule.against == "overall":
            known_draws = draws[:, [i for i, g in enumerate(judged) if not g.has_unknown]].sum(axis=1)
            ref = vector_value(disparity.metric, known_draws)
        elif rule.against == "reference":
            assert disparity.comparator is not None  # a group is only judged against a comparator
            ref = values[:, judged.index(disparity.comparator)]
        else:
            ref = values.max(axis=1) if rule.against == "max" else values.min(axis=1)
        mine = values[:, index]
        if rule.compare == "odds_ratio":
            samples: np.ndarray = (mine / (1 - mine)) / (ref / (1 - ref))
        else:
            samples = mine / ref if rule.compare == "ratio" else mine - ref
        return np.abs(samples) if rule.compare == "absolute_difference" else samples


def _change_interval(
    rule: Rule, base_d: ScopeDisparity, cand_d: ScopeDisparity, group_id: str, *, level: float, seed: int
) -> tuple[float, float] | None:
    b = _disparity_samples(rule, base_d, group_id, seed)
    c = _disparity_samples(rule, cand_d, group_id, seed + 1)
    return percentile_interval(c - b, level=level)


def comparison_document(comparison: Comparison, baseline: dict[str, Any], candidate: dict[str, Any]) -> dict[str, Any]:
    """The comparison as plain data (for --json, results.json and the report)."""
    policy, changes = comparison.policy, comparison.changes
    blocking = {r.id for r in policy.rules if r.severity == "block"}
    regressed = [c for c in changes if c.regressed]
    return {
        "baseline": {"sha256": _dataset_hash(baseline), "verdict": baseline["verdict"]},
        "candidate": {"sha256": _dataset_hash(candidate), "verdict": candidate["verdict"]},
        "policy": {"id": policy.id, "version": policy.version, "max_regression": policy.max_regression},
        "method": f"bootstrap-percentile of the change (B={REPLICATES}, independent samples)",
        "status": comparison.status.value,
        "reason": comparison.reason,
        "regressed": bool(regressed),
        "blocking_regression": any(c.rule_id in blocking for c in regressed),
        "rules": [
            {
                "rule_id": r.rule.id,
                "severity": r.rule.severity,
                "status": r.status.value,
                "comparisons": len(r.changes),
                "reason": r.reason,
            }
            for r in comparison.rules
        ],
        "changes": [
            {
                "rule_id": c.rule_id,
                "compare": c.compare,
                "scope": c.scope,
                "group": c.group,
                "baseline": c.baseline,
                "candidate": c.candidate,
                "change": c.change,
                "ci": list(c.ci) if c.ci else None,
                "worse_by": c.worse_by,
                "regressed": c.regressed,
            }
            for c in changes
        ],
    }


def comparison_status(document: dict[str, Any]) -> ComparisonStatus:
    """A comparison document's status; older documents carry only ``regressed``, so it is derived
    from that and the changes (none at all is INSUFFICIENT_DATA, never NO_REGRESSION)."""
    if document.get("status"):
        return ComparisonStatus(document["status"])
    if document.get("regressed"):
        return ComparisonStatus.REGRESSED
    return ComparisonStatus.NO_REGRESSION if document.get("changes") else ComparisonStatus.INSUFFICIENT_DATA


def _dataset_hash(document: dict[str, Any]) -> str | None:
    return next((i["sha256"] for i in document["provenance"]["inputs"] if i["role"] == "dataset"), None)


#: Public name for the per-group change of one rule between two evaluations (drift checks use it too).
rule_changes = _rule_changes
