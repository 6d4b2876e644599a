"""'Did you mean …?' (issue 21, item 5): the closest valid names to a mistyped one."""

from __future__ import annotations

from audit.util.suggest import closest, columns_hint, did_you_mean


def test_case_and_separators_are_ignored():
    assert closest("Race-Ethnicity", ["sex", "race_ethnicity", "age"]) == ["race_ethnicity"]
    assert closest("SEX", ["sex", "race"]) == ["sex"]


def test_one_clear_typo_gets_one_suggestion_and_nothing_close_gets_none():
    assert closest("selction_rate", ["selection_rate", "base_rate", "false_omission_rate"]) == ["selection_rate"]
    assert closest("zzz", ["selection_rate", "base_rate"]) == []
    assert did_you_mean("zzz", ["a"]) == ""
    assert did_you_mean("nyc-l144", ["nyc-ll144", "four-fifths"]) == "did you mean 'nyc-ll144'? "


def test_the_columns_hint_leads_with_the_suggestion_then_lists_the_columns():
    hint = columns_hint(["gendr"], ["id", "gender", "score"], lead="the file has")
    assert hint == "did you mean 'gender'? the file has: id, gender, score"
    many = columns_hint(["x"], [f"c{i}" for i in range(30)], shown=3)
    assert many == "the data has: c0, c1, c2 …"
