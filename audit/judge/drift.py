"""Drift between time windows: a group's rate, a rule's disparity, or the population's shares.

Each check compares one window with its baseline (the first window, the previous one, or the
launch audit's evidence) and says whether the change is larger than the policy tolerates *and*,
under ``practical_significance``, larger than sampling noise:

- metric: per group, the difference of two proportions with Newcombe's interval and a
  two-proportion (or Fisher) test, Benjamini–Hochberg-adjusted across the groups of the check;
- disparity: per group, the change of the rule's ratio/difference with the bootstrap interval
  that ``fairgate compare`` uses (the comparator re-picked in every replicate);
- shares: the total variation distance between the two windows' group shares, with the χ² test
  of homogeneity on the 2 × k table of counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from audit.judge.status import Status, failing_status
from audit.measures.groups import Group, Scope
from audit.measures.intervals import newcombe_difference
from audit.measures.metrics import label_of
from audit.measures.significance import benjamini_hochberg, compare_proportions, p_text
from audit.policy.monitoring import DriftRule


@dataclass(frozen=True)
class DriftGroup:
    scope: str
    group: str  # id, e.g. "race=Black"
    label: str
    baseline: float
    current: float
    change: float
    ci: tuple[float, float] | None
    p_value: float | None
    p_adjusted: float | None
    drifted: bool
    worse_by: float | None = None  # disparity checks: > 0 when the group's disparity got worse

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "group": self.group,
            "label": self.label,
            "baseline": self.baseline,
            "current": self.current,
            "change": self.change,
            "ci": list(self.ci) if self.ci else None,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "drifted": self.drifted,
            "worse_by": self.worse_by,
        }


@dataclass(frozen=True)
class DriftCheck:
    rule: DriftRule
    window: str
    baseline: str | None  # the baseline window's label ("launch" for the launch audit)
    status: Status
    groups: tuple[DriftGroup, ...]
    message: str
    tvd: float | None = None
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule.id,
            "kind": self.rule.kind,
            "window": self.window,
            "baseline": self.baseline,
            "status": self.status.value,
            "message": self.message,
            "tvd": self.tvd,
            "p_value": self.p_value,
            "max_change": self.rule.max_change,
            "severity": self.rule.severity,
            "groups": [g.to_dict() for g in self.groups],
        }


@dataclass(frozen=True)
class Side:
    """One window (or the launch audit) as drift sees it."""

    label: str
    scopes: tuple[Scope, ...]
    findings: tuple[Any, ...]  # audit.judge.rules.Finding, aligned with policy.rules


def check(rule: DriftRule, current: Side, baseline: Side | None, *, policy: Any, seed: int) -> DriftCheck:
    if baseline is None:
        return DriftCheck(
            rule,
            current.label,
            None,
            Status.INSUFFICIENT_DATA,
            (),
            "No baseline to compare with (this is the first window).",
        )
    if rule.kind == "metric":
        return _metric(rule, current, baseline, policy=policy)
    if rule.kind == "shares":
        return _shares(rule, current, baseline, policy=policy)
    return _disparity(rule, current, baseline, policy=policy, seed=seed)


def _status(rule: DriftRule, judged: bool, drifted: bool) -> Status:
    if drifted:
        return failing_status(rule.severity)  # an info-severity drift check stays INFO
    return Status.PASS if judged else Status.INSUFFICIENT_DATA


def _eligible(group: Group, policy: Any) -> bool:
    return bool(group.features) and (policy.groups.include_unknown or not group.has_unknown)


def _covered(rule: DriftRule, scopes: tuple[Scope, ...]) -> list[Scope]:
    return [s for s in scopes if s.features and (rule.feature is None or s.features == (rule.feature,))]


def _metric(rule: DriftRule, current: Side, baseline: Side, *, policy: Any) -> DriftCheck:
    assert rule.metric is not None
    level = policy.confidence_level
    min_count = policy.groups.min_count
    base_groups = {(s.name, g.id): g for s in baseline.scopes for g in s.groups}
    rows: list[tuple[str, Group, Any, Any]] = []
    for scope in _covered(rule, current.scopes):
        for group in scope.groups:
            before = base_groups.get((scope.name, group.id))
            if before is None or not _eligible(group, policy):
                continue
            now, then = group.metrics[rule.metric], before.metrics[rule.metric]
            if now.value is None or then.value is None or min(now.denominator or 0, then.denominator or 0) < min_count:
                continue
            rows.append((scope.name, group, now, then))
    tests = [compare_proportions(n.numerator, n.denominator, t.numerator, t.denominator) for _, _, n, t in rows]
    adjusted = benjamini_hochberg([t.p_value for t in tests])
    out = []
    for (scope_name, group, now, then), test, p_adj in zip(rows, tests, adjusted, strict=True):
        change = now.value - then.value
        ci = newcombe_difference(now.numerator, now.denominator, then.numerator, then.denominator, level=level)
        big = abs(change) > rule.max_change
        drifted = big and (rule.decide_on == "point" or p_adj < 1 - level)
        out.append(
            DriftGroup(
                scope_name, group.id, group.label, then.value, now.value, change, ci, test.p_value, p_adj, drifted
            )
        )
    status = _status(rule, bool(out), any(g.drifted for g in out))
    return DriftCheck(
        rule,
        current.label,
        baseline.label,
        status,
        tuple(out),
        _metric_message(rule, out, current.label, baseline.label, level, status),
    )


def _metric_message(
    rule: DriftRule, groups: list[DriftGroup], now: str, then: str, level: float, status: Status
) -> str:
    name = label_of(rule.metric or "")
    if not groups:
        return f"No group had enough people in both {then} and {now} to compare its {name}."
    drifted = [g for g in groups if g.drifted]
    worst = max(drifted or groups, key=lambda g: abs(g.change))
    ci = f"{level:.0%} CI {worst.ci[0] * 100:+.1f} to {worst.ci[1] * 100:+.1f} points" if worst.ci else "no interval"
    verb = "rose" if worst.change > 0 else "fell"
    p = f"; {p_text(worst.p_adjusted)}, BH-adjusted" if worst.p_adjusted is not None else ""
    head = (
        f"the {name} of {worst.label} ({worst.scope}) {verb} from {worst.baseline:.1%} in {then} to "
        f"{worst.current:.1%} in {now} ({ci}{p})"
    )
    tolerance = f"{rule.max_change * 100:.1f} points"
    if drifted:
        more = len(drifted) - 1
        tail = f" {more} other group(s) drifted too." if more else ""
        return f"{head[0].upper()}{head[1:]}: more than the {tolerance} the policy tolerates.{tail}"
    return f"No group's {name} changed by more than {tolerance} beyond noise; the largest change: {head}."


def _shares(rule: DriftRule, current: Side, baseline: Side, *, policy: Any) -> DriftCheck:
    level = policy.confidence_level
    scope_now = next((s for s in current.scopes if s.features == (rule.feature,)), None)
    scope_then = next((s for s in baseline.scopes if s.features == (rule.feature,)), None)
    if scope_now is None or scope_then is None:
        return DriftCheck(
            rule,
            current.label,
            baseline.label,
            Status.INSUFFICIENT_DATA,
            (),
            f"{rule.feature!r} is not a sensitive feature of this audit.",
        )
    now = {g.id: g for g in scope_now.groups if _eligible(g, policy)}
    then = {g.id: g for g in scope_then.groups if _eligible(g, policy)}
    ids = sorted(set(now) | set(then))
    counts = np.array(
        [[now[i].n if i in now else 0 for i in ids], [then[i].n if i in then else 0 for i in ids]], dtype=np.int64
    )
    totals = counts.sum(axis=1)
    if len(ids) < 2 or (totals == 0).any():
        return DriftCheck(
            rule,
            current.label,
            baseline.label,
            Status.INSUFFICIENT_DATA,
            (),
            f"Too few groups or people to compare the shares of {rule.feature}.",
        )
    shares = counts / totals[:, None]
    tvd = float(0.5 * np.abs(shares[0] - shares[1]).sum())
    from scipy.stats import chi2_contingency  # here, not at the top: a slow import that most audits never need

    p = float(chi2_contingency(counts, correction=False)[1])
    drifted = tvd > rule.max_change and (rule.decide_on == "point" or p < 1 - level)
    label = {i: (now.get(i) or then[i]).label for i in ids}
    groups = tuple(
        DriftGroup(
            rule.feature or "",
            i,
            label[i],
            float(shares[1, k]),
            float(shares[0, k]),
            float(shares[0, k] - shares[1, k]),
            None,
            None,
            None,
            False,
        )
        for k, i in enumerate(ids)
    )
    status = _status(rule, True, drifted)
    moved = max(groups, key=lambda g: abs(g.change))
    message = (
        f"The {rule.feature} mix shifted by a total variation distance of {tvd:.1%} between "
        f"{baseline.label} and {current.label} (χ² {p_text(p)}); the largest move: {moved.label} "
        f"{moved.baseline:.1%} → {moved.current:.1%}. The policy tolerates {rule.max_change:.1%}."
    )
    return DriftCheck(rule, current.label, baseline.label, status, groups, message, tvd, p)


def _disparity(rule: DriftRule, current: Side, baseline: Side, *, policy: Any, seed: int) -> DriftCheck:
    from audit.judge.compare import rule_changes

    index = next(i for i, r in enumerate(policy.rules) if r.id == rule.rule)
    watched = policy.rules[index]
    before, after = baseline.findings[index], current.findings[index]
    changes = []
    # a multi-metric rule is judged metric by metric (its parts); a plain rule is its own single part
    for part_b, part_c in zip(
        getattr(before, "parts", None) or (before,), getattr(after, "parts", None) or (after,), strict=True
    ):
        changes += rule_changes(
            part_b.rule, part_b, part_c, limit=rule.max_change, level=policy.confidence_level, seed=seed
        )
    groups = []
    for c in changes:
        beyond_noise = c.ci is not None and not (c.ci[0] <= 0 <= c.ci[1])
        drifted = c.worse_by > rule.max_change and (rule.decide_on == "point" or beyond_noise)
        label = c.group.split("&")
        groups.append(
            DriftGroup(
                c.scope,
                c.group,
                " × ".join(p.split("=", 1)[-1] for p in label),
                c.baseline,
                c.candidate,
                c.change,
                c.ci,
                None,
                None,
                drifted,
                c.worse_by,
            )
        )
    status = _status(rule, bool(groups), any(g.drifted for g in groups))
    unit = {"ratio": "ratio", "odds_ratio": "odds ratio"}.get(watched.compare, "difference")
    if not groups:
        message = f"No group of rule {watched.id!r} could be judged in both {baseline.label} and {current.label}."
    else:
        # the group that got most worse (an improvement is not what this check watches for)
        worst = max(groups, key=lambda g: g.worse_by or 0.0)
        ci = f", {policy.confidence_level:.0%} CI {worst.ci[0]:+.3f} to {worst.ci[1]:+.3f}" if worst.ci else ""
        head = (
            f"rule {watched.id!r}: the {unit} of {worst.label} ({worst.scope}) went from {worst.baseline:.3f} in "
            f"{baseline.label} to {worst.current:.3f} in {current.label} (change {worst.change:+.3f}{ci})"
        )
        if any(g.drifted for g in groups):
            message = f"{head[0].upper()}{head[1:]}: worse by more than the {rule.max_change:g} tolerated."
        elif (worst.worse_by or 0.0) <= 0:
            message = f"No group of rule {watched.id!r} got worse between {baseline.label} and {current.label}."
        else:
            message = f"No group got worse by more than {rule.max_change:g} beyond noise; the most worsened: {head}."
    return DriftCheck(rule, current.label, baseline.label, status, tuple(groups), message)
