"""Intervals, bootstrap and significance tests: checked against simulation, scipy and published tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, fisher_exact

from audit.measures.bootstrap import multinomial_bootstrap
from audit.measures.intervals import katz_log_ratio, newcombe_difference, wilson
from audit.measures.significance import benjamini_hochberg, compare_proportions, required_per_group
from audit.pipeline import run_audit


def test_multinomial_bootstrap_matches_a_row_bootstrap():
    """Resampling counts reproduces resampling rows (same distribution, within Monte-Carlo error)."""
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 3, 600)
    y = rng.random(600) < 0.4
    p = rng.random(600) < 0.3 + 0.2 * (groups == 1)
    packed = groups * 4 + y * 2 + p
    counts = np.bincount(packed, minlength=12).reshape(3, 2, 2)
    B = 4000
    rows = np.stack([np.bincount(packed[rng.integers(0, 600, 600)], minlength=12) for _ in range(B)])
    row_rates = rows.reshape(B, 3, 4)[:, 1, [1, 3]].sum(axis=1) / rows.reshape(B, 3, 4)[:, 1].sum(axis=1)
    draws = multinomial_bootstrap(counts, replicates=B, seed=3, stratified=False)
    cnt_rates = draws[:, 1, :, 1].sum(axis=1) / draws[:, 1].sum(axis=(1, 2))
    assert cnt_rates.mean() == pytest.approx(row_rates.mean(), abs=0.004)
    assert cnt_rates.std() == pytest.approx(row_rates.std(), rel=0.06)
    assert draws.sum(axis=(1, 2, 3)).tolist() == [600] * B  # unstratified: total fixed, groups vary


def test_stratified_bootstrap_keeps_group_sizes_and_is_seeded():
    counts = np.array([[[5, 3], [2, 10]], [[40, 1], [0, 9]]])
    a = multinomial_bootstrap(counts, replicates=50, seed=7)
    assert (a.sum(axis=(2, 3)) == counts.sum(axis=(1, 2))).all()
    assert np.array_equal(a, multinomial_bootstrap(counts, replicates=50, seed=7))
    assert not np.array_equal(a, multinomial_bootstrap(counts, replicates=50, seed=8))


@pytest.mark.parametrize(("p", "n"), [(0.3, 200), (0.08, 150)])
def test_wilson_coverage_is_near_nominal(p, n):
    rng = np.random.default_rng(11)
    ks = rng.binomial(n, p, size=3000)
    covered = np.mean([lo <= p <= hi for lo, hi in (wilson(int(k), n, level=0.95) for k in ks)])
    assert 0.93 <= covered <= 0.97


def test_katz_ratio_and_newcombe_difference_coverage():
    rng = np.random.default_rng(12)
    p1, p2, n1, n2 = 0.3, 0.5, 300, 250
    k1s, k2s = rng.binomial(n1, p1, 3000), rng.binomial(n2, p2, 3000)
    ratio_cover = np.mean(
        [
            lo <= p1 / p2 <= hi
            for lo, hi in (katz_log_ratio(int(a), n1, int(b), n2, level=0.95) for a, b in zip(k1s, k2s, strict=False))
        ]
    )  # noqa: E501
    diff_cover = np.mean(
        [
            lo <= p1 - p2 <= hi
            for lo, hi in (
                newcombe_difference(int(a), n1, int(b), n2, level=0.95) for a, b in zip(k1s, k2s, strict=False)
            )
        ]
    )  # noqa: E501
    assert 0.93 <= ratio_cover <= 0.97
    assert 0.93 <= diff_cover <= 0.97


def test_newcombe_matches_the_published_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, Table II example (56/70 vs 48/80): 0.0524 to 0.3339
    lo, hi = newcombe_difference(56, 70, 48, 80, level=0.95)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_z_test_equals_uncorrected_chi_square_and_fisher_for_small_cells():
    big = compare_proportions(120, 400, 90, 410)
    chi2 = chi2_contingency([[120, 280], [90, 320]], correction=False)
    assert big.method == "two-proportion-z"
    assert big.p_value == pytest.approx(chi2.pvalue, rel=1e-10)
    small = compare_proportions(1, 12, 6, 14)
    assert small.method == "fisher-exact"
    assert small.p_value == pytest.approx(fisher_exact([[1, 11], [6, 8]])[1], rel=1e-12)


def test_benjamini_hochberg_by_hand():
    # sorted p: .01 .02 .03 .04 → .01*4/1=.04, .02*4/2=.04, .03*4/3=.04, .04*4/4=.04
    assert benjamini_hochberg([0.04, 0.01, 0.03, 0.02]) == pytest.approx([0.04] * 4)
    assert benjamini_hochberg([0.001, 0.5]) == pytest.approx([0.002, 0.5])


def test_power_note_is_the_textbook_formula():
    # two proportions 0.5 vs 0.4, alpha .05, power .8: (1.96+0.8416)^2*(0.25+0.24)/0.01 = 384.5 → 385
    assert required_per_group(0.5, 0.4, alpha=0.05) == 385


def test_propublica_compas_error_rates_end_to_end(compas_csv):
    """ProPublica's published table (Machine Bias, 2016): FPR 44.85% / 23.45%, FNR 27.99% / 47.72%."""
    result = run_audit(
        data=compas_csv,
        policy="equalized-odds",
        scores="decile_score",
        threshold=5,
        label="two_year_recid",
        sensitive=["race"],
    )
    groups = {g.label: g for s in result.scopes for g in s.groups}
    black, white = groups["African-American"], groups["Caucasian"]
    assert round(black.metrics["false_positive_rate"].value * 100, 2) == 44.85
    assert round(white.metrics["false_positive_rate"].value * 100, 2) == 23.45
    assert round(black.metrics["false_negative_rate"].value * 100, 2) == 27.99
    assert round(white.metrics["false_negative_rate"].value * 100, 2) == 47.72


def _policy(tmp_path, **rule):
    import yaml

    body = {
        "fairgate": 1,
        "id": "t",
        "version": "1",
        "title": "t",
        "groups": {"min_count": 10, **rule.pop("groups", {})},
        "rules": [{"id": "r", "title": "r", "metric": "selection_rate", "min_value": 0.8, **rule}],
    }
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


def _data(tmp_path, groups):
    """groups: {name: (n, selected)}."""
    rows = [(name, int(i < k)) for name, (n, k) in groups.items() for i in range(n)]
    path = tmp_path / "d.csv"
    pd.DataFrame(rows, columns=["g", "pred"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("mode", "status"),
    [("point", "FAIL"), ("whole_interval", "PASS"), ("any_interval", "FAIL"), ("practical_significance", "PASS")],
)
def test_decision_modes_on_a_borderline_small_gap(tmp_path, mode, status):
    # b: 15/40 = 0.375 vs a: 20/40 = 0.5 → ratio 0.75 (below 0.8) but wide interval, p ≈ 0.26
    data = _data(tmp_path, {"a": (40, 20), "b": (40, 15)})
    result = run_audit(data=data, policy=_policy(tmp_path, decide_on=mode), predictions="pred", sensitive=["g"])
    finding = result.findings[0]
    assert finding.status.value == status
    assert finding.observed == pytest.approx(0.75)


def test_practical_significance_fails_a_clear_gap(tmp_path):
    data = _data(tmp_path, {"a": (400, 200), "b": (400, 100)})
    result = run_audit(
        data=data, policy=_policy(tmp_path, decide_on="practical_significance"), predictions="pred", sensitive=["g"]
    )
    assert result.findings[0].status.value == "FAIL"


def test_small_share_groups_are_reported_but_not_judged(tmp_path):
    # c is 1% of the data and selected far less: excluded from impact ratios as LL144 allows
    data = _data(tmp_path, {"a": (500, 250), "b": (490, 240), "c": (10, 1)})
    plain = run_audit(data=data, policy=_policy(tmp_path, groups={"min_count": 5}), predictions="pred", sensitive=["g"])
    assert plain.findings[0].status.value == "FAIL"
    ll144 = run_audit(
        data=data,
        policy=_policy(tmp_path, groups={"min_count": 5, "exclude_below_share": 0.02}),
        predictions="pred",
        sensitive=["g"],
    )
    assert ll144.findings[0].status.value == "PASS"
    doc = ll144.to_dict()
    c = next(x for d in doc["disparities"] for x in d["groups"] if x["group"] == "g=c")
    assert c["status"] == "NOT_JUDGED" and c["reason"].startswith("under 2% of the data (10 of 1000)")
    assert any(g["id"] == "g=c" and g["metrics"]["selection_rate"]["value"] == 0.1 for g in doc["groups"])


def test_rule_min_count_and_power_note(tmp_path):
    data = _data(tmp_path, {"a": (400, 200), "b": (40, 10)})
    result = run_audit(data=data, policy=_policy(tmp_path, min_count=50), predictions="pred", sensitive=["g"])
    # 10/40 vs 200/400: a ratio of 0.5 on a small group, Fisher p < 0.01 -> judged by the exact test and failed
    assert result.findings[0].status.value == "FAIL"
    doc = result.to_dict()
    b = next(x for d in doc["disparities"] for x in d["groups"] if x["group"] == "g=b")
    assert b["small"] is True and b["status"] == "FAIL"


def test_extreme_ratio_has_an_interval_over_the_pairs(compas_csv):
    result = run_audit(
        data=compas_csv, policy="four-fifths", scores="decile_score", threshold=5, sensitive=["race"], seed=5
    )
    doc = result.to_dict()
    race = next(d for d in doc["disparities"] if d["scope"] == "race")
    lo, hi = race["extreme"]["ci"]
    assert lo < race["extreme"]["value"] < hi
    assert race["extreme"]["ci_method"].startswith("pairwise-extreme (katz-log; ")
    judged = {g["group"]: g for g in race["groups"] if g["status"] in ("PASS", "FAIL")}
    assert race["extreme"]["value"] == min(g["value"] for g in judged.values())
    # the lowest group vs the comparator; the near (lower) end is no higher than that row's own
    low, comparator = race["extreme"]["groups"]
    assert comparator == race["comparator"] and lo <= judged[low]["ci"][0]


def _one_scope(n, k):
    from audit.measures.groups import build_scopes
    from audit.tables.groups import GroupTable

    counts = np.zeros((len(n), 2, 2), dtype=np.int64)
    counts[:, 0, 1], counts[:, 0, 0] = k, np.asarray(n) - np.asarray(k)
    table = GroupTable(("grp",), tuple((f"g{i}",) for i in range(len(n))), counts, False)
    return next(s for s in build_scopes(table, intersections=False, level=0.95) if s.features == ("grp",))


@pytest.mark.parametrize("compare", ["ratio", "difference", "absolute_difference"])
def test_with_two_groups_the_extreme_interval_is_the_rows_interval(compare):
    """One interval per number: the issue's 20.1% had CI 10.1–40.2% on the cover and 10.9–35.5% on page 3."""
    from audit.measures.disparities import Judging, compare_scope

    d = compare_scope(
        _one_scope([40, 400], [12, 180]),
        metric="selection_rate",
        compare=compare,
        against="max",
        reference=None,
        judging=Judging(min_count=1),
    )
    row = next(c for c in d.comparisons if c.group is not d.comparator)
    assert d.extreme.groups == (row.group.id, d.comparator.id)
    assert (d.extreme.value, d.extreme.ci) == (row.value, row.ci)
    assert d.extreme.ci_method.startswith("pairwise-extreme (") and "1 pair)" in d.extreme.ci_method


def test_the_extreme_interval_of_tied_groups_reaches_the_truth():
    """Five groups all at 35%: the true lowest ratio is 1 and the true gap 0. A bootstrap of the
    extreme could not cover them (every resampled lowest ratio is below 1); the far end, holding
    for all pairs at once, does."""
    from audit.measures.disparities import Judging, compare_scope

    scope = _one_scope([50, 100, 150, 200, 500], [18, 35, 52, 70, 175])
    ratio = compare_scope(
        scope, metric="selection_rate", compare="ratio", against="max", reference=None, judging=Judging(min_count=1)
    ).extreme
    gap = compare_scope(
        scope,
        metric="selection_rate",
        compare="absolute_difference",
        against="max",
        reference=None,
        judging=Judging(min_count=1),
    ).extreme
    assert ratio.value < 1 <= ratio.ci[1] and ratio.ci[0] < ratio.value
    assert gap.ci[0] == 0.0 < gap.value < gap.ci[1]
    assert "10 pairs; far end simultaneous for all pairs, Bonferroni" in ratio.ci_method


def test_the_extreme_interval_never_excludes_its_own_estimate():
    """Many small groups: a bootstrap of the lowest ratio was biased low (seen: 29.3%, CI 3.5–20.2%)."""
    from audit.measures.disparities import Judging, compare_scope
    from audit.measures.groups import build_scopes
    from audit.tables.groups import GroupTable

    rng = np.random.default_rng(11)
    for trial in range(20):
        g = 48
        n = rng.integers(8, 40, g)
        selected = rng.binomial(n, rng.uniform(0.2, 0.4, g))
        counts = np.zeros((g, 2, 2), dtype=np.int64)
        counts[:, 0, 1], counts[:, 0, 0] = selected, n - selected
        table = GroupTable(("grp",), tuple((f"g{i:02d}",) for i in range(g)), counts, False)
        scope = next(s for s in build_scopes(table, intersections=False, level=0.95) if s.features == ("grp",))
        d = compare_scope(
            scope,
            metric="selection_rate",
            compare="ratio",
            against="max",
            reference=None,
            judging=Judging(min_count=1, include_unknown=False, exclude_below_share=None, level=0.95, seed=trial),
        )
        if d.extreme is not None and d.extreme.ci is not None:
            assert d.extreme.ci[0] <= d.extreme.value <= d.extreme.ci[1], trial


def test_p_values_in_sentences_never_read_zero():
    from scipy import stats

    from audit.measures.significance import compare_proportions, p_text

    # 3.1M people per group and a 5-point gap: scipy's p underflows to exactly 0.0
    huge = compare_proportions(1_600_000, 3_100_000, 1_450_000, 3_100_000)
    assert huge.p_value == 0.0
    assert p_text(huge.p_value) == "p < 0.0001"
    assert p_text(stats.binomtest(7, 10).pvalue) == "p = 0.34"
    assert p_text(0.00042) == "p = 0.00042"
