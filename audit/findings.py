"""Evaluate each policy rule into a Finding, and the findings into a verdict.

A rule judges every group of every scope it covers (each sensitive feature, and their
intersection): the group's ratio or difference against the comparator must lie within the
rule's bounds. Groups too small to judge are listed, not silently passed; a rule that could judge
no group at all is INSUFFICIENT_DATA, never PASS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from audit.errors import PolicyError
from audit.measures.disparities import Comparison, Judging, ScopeDisparity, compare_scope
from audit.measures.groups import Scope
from audit.measures.metrics import label_of, needs_label
from audit.measures.significance import benjamini_hochberg, p_text
from audit.policy.schema import Policy, Rule

DECISION_MODES = {
    "point": "a group fails when its estimate is outside the bounds",
    "whole_interval": "a group fails only when its whole confidence interval is outside the bounds",
    "any_interval": "a group fails when any part of its confidence interval is outside the bounds",
    "practical_significance": (
        "a group fails when its estimate is outside the bounds and the difference is statistically "
        "significant (Benjamini–Hochberg-adjusted p below 1 − confidence level)"
    ),
}


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
    WAIVED = "WAIVED"  # failed, but every failing group is covered by a waiver that has not expired
    INFO = "INFO"  # an info-severity rule outside its bounds: shown for context, never gates


_VERDICT_ORDER = [Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA, Status.PASS]


def failing_status(severity: str) -> Status:
    """The status of a rule whose bounds were crossed, by its severity."""
    return {"block": Status.FAIL, "warn": Status.WARN}.get(severity, Status.INFO)


@dataclass(frozen=True)
class GroupOutcome:
    comparison: Comparison
    status: str  # PASS | FAIL | COMPARATOR | NOT_JUDGED
    note: str | None = None  # how the decision was reached when it is not the plain rule


@dataclass(frozen=True)
class Finding:
    rule: Rule
    status: Status
    observed: float | None
    worst: GroupOutcome | None
    scopes: tuple[tuple[ScopeDisparity, tuple[GroupOutcome, ...]], ...]
    message: str
    not_judged: int = 0
    failing: tuple[GroupOutcome, ...] = field(default=())
    parts: tuple[Finding, ...] = ()  # a multi-metric rule: one finding per metric
    waivers: tuple[str, ...] = ()  # sentences about the waivers that applied or expired


def evaluate(policy: Policy, scopes: tuple[Scope, ...], *, has_label: bool, seed: int = 0) -> list[Finding]:
    from audit.policy.rules import multi_metric

    return [multi_metric.evaluate(rule, policy, scopes, has_label=has_label, seed=seed) if rule.metrics
            else _evaluate_rule(rule, policy, scopes, has_label=has_label, seed=seed) for rule in policy.rules]


def verdict(findings: list[Finding], extra: tuple[str, ...] = ()) -> Status:
    """FAIL > WARN > INSUFFICIENT_DATA > PASS over rule findings and other checks' statuses.

    Info-severity rules never count; WAIVED and INFO statuses count as PASS.
    """
    statuses = {f.status for f in findings if f.rule.severity != "info"} | {Status(s) for s in extra}
    return next(s for s in _VERDICT_ORDER if s in statuses or s is Status.PASS)


def _covered(rule: Rule, scopes: tuple[Scope, ...]) -> list[Scope]:
    wanted = rule.features
    out = []
    for scope in scopes:
        if not scope.features:
            continue
        if wanted is None or all(f in wanted for f in scope.features):
            out.append(scope)
    return out


def _reference(policy: Policy, rule: Rule, scope: Scope) -> str | None:
    """The reference group's label for ``scope``; a rule judged against a missing one is an error.

    A reference that names no group in the data would otherwise leave every group unjudged and
    the gate silently open, so it stops the run (exit 2) and lists the values that do exist.
    """
    if rule.against != "reference":
        return None
    refs = policy.groups.reference
    missing = [f for f in scope.features if f not in refs]
    if missing:
        raise PolicyError(
            f"rule {rule.id!r} compares against a reference group, but groups.reference names none "
            f"for {', '.join(map(repr, missing))}",
            hint="add e.g. `groups: {reference: {" + f"{missing[0]}: <value>" + "}}` or limit the rule with `features:`",  # noqa: E501
        )
    label = " × ".join(refs[f] for f in scope.features)
    present = [g.label for g in scope.groups]
    if label not in present:
        raise PolicyError(
            f"rule {rule.id!r}: reference group {label!r} does not occur in {scope.name}",
            hint=f"values present: {', '.join(present[:12])}{' …' if len(present) > 12 else ''}",
        )
    return label


def _within(rule: Rule, value: float) -> bool:
    if rule.min_value is not None and value < rule.min_value:
        return False
    return not (rule.max_value is not None and value > rule.max_value)


def _whole_interval_outside(rule: Rule, ci: tuple[float, float]) -> bool:
    low, high = ci
    return (rule.min_value is not None and high < rule.min_value) or (
        rule.max_value is not None and low > rule.max_value)


def _decide(rule: Rule, c: Comparison, alpha: float) -> tuple[bool, str | None]:
    """(fails, note) for one judged comparison under the rule's decision mode."""
    crossed = not _within(rule, c.value)
    mode = rule.decide_on
    if mode == "point":
        return crossed, None
    if mode == "practical_significance":
        if c.p_adjusted is None:
            return crossed, "no significance test for this metric: decided on the estimate"
        return crossed and c.p_adjusted < alpha, None
    if c.ci is None:
        return crossed, "no interval for this comparison: decided on the estimate"
    if mode == "whole_interval":
        return _whole_interval_outside(rule, c.ci), None
    low, high = c.ci  # any_interval
    return crossed or not (_within(rule, low) and _within(rule, high)), None


def _adjust(evaluated: list[ScopeDisparity]) -> list[ScopeDisparity]:
    """Benjamini–Hochberg across every tested comparison the rule makes."""
    tested = [(i, j) for i, d in enumerate(evaluated) for j, c in enumerate(d.comparisons) if c.p_value is not None]
    adjusted = benjamini_hochberg([evaluated[i].comparisons[j].p_value for i, j in tested])
    rows = [list(d.comparisons) for d in evaluated]
    for (i, j), p in zip(tested, adjusted, strict=True):
        rows[i][j] = dataclasses.replace(rows[i][j], p_adjusted=p)
    return [dataclasses.replace(d, comparisons=tuple(r)) for d, r in zip(evaluated, rows, strict=True)]


def _evaluate_rule(
    rule: Rule, policy: Policy, scopes: tuple[Scope, ...], *, has_label: bool, seed: int
) -> Finding:
    if needs_label(rule.metric) and not has_label:
        return Finding(rule, Status.INSUFFICIENT_DATA, None, None, (),
                       f"Not evaluated: {label_of(rule.metric)} needs the true outcome, and no label column was given.")
    judging = Judging(
        min_count=rule.min_count or policy.groups.min_count,
        include_unknown=policy.groups.include_unknown,
        exclude_below_share=policy.groups.exclude_below_share,
        level=policy.confidence_level, seed=seed,
    )
    disparities = _adjust([
        compare_scope(scope, metric=rule.metric, compare=rule.compare, against=rule.against,
                      reference=_reference(policy, rule, scope), judging=judging)
        for scope in _covered(rule, scopes)
    ])
    alpha = 1 - policy.confidence_level
    evaluated = [(d, tuple(_outcome(rule, c, d, alpha) for c in d.comparisons)) for d in disparities]
    judged = [o for _, outs in evaluated for o in outs if o.status in ("PASS", "FAIL")]
    failing = tuple(o for o in judged if o.status == "FAIL")
    not_judged = sum(1 for _, outs in evaluated for o in outs if o.status == "NOT_JUDGED")
    # a scope in which no group could be judged leaves the rule unanswered there: never a PASS
    unjudged_scopes = [d.scope.name for d, _ in evaluated if d.comparator is None]
    if failing:
        status = failing_status(rule.severity)
    elif not judged or unjudged_scopes:
        status = Status.INSUFFICIENT_DATA
    else:
        status = Status.PASS
    # the headline names a single-feature group when one fails (clearer than an intersection)
    single = tuple(o for o in failing if len(o.comparison.group.features) == 1)
    worst = _worst(rule, single or failing or judged)
    observed = worst.comparison.value if worst else None
    finding = Finding(rule, status, observed, worst, tuple(evaluated), "", not_judged, failing)
    return Finding(rule, status, observed, worst, tuple(evaluated),
                   explain(finding, evaluated, level=policy.confidence_level), not_judged, failing)


def restate(finding: Finding, *, level: float) -> Finding:
    """The finding's headline again after some groups' outcomes changed (a waiver): the worst group
    still failing, how many others fail, and the sentence."""
    judged = [o for _, outs in finding.scopes for o in outs if o.status in ("PASS", "FAIL")]
    failing = tuple(o for o in judged if o.status == "FAIL")
    single = tuple(o for o in failing if len(o.comparison.group.features) == 1)
    worst = _worst(finding.rule, single or failing or judged)
    updated = dataclasses.replace(finding, worst=worst, observed=worst.comparison.value if worst else None,
                                  failing=failing)
    return dataclasses.replace(updated, message=explain(updated, finding.scopes, level=level))


def _outcome(rule: Rule, comparison: Comparison, disparity: ScopeDisparity, alpha: float) -> GroupOutcome:
    if disparity.comparator is not None and comparison.group is disparity.comparator:
        return GroupOutcome(comparison, "COMPARATOR")
    if not comparison.judged or comparison.value is None:
        return GroupOutcome(comparison, "NOT_JUDGED")
    fails, note = _decide(rule, comparison, alpha)
    return GroupOutcome(comparison, "FAIL" if fails else "PASS", note)


def _worst(rule: Rule, outcomes) -> GroupOutcome | None:
    if not outcomes:
        return None
    # Distance outside (or to) the nearest bound; ties broken by scope then group order.
    def badness(o: GroupOutcome) -> float:
        v = o.comparison.value
        lo = rule.min_value - v if rule.min_value is not None else float("-inf")
        hi = v - rule.max_value if rule.max_value is not None else float("-inf")
        return max(lo, hi)
    return max(outcomes, key=badness)


# --- plain-language sentences ------------------------------------------------------------

def _value(metric: str, x: float) -> str:
    """A metric's own value: a rate as a percentage, a regression error or mean as a number."""
    from audit.measures.metrics import COMPOSITE, REGISTRY

    return f"{x:.1%}" if metric in REGISTRY or metric in COMPOSITE else f"{x:.3g}"


def _pct(x: float) -> str:
    # one decimal, so that a failing 79.6% never reads as "80%" next to "at least 80%"
    return f"{x * 100:.1f}%".replace(".0%", "%")


def _points(x: float) -> str:
    return f"{x * 100:.1f} percentage points"


def _comparator_phrase(d: ScopeDisparity) -> str:
    c = d.comparator
    assert c is not None
    if d.against == "reference":
        return f"{c.label}, the reference group"
    return f"{c.label}, the {'highest' if d.against == 'max' else 'lowest'} group"


def _requirement(rule: Rule) -> str:
    fmt = _pct if rule.compare == "ratio" else _points
    if rule.severity != "block":  # a warning (or info) rule flags; it does not require
        parts = ([f"below {fmt(rule.min_value)}"] if rule.min_value is not None else []) + (
            [f"above {fmt(rule.max_value)}"] if rule.max_value is not None else [])
        return "the policy flags values " + " or ".join(parts)
    parts = ([f"at least {fmt(rule.min_value)}"] if rule.min_value is not None else []) + (
        [f"at most {fmt(rule.max_value)}"] if rule.max_value is not None else [])
    verb = "requires" if rule.min_value is not None else "allows"
    return f"the policy {verb} " + " and ".join(parts)


def describe(rule: Rule, outcome: GroupOutcome, disparity: ScopeDisparity, level: float) -> str:
    """One sentence about one group's comparison, e.g. for the executive summary."""
    c = outcome.comparison
    g, ref = c.group, disparity.comparator
    assert ref is not None and c.value is not None
    metric = label_of(rule.metric)
    a, b = g.metrics[rule.metric].value, ref.metrics[rule.metric].value
    ci = f" ({_pct(level)} CI {_fmt_ci(rule, c.ci)})" if c.ci else ""
    if rule.compare == "ratio":
        if rule.metric == "selection_rate":
            head = f"{g.label} ({disparity.scope.name}) was selected at {_pct(c.value)} of the rate of {_comparator_phrase(disparity)}"  # noqa: E501
        else:
            head = (f"The {metric} of {g.label} ({disparity.scope.name}) is {_pct(c.value)} of that of "
                    f"{_comparator_phrase(disparity)}")
        head += f"{ci} — {_value(rule.metric, a)} vs {_value(rule.metric, b)}"
    else:
        direction = "below" if a < b else "above"
        head = (f"The {metric} of {g.label} ({disparity.scope.name}) is {_points(abs(a - b))} {direction} "
                f"that of {_comparator_phrase(disparity)}{ci} — {_value(rule.metric, a)} vs {_value(rule.metric, b)}")
    test = ""
    if c.p_adjusted is not None:
        significant = "significant" if c.p_adjusted < 1 - level else "not significant"
        test = f" (difference {significant}: {p_text(c.p_adjusted)}, BH-adjusted)"
    return f"{head}{test}; {_requirement(rule)}."


def _fmt_ci(rule: Rule, ci: tuple[float, float]) -> str:
    if rule.compare == "ratio":
        return f"{_pct(ci[0])}–{_pct(ci[1])}"
    return f"{ci[0] * 100:.1f}–{ci[1] * 100:.1f} points"


def _unjudged_detail(d: ScopeDisparity) -> str:
    sizes = [f"{c.group.label} ({c.group.n})" for c in d.comparisons if not c.group.has_unknown]
    return f"{d.scope.name} [{', '.join(sizes[:6])}{' …' if len(sizes) > 6 else ''}]"


def explain(finding: Finding, evaluated, *, level: float) -> str:
    rule = finding.rule
    n = finding.not_judged
    small = (f" {n} group{'s' if n != 1 else ''} could not be judged (too small, undefined or unknown)."
             if n else "")
    if finding.status is Status.INSUFFICIENT_DATA:
        unjudged = [d for d, _ in evaluated if d.comparator is None]
        where = ", ".join(_unjudged_detail(d) for d in unjudged) or "any scope"
        head = f"Not enough data to judge {label_of(rule.metric)} in {where}."
        if finding.worst is not None:
            disparity = next(d for d, outs in evaluated if finding.worst in outs)
            head += f" Elsewhere: {describe(rule, finding.worst, disparity, level)}"
        return head + small
    worst = finding.worst
    assert worst is not None
    disparity = next(d for d, outs in evaluated if worst in outs)
    sentence = describe(rule, worst, disparity, level)
    if finding.failing:
        more = len(finding.failing) - 1
        extra = (f" {more} other group{'s' if more != 1 else ''} also fall{'s' if more == 1 else ''} outside the limit."
                 if more else "")
        return sentence + extra + small
    judged = sum(1 for _, outs in evaluated for o in outs if o.status == "PASS")
    groups = "the one judged group is" if judged == 1 else f"all {judged} judged groups are"
    return f"{groups[0].upper()}{groups[1:]} within the limit. Closest to it: {sentence}{small}"
