"""Mantel–Haenszel, Cochran–Mantel–Haenszel and Breslow–Day (issue 18, item 2) against statsmodels'
``StratifiedTable`` (0.14: oddsratio_pooled, oddsratio_pooled_confint, test_null_odds(), test_equal_odds()
and test_equal_odds(adjust=True), riskratio_pooled), recorded below and compared live when statsmodels is
installed, and against single-table formulas worked by hand."""

from __future__ import annotations

import math

import pytest

from audit.measures.stratified import mantel_haenszel

# strata as (a, b, c, d): group selected / not, comparator selected / not
CASES = {
    # fairlearn's user guide "Control Features" arrays: A vs C within control_feature H and L
    "fairlearn_control": [(2, 3, 3, 1), (2, 3, 4, 0)],
    "three": [(12, 28, 20, 20), (30, 70, 45, 55), (5, 15, 9, 11)],
    "hetero": [(10, 40, 30, 20), (40, 10, 20, 30), (25, 25, 26, 24)],
}
# statsmodels 0.14.x: OR, OR CI low, high, CMH χ², p, Breslow–Day χ², p, Tarone-adjusted p, pooled risk ratio
STATSMODELS = {
    "fairlearn_control": (
        0.09523809523809525, 0.007643343319344232, 1.18669205419896, 3.8000000000000007, 0.051252582857369666,
        0.8737156925978367, 0.3499286976020477, 0.35028008432955726, 0.4571428571428571,
    ),
    "three": (
        0.48325358851674644, 0.30480395431791185, 0.7661778251430946, 9.606398057587828, 0.0019390059749910815,
        0.2018867496893012, 0.9039842196834932, 0.9039860543856721, 0.6351351351351351,
    ),
    "hetero": (
        0.975609756097561, 0.6311174334588215, 1.5081415054189677, 0.013563501849568435, 0.9072860454973477,
        33.36120645705866, 5.6977850770856264e-08, 5.698166527512427e-08, 0.9868421052631579,
    ),
}  # fmt: skip


def _ours(tables):
    s = mantel_haenszel(tables)
    return (
        s.odds_ratio, *s.odds_ratio_ci, s.cmh_statistic, s.cmh_p_value,
        s.breslow_day_statistic, s.breslow_day_p_value, s.tarone_p_value, s.rate_ratio,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_statsmodels_recorded(name):
    assert _ours(CASES[name]) == pytest.approx(STATSMODELS[name], rel=1e-9)


@pytest.mark.parametrize("name", sorted(CASES))
def test_agrees_with_statsmodels_live(name):
    import numpy as np
    from statsmodels.stats import contingency_tables as ct  # a test dependency: the live oracle, never skipped

    st = ct.StratifiedTable([np.array(t).reshape(2, 2) for t in CASES[name]])
    live = (
        st.oddsratio_pooled, *st.oddsratio_pooled_confint(), st.test_null_odds().statistic,
        st.test_null_odds().pvalue, st.test_equal_odds().statistic, st.test_equal_odds().pvalue,
        st.test_equal_odds(adjust=True).pvalue, st.riskratio_pooled,
    )  # fmt: skip
    assert _ours(CASES[name]) == pytest.approx(live, rel=1e-9)


def test_one_stratum_is_the_plain_two_by_two_worked_by_hand():
    a, b, c, d = 12, 28, 20, 20
    n, n1, n2, m1, m2 = 80, 40, 40, 32, 48
    s = mantel_haenszel([(a, b, c, d)])
    assert s.strata == 1 and s.odds_ratio == pytest.approx(a * d / (b * c))
    # Woolf's interval: the RBG variance of one table is 1/a + 1/b + 1/c + 1/d
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert s.odds_ratio_ci == pytest.approx(
        (s.odds_ratio * math.exp(-1.959963984540054 * se), s.odds_ratio * math.exp(1.959963984540054 * se))
    )
    # rate ratio (a/n1)/(c/n2) and Katz's interval (Greenland–Robins for one table)
    assert s.rate_ratio == pytest.approx((a / n1) / (c / n2))
    se_rr = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n2)
    assert s.rate_ratio_ci == pytest.approx(
        (s.rate_ratio * math.exp(-1.959963984540054 * se_rr), s.rate_ratio * math.exp(1.959963984540054 * se_rr))
    )
    # CMH on one table: (a − n1·m1/n)² / (n1·n2·m1·m2 / (n²(n − 1))) = (n − 1)/n × Pearson's χ²
    expected = (a - n1 * m1 / n) ** 2 / (n1 * n2 * m1 * m2 / (n**2 * (n - 1)))
    pearson = n * (a * d - b * c) ** 2 / (n1 * n2 * m1 * m2)
    assert s.cmh_statistic == pytest.approx(expected) == pytest.approx(pearson * (n - 1) / n)
    assert s.breslow_day_statistic is None  # homogeneity needs two strata


def test_uninformative_strata_are_left_out_and_nothing_is_undefined_silently():
    s = mantel_haenszel([(2, 3, 3, 1), (0, 0, 4, 1), (2, 3, 4, 0), (0, 5, 0, 4)])
    assert s.strata == 2 and s.odds_ratio == pytest.approx(STATSMODELS["fairlearn_control"][0])
    empty = mantel_haenszel([(0, 0, 1, 1)])
    assert empty.strata == 0 and empty.odds_ratio is None and empty.cmh_p_value is None
    none_selected_in_group = mantel_haenszel([(0, 5, 3, 2), (0, 4, 2, 2)])
    assert none_selected_in_group.odds_ratio is None and none_selected_in_group.odds_ratio_ci is None
    assert none_selected_in_group.cmh_p_value is not None
