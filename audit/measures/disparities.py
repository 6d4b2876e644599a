"""Compare one metric across the groups of a scope: ratio and difference vs a comparator.

The comparator is a named reference group, or the group with the highest (``max``) or lowest
(``min``) value among the groups that can be judged. A group is judged when the metric is
defined for it. A comparison that rests on fewer than ``min_count`` people on either side (the
metric's denominator: for a true positive rate, the truly qualified) is marked ``small``: the judge
decides it with an exact test rather than on the estimate alone, because a difference on small
numbers is not necessarily adverse impact unless it is statistically significant (29 CFR §
1607.4(D)) — which is not the same as ignoring it. Against ``max``/``min`` the comparator is chosen
among the groups of at least ``min_count`` when there are any. Groups with a missing sensitive
value, and (when the policy says so, as NYC LL144 allows) groups under a share of the data, are
reported but not judged.

Intervals: Katz log interval for ratios of two rates, Newcombe's hybrid score interval for
differences. Against ``max``/``min`` the comparator is itself chosen from the data, so those
per-pair intervals treat it as fixed; the scope's *extreme* disparity (lowest ratio, largest gap)
gets a bootstrap interval that re-selects the comparator in every replicate.
Each pair also gets a significance test (``audit.measures.significance``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from audit.measures.bootstrap import DEFAULT_REPLICATES, bootstrap_statistic
from audit.measures.groups import Group, Scope
from audit.measures.intervals import katz_log_ratio, newcombe_difference, z_value
from audit.measures.metrics import vector_value
from audit.measures.significance import compare_proportions, required_per_group

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
    p_value: float | None = None
    test_method: str | None = None
    p_adjusted: float | None = None
    small: bool = False  # either side rests on fewer than min_count people: decided by an exact test


@dataclass(frozen=True)
class Extreme:
    """The scope's most extreme disparity with a bootstrap interval."""

    value: float
    ci: tuple[float, float] | None
    ci_method: str


@dataclass(frozen=True)
class ScopeDisparity:
    scope: Scope
    metric: str
    compare: Compare
    against: Against
    comparator: Group | None
    comparator_note: str | None
    comparisons: tuple[Comparison, ...]
    extreme: Extreme | None = None


@dataclass(frozen=True)
class Judging:
    """Who may be judged: the policy's sample-size and inclusion settings for one rule."""

    min_count: int
    include_unknown: bool = False
    exclude_below_share: float | None = None
    level: float = 0.95
    seed: int = 0


def _eligible(group: Group, metric: str, scope_known: int, judging: Judging) -> str | None:
    """None when the group can be judged on ``metric``, else the reason it cannot."""
    mv = group.metrics[metric]
    if group.has_unknown and not judging.include_unknown:
        return "unknown sensitive value"
    share = judging.exclude_below_share
    if share is not None and scope_known and group.n < share * scope_known:
        return f"under {share:.0%} of the data ({group.n} of {scope_known}): reported, not judged"
    if mv.value is None:
        return "metric undefined (no one in its denominator)" if mv.ci_method is None else mv.ci_method
    return None


def _base(group: Group, metric: str) -> int:
    """The number of people a group's metric rests on (its denominator, else the group's size)."""
    mv = group.metrics[metric]
    return int(mv.denominator) if mv.denominator is not None else group.n


def compare_scope(
    scope: Scope, *, metric: str, compare: Compare, against: Against, reference: str | None,
    judging: Judging,
) -> ScopeDisparity:
    known = sum(g.n for g in scope.groups if not g.has_unknown)
    reasons = {g.id: _eligible(g, metric, known, judging) for g in scope.groups}
    judged = [g for g in scope.groups if reasons[g.id] is None]
    large = [g for g in judged if _base(g, metric) >= judging.min_count]
    comparator, note = _pick_comparator(scope, judged, large, metric, against, reference)
    comparisons = []
    for group in scope.groups:
        reason = reasons[group.id]
        if reason is None and comparator is None:
            reason = note
        if reason is not None or comparator is None:
            comparisons.append(Comparison(group, None, None, None, False, reason))
            continue
        small = min(_base(group, metric), _base(comparator, metric)) < judging.min_count
        contrast = _contrast(group, comparator, metric, compare, judging.level, exact=small)
        if small and group is not comparator:
            contrast = replace(contrast, small=True,
                               reason=f"small numbers ({_base(group, metric)} vs {_base(comparator, metric)}; "
                                      f"min_count {judging.min_count}): decided by an exact test"
                                      + _power_note(group, comparator, metric, judging))
        comparisons.append(contrast)
    countable = all(g.size is None for g in judged)  # regression groups carry no confusion counts
    # the extreme rests on the groups large enough to be judged on their estimates
    extreme = (_extreme(large, metric, compare, against, judging)
               if comparator is not None and against != "reference" and countable and len(large) >= 2
               else None)
    return ScopeDisparity(scope, metric, compare, against, comparator, note, tuple(comparisons), extreme)


def _pick_comparator(
    scope: Scope, judged: list[Group], large: list[Group], metric: str, against: Against, reference: str | None
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
    # a tiny group's extreme rate is mostly noise: the highest (lowest) group is picked among those
    # large enough to be judged on their estimates, when there are any
    judged = large or judged
    values = [g.metrics[metric].value for g in judged]
    # ties broken by group order (sorted by name) so the result never depends on row order
    if against == "max":
        best = max(range(len(judged)), key=lambda i: (values[i], -i))
    else:
        best = min(range(len(judged)), key=lambda i: (values[i], i))
    return judged[best], None


def _contrast(group: Group, comparator: Group, metric: str, compare: Compare, level: float, *,
              exact: bool = False) -> Comparison:
    a, b = group.metrics[metric], comparator.metrics[metric]
    assert a.value is not None and b.value is not None
    if group is comparator:
        value = 1.0 if compare == "ratio" else 0.0
        return Comparison(group, value, None, None, False, "comparator")
    counts = (a.numerator, a.denominator, b.numerator, b.denominator)
    proportion = None not in counts and a.ci_method in ("wilson", "clopper-pearson")
    test = compare_proportions(*counts, exact=exact) if proportion else None
    p_value, test_method = (test.p_value, test.method) if test else (None, None)
    normal = not proportion and _se(a, level) is not None and _se(b, level) is not None
    if compare == "ratio":
        if b.value == 0:
            return Comparison(group, None, None, None, False, "ratio undefined (comparator is 0)")
        if proportion:
            ci, method = katz_log_ratio(*counts, level=level), "katz-log"
        else:
            ci, method = (_delta_ratio(a, b, level) if normal else None), "delta-log"
        return Comparison(group, a.value / b.value, ci, method if ci else None, True, None,
                          p_value, test_method)
    diff = a.value - b.value
    if proportion:
        ci, method = newcombe_difference(*counts, level=level), "newcombe"
    else:
        ci, method = (_normal_difference(a, b, level) if normal else None), "normal"
    if compare == "absolute_difference":
        if ci is not None:
            lo, hi = ci
            ci = (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        diff = abs(diff)
    return Comparison(group, diff, ci, method if ci else None, True, None, p_value, test_method)


def _se(mv, level: float) -> float | None:  # type: ignore[no-untyped-def]
    """Standard error behind a normal interval (means and errors of a regression audit)."""
    if mv.ci_low is None or mv.ci_high is None or not str(mv.ci_method or "").startswith("normal"):
        return None
    return (mv.ci_high - mv.ci_low) / (2 * z_value(level))


def _normal_difference(a, b, level: float) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Independent groups: the standard errors add in quadrature."""
    half = z_value(level) * math.hypot(_se(a, level), _se(b, level))
    diff = a.value - b.value
    return diff - half, diff + half


def _delta_ratio(a, b, level: float) -> tuple[float, float] | None:  # type: ignore[no-untyped-def]
    """Delta method on the log of a ratio of two independent positive estimates."""
    if a.value <= 0 or b.value <= 0:
        return None
    se = math.hypot(_se(a, level) / a.value, _se(b, level) / b.value)
    ratio, half = a.value / b.value, z_value(level) * se
    return ratio * math.exp(-half), ratio * math.exp(half)


def _extreme(judged: list[Group], metric: str, compare: Compare, against: Against,
             judging: Judging) -> Extreme | None:
    """Lowest ratio / largest gap across the judged groups, comparator re-picked per replicate."""
    cells = np.stack([g.counts for g in judged])

    def statistic(table: np.ndarray) -> np.ndarray:
        v = vector_value(metric, table)  # shape (..., groups)
        hi, lo = np.max(v, axis=-1), np.min(v, axis=-1)
        if compare == "ratio":
            return lo / hi if against == "max" else hi / lo
        return hi - lo if compare == "absolute_difference" else (lo - hi if against == "max" else hi - lo)

    with np.errstate(divide="ignore", invalid="ignore"):
        point = float(statistic(cells))
    if not np.isfinite(point):
        return None
    # bias-corrected: the bootstrap of a max/min over many small groups is shifted, and a plain
    # percentile interval could exclude its own estimate
    ci = bootstrap_statistic(cells, statistic, level=judging.level, seed=judging.seed, point=point)
    method = f"bootstrap-bc (B={DEFAULT_REPLICATES}, stratified, seed {judging.seed})"
    return Extreme(point, ci, method)


def _power_note(group: Group, comparator: Group, metric: str, judging: Judging) -> str:
    """Roughly how many people the group would need for the gap seen to be detectable."""
    p1, p2 = group.metrics[metric].value, comparator.metrics[metric].value
    if p1 is None or p2 is None:
        return ""
    need = required_per_group(p1, p2, alpha=1 - judging.level)
    return f"; a gap this size would be detectable with about {need} people" if need else ""
