"""Rules on a group's size (``count``) and shares of its scope (``ppr``, ``group_size_share``): exact
comparisons — no interval, no significance test, no small-group exact path — checked by hand."""

from __future__ import annotations

import pytest

from tests.judge.test_edges import FOUR_FIFTHS, _policy, _run


@pytest.mark.parametrize(("size_a", "status", "code"), [(24, "PASS", 0), (23, "FAIL", 1)])
def test_count_ratio_is_compared_exactly_and_small_groups_are_not_softened(tmp_path, capsys, size_a, status, code):
    # 24 / 30 is exactly 4/5: meets "at least 0.8"; 23 / 30 does not — and although both groups are
    # under min_count 50, a size has no sampling error: no exact test, no WARN for small numbers
    rules = "  - {id: size, title: group sizes, metric: count, min_value: 0.8}\n"
    doc = _run(
        tmp_path, capsys, {"a": (5, size_a), "b": (5, 30)}, _policy(tmp_path, rules, "{min_count: 50}"), exit_code=code
    )
    [finding] = doc["findings"]
    assert finding["status"] == status
    [row] = [g for g in doc["disparities"][0]["groups"] if g["group"] == "group=a"]
    assert row["value"] == pytest.approx(size_a / 30)
    assert row["ci"] is None and row["p_value"] is None and row["small"] is False
    assert "exact" in row["decision_note"]
    assert f"{size_a:,}" in finding["message"] or status == "PASS"


def test_count_difference_takes_bounds_beyond_one(tmp_path, capsys):
    rules = "  - {id: size, title: size gap, metric: count, compare: absolute_difference, max_value: 5}\n"
    doc = _run(tmp_path, capsys, {"a": (5, 24), "b": (5, 30)}, _policy(tmp_path, rules), exit_code=1)
    [row] = [g for g in doc["disparities"][0]["groups"] if g["group"] == "group=a"]
    assert row["value"] == 6 and row["status"] == "FAIL"


def test_ppr_rule_compares_shares_of_positive_decisions(tmp_path, capsys):
    # a: 10 of 40 selected, b: 30 of 40 → ppr 0.25 and 0.75; ratio 1/3 against the largest share
    rules = "  - {id: ppr, title: share of approvals, metric: ppr, min_value: 0.5, decide_on: whole_interval}\n"
    doc = _run(tmp_path, capsys, {"a": (10, 40), "b": (30, 40)}, _policy(tmp_path, rules), exit_code=1)
    a = next(g for g in doc["groups"] if g["id"] == "group=a")
    assert a["metrics"]["ppr"]["value"] == 0.25 and a["metrics"]["group_size_share"]["value"] == 0.5
    [row] = [g for g in doc["disparities"][0]["groups"] if g["group"] == "group=a"]
    assert row["value"] == pytest.approx(1 / 3) and row["status"] == "FAIL" and row["ci"] is None


def test_shortfall_of_a_failing_group_hand_worked(tmp_path, capsys):
    # a: 30 of 100 approved, b: 60 of 100 → AIR 0.5. To reach 0.8: (30 + x) / 100 ≥ 0.8 · 0.6 = 0.48
    # → x = 18; to parity: (30 + x) / 100 ≥ 0.6 → x = 30. c: 7 of 15 (rate 0.4667, AIR 0.778):
    # (7 + x) / 15 ≥ 0.48 → x ≥ 0.2 → 1; parity (7 + x) / 15 ≥ 0.6 → x ≥ 2 → 2
    groups = {"a": (30, 100), "b": (60, 100), "c": (7, 15)}
    doc = _run(tmp_path, capsys, groups, _policy(tmp_path, FOUR_FIFTHS, "{min_count: 1}"), exit_code=1)
    rows = {g["group"]: g for g in doc["disparities"][0]["groups"]}
    assert rows["group=a"]["shortfall"] == {"to_limit": 18, "to_parity": 30}
    assert rows["group=c"]["shortfall"] == {"to_limit": 1, "to_parity": 2}
    assert "shortfall" not in rows["group=b"]  # the comparator
    message = doc["findings"][0]["message"]
    assert "18 more favourable decisions for a would reach the limit (30 to reach parity)" in message


def test_shortfall_exactly_at_the_limit_needs_one_more_when_the_bound_is_strict(tmp_path, capsys):
    # a: 19 of 30 vs b: 25 of 30 → 0.76; to reach 0.8 exactly: 20 of 30 → 1 more; strictly above: 2 more
    rules = "  - {id: air, title: impact ratio, metric: selection_rate, min_value: 0.8, strict_bounds: true}\n"
    doc = _run(tmp_path, capsys, {"a": (19, 30), "b": (25, 30)}, _policy(tmp_path, rules), exit_code=1)
    rows = {g["group"]: g for g in doc["disparities"][0]["groups"]}
    assert rows["group=a"]["shortfall"] == {"to_limit": 2, "to_parity": 6}


def test_a_shortfall_of_one_reads_in_the_singular(tmp_path, capsys):
    # a: 19 of 30 vs b: 25 of 30 → 0.76; one more (20 of 30) reaches 0.8 exactly; parity takes 6
    doc = _run(tmp_path, capsys, {"a": (19, 30), "b": (25, 30)}, _policy(tmp_path, FOUR_FIFTHS), exit_code=1)
    assert (
        "; 1 more favourable decision for a would reach the limit (6 to reach parity)" in doc["findings"][0]["message"]
    )
