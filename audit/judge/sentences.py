"""Plain-language sentences for group-metric findings: one per rule, naming the group that decides it.

The sentence must agree with the status: a value exactly at the limit reads "80%" beside "at least
80%" and is within the limit; a value just under it is printed with as many decimals as it takes
to differ from the limit (79.99%, never "80%" beside a FAIL).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from audit.judge.status import Outcome, Status
from audit.measures.disparities import ScopeDisparity
from audit.measures.metrics import label_of
from audit.measures.significance import p_text

if TYPE_CHECKING:
    from audit.judge.finding import Finding, GroupOutcome
    from audit.policy.schema import Rule


def _value(metric: str, x: float) -> str:
    """A metric's own value: a rate as a percentage, a regression error or mean as a number."""
    from audit.measures.metrics import COMPOSITE, REGISTRY, SHARES

    if metric == "count":
        return f"{x:,.0f}"
    return f"{x:.1%}" if metric in REGISTRY or metric in COMPOSITE or metric in SHARES else f"{x:.3g}"


def _digits(x: float, apart_from: float | None) -> int:
    """Decimals (of a percentage) needed so that ``x`` does not print as ``apart_from`` when it is
    not equal to it: one by default."""
    if apart_from is None or math.isclose(x, apart_from, rel_tol=1e-9, abs_tol=1e-12):
        return 1
    for digits in range(1, 10):
        if f"{x * 100:.{digits}f}" != f"{apart_from * 100:.{digits}f}":
            return digits
    return 9


def _pct(x: float, *, apart_from: float | None = None) -> str:
    """One decimal (so a failing 79.6% never reads as "80%" next to "at least 80%"), and more when
    one would print a value that is not the limit as the limit (79.99%)."""
    digits = _digits(x, apart_from)
    text = f"{x * 100:.{digits}f}%"
    return text.replace(".0%", "%") if digits == 1 else text


def _points(x: float, *, apart_from: float | None = None) -> str:
    digits = _digits(abs(x), None if apart_from is None else abs(apart_from))
    return f"{x * 100:.{digits}f} percentage points"


def _odds(x: float, *, apart_from: float | None = None) -> str:
    """An odds ratio as a plain number: two decimals, more when two would print it as the limit."""
    digits = 2
    if apart_from is not None and not math.isclose(x, apart_from, rel_tol=1e-9, abs_tol=1e-12):
        while digits < 9 and f"{x:.{digits}f}" == f"{apart_from:.{digits}f}":
            digits += 1
    return f"{x:.{digits}f}"


def _odds_limit(x: float) -> str:
    """An odds-ratio limit as the policy states it: two decimals, or as many as it was written with."""
    text = repr(float(x))
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 2
    return f"{x:.{min(max(decimals, 2), 9)}f}"


def _fmt(rule: Rule) -> Callable[..., str]:
    """How the rule's bounds print: a percentage, an odds ratio, or points."""
    return {"ratio": _pct, "odds_ratio": _odds_limit}.get(rule.compare, _points)


def _nearest_bound(rule: Rule, x: float) -> float | None:
    bounds = [b for b in (rule.min_value, rule.max_value) if b is not None]
    return min(bounds, key=lambda b: abs(abs(b) - abs(x))) if bounds else None


def rate_noun(rule: Rule, scoring: bool = False) -> str:
    """What the rule's metric is called: LL144 calls a selection rate from scores above the median
    the *scoring rate*."""
    (metric,) = rule.metric_names  # sentences are written per metric (a multi-metric rule's parts)
    if scoring and metric == "selection_rate":
        return "scoring rate"
    return label_of(metric)


def _comparator_phrase(d: ScopeDisparity) -> str:
    c = d.comparator
    assert c is not None
    if d.against == "reference":
        return f"{c.label}, the reference group"
    if d.against == "overall":
        return "the overall population"
    return f"{c.label}, the {'highest' if d.against == 'max' else 'lowest'} group"


def requirement(rule: Rule) -> str:
    """What the policy asks, e.g. "the policy requires at least 80%"."""
    fmt = _fmt(rule)
    strict = getattr(rule, "strict_bounds", False)
    if rule.severity != "block":  # a warning (or info) rule flags; it does not require
        low, high = ("at or below", "at or above") if strict else ("below", "above")
        parts = ([f"{low} {fmt(rule.min_value)}"] if rule.min_value is not None else []) + (
            [f"{high} {fmt(rule.max_value)}"] if rule.max_value is not None else []
        )
        return "the policy flags values " + " or ".join(parts)
    low, high = ("more than", "less than") if strict else ("at least", "at most")
    parts = ([f"{low} {fmt(rule.min_value)}"] if rule.min_value is not None else []) + (
        [f"{high} {fmt(rule.max_value)}"] if rule.max_value is not None else []
    )
    verb = "requires" if rule.min_value is not None else "allows"
    return f"the policy {verb} " + " and ".join(parts)


def describe(
    rule: Rule, outcome: GroupOutcome, disparity: ScopeDisparity, level: float, *, scoring: bool = False
) -> str:
    """One sentence about one group's comparison, e.g. for the executive summary."""
    c = outcome.comparison
    g, ref = c.group, disparity.comparator
    assert ref is not None and c.value is not None and rule.metric is not None
    metric = rate_noun(rule, scoring)
    a, b = g.metrics[rule.metric].value, ref.metrics[rule.metric].value
    assert a is not None and b is not None
    ci = f" ({_pct(level)} CI {interval_text(rule, c.ci)})" if c.ci else ""
    bound = _nearest_bound(rule, c.value)
    if rule.compare == "ratio":
        value = _pct(c.value, apart_from=bound)
        if rule.metric == "selection_rate" and not scoring:
            head = f"{g.label} ({disparity.scope.name}) was selected at {value} of the rate of {_comparator_phrase(disparity)}"  # noqa: E501
        else:
            head = (
                f"The {metric} of {g.label} ({disparity.scope.name}) is {value} of that of "
                f"{_comparator_phrase(disparity)}"
            )
        head += f"{ci} — {_value(rule.metric, a)} vs {_value(rule.metric, b)}"
    elif rule.compare == "odds_ratio":
        head = (
            f"The odds ratio of the {metric} of {g.label} ({disparity.scope.name}) to that of "
            f"{_comparator_phrase(disparity)} is {_odds(c.value, apart_from=bound)}{ci} — "
            f"{_value(rule.metric, a)} vs {_value(rule.metric, b)}"
        )
    else:
        direction = "below" if a < b else "above"
        gap = _points(abs(a - b), apart_from=bound)
        head = (
            f"The {metric} of {g.label} ({disparity.scope.name}) is {gap} {direction} "
            f"that of {_comparator_phrase(disparity)}{ci} — {_value(rule.metric, a)} vs {_value(rule.metric, b)}"
        )
    test = ""
    if c.p_adjusted is not None:
        significant = "significant" if c.p_adjusted < 1 - level else "not significant"
        exact = "Fisher's exact test, " if c.small else ""
        test = f" (difference {significant}: {exact}{p_text(c.p_adjusted)}, BH-adjusted)"
    return f"{head}{test}; {requirement(rule)}{_verdict_words(rule, outcome)}{_shortfall_words(outcome, scoring)}."


def _shortfall_words(outcome: GroupOutcome, scoring: bool) -> str:
    """How many more favourable decisions would close the gap (selection-rate ratio rules)."""
    short = outcome.shortfall
    if short is None:
        return ""
    if scoring:
        noun = "person scored above the median" if short.to_limit == 1 else "people scored above the median"
    else:
        noun = "favourable decision" if short.to_limit == 1 else "favourable decisions"
    return (
        f"; {short.to_limit:,} more {noun} for {outcome.comparison.group.label} would reach the limit "
        f"({short.to_parity:,} to reach parity)"
    )


def _verdict_words(rule: Rule, outcome: GroupOutcome) -> str:
    """How this group's comparison was decided, when it is not simply inside or outside."""
    side = (
        "below"
        if rule.min_value is not None
        and outcome.comparison.value is not None
        and (rule.max_value is None or outcome.comparison.value < rule.min_value)
        else "above"
    )
    if outcome.status is Outcome.NOT_SIGNIFICANT:
        if outcome.comparison.small:
            return f" — {side} the limit on small numbers; not statistically significant"
        if rule.decide_on == "whole_interval":
            return f" — {side} the limit, but its confidence interval reaches the limit"
        return f" — {side} the limit, but not statistically significant"
    if outcome.status is Outcome.INCONCLUSIVE and outcome.comparison.small:
        return " — within the limit on small numbers, with an interval that crosses it"
    return ""


def value_text(rule: Rule, x: float) -> str:
    """A comparison's value as the recorded sentences print it — a ratio as a percentage, an odds ratio as
    a number, a difference in signed percentage points — with the decimals it takes not to print as the
    nearest limit when it is not the limit (79.99%, never "80.0%" beside "below the limit")."""
    bound = _nearest_bound(rule, x)
    if rule.compare == "ratio":
        return _pct(x, apart_from=bound)
    if rule.compare == "odds_ratio":
        return _odds(x, apart_from=bound)
    digits = _digits(abs(x), None if bound is None else abs(bound))
    return f"{x * 100:+.{digits}f} percentage points"


def limit_text(rule: Rule, x: float) -> str:
    """A rule's limit as :func:`requirement` prints it (80%, 1.25, 10.0 percentage points)."""
    return _fmt(rule)(x)


def span_text(rule: Rule, low: float | None, high: float | None) -> str:
    """``low to high`` (None: unbounded) in the units of :func:`value_text`, with as many decimals as it
    takes for two different ends to read differently: bounds that straddle a limit never read "80% to 80%"."""

    def text(x: float | None, digits: int) -> str:
        if x is None:
            return "unbounded"
        if rule.compare == "ratio":  # as _pct: 75%, 75.5%, 79.996%
            return f"{x * 100:.{digits}f}%".replace(".0%", "%") if digits == 1 else f"{x * 100:.{digits}f}%"
        if rule.compare == "odds_ratio":
            return f"{x:.{digits + 1}f}"
        return f"{x * 100:+.{digits}f}"

    bounds = [b for b in (getattr(rule, "min_value", None), getattr(rule, "max_value", None)) if b is not None]

    def apart(x: float, y: float) -> bool:  # not equal, float noise aside (as _digits)
        return not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)

    def clear(digits: int) -> bool:  # two different ends read differently, and no end reads as a limit it is not
        if low is not None and high is not None and apart(low, high) and text(low, digits) == text(high, digits):
            return False
        return not any(
            x is not None and apart(x, b) and text(x, digits) == text(b, digits) for x in (low, high) for b in bounds
        )

    digits = 1
    while digits < 8 and not clear(digits):
        digits += 1
    unit = " percentage points" if rule.compare not in ("ratio", "odds_ratio") else ""
    return f"{text(low, digits)} to {text(high, digits)}{unit}"


def interval_text(rule: Rule, ci: tuple[float, float]) -> str:
    """A confidence (or sampling) interval as the sentences print it."""
    if rule.compare == "ratio":
        return f"{_pct(ci[0])}–{_pct(ci[1])}"
    if rule.compare == "odds_ratio":
        return f"{_odds(ci[0])}–{_odds(ci[1])}"
    return f"{ci[0] * 100:.1f}–{ci[1] * 100:.1f} points"


def _unjudged_detail(d: ScopeDisparity, outcomes: tuple[GroupOutcome, ...]) -> str:
    """The scope and its undecided groups with their sizes (every known group when nothing could be
    compared there)."""
    if d.comparator is None:
        shown = [c.group for c in d.comparisons if not c.group.has_unknown]
    else:
        shown = [o.comparison.group for o in outcomes if o.status is Outcome.INCONCLUSIVE]
    sizes = [f"{g.label} ({g.n})" for g in shown]
    why = f" ({d.comparator_note})" if d.comparator is None and d.comparator_note else ""
    return f"{d.scope.name} [{', '.join(sizes[:6])}{' …' if len(sizes) > 6 else ''}]{why}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def explain(finding: Finding, *, level: float, scoring: bool = False) -> str:
    rule = finding.rule
    evaluated = finding.scopes
    outcomes = [o for _, outs in evaluated for o in outs]
    inconclusive = sum(1 for o in outcomes if o.status is Outcome.INCONCLUSIVE)
    # not judged for their own reason (unknown value, excluded): not those a scope without a comparator left
    # unjudged, whose reason the scope's detail gives
    excluded = sum(
        1
        for d, outs in evaluated
        for o in outs
        if o.status is Outcome.NOT_JUDGED and not (d.comparator is None and o.comparison.reason == d.comparator_note)
    )
    notes = ""
    if inconclusive:
        notes += (
            f" {_count(inconclusive, 'group')} could not be decided (small numbers with an interval that "
            "crosses the limit, or an undefined metric)."
        )
    if excluded:
        notes += f" {_count(excluded, 'group')} not judged (unknown value or excluded by the policy)."
    if finding.unknowns is not None:
        notes += f" {finding.unknowns.sentence}"
    worst = finding.worst
    if finding.status is Status.INSUFFICIENT_DATA and (worst is None or not finding.failing):
        unjudged = [
            (d, outs)
            for d, outs in evaluated
            if d.comparator is None or any(o.status is Outcome.INCONCLUSIVE for o in outs)
        ]
        if unjudged:
            head = (
                f"Not enough data to judge {rate_noun(rule, scoring)} in "
                + ", ".join(_unjudged_detail(d, outs) for d, outs in unjudged)
                + "."
            )
        else:
            head = f"Not enough data to judge {rate_noun(rule, scoring)} in any scope."
        if worst is not None:
            disparity = next(d for d, outs in evaluated if worst in outs)
            head += f" Closest to the limit: {describe(rule, worst, disparity, level, scoring=scoring)}"
        return head + notes
    assert worst is not None
    disparity = next(d for d, outs in evaluated if worst in outs)
    sentence = describe(rule, worst, disparity, level, scoring=scoring)
    if finding.failing:
        fails = [o for o in finding.failing if o.status is Outcome.FAIL and o is not worst]
        soft = [o for o in finding.failing if o.status is Outcome.NOT_SIGNIFICANT and o is not worst]
        extra = ""
        if fails:
            n = len(fails)
            extra += f" {n} other group{'s' if n != 1 else ''} also fall{'s' if n == 1 else ''} outside the limit."
        if soft:
            n = len(soft)
            extra += (
                f" {n} other group{'s are' if n != 1 else ' is'} below the limit on small numbers, not "
                "statistically significant."
            )
        return sentence + extra + notes
    judged = sum(1 for o in outcomes if o.status is Outcome.PASS)
    outside = sum(1 for o in outcomes if o.status is Outcome.NOT_SIGNIFICANT)
    if outside:
        return (
            f"{_count(outside, 'group')} outside the limit without statistical significance; "
            f"{judged} within it. Furthest: {sentence}{notes}"
        )
    groups = "the one judged group is" if judged == 1 else f"all {judged} judged groups are"
    return f"{groups[0].upper()}{groups[1:]} within the limit. Closest to it: {sentence}{notes}"
