"""Compare one metric across the groups of a scope: ratio and difference vs a comparator.

The comparator is a named reference group, or the group with the highest (``max``) or lowest
(``min``) value among the groups that can be judged. A group is judged when the metric is
defined for it and rests on at least ``min_count`` people (its denominator: for a true positive
rate, the truly qualified), because differences based on small numbers are not evidence
(29 CFR § 1607.4(D)). Groups with a missing sensitive value are reported but not judged unless
the policy says so.

Intervals: Katz log interval for ratios of two rates, Newcombe's hybrid score interval for
differences. Against ``max``/``min`` the comparator is itself chosen from the data, so these
intervals treat it as fixed; they are marked with the method used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from audit.measures.groups import Group, Scope
from audit.measures.intervals import katz_log_ratio, newcombe_difference

Compare = Literal["ratio", "difference", "absolute_difference"]
Against = Literal["max", "min", "reference"]


@dataclass(frozen=True)
class Comparison:
    group: Group
    value: float | None  # ratio or difference; None when not computable
    ci: tuple[float, float] | None
    ci_method: str | None
    judged: bool
    reason: str | None  # why not judged


@dataclass(frozen=True)
class ScopeDisparity:
    scope: Scope
    metric: str
    compare: Compare
    against: Against
    comparator: Group | None
    comparator_note: str | None
    comparisons: tuple[Comparison, ...]


def _eligible(group: Group, metric: str, *, min_count: int, include_unknown: bool) -> str | None:
    """None when the group can be judged on ``metric``, else the reason it cannot."""
    mv = group.metrics[metric]
    if group.has_unknown and not include_unknown:
        return "unknown sensitive value"
    if mv.value is None:
        return "metric undefined (no one in its denominator)" if mv.ci_method is None else mv.ci_method
    base = mv.denominator if mv.denominator is not None else group.n
    if base < min_count:
        return f"too few ({base} < min_count {min_count})"
    return None


def compare_scope(
    scope: Scope,
    *,
    metric: str,
    compare: Compare,
    against: Against,
    reference: str | None,
    min_count: int,
    include_unknown: bool,
    level: float,
) -> ScopeDisparity:
    reasons = {g.id: _eligible(g, metric, min_count=min_count, include_unknown=include_unknown)
               for g in scope.groups}
    judged = [g for g in scope.groups if reasons[g.id] is None]
    comparator, note = _pick_comparator(scope, judged, metric, against, reference)
    comparisons = []
    for group in scope.groups:
        reason = reasons[group.id]
        if reason is None and comparator is None:
            reason = note
        if reason is not None or comparator is None:
            comparisons.append(Comparison(group, None, None, None, False, reason))
            continue
        value, ci, method = _contrast(group, comparator, metric, compare, level)
        if value is None:
            comparisons.append(Comparison(group, None, None, None, False, f"{compare} undefined"))
            continue
        comparisons.append(Comparison(group, value, ci, method, group is not comparator, None
                                      if group is not comparator else "comparator"))
    return ScopeDisparity(scope, metric, compare, against, comparator, note, tuple(comparisons))


def _pick_comparator(
    scope: Scope, judged: list[Group], metric: str, against: Against, reference: str | None
) -> tuple[Group | None, str | None]:
    if len(judged) < 2:
        return None, f"fewer than two groups in {scope.name} can be judged"
    if against == "reference":
        if reference is None:
            return None, f"no reference group set for {scope.name}"
        match = [g for g in judged if g.label == reference]
        if not match:
            return None, f"reference group {reference!r} of {scope.name} cannot be judged"
        return match[0], None
    values = [g.metrics[metric].value for g in judged]
    pick = max if against == "max" else min
    # ties broken by group order (sorted by name) so the result never depends on row order
    best = pick(range(len(judged)), key=lambda i: (values[i], -i) if against == "max" else (values[i], i))
    return judged[best], None


def _contrast(
    group: Group, comparator: Group, metric: str, compare: Compare, level: float
) -> tuple[float | None, tuple[float, float] | None, str | None]:
    a, b = group.metrics[metric], comparator.metrics[metric]
    assert a.value is not None and b.value is not None
    have_counts = None not in (a.numerator, a.denominator, b.numerator, b.denominator) and a.ci_method == "wilson"
    if compare == "ratio":
        if b.value == 0:
            return None, None, None
        ci = (katz_log_ratio(a.numerator, a.denominator, b.numerator, b.denominator, level=level)
              if have_counts and group is not comparator else None)
        return a.value / b.value, ci, "katz-log" if ci else None
    diff = a.value - b.value
    ci = (newcombe_difference(a.numerator, a.denominator, b.numerator, b.denominator, level=level)
          if have_counts and group is not comparator else None)
    if compare == "absolute_difference":
        if ci is not None:
            lo, hi = ci
            ci = (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        return abs(diff), ci, "newcombe" if ci else None
    return diff, ci, "newcombe" if ci else None
