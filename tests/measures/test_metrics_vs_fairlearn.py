"""Every group metric Fairgate reports, checked against fairlearn's MetricFrame and
scikit-learn on the same data (independent implementations), per feature and per intersection."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score, precision_score

from audit.measures.groups import build_scopes
from audit.tables.groups import count_groups


def _div(a, b):
    return a / b if b else np.nan


def _npv(y, p):
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
    return _div(tn, tn + fn)


def _fdr(y, p):
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
    return _div(fp, tp + fp)


def _for(y, p):
    tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
    return _div(fn, tn + fn)


def _when(metric, *, positives=None, negatives=None):
    """fairlearn returns 0 (not undefined) when a rate's denominator is empty: mark those NaN."""

    def wrapped(y, p):
        y = np.asarray(y)
        if positives and not (y == 1).any() or negatives and not (y == 0).any():
            return np.nan
        return metric(y, p)

    return wrapped


REFERENCE = {
    "count": count,
    "selection_rate": selection_rate,
    "base_rate": lambda y, p: float(np.mean(y)),
    "true_positive_rate": _when(true_positive_rate, positives=True),
    "false_positive_rate": _when(false_positive_rate, negatives=True),
    "false_negative_rate": _when(false_negative_rate, positives=True),
    "true_negative_rate": _when(true_negative_rate, negatives=True),
    "precision": lambda y, p: precision_score(y, p, zero_division=np.nan),
    "negative_predictive_value": _npv,
    "false_discovery_rate": _fdr,
    "false_omission_rate": _for,
    "accuracy": accuracy_score,
    "balanced_accuracy": _when(balanced_accuracy_score, positives=True, negatives=True),
    "f1": lambda y, p: f1_score(y, p, zero_division=np.nan),
}


def _compas(path):
    frame = pd.read_csv(path, usecols=["race", "sex", "decile_score", "two_year_recid"])
    y = frame["two_year_recid"].to_numpy().astype(bool)
    p = (frame["decile_score"] >= 5).to_numpy()
    return frame, y, p


def _ours(frame, y, p, features):
    table = count_groups(frame, sensitive=features, y_true=y, y_pred=p)
    scopes = build_scopes(table, intersections=True, level=0.95)
    return {(s.name, g.label): g for s in scopes for g in s.groups}


@pytest.mark.parametrize("features", [["race"], ["sex"], ["race", "sex"]])
def test_group_metrics_match_fairlearn_on_compas(compas_csv, features):
    frame, y, p = _compas(compas_csv)
    ours = _ours(frame, y, p, ["race", "sex"])
    mf = MetricFrame(metrics=REFERENCE, y_true=y.astype(int), y_pred=p.astype(int), sensitive_features=frame[features])
    scope = " × ".join(features)
    assert len(mf.by_group) == sum(1 for (s, _) in ours if s == scope)
    for key, row in mf.by_group.iterrows():
        label = " × ".join(key) if isinstance(key, tuple) else key
        group = ours[(scope, label)]
        for name in REFERENCE:
            expected = float(row[name])
            got = group.metrics[name].value
            if math.isnan(expected):
                assert got is None, (label, name)
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), (label, name)
    overall = ours[("overall", "everyone")]
    for name in REFERENCE:
        assert overall.metrics[name].value == pytest.approx(float(mf.overall[name]), rel=1e-12)


def test_disparity_summaries_match_fairlearn(compas_csv):
    frame, y, p = _compas(compas_csv)
    ours = _ours(frame, y, p, ["race", "sex"])
    race = [g for (s, _), g in ours.items() if s == "race"]
    rates = [g.metrics["selection_rate"].value for g in race]
    expected_ratio = demographic_parity_ratio(y, p, sensitive_features=frame["race"])
    assert min(rates) / max(rates) == pytest.approx(expected_ratio, rel=1e-12)
    tpr = [g.metrics["true_positive_rate"].value for g in race]
    fpr = [g.metrics["false_positive_rate"].value for g in race]
    expected_eod = equalized_odds_difference(y, p, sensitive_features=frame["race"])
    assert max(max(tpr) - min(tpr), max(fpr) - min(fpr)) == pytest.approx(expected_eod, rel=1e-12)


def test_userguide_example_by_hand(userguide_csv):
    """The fairlearn user guide's 18-row example, against its published group values."""
    frame = pd.read_csv(userguide_csv, dtype={"sf": "string"})
    ours = _ours(frame, frame["y_true"].to_numpy(bool), frame["y_pred"].to_numpy(bool), ["sf"])
    mf = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate, "n": count},
        y_true=frame["y_true"],
        y_pred=frame["y_pred"],
        sensitive_features=frame["sf"],
    )
    for level in ("a", "b", "c"):
        group = ours[("sf", level)]
        assert group.n == mf.by_group.loc[level, "n"]
        assert group.metrics["selection_rate"].value == pytest.approx(mf.by_group.loc[level, "sr"])
        assert group.metrics["true_positive_rate"].value == pytest.approx(mf.by_group.loc[level, "tpr"])


def test_rate_intervals_match_scipy(compas_csv):
    """Wilson for ordinary samples, Clopper–Pearson (scipy's "exact") below 10 people."""
    frame, y, p = _compas(compas_csv)
    methods = set()
    for group in _ours(frame, y, p, ["race", "sex"]).values():
        for name in ("true_positive_rate", "selection_rate", "precision"):
            mv = group.metrics[name]
            if mv.value is None:
                continue
            scipy_method = "wilson" if mv.denominator >= 10 else "exact"
            ci = binomtest(mv.numerator, mv.denominator).proportion_ci(0.95, method=scipy_method)
            assert mv.ci_method == ("wilson" if scipy_method == "wilson" else "clopper-pearson")
            assert (mv.ci_low, mv.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-9, abs=1e-12)
            methods.add(mv.ci_method)
    assert methods == {"wilson", "clopper-pearson"}  # COMPAS has both kinds of group


def test_composite_metrics_get_bootstrap_intervals(compas_csv):
    frame, y, p = _compas(compas_csv)
    group = _ours(frame, y, p, ["race", "sex"])[("race", "Caucasian")]
    for name in ("f1", "balanced_accuracy"):
        mv = group.metrics[name]
        assert mv.ci_method == "bootstrap-percentile"
        assert mv.ci_low < mv.value < mv.ci_high
        assert mv.ci_high - mv.ci_low < 0.1  # 2,454 people: a tight interval


def test_undefined_metrics_are_none_not_zero():
    frame = pd.DataFrame({"g": ["a", "a", "b", "b"]})
    y = np.array([0, 0, 1, 0], bool)  # group a has no true positives at all
    p = np.array([0, 0, 1, 1], bool)  # group a has no one selected
    groups = _ours(frame, y, p, ["g"])
    a = groups[("g", "a")]
    assert a.metrics["true_positive_rate"].value is None
    assert a.metrics["false_negative_rate"].value is None
    assert a.metrics["precision"].value is None
    assert a.metrics["balanced_accuracy"].value is None
    assert a.metrics["selection_rate"].value == 0.0
    assert a.metrics["false_positive_rate"].value == 0.0


def test_label_less_audit_only_has_selection_metrics():
    frame = pd.DataFrame({"g": ["a", "b", "b"]})
    table = count_groups(frame, sensitive=["g"], y_true=None, y_pred=np.array([1, 0, 1], bool))
    scopes = build_scopes(table, intersections=True, level=0.95)
    b = next(g for s in scopes for g in s.groups if g.label == "b")
    assert b.metrics["selection_rate"].value == 0.5
    assert b.metrics["accuracy"].value is None
    assert b.metrics["accuracy"].ci_method == "not applicable: no label"
