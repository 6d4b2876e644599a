"""Judge a rule with the rows of unknown category in mind (policy ``groups.unknown``, or a rule's own
``unknown``).

The measures give, for every judged group, its comparison's lowest and highest value over every way
of assigning the rows of unknown sensitive value to the known groups, and the value with those rows
spread proportionally (``audit.measures.unknowns``). Here:

* a group's *worst case* is the end of that range furthest outside (or nearest to) the rule's
  bounds; its *best case* the value in the range nearest the middle of the bounds (for a one-sided
  rule, the other end);
* ``ignore`` (the default) judges the known rows as before; the rule's figures are reported, and a
  rule that passes while its worst case would not gets a warning item of its own (``<rule>.unknowns``,
  severity warn — info for an info rule — so it never blocks the release on its own);
* ``worst_case`` and ``proportional`` decide every bounded group on that figure, exactly, as a point
  (no interval, no test: the figure is not an estimate of one group's rate): outside the bounds →
  FAIL, else PASS. The comparator is judged too, since another group can overtake it. Groups in
  scopes without unknown rows, or where the unknowns could not be bounded, are judged as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from fractions import Fraction

from audit.judge.finding import Finding, GroupOutcome, Sensitivity
from audit.judge.status import Outcome, Status
from audit.measures.disparities import ScopeDisparity
from audit.measures.unknowns import GroupBounds
from audit.policy.schema import Policy, Rule

#: The words for each mode (the figure a group is decided on).
MODE_WORDS = {
    "ignore": "the known rows (the unknown categories' bounds are reported)",
    "proportional": "the unknown rows spread over the groups in proportion to their sizes",
    "worst_case": "the least favourable assignment of the unknown rows, for each group",
}
Inside = Callable[[Fraction], bool]


def mode_of(rule: Rule, policy: Policy) -> str:
    return rule.unknown or policy.groups.unknown


def _limit(x: float) -> Fraction:
    return Fraction(repr(float(x)))  # what the policy's author wrote (0.8 → 4/5)


def _badness(rule: Rule, v: Fraction) -> Fraction:
    """How far outside the rule's bounds (negative: how far inside the nearest one)."""
    sides = []
    if rule.min_value is not None:
        sides.append(_limit(rule.min_value) - v)
    if rule.max_value is not None:
        sides.append(v - _limit(rule.max_value))
    return max(sides)


def worst_and_best(rule: Rule, b: GroupBounds) -> tuple[Fraction, Fraction]:
    """A group's worst case (the end of its range furthest outside the bounds) and best case."""
    worst = max((b.low, b.high), key=lambda v: _badness(rule, v))
    if rule.min_value is not None and rule.max_value is not None:
        middle = (_limit(rule.min_value) + _limit(rule.max_value)) / 2
        best = min(max(middle, b.low), b.high)
    else:
        best = b.high if rule.min_value is not None else b.low
    return worst, best


def show(rule: Rule, v: float) -> str:
    """A figure as the report prints the rule's values: a ratio as a percentage, a difference in points;
    more decimals when one would print a value that is not the limit as the limit."""
    scale, unit = (100, "%") if rule.compare == "ratio" else (100, " points")
    limits = [x for x in (rule.min_value, rule.max_value) if x is not None]
    digits = 1
    while digits < 9 and any(v != x and f"{v * scale:.{digits}f}" == f"{x * scale:.{digits}f}" for x in limits):
        digits += 1
    return f"{v * scale:.{digits}f}{unit}"


def on_unknowns(
    rule: Rule, mode: str, d: ScopeDisparity, outcomes: tuple[GroupOutcome, ...], *, inside: Inside
) -> tuple[GroupOutcome, ...]:
    """The scope's group outcomes decided on the mode's figure (unchanged under ``ignore``)."""
    bounds = d.unknowns
    if mode == "ignore" or bounds is None or not bounds.groups:
        return outcomes
    words = "worst case" if mode == "worst_case" else "proportional assignment"
    out = []
    for o in outcomes:
        b = bounds.of(o.comparison.group.id)
        if b is None or o.status is Outcome.NOT_JUDGED:
            out.append(o)
            continue
        figure = worst_and_best(rule, b)[0] if mode == "worst_case" else b.proportional
        ok = inside(figure)
        if o.status is Outcome.COMPARATOR and ok:
            out.append(o)
            continue
        note = f"decided on the {words} of the {bounds.rows:,} rows of unknown category: {show(rule, float(figure))}"
        out.append(
            dataclasses.replace(
                o,
                status=Outcome.PASS if ok else Outcome.FAIL,
                note=note,
                shortfall=None if ok else o.shortfall,
            )
        )
    return tuple(out)


def sensitivity(
    rule: Rule, mode: str, evaluated: Sequence[tuple[ScopeDisparity, object]], *, inside: Inside
) -> Sensitivity | None:
    """The rule's worst, best and proportional figures over every scope with unknown rows; None when no
    scope the rule covers has any."""
    scopes = [d for d, _ in evaluated if d.unknowns is not None]
    if not scopes:
        return None
    worst: list[tuple[Fraction, str, str]] = []
    best: list[tuple[Fraction, str, str]] = []
    prop: list[tuple[Fraction, str, str]] = []
    labels = {}
    for d in scopes:
        assert d.unknowns is not None
        labels.update({(d.scope.name, g.id): g.label for g in d.scope.groups})
        for b in d.unknowns.groups:
            w, bb = worst_and_best(rule, b)
            worst.append((w, b.group, d.scope.name))
            best.append((bb, b.group, d.scope.name))
            prop.append((b.proportional, b.group, d.scope.name))

    def headline(figures: list[tuple[Fraction, str, str]]) -> tuple[float, str, str] | None:
        if not figures:
            return None
        v, g, s = max(figures, key=lambda f: _badness(rule, f[0]))  # first of the worst: scope then group order
        return float(v), g, s

    fails = any(not inside(v) for v, _, _ in worst)
    unbounded = tuple((d.scope.name, d.unknowns.reason) for d in scopes if d.unknowns and d.unknowns.reason)
    rows = max(d.unknowns.rows for d in scopes if d.unknowns)
    result = Sensitivity(mode, rows, headline(worst), headline(best), headline(prop), fails, unbounded)
    return dataclasses.replace(result, sentence=_sentence(rule, result, labels))


def _sentence(rule: Rule, s: Sensitivity, labels: dict[tuple[str, str], str]) -> str:
    def named(fig: tuple[float, str, str]) -> str:
        v, g, scope = fig
        return f"{show(rule, v)} ({labels.get((scope, g), g)}, {scope})"

    out = f"Unknown categories: up to {s.rows:,} rows have an unknown value."
    if s.worst is not None and s.best is not None and s.proportional is not None:
        out += (
            f" Over every assignment of them to the known groups, the worst case is {named(s.worst)}, the best "
            f"case {show(rule, s.best[0])} and the proportional {named(s.proportional)}; the worst case is "
            + ("outside the rule's bounds." if s.worst_fails else "within the rule's bounds.")
        )
    if s.unbounded:
        out += " Not bounded in " + "; ".join(f"{scope} ({why})" for scope, why in s.unbounded) + "."
    if s.mode != "ignore":
        out += f" Judged on {MODE_WORDS[s.mode]}."
    return out


def merge(parts: Sequence[Finding]) -> Sensitivity | None:
    """A multi-metric rule's figures: its worst part's (the one whose worst case is furthest outside)."""
    found = [p.unknowns for p in parts if p.unknowns is not None]
    if not found:
        return None
    rule = parts[0].rule
    ranked = [s for s in found if s.worst is not None] or found
    top = max(ranked, key=lambda s: _badness(rule, Fraction(s.worst[0])) if s.worst is not None else Fraction(-(10**9)))
    return dataclasses.replace(
        top,
        worst_fails=any(s.worst_fails for s in found),
        sentence=" ".join(dict.fromkeys(s.sentence for s in found)),
    )


def warning(finding: Finding) -> tuple[Status, str, str] | None:
    """(status, severity, message) of the warning a rule gets under ``ignore`` when it passes on the known
    rows but its worst case would not; None otherwise."""
    s = finding.unknowns
    if s is None or s.mode != "ignore" or not s.worst_fails or finding.status is not Status.PASS:
        return None
    info = finding.rule.severity == "info"
    assert s.worst is not None
    message = (
        f"The rule passes on the known rows, but with the {s.rows:,} rows of unknown category assigned "
        f"least favourably it would not: worst case {show(finding.rule, s.worst[0])} ({s.worst[1]}, {s.worst[2]}). "
        "Set `unknown: worst_case` to judge the rule on it."
    )
    return (Status.INFO if info else Status.WARN), ("info" if info else "warn"), message
