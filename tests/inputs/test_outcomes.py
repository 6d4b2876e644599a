"""Binary outcomes: the favourable value is explicit or unambiguous, never guessed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.errors import InputError
from audit.inputs.outcomes import resolve_positive, to_bool


@pytest.mark.parametrize("values", [[0, 1, 1], [0.0, 1.0], [True, False], ["0", "1"], ["false", "true"]])
def test_zero_one_columns_need_no_positive_label(values):
    series = pd.Series(values)
    positive = resolve_positive(series, positive=None, where="w")
    assert to_bool(series, positive=positive, where="w").tolist() == [
        bool(float(v == "true" or v in (1, "1", True))) for v in values
    ]


def test_words_need_an_explicit_positive_label():
    with pytest.raises(InputError, match="which one is the favourable outcome"):
        resolve_positive(pd.Series([">50K", "<=50K"]), positive=None, where="data.csv: label column 'income'")


def test_explicit_positive_label_matches_numbers_given_as_text():
    series = pd.Series([1, 2, 2])
    positive = resolve_positive(series, positive="2", where="w")
    assert to_bool(series, positive=positive, where="w").tolist() == [False, True, True]


def test_three_values_are_refused_with_the_values_named():
    with pytest.raises(InputError) as err:
        resolve_positive(pd.Series([0, 1, 2]), positive=None, where="d.csv: label column 'y'")
    assert err.value.message == "d.csv: label column 'y': 3 distinct values (0, 1, 2); Fairgate audits binary outcomes"


def test_positive_label_that_never_occurs_is_refused():
    with pytest.raises(InputError, match=r"the positive label 'yes' does not occur \(values: 0, 1\)"):
        resolve_positive(pd.Series([0, 1]), positive="yes", where="w")


def test_missing_labels_are_refused():
    with pytest.raises(InputError, match="2 missing value"):
        resolve_positive(pd.Series([0, None, 1, np.nan]), positive=None, where="w")
