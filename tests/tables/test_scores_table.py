"""The one-pass score and regression tables: sums, order independence, bins, marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.tables.groups import UNKNOWN, count_groups
from audit.tables.scores import count_regression, count_scores, sample_median

rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", None]),
        st.sampled_from(["x", "y", ""]),
        st.booleans(),
        # coarse grid values hit bin edges and ties; floats hit everything else
        st.one_of(st.integers(0, 20).map(lambda k: k / 20), st.floats(0, 1, allow_nan=False)),
    ),
    min_size=1,
    max_size=150,
)


def _frame(data):
    frame = pd.DataFrame({"f": [r[0] for r in data], "g": [r[1] for r in data]})
    y = np.array([r[2] for r in data], bool)
    s = np.array([r[3] for r in data], float)
    return frame, y, s


def _scores(data, features=("f", "g"), bins=16, **kw):
    frame, y, s = _frame(data)
    return count_scores(frame, sensitive=list(features), y_true=y, scores=s, bins=bins, score_range=(0.0, 1.0), **kw)


def _assert_same(a, b):
    assert a.keys == b.keys
    assert np.array_equal(a.hist, b.hist)
    assert np.array_equal(a.above, b.above)
    for name in ("sum_score", "sum_score_sq", "sum_score_cu", "sum_score_4"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12, atol=1e-12)
    assert len(a.exact) == len(b.exact)
    for (n1, p1), (n2, p2) in zip(a.exact, b.exact, strict=True):
        assert np.array_equal(n1, n2) and np.array_equal(p1, p2)


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_histogram_sums_to_n_and_ignores_row_order(data, rnd):
    table = _scores(data)
    assert int(table.hist.sum()) == len(data) == int(table.n.sum())
    shuffled = list(data)
    rnd.shuffle(shuffled)
    _assert_same(table, _scores(shuffled))


@settings(max_examples=60, deadline=None)
@given(rows)
def test_cells_match_an_independent_count(data):
    """Every (group, label) row is np.histogram of that group's scores over the same edges."""
    frame, y, s = _frame(data)
    table = _scores(data)
    groups = count_groups(frame, sensitive=["f", "g"], y_true=y, y_pred=y)
    assert table.keys == groups.keys  # same finest groups, same order, same unknown level
    key_of = [tuple(UNKNOWN if v in (None, "") else v for v in r[:2]) for r in data]
    median = float(np.median(s))
    assert table.threshold == median
    for g, key in enumerate(table.keys):
        for label in (0, 1):
            mine = s[np.array([k == key for k in key_of]) & (y == label)]
            expected, _ = np.histogram(mine, bins=table.edges)
            assert table.hist[g, label].tolist() == expected.tolist()
            assert table.above[g, label] == int((mine > median).sum())
            assert table.sum_score_sq[g, label] == pytest.approx(float((mine**2).sum()), abs=1e-12)
            assert table.exact[g][label].tolist() == sorted(mine.tolist())


@settings(max_examples=60, deadline=None)
@given(rows)
def test_marginal_equals_direct_count(data):
    frame, y, s = _frame(data)
    table = _scores(data, exact=True)
    for features in (["f"], ["g"], []):
        direct = count_scores(
            frame, sensitive=features, y_true=y, scores=s, bins=16, score_range=(0.0, 1.0), threshold=table.threshold
        )
        _assert_same(table.marginal(features), direct)
    _assert_same(table.overall(), table.marginal([]))
    assert table.overall().keys == ((),)


def test_unlabelled_scores_sit_in_label_zero():
    frame = pd.DataFrame({"f": ["a", "b", None, "a"]})
    table = count_scores(frame, sensitive=["f"], y_true=None, scores=np.array([0.1, 0.9, 0.5, 0.7]))
    assert not table.has_label
    assert table.keys == (("a",), ("b",), (UNKNOWN,))
    assert table.n.tolist() == [[2, 0], [1, 0], [1, 0]]
    assert table.threshold == 0.6
    assert table.above.sum() == 2
    assert table.edges[0] == 0.1 and table.edges[-1] == 0.9  # [min, max] when no range given
    assert table.hist[1, 0, -1] == 1  # the maximum lands in the last bin


def test_bad_scores_and_labels_are_rejected():
    frame = pd.DataFrame({"f": ["a", "b"]})
    with pytest.raises(ValueError, match="finite"):
        count_scores(frame, sensitive=["f"], y_true=None, scores=np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="outside score_range"):
        count_scores(frame, sensitive=["f"], y_true=None, scores=np.array([0.1, 1.5]), score_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="0 and 1"):
        count_scores(frame, sensitive=["f"], y_true=np.array([0, 2]), scores=np.array([0.1, 0.2]))


def test_constant_probabilities_keep_the_unit_range():
    frame = pd.DataFrame({"f": ["a", "b"]})
    table = count_scores(frame, sensitive=["f"], y_true=None, scores=np.array([0.5, 0.5]))
    assert table.is_probability and table.edges[0] == 0.0 and table.edges[-1] == 1.0


def test_sample_median_is_exact():
    assert sample_median(np.array([3.0, 1.0, 2.0, 10.0])) == 2.5
    with pytest.raises(ValueError):
        sample_median(np.array([]))


def test_chunked_counting_matches_one_bincount(monkeypatch):
    import audit.tables.scores as mod

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"f": rng.choice(list("abcde"), 5000)})
    y, s = rng.random(5000) < 0.4, rng.random(5000)
    whole = count_scores(frame, sensitive=["f"], y_true=y, scores=s, bins=64)
    monkeypatch.setattr(mod, "_CHUNK", 97)
    chunked = count_scores(frame, sensitive=["f"], y_true=y, scores=s, bins=64)
    assert np.array_equal(whole.hist, chunked.hist)


reg_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", None]), st.sampled_from(["x", "y"]), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)
    ),
    min_size=1,
    max_size=100,
)


@settings(max_examples=60, deadline=None)
@given(reg_rows)
def test_regression_sums_and_marginals(data):
    frame = pd.DataFrame({"f": [r[0] for r in data], "g": [r[1] for r in data]})
    y = np.array([r[2] for r in data])
    p = np.array([r[3] for r in data])
    table = count_regression(frame, sensitive=["f", "g"], y_true=y, y_pred=p)
    assert int(table.n.sum()) == len(data)
    key_of = [(UNKNOWN if r[0] is None else r[0], r[1]) for r in data]
    for g, key in enumerate(table.keys):
        m = np.array([k == key for k in key_of])
        e = y[m] - p[m]
        assert table.n[g] == m.sum()
        assert table.sum_y[g] == pytest.approx(y[m].sum(), abs=1e-7)
        assert table.sum_pred[g] == pytest.approx(p[m].sum(), abs=1e-7)
        assert table.sum_abs_err[g] == pytest.approx(np.abs(e).sum(), rel=1e-12, abs=1e-9)
        assert table.sum_sq_err[g] == pytest.approx((e**2).sum(), rel=1e-12, abs=1e-9)
        expected = ((p[m] - table.shift) ** 2).sum()
        assert table.sum_dpred_sq[g] == pytest.approx(expected, rel=1e-12, abs=1e-6)
    direct = count_regression(frame, sensitive=["g"], y_true=y, y_pred=p)
    marginal = table.marginal(["g"])
    assert marginal.keys == direct.keys
    assert marginal.n.tolist() == direct.n.tolist()
    for name in ("sum_dy", "sum_dpred_sq", "sum_sq_err", "sum_abs_err", "sum_err_4"):
        np.testing.assert_allclose(getattr(marginal, name), getattr(direct, name), rtol=1e-9, atol=1e-6)
    assert table.overall().keys == ((),)


@pytest.mark.parametrize(("bins", "score_range"), [(10, (0.0, 1.0)), (100, (0.0, 1.0)), (7, (-3.0, 7.1))])
def test_values_on_bin_edges_land_where_np_histogram_puts_them(bins, score_range):
    """(s − lo)·bins/width can round across an edge (0.3·10 = 3.0000000000000004 but the edge
    linspace(0, 1, 11)[3] is 0.30000000000000004): bins follow the stored edges exactly."""
    lo, hi = score_range
    s = np.concatenate([np.linspace(lo, hi, bins + 1), np.round(np.linspace(lo, hi, 997), 2)])
    s = np.clip(s, lo, hi)
    frame = pd.DataFrame({"f": ["a"] * s.size})
    table = count_scores(frame, sensitive=["f"], y_true=None, scores=s, bins=bins, score_range=score_range)
    expected, _ = np.histogram(s, bins=table.edges)
    assert table.hist[0, 0].tolist() == expected.tolist()
