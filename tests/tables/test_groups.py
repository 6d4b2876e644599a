"""The one-pass count table: sums, order independence, unknown levels, marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.tables.groups import UNKNOWN, count_groups

rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from(["x", "y"]), st.booleans(), st.booleans()),
    min_size=1,
    max_size=200,
)


def _table(data):
    frame = pd.DataFrame({"f": [r[0] for r in data], "g": [r[1] for r in data]})
    y = np.array([r[2] for r in data], bool)
    p = np.array([r[3] for r in data], bool)
    return count_groups(frame, sensitive=["f", "g"], y_true=y, y_pred=p), frame, y, p


@settings(max_examples=60, deadline=None)
@given(rows, st.randoms(use_true_random=False))
def test_counts_sum_to_n_and_ignore_row_order(data, rnd):
    table, *_ = _table(data)
    assert table.n == len(data)
    shuffled = list(data)
    rnd.shuffle(shuffled)
    again, *_ = _table(shuffled)
    assert again.keys == table.keys
    assert np.array_equal(again.counts, table.counts)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_marginal_equals_direct_count(data):
    table, frame, y, p = _table(data)
    direct = count_groups(frame, sensitive=["f"], y_true=y, y_pred=p)
    marginal = table.marginal(["f"])
    assert marginal.keys == direct.keys
    assert np.array_equal(marginal.counts, direct.counts)


def test_cells_are_y_by_prediction_and_missing_is_unknown():
    frame = pd.DataFrame({"f": ["a", "a", "a", None, ""]})
    y = np.array([1, 1, 0, 0, 1], bool)
    p = np.array([1, 0, 1, 0, 1], bool)
    table = count_groups(frame, sensitive=["f"], y_true=y, y_pred=p)
    assert table.keys == (("a",), (UNKNOWN,))
    tn_fp_fn_tp = table.counts[0].reshape(4).tolist()
    assert tn_fp_fn_tp == [0, 1, 1, 1]
    assert table.counts[1].reshape(4).tolist() == [1, 0, 0, 1]


def test_chunked_counting_matches_one_bincount(monkeypatch):
    import audit.tables.groups as mod

    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"f": rng.choice(list("abcde"), 5000)})
    y, p = rng.random(5000) < 0.4, rng.random(5000) < 0.5
    whole = count_groups(frame, sensitive=["f"], y_true=y, y_pred=p)
    monkeypatch.setattr(mod, "_CHUNK", 97)
    chunked = count_groups(frame, sensitive=["f"], y_true=y, y_pred=p)
    assert np.array_equal(whole.counts, chunked.counts)


def test_categorical_columns_count_like_text_columns():
    values = ["a", " a", "b", "", None, "b", "c"]
    y = np.array([1, 0, 1, 0, 1, 1, 0], bool)
    p = np.array([1, 1, 0, 0, 1, 0, 1], bool)
    as_text = count_groups(pd.DataFrame({"f": pd.Series(values, dtype="string")}), sensitive=["f"], y_true=y, y_pred=p)
    as_cat = count_groups(
        pd.DataFrame({"f": pd.Categorical(values, categories=["c", "b", " a", "a", "", "unused"])}),
        sensitive=["f"],
        y_true=y,
        y_pred=p,
    )
    assert as_cat.keys == as_text.keys == (("a",), ("b",), ("c",), (UNKNOWN,))
    assert np.array_equal(as_cat.counts, as_text.counts)
