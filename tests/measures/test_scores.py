"""Score and regression metrics from the tables, checked against scikit-learn, rows and LL144."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    brier_score_loss,
    mean_absolute_error,
    roc_auc_score,
    root_mean_squared_error,
)

from audit.measures.scores import (
    RowSums,
    _auc_vec,
    auc,
    auc_delong,
    auc_error_bound,
    auc_exact,
    bootstrap_hist,
    brier,
    calibration_in_the_large,
    compute_regression,
    compute_score,
    ece,
    ece_exact,
    group_auc,
    group_ece,
    hist_interval,
    impact_ratios,
    prediction_sums,
    score_sums,
    scoring_impact_ratios,
    scoring_rates,
    smd,
    smd_interval,
)
from audit.tables.groups import UNKNOWN
from audit.tables.scores import count_regression, count_scores
from tests.conftest import shared_data

Z95 = float(norm.ppf(0.975))


def _data(n=6000, seed=0):
    """Three groups with different score separation and calibration; continuous scores in (0, 1)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = rng.random(n) < np.where(group == "a", 0.3, 0.5)
    shift = np.select([group == "a", group == "b"], [1.5, 0.8], 0.3)
    scores = 1 / (1 + np.exp(-(rng.normal(size=n) + shift * (2 * y - 1))))
    return pd.DataFrame({"g": group}), y, scores


@pytest.fixture(scope="module")
def data():
    return _data()


def _mask(frame, key):
    return (frame["g"] == key[0]).to_numpy()


# ---------------------------------------------------------------------------------- AUC


def test_histogram_auc_is_close_to_sklearn_and_within_its_bound(data):
    frame, y, s = data
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0), exact=False)
    assert table.bins == 4096
    for g, key in enumerate(table.keys):
        m = _mask(frame, key)
        expected = roc_auc_score(y[m], s[m])
        got = group_auc(table, g)
        assert got == pytest.approx(expected, abs=1e-3)
        assert abs(got - expected) <= auc_error_bound(table.hist[g, 0], table.hist[g, 1]) + 1e-15


def test_exact_auc_equals_sklearn_with_ties(data):
    frame, y, s = data
    rounded = np.round(s, 2)  # many ties within and across classes
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=rounded, exact=True)
    for g, key in enumerate(table.keys):
        m = _mask(frame, key)
        expected = roc_auc_score(y[m], rounded[m])
        assert auc_exact(rounded[m], y[m]) == pytest.approx(expected, abs=1e-12)
        assert group_auc(table, g) == pytest.approx(expected, abs=1e-12)
    assert group_auc(table.overall(), 0) == pytest.approx(roc_auc_score(y, rounded), abs=1e-12)


def test_auc_by_hand_and_undefined():
    # neg in bins 0,1 ; pos in bins 1,2: pairs (pos1 vs neg0)=1, (pos1 vs neg1)=½, (pos2 vs both)=2
    assert auc([1, 1, 0], [0, 1, 1]) == pytest.approx(3.5 / 4)
    assert auc([0, 0], [1, 2]) is None
    assert auc_exact(np.array([0.1, 0.2]), np.array([1, 1])) is None
    assert auc_delong([3, 0], [0, 1], level=0.95) is None


def test_delong_matches_its_row_definition_and_the_bootstrap():
    rng = np.random.default_rng(4)
    y = rng.random(400) < 0.4
    s = np.round(rng.normal(size=400) + 0.7 * y, 1)  # ties, so the ½ placements matter
    values, inverse = np.unique(s, return_inverse=True)
    neg = np.bincount(inverse[~y], minlength=values.size)
    pos = np.bincount(inverse[y], minlength=values.size)
    # DeLong from rows: placements by explicit comparison
    sp, sn = s[y], s[~y]
    v10 = ((sp[:, None] > sn[None]) + 0.5 * (sp[:, None] == sn[None])).mean(axis=1)
    v01 = ((sp[None] > sn[:, None]) + 0.5 * (sp[None] == sn[:, None])).mean(axis=1)
    a = v10.mean()
    se = math.sqrt(v10.var(ddof=1) / sp.size + v01.var(ddof=1) / sn.size)
    low, high = auc_delong(neg, pos, level=0.95)
    assert low == pytest.approx(a - Z95 * se, abs=1e-12)
    assert high == pytest.approx(a + Z95 * se, abs=1e-12)
    # the histogram bootstrap spreads like DeLong's normal approximation
    draws = bootstrap_hist(np.stack([neg, pos]), replicates=3000, seed=1)
    assert _auc_vec(draws[:, 0], draws[:, 1]).std() == pytest.approx(se, rel=0.08)


# ------------------------------------------------------------------------ Brier, calibration


def test_brier_and_calibration_in_the_large_vs_sklearn_and_by_hand(data):
    frame, y, s = data
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0))
    for g, key in enumerate(table.keys):
        m = _mask(frame, key)
        n, s1, s2 = table.n[g], table.sum_score[g], table.sum_score_sq[g]
        assert brier(n, s1, s2) == pytest.approx(brier_score_loss(y[m], s[m]), abs=1e-12)
        expected = s[m].mean() - y[m].mean()
        assert calibration_in_the_large(n, s1) == pytest.approx(expected, abs=1e-12)
        # normal intervals from the power sums equal the per-row computation
        for name, per_row in (("brier", (s[m] - y[m]) ** 2), ("calibration_in_the_large", s[m] - y[m])):
            mv = compute_score(name, table, g, level=0.95)
            half = Z95 * per_row.std(ddof=1) / math.sqrt(per_row.size)
            assert mv.ci_method == "normal"
            assert mv.ci_low == pytest.approx(per_row.mean() - half, abs=1e-10)
            assert mv.ci_high == pytest.approx(per_row.mean() + half, abs=1e-10)
    assert brier(np.array([0, 0]), np.zeros(2), np.zeros(2)) is None


def test_calibration_in_the_large_small_example():
    frame = pd.DataFrame({"g": ["a"] * 4})
    table = count_scores(
        frame,
        sensitive=["g"],
        y_true=np.array([1, 0, 0, 0]),
        scores=np.array([0.9, 0.5, 0.3, 0.1]),
        score_range=(0.0, 1.0),
    )
    # mean score 0.45, base rate 0.25
    citl = compute_score("calibration_in_the_large", table, 0, level=0.95)
    assert citl.value == pytest.approx(0.2)
    # Brier: (0.01 + 0.25 + 0.09 + 0.01) / 4
    assert compute_score("brier", table, 0, level=0.95).value == pytest.approx(0.09)


def _ece_by_loop(scores, y, n_bins=10):
    """Independent ECE: bins (k/10, (k+1)/10] by arithmetic, means by Python sums."""
    bins: dict[int, list[tuple[float, int]]] = {}
    for p, label in zip(scores.tolist(), y.tolist(), strict=True):
        k = max(math.ceil(p * n_bins) - 1, 0)
        bins.setdefault(k, []).append((p, int(label)))
    total = len(scores)
    return sum(
        len(v) / total * abs(sum(p for p, _ in v) / len(v) - sum(t for _, t in v) / len(v)) for v in bins.values()
    )


def test_ece_exact_and_from_the_histogram(data):
    frame, y, s = data
    exact_table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0))
    hist_table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0), exact=False)
    for g, key in enumerate(exact_table.keys):
        m = _mask(frame, key)
        expected = _ece_by_loop(s[m], y[m])
        # sklearn's calibration curve gives the same per-bin gaps
        prob_true, prob_pred = calibration_curve(y[m], s[m], n_bins=10)
        assert len(prob_true) == len({max(math.ceil(p * 10) - 1, 0) for p in s[m].tolist()})
        assert ece_exact(s[m], y[m]) == pytest.approx(expected, abs=1e-12)
        assert group_ece(exact_table, g) == pytest.approx(expected, abs=1e-12)
        approx = group_ece(hist_table, g)
        assert approx == ece(hist_table.hist[g, 0], hist_table.hist[g, 1], hist_table.edges)
        assert approx == pytest.approx(expected, abs=2e-3)


def test_ece_interval_holding_bin_means_matches_a_full_histogram_bootstrap(data):
    frame, y, s = data
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0), bins=256)
    g = table.index(("c",))
    fast = compute_score("ece", table, g, level=0.9, replicates=2000, seed=3)
    full = hist_interval(
        lambda d: np.array([ece(r[0], r[1], table.edges) for r in d]), table.hist[g], level=0.9, replicates=2000, seed=4
    )
    assert fast.ci_method == "bootstrap-percentile"
    assert fast.ci_low < fast.value < fast.ci_high
    assert fast.ci_low == pytest.approx(full[0], abs=0.006)
    assert fast.ci_high == pytest.approx(full[1], abs=0.006)


def test_calibration_is_not_applicable_to_non_probabilities():
    frame = pd.DataFrame({"g": ["a", "a", "b", "b"]})
    table = count_scores(frame, sensitive=["g"], y_true=np.array([0, 1, 0, 1]), scores=np.array([3.0, 7.0, 2.0, 9.0]))
    for name in ("ece", "brier", "calibration_in_the_large"):
        assert compute_score(name, table, 0, level=0.95).ci_method.startswith("not applicable")
    assert compute_score("auc", table, 0, level=0.95).value == 1.0
    with pytest.raises(ValueError, match="probabilities"):
        ece([1, 1], [1, 1], np.array([0.0, 1.0, 2.0]))


def test_label_metrics_need_a_label(data):
    frame, _, s = data
    table = count_scores(frame, sensitive=["g"], y_true=None, scores=s)
    assert compute_score("auc", table, 0, level=0.95).ci_method == "not applicable: no label"
    assert compute_score("mean_score", table, 0, level=0.95).value == pytest.approx(
        s[_mask(frame, table.keys[0])].mean(), abs=1e-12
    )


# ---------------------------------------------------------------------------------- bootstrap


def test_histogram_bootstrap_is_seeded_and_keeps_row_totals():
    hist = np.array([[[5, 0, 3, 2], [0, 1, 4, 9]], [[0, 0, 0, 0], [2, 2, 0, 0]]])
    a = bootstrap_hist(hist, replicates=200, seed=5)
    assert a.shape == (200, 2, 2, 4)
    assert (a.sum(axis=-1) == hist.sum(axis=-1)).all()
    assert (a[..., hist == 0] == 0).all()  # empty bins stay empty
    assert np.array_equal(a, bootstrap_hist(hist, replicates=200, seed=5))
    assert not np.array_equal(a, bootstrap_hist(hist, replicates=200, seed=6))


def test_auc_bootstrap_interval_is_deterministic_per_seed(data):
    frame, y, s = data
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, score_range=(0.0, 1.0), bins=512)
    g = table.index(("c",))

    def boot(seed):
        return compute_score("auc", table, g, level=0.95, seed=seed, replicates=400, auc_interval="bootstrap")

    one, again, other = boot(1), boot(1), boot(2)
    delong = compute_score("auc", table, g, level=0.95)
    assert one == again
    assert (one.ci_low, one.ci_high) != (other.ci_low, other.ci_high)
    assert one.ci_method == "bootstrap-percentile" and delong.ci_method == "delong"
    assert one.ci_low == pytest.approx(delong.ci_low, abs=0.01)
    assert one.ci_high == pytest.approx(delong.ci_high, abs=0.01)


# ---------------------------------------------------------------------------------- LL144

# 6 RCNY § 5-301(c) "culture fit" example: (# above the median, # applicants) per sex × race cell
PUBLISHED = {
    ("Male", "Hispanic or Latino"): (12, 16),
    ("Female", "Hispanic or Latino"): (6, 12),
    ("Male", "White"): (7, 20),
    ("Male", "Black or African American"): (10, 20),
    ("Male", "Native Hawaiian or Pacific Islander"): (3, 4),
    ("Male", "Asian"): (7, 12),
    ("Male", "Native American or Alaska Native"): (5, 8),
    ("Male", "Two or More Races"): (6, 12),
    ("Female", "White"): (8, 20),
    ("Female", "Black or African American"): (6, 12),
    ("Female", "Native Hawaiian or Pacific Islander"): (2, 4),
    ("Female", "Asian"): (3, 12),
    ("Female", "Native American or Alaska Native"): (5, 8),
    ("Female", "Two or More Races"): (4, 8),
}


def test_ll144_scoring_example_reproduces_the_published_counts():
    raw = pd.read_csv(
        shared_data("ll144_scoring_example_individuals.csv"), dtype={"sex": "category", "race_ethnicity": "category"}
    )
    assert len(raw) == 183
    scored = raw[raw["score"].notna()]  # the 15 unknown-category rows carry no score
    table = count_scores(scored, sensitive=["sex", "race_ethnicity"], y_true=None, scores=scored["score"].to_numpy())
    assert table.threshold == 92.5
    assert int(table.above.sum()) == 84 and int(table.n.sum()) == 168
    rates = scoring_rates(table, level=0.95)
    assert {k: (v.numerator, v.denominator) for k, v in rates.items()} == PUBLISHED
    assert rates[("Male", "Hispanic or Latino")].value == 0.75
    ratios = scoring_impact_ratios(table, level=0.95, replicates=500, seed=0)
    top = 0.75  # Male Hispanic or Latino (12/16) and Male NHPI (3/4)
    for key, (above, n) in PUBLISHED.items():
        assert ratios[key].value == pytest.approx(above / n / top, abs=1e-12)
    assert ratios[("Male", "Hispanic or Latino")].value == 1.0
    assert ratios[("Female", "Asian")].value == pytest.approx(1 / 3)
    mv = ratios[("Male", "White")]
    assert mv.ci_method == "bootstrap-percentile" and mv.ci_low < mv.value < mv.ci_high
    # SMD of scores between the sexes, from the table's sums, equals the row computation
    sexes = table.marginal(["sex"])
    male, female = (scored.loc[scored["sex"] == v, "score"].to_numpy() for v in ("Male", "Female"))
    pooled = math.sqrt(
        ((male.size - 1) * male.var(ddof=1) + (female.size - 1) * female.var(ddof=1)) / (male.size + female.size - 2)
    )
    d = smd(score_sums(sexes, sexes.index(("Male",))), score_sums(sexes, sexes.index(("Female",))))
    assert d == pytest.approx((male.mean() - female.mean()) / pooled, rel=1e-10)
    # one feature alone is a marginal of the same table
    by_sex = scoring_rates(table.marginal(["sex"]), level=0.95)
    assert by_sex[("Male",)].numerator == 12 + 7 + 10 + 3 + 7 + 5 + 6
    assert by_sex[("Female",)].denominator == 12 + 20 + 12 + 4 + 12 + 8 + 8


def test_impact_ratios_leave_unknown_out():
    rates = {("a",): 0.5, ("b",): 0.25, (UNKNOWN,): 0.9, ("c",): None}
    assert impact_ratios(rates) == {("a",): 1.0, ("b",): 0.5, (UNKNOWN,): None, ("c",): None}
    assert impact_ratios({("a",): 0.0}) == {("a",): None}


# ---------------------------------------------------------------------------------- regression


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(9)
    n = 3000
    group = rng.choice(["a", "b", "c", ""], n, p=[0.4, 0.3, 0.25, 0.05])
    y = 2e5 + 5e4 * rng.normal(size=n) + 2e4 * (group == "b")
    p = y + rng.normal(scale=np.where(group == "c", 3e4, 1e4), size=n)
    return pd.DataFrame({"g": group}), y, p


def test_regression_metrics_vs_sklearn(regression):
    frame, y, p = regression
    table = count_regression(frame, sensitive=["g"], y_true=y, y_pred=p)
    assert table.keys == (("a",), ("b",), ("c",), (UNKNOWN,))
    for g, key in enumerate(table.keys):
        m = (frame["g"] == ("" if key == (UNKNOWN,) else key[0])).to_numpy()
        get = {
            name: compute_regression(name, table, g, level=0.95)
            for name in ("count", "mean_prediction", "mean_outcome", "mae", "rmse")
        }
        assert get["count"].value == m.sum()
        assert get["mae"].value == pytest.approx(mean_absolute_error(y[m], p[m]), rel=1e-12)
        assert get["rmse"].value == pytest.approx(root_mean_squared_error(y[m], p[m]), rel=1e-12)
        assert get["mean_prediction"].value == pytest.approx(p[m].mean(), rel=1e-12)
        assert get["mean_outcome"].value == pytest.approx(y[m].mean(), rel=1e-12)
        # normal intervals equal the per-row computation
        for name, per_row in (("mae", np.abs(y[m] - p[m])), ("mean_prediction", p[m])):
            half = Z95 * per_row.std(ddof=1) / math.sqrt(m.sum())
            assert get[name].ci_low == pytest.approx(per_row.mean() - half, rel=1e-9)
            assert get[name].ci_high == pytest.approx(per_row.mean() + half, rel=1e-9)
        mse = (y[m] - p[m]) ** 2
        half = Z95 * mse.std(ddof=1) / math.sqrt(m.sum())
        assert get["rmse"].ci_method == "normal-sqrt"
        assert get["rmse"].ci_high == pytest.approx(math.sqrt(mse.mean() + half), rel=1e-9)


def test_smd_vs_numpy_pooled_sd(regression):
    frame, y, p = regression
    table = count_regression(frame, sensitive=["g"], y_true=y, y_pred=p)
    a, b = (frame["g"] == "a").to_numpy(), (frame["g"] == "b").to_numpy()
    pa, pb = p[a], p[b]
    pooled = math.sqrt(((a.sum() - 1) * pa.var(ddof=1) + (b.sum() - 1) * pb.var(ddof=1)) / (a.sum() + b.sum() - 2))
    expected = (pa.mean() - pb.mean()) / pooled
    sa = prediction_sums(table, table.index(("a",)))
    sb = prediction_sums(table, table.index(("b",)))
    assert smd(sa, sb) == pytest.approx(expected, rel=1e-10)
    assert smd(sb, sa) == pytest.approx(-expected, rel=1e-10)
    low, high = smd_interval(sa, sb, level=0.95)
    assert low < expected < high
    assert smd(RowSums(2, 2.0, 2.0), RowSums(2, 2.0, 2.0)) is None  # no spread: undefined
    assert smd(RowSums(0, 0.0, 0.0), RowSums(5, 1.0, 1.0)) is None


def test_regression_without_a_label(regression):
    frame, _, p = regression
    table = count_regression(frame, sensitive=["g"], y_true=None, y_pred=p)
    assert compute_regression("mae", table, 0, level=0.95).ci_method == "not applicable: no label"
    assert compute_regression("mean_prediction", table, 0, level=0.95).value == pytest.approx(
        p[(frame["g"] == "a").to_numpy()].mean(), rel=1e-12
    )
