"""Judge group-metric rules (one metric, or several: equalized odds) into findings.

A rule judges every group of every scope it covers (each sensitive feature, and their
intersection): the group's ratio or difference against the comparator must lie within the
rule's bounds. Limits are compared exactly: a ratio or difference of counts is a rational number
and is compared as one (``fractions.Fraction``), so 20/30 against 25/30 is exactly 4/5 and meets
"at least 0.8"; a metric that is not a ratio of counts (regression errors) is compared with a
relative tolerance of 1e-9.

Groups that rest on fewer than ``min_count`` people are judged too — with an exact test
(29 CFR § 1607.4(D)): outside the limit and significant → the rule's failing status; outside but
not significant → WARN ("below the limit on small numbers; not statistically significant");
inside the limit with an interval that crosses it, or an undefined metric → INSUFFICIENT_DATA.
A rule that could judge no group at all is INSUFFICIENT_DATA, never PASS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from fractions import Fraction

from audit.errors import PolicyError
from audit.judge import unknowns
from audit.judge.finding import Finding, GroupOutcome, Shortfall
from audit.judge.sentences import explain
from audit.judge.status import Outcome, Status, item_status
from audit.measures.disparities import Comparison, Judging, ScopeDisparity, compare_scope
from audit.measures.groups import Scope
from audit.measures.metrics import EXACT_METRICS, label_of, needs_label
from audit.measures.significance import benjamini_hochberg
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
SMALL_GROUPS = (
    "groups under min_count are judged with an exact test: outside the limit and significant fails; "
    "outside but not significant warns; inside with an interval crossing the limit is insufficient data"
)
#: How a rule on a group's size or share (count, ppr, group_size_share) decides.
EXACT_NOTE = "a group's size or share is exact: compared as it is (no interval, no significance test)"
#: Relative tolerance for limits on values that are not ratios of counts.
RELATIVE_TOLERANCE = 1e-9


def evaluate(
    policy: Policy,
    scopes: tuple[Scope, ...],
    *,
    has_label: bool,
    seed: int = 0,
    scoring: bool = False,
    part: bool = False,
) -> list[Finding]:
    """Every group-metric rule of ``policy`` judged on ``scopes``; ``scoring`` says the decisions are
    scores above the sample median (the findings then speak of LL144's scoring rate). ``part``: the scopes
    count part of the data (a segment, a time window), where a reference group may have nobody — that
    scope is then not judged, rather than the run stopped (the whole data's values: :func:`check_references`).
    """
    return [
        _evaluate_multi(rule, policy, scopes, has_label=has_label, seed=seed, scoring=scoring, part=part)
        if rule.metrics
        else _evaluate_rule(rule, policy, scopes, has_label=has_label, seed=seed, scoring=scoring, part=part)
        for rule in policy.rules
    ]


def check_references(policy: Policy, parts: Sequence[tuple[Scope, ...]]) -> None:
    """Every reference group the rules compare against occurs in at least one of ``parts`` (the time
    windows of one monitoring run): a typo would otherwise leave every window's rule unjudged."""
    present: dict[str, set[str]] = {}
    for scopes in parts:
        for scope in scopes:
            if len(scope.features) == 1:
                present.setdefault(scope.features[0], set()).update(g.label for g in scope.groups)
    for rule in policy.rules:
        if rule.against != "reference":
            continue
        for feature, value in rule.references(policy.groups.reference).items():
            if feature in present and value not in present[feature]:
                values = sorted(present[feature])
                raise PolicyError(
                    f"rule {rule.id!r}: reference group {value!r} does not occur in {feature}",
                    hint=f"values present: {', '.join(values[:12])}{' …' if len(values) > 12 else ''}",
                )


def _evaluate_multi(
    rule: Rule,
    policy: Policy,
    scopes: tuple[Scope, ...],
    *,
    has_label: bool,
    seed: int,
    scoring: bool,
    part: bool = False,
) -> Finding:
    """Each metric judged as a single-metric rule; the rule takes its worst part's status."""
    parts = tuple(
        _evaluate_rule(
            rule.model_copy(update={"metric": m, "metrics": None}),
            policy,
            scopes,
            has_label=has_label,
            seed=seed,
            scoring=scoring,
            part=part,
        )
        for m in rule.metric_names
    )
    return combine(rule, parts)


def combine(rule: Rule, parts: tuple[Finding, ...]) -> Finding:
    order = [Status.FAIL, Status.WARN, Status.INFO, Status.INSUFFICIENT_DATA, Status.WAIVED, Status.PASS]
    status = next(s for s in order if any(p.status is s for p in parts))
    failing = tuple(o for p in parts for o in p.failing)
    candidates = failing or tuple(p.worst for p in parts if p.worst is not None)
    worst = _worst(rule, candidates)
    message = " ".join(f"{label_of(p.rule.metric or '').capitalize()}: {p.message}" for p in parts)
    return Finding(
        rule,
        status,
        worst.comparison.value if worst else None,
        worst,
        tuple(sc for p in parts for sc in p.scopes),
        message,
        sum(p.not_judged for p in parts),
        failing,
        parts,
        tuple(dict.fromkeys(w for p in parts for w in p.waivers)),
        parts[0].scoring if parts else False,
        unknowns.merge(parts),
    )


def _covered(rule: Rule, scopes: tuple[Scope, ...]) -> list[Scope]:
    wanted = rule.features
    out = []
    for scope in scopes:
        if not scope.features:
            continue
        if wanted is None or all(f in wanted for f in scope.features):
            out.append(scope)
    return out


def references_for(policy: Policy, rule: Rule, features: Sequence[str]) -> dict[str, str]:
    """The reference value per feature a rule compares ``features`` against (its own ``reference`` over the
    policy's); one missing stops the run (exit 2) naming the rule — recorded and probabilistic alike."""
    refs = rule.references(policy.groups.reference)
    missing = [f for f in features if f not in refs]
    if missing:
        raise PolicyError(
            f"rule {rule.id!r} compares against a reference group, but neither its `reference` nor "
            f"groups.reference names one for {', '.join(map(repr, missing))}",
            hint="add e.g. `reference: {"
            + f"{missing[0]}: <value>"
            + "}` to the rule (or to groups:) or limit the rule with `features:`",
        )
    return refs


def _reference(policy: Policy, rule: Rule, scope: Scope, *, part: bool = False) -> str | None:
    """The reference group's label for ``scope``; a rule judged against a missing one is an error.

    A reference that names no group in the data would otherwise leave every group unjudged and
    the gate silently open, so it stops the run (exit 2) and lists the values that do exist. In a
    ``part`` of the data (a segment, a window) the group may just have nobody there: the label is
    returned, and the scope is not judged (audit.measures.disparities says why).
    """
    if rule.against != "reference":
        return None
    refs = references_for(policy, rule, scope.features)
    label = " × ".join(refs[f] for f in scope.features)
    present = [g.label for g in scope.groups]
    if label not in present and not part:
        raise PolicyError(
            f"rule {rule.id!r}: reference group {label!r} does not occur in {scope.name}",
            hint=f"values present: {', '.join(present[:12])}{' …' if len(present) > 12 else ''}",
        )
    return label


def _check_rule_reference(rule: Rule, scopes: tuple[Scope, ...]) -> None:
    """A rule's own reference must name sensitive features of this audit (a typo would otherwise be
    silently ignored when the rule's scopes never reach it)."""
    if not rule.reference:
        return
    sensitive = [s.features[0] for s in scopes if len(s.features) == 1]
    unknown = [f for f in rule.reference if f not in sensitive]
    if unknown:
        raise PolicyError(
            f"rule {rule.id!r}: its reference names {unknown[0]!r}, which is not a sensitive feature of this audit",
            hint=f"sensitive features: {', '.join(sensitive) or 'none'}",
        )


# --- comparing with a limit, exactly --------------------------------------------------------


def exact_value(rule: Rule, disparity: ScopeDisparity, c: Comparison) -> Fraction | None:
    """The comparison as a rational number when both metrics are ratios of whole counts, else None."""
    comparator = disparity.comparator
    if comparator is None or rule.metric is None:
        return None
    a, b = c.group.metrics[rule.metric], comparator.metrics[rule.metric]
    if rule.metric == "count":  # group sizes: whole numbers
        if a.numerator is None or b.numerator is None:
            return None
        if rule.compare == "ratio":
            return None if b.numerator == 0 else Fraction(a.numerator, b.numerator)
        size_gap = Fraction(a.numerator - b.numerator)
        return abs(size_gap) if rule.compare == "absolute_difference" else size_gap
    parts = [x for x in (a.numerator, a.denominator, b.numerator, b.denominator) if x is not None]
    if len(parts) < 4 or not all(float(x).is_integer() for x in parts):
        return None
    an, ad, bn, bd = (int(x) for x in parts)
    if ad == 0 or bd == 0:
        return None
    if rule.compare == "ratio":
        return None if bn == 0 else Fraction(an * bd, ad * bn)
    if rule.compare == "odds_ratio":  # (an / (ad − an)) / (bn / (bd − bn))
        return None if an == ad or bn in (0, bd) else Fraction(an * (bd - bn), (ad - an) * bn)
    diff = Fraction(an, ad) - Fraction(bn, bd)
    return abs(diff) if rule.compare == "absolute_difference" else diff


def _bound(x: float) -> Fraction:
    # the shortest decimal that reads back as the float is what the policy's author wrote (0.8 → 4/5)
    return Fraction(repr(float(x)))


def within(rule: Rule, value: float | Fraction) -> bool:
    """Inside [min_value, max_value] (or the open interval when ``strict_bounds``); exact for a
    Fraction, within a relative tolerance of 1e-9 for a float."""
    strict = getattr(rule, "strict_bounds", False)
    for bound, below in ((rule.min_value, True), (rule.max_value, False)):
        if bound is None:
            continue
        if isinstance(value, Fraction):
            limit: Fraction | float = _bound(bound)
            at = value == limit
        else:
            limit = bound
            at = math.isclose(value, bound, rel_tol=RELATIVE_TOLERANCE, abs_tol=RELATIVE_TOLERANCE)
        if at:
            if strict:
                return False
            continue
        if (value < limit) if below else (value > limit):
            return False
    return True


def _whole_interval_outside(rule: Rule, ci: tuple[float, float]) -> bool:
    low, high = ci
    below = rule.min_value is not None and not within(rule.model_copy(update={"max_value": None}), high)
    above = rule.max_value is not None and not within(rule.model_copy(update={"min_value": None}), low)
    return below or above


def _decide(rule: Rule, c: Comparison, value: Fraction | float, alpha: float) -> tuple[Outcome, str | None]:
    """(outcome, note) for one judged comparison whose ``value`` (exact when it can be) is defined, under the
    rule's decision mode."""
    crossed = not within(rule, value)
    significant = c.p_adjusted is not None and c.p_adjusted < alpha
    if c.small:
        if crossed:
            if c.p_adjusted is None:
                return Outcome.NOT_SIGNIFICANT, "small numbers and no exact test for this metric"
            return (Outcome.FAIL, None) if significant else (Outcome.NOT_SIGNIFICANT, None)
        if c.ci is None or not (within(rule, c.ci[0]) and within(rule, c.ci[1])):
            return Outcome.INCONCLUSIVE, None
        return Outcome.PASS, None
    mode = rule.decide_on
    if mode == "point":
        return (Outcome.FAIL if crossed else Outcome.PASS), None
    if mode == "practical_significance":
        if c.p_adjusted is None:
            return (
                Outcome.FAIL if crossed else Outcome.PASS
            ), "no significance test for this metric: decided on the estimate"  # noqa: E501
        if not crossed:
            return Outcome.PASS, None
        return (Outcome.FAIL if significant else Outcome.NOT_SIGNIFICANT), None
    if c.ci is None:
        return (Outcome.FAIL if crossed else Outcome.PASS), "no interval for this comparison: decided on the estimate"
    if mode == "whole_interval":
        if _whole_interval_outside(rule, c.ci):
            return Outcome.FAIL, None
        return (Outcome.NOT_SIGNIFICANT if crossed else Outcome.PASS), None
    low, high = c.ci  # any_interval
    return (Outcome.FAIL if crossed or not (within(rule, low) and within(rule, high)) else Outcome.PASS), None


def _adjust(evaluated: list[ScopeDisparity]) -> list[ScopeDisparity]:
    """Benjamini–Hochberg across every tested comparison the rule makes."""
    tested = [
        (i, j, c.p_value) for i, d in enumerate(evaluated) for j, c in enumerate(d.comparisons) if c.p_value is not None
    ]
    adjusted = benjamini_hochberg([p for _, _, p in tested])
    rows = [list(d.comparisons) for d in evaluated]
    for (i, j, _), p in zip(tested, adjusted, strict=True):
        rows[i][j] = dataclasses.replace(rows[i][j], p_adjusted=p)
    return [dataclasses.replace(d, comparisons=tuple(r)) for d, r in zip(evaluated, rows, strict=True)]


def _evaluate_rule(
    rule: Rule,
    policy: Policy,
    scopes: tuple[Scope, ...],
    *,
    has_label: bool,
    seed: int,
    scoring: bool = False,
    part: bool = False,
) -> Finding:
    (metric,) = rule.metric_names  # one: a multi-metric rule comes here once per metric
    if needs_label(metric) and not has_label:
        return Finding(
            rule,
            Status.INSUFFICIENT_DATA,
            None,
            None,
            (),
            f"Not evaluated: {label_of(metric)} needs the true outcome, and no label column was given.",
        )
    judging = Judging(
        min_count=rule.min_count or policy.groups.min_count,
        include_unknown=policy.groups.include_unknown,
        exclude_below_share=policy.groups.exclude_below_share,
        level=policy.confidence_level,
        seed=seed,
    )
    _check_rule_reference(rule, scopes)
    disparities = _adjust(
        [
            compare_scope(
                scope,
                metric=metric,
                compare=rule.compare,
                against=rule.against,
                reference=_reference(policy, rule, scope, part=part),
                judging=judging,
            )
            for scope in _covered(rule, scopes)
        ]
    )
    alpha = 1 - policy.confidence_level
    mode = unknowns.mode_of(rule, policy)

    def inside(v: Fraction) -> bool:
        return within(rule, v)

    evaluated = tuple(
        (
            d,
            unknowns.on_unknowns(
                rule, mode, d, tuple(_outcome(rule, c, d, alpha) for c in d.comparisons), inside=inside
            ),
        )
        for d in disparities
    )
    bounds = unknowns.sensitivity(rule, mode, evaluated, inside=inside)
    return conclude(
        Finding(rule, Status.PASS, None, None, evaluated, "", scoring=scoring, unknowns=bounds),
        level=policy.confidence_level,
    )


def conclude(finding: Finding, *, level: float) -> Finding:
    """The finding's status, headline group and sentence from its groups' outcomes (again after a
    waiver changed some of them)."""
    rule = finding.rule
    outcomes = [o for _, outs in finding.scopes for o in outs]
    judged = [o for o in outcomes if o.status in _JUDGED]
    failing = tuple(o for o in outcomes if o.status is Outcome.FAIL)
    soft = tuple(o for o in outcomes if o.status is Outcome.NOT_SIGNIFICANT and o.comparison.small)
    not_judged = sum(1 for o in outcomes if o.status in (Outcome.NOT_JUDGED, Outcome.INCONCLUSIVE))
    # a scope in which no group could be compared leaves the rule unanswered there: never a PASS
    unanswered = any(d.comparator is None for d, _ in finding.scopes)
    status = item_status(
        (o.status for o in outcomes), severity=rule.severity, small_softened=bool(soft), has_unanswered=unanswered
    )
    if status is Status.PASS and any(o.status is Outcome.WAIVED for o in outcomes):
        status = Status.WAIVED
    # the headline names a single-feature group when one fails (clearer than an intersection)
    flagged = failing or soft
    single = tuple(o for o in flagged if len(o.comparison.group.features) == 1)
    worst = _worst(rule, single or flagged or judged)
    updated = dataclasses.replace(
        finding,
        status=status,
        worst=worst,
        observed=worst.comparison.value if worst else None,
        not_judged=not_judged,
        failing=failing + soft,
    )
    return dataclasses.replace(updated, message=explain(updated, level=level, scoring=finding.scoring))


_JUDGED = (Outcome.PASS, Outcome.FAIL, Outcome.NOT_SIGNIFICANT, Outcome.WAIVED)


def _outcome(rule: Rule, comparison: Comparison, disparity: ScopeDisparity, alpha: float) -> GroupOutcome:
    if disparity.comparator is not None and comparison.group is disparity.comparator:
        return GroupOutcome(comparison, Outcome.COMPARATOR)
    if not comparison.judged or comparison.value is None:
        # a defined-but-unjudged group is policy-excluded (unknown, under a share); an undefined
        # metric among judged groups leaves that group's question open
        undefined = (
            disparity.comparator is not None
            and comparison.reason is not None
            and not comparison.group.has_unknown
            and "under" not in comparison.reason
            and comparison.group.n > 0
        )
        return GroupOutcome(comparison, Outcome.INCONCLUSIVE if undefined else Outcome.NOT_JUDGED)
    exact = exact_value(rule, disparity, comparison)
    if rule.metric in EXACT_METRICS:  # a size or share, exact: compared as it is, whatever decide_on says
        crossed = not within(rule, exact if exact is not None else comparison.value)
        return GroupOutcome(comparison, Outcome.FAIL if crossed else Outcome.PASS, EXACT_NOTE)
    status, note = _decide(rule, comparison, exact if exact is not None else comparison.value, alpha)
    return GroupOutcome(comparison, status, note, shortfall(rule, disparity, comparison))


def shortfall(rule: Rule, disparity: ScopeDisparity, c: Comparison) -> Shortfall | None:
    """For a selection-rate ratio below the rule's ``min_value``: the fewest additional favourable
    decisions (of the group's own people, the comparator unchanged) that bring the group's rate to the
    limit, and to the comparator's rate (parity). With k of n selected and the comparator at kc of nc,
    reaching ratio r takes the smallest whole x with (k + x) / n ≥ r · kc / nc, i.e.
    ⌈r · kc · n / nc − k⌉ (one more when the bound is strict and that lands exactly on it); computed on
    exact fractions. None for any other rule, and for a group within the limit."""
    ref = disparity.comparator
    if rule.metric != "selection_rate" or rule.compare != "ratio" or rule.min_value is None or ref is None:
        return None
    a, b = c.group.metrics["selection_rate"], ref.metrics["selection_rate"]
    if c.group is ref or None in (a.numerator, a.denominator, b.numerator, b.denominator) or not b.denominator:
        return None
    k, n, kc, nc = int(a.numerator or 0), int(a.denominator or 0), int(b.numerator or 0), int(b.denominator or 0)
    if n == 0 or kc == 0 or within(rule.model_copy(update={"max_value": None}), Fraction(k * nc, n * kc)):
        return None

    def needed(ratio: Fraction, strict: bool) -> int:
        gap = ratio * kc * n / nc - k
        x = math.floor(gap) + 1 if strict and gap.denominator == 1 else math.ceil(gap)
        return max(0, x)

    return Shortfall(needed(_bound(rule.min_value), rule.strict_bounds), needed(Fraction(1), False))


def _worst(rule: Rule, outcomes: Sequence[GroupOutcome]) -> GroupOutcome | None:
    if not outcomes:
        return None

    # Distance outside (or to) the nearest bound; ties broken by scope then group order.
    def badness(o: GroupOutcome) -> float:
        v = o.comparison.value
        if v is None:  # only judged groups come here, and a judged group has a value
            return float("-inf")
        lo = rule.min_value - v if rule.min_value is not None else float("-inf")
        hi = v - rule.max_value if rule.max_value is not None else float("-inf")
        return max(lo, hi)

    return max(outcomes, key=badness)
