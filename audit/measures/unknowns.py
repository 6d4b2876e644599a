"""Sensitivity to unknown categories: how far each group's ratio or difference could move if the
rows whose sensitive value is unknown belonged to the known groups.

The U rows of a scope whose value is unknown keep their observed outcomes: for a rate k / d (a count
of confusion cells over a count of confusion cells, the numerator's cells among the denominator's),
S of them are in the numerator (*favourable units*: for a selection rate, the selected), B in the
denominator but not the numerator (*unfavourable units*), and the rest do not enter the rate. An
*assignment* gives each of those rows to one known group of the scope. Over every assignment, each
judged group's comparison (its rate's ratio to, or difference from, the comparator's) has a lowest
and a highest value; both are computed exactly (fractions), and are attained by an assignment:

* the comparison grows with the group's rate and shrinks with the comparator's;
* against a named reference group, the lowest value gives the group every unfavourable unit and
  the reference every favourable one; the highest the other way round;
* against the overall population, the population (known rows plus the unknowns) does not change:
  only the group's own rate moves (every unfavourable unit, or every favourable one);
* against the highest group (``max``), the lowest value is the lowest over the candidate
  comparators h of the group with every unfavourable unit against h with every favourable one
  (a/max_h r_h = min_h a/r_h); the highest gives the group every favourable unit and spreads the
  unfavourable ones over the other candidates so that the highest of their rates is as low as
  possible (``_lowest_max``: the smallest rate t such that the units each group needs to come
  down to t add up to at most B, found among each group's attainable rates by bisection).
  Against the lowest group (``min``) the same, mirrored.

For an absolute difference the highest value is the larger of the signed difference's ends in
size; its lowest is 0 when the signed range spans 0 (a bound, not always attained with whole rows).

*Proportional*: the unknown rows spread over the known groups in proportion to each group's size in
the metric's base (its denominator), keeping the unknowns' own rate: a group of base d out of D
known gets d/D of the S favourable and of the B unfavourable units (fractions of a row), and every
comparison, the comparator included, is recomputed.

Which groups are judged and which may be the comparator is decided on the observed data, as for
the comparison itself. Scopes where some rows have some but not all of the scope's features known
(an intersection with a partly missing row) and metrics that are not a rate of counts are not
bounded; the reason is given instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

from audit.measures.groups import Group, Scope
from audit.measures.metrics import REGISTRY
from audit.tables.groups import UNKNOWN

#: How the proportional figure is defined (recorded in results.json).
PROPORTIONAL = (
    "the unknown rows spread over the known groups in proportion to each group's size in the metric's base, "
    "keeping the unknown rows' own rate"
)


@dataclass(frozen=True)
class GroupBounds:
    """One judged group's comparison over every assignment of the unknown rows."""

    group: str  # the group's id
    low: Fraction
    high: Fraction
    proportional: Fraction
    #: False when ``low`` is a bound that whole rows may not reach (an absolute difference whose
    #: signed range spans 0)
    low_attained: bool = True


@dataclass(frozen=True)
class UnknownBounds:
    """A scope's rows of unknown value and what they could do to each judged group's comparison."""

    rows: int  # rows whose value of the scope's feature(s) is unknown
    favourable: int  # of those, in the metric's numerator (S)
    base: int  # of those, in the metric's denominator (S + B)
    groups: tuple[GroupBounds, ...]
    reason: str | None = None  # why there are no bounds (then ``groups`` is empty)

    def of(self, group_id: str) -> GroupBounds | None:
        return next((b for b in self.groups if b.group == group_id), None)


Rates = tuple[int, int]  # (numerator, denominator) of one group's rate


def bound_scope(
    scope: Scope,
    *,
    metric: str,
    compare: str,
    against: Literal["max", "min", "reference", "overall"],
    judged: Sequence[Group],
    candidates: Sequence[Group],
    comparator: Group | None,
) -> UnknownBounds | None:
    """Bounds for every group in ``judged`` (``candidates``: the groups that may be the comparator
    against max/min; ``comparator``: the reference group or the overall population); None when the
    scope has no row of unknown value."""
    unknown = [g for g in scope.groups if g.has_unknown]
    rows = sum(g.n for g in unknown)
    if not rows:
        return None
    spec = REGISTRY.get(metric)
    if spec is None or spec.numerator_weight != 1 or not set(spec.numerator) <= set(spec.denominator):
        return UnknownBounds(rows, 0, 0, (), "bounds are computed for rates of counts only")
    s = sum(spec.parts(g.counts)[0] for g in unknown)
    base = sum(spec.parts(g.counts)[1] for g in unknown)

    def none(reason: str) -> UnknownBounds:
        return UnknownBounds(rows, s, base, (), reason)

    if compare not in ("ratio", "difference", "absolute_difference"):
        return none(f"not bounded for a comparison by {compare}")
    if any(v != UNKNOWN for g in unknown for v in g.features.values()):
        return none("some rows have only part of this scope's features known")
    if any(g.has_unknown for g in judged):
        return none("rows of unknown value are judged as a group of their own (include_unknown)")
    if comparator is None:
        return none("no comparison in this scope")
    known = [g for g in scope.groups if not g.has_unknown]
    counts: dict[str, Rates] = {g.id: spec.parts(g.counts) for g in known}
    b = base - s
    phi = _phi(compare)
    one = phi(Fraction(1), Fraction(1))
    prop = _proportional(counts, s, base)
    pool = [g.id for g in candidates]
    out = []
    if against == "overall":
        k_all, d_all = sum(k for k, _ in counts.values()), sum(d for _, d in counts.values())
        whole = Fraction(k_all + s, d_all + base)
        if compare == "ratio" and whole == 0:
            return none("the overall rate is 0 under every assignment: ratio undefined")
        for g in judged:
            k, d = counts[g.id]
            out.append(
                (g.id, phi(Fraction(k, d + b), whole), phi(Fraction(k + s, d + s), whole), phi(prop[g.id], whole))
            )
    elif against == "reference":
        ref = comparator.id
        kr, dr = counts[ref]
        if compare == "ratio" and kr == 0:
            return none("the reference group's rate can be 0: ratio undefined under some assignment")
        for g in judged:
            k, d = counts[g.id]
            if g.id == ref:
                out.append((g.id, one, one, one))
                continue
            low = phi(Fraction(k, d + b), Fraction(kr + s, dr + s))
            high = phi(Fraction(k + s, d + s), Fraction(kr, dr + b))
            out.append((g.id, low, high, phi(prop[g.id], prop[ref])))
    else:
        highest = against == "max"
        if compare == "ratio" and (
            not any(counts[h][0] for h in pool) if highest else not all(counts[h][0] for h in pool)
        ):
            return none("the comparator's rate can be 0: ratio undefined under some assignment")
        prop_comparator = (max if highest else min)(prop[h] for h in pool)
        for g in judged:
            out.append(
                (g.id, *_against_extreme(g.id, counts, pool, s, b, phi, one, highest), phi(prop[g.id], prop_comparator))
            )
    bounds = []
    for gid, low, high, proportional in out:
        if compare == "absolute_difference":
            spans = low <= 0 <= high
            bounds.append(
                GroupBounds(
                    gid,
                    Fraction(0) if spans else min(abs(low), abs(high)),
                    max(abs(low), abs(high)),
                    abs(proportional),
                    not spans,
                )
            )
        else:
            bounds.append(GroupBounds(gid, low, high, proportional))
    return UnknownBounds(rows, s, base, tuple(bounds))


def _phi(compare: str) -> Callable[[Fraction, Fraction], Fraction]:
    """The comparison of a rate a with the comparator's b (the signed difference for an absolute one)."""
    if compare == "ratio":
        return lambda a, b: a / b
    return lambda a, b: a - b


def _proportional(counts: dict[str, Rates], s: int, base: int) -> dict[str, Fraction]:
    """Each known group's rate with its share (of the metric's base) of the unknown rows."""
    total = sum(d for _, d in counts.values())
    out = {}
    for gid, (k, d) in counts.items():
        w = Fraction(d, total) if total else Fraction(0)
        den = d + base * w
        out[gid] = (k + s * w) / den if den else Fraction(0)
    return out


def _against_extreme(
    gid: str,
    counts: dict[str, Rates],
    pool: list[str],
    s: int,
    b: int,
    phi: Callable[[Fraction, Fraction], Fraction],
    one: Fraction,
    highest: bool,
) -> tuple[Fraction, Fraction]:
    """(lowest, highest) comparison of group ``gid`` against the highest (``highest``) or lowest rate
    among ``pool`` (the comparator candidates), over every assignment."""
    k, d = counts[gid]
    others = [counts[h] for h in pool if h != gid]
    inside = gid in pool
    if not others:  # the group is its own comparator whatever happens
        return one, one
    if highest:
        # lowest: the group gets every unfavourable unit, one candidate every favourable one
        worst = [phi(Fraction(k, d + b), Fraction(kh + s, dh + s)) for kh, dh in others]
        low = min([*worst, one] if inside else worst)
        rate = Fraction(k + s, d + s)
        top = _lowest_max(others, b)
        high = phi(rate, max(rate, top) if inside else top)
        return low, high
    best = [phi(Fraction(k + s, d + s), Fraction(kh, dh + b)) for kh, dh in others]
    high = max([*best, one] if inside else best)
    rate = Fraction(k, d + b)
    bottom = _highest_min(others, s)
    low = phi(rate, min(rate, bottom) if inside else bottom)
    return low, high


def _lowest_max(groups: Sequence[Rates], budget: int) -> Fraction:
    """The lowest possible highest rate k/(d + y) of ``groups`` when ``budget`` unfavourable units are
    shared out among them (y whole, summing to at most ``budget``: extra units only lower a rate).

    The optimum is one group's rate after some whole number of units: for each group, the most units
    j (its lowest rate k/(d + j)) that still lets every group come down to that rate within the budget,
    by bisection; the lowest of those. Feasibility is checked in whole numbers: bringing k/(d + y) down
    to p/q takes y = ⌈(kq − dp)/p⌉ units (none when kq ≤ dp)."""
    k, d = _arrays(groups, budget)

    def feasible(p: int, q: int) -> bool:  # can every group come down to the rate p/q?
        if p == 0:
            return not k.any()
        need = -((d * p - k * q) // p)  # ⌈(kq − dp)/p⌉
        return int(np.maximum(need, 0).sum()) <= budget

    best: Fraction | None = None
    for kh, dh in groups:
        # skip a group whose every rate is at or above the best found, or cannot reach below it
        first = 0 if best is None else _first_below(kh, dh, best, budget)
        if first is None or not feasible(kh, dh + first):
            continue
        lo, hi = first, budget
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if feasible(kh, dh + mid):
                lo = mid
            else:
                hi = mid - 1
        best = Fraction(kh, dh + lo)
    assert best is not None  # the group with the highest rate is feasible with no unit at all
    return best


def _arrays(groups: Sequence[Rates], budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators as whole-number arrays: int64 while every product the feasibility
    checks form fits in it (counts under 2³⁰), else Python integers."""
    big = max(d for _, d in groups) + budget >= 2**30
    dtype = object if big else np.int64
    return np.array([g[0] for g in groups], dtype=dtype), np.array([g[1] for g in groups], dtype=dtype)


def _first_below(k: int, d: int, t: Fraction, budget: int) -> int | None:
    """The fewest units j ≤ budget with k/(d + j) < t, or None."""
    if k == 0:
        return 0 if t > 0 else None
    j = max(0, math.floor(k / t - d) + 1)  # k/(d + j) < t  ⟺  d + j > k/t
    return j if j <= budget else None


def _highest_min(groups: Sequence[Rates], budget: int) -> Fraction:
    """The highest possible lowest rate (k + x)/(d + x) of ``groups`` when ``budget`` favourable units are
    shared out among them (extra units only raise a rate). As ``_lowest_max``, mirrored: bringing
    (k + x)/(d + x) up to p/q < 1 takes x = ⌈(pd − kq)/(q − p)⌉ units (none when kq ≥ pd)."""
    k, d = _arrays(groups, budget)

    def feasible(p: int, q: int) -> bool:  # can every group come up to the rate p/q?
        if p >= q:
            return bool((k == d).all())
        need = -((k * q - p * d) // (q - p))  # ⌈(pd − kq)/(q − p)⌉
        return int(np.maximum(need, 0).sum()) <= budget

    best: Fraction | None = None
    for kh, dh in groups:
        first = 0 if best is None else _first_above(kh, dh, best, budget)
        if first is None or not feasible(kh + first, dh + first):
            continue
        lo, hi = first, budget
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if feasible(kh + mid, dh + mid):
                lo = mid
            else:
                hi = mid - 1
        best = Fraction(kh + lo, dh + lo)
    assert best is not None  # the group with the lowest rate is feasible with no unit at all
    return best


def _first_above(k: int, d: int, t: Fraction, budget: int) -> int | None:
    """The fewest units x ≤ budget with (k + x)/(d + x) > t, or None."""
    if t >= 1:
        return None
    # (k + x) > t(d + x)  ⟺  x(1 − t) > td − k
    j = max(0, math.floor((t * d - k) / (1 - t)) + 1)
    return j if j <= budget else None
