"""The policy's rules judged on a probabilistic feature (group membership estimated by a proxy).

**What is judged.** Each rule that applies to the feature (no ``features:``, or one naming it) becomes
one judged item, ``RULE.FEATURE`` (e.g. ``selection-rate-impact-ratio.race``), in the list every
printer walks and the gate reads: a blocking rule failing on the proxy fails the audit. Each
intersection with recorded features the policy's ``groups.intersections`` asks for (``true``: with
every recorded feature together; a list: the combinations naming the feature) is one more item,
``RULE.SCOPE`` (``selection-rate-impact-ratio.race × sex``), for the rules whose ``features:`` cover
all of the scope's features; its groups (``black × F``) are judged the same way among themselves,
their bounds computed within their recorded group (audit.measures.proba). Each group is judged on
its **weighted estimate** (expected counts: the estimator the CFPB applies to BISG) with its
**sampling interval**, under the rule's ``decide_on`` exactly as a recorded feature is:

* ``point``: outside the limit fails;
* ``whole_interval``: fails when the whole interval is outside (outside with the interval crossing:
  not significant, the group passes);
* ``any_interval``: fails when any part of the interval is outside;
* ``practical_significance``: outside the limit *and* the interval excludes parity (1 for a ratio,
  0 for a difference) — the interval stands in for the significance test; no multiple-testing
  adjustment.

A group whose expected size is under ``min_count`` is judged as a small recorded group is, with the
interval in place of the exact test: outside the limit and excluding parity fails; outside without
that warns; inside with an interval crossing the limit is insufficient data. The comparator is chosen
among the groups that reach ``min_count``; when none does, the item is INSUFFICIENT_DATA.

A weighted estimate is a float (a ratio of expected counts), so it is compared with the limit within
the relative tolerance :func:`audit.judge.rules.within` uses for floats; there is no exact-fraction
path.

**The bounds are shown, not judged.** Beside each group, the partial-identification bounds (every
value consistent with the proxy without assuming group and outcome independent given its inputs;
narrowed by the people whose group is self-reported) are classified: PASS when every value in them
meets the limit, FAIL when none does, INCONCLUSIVE when they straddle it — and the finding's sentence
says so when they straddle the limit of a failing or passing group: the proxy alone cannot settle it.

Metrics that are not one ratio of expected counts (F1, balanced accuracy, counts), ``compare:
odds_ratio``, and label metrics without a label are INSUFFICIENT_DATA on the feature, never PASS.
Waivers name the rule's id and, optionally, a group (``black`` or ``race=black``), as for a recorded
feature; an intersection group by its label (``black × F``), its values joined by ``&`` in any order
(``black & F``), or ``feature=value`` pairs (``race=black&sex=F``). Groups with a missing recorded
value are judged only under ``groups.include_unknown``, as recorded groups are.

Within segments, score bands and time windows the rules are judged the same way on each part's own
expected counts (audit.judge.proxy_segments).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.errors import PolicyError
from audit.judge.core import JudgedItem
from audit.judge.rules import references_for, within
from audit.judge.sentences import interval_text, limit_text, span_text, value_text
from audit.judge.status import Outcome, Status, item_status
from audit.judge.waivers import WaiverRecord
from audit.measures.metrics import label_of, needs_label
from audit.measures.proba import ProbaScope, ProxyDisparity, disparities, group_estimates, scope_of, supported
from audit.util.suggest import did_you_mean

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import numpy as np

    from audit.policy.schema import Policy, Rule, Waiver
    from audit.tables.proba import ProbaTable

#: The judged item's kind in results.json ``items``.
KIND = "proxy_rule"
SMALL_NOTE = "expected size under min_count: judged with the sampling interval in place of an exact test"


@dataclass(frozen=True)
class ProxyGroup:
    """One group of one rule on the probabilistic feature."""

    disparity: ProxyDisparity
    outcome: Outcome  # under the rule's decide_on (or as a small group); WAIVED after a waiver
    bounds_outcome: Outcome | None  # PASS / FAIL / INCONCLUSIVE over the (narrowed) bounds
    unnarrowed: tuple[float | None, float | None] | None = None  # bounds without the self-reported rows
    note: str | None = None


@dataclass(frozen=True)
class ProxyCheck:
    """One metric of one rule on the probabilistic feature."""

    rule: Rule
    metric: str
    groups: tuple[ProxyGroup, ...]
    status: Status
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The check in results.json (``proxy.rules``, or an intersection's ``rules``, whose groups also
        name their ``features``)."""
        return {
            "rule_id": self.rule.id,
            "metric": self.metric,
            "compare": self.rule.compare,
            "against": self.rule.against,
            "min_value": self.rule.min_value,
            "max_value": self.rule.max_value,
            "decide_on": self.rule.decide_on,
            "status": self.status.value,
            "message": self.message,
            "groups": [
                {
                    "group": g.disparity.level,
                    **({"features": dict(g.disparity.features)} if len(g.disparity.features) > 1 else {}),
                    "comparator": g.disparity.comparator,
                    "expected_n": g.disparity.expected_n,
                    "small": g.disparity.small,
                    "estimate": g.disparity.value,
                    "ci": None if g.disparity.ci is None else list(g.disparity.ci),
                    "bounds": None if g.disparity.bounds is None else list(g.disparity.bounds),
                    **({"bounds_without_self_reported": list(g.unnarrowed)} if g.unnarrowed is not None else {}),
                    "most_likely_group_estimate": g.disparity.likely,
                    "outcome": g.outcome.value,
                    "bounds_outcome": None if g.bounds_outcome is None else g.bounds_outcome.value,
                    "note": g.note,
                }
                for g in self.groups
            ],
        }


@dataclass(frozen=True)
class ProxyFinding:
    """A rule judged on the probabilistic feature, alone or in one intersection: one judged item
    (``RULE.FEATURE``, ``RULE.SCOPE``)."""

    rule: Rule
    scope: str  # "race", or "race × sex"
    parts: tuple[ProxyCheck, ...]  # one per metric
    status: Status
    message: str
    waivers: tuple[str, ...] = ()
    features: tuple[str, ...] = ()  # the scope's features (the probabilistic one alone: empty)

    @property
    def id(self) -> str:
        return f"{self.rule.id}.{self.scope}"

    @property
    def intersection(self) -> bool:
        return len(self.features) > 1

    def item(self) -> JudgedItem:
        title = f"{self.rule.title} — {self.scope} (estimated by proxy)"
        return JudgedItem(KIND, self.id, title, self.status, self.rule.severity, self.message, self.waivers)


# --- one group ----------------------------------------------------------------------------------


def bounds_outcome(rule: Rule, bounds: tuple[float | None, float | None] | None) -> Outcome | None:
    """PASS: every value in the bounds meets the limit; FAIL: none does; else INCONCLUSIVE. An end
    that is None is unbounded (a ratio whose comparator may be 0)."""
    if bounds is None:
        return None
    low = -math.inf if bounds[0] is None else bounds[0]
    high = math.inf if bounds[1] is None else bounds[1]
    if all(math.isfinite(x) and within(rule, x) for x in (low, high)):  # both ends in: all between too
        return Outcome.PASS
    below = rule.min_value is not None and high < rule.min_value and not within(rule, high)
    above = rule.max_value is not None and low > rule.max_value and not within(rule, low)
    return Outcome.FAIL if below or above else Outcome.INCONCLUSIVE


def _excludes_parity(compare: str, ci: tuple[float, float]) -> bool:
    parity = 1.0 if compare == "ratio" else 0.0
    return ci[0] > parity or ci[1] < parity


def _whole_outside(rule: Rule, ci: tuple[float, float]) -> bool:
    below = rule.min_value is not None and ci[1] < rule.min_value and not within(rule, ci[1])
    above = rule.max_value is not None and ci[0] > rule.max_value and not within(rule, ci[0])
    return below or above


def decide(rule: Rule, d: ProxyDisparity) -> tuple[Outcome, str | None]:
    """One group's outcome from its weighted estimate and sampling interval (see the module docstring)."""
    if d.value is None:
        return Outcome.INCONCLUSIVE, "no estimate (the comparator's rate is 0)"
    crossed = not within(rule, d.value)
    ci = d.ci
    if d.small:
        if ci is None:
            return (Outcome.NOT_SIGNIFICANT if crossed else Outcome.INCONCLUSIVE), SMALL_NOTE + " (none here)"
        if crossed:
            return (Outcome.FAIL if _excludes_parity(rule.compare, ci) else Outcome.NOT_SIGNIFICANT), SMALL_NOTE
        inside = within(rule, ci[0]) and within(rule, ci[1])
        return (Outcome.PASS if inside else Outcome.INCONCLUSIVE), SMALL_NOTE
    mode = rule.decide_on
    if mode == "point":
        return (Outcome.FAIL if crossed else Outcome.PASS), None
    if ci is None:
        return (Outcome.FAIL if crossed else Outcome.PASS), "no sampling interval: decided on the estimate"
    if mode == "whole_interval":
        if _whole_outside(rule, ci):
            return Outcome.FAIL, None
        return (Outcome.NOT_SIGNIFICANT if crossed else Outcome.PASS), None
    if mode == "any_interval":
        inside = within(rule, ci[0]) and within(rule, ci[1])
        return (Outcome.FAIL if crossed or not inside else Outcome.PASS), None
    if not crossed:  # practical_significance
        return Outcome.PASS, None
    return (Outcome.FAIL if _excludes_parity(rule.compare, ci) else Outcome.NOT_SIGNIFICANT), None


# --- one rule -----------------------------------------------------------------------------------


def _applies(rule: Rule, features: Sequence[str]) -> bool:
    """No ``features:``, or one naming every feature of the scope (as a recorded scope is covered)."""
    return rule.features is None or all(f in rule.features for f in features)


def _reference(policy: Policy, rule: Rule, scope: ProbaScope) -> str | None:
    """The reference group's label in ``scope`` (``white``, ``white × M``): the rule's own reference per
    feature over the policy's; None unless the rule compares ``against: reference``.

    As for recorded features (audit.judge.rules), a missing reference would leave every group unjudged
    and the gate silently open: it stops the run (exit 2) naming the rule (a value that is not a group of
    the probabilistic feature: :func:`check_reference_levels`).
    """
    if rule.against != "reference":
        return None
    refs = references_for(policy, rule, scope.features)
    return " × ".join(refs[f] for f in scope.features)


def check_reference_levels(policy: Policy, feature: str, levels: Sequence[str]) -> None:
    """A reference naming no level of the probabilistic ``feature`` (a typo: ``whte``) stops the run (exit
    2) naming the rule and the levels — the recorded features' values are checked by their own judge."""
    for rule in policy.rules:
        if rule.against != "reference":
            continue
        value = rule.references(policy.groups.reference).get(feature)
        if value is not None and value not in levels:
            raise PolicyError(
                f"rule {rule.id!r}: reference group {value!r} is not a group of {feature}",
                hint=f"{did_you_mean(value, levels)}groups of {feature}: {', '.join(levels)}",
            )


def _not_evaluated(rule: Rule, metric: str, *, has_label: bool) -> str | None:
    if not supported(metric):
        return f"{label_of(metric)} is not one ratio of expected counts: not evaluated on a probabilistic feature."
    if rule.compare == "odds_ratio":
        return "compare: odds_ratio is not evaluated on a probabilistic feature (use ratio or difference)."
    if needs_label(metric) and not has_label:
        return f"{label_of(metric)} needs the true outcome, and no label column was given."
    return None


def _limit_words(rule: Rule, value: float) -> str:
    if rule.min_value is not None and not within(rule.model_copy(update={"max_value": None}), value):
        return f"below the limit of {limit_text(rule, rule.min_value)}"
    if rule.max_value is not None and not within(rule.model_copy(update={"min_value": None}), value):
        return f"above the limit of {limit_text(rule, rule.max_value)}"
    return "within the limit of " + " to ".join(
        limit_text(rule, b) for b in (rule.min_value, rule.max_value) if b is not None
    )


def _bounds_words(rule: Rule, g: ProxyGroup) -> str:
    b = g.disparity.bounds
    if b is None or g.bounds_outcome is None:
        return ""
    span = span_text(rule, b[0], b[1])
    if g.bounds_outcome is Outcome.INCONCLUSIVE:
        return (
            f" Its partial-identification bounds ({span}) straddle the limit: the proxy alone cannot settle it "
            "(the estimate assumes group and outcome independent given the proxy's inputs)."
        )
    if g.bounds_outcome is Outcome.FAIL:
        return f" Its partial-identification bounds ({span}) are all outside the limit: no joint distribution consistent with the proxy meets it."  # noqa: E501
    return f" Its partial-identification bounds ({span}) are all within the limit."


def _headline(rule: Rule, groups: tuple[ProxyGroup, ...]) -> ProxyGroup | None:
    """The group a sentence names: a failing one first (the farthest outside), else the closest to the limit."""
    valued = [g for g in groups if g.disparity.value is not None]
    if not valued:
        return None

    def badness(g: ProxyGroup) -> float:
        v = g.disparity.value
        assert v is not None
        lo = rule.min_value - v if rule.min_value is not None else -math.inf
        hi = v - rule.max_value if rule.max_value is not None else -math.inf
        return max(lo, hi)

    rank = {Outcome.FAIL: 0, Outcome.NOT_SIGNIFICANT: 1, Outcome.WAIVED: 2}
    return min(valued, key=lambda g: (rank.get(g.outcome, 3), -badness(g)))


def _sentence(
    rule: Rule, metric: str, feature: str, groups: tuple[ProxyGroup, ...], status: Status, level: float
) -> str:
    g = _headline(rule, groups)
    if g is None:
        return f"No group of {feature} could be compared on {label_of(metric)}."
    d = g.disparity
    assert d.value is not None
    relation = "of" if rule.compare == "ratio" else "against"
    interval = "" if d.ci is None else f" ({level:.0%} sampling interval {interval_text(rule, d.ci)})"
    what = f"{d.level}'s {label_of(metric)} is {value_text(rule, d.value)} {relation} {d.comparator}'s{interval}"
    failing = sum(1 for x in groups if x.outcome is Outcome.FAIL)
    if status in (Status.PASS, Status.WAIVED) and g.outcome is not Outcome.WAIVED:
        head = (
            f"On {feature} (weighted estimate from the proxy), every compared group meets the limit; closest: {what}."
        )
    elif g.outcome is Outcome.WAIVED:
        head = f"On {feature} (weighted estimate from the proxy), {what}, {_limit_words(rule, d.value)} (waived)."
    else:
        more = f" {failing} group(s) fail." if failing > 1 else ""
        head = f"On {feature} (weighted estimate from the proxy), {what}, {_limit_words(rule, d.value)}.{more}"
        if g.outcome is Outcome.NOT_SIGNIFICANT:
            head += " Not statistically significant" + (" on a small expected group." if d.small else ".")
    if g.outcome is Outcome.INCONCLUSIVE or status is Status.INSUFFICIENT_DATA:
        open_groups = [x.disparity.level for x in groups if x.outcome is Outcome.INCONCLUSIVE]
        if open_groups:
            head += f" Not settled for {', '.join(open_groups)}: the sampling interval crosses the limit on a small expected group."  # noqa: E501
    return head + _bounds_words(rule, g)


def check_rule(
    rule: Rule,
    metric: str,
    policy: Policy,
    scope: ProbaScope,
    *,
    has_label: bool,
    proxy_only: ProbaScope | None = None,
) -> ProxyCheck:
    """One metric of ``rule`` judged on ``scope`` (with the self-reported people placed, if any;
    ``proxy_only``: the same scope without them, for the bounds they narrow)."""
    feature = scope.name
    reason = _not_evaluated(rule, metric, has_label=has_label)
    if reason is not None:
        return ProxyCheck(rule, metric, (), Status.INSUFFICIENT_DATA, reason)
    min_count = rule.min_count or policy.groups.min_count
    reference = _reference(policy, rule, scope)
    if reference is not None and all(g.label != reference for g in scope.groups):
        # a recorded value of the reference with nobody in this scope (a segment, a window)
        message = f"The reference group {reference} has nobody in {feature} here: not judged."
        return ProxyCheck(rule, metric, (), Status.INSUFFICIENT_DATA, message)
    options: dict[str, Any] = {
        "compare": rule.compare,
        "against": rule.against,
        "reference": reference,
        "min_count": min_count,
        "level": policy.confidence_level,
        "include_unknown": policy.groups.include_unknown,
    }
    found = disparities(scope, metric, **options)
    wide: dict[str, ProxyDisparity] = {}
    if proxy_only is not None:
        wide = {d.level: d for d in disparities(proxy_only, metric, **options)}
    groups = []
    for d in found:
        outcome, note = decide(rule, d)
        unnarrowed = wide[d.level].bounds if d.level in wide and proxy_only is not None else None
        groups.append(ProxyGroup(d, outcome, bounds_outcome(rule, d.bounds), unnarrowed, note))
    why = None if found else _none_compared(scope, metric, rule, reference, min_count=min_count, options=options)
    return _concluded(rule, metric, feature, tuple(groups), policy.confidence_level, min_count=min_count, why=why)


def _none_compared(
    scope: ProbaScope, metric: str, rule: Rule, reference: str | None, *, min_count: float, options: dict[str, Any]
) -> str:
    """Why no group of ``scope`` was compared, naming the reference group and its expected size when it is
    the one missing (a segment or window where nobody, or too few, are in it)."""
    estimates = {
        e.level: e
        for e in group_estimates(scope, metric, level=options["level"])
        if options["include_unknown"] or not e.has_unknown
    }
    what = label_of(metric)
    if rule.against == "reference" and reference is not None:
        ref = estimates.get(reference)
        size = 0.0 if ref is None or ref.weighted.value is None else ref.weighted.expected_n
        if size == 0:  # nobody in it here, or nobody in the metric's base (no positives, for a TPR)
            return f"The reference group {reference} has an expected size of 0 on {what} here: not judged."
        if size < min_count:
            return (
                f"The reference group {reference} has an expected size of {size:.1f} on {what} here, "
                f"under min_count {min_count:g}: not judged."
            )
    sizes = [(e.weighted.expected_n, e.level) for e in estimates.values() if e.weighted.value is not None]
    largest = f" (the largest: {max(sizes)[1]}, {max(sizes)[0]:.1f})" if sizes else ""
    return f"No group of {scope.name} has an expected size of at least {min_count:g} on {what}{largest}: not judged."


def _concluded(
    rule: Rule,
    metric: str,
    feature: str,
    groups: tuple[ProxyGroup, ...],
    level: float,
    *,
    min_count: float,
    why: str | None = None,
) -> ProxyCheck:
    outcomes = [g.outcome for g in groups]
    soft = any(g.outcome is Outcome.NOT_SIGNIFICANT and g.disparity.small for g in groups)
    status = item_status(outcomes, severity=rule.severity, small_softened=soft, has_unanswered=not groups)
    if status is Status.PASS and Outcome.WAIVED in outcomes:
        status = Status.WAIVED
    if not groups:
        message = why or (
            f"No group of {feature} has an expected size of at least {min_count:g} on {label_of(metric)}: not judged."
        )
    else:
        message = _sentence(rule, metric, feature, groups, status, level)
    return ProxyCheck(rule, metric, groups, status, message)


def _combine(rule: Rule, scope: str, parts: tuple[ProxyCheck, ...], features: tuple[str, ...] = ()) -> ProxyFinding:
    order = [Status.FAIL, Status.WARN, Status.INFO, Status.INSUFFICIENT_DATA, Status.WAIVED, Status.PASS]
    status = next(s for s in order if any(p.status is s for p in parts))
    if len(parts) == 1:
        message = parts[0].message
    else:
        message = " ".join(f"{label_of(p.metric).capitalize()}: {p.message}" for p in parts)
    return ProxyFinding(rule, scope, parts, status, message, features=features)


def check_rules(
    policy: Policy,
    table: ProbaTable,
    *,
    known: np.ndarray | None = None,
    proxy_only: ProbaTable | None = None,
    audit_date: dt.date | None = None,
    intersections: Sequence[tuple[str, ...]] = (),
) -> tuple[ProxyFinding, ...]:
    """Every rule of ``policy`` that applies to the probabilistic feature, judged on the feature alone
    and on each of ``intersections`` (audit.measures.proba.intersection_cuts), with its waivers: per
    rule, the feature's finding then its intersections' (the order printers list them in).

    ``known[o, g, y, ŷ]``: the self-reported people, whom ``table`` counts in their group (its proxy
    cells hold the others); ``proxy_only``: the table with everyone through the proxy."""
    check_reference_levels(policy, table.feature, table.levels)
    cuts = [(table.feature,), *(tuple(c) for c in intersections)]
    scopes = [scope_of(table, cut, known=known) for cut in cuts]
    wide = [None if proxy_only is None else scope_of(proxy_only, cut) for cut in cuts]
    out = []
    for rule in policy.rules:
        for scope, alone in zip(scopes, wide, strict=True):
            if not _applies(rule, scope.features):
                continue
            parts = tuple(
                check_rule(rule, m, policy, scope, has_label=table.has_label, proxy_only=alone)
                for m in rule.metric_names
            )
            features = scope.features if len(scope.features) > 1 else ()
            finding = _combine(rule, scope.name, parts, features)
            out.append(finding if audit_date is None else waive(finding, policy, audit_date))
    return tuple(out)


# --- waivers ------------------------------------------------------------------------------------


def _matches(spec: str | None, features: dict[str, str]) -> bool:
    """A waiver's ``group`` names this group: ``feature=value`` pairs joined by ``&`` (any order), the
    label (``black``, ``black × F``), or the values joined by ``&`` or ``×`` in any order (``black & F``)."""
    if spec is None:
        return True
    if "=" in spec:
        parts = [p.split("=", 1) for p in spec.split("&")]
        return {k.strip(): v.strip() for k, v in parts} == features
    values = list(features.values())
    text = spec.strip()
    if text in (" × ".join(values), " & ".join(values)):
        return True
    named = [p.strip() for p in re.split("[&×]", text)]
    return sorted(named) == sorted(values)


def _failed(g: ProxyGroup) -> bool:
    return g.outcome is Outcome.FAIL or (g.outcome is Outcome.NOT_SIGNIFICANT and g.disparity.small)


def waive(finding: ProxyFinding, policy: Policy, audit_date: dt.date) -> ProxyFinding:
    """The finding with its failing groups that an active waiver of its rule names marked WAIVED; a waiver
    that expired changes nothing and the sentence says so."""
    mine = [w for w in policy.waivers if w.rule == finding.rule.id]
    if not mine:
        return finding
    active = [w for w in mine if w.expires >= audit_date]
    notes = [
        f"A waiver for {('group ' + w.group) if w.group else 'the whole rule'} expired on {w.expires.isoformat()} "
        f"(audit date {audit_date.isoformat()}) and no longer applies."
        for w in mine
        if w.expires < audit_date
    ]
    used: dict[int, list[str]] = {}
    parts = []
    for part in finding.parts:
        groups = []
        for g in part.groups:
            hit = next((w for w in active if _matches(w.group, g.disparity.features)), None)
            if hit is not None and _failed(g) and part.status in (Status.FAIL, Status.WARN):
                used.setdefault(id(hit), []).append(g.disparity.level)
                g = dataclasses.replace(g, outcome=Outcome.WAIVED)
            groups.append(g)
        if tuple(groups) != part.groups:
            part = _concluded(
                part.rule,
                part.metric,
                finding.scope,
                tuple(groups),
                policy.confidence_level,
                min_count=part.rule.min_count or policy.groups.min_count,
            )
        parts.append(part)
    for w in active:
        if id(w) in used:
            what = "the whole rule" if w.group is None else f"group {w.group}"
            notes.append(f"Waived ({what}) until {w.expires.isoformat()}, approved by {w.approved_by}: {w.reason}.")
    updated = _combine(finding.rule, finding.scope, tuple(parts), finding.features)
    message = " ".join([updated.message, *notes])
    return dataclasses.replace(updated, message=message, waivers=tuple(notes))


def waived_groups(findings: Iterable[ProxyFinding], waiver: Waiver) -> tuple[str, ...]:
    """The groups of the probabilistic feature ``waiver`` waived (``race=black``, ``race=black&sex=F``)."""
    return tuple(
        g.disparity.id
        for f in findings
        if f.rule.id == waiver.rule
        for p in f.parts
        for g in p.groups
        if g.outcome is Outcome.WAIVED and _matches(waiver.group, g.disparity.features)
    )


def names_a_group(findings: Iterable[ProxyFinding], waiver: Waiver) -> bool:
    """Whether ``waiver`` names a group its rule judges on the probabilistic feature (or an intersection
    of it): the recorded features' findings must not call such a waiver one naming no group."""
    return waiver.group is not None and any(
        f.rule.id == waiver.rule and _matches(waiver.group, g.disparity.features)
        for f in findings
        for p in f.parts
        for g in p.groups
    )


def merge_records(records: tuple[WaiverRecord, ...], findings: tuple[ProxyFinding, ...]) -> tuple[WaiverRecord, ...]:
    """The waiver records of the recorded features with what each waiver did on the probabilistic one."""
    out = []
    for r in records:
        groups = waived_groups(findings, r.waiver)
        if groups:
            r = WaiverRecord(r.waiver, "applied", (*r.groups, *groups))
        elif r.state == "no such group" and names_a_group(findings, r.waiver):
            r = WaiverRecord(r.waiver, "not needed", r.groups)
        out.append(r)
    return tuple(out)
