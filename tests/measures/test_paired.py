"""Paired measures against independent computations (scipy on the raw pairs, counts by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, ttest_rel, wilcoxon

from audit.measures.paired import adjust, paired_decisions, paired_scores, within_prompt


def test_mcnemar_exact_counts_the_discordant_pairs_only():
    ref = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=bool)
    grp = np.array([0, 0, 0, 0, 0, 1, 0, 0, 0, 1], dtype=bool)
    out = paired_decisions(ref, grp)
    assert (out.only_reference, out.only_group, out.pairs) == (5, 1, 10)
    assert out.flip_share == pytest.approx(0.6)
    assert out.rate_difference == pytest.approx(-0.4)
    assert out.p_value == pytest.approx(binomtest(5, 6, 0.5).pvalue)
    # concordant pairs added change nothing in the test
    more = paired_decisions(np.r_[ref, [True] * 50], np.r_[grp, [True] * 50])
    assert more.p_value == pytest.approx(out.p_value)


def test_no_discordant_pair_has_no_test():
    out = paired_decisions(np.array([True, False]), np.array([True, False]))
    assert out.p_value is None and out.flip_share == 0.0


def test_scores_match_scipy():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=40)
    grp = ref + rng.normal(-0.3, 0.5, size=40)
    out = paired_scores(ref, grp, level=0.95)
    assert out.mean_difference == pytest.approx(float(np.mean(grp - ref)))
    assert out.p_value == pytest.approx(wilcoxon(grp - ref).pvalue)
    ci = ttest_rel(grp, ref).confidence_interval(0.95)
    assert (out.ci_low, out.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_identical_scores_have_no_test():
    out = paired_scores(np.ones(5), np.ones(5))
    assert out.p_value is None and out.mean_difference == 0.0 and out.nonzero == 0


def test_bh_keeps_missing_p_values_in_place():
    assert adjust([0.01, None, 0.04]) == [pytest.approx(0.02), None, pytest.approx(0.04)]


def test_within_prompt_variability():
    values = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, np.nan], [2.0, np.nan, np.nan]])
    out = within_prompt(values)
    assert out["prompts"] == 2  # the third has one usable answer
    assert out["all_agree_share"] == pytest.approx(0.5)
    assert out["mean_sd"] == pytest.approx((0 + np.std([0.0, 1.0], ddof=1)) / 2)
