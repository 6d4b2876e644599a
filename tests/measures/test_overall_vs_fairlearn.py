"""``against: overall`` (issue 18, item 3): each group's ratio and difference to the whole population
of its scope, checked bit for bit against fairlearn's ``MetricFrame`` (``by_group / overall``,
``ratio(method='to_overall')``, ``difference(method='to_overall')``) on COMPAS; the test of a group
against the whole checked against scipy's chi-squared / Fisher test of the group against the rest;
the intervals' coverage checked by simulation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from scipy.stats import chi2_contingency, fisher_exact

from audit.measures.disparities import Judging, compare_scope
from audit.measures.groups import Group, Scope, build_scopes
from audit.measures.metrics import compute
from audit.tables.groups import count_groups
from tests.measures.test_metrics_vs_fairlearn import REFERENCE

#: a count over a count: the same division as fairlearn's, so the ratios agree to the last bit
RATES = [m for m in REFERENCE if m not in ("count", "balanced_accuracy", "f1")]


def _compas(path):
    frame = pd.read_csv(path, usecols=["race", "sex", "decile_score", "two_year_recid"])
    return frame, frame["two_year_recid"].to_numpy().astype(int), (frame["decile_score"] >= 5).to_numpy().astype(int)


@pytest.mark.parametrize("features", [["race"], ["sex"], ["sex", "race"]])
@pytest.mark.parametrize("compare", ["ratio", "difference"])
def test_to_overall_matches_fairlearn_bit_for_bit(compas_csv, features, compare):
    frame, y, p = _compas(compas_csv)
    table = count_groups(frame, sensitive=["sex", "race"], y_true=y.astype(bool), y_pred=p.astype(bool))
    scope = next(s for s in build_scopes(table, intersections=True, level=0.95) if list(s.features) == features)
    mf = MetricFrame(
        metrics={m: REFERENCE[m] for m in [*RATES, "balanced_accuracy", "f1"]},
        y_true=y,
        y_pred=p,
        sensitive_features=frame[features],
    )
    expected = mf.ratio(method="to_overall") if compare == "ratio" else mf.difference(method="to_overall")
    for metric in [*RATES, "balanced_accuracy", "f1"]:
        d = compare_scope(
            scope, metric=metric, compare=compare, against="overall", reference=None, judging=Judging(min_count=30)
        )
        assert d.comparator is scope.population and d.comparator.id == "overall"
        assert d.comparator.metrics[metric].value == pytest.approx(mf.overall[metric], rel=1e-15)
        values = []
        for c in d.comparisons:
            key = tuple(c.group.features.values()) if len(features) > 1 else c.group.features[features[0]]
            by_group = mf.by_group.loc[key, metric]
            if math.isnan(by_group):
                assert c.value is None
                continue
            want = by_group / mf.overall[metric] if compare == "ratio" else by_group - mf.overall[metric]
            if metric in RATES:
                assert c.value == want, (metric, key)  # bit for bit
            else:
                assert c.value == pytest.approx(want, rel=1e-12), (metric, key)
            values.append(c.value)
        # fairlearn's summary: the smallest ratio (either way up), the largest absolute difference
        summary = min(v if v <= 1 else 1 / v for v in values) if compare == "ratio" else max(abs(v) for v in values)
        assert summary == pytest.approx(expected[metric], rel=1e-12), metric


def test_the_test_against_the_whole_is_the_test_against_the_rest(compas_csv):
    frame, y, p = _compas(compas_csv)
    table = count_groups(frame, sensitive=["race"], y_true=y.astype(bool), y_pred=p.astype(bool))
    scope = next(s for s in build_scopes(table, intersections=False, level=0.95) if s.name == "race")
    d = compare_scope(
        scope,
        metric="selection_rate",
        compare="ratio",
        against="overall",
        reference=None,
        judging=Judging(min_count=30),
    )
    selected = pd.Series(p, index=frame.index)
    for c in d.comparisons:
        mine = frame["race"] == c.group.features["race"]
        k1, n1 = int(selected[mine].sum()), int(mine.sum())
        k2, n2 = int(selected[~mine].sum()), int((~mine).sum())
        cells = np.array([[k1, n1 - k1], [k2, n2 - k2]])
        if c.test_method == "fisher-exact":
            want = fisher_exact(cells)[1]
        else:
            assert c.test_method == "two-proportion-z"
            want = chi2_contingency(cells, correction=False)[1]
        assert c.p_value == pytest.approx(want, rel=1e-9), c.group.label
        assert c.ci is not None and c.ci[0] < c.value < c.ci[1]


def _scope(counts: list[tuple[int, int]]) -> Scope:
    """A race-like scope from (selected, size) per group, with its population."""
    groups = []
    for i, (k, n) in enumerate(counts):
        cells = np.array([[0, 0], [n - k, k]], dtype=np.int64)  # label 1 for everyone: selection only
        groups.append(
            Group(
                "g",
                {"g": f"g{i}"},
                cells,
                {"selection_rate": compute("selection_rate", cells, has_label=True, level=0.95)},
            )
        )
    total = np.sum([g.counts for g in groups], axis=0)
    population = Group("g", {}, total, {"selection_rate": compute("selection_rate", total, has_label=True, level=0.95)})
    return Scope("g", ("g",), tuple(groups), population)


@pytest.mark.parametrize("compare", ["ratio", "difference"])
def test_intervals_against_the_whole_cover_the_truth(compare):
    """Simulated: groups of fixed sizes with known rates; the population's true rate is their
    size-weighted mean. The intervals should cover each group's true ratio (difference) about 95%
    of the time — they would not if the group were treated as independent of the population."""
    rng = np.random.default_rng(7)
    sizes, rates = np.array([40, 400, 150, 60]), np.array([0.3, 0.5, 0.4, 0.6])
    whole = float(sizes @ rates / sizes.sum())
    truth = rates / whole if compare == "ratio" else rates - whole
    hits, trials = np.zeros(len(sizes)), 1500
    for _ in range(trials):
        k = rng.binomial(sizes, rates)
        d = compare_scope(
            _scope(list(zip(k.tolist(), sizes.tolist(), strict=True))),
            metric="selection_rate",
            compare=compare,
            against="overall",
            reference=None,
            judging=Judging(min_count=30),
        )
        for i, c in enumerate(d.comparisons):
            hits[i] += c.ci is not None and c.ci[0] <= truth[i] <= c.ci[1]
    coverage = hits / trials
    assert ((coverage > 0.93) & (coverage < 0.975)).all(), coverage


def test_an_unknown_group_judged_under_include_unknown_is_compared_with_the_known_population():
    """The population is the known rows; a group of unknown value is outside it, so it is independent
    of it (w = 0): its interval is Katz's for the group against the whole known population."""
    from scipy.stats import fisher_exact as fisher

    from audit.measures.intervals import katz_log_ratio

    scope = _scope([(20, 50), (30, 50)])
    cells = np.array([[0, 0], [10, 10]], dtype=np.int64)
    unknown = Group(
        "g", {"g": "unknown"}, cells, {"selection_rate": compute("selection_rate", cells, has_label=True, level=0.95)}
    )
    scope = Scope("g", ("g",), (*scope.groups, unknown), scope.population)
    d = compare_scope(
        scope,
        metric="selection_rate",
        compare="ratio",
        against="overall",
        reference=None,
        judging=Judging(min_count=30, include_unknown=True),
    )
    c = next(c for c in d.comparisons if c.group is unknown)
    assert d.comparator.n == 100  # the known rows only
    assert c.value == 0.5 / 0.5
    assert c.ci == katz_log_ratio(10, 20, 50, 100, level=0.95)
    assert c.p_value == pytest.approx(fisher(np.array([[10, 10], [50, 50]]))[1])  # 20 people: exact test
