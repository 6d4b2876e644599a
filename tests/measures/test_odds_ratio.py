"""Odds ratios between two groups' rates (issue 18, item 5): the value, its interval and its coverage,
each checked against an independent computation (scipy's sample odds ratio and Woolf interval, the
noncentral hypergeometric distribution the exact interval inverts, and exact binomial enumeration)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, nchypergeom_fisher
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio

from audit.measures.disparities import Judging, compare_scope
from audit.measures.groups import build_scopes
from audit.measures.intervals import WOOLF_MIN_CELL, odds_ratio_interval
from audit.tables.groups import GroupTable

LEVEL = 0.95


def _scope(groups: dict[str, tuple[int, int]]):  # type: ignore[no-untyped-def]
    counts = np.zeros((len(groups), 2, 2), dtype=np.int64)
    for i, (k, n) in enumerate(groups.values()):
        counts[i, 0, 1], counts[i, 0, 0] = k, n - k
    table = GroupTable(("grp",), tuple((g,) for g in groups), counts, False)
    return next(s for s in build_scopes(table, intersections=False, level=LEVEL) if s.features == ("grp",))


def _compare(groups, against="max", reference=None):  # type: ignore[no-untyped-def]
    return compare_scope(
        _scope(groups),
        metric="selection_rate",
        compare="odds_ratio",
        against=against,
        reference=reference,
        judging=Judging(min_count=1, level=LEVEL),
    )


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(30, 100, 45, 100), (12, 40, 180, 400), (250, 900, 90, 200)])
def test_value_and_woolf_interval_equal_scipys_sample_odds_ratio(k1, n1, k2, n2):
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    expected = scipy_odds_ratio(table, kind="sample")
    ci, method = odds_ratio_interval(k1, n1, k2, n2, level=LEVEL)
    assert method == "woolf-logit"
    want = expected.confidence_interval(confidence_level=LEVEL)
    assert ci == pytest.approx((want.low, want.high), rel=1e-12)
    d = _compare({"a": (k1, n1), "b": (k2, n2)}, against="reference", reference="b")
    row = next(c for c in d.comparisons if c.group.label == "a")
    assert row.value == pytest.approx(expected.statistic, rel=1e-12)
    assert row.ci == pytest.approx(ci, rel=1e-12)
    # the extreme of two groups is that one pair's comparison, bit for bit
    assert _compare({"a": (k1, n1), "b": (k2, n2)}).extreme is not None


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(3, 15, 25, 43), (0, 12, 25, 43), (2, 9, 3, 8)])
def test_small_cells_get_the_exact_interval_that_inverts_the_noncentral_hypergeometric(k1, n1, k2, n2):
    """The exact conditional interval's ends are the odds ratios at which the observed count sits
    exactly at the α/2 tail of Fisher's noncentral hypergeometric distribution."""
    ci, method = odds_ratio_interval(k1, n1, k2, n2, level=LEVEL)
    assert method == "exact-conditional"
    total, column, rows = n1 + n2, k1 + k2, n1
    if k1 == 0:
        assert ci[0] == 0
    else:
        assert nchypergeom_fisher.sf(k1 - 1, total, rows, column, ci[0]) == pytest.approx(0.025, abs=1e-6)
    assert nchypergeom_fisher.cdf(k1, total, rows, column, ci[1]) == pytest.approx(0.025, abs=1e-6)


def test_undefined_odds_are_not_judged_and_say_why():
    d = _compare({"a": (10, 10), "b": (20, 40), "c": (5, 40)}, against="reference", reference="b")
    by = {c.group.label: c for c in d.comparisons}
    assert by["a"].value is None and "infinite odds" in (by["a"].reason or "")
    assert by["c"].value == pytest.approx((5 / 35) / (20 / 20))
    d = _compare({"a": (0, 10), "b": (0, 40)}, against="reference", reference="b")
    assert all(c.value is None for c in d.comparisons if c.group.label == "a")
    # a group with no one selected has odds 0: an odds ratio of 0, with an exact interval from 0
    d = _compare({"a": (0, 20), "b": (20, 40)}, against="reference", reference="b")
    a = next(c for c in d.comparisons if c.group.label == "a")
    assert a.value == 0.0 and a.ci is not None and a.ci[0] == 0.0 and a.ci[1] > 0


def _coverage(n1: int, p1: float, n2: int, p2: float) -> float:
    """Exact coverage of the printed interval: enumeration over both binomial outcomes (no Monte Carlo)."""
    truth = (p1 / (1 - p1)) / (p2 / (1 - p2))
    pk1, pk2 = binom.pmf(np.arange(n1 + 1), n1, p1), binom.pmf(np.arange(n2 + 1), n2, p2)
    covered = 0.0
    mass = 0.0
    for k1 in range(n1 + 1):
        if pk1[k1] < 1e-12 or k1 == n1:
            continue
        for k2 in range(1, n2):
            w = pk1[k1] * pk2[k2]
            if w < 1e-12:
                continue
            mass += w
            ci, _ = odds_ratio_interval(k1, n1, k2, n2, level=LEVEL)
            covered += w * (ci[0] - 1e-12 <= truth <= ci[1] + 1e-12)
    return covered / mass  # given the odds ratio is defined (rates strictly inside (0, 1) for the comparator)


@pytest.mark.parametrize(("n1", "p1", "n2", "p2"), [(40, 0.30, 400, 0.45), (15, 0.2, 43, 0.58), (60, 0.5, 60, 0.5)])
def test_the_interval_holds_its_level(n1, p1, n2, p2):
    coverage = _coverage(n1, p1, n2, p2)
    assert coverage >= 0.93, coverage


def test_woolf_is_used_only_when_every_cell_is_large_enough():
    assert odds_ratio_interval(WOOLF_MIN_CELL, 2 * WOOLF_MIN_CELL, 5, 10, level=LEVEL)[1] == "woolf-logit"
    assert odds_ratio_interval(WOOLF_MIN_CELL - 1, 20, 5, 10, level=LEVEL)[1] == "exact-conditional"
    lo, hi = odds_ratio_interval(30, 100, 45, 100, level=LEVEL)[0]
    assert lo < (30 / 70) / (45 / 55) < hi and math.isfinite(hi)


if __name__ == "__main__":  # print the coverage figures
    for design in [(40, 0.30, 400, 0.45), (15, 0.2, 43, 0.58), (60, 0.5, 60, 0.5)]:
        print(design, f"{_coverage(*design):.4f}")
