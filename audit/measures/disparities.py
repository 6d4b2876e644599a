"""Compare one metric across the groups of a scope: ratio and difference vs a comparator.

The comparator is a named reference group, the group with the highest (``max``) or lowest
(``min``) value among the groups that can be judged, or the scope's whole population with known
values (``overall``, fairlearn's ``to_overall``; intervals and tests from the group against the
rest of the population, see ``_contrast_overall``). A group is judged when the metric is
defined for it. A comparison that rests on fewer than ``min_count`` people on either side (the
metric's denominator: for a true positive rate, the truly qualified) is marked ``small``: the judge
decides it with an exact test rather than on the estimate alone, because a difference on small
numbers is not necessarily adverse impact unless it is statistically significant (29 CFR §
1607.4(D)) — which is not the same as ignoring it. Against ``max``/``min`` the comparator is chosen
among the groups of at least ``min_count`` when there are any. Groups with a missing sensitive
value, and (when the policy says so, as NYC LL144 allows) groups under a share of the data, are
reported but not judged.

Intervals: Katz log interval for ratios of two rates, Newcombe's hybrid score interval for
differences, Woolf's logit interval for odds ratios (the exact conditional one when a cell holds
fewer than five people; ``odds_ratio_interval``). Against ``max``/``min`` the comparator is itself
chosen from the data, so those per-pair intervals treat it as fixed. The scope's *extreme* disparity
(lowest ratio, largest gap) is the extreme over every pair of judged groups, and its interval is
built from the same per-pair intervals (see ``_extreme``): it holds its level whichever groups turn
out lowest and highest, also when several are tied. With two groups it is exactly the per-pair
interval.
Each pair also gets a significance test (``audit.measures.significance``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from audit.measures.groups import Group, Scope
from audit.measures.intervals import katz_log_ratio, newcombe_difference, odds_ratio_interval, z_value
from audit.measures.metrics import EXACT_METRICS
from audit.measures.significance import TestResult, compare_proportions, required_per_group
from audit.measures.unknowns import UnknownBounds, bound_scope
from audit.measures.values import MetricValue

Compare = Literal["ratio", "odds_ratio", "difference", "absolute_difference"]
#: how two values are put side by side: as a quotient (1 is parity) or as a gap (0 is parity)
RATIO_KINDS = ("ratio", "odds_ratio")


def is_ratio(compare: str) -> bool:
    """Whether ``compare`` divides (parity at 1) rather than subtracts (parity at 0)."""
    return compare in RATIO_KINDS


Against = Literal["max", "min", "reference", "overall"]
#: interval methods against the overall population (see ``_contrast_overall``)
VS_REST_RATIO = "katz-log (the group vs the rest of the population, mapped to the ratio to the whole)"
VS_REST_DIFFERENCE = "newcombe (the group vs the rest of the population, times the rest's share)"


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
    """The scope's most extreme disparity, the two groups it is between (the one compared first,
    then the one it is compared with) and an interval that allows for both being chosen from the data."""

    value: float
    ci: tuple[float, float] | None
    ci_method: str
    groups: tuple[str, str]


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
    #: what the rows of unknown value could do to each comparison (``audit.measures.unknowns``);
    #: None when the scope has none
    unknowns: UnknownBounds | None = None


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
    scope: Scope,
    *,
    metric: str,
    compare: Compare,
    against: Against,
    reference: str | None,
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
        # a group's size or share is exact: no sampling error, so no small-group exact test either
        small = metric not in EXACT_METRICS and min(_base(group, metric), _base(comparator, metric)) < judging.min_count
        contrast = (
            _contrast_overall(group, comparator, metric, compare, judging.level, exact=small)
            if against == "overall"
            else _contrast(group, comparator, metric, compare, judging.level, exact=small)
        )
        if small and group is not comparator:
            contrast = replace(
                contrast,
                small=True,
                reason=f"small numbers ({_base(group, metric)} vs {_base(comparator, metric)}; "
                f"min_count {judging.min_count}): decided by an exact test"
                + _power_note(group, comparator, metric, judging),
            )
        comparisons.append(contrast)
    countable = all(g.size is None for g in judged)  # regression groups carry no confusion counts
    # the extreme rests on the groups large enough to be judged on their estimates
    extreme = (
        _extreme(large, metric, compare, against, judging)
        if comparator is not None and against in ("max", "min") and countable and len(large) >= 2
        else None
    )
    unknowns = bound_scope(
        scope,
        metric=metric,
        compare=compare,
        against=against,
        judged=judged,
        candidates=large or judged,
        comparator=comparator,
    )
    return ScopeDisparity(scope, metric, compare, against, comparator, note, tuple(comparisons), extreme, unknowns)


def _pick_comparator(
    scope: Scope, judged: list[Group], large: list[Group], metric: str, against: Against, reference: str | None
) -> tuple[Group | None, str | None]:
    if against == "reference" and reference is not None and all(g.label != reference for g in scope.groups):
        # possible only in a part of the data (a segment, a window): the whole audit refuses such a reference
        return None, f"nobody here is in the reference group {reference!r} of {scope.name}"
    if len(judged) < 2:
        return None, f"fewer than two groups in {scope.name} can be judged"
    if against == "overall":
        population = scope.population
        if population is None:
            return None, f"no overall population of {scope.name} to compare with (classification audits only)"
        if population.metrics[metric].value is None:
            return None, f"{metric} of the overall population of {scope.name} is undefined"
        return population, None
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


def _contrast(
    group: Group, comparator: Group, metric: str, compare: Compare, level: float, *, exact: bool = False
) -> Comparison:
    a, b = group.metrics[metric], comparator.metrics[metric]
    assert a.value is not None and b.value is not None
    if group is comparator:
        value = 1.0 if is_ratio(compare) else 0.0
        return Comparison(group, value, None, None, False, "comparator")
    test = _test(a, b, exact=exact)
    p_value, test_method = (test.p_value, test.method) if test else (None, None)
    if compare == "odds_ratio":
        counts = _counts(a, b)
        if counts is None:
            return Comparison(
                group, None, None, None, False, "odds ratio undefined (the metric is not a count over a count)"
            )
        k1, n1, k2, n2 = (int(x) for x in counts)
        if k2 in (0, n2):
            return Comparison(
                group, None, None, None, False, "odds ratio undefined (the comparator's rate is 0 or 100%)"
            )
        if k1 == n1:
            return Comparison(group, None, None, None, False, "odds ratio undefined (a rate of 100% has infinite odds)")
        odds_ci, odds_method = odds_ratio_interval(k1, n1, k2, n2, level=level)
        return Comparison(group, odds_ratio(k1, n1, k2, n2), odds_ci, odds_method, True, None, p_value, test_method)
    if compare == "ratio":
        if b.value == 0:
            return Comparison(group, None, None, None, False, "ratio undefined (comparator is 0)")
        ci, method = _pair_interval(a, b, "ratio", level)
        return Comparison(group, a.value / b.value, ci, method if ci else None, True, None, p_value, test_method)
    diff = a.value - b.value
    ci, method = _pair_interval(a, b, "difference", level)
    if compare == "absolute_difference":
        if ci is not None:
            lo, hi = ci
            ci = (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        diff = abs(diff)
    return Comparison(group, diff, ci, method if ci else None, True, None, p_value, test_method)


def _contrast_overall(
    group: Group, population: Group, metric: str, compare: Compare, level: float, *, exact: bool = False
) -> Comparison:
    """A group against the whole population of its scope (fairlearn's ``to_overall``).

    The value is the group's metric over the population's (ratio) or minus it (difference). The
    group is part of the population, so the two are not independent: the test and the interval come
    from the group against *the rest* of the population (independent of it), which is exact here.
    With p the group's rate, r the rest's and w the group's share of the metric's base (its
    denominator), the population's rate is w·p + (1 − w)·r, hence

    * p − overall = (1 − w)·(p − r): Newcombe's interval for p − r, times 1 − w;
    * p / overall = ρ / (w·ρ + 1 − w) with ρ = p / r, increasing in ρ: Katz's interval for ρ, mapped;
    * p = overall exactly when p = r: the test of the group against the rest.

    A group outside the population (an unknown value judged under include_unknown) is independent of
    it: w = 0, the rest is the whole population. Metrics that are not a count over a count get no
    interval and no test (decided on the estimate).
    """
    a, b = group.metrics[metric], population.metrics[metric]
    assert a.value is not None and b.value is not None
    counts = _counts(a, b)
    rest: tuple[int, int, int, int] | None = None
    w = 0.0
    if counts is not None:
        ak, an, pk, pn = (int(x) for x in counts)
        inside = not group.has_unknown
        rk, rn = (pk - ak, pn - an) if inside else (pk, pn)
        w = an / pn if inside else 0.0
        rest = (ak, an, rk, rn) if rn > 0 else None
    test = None if rest is None else compare_proportions(*rest, exact=exact)
    p_value, test_method = (test.p_value, test.method) if test else (None, None)
    if compare == "odds_ratio":  # refused by the policy's validation; kept out of the overall comparison here too
        return Comparison(group, None, None, None, False, "an odds ratio is not compared with the overall population")
    if compare == "ratio":
        if b.value == 0:
            return Comparison(group, None, None, None, False, "ratio undefined (the overall value is 0)")
        ci: tuple[float, float] | None = None
        katz = None if rest is None else katz_log_ratio(*rest, level=level)
        if katz is not None:
            ci = (_to_whole(katz[0], w), _to_whole(katz[1], w))
        return Comparison(group, a.value / b.value, ci, VS_REST_RATIO if ci else None, True, None, p_value, test_method)
    diff = a.value - b.value
    ci = None
    if rest is not None:
        lo, hi = newcombe_difference(*rest, level=level)
        ci = ((1 - w) * lo, (1 - w) * hi)
    if compare == "absolute_difference":
        if ci is not None:
            lo, hi = ci
            ci = (0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
        diff = abs(diff)
    return Comparison(group, diff, ci, VS_REST_DIFFERENCE if ci else None, True, None, p_value, test_method)


def odds_ratio(k1: int, n1: int, k2: int, n2: int) -> float:
    """The sample odds ratio (k1/(n1−k1)) / (k2/(n2−k2)); the caller rules out k1 = n1 and k2 ∈ {0, n2}."""
    return (k1 * (n2 - k2)) / ((n1 - k1) * k2)


def _to_whole(rho: float, w: float) -> float:
    """The ratio of a group to the whole population from its ratio ρ to the rest (share w of the base)."""
    return rho / (w * rho + 1 - w)


def _counts(a: MetricValue, b: MetricValue) -> tuple[int, int, int, int] | None:
    """Both metrics' counts when each is a count over a count with a binomial interval (Katz, Newcombe
    and the tests apply), else None."""
    if (
        a.numerator is None
        or a.denominator is None
        or b.numerator is None
        or b.denominator is None
        or a.ci_method not in ("wilson", "clopper-pearson")
    ):
        return None
    return a.numerator, a.denominator, b.numerator, b.denominator


def _test(a: MetricValue, b: MetricValue, *, exact: bool) -> TestResult | None:
    counts = _counts(a, b)
    return None if counts is None else compare_proportions(*counts, exact=exact)


def _pair_interval(
    a: MetricValue,
    b: MetricValue,
    compare: Literal["ratio", "odds_ratio", "difference"],
    level: float,
    *,
    se_level: float | None = None,
) -> tuple[tuple[float, float] | None, str]:
    """Interval for a/b or a − b at ``level``, and its method. ``se_level`` is the level the groups'
    own normal intervals were computed at (their standard errors are read back from them)."""
    se_level = level if se_level is None else se_level
    counts = _counts(a, b)
    if compare == "odds_ratio":
        if counts is None:
            return None, "woolf-logit"
        k1, n1, k2, n2 = (int(x) for x in counts)
        if k1 == n1 or k2 in (0, n2):
            return None, "woolf-logit"
        return odds_ratio_interval(k1, n1, k2, n2, level=level)
    if counts is not None:
        if compare == "ratio":
            return katz_log_ratio(*counts, level=level), "katz-log"
        return newcombe_difference(*counts, level=level), "newcombe"
    se_a, se_b = _se(a, se_level), _se(b, se_level)
    if se_a is None or se_b is None or a.value is None or b.value is None:
        return None, "delta-log" if compare == "ratio" else "normal"
    if compare == "ratio":
        return _delta_ratio(a, b, level, se_level), "delta-log"
    return _normal_difference(a.value, se_a, b.value, se_b, level), "normal"


def _se(mv: MetricValue, level: float) -> float | None:
    """Standard error behind a normal interval (means and errors of a regression audit)."""
    if mv.ci_low is None or mv.ci_high is None or not str(mv.ci_method or "").startswith("normal"):
        return None
    return (mv.ci_high - mv.ci_low) / (2 * z_value(level))


def _normal_difference(a: float, se_a: float, b: float, se_b: float, level: float) -> tuple[float, float]:
    """Independent groups: the standard errors (read back from the groups' own intervals) add in quadrature."""
    half = z_value(level) * math.hypot(se_a, se_b)
    diff = a - b
    return diff - half, diff + half


def _delta_ratio(
    a: MetricValue, b: MetricValue, level: float, se_level: float | None = None
) -> tuple[float, float] | None:
    """Delta method on the log of a ratio of two independent positive estimates."""
    se_level = level if se_level is None else se_level
    se_a, se_b = _se(a, se_level), _se(b, se_level)
    if a.value is None or b.value is None or se_a is None or se_b is None or a.value <= 0 or b.value <= 0:
        return None
    se = math.hypot(se_a / a.value, se_b / b.value)
    ratio, half = a.value / b.value, z_value(level) * se
    return ratio * math.exp(-half), ratio * math.exp(half)


def _extreme(judged: list[Group], metric: str, compare: Compare, against: Against, judging: Judging) -> Extreme | None:
    """Lowest ratio / largest gap across the judged groups, with an interval that holds its level.

    The extreme is an extreme over every ordered pair of groups: the lowest ratio is the lowest
    a/b, the largest gap the largest a − b. Its interval takes the same extreme of the pairs'
    interval ends (Katz, Newcombe: the per-pair methods), each end at the level it needs:

    * the end on the side of the extreme (the lower end of a lowest ratio) is wrong only when the
      *true* most extreme pair's own interval is — a single pair, so its per-pair interval at the
      usual one-sided α/2 suffices, whichever pair the data happen to make most extreme;
    * the other end (the upper end of a lowest ratio) is wrong when *any* pair's interval falls
      past the truth, so it uses intervals that hold for all pairs at once (Bonferroni, α/2 over
      the 2·K one-sided ends of K pairs).

    Each end is thus wrong at most α/2 of the time, as for an equal-tailed interval, also when
    groups are tied (where a bootstrap of the extreme cannot cover the truth: every resampled
    lowest ratio of tied groups is below 1). With two groups (one pair) both ends come from the
    one pair's interval at the usual level, and the interval is exactly that pair's: any value
    outside it means that pair's ratio is outside its interval.
    """
    values = [g.metrics[metric].value for g in judged]
    lo = min(range(len(judged)), key=lambda i: (values[i], i))
    hi = max(range(len(judged)), key=lambda i: (values[i], -i))
    if values[lo] == values[hi]:  # all tied: the pair is the first two groups, in order
        lo, hi = 0, 1
    kind: Literal["ratio", "odds_ratio", "difference"] = "difference" if not is_ratio(compare) else compare  # type: ignore[assignment]  # narrowed by is_ratio
    # the extreme is the minimum over ordered pairs of a/b (a − b) or the maximum
    lowest = compare != "absolute_difference" and against == "max"
    # named as the table's row names them: the group first, then the comparator it is compared with
    first, second = (judged[lo], judged[hi]) if against == "max" else (judged[hi], judged[lo])
    a, b = first.metrics[metric], second.metrics[metric]
    assert a.value is not None and b.value is not None
    if kind == "odds_ratio":
        counts = _counts(a, b)
        if counts is None:
            return None
        k1, n1, k2, n2 = (int(x) for x in counts)
        if k1 == n1 or k2 in (0, n2):
            return None
        point = odds_ratio(k1, n1, k2, n2)
    elif kind == "ratio":
        if b.value == 0:
            return None
        point = a.value / b.value
    else:
        point = abs(a.value - b.value) if compare == "absolute_difference" else a.value - b.value
    k = len(judged) * (len(judged) - 1) // 2  # pairs of groups
    alpha = 1 - judging.level
    # the extreme's own side: the usual level; the other side: simultaneous over all pairs
    own, other = judging.level, (judging.level if k == 1 else 1 - alpha / k)
    # The extreme of the ordered pairs' (lower end, upper end), kept as the pairs go by rather than listed
    # (thousands of groups make millions of pairs): the same comparisons, in the same order, as min()/max()
    # over the list, so the same result.
    ci: tuple[float, float] | None = None
    complete = True
    method = None
    # each ordered pair computed as such (not by inverting the other order), so that with two
    # groups the interval is bit for bit the one in the table's row
    for x, y in _ordered_pairs(judged):
        mx, my = x.metrics[metric], y.metrics[metric]
        near, pair_method = _pair_interval(mx, my, kind, own, se_level=judging.level)
        far, _ = _pair_interval(mx, my, kind, other, se_level=judging.level)
        # pairs may differ in method (an odds ratio's small cells get the exact interval): all are named
        if method is None:
            method = pair_method
        elif pair_method not in method.split("/"):
            method = f"{method}/{pair_method}"
        if near is None or far is None:
            complete = False
            break
        lower, upper = (near[0], far[1]) if lowest else (far[0], near[1])
        if ci is None:
            ci = (lower, upper)
        elif lowest:  # min() keeps the first of equal items: replace only when strictly smaller
            ci = (lower if lower < ci[0] else ci[0], upper if upper < ci[1] else ci[1])
        else:
            ci = (lower if lower > ci[0] else ci[0], upper if upper > ci[1] else ci[1])
    if not complete or ci is None:
        return Extreme(
            point, None, f"pairwise-extreme ({method}: no interval for some pair of groups)", (first.id, second.id)
        )
    if compare == "absolute_difference":
        ci = (max(ci[0], 0.0), ci[1])
    text = (
        f"pairwise-extreme ({method}; {k} pair{'s' if k != 1 else ''}"
        + ("" if k == 1 else "; far end simultaneous for all pairs, Bonferroni")
        + ")"
    )
    return Extreme(point, ci, text, (first.id, second.id))


def _ordered_pairs(groups: list[Group]) -> Iterator[tuple[Group, Group]]:
    """Every pair of groups in both orders: (a, b), (b, a), (a, c), (c, a), … as combinations give them."""
    for x, y in itertools.combinations(groups, 2):
        yield x, y
        yield y, x


def _power_note(group: Group, comparator: Group, metric: str, judging: Judging) -> str:
    """Roughly how many people the group would need for the gap seen to be detectable."""
    p1, p2 = group.metrics[metric].value, comparator.metrics[metric].value
    if p1 is None or p2 is None:
        return ""
    need = required_per_group(p1, p2, alpha=1 - judging.level)
    return f"; a gap this size would be detectable with about {need} people" if need else ""
