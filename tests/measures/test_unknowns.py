"""Bounds over the unknown categories, checked against every assignment of the unknown rows.

The independent reference: move the unknown rows into the known groups in every possible way,
rebuild the scope from the counts and compare it with ``compare_scope`` itself; the lowest and
highest value each group reaches must be exactly the bounds (``audit.measures.unknowns``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from audit.measures.disparities import Judging, compare_scope
from audit.measures.groups import build_scopes
from audit.measures.unknowns import _highest_min, _lowest_max
from audit.tables.groups import UNKNOWN, GroupTable

# decisions only (no label): cells [y=0, ŷ] hold everyone; selection rate = ŷ=1 share


def _table(groups: dict[str, tuple[int, int]], unknown: tuple[int, int] | None) -> GroupTable:
    """One feature ``f``: {level: (selected, n)} plus the unknown rows (selected, n)."""
    items = dict(groups)
    if unknown is not None:
        items[UNKNOWN] = unknown
    keys = tuple((k,) for k in items)
    counts = np.zeros((len(items), 2, 2), dtype=np.int64)
    for i, (k, n) in enumerate(items.values()):
        counts[i, 0, 1] = k
        counts[i, 0, 0] = n - k
    return GroupTable(("f",), keys, counts, has_label=False)


def _scope(groups, unknown):
    scopes = build_scopes(_table(groups, unknown), intersections=False, level=0.95)
    return next(s for s in scopes if s.features == ("f",))


def _compare(scope, compare, against, reference, min_count=1):
    return compare_scope(
        scope,
        metric="selection_rate",
        compare=compare,
        against=against,
        reference=reference,
        judging=Judging(min_count=min_count),
    )


def _compositions(total: int, parts: int):
    """Every way of writing ``total`` as ``parts`` ordered non-negative whole numbers."""
    for cuts in itertools.combinations(range(total + parts - 1), parts - 1):
        edges = (-1, *cuts, total + parts - 1)
        yield tuple(b - a - 1 for a, b in itertools.pairwise(edges))


def _exact(d, c):
    """A comparison's exact value from the rates' counts (the judge compares these)."""
    a = c.group.metrics["selection_rate"]
    b = d.comparator.metrics["selection_rate"]
    ra, rb = Fraction(a.numerator, a.denominator), Fraction(b.numerator, b.denominator)
    if d.compare == "ratio":
        return ra / rb
    return abs(ra - rb) if d.compare == "absolute_difference" else ra - rb


def _brute(groups, unknown, compare, against, reference, min_count=1):
    """{label: (lowest, highest)} over every assignment of the unknown rows."""
    labels = list(groups)
    s, u = unknown
    seen: dict[str, list[Fraction]] = {g: [] for g in labels}
    for xs in _compositions(s, len(labels)):
        for ys in _compositions(u - s, len(labels)):
            moved = {g: (k + x, n + x + y) for (g, (k, n)), x, y in zip(groups.items(), xs, ys, strict=True)}
            d = _compare(_scope(moved, None), compare, against, reference, min_count)
            for c in d.comparisons:
                if c.group.label in seen:
                    seen[c.group.label].append(_exact(d, c))
    return {g: (min(v), max(v)) for g, v in seen.items()}


CASES = [
    # (known groups {label: (selected, n)}, unknown (selected, n))
    ({"a": (3, 5), "b": (2, 6)}, (1, 3)),
    ({"a": (3, 5), "b": (2, 6), "c": (1, 2)}, (2, 4)),  # comparator switches under max and min
    ({"a": (4, 4), "b": (1, 3), "c": (2, 5)}, (0, 3)),  # every unknown unselected
    ({"a": (1, 4), "b": (1, 1), "c": (2, 5)}, (3, 3)),  # every unknown selected; a group of size 1
    ({"a": (2, 3), "b": (1, 2)}, (0, 0)),  # no unknown rows
    ({"a": (0, 3), "b": (1, 2), "c": (2, 2)}, (1, 4)),  # a rate of 0; a rate of 1
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("compare", ["ratio", "difference", "absolute_difference"])
@pytest.mark.parametrize("against", ["max", "min", "reference", "overall"])
def test_bounds_are_the_extremes_over_every_assignment(case, compare, against):
    groups, unknown = CASES[case]
    reference = "b" if against == "reference" else None
    scope = _scope(groups, unknown if unknown[1] else None)
    d = _compare(scope, compare, against, reference)
    if not unknown[1]:
        assert d.unknowns is None  # no unknown rows: nothing to bound, nothing added to the evidence
        return
    bounds = d.unknowns
    assert bounds is not None and (bounds.rows, bounds.favourable, bounds.base) == (unknown[1], unknown[0], unknown[1])
    if bounds.reason is not None:
        # only a ratio whose comparator can reach 0 goes unbounded here
        assert compare == "ratio" and "0" in bounds.reason
        return
    expected = _brute(groups, unknown, compare, against, reference)
    by_label = {g.label: g.id for g in scope.groups}
    for label, (low, high) in expected.items():
        got = bounds.of(by_label[label])
        assert got is not None, label
        assert got.high == high, (label, "high")
        if got.low_attained:
            assert got.low == low, (label, "low")
        else:  # an absolute difference spanning 0: a lower bound
            assert got.low <= low
        assert got.low <= got.proportional <= got.high or compare == "absolute_difference"


def test_comparator_candidates_are_the_large_groups():
    """Against max with min_count 4: the comparator is chosen among groups of at least 4 (as observed),
    the small group c is judged but cannot become the comparator."""
    groups, unknown = {"a": (3, 5), "b": (2, 6), "c": (2, 2)}, (2, 4)
    d = _compare(_scope(groups, unknown), "ratio", "max", None, min_count=4)
    expected = {}
    labels = list(groups)
    for xs in _compositions(2, 3):
        for ys in _compositions(2, 3):
            moved = {g: (k + x, n + x + y) for (g, (k, n)), x, y in zip(groups.items(), xs, ys, strict=True)}
            top = max(Fraction(moved[g][0], moved[g][1]) for g in ("a", "b"))
            for g in labels:
                expected.setdefault(g, []).append(Fraction(moved[g][0], moved[g][1]) / top)
    for g in labels:
        got = d.unknowns.of(f"f={g}")
        assert (got.low, got.high) == (min(expected[g]), max(expected[g])), g


def test_intersections_with_partly_known_rows_are_not_bounded():
    keys = (("x", "p"), ("y", "q"), ("x", UNKNOWN), (UNKNOWN, UNKNOWN))
    counts = np.zeros((4, 2, 2), dtype=np.int64)
    for i, (k, n) in enumerate([(3, 5), (2, 6), (1, 2), (1, 1)]):
        counts[i, 0, 1], counts[i, 0, 0] = k, n - k
    scopes = build_scopes(GroupTable(("s", "r"), keys, counts, False), intersections=True, level=0.95)
    inter = next(s for s in scopes if len(s.features) == 2)
    d = _compare(inter, "ratio", "max", None)
    assert d.unknowns.rows == 3 and d.unknowns.groups == () and "part of" in d.unknowns.reason
    sex = next(s for s in scopes if s.features == ("s",))
    assert _compare(sex, "ratio", "max", None).unknowns.rows == 1  # only (unknown, unknown) lacks s


@pytest.mark.parametrize("seed", range(30))
def test_water_filling_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    groups = [(int(k), int(k + rng.integers(0, 4))) for k in rng.integers(0, 5, size=int(rng.integers(1, 4)))]
    groups = [(k, max(d, 1)) for k, d in groups]
    budget = int(rng.integers(0, 6))
    lowest = min(
        max(Fraction(k, d + y) for (k, d), y in zip(groups, ys, strict=True))
        for ys in _compositions(budget, len(groups))
    )
    highest = max(
        min(Fraction(k + x, d + x) for (k, d), x in zip(groups, xs, strict=True))
        for xs in _compositions(budget, len(groups))
    )
    assert _lowest_max(groups, budget) == lowest
    assert _highest_min(groups, budget) == highest
