"""Property tests on random data: fairlearn agreement, relabelling invariance, bounded ratios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score

from audit.measures.disparities import Judging, compare_scope
from audit.measures.groups import build_scopes
from audit.tables.groups import count_groups

data = st.integers(min_value=0, max_value=2**31 - 1).flatmap(
    lambda seed: st.tuples(st.just(seed), st.integers(min_value=20, max_value=400))
)


def _frame(seed, n):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.choice(["x", "y", "z"], n, p=[0.6, 0.3, 0.1]), "b": rng.choice(["p", "q"], n)})
    return frame, rng.random(n) < 0.4, rng.random(n) < 0.5


def _nan_safe(metric, needs):
    def wrapped(y, p):
        y = np.asarray(y)
        return np.nan if not (y == needs).any() else metric(y, p)

    return wrapped


@settings(max_examples=40, deadline=None)
@given(data)
def test_metrics_equal_fairlearn_on_random_data(args):
    frame, y, p = _frame(*args)
    scopes = build_scopes(count_groups(frame, sensitive=["a", "b"], y_true=y, y_pred=p), intersections=True, level=0.95)
    ours = {g.label: g for s in scopes if s.name == "a × b" for g in s.groups}
    reference = {
        "selection_rate": selection_rate,
        "accuracy": accuracy_score,
        "true_positive_rate": _nan_safe(true_positive_rate, 1),
        "false_positive_rate": _nan_safe(false_positive_rate, 0),
    }
    mf = MetricFrame(metrics=reference, y_true=y, y_pred=p, sensitive_features=frame[["a", "b"]])
    for key, row in mf.by_group.iterrows():
        if " × ".join(key) not in ours:  # fairlearn lists empty intersections as all-NaN rows
            assert row.isna().all()
            continue
        group = ours[" × ".join(key)]
        for name in reference:
            expected, got = float(row[name]), group.metrics[name].value
            assert (got is None) if math.isnan(expected) else abs(got - expected) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(data)
def test_relabelling_groups_changes_nothing_but_names(args):
    frame, y, p = _frame(*args)
    renamed = frame.assign(a=frame["a"].map({"x": "zz", "y": "aa", "z": "mm"}))
    one = build_scopes(count_groups(frame, sensitive=["a"], y_true=y, y_pred=p), intersections=False, level=0.95)
    two = build_scopes(count_groups(renamed, sensitive=["a"], y_true=y, y_pred=p), intersections=False, level=0.95)
    values = lambda scopes: sorted(  # noqa: E731
        (g.n, g.metrics["selection_rate"].value, g.metrics["accuracy"].value) for s in scopes for g in s.groups
    )
    assert values(one) == values(two)


@settings(max_examples=40, deadline=None)
@given(data)
def test_ratios_against_max_are_in_zero_one(args):
    frame, y, p = _frame(*args)
    scopes = build_scopes(count_groups(frame, sensitive=["a", "b"], y_true=y, y_pred=p), intersections=True, level=0.95)
    for scope in scopes[1:]:
        d = compare_scope(
            scope, metric="selection_rate", compare="ratio", against="max", reference=None, judging=Judging(min_count=1)
        )
        for c in d.comparisons:
            if c.value is not None:
                assert 0.0 <= c.value <= 1.0
        if d.extreme is not None:
            assert 0.0 <= d.extreme.value <= 1.0
